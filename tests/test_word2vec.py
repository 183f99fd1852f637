"""train-word2vec: tokenisation shared with the data dirs, bit-reproducibility with one worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import run_serkit

from serkit import datadir
from serkit.errors import SerkitError
from serkit.text.embeddings_io import load_vectors
from serkit.text.word2vec import read_sentences, train_word2vec

ANIMALS = ["cat", "dog", "horse", "cow"]
FOOD = ["bread", "cheese", "apple", "rice"]


def _corpus(root: Path, n: int = 1000, seed: int = 0) -> Path:
    """Two topics with disjoint vocabularies: animals run, eat and sleep; food is cooked and eaten."""
    rng = np.random.default_rng(seed)
    data = datadir.DataDir()
    for i in range(n):
        utt = f"u{i:04d}"
        if i % 2:
            line = f"the {rng.choice(ANIMALS)} runs and the {rng.choice(ANIMALS)} sleeps"
        else:
            line = f"we cook {rng.choice(FOOD)} with {rng.choice(FOOD)} for dinner"
        data.wav_scp[utt] = datadir.WavEntry(f"/nonexistent/{utt}.wav")
        data.utt2spk[utt] = "s1"
        data.text[utt] = line if i else "The CAT, runs [LAUGHTER] and the dog sleeps!"
    return datadir.save(data, root / "data")


def test_sentences_use_the_shared_tokenisation(tmp_path: Path) -> None:
    sentences = read_sentences([_corpus(tmp_path, n=4)])
    assert sentences[0] == ["the", "cat", "runs", "<laughter>", "and", "the", "dog", "sleeps"]


def _cosine(kv, a: str, b: str) -> float:
    return float(kv[a] @ kv[b] / (np.linalg.norm(kv[a]) * np.linalg.norm(kv[b])))


def test_one_worker_is_bit_reproducible_and_learns_topics(tmp_path: Path) -> None:
    data = _corpus(tmp_path)
    a = train_word2vec([data], tmp_path / "a", epochs=30, seed=3)
    b = train_word2vec([data], None, epochs=30, seed=3)
    c = train_word2vec([data], None, epochs=30, seed=4)
    assert a.index_to_key == b.index_to_key
    assert np.array_equal(a.vectors, b.vectors)
    assert not np.array_equal(a.vectors, c.vectors)
    assert a.vector_size == 50 and "<laughter>" not in a  # below min_count 5
    # words of the same topic are closer than words of different topics
    within = np.mean([_cosine(a, x, y) for x in ANIMALS for y in ANIMALS if x != y])
    across = np.mean([_cosine(a, x, y) for x in ANIMALS for y in FOOD])
    assert within > across + 0.2
    saved = load_vectors(tmp_path / "a" / "w2v.bin")
    assert np.array_equal(saved.vectors, a.vectors)


def test_cli_matches_the_library_across_processes_and_records_its_settings(tmp_path: Path) -> None:
    data = _corpus(tmp_path)
    conf = tmp_path / "w2v.yaml"
    conf.write_text("dim: 20\nepochs: 3\nsg: false\nseed: 9\n")
    out = tmp_path / "cli"
    result = run_serkit(
        "train-word2vec", str(data), str(out), "--config", str(conf), "--epochs", "5", "--seed", "2"
    )
    assert result.returncode == 0, result.stderr
    expected = train_word2vec([data], None, dim=20, epochs=5, seed=2, sg=False)  # flags override the file
    assert np.array_equal(load_vectors(out / "w2v.bin").vectors, expected.vectors)
    assert "words × 20 dims" in result.stderr
    recorded = yaml.safe_load((out / "config.yaml").read_text())
    assert recorded == {"dim": 20, "window": 3, "min_count": 5, "sg": False, "epochs": 5, "seed": 2,
                        "workers": 1, "text": "text"}  # fmt: skip
    assert "--config" in (out / "cmd.txt").read_text() and "gensim: " in (out / "env.txt").read_text()
    again = run_serkit(
        "train-word2vec", str(data), str(tmp_path / "again"), "--config", str(out / "config.yaml")
    )
    assert again.returncode == 0, again.stderr
    assert np.array_equal(load_vectors(tmp_path / "again" / "w2v.bin").vectors, expected.vectors)


def test_a_config_with_an_unknown_or_mistyped_key_is_a_user_error(tmp_path: Path) -> None:
    data = _corpus(tmp_path, n=4)
    conf = tmp_path / "w2v.yaml"
    conf.write_text("dims: 20\n")
    result = run_serkit("train-word2vec", str(data), str(tmp_path / "o"), "--config", str(conf))
    assert result.returncode == 2 and "unknown key 'dims'" in result.stderr and "w2v.yaml" in result.stderr
    conf.write_text("dim: many\n")
    result = run_serkit("train-word2vec", str(data), str(tmp_path / "o"), "--config", str(conf))
    assert result.returncode == 2 and "dim is 'many', not an integer" in result.stderr


def test_min_count_too_high_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(SerkitError, match="lower --min-count"):
        train_word2vec([_corpus(tmp_path, n=4)], None, min_count=100)

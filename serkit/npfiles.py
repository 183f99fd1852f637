"""NumPy files (``.npy``, ``.npz``) read without pickle: any failure is one line naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from serkit.errors import SerkitError

NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", b"PK\x03\x04"


def load_arrays(path: str | Path, what: str, hint: str) -> dict[str, np.ndarray] | np.ndarray:
    """The array of an ``.npy`` file, or every array of an ``.npz`` file by name, read with
    ``allow_pickle=False``; a missing, truncated or foreign file, or one holding Python objects,
    is a :class:`SerkitError` naming ``path`` and saying ``hint``."""
    path = Path(path)
    if not path.is_file():
        raise SerkitError(f"{what} not found", path=path, hint=hint)
    with path.open("rb") as f:
        head = f.read(6)
    if not head.startswith((NPY_MAGIC, ZIP_MAGIC)):
        kind = "an empty file" if not head else "not a NumPy file"
        raise SerkitError(f"not a {what}, or a damaged one ({kind})", path=path, hint=hint)
    try:
        if head.startswith(NPY_MAGIC):
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as loaded:
            return {name: loaded[name] for name in loaded.files}
    except Exception as exc:  # a damaged file raises ValueError, BadZipFile, EOFError, zlib.error ...
        raise _error(exc, path, what, hint) from None


def _error(exc: Exception, path: Path, what: str, hint: str) -> SerkitError:
    if isinstance(exc, ValueError) and "allow_pickle" in str(exc):
        return SerkitError(
            f"{what} holds Python objects (pickled), which serkit never loads: they can run code",
            path=path,
            hint=hint,
        )
    reason = (str(exc).splitlines() or [""])[0][:160]
    return SerkitError(
        f"not a {what}, or a damaged one ({type(exc).__name__}: {reason})", path=path, hint=hint
    )

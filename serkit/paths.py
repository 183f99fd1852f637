"""Output paths checked before the work that fills them: a command that cannot write its output
says so in one line at its start, not after hours of work, and writes nothing there."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from serkit.errors import SerkitError


def writable_dir(path: str | Path, what: str = "output directory") -> Path:
    """``path`` made (with its parents) if absent and checked writable by creating and removing a
    file in it; otherwise a :class:`SerkitError` naming it."""
    path = Path(path)
    reason = _unwritable(path)
    if reason:
        raise SerkitError(f"cannot write the {what} ({reason})", path=path, hint=f"choose a writable {what}")
    return path


def writable_file(path: str | Path, what: str = "output file") -> Path:
    """``path`` not a directory, and its directory made and checked as by :func:`writable_dir`."""
    path = Path(path)
    reason = "it is a directory" if path.is_dir() else _unwritable(path.parent)
    if reason:
        raise SerkitError(
            f"cannot write the {what} ({reason})", path=path, hint=f"choose a writable place for the {what}"
        )
    return path


def _unwritable(path: Path) -> str:
    """Why no file can be written in the directory ``path`` (made if absent), or ""."""
    blocking = next((p for p in (*reversed(path.parents), path) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        return f"{blocking} is a file, not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".serkit-write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return ""

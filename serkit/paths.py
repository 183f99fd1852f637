"""Output paths checked before the work that fills them: a command that cannot write its output
says so in one line at its start, not after hours of work, and writes nothing there."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from serkit.errors import SerkitError


def writable_dir(path: str | Path, what: str = "output directory") -> Path:
    """``path`` checked writable (or creatable, where it is absent); otherwise a :class:`SerkitError`
    naming it."""
    path = Path(path)
    reason = _unwritable(path)
    if reason:
        raise SerkitError(f"cannot write the {what} ({reason})", path=path, hint=f"choose a writable {what}")
    return path


def refuse_foreign(path: Path, foreign: list[str], what: str) -> None:
    """A :class:`SerkitError` naming ``path`` and up to three of the ``foreign`` files in it (files
    serkit did not write) when there are any: ``what`` is the thing the run would replace."""
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise SerkitError(
            f"holds files {what} did not write ({shown}); refusing to replace it",
            path=path,
            hint="move them elsewhere, or choose another OUT",
        )


def writable_file(path: str | Path, what: str = "output file") -> Path:
    """``path`` not a directory, and its directory checked as by :func:`writable_dir`."""
    path = Path(path)
    reason = "it is a directory" if path.is_dir() else _unwritable(path.parent)
    if reason:
        raise SerkitError(
            f"cannot write the {what} ({reason})", path=path, hint=f"choose a writable place for the {what}"
        )
    return path


def _unwritable(path: Path) -> str:
    """Why no file can be written in the directory ``path`` (or made there, where it is absent), or "".

    Nothing is made: the check creates and removes a file in ``path``, or in its nearest existing
    parent (a permission check alone would pass for root, and on read-only file systems)."""
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        return f"{existing} is a file, not a directory"
    try:
        fd, probe = tempfile.mkstemp(prefix=".serkit-write-test-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return ""

"""The one exception type for expected, user-fixable failures.

The CLI turns a :class:`SerkitError` into a single red line and exit code 2;
anything else is a bug and keeps its traceback (shown with ``--verbose``).
"""

from __future__ import annotations

import errno
from pathlib import Path


class SerkitError(Exception):
    """A user-fixable problem: names the file (and line) and says what to do."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.hint = hint
        super().__init__(self.format())

    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def format(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" — {self.hint}"
        return text


_OS_HINTS = {
    errno.ENOSPC: "free some space, or choose another disk",
    errno.EDQUOT: "free some space within your quota, or choose another disk",
    errno.EROFS: "choose a path on a writable file system",
    errno.EACCES: "choose a path you may write (and read), or fix its permissions",
    errno.EPERM: "choose a path you may write (and read), or fix its permissions",
    errno.ENOTDIR: "a part of the path is a file, not a directory: choose another path",
    errno.EEXIST: "a file is in the way of a directory: move it, or choose another path",
    errno.EISDIR: "a directory is where a file should be: move it, or choose another path",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.ENOENT: "check the path",
}


def from_os_error(err: OSError) -> SerkitError | None:
    """The :class:`SerkitError` of an operating-system error on a named file (a path that cannot be
    written or read, a full disk); None for one that names no file (not a bad path: a bug)."""
    if not getattr(err, "filename", None):
        return None
    reason = err.strerror or type(err).__name__
    return SerkitError(
        f"cannot write or read it ({reason})",
        path=err.filename,
        hint=_OS_HINTS.get(err.errno, "check the path, or choose another one"),
    )

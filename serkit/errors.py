"""The one exception type for expected, user-fixable failures.

The CLI turns a :class:`SerkitError` into a single red line and exit code 2;
anything else is a bug and keeps its traceback (shown with ``--verbose``).
"""

from __future__ import annotations

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

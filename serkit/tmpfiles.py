"""Temporary names for files written whole and renamed into place (``.<name>.tmp.<pid>``).

A writer that is killed (SIGKILL, power loss) cannot remove its temporary file; the next writer of
the same file removes the temporaries whose process no longer runs on this machine
(:func:`remove_stale`), so no orphan outlives a rerun.
"""

from __future__ import annotations

import os
from pathlib import Path


def tmp_name(path: Path) -> Path:
    """``.<name>.tmp.<pid>`` next to ``path``."""
    return path.with_name(f".{path.name}.tmp.{os.getpid()}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_text_atomic(path: Path, text: str) -> Path:
    """``text`` written to :func:`tmp_name`, then renamed to ``path``: a kill or a full disk leaves the
    old file whole (and the next writer removes the temporary)."""
    path = Path(path)
    remove_stale(path)
    tmp = tmp_name(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def remove_stale(path: Path) -> list[Path]:
    """Remove the temporaries of ``path`` left by processes that are gone; return them."""
    removed = []
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f".{path.name}.tmp.*"):
        pid = tmp.name.rsplit(".", 1)[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed

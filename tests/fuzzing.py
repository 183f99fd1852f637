"""What every case of the fuzz suite (``tests/test_fuzz_*.py``) asserts about a bad input.

A bad input ends in exit status 2 and one ``error:`` line that names the file (and the line,
where there is one), with no traceback and no ``internal error``; every file that existed
before the command is unchanged (:func:`snapshot` before, :func:`assert_unchanged` after).
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


def assert_one_clear_line(
    done: subprocess.CompletedProcess, names: str | Path, line: int | None = None, says: str | None = None
) -> str:
    """Exit 2, no traceback, exactly one ``error:`` line naming ``names`` (``names:line`` with
    ``line``) and containing ``says``; returns that line."""
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-3000:]
    assert "internal error" not in output, output[-3000:]
    assert done.returncode == 2, (done.returncode, output[-3000:])
    found = error_lines(done)
    assert len(found) == 1, output[-3000:]
    text = found[0]
    name = str(names)
    where = f"{name}:{line}" if line is not None else name
    assert where in text or where.replace(str(Path(name).parent) + "/", "", 1) in text, (where, text)
    if says is not None:
        assert says in text, (says, text)
    return text


def snapshot(*roots: Path) -> dict[Path, str]:
    """The sha1 of every file under ``roots`` (a file root is itself)."""
    files: dict[Path, str] = {}
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            files[path] = hashlib.sha1(path.read_bytes()).hexdigest()
    return files


def assert_unchanged(before: dict[Path, str]) -> None:
    """Every file of ``before`` still exists with the same bytes."""
    after = {path: hashlib.sha1(path.read_bytes()).hexdigest() for path in before if path.is_file()}
    missing = sorted(str(p) for p in before if p not in after)
    changed = sorted(str(p) for p in after if after[p] != before[p])
    assert not missing and not changed, {"missing": missing, "changed": changed}

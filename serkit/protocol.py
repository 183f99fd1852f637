"""The evaluation protocol that ``prepare-data`` writes into every set's ``meta.json`` (DESIGN §3).

``meta.json["protocol"]`` names the folds (``[]`` = one fixed split in ``DATA_ROOT/<set>``, else
``DATA_ROOT/<fold>/<set>``), the sets, the training and model-selection sets, and the sets each fold
is scored on. :func:`lookup` reads one of them from all the sets under a data root, which must agree.
"""

from __future__ import annotations

import json
from pathlib import Path

from serkit.errors import SerkitError

KEYS = ("folds", "sets", "score", "train", "dev")


def meta_files(root: str | Path) -> list[Path]:
    """The ``meta.json`` of every data dir at ``root/<set>/`` and ``root/<fold>/<set>/``."""
    root = Path(root)
    found = [*root.glob("*/meta.json"), *root.glob("*/*/meta.json")]
    return sorted(p for p in found if (p.parent / "wav.scp").is_file())


def lookup(root: str | Path, key: str) -> object:
    """The protocol's ``key`` (one of :data:`KEYS`), the same in every set under ``root``."""
    if key not in KEYS:
        raise SerkitError(f"unknown protocol key {key!r}", hint=f"use one of {', '.join(KEYS)}")
    files = meta_files(root)
    if not files:
        raise SerkitError(
            "no data dir with a meta.json under it", path=root, hint="run serkit prepare-data first"
        )
    values: dict[str, object] = {}
    for path in files:
        try:
            block = json.loads(path.read_text(encoding="utf-8")).get("protocol")
        except (ValueError, UnicodeDecodeError, AttributeError):
            raise SerkitError("unreadable meta.json", path=path, hint="rerun serkit prepare-data") from None
        if not isinstance(block, dict) or key not in block:
            raise SerkitError(
                f"meta.json has no protocol '{key}': written by an older serkit",
                path=path,
                hint="rerun serkit prepare-data",
            )
        values[str(path)] = block[key]
    first_path, first = next(iter(values.items()))
    for path, value in values.items():
        if value != first:
            raise SerkitError(
                f"protocol '{key}' is {value!r} here but {first!r} in {first_path}",
                path=path,
                hint="the sets come from different prepare-data runs; rerun prepare-data into a clean OUT",
            )
    return first


def as_words(value: object) -> str:
    """One shell-friendly line: list items joined by spaces; no folds (or no dev set) is ``-``."""
    if isinstance(value, list):
        return " ".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)

"""What every ``prepare-data`` run produces besides the data dirs: skipped-junk records, counts, a summary.

* :class:`SkipLog` — corpus junk that ``datasets.md`` says the real corpus contains is skipped, not
  fatal; each kind is counted and its first examples are kept (``meta.json["skipped"]``).
* :func:`write_set` — one data dir: :func:`serkit.datadir.save` plus the corpus' extra per-utterance files
  (``utt2vad``, ``utt2intensity``, ...), after clearing an earlier data dir at that path.
* :class:`PrepareResult` — the sets written and count tables, for the command's closing rich table.
* :func:`protocol` — the ``meta.json["protocol"]`` block every corpus writes (DESIGN §3), and
  :func:`is_mini_corpus` — whether SRC is the synthetic mini corpus (``meta.json["synthetic"]``).
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from serkit import datadir
from serkit.errors import SerkitError
from serkit.paths import refuse_foreign

EXAMPLES_KEPT = 20


class SkipLog:
    """Skipped (or repaired) corpus junk by reason: a count and the first :data:`EXAMPLES_KEPT` examples."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.examples: dict[str, list[str]] = {}

    def add(self, reason: str, example: str, count: int = 1) -> None:
        self.counts[reason] += count
        kept = self.examples.setdefault(reason, [])
        if len(kept) < EXAMPLES_KEPT and example not in kept:
            kept.append(example)

    def as_meta(self) -> dict:
        return {r: {"count": self.counts[r], "examples": self.examples[r]} for r in sorted(self.counts)}

    def notes(self) -> list[str]:
        return [f"{r}: {self.counts[r]:,}" for r in sorted(self.counts)]


@dataclass
class SetSummary:
    """One written data dir."""

    name: str
    path: Path
    utterances: int
    speakers: int
    class_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class CountTable:
    """Counts to print: ``rows[row][column]``, with published counts where the corpus has them."""

    title: str
    columns: list[str]
    rows: dict[str, dict[str, int]]
    published: dict[str, dict[str, int]] | None = None


@dataclass
class PrepareResult:
    """Everything a ``prepare-data`` run reports."""

    corpus: str
    out: Path
    sets: list[SetSummary] = field(default_factory=list)
    tables: list[CountTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)


SET_NAMES = ("train", "dev", "test", "all")  # the set dirs prepare-data writes (under OUT or OUT/foldN)


def check_replaceable(out: Path) -> None:
    """Refuse, before anything is written, a run that would have to replace a set dir of ``out``
    holding a file serkit did not write (so a refusal never leaves some sets rewritten)."""
    out = Path(out)
    if not out.is_dir():
        return
    parents = [out, *sorted(p for p in out.iterdir() if p.is_dir() and re.fullmatch(r"fold[0-9]+", p.name))]
    for parent in parents:
        for name in SET_NAMES:
            if (parent / name).is_dir():
                _refuse_foreign(parent / name)


def _refuse_foreign(path: Path) -> None:
    refuse_foreign(path, sorted(p.name for p in path.iterdir() if not _written_by_serkit(p)), "serkit")


def clear_data_dir(path: Path) -> None:
    """Remove an earlier data dir at ``path``: only when it holds nothing but files serkit writes.

    A file of the user's there (``data/train/mynotes``) is never deleted: the run is refused,
    naming up to three of them. Files next to ``path`` (in OUT itself) are never looked at.
    """
    if not path.exists():
        return
    if not path.is_dir():
        raise SerkitError(
            "exists and is not a data dir; refusing to overwrite it", path=path, hint="choose another OUT"
        )
    _refuse_foreign(path)
    shutil.rmtree(path)


def _written_by_serkit(path: Path) -> bool:
    """A data-dir file serkit writes, its temporary file, or a ``split-data`` folder of them."""
    name = path.name
    if path.is_dir() and not path.is_symlink():
        return re.fullmatch(r"split[0-9]+", name) is not None and all(
            part.is_dir() and part.name.isdigit() and all(_written_by_serkit(f) for f in part.iterdir())
            for part in path.iterdir()
        )
    if name.startswith(".") and name.endswith(".tmp"):
        name = name[1:-4]
    return name in datadir.DATA_DIR_FILES


def write_lines(path: Path, records: dict[str, str]) -> None:
    """Write ``key value`` lines in byte order of the key."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for key in datadir.sorted_ids(records):
            f.write(f"{key} {records[key]}".rstrip() + "\n")


def is_mini_corpus(root: Path, layout: str) -> bool:
    """Whether ``root`` is a serkit mini corpus: its ``manifest.jsonl`` names ``layout``."""
    from serkit.corpora.mini.manifest import MANIFEST_NAME

    path = root / MANIFEST_NAME
    if not path.is_file():
        return False
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and record.get("layout") == layout


def protocol(
    *,
    class_map: object,
    split: str,
    folds: list[str],
    sets: list[str],
    score: list[str],
    train: str = "train",
    dev: str | None = "dev",
    **extra: object,
) -> dict:
    """The ``protocol`` block of ``meta.json``: folds (``[]`` = one fixed split), sets, and what is scored."""
    return {
        "class_map": class_map,
        "split": split,
        "folds": list(folds),
        "sets": list(sets),
        "train": train,
        "dev": dev if dev in sets else None,
        "score": [s for s in score if s in sets],
        **extra,
    }


def write_set(
    data: datadir.DataDir, path: Path, extra_files: dict[str, dict[str, str]] | None = None
) -> SetSummary:
    """Measure the audio (durations, sample rate), write one data dir (clearing an old one first)
    and its extra ``utt value`` files."""
    datadir.measure(data)
    clear_data_dir(path)
    datadir.save(data, path)
    for name, records in (extra_files or {}).items():
        picked = {u: v for u, v in records.items() if u in data.wav_scp}
        if picked:
            write_lines(path / name, picked)
    counts = Counter(data.utt2emo.values())
    return SetSummary(
        name=str(data.meta.get("set", path.name)),
        path=path,
        utterances=len(data),
        speakers=len(set(data.utt2spk.values())),
        class_counts={c: counts[c] for c in sorted(counts)},
    )


def count_by(utts: dict[str, str], classes: dict[str, str]) -> dict[str, dict[str, int]]:
    """``{group: {class: n}}`` from ``utt → group`` and ``utt → class``."""
    table: dict[str, Counter] = {}
    for utt, group in utts.items():
        if utt in classes:
            table.setdefault(group, Counter())[classes[utt]] += 1
    return {g: dict(sorted(table[g].items())) for g in sorted(table)}

"""``make-mini-corpus``: plan, render shards in fresh processes, write the layout, move it into place.

The corpus is built in a hidden staging directory beside ``OUT`` and renamed to ``OUT`` only when complete,
so an interrupted run never leaves a half corpus that looks finished. Shards run in a spawn-context pool
with one task per process; the result is byte-identical whatever ``nj`` is.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from serkit.corpora.mini.layouts import LAYOUT_NAMES, SIZE_NAMES, get_layout
from serkit.corpora.mini.manifest import MANIFEST_NAME, write_manifest
from serkit.corpora.mini.plan import CorpusPlan, shard_assignment
from serkit.corpora.mini.shard import ShardJob, run_shard
from serkit.corpora.mini.voices import make_data_dir
from serkit.errors import SerkitError
from serkit.paths import refuse_foreign

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(turns_done, turns_total)`` each time a shard finishes."""


@dataclass(frozen=True)
class GenerationSummary:
    """What was generated, for the command's closing table."""

    out: Path
    layout: str
    size: str
    seed: int
    n_shards: int
    n_recordings: int
    n_turns: int
    n_labelled: int
    speech_seconds: float
    elapsed_seconds: float


def generate_mini_corpus(
    out: str | Path,
    *,
    layout: str = "iemocap",
    size: str = "default",
    seed: int = 0,
    nj: int = 1,
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> GenerationSummary:
    """Generate a synthetic corpus in the on-disk layout of ``layout`` at ``out``; see the module doc."""
    started = time.perf_counter()
    if layout not in LAYOUT_NAMES:
        raise SerkitError(f"unknown layout {layout!r}", hint=f"choose one of: {', '.join(LAYOUT_NAMES)}")
    if size not in SIZE_NAMES:
        raise SerkitError(f"unknown size {size!r}", hint=f"choose one of: {', '.join(SIZE_NAMES)}")
    if nj < 1:
        raise SerkitError(f"--nj must be at least 1, got {nj}")
    out = Path(os.path.abspath(out))
    _check_output(out, force)
    staging = _make_staging(out)
    try:
        corpus = get_layout(layout).plan(seed, size)
        records = _render(corpus, staging, nj, progress)
        get_layout(layout).finish(staging, corpus, records)
        write_manifest(staging / MANIFEST_NAME, records)
        if out.exists():
            _refuse_foreign_files(out, staging)
            shutil.rmtree(out)
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return GenerationSummary(
        out=out,
        layout=layout,
        size=size,
        seed=seed,
        n_shards=corpus.n_shards,
        n_recordings=len(corpus.recordings),
        n_turns=len(records),
        n_labelled=sum(1 for r in records if r["labelled"]),
        speech_seconds=round(sum(r["duration"] for r in records), 3),
        elapsed_seconds=round(time.perf_counter() - started, 3),
    )


def _refuse_foreign_files(out: Path, staging: Path) -> None:
    """Refuse to replace ``out`` if it holds a file neither corpus has: one the user put there.

    A generated file is one the new corpus (``staging``) has or the old ``manifest.jsonl`` names.
    """
    known = {p.relative_to(staging) for p in staging.rglob("*") if p.is_file()}
    known.add(Path(MANIFEST_NAME))
    manifest = out / MANIFEST_NAME
    lines = manifest.read_text(encoding="utf-8", errors="replace").splitlines() if manifest.is_file() else []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        files = record.get("files") if isinstance(record, dict) else None
        if isinstance(files, dict):
            known.update(Path(v) for v in files.values() if isinstance(v, str))
    foreign = sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.relative_to(out) not in known
    )
    refuse_foreign(out, foreign, "the mini corpus")


def _check_output(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise SerkitError("the output exists and is not a directory", path=out, hint="choose another OUT")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise SerkitError(
                "the output directory is not empty",
                path=out,
                hint="pass --force to replace it, or choose another OUT",
            )
        if not (out / MANIFEST_NAME).is_file():
            raise SerkitError(
                f"refusing to replace a non-empty directory without {MANIFEST_NAME}",
                path=out,
                hint="--force only replaces an earlier mini corpus; remove it yourself or choose another OUT",
            )


def _make_staging(out: Path) -> Path:
    existing = out.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise SerkitError(
            f"cannot create the output directory: {existing} is a file",
            path=out,
            hint="choose a location for OUT under a directory",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SerkitError(
            f"cannot create the output directory: {existing} is not writable",
            path=out,
            hint="choose a writable location for OUT",
        )
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
    except OSError as err:
        raise SerkitError(
            f"cannot write the output directory: {err.strerror or err}",
            path=out,
            hint="choose a writable location for OUT",
        ) from err
    return staging


def _render(corpus: CorpusPlan, staging: Path, nj: int, progress: ProgressCallback | None) -> list[dict]:
    shards = shard_assignment(corpus.recordings, corpus.n_shards)
    by_shard: dict[int, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="serkit-espeak-") as tmp:
        data_dir = make_data_dir(Path(tmp) / "espeak-ng-data", list(corpus.speakers.values()))
        jobs = []
        for index, members in enumerate(shards):
            recordings = tuple(corpus.recordings[i] for i in members)
            speaker_ids = {t.speaker_id for r in recordings for t in r.turns}
            jobs.append(
                ShardJob(
                    index,
                    corpus.layout,
                    str(staging),
                    str(data_dir),
                    {k: corpus.speakers[k] for k in sorted(speaker_ids)},
                    recordings,
                )
            )
        sizes = {job.index: sum(len(r.turns) for r in job.recordings) for job in jobs}
        done, total = 0, sum(sizes.values())
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(nj, len(jobs)), mp_context=context, max_tasks_per_child=1
        ) as pool:
            futures = [pool.submit(run_shard, job) for job in jobs]
            try:
                for future in as_completed(futures):
                    index, records = future.result()
                    by_shard[index] = records
                    done += sizes[index]
                    if progress is not None:
                        progress(done, total)
            except BrokenProcessPool as err:
                raise RuntimeError(
                    "a mini-corpus worker process died: espeak-ng crashed, or a script called "
                    "generate_mini_corpus without an `if __name__ == '__main__':` guard (workers are spawned)"
                ) from err
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    order = {recording.name: i for i, recording in enumerate(corpus.recordings)}
    records = [record for index in sorted(by_shard) for record in by_shard[index]]
    return sorted(records, key=lambda r: order[r["recording"]])

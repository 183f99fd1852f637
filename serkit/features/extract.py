"""Extract one feature type for a whole data dir into one HDF5 store, in one process or in N jobs.

``--nj 1`` writes the store directly. ``--nj N`` writes ``<store>.work/spec.json`` (the type,
its options and the data dir's utterances) and runs N jobs through :mod:`serkit.jobs`
(``--cmd local|slurm``); job n reads the data dir itself and extracts the n-th of N contiguous
parts of those utterances into a shard, written atomically. The shards then become the store
(the first one moved, the others' datasets copied into it by HDF5): still one self-contained
``.h5`` file. A killed or failed job leaves no shard, the store is reported incomplete, and a
rerun of the same command only redoes the missing shards; changing any extractor option, or the
data dir, discards the old shards.

Only the files of the data dir the type uses are read (:attr:`Extractor.data_files`): ``wav.scp``
and ``meta.json``, and ``words.ctm`` for ``word-mfcc``.

An utterance whose audio is bad (missing, unreadable, too short), the first one included, is
reported on one line and left out; the others are still extracted, the store records the ids it
lacks (``failed_utterances``) and the first reason (``first_failure``), and the command exits with
status 2 on one line naming that utterance's file, so that the recipe stops.
What the extractor did to the audio (channels mixed to mono, another rate resampled, words past
the audio) is counted in root attributes (:data:`Extractor.COUNTS`) and reported once.
An utterance a feature type does not apply to (``word-mfcc`` without a word alignment) is
left out without failing and listed in ``skipped_utterances``.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from serkit import datadir, jobs, store
from serkit.errors import SerkitError
from serkit.features.extractors import WORD_END_TOLERANCE_S, Extractor, make_extractor
from serkit.tmpfiles import write_text_atomic

log = logging.getLogger(__name__)

SPEC_FILE = "spec.json"


@contextmanager
def _progress(description: str, total: int, show: bool) -> Iterator[Callable[[], None]]:
    """A transient progress bar while the block runs; yields the call that advances it by one.
    Without ``show`` (a parallel job) the call does nothing and rich is not even imported."""
    if not show:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


#: Utterances are computed in groups, then written together: alternating one computation with one
#: HDF5 write made each of the two slower, as each evicts what the other keeps in the CPU's caches
#: (one job over 13,440 mini-corpus utterances at 20/10 ms: 19.3 s one by one, 17.6 s in groups). A
#: group ends at this many utterances or at WRITE_GROUP_BYTES of features, whichever comes first.
WRITE_GROUP_UTTS = 32
WRITE_GROUP_BYTES = 8 << 20


def _put_all(writer: store.StoreWriter, pending: list[tuple[str, tuple]]) -> None:
    """Write the computed utterances of ``pending`` in order and empty it."""
    for utt, result in pending:
        writer.put(utt, *result)
    pending.clear()


def extract_part(
    data: datadir.DataDir, out: Path, extractor: Extractor, show_progress: bool = True
) -> list[str]:
    """Write the store ``out`` for every utterance of ``data``; return the ids that failed."""
    failed: list[str] = []
    skipped: list[str] = []
    first_failure = ""
    pending: list[tuple[str, tuple]] = []  # computed, not yet written (see WRITE_GROUP_UTTS)
    pending_bytes = 0
    extractor.prepare(data)
    with store.StoreWriter(out, finalize=extractor.finalize, **extractor.store_header()) as writer:
        with _progress(f"{extractor.feature_type} {out.name}", len(data), show_progress) as advance:
            for utt in data.utts:
                try:
                    result = extractor.compute(utt, data)
                except SerkitError as err:
                    if err.path is None:
                        err = SerkitError(err.message, path=data.wav_scp[utt].path, hint=err.hint)
                    log.error("%s: skipped: %s", utt, err.format())
                    failed.append(utt)
                    first_failure = first_failure or err.format()
                else:
                    if result is None:
                        skipped.append(utt)
                    else:
                        pending.append((utt, result))
                        pending_bytes += result[0].nbytes
                        if pending_bytes >= WRITE_GROUP_BYTES or len(pending) >= WRITE_GROUP_UTTS:
                            _put_all(writer, pending)
                            pending_bytes = 0
                advance()
            _put_all(writer, pending)
        writer.set_attr("failed_utterances", json.dumps(failed))
        writer.set_attr("skipped_utterances", json.dumps(skipped))
        writer.set_attr("first_failure", first_failure)
        for key in Extractor.COUNTS:
            writer.set_attr(key, extractor.counts.get(key, 0))
        writer.set_attr("count_examples", json.dumps(extractor.examples, sort_keys=True))
    if skipped:
        log.info(
            "%d utterances skipped (%s does not apply to them), e.g. %s",
            len(skipped),
            extractor.feature_type,
            skipped[0],
        )
    return failed


def extract_features(
    data_dir: str | Path,
    out: str | Path,
    feature_type: str,
    options: dict,
    *,
    nj: int = 1,
    cmd: str = "local",
    allow_pipes: bool = False,
) -> Path:
    """Extract ``feature_type`` (with ``options``) for ``data_dir`` into the store ``out``."""
    out = Path(out)
    jobs.check_nj(nj)
    extractor = make_extractor(feature_type, options)
    data = datadir.load(data_dir, allow_pipes=allow_pipes, files=extractor.data_files)
    if len(data) == 0:
        raise SerkitError("the data dir has no utterances", path=data_dir, hint="check wav.scp")
    if nj > len(data):
        log.info("%d utterances: running %d jobs instead of %d", len(data), len(data), nj)
        nj = len(data)
    if nj == 1:
        extract_part(data, out, extractor)
    else:
        extractor.prepare(data)
        _extract_parallel(data, out, feature_type, extractor.resolved_options(), nj, cmd, allow_pipes)
    attrs = store.FeatureStore(out).attrs
    for line in _report(attrs, data):
        log.warning("%s", line)
    failed = json.loads(attrs.get("failed_utterances", "[]"))
    if failed:
        raise SerkitError(
            f"{len(failed)} of {len(data)} utterances failed (e.g. {failed[0]}: "
            f"{attrs.get('first_failure') or 'see the log'}); the store holds the other "
            f"{len(data) - len(failed)}",
            path=out,
            hint="fix their audio, or drop them with subset-data, and extract again",
        )
    return out


def _report(attrs: dict, data: datadir.DataDir) -> list[str]:
    """One line per kind of change made to the audio (the counts of :data:`Extractor.COUNTS`)."""
    examples = json.loads(attrs.get("count_examples") or "{}")
    lines = []
    mixed = int(attrs.get("mixed_to_mono_utterances") or 0)
    if mixed:
        e = examples["mixed_to_mono_utterances"]
        lines.append(
            f"{mixed} utterances have several channels, mixed to mono (e.g. {e['path']}: {e['channels']})"
        )
    resampled = int(attrs.get("resampled_utterances") or 0)
    if resampled:
        e = examples["resampled_utterances"]
        lines.append(
            f"{resampled} utterances resampled to the store's {attrs['sample_rate']} Hz "
            f"(e.g. {e['path']}: {e['rate']} Hz)"
        )
    past_end = int(attrs.get("words_past_end") or 0)
    if past_end:
        e = examples["words_past_end"]
        where = _ctm_line(data, e["utt"], e["index"])
        lines.append(
            f"{where}: {past_end} words end more than {WORD_END_TOLERANCE_S} s past their audio, "
            f"their frames clipped to its end (e.g. {e['word']!r} of {e['utt']} ends at {e['end']:.3f} s, "
            f"the audio at {e['duration']:.3f} s) — check the alignment"
        )
    return lines


def _ctm_line(data: datadir.DataDir, utt: str, index: int) -> str:
    """``<data>/words.ctm:<line>`` of the ``index``-th word of ``utt``."""
    path = (data.path or Path(".")) / "words.ctm"
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.split(maxsplit=1)[:1] == [utt]:
            if seen == index:
                return f"{path}:{number}"
            seen += 1
    return str(path)


def _extract_parallel(
    data: datadir.DataDir, out: Path, feature_type: str, options: dict, nj: int, cmd: str, allow_pipes: bool
) -> None:
    work = store.work_dir(out)
    spec = {
        "feature_type": feature_type,
        "options": options,
        "nj": nj,
        "allow_pipes": allow_pipes,
        "data_dir": str(Path(data.path).resolve()),
        "data": [data.wav_scp[u].to_field() for u in data.utts],
        "utts": data.utts,
    }
    spec_file = work / SPEC_FILE
    if _read_spec(spec_file) != spec and work.exists():
        # Other options or data, or no whole spec (a run killed while it prepared or removed the
        # work dir): nothing there can be trusted.
        log.info("discarding %s: it is not the work of a run with these options and data", work)
        shutil.rmtree(work)
    if not spec_file.is_file():
        work.mkdir(parents=True, exist_ok=True)
        write_text_atomic(spec_file, json.dumps(spec, sort_keys=True))  # whole: the work dir is complete
    shard = str(work / "shard.JOB.h5")
    template = [*jobs.PYTHON, "-m", "serkit.features.extract", str(spec_file), "JOB", shard]
    jobs.run_jobs(
        template,
        nj,
        work / "log",
        name="extract",
        cmd=cmd,
        done_check=lambda job: Path(shard.replace("JOB", str(job))).is_file(),
    )
    shards = [Path(shard.replace("JOB", str(j))) for j in range(1, nj + 1)]
    extractor = make_extractor(feature_type, options)
    joined = _joined_attrs([store.FeatureStore(shard).attrs for shard in shards])

    def finalize(f) -> None:
        extractor.finalize(f)
        for key, value in joined.items():
            f.attrs[key] = value

    store.merge_shards(shards, out, finalize=finalize, take_first=True)
    spec_file.unlink()  # first: a kill while the rest is removed leaves a work dir no rerun trusts
    shutil.rmtree(work)


def _job_part(spec: dict, job: int, extractor: Extractor) -> datadir.DataDir:
    """Job ``job``'s contiguous share of the spec's utterances (as :func:`datadir.split_even`),
    read from the data dir, which must still hold them as the spec saw them."""
    utts = spec["utts"]
    first, stop = datadir.split_bounds(len(utts), spec["nj"])[job - 1 : job + 1]
    data = datadir.load(spec["data_dir"], allow_pipes=spec["allow_pipes"], files=extractor.data_files)
    for utt, field in zip(utts[first:stop], spec["data"][first:stop], strict=True):
        entry = data.wav_scp.get(utt)
        if entry is None or entry.to_field() != field:
            raise SerkitError(
                f"the data dir changed while its features were extracted ({utt})",
                path=Path(spec["data_dir"]) / "wav.scp",
                hint="rerun the extract command",
            )
    return replace(datadir.subset(data, utts[first:stop]), path=data.path)


def _read_spec(spec_file: Path) -> dict | None:
    """The spec of an earlier run's work dir; None when absent or not whole."""
    try:
        return json.loads(spec_file.read_text())
    except (OSError, ValueError):
        return None


def _joined_attrs(shards: list[dict]) -> dict:
    """The per-job root attributes of the shards, joined: id lists in shard order, counts summed,
    the first failure and the first example of each count."""
    joined: dict = {}
    for key in ("failed_utterances", "skipped_utterances"):
        joined[key] = json.dumps([utt for attrs in shards for utt in json.loads(attrs.get(key, "[]"))])
    for key in Extractor.COUNTS:
        joined[key] = sum(int(attrs.get(key) or 0) for attrs in shards)
    joined["first_failure"] = next((a["first_failure"] for a in shards if a.get("first_failure")), "")
    examples: dict = {}
    for attrs in shards:
        for key, example in json.loads(attrs.get("count_examples") or "{}").items():
            examples.setdefault(key, example)
    joined["count_examples"] = json.dumps(examples, sort_keys=True)
    return joined


def _job_main(argv: list[str]) -> int:
    """One parallel job: ``python -m serkit.features.extract SPEC JOB SHARD``."""
    spec_file, job, shard = argv
    spec = json.loads(Path(spec_file).read_text())
    try:
        extractor = make_extractor(spec["feature_type"], spec["options"])
        data = _job_part(spec, int(job), extractor)
        extract_part(data, Path(shard), extractor, show_progress=False)
    except SerkitError as err:
        print(f"error: {err.format()}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    sys.exit(_job_main(sys.argv[1:]))

"""Extract one feature type for a whole data dir into one HDF5 store, in one process or in N jobs.

``--nj 1`` writes the store directly. ``--nj N`` splits the data dir into N contiguous parts
under ``<store>.work/``, runs one job per part through :mod:`serkit.jobs` (``--cmd local|slurm``),
each writing a shard atomically, and merges the shards. A killed or failed job leaves no shard,
the store is reported incomplete, and a rerun of the same command only redoes the missing
shards; changing any extractor option discards the old shards.

An utterance whose audio is bad (missing, unreadable, too short) is reported on one line and
left out; the others are still extracted, the store records the ids it lacks
(``failed_utterances``), and the command exits with status 2 so that the recipe stops.
An utterance a feature type does not apply to (``word-mfcc`` without a word alignment) is
left out without failing and listed in ``skipped_utterances``.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from serkit import datadir, jobs, store
from serkit.errors import SerkitError
from serkit.features.extractors import Extractor, make_extractor

log = logging.getLogger(__name__)

SPEC_FILE = "spec.json"


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )


def extract_part(
    data: datadir.DataDir, out: Path, extractor: Extractor, show_progress: bool = True
) -> list[str]:
    """Write the store ``out`` for every utterance of ``data``; return the ids that failed."""
    failed: list[str] = []
    skipped: list[str] = []
    extractor.prepare(data)
    with store.StoreWriter(out, finalize=extractor.finalize, **extractor.store_header()) as writer:
        with _progress() as progress:
            task = progress.add_task(
                f"{extractor.feature_type} {out.name}", total=len(data), visible=show_progress
            )
            for utt in data.utts:
                try:
                    result = extractor.compute(utt, data)
                except SerkitError as err:
                    log.error("%s: skipped: %s", utt, err.format())
                    failed.append(utt)
                else:
                    if result is None:
                        skipped.append(utt)
                    else:
                        writer.put(utt, *result)
                progress.advance(task)
        writer.set_attr("failed_utterances", json.dumps(failed))
        writer.set_attr("skipped_utterances", json.dumps(skipped))
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
    extractor = make_extractor(feature_type, options)
    data = datadir.load(data_dir, allow_pipes=allow_pipes)
    if len(data) == 0:
        raise SerkitError("the data dir has no utterances", path=data_dir, hint="check wav.scp")
    if nj <= 1:
        failed = extract_part(data, out, extractor)
    else:
        failed = _extract_parallel(data, out, feature_type, options, nj, cmd, allow_pipes)
    if failed:
        raise SerkitError(
            f"{len(failed)} of {len(data)} utterances failed (each reported above; e.g. {failed[0]}); "
            f"the store holds the other {len(data) - len(failed)}",
            path=out,
            hint="fix their audio, or drop them with subset-data, and extract again",
        )
    return out


def _extract_parallel(
    data: datadir.DataDir, out: Path, feature_type: str, options: dict, nj: int, cmd: str, allow_pipes: bool
) -> list[str]:
    work = store.work_dir(out)
    spec = {
        "feature_type": feature_type,
        "options": options,
        "nj": nj,
        "allow_pipes": allow_pipes,
        "data": [data.wav_scp[u].to_field() for u in data.utts],
        "utts": data.utts,
    }
    spec_file = work / SPEC_FILE
    if spec_file.is_file() and json.loads(spec_file.read_text()) != spec:
        log.info("extractor options or data changed since the last run: discarding %s", work)
        shutil.rmtree(work)
    if not spec_file.is_file():
        work.mkdir(parents=True, exist_ok=True)
        for number, part in enumerate(datadir.split_even(data, nj), start=1):
            datadir.save(part, work / "split" / str(number))
        spec_file.write_text(json.dumps(spec, sort_keys=True))
    shard = str(work / "shard.JOB.h5")
    template = [
        sys.executable,
        "-m",
        "serkit.features.extract",
        str(spec_file),
        str(work / "split" / "JOB"),
        shard,
    ]
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
    lists = {key: _joined_list(shards, key) for key in ("failed_utterances", "skipped_utterances")}

    def finalize(f) -> None:
        extractor.finalize(f)
        for key, ids in lists.items():
            f.attrs[key] = json.dumps(ids)

    store.merge_shards(shards, out, finalize=finalize)
    shutil.rmtree(work)
    return lists["failed_utterances"]


def _joined_list(shards: list[Path], key: str) -> list[str]:
    """The union of a JSON id-list attribute over the shards, in shard order."""
    return [utt for shard in shards for utt in json.loads(store.FeatureStore(shard).attrs.get(key, "[]"))]


def _job_main(argv: list[str]) -> int:
    """One parallel job: ``python -m serkit.features.extract SPEC DATA_PART SHARD``."""
    spec_file, part_dir, shard = argv
    spec = json.loads(Path(spec_file).read_text())
    try:
        extractor = make_extractor(spec["feature_type"], spec["options"])
        data = datadir.load(part_dir, allow_pipes=spec["allow_pipes"])
        extract_part(data, Path(shard), extractor, show_progress=False)
    except SerkitError as err:
        print(f"error: {err.format()}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    sys.exit(_job_main(sys.argv[1:]))

"""Benchmark: ``serkit extract-features`` at corpus scale, against its kernel alone.

Generates the default mini IEMOCAP corpus once (``serkit make-mini-corpus``, ``prepare-data``,
``combine-data`` as the recipe's stages 0 and 1 do) into ``--work`` (default
``/tmp/serkit-bench-extract``, kept between runs), replicates ``data/all`` 1x, 4x, 16x with new
utterance and speaker ids (the copies name the same wavs), and runs ``serkit extract-features`` on
each as a user would (a subprocess, once per ``--nj``). Prints per size and job count: audio hours,
wall seconds, times real time (reading, extracting and writing the store included), the peak
RSS of the whole process tree (the largest of the command and its jobs) and the tree's CPU seconds
(what a busy shared machine does not inflate as much as wall time); beside them, as the limit,
the kernel alone (``pyaa34.short_term_features`` over the same audio, already read, on one core,
times real time by CPU time). Each run is repeated ``--runs`` times, the best wall time kept.

    python bench/extract.py [--sizes 1,4,16] [--nj 1,2] [--window 0.02] [--step 0.01] [--runs 2]

The serkit measured is the one ``python -P -m serkit`` imports (``PYTHONPATH``, else the installed
one), never a ``serkit/`` folder in the working directory.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

#: Runs a command; prints the peak RSS (KiB) of its whole process tree (the largest process) and the
#: tree's CPU seconds on stderr's last line.
_MEASURE = (
    "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print('measured', u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr); sys.exit(rc)"
)


def serkit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "serkit", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"serkit {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def mini_corpus(work: Path) -> Path:
    """``work/data/all`` of the default mini IEMOCAP corpus, made once."""
    all_dir = work / "data" / "all"
    if (all_dir / "wav.scp").is_file():
        return all_dir
    print(f"generating the mini IEMOCAP corpus in {work} (once, about a minute)", flush=True)
    work.mkdir(parents=True, exist_ok=True)
    serkit(
        "make-mini-corpus",
        "--layout",
        "iemocap",
        "--size",
        "default",
        "--nj",
        "2",
        "--force",
        "mini/iemocap",
        cwd=work,
    )
    shutil.rmtree(work / "data", ignore_errors=True)
    serkit("prepare-data", "iemocap", "mini/iemocap", "data", cwd=work)
    sets = serkit("protocol", "data", "sets", cwd=work).stdout.split()
    serkit("combine-data", "data/all", *[f"data/{s}" for s in sets], cwd=work)
    serkit("validate-data", "data/all", cwd=work)
    return all_dir


def replicate(all_dir: Path, times: int, out: Path) -> Path:
    """``all_dir`` ``times`` over, copy k's utterance and speaker ids prefixed ``r<k>-``."""
    from serkit import datadir

    if (out / "wav.scp").is_file():
        return out
    data = datadir.load(all_dir)
    copies = []
    for k in range(times):
        prefix = f"r{k:02d}-"
        copy = replace(data, path=None)
        for name in datadir.PER_ID_FIELDS:
            mapping = getattr(data, name)
            if name == "reco2dur":
                renamed = {prefix + r: v for r, v in mapping.items()}
            else:
                renamed = {prefix + u: v for u, v in mapping.items()}
            setattr(copy, name, renamed)
        copy.utt2spk = {prefix + u: prefix + s for u, s in data.utt2spk.items()}
        copy.wav_scp = {
            prefix + u: replace(e, recording=None if e.recording is None else prefix + e.recording)
            for u, e in data.wav_scp.items()
        }
        copies.append(copy)
    combined = datadir.combine(copies)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    datadir.save(combined, tmp)
    os.replace(tmp, out)
    return out


def audio_seconds(data_dir: Path) -> float:
    from serkit import datadir

    return sum(datadir.read_durations(data_dir / "utt2dur").values())


def kernel_speed(all_dir: Path, window: float, step: float) -> float:
    """Times real time of ``short_term_features`` alone over ``all_dir``'s audio (read first), one core."""
    from serkit import datadir
    from serkit.features import pyaa34
    from serkit.features.extractors import Pyaa34Extractor

    data = datadir.load(all_dir)
    extractor = Pyaa34Extractor({"window": window, "step": step})
    extractor.prepare(data)
    signals = [extractor._samples(utt, data) for utt in data.utts]
    seconds = sum(len(s) for s in signals) / extractor.rate
    best = float("inf")
    for _ in range(2):
        start = time.thread_time()
        for samples in signals:
            pyaa34.short_term_features(samples, extractor.rate, extractor.window, extractor.step)
        best = min(best, time.thread_time() - start)
    return seconds / best


def run_extract(data_dir: Path, out: Path, nj: int, window: float, step: float) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds of one ``serkit extract-features`` (a fresh store)."""
    if out.exists():
        out.unlink()
    shutil.rmtree(out.with_name(out.name + ".work"), ignore_errors=True)
    argv = [sys.executable, "-c", _MEASURE, sys.executable, "-P", "-m", "serkit", "extract-features"]
    argv += [str(data_dir), str(out), "--type", "pyaa34", "--window", str(window), "--step", str(step)]
    argv += ["--nj", str(nj)]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"extract-features failed:\n{proc.stderr}")
    _, maxrss, cpu = proc.stderr.strip().splitlines()[-1].split()
    return wall, int(maxrss), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, default=Path("/tmp/serkit-bench-extract"), help="corpus cache and stores"
    )
    parser.add_argument("--sizes", default="1,4,16", help="replications of data/all")
    parser.add_argument("--nj", default="1,2", help="job counts to run")
    parser.add_argument("--window", type=float, default=0.02)
    parser.add_argument("--step", type=float, default=0.01)
    parser.add_argument("--runs", type=int, default=2, help="runs per size and job count (best kept)")
    parser.add_argument("--keep", action="store_true", help="keep the stores written")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    njs = [int(n) for n in args.nj.split(",")]

    work = args.work.resolve()
    all_dir = mini_corpus(work)
    kernel = kernel_speed(all_dir, args.window, args.step)
    print(
        f"pyaa34 {args.window * 1e3:g}/{args.step * 1e3:g} ms; kernel alone: {kernel:.0f}x real time "
        f"on one core ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    for size in sizes:
        data_dir = replicate(all_dir, size, work / "scaled" / f"x{size}")
        hours = audio_seconds(data_dir) / 3600
        for nj in njs:
            out = work / "feats" / f"x{size}_nj{nj}.h5"
            results = [run_extract(data_dir, out, nj, args.window, args.step) for _ in range(args.runs)]
            wall = min(r[0] for r in results)
            maxrss = max(r[1] for r in results)
            cpu = min(r[2] for r in results)
            print(
                f"{size:>3}x {hours:6.2f} h  nj {nj}: {wall:7.2f} s  {hours * 3600 / wall:6.0f}x real time  "
                f"peak RSS {maxrss / 1024:5.0f} MB  cpu {cpu:6.2f} s ({hours * 3600 / cpu:5.0f}x per core)  "
                f"| kernel {kernel:.0f}x on one core, {kernel * min(nj, os.cpu_count() or 1):.0f}x on {nj}  "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            if not args.keep:
                out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()

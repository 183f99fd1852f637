"""Benchmark: ``serkit predict`` throughput, as × real time, on the CPU (and a GPU when one is visible).

Applies a trained model (default: the demo's ``recipes/iemocap/exp/s2v_dual``, which ``make demo``
trains) to the wav files of a data dir, as a user would: ``serkit predict MODEL FILES... --utt2spk
--transcripts --out`` in a new process, start-up, feature extraction and writing included. Two sizes
by default: the demo's test set (162 files, 6.8 min) and every utterance of the mini corpus (840
files, 35 min); start-up (importing torch and gensim, about 4.5 s here) weighs on the small one.
Prints ``device=<d> words=<source> set=<dir> files=<n> audio_s=<a> wall_s=<w> x_real_time=<a/w>``
per device and set; with ``--asr`` also the test set without transcripts: words from pocketsphinx
ASR, which then costs most of the time.

    python bench/predict.py [--model recipes/iemocap/exp/s2v_dual] [--sets DIR ...] [--asr]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from serkit import audio, datadir

REPO = Path(__file__).resolve().parents[1]


def run(model: Path, data_dir: Path, device: str, transcripts: bool) -> str:
    data = datadir.load(data_dir)
    files = [data.wav_scp[u].path for u in data.utts]
    seconds = sum(audio.audio_info(data.wav_scp[u])[1] for u in data.utts)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "serkit", "predict", str(model), *files, "--device", device,
                   "--utt2spk", str(data_dir / "utt2spk"), "--out", f"{tmp}/p.csv"]  # fmt: skip
        if transcripts:
            command += ["--transcripts", str(data_dir / "text")]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"bench/predict.py: serkit predict failed: {done.stdout[-500:]}{done.stderr[-500:]}")
    words = "given transcripts" if transcripts else "pocketsphinx ASR"
    return (
        f"device={device} words={words!r} set={data_dir.name} files={len(files)} audio_s={seconds:.1f} "
        f"wall_s={wall:.2f} "
        f"x_real_time={seconds / wall:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "recipes/iemocap/exp/s2v_dual")
    parser.add_argument(
        "--sets", type=Path, nargs="+", default=[REPO / f"recipes/iemocap/data/{s}" for s in ("test", "all")]
    )
    parser.add_argument("--asr", action="store_true", help="Also measure with words from ASR (slow).")
    args = parser.parse_args()
    if not (args.model / "config.yaml").is_file() and not (args.model / "model.json").is_file():
        print(f"bench/predict.py: no trained model at {args.model}: run `make demo` first", file=sys.stderr)
        sys.exit(2)
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for data_dir in args.sets:
            print(run(args.model, data_dir, device, transcripts=True), flush=True)
    if args.asr:
        print(run(args.model, args.sets[0], "cpu", transcripts=False), flush=True)


if __name__ == "__main__":
    main()

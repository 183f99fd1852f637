"""Benchmark: serkit's pyaa34 features against pyAudioAnalysis 0.3.14, measured in the same run.

Synthesises 60 s of speech-like 16 kHz int16 audio (``serkit.features.testsignal.speech_like``) and
times ``serkit.features.pyaa34.short_term_features`` and ``pyAudioAnalysis.ShortTermFeatures.
feature_extraction`` (``deltas=False``) on one thread, at 20/10 ms (paper 004) and 100/100 ms (paper
002) windows.  Each side is timed as the best of several runs (pyAudioAnalysis: ``--peer-runs``,
serkit: ``--runs``), by the thread's CPU time (``time.thread_time``: other processes on a shared
machine do not count) and by wall time; the ratios use CPU time.  The serkit runs are spread in
batches between the pyAudioAnalysis runs, so both sides are sampled over the same stretch of time
and a burst of load on a shared machine cannot fall on one side only.  Prints one line per
configuration with both clocks; the last lines are one ``ratio=<pyAudioAnalysis time / serkit
time> maxdiff=<max abs diff>`` per configuration, 100/100 ms first and **20/10 ms last** (the
harder target: ≥ 150×; 100/100 ms: ≥ 40×).

Each configuration also prints the *floor* on this machine: what any numpy implementation of these
features must do at least, timed by the same CPU clock: the float64 normalisation, one real FFT of
every frame and its magnitude (best over chunks of 64 to 1,024 frames), nothing else.  The ratio to
pyAudioAnalysis depends on the CPU (pyAudioAnalysis is a Python loop over frames, serkit a few
vectorised passes); the floor shows how much of serkit's time is above what cannot be avoided.

    python bench/feat34.py [--seconds 60] [--runs 30] [--peer-runs 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from serkit.features import pyaa34  # noqa: E402
from serkit.features.testsignal import speech_like  # noqa: E402

SAMPLING_RATE = 16000
CONFIGS = (("100/100 ms", 0.1, 0.1), ("20/10 ms", 0.02, 0.01))  # the last one prints last
FLOOR_CHUNKS = (64, 128, 256, 512, 1024)  # frames per FFT call tried for the floor


class Timer:
    """Shortest CPU time and shortest wall time over all calls of one function, and its last result."""

    def __init__(self, function) -> None:
        self.function = function
        self.cpu = self.wall = float("inf")
        self.result = None

    def run(self, calls: int) -> None:
        for _ in range(calls):
            cpu, wall = time.thread_time(), time.perf_counter()
            self.result = self.function()
            self.cpu = min(self.cpu, time.thread_time() - cpu)
            self.wall = min(self.wall, time.perf_counter() - wall)


def floor(signal: np.ndarray, window: int, step: int, chunk: int) -> None:
    """The unavoidable part: normalise, frame, one real FFT per frame and its magnitude.

    Chunk by chunk into buffers reused across chunks, as the kernel itself works.
    """
    level = signal.mean()  # on the int16 samples: x = (signal - level) / divisor, no float copy
    divisor = max(float(signal.max()) - level, level - float(signal.min())) + 1e-10 * 2.0**15
    n_frames = (len(signal) - window) // step + 1
    x = np.empty((chunk - 1) * step + window)
    spectrum = np.empty((chunk, window // 2 + 1), dtype=np.complex128)
    magnitude = np.empty((chunk, window // 2 + 1))
    for first in range(0, n_frames, chunk):
        n = min(chunk, n_frames - first)
        part = np.subtract(
            signal[first * step : (first + n - 1) * step + window],
            level,
            dtype=np.float64,
            out=x[: (n - 1) * step + window],
        )
        part /= divisor
        frames = np.lib.stride_tricks.as_strided(part, (n, window), (step * part.itemsize, part.itemsize))
        np.fft.rfft(frames, axis=1, out=spectrum[:n])
        np.abs(spectrum[:n], out=magnitude[:n])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the test signal")
    parser.add_argument("--runs", type=int, default=30, help="serkit timing runs (best is kept)")
    parser.add_argument("--peer-runs", type=int, default=3, help="pyAudioAnalysis timing runs")
    args = parser.parse_args()

    from pyAudioAnalysis import ShortTermFeatures

    signal = speech_like(args.seconds, SAMPLING_RATE, seed=0)
    summary = []
    for label, window_s, step_s in CONFIGS:
        window = pyaa34.seconds_to_samples(window_s, SAMPLING_RATE)
        step = pyaa34.seconds_to_samples(step_s, SAMPLING_RATE)
        pyaa34.short_term_features(signal, SAMPLING_RATE, window, step)  # warm the plan cache
        ours = Timer(lambda w=window, s=step: pyaa34.short_term_features(signal, SAMPLING_RATE, w, s))
        peer = Timer(
            lambda w=window, s=step: ShortTermFeatures.feature_extraction(
                signal, SAMPLING_RATE, w, s, deltas=False
            )[0]
        )
        # serkit's runs in peer_runs + 1 batches around the peer's runs: both sides span the same time
        batches = args.peer_runs + 1
        for batch in range(batches):
            ours.run(args.runs // batches + (batch < args.runs % batches))
            if batch < args.peer_runs:
                peer.run(1)
        floors = [Timer(lambda w=window, s=step, c=c: floor(signal, w, s, c)) for c in FLOOR_CHUNKS]
        for timer in floors:
            timer.run(args.runs // 3 + 1)
        floor_s = min(timer.cpu for timer in floors)
        ours_s, ours_wall, ours = ours.cpu, ours.wall, ours.result
        peer_s, peer_wall, peer = peer.cpu, peer.wall, peer.result
        maxdiff = float(np.abs(ours - peer.T).max())
        ratio = peer_s / ours_s
        print(
            f"{label}: {args.seconds:g} s at {SAMPLING_RATE} Hz, {ours.shape[0]} frames x {ours.shape[1]}; "
            f"cpu: pyAudioAnalysis {peer_s * 1e3:.1f} ms, serkit {ours_s * 1e3:.2f} ms ({ratio:.1f}x); "
            f"wall: {peer_wall * 1e3:.1f} ms, {ours_wall * 1e3:.2f} ms ({peer_wall / ours_wall:.1f}x)"
        )
        print(
            f"{label}: floor (normalise, one rFFT and |FFT| per frame, nothing else): cpu "
            f"{floor_s * 1e3:.2f} ms ({peer_s / floor_s:.1f}x pyAudioAnalysis); serkit takes "
            f"{ours_s / floor_s:.2f}x the floor"
        )
        summary.append(f"ratio={ratio:.1f} maxdiff={maxdiff:.2e}")
    for line in summary:
        print(line)


if __name__ == "__main__":
    main()

"""Benchmark: a training step of paper 001's waveform CNN (Table 1, paper variant: 2,205 samples per
100 ms frame), float32 against bfloat16 autocast, on 1 and 2 CPU threads.

Prints, per thread count, ``threads=<n> fp32_ms_per_frame=<x> bf16_ms_per_frame=<y> speedup=<x/y>``:
milliseconds per frame of forward and backward through the CNN (dropout 0.5 as in training) on
batches of ``--frames`` frames (default 200: the SEWA recipe's mini budget, 5 × 40 frames), after a
warm-up step. bfloat16 is fast only where the CPU has it natively (``avx512_bf16``, ``amx_bf16``); the
recipe turns it on only there (``recipes/sewa/run.sh``, ``config_opts``).

    python bench/waveform_cnn.py [--frames 200] [--steps 5]
"""

from __future__ import annotations

import argparse
import time

import torch

from serkit import models
from serkit.models.semantic_paralinguistic import WaveformCNN


def ms_per_frame(cnn: WaveformCNN, frames: torch.Tensor, steps: int, bf16: bool) -> float:
    def step() -> None:
        for p in cnn.parameters():
            p.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = cnn._stack(frames)
        out.float().sum().backward()

    step()  # warm-up
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / (steps * len(frames)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = models.build(
        "tzirakis_paralinguistic", {"waveform": 2205}, 3, frame_stream="waveform", checkpoint_frames=None
    )
    cnn = model.encoders["waveform"].train()
    frames = torch.randn(args.frames, 1, 2205) * 0.07  # about the mini corpus's waveform deviation
    for threads in (1, 2):
        torch.set_num_threads(threads)
        fp32 = ms_per_frame(cnn, frames, args.steps, bf16=False)
        bf16 = ms_per_frame(cnn, frames, args.steps, bf16=True)
        print(
            f"threads={threads} fp32_ms_per_frame={fp32:.2f} bf16_ms_per_frame={bf16:.2f} "
            f"speedup={fp32 / bf16:.2f}"
        )


if __name__ == "__main__":
    main()

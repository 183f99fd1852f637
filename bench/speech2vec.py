"""Benchmark: Speech2Vec training throughput (word instances per second), CPU and CUDA.

Synthesises a corpus of word instances with the length distribution of the mini IEMOCAP corpus
(median 20 frames, 95th percentile ~55, capped at 64) in utterances of 8 words, and times skip-gram
training steps (window 3, 50-d, batch 64 centre instances, Adam) after a warm-up, as
``train-speech2vec --threads N`` runs them (N threads, each computing a part of every batch on one
core: ``batch_gradients``). Prints one line per device:
``device=<cpu|cuda> threads=<n> instances_per_s=<x> segments_per_s=<y>``; CUDA is measured when a
GPU is visible. A word instance is one centre word encoded once and its ≤ 6 neighbours decoded. On
the CPU the same steps are also timed with ``batch_loss_reference`` (the loss computed as the paper
states it: packed encoder, one decoded segment per pair; one batch on N intra-op threads), and the
last line is ``ratio=<serkit / reference> loss_rel_diff=<on the first batch>``.

    python bench/speech2vec.py [--instances 4000] [--steps 30] [--threads 1] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from serkit.embeddings.speech2vec import Speech2Vec, batch_gradients, batch_loss, batch_loss_reference
from serkit.embeddings.word_instances import WordInstances


def synthetic_instances(n: int, seed: int = 0, max_frames: int = 64) -> WordInstances:
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(20), 0.6, n).astype(np.int64), 3, max_frames)
    frames = rng.standard_normal((int(lengths.sum()), 13)).astype(np.float32)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    utt_of = np.arange(n) // 8
    words = [f"w{i}" for i in rng.zipf(1.5, n) % 500]
    utts = [f"u{i}" for i in range(utt_of[-1] + 1)]
    return WordInstances(words, utts, utt_of, frames, offsets, lengths, np.zeros(13), np.ones(13))


def throughput(
    data: WordInstances,
    device: torch.device,
    steps: int,
    batch_size: int,
    threads: int,
    reference: bool = False,
) -> tuple[float, float]:
    """Instances and segments per second. serkit's training on the CPU: ``threads`` threads each
    computing a part of every batch on one core (``batch_gradients``); the reference: one batch
    on ``threads`` intra-op threads, as PyTorch runs it."""
    workers = threads if device.type == "cpu" and not reference else 1
    torch.set_num_threads(1 if workers > 1 else threads)
    torch.manual_seed(0)
    model = Speech2Vec(13, 50).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    neighbours = data.neighbours(3)
    order = np.random.default_rng(1).permutation(len(data))

    def step(i: int) -> int:
        centres = order[(i * batch_size) % len(order) :][:batch_size]
        if reference:
            loss = batch_loss_reference(model, data, centres, neighbours, "skipgram")
            segments = int((neighbours[centres] >= 0).sum())
            optimizer.zero_grad()
            loss.backward()
        else:
            _, segments = batch_gradients(model, data, centres, neighbours, "skipgram", device, workers)
        optimizer.step()
        return segments

    for i in range(3):  # warm-up (allocator, cuDNN plans)
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start, segments = time.perf_counter(), 0
    for i in range(steps):
        segments += step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return steps * batch_size / seconds, segments / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (train-speech2vec's default: 1)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    data = synthetic_instances(args.instances)  # throughput() sets the thread count of each run
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    first = 0.0
    for device in devices:
        per_s, seg_per_s = throughput(data, device, args.steps, args.batch_size, args.threads)
        first = first or per_s
        print(
            f"device={device.type} threads={args.threads} batch={args.batch_size} "
            f"instances_per_s={per_s:.0f} segments_per_s={seg_per_s:.0f}",
            flush=True,
        )
    if len(devices) == 1:
        print("cuda: no GPU visible, not measured")
    reference, _ = throughput(
        data, torch.device("cpu"), max(3, args.steps // 3), args.batch_size, args.threads, reference=True
    )
    print(f"device=cpu threads={args.threads} reference instances_per_s={reference:.0f}")
    print(f"ratio={first / reference:.2f} loss_rel_diff={loss_difference(data, args.batch_size):.2e}")


def loss_difference(data: WordInstances, batch_size: int) -> float:
    """Relative difference of the two computations' loss on one fixed batch."""
    torch.manual_seed(0)
    model = Speech2Vec(13, 50)
    neighbours = data.neighbours(3)
    centres = np.random.default_rng(1).permutation(len(data))[:batch_size]
    fast, _ = batch_loss(model, data, centres, neighbours, "skipgram", torch.device("cpu"))
    slow = batch_loss_reference(model, data, centres, neighbours, "skipgram")
    return abs(float(fast.detach()) - float(slow.detach())) / float(slow.detach())


if __name__ == "__main__":
    main()

"""Batches: padding with masks (:func:`collate`) and length-bucketed batches split over DDP ranks.

:func:`collate` pads every stream to the longest example of the batch (or to its ``max_*``
with ``pad: max``) and returns boolean masks (True = real).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

from serkit.training.dataset import EmotionDataset


def collate(examples: list[dict], pad_lengths: dict[str, int] | None = None) -> dict:
    """Pad every stream to the batch maximum (or ``pad_lengths[name]``) with masks; stack targets."""
    batch = {"utts": [e["utt"] for e in examples], "starts": [e["start"] for e in examples]}
    inputs, masks = {}, {}
    for name in examples[0]["inputs"]:
        arrays = [e["inputs"][name] for e in examples]
        width = max(max(len(a) for a in arrays), 1)
        if pad_lengths and name in pad_lengths:
            width = max(width, pad_lengths[name])
        dim = arrays[0].shape[1]
        padded = np.zeros((len(arrays), width, dim), dtype=np.float32)
        mask = np.zeros((len(arrays), width), dtype=bool)
        for i, a in enumerate(arrays):
            padded[i, : len(a)] = a
            mask[i, : len(a)] = True
        inputs[name], masks[name] = torch.from_numpy(padded), torch.from_numpy(mask)
    batch["inputs"], batch["masks"] = inputs, masks
    targets = [e["target"] for e in examples]
    if isinstance(targets[0], int | np.integer):
        batch["target"] = torch.tensor(targets, dtype=torch.long)
    elif np.ndim(targets[0]) == 1:
        batch["target"] = torch.from_numpy(np.stack(targets).astype(np.float32))
    else:
        width = max(len(t) for t in targets)
        padded = np.zeros((len(targets), width, targets[0].shape[1]), dtype=np.float32)
        mask = np.zeros((len(targets), width), dtype=bool)
        for i, t in enumerate(targets):
            padded[i, : len(t)] = t
            mask[i, : len(t)] = True
        batch["target"], batch["target_mask"] = torch.from_numpy(padded), torch.from_numpy(mask)
    return batch


class Collator:
    """A picklable :func:`collate` bound to the fixed pad lengths of ``pad: max`` streams."""

    def __init__(self, dataset: EmotionDataset) -> None:
        self.pad_lengths = {s.name: s.max_len for s in dataset.streams if s.pad_to_max and s.max_len}

    def __call__(self, examples: list[dict]) -> dict:
        return collate(examples, self.pad_lengths)


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of the global batch size, similar lengths together, the same on every rank.

    Each epoch the examples are shuffled with ``seed + epoch``; with ``bucket`` they are
    sorted by length inside windows of 50 batches, cut into batches and the batches
    shuffled again. Every rank computes the same global batches and keeps its share
    ``batch[rank::world_size]`` (short batches wrap around), so all ranks take the same
    number of steps and, with one process, the batches are exactly the global ones.
    """

    WINDOW = 50

    def __init__(
        self,
        lengths: list[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        bucket: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.shuffle, self.bucket, self.seed = shuffle, bucket, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_batches(self) -> list[list[int]]:
        n = len(self.lengths)
        rng = np.random.default_rng(self.seed + self.epoch)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        if self.bucket:
            window = self.batch_size * self.WINDOW
            order = np.concatenate(
                [sorted(order[i : i + window], key=lambda k: self.lengths[k]) for i in range(0, n, window)]
            ).astype(int)
        batches = [order[i : i + self.batch_size].tolist() for i in range(0, n, self.batch_size)]
        if self.bucket and self.shuffle:
            batches = [batches[k] for k in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches():
            if self.world_size > 1:
                batch = (batch * self.world_size)[: max(len(batch), self.world_size)]
                batch = batch[self.rank :: self.world_size]
            yield batch

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

"""Batched prediction (sharded over DDP ranks) and metrics of predictions.

Shared by the trainer (dev scores each epoch) and :mod:`serkit.scoring` (``serkit score``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from serkit import metrics
from serkit.training import distributed
from serkit.training.batching import Collator
from serkit.training.dataset import EmotionDataset


@dataclass
class Prediction:
    """One example's model output (logits, values, or frames × values) and its target."""

    utt: str
    output: np.ndarray
    target: np.ndarray


def to_device(batch: dict, device: torch.device) -> dict:
    moved = dict(batch)
    moved["inputs"] = {k: v.to(device, non_blocking=True) for k, v in batch["inputs"].items()}
    moved["masks"] = {k: v.to(device, non_blocking=True) for k, v in batch["masks"].items()}
    for key in ("target", "target_mask"):
        if key in batch:
            moved[key] = batch[key].to(device, non_blocking=True)
    return moved


@torch.no_grad()
def predict(
    model: nn.Module,
    dataset: EmotionDataset,
    batch_size: int,
    device: torch.device,
    context: distributed.Context | None = None,
    num_workers: int = 0,
) -> list[Prediction]:
    """Predictions for every example, sorted by utterance; each rank runs its share, all get all."""
    context = context or distributed.Context(device=device)
    share = list(range(context.rank, len(dataset), context.world_size))
    loader = DataLoader(
        torch.utils.data.Subset(dataset, share),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=Collator(dataset),
    )
    was_training = model.training
    model.eval()
    mine: list[Prediction] = []
    for batch in loader:
        batch = to_device(batch, device)
        output = model(batch["inputs"], batch["masks"]).float().cpu().numpy()
        target = batch["target"].cpu().numpy()
        for i, utt in enumerate(batch["utts"]):
            if "target_mask" in batch:
                n = int(batch["target_mask"][i].sum())
                mine.append(Prediction(utt, output[i, :n], target[i, :n]))
            else:
                mine.append(Prediction(utt, output[i], target[i]))
    model.train(was_training)
    gathered = [p for part in distributed.all_gather(context, mine) for p in part]
    return sorted(gathered, key=lambda p: p.utt.encode())


def score(predictions: list[Prediction], task: dict, loss_fn: nn.Module | None = None) -> dict:
    """Task metrics of the predictions (see :mod:`serkit.metrics`), plus ``loss`` when given.

    Classification predicts the arg-max class; multilabel predicts a class present iff its logit > 0.
    """
    if task["type"] == "classification":
        reference = [int(p.target) for p in predictions]
        predicted = [int(np.argmax(p.output)) for p in predictions]
        out = metrics.classification_metrics(reference, predicted, task["classes"])
    elif task["type"] == "multilabel":  # present iff logit > 0 (sigmoid > 0.5)
        reference = np.stack([p.target for p in predictions]).astype(int)
        predicted = (np.stack([p.output for p in predictions]) > 0).astype(int)
        out = metrics.multilabel_metrics(reference, predicted, task["classes"])
    else:
        out = metrics.continuous_metrics(
            {p.utt: p.output for p in predictions}, {p.utt: p.target for p in predictions}, task["dims"]
        )
    if loss_fn is not None:
        outputs = torch.from_numpy(np.concatenate([np.atleast_2d(p.output) for p in predictions]))
        if task["type"] == "classification":
            targets = torch.tensor([int(p.target) for p in predictions])
        else:
            targets = torch.from_numpy(np.concatenate([np.atleast_2d(p.target) for p in predictions]))
        device = next(loss_fn.buffers(), torch.empty(0)).device
        out["loss"] = float(loss_fn(outputs.to(device), targets.to(device)))
    return out

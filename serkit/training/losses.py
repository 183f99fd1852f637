"""Training losses: cross-entropy with optional class weights, weighted 1 − CCC per dimension, and
binary cross-entropy on logits per class (multi-label) with optional positive weights."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from serkit.errors import SerkitError


def class_weights(setting, labels: Sequence[int], num_classes: int) -> torch.Tensor | None:
    """``None``, ``"balanced"`` (n / (C · count_c), as scikit-learn) or an explicit list."""
    if setting is None:
        return None
    if setting == "balanced":
        counts = Counter(int(y) for y in labels)
        missing = [c for c in range(num_classes) if counts[c] == 0]
        if missing:
            raise SerkitError(
                f"class index {missing[0]} has no training example",
                hint="drop the class from task.classes or set loss.class_weights: null",
            )
        return torch.tensor([len(labels) / (num_classes * counts[c]) for c in range(num_classes)])
    if isinstance(setting, list) and len(setting) == num_classes:
        return torch.tensor([float(w) for w in setting])
    raise SerkitError(
        f"loss.class_weights is {setting!r}", hint=f"use null, balanced, or a list of {num_classes} numbers"
    )


def pos_weights(setting, targets: Sequence[np.ndarray], classes: Sequence[str]) -> torch.Tensor | None:
    """``None``, ``"balanced"`` (negatives / positives of each class in ``targets``, the N × C 0/1
    training rows) or an explicit list: ``pos_weight`` of :class:`torch.nn.BCEWithLogitsLoss`."""
    if setting is None:
        return None
    if setting == "balanced":
        rows = np.asarray(
            np.stack(targets) if len(targets) else np.zeros((0, len(classes))), dtype=np.float64
        )
        positives = rows.sum(0)
        missing = [c for c, n in zip(classes, positives, strict=True) if n == 0]
        if missing:
            raise SerkitError(
                f"class {missing[0]!r} has no positive training example: balanced pos_weight is undefined",
                hint="drop the class from task.classes, or set loss.pos_weight: null or a list of weights",
            )
        return torch.tensor((len(rows) - positives) / positives, dtype=torch.float32)
    if isinstance(setting, list) and len(setting) == len(classes):
        return torch.tensor([float(w) for w in setting])
    raise SerkitError(
        f"loss.pos_weight is {setting!r}", hint=f"use null, balanced, or a list of {len(classes)} numbers"
    )


def ccc_per_dim(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CCC of each column of two N × D tensors (population moments), differentiable."""
    mp, mt = predicted.mean(0), target.mean(0)
    vp = ((predicted - mp) ** 2).mean(0)
    vt = ((target - mt) ** 2).mean(0)
    cov = ((predicted - mp) * (target - mt)).mean(0)
    return 2 * cov / (vp + vt + (mp - mt) ** 2 + 1e-8)


class CCCLoss(nn.Module):
    """Σ_d w_d (1 − CCC_d) over all valid frames of the batch flattened (weights sum to 1 by default)."""

    def __init__(self, num_dims: int, weights: Sequence[float] | None = None) -> None:
        super().__init__()
        if weights is None:
            weights = [1.0 / num_dims] * num_dims
        if len(weights) != num_dims:
            raise SerkitError(f"loss.dim_weights has {len(weights)} values for {num_dims} dimensions")
        self.register_buffer("weights", torch.tensor([float(w) for w in weights]))

    def forward(self, predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None):
        if mask is not None:
            predicted, target = predicted[mask], target[mask]
        predicted = predicted.reshape(-1, target.shape[-1]).float()
        target = target.reshape(-1, target.shape[-1]).float()
        return (self.weights * (1 - ccc_per_dim(predicted, target))).sum()


class CrossEntropy(nn.Module):
    """Cross-entropy over utterance logits; ``mask`` is accepted and ignored."""

    def __init__(self, weights: torch.Tensor | None = None) -> None:
        super().__init__()
        self.loss = nn.CrossEntropyLoss(weight=weights)

    def forward(self, logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None):
        return self.loss(logits.float(), target)


class BCE(nn.Module):
    """Binary cross-entropy on logits, averaged over utterances and classes (multi-label), with an
    optional ``pos_weight`` per class; ``mask`` is accepted and ignored."""

    def __init__(self, pos_weight: torch.Tensor | None = None) -> None:
        super().__init__()
        self.loss = nn.BCEWithLogitsLoss(pos_weight=pos_weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None):
        return self.loss(logits.float(), target.float())


def build(config: dict, task: dict, train_labels: Sequence | None = None) -> nn.Module:
    """The loss of a resolved config: ``ce`` (classification), ``ccc`` (regression) or ``bce``
    (multilabel); :func:`serkit.training.config.resolve` has checked that it fits the task.
    ``train_labels``: class indices (ce) or 0/1 rows (bce) of the training set."""
    loss = config["loss"]
    if loss["type"] == "bce":
        return BCE(pos_weights(loss["pos_weight"], list(train_labels or []), task["classes"]))
    if loss["type"] == "ce":
        return CrossEntropy(class_weights(loss["class_weights"], train_labels or [], len(task["classes"])))
    return CCCLoss(len(task["dims"]), loss["dim_weights"])

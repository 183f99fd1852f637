"""Building blocks shared by the models: masked pooling, a masked BiLSTM encoder, an MLP head."""

from __future__ import annotations

import torch
from torch import nn

from serkit.lstm import bidirectional


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over time of B×T×D ``x`` counting only frames where ``mask`` (B×T) is True."""
    weights = mask.unsqueeze(-1).to(x.dtype)
    return (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class AttentionPool(nn.Module):
    """Additive attention pooling over time: softmax(uᵀ tanh(W x + b)) over the real frames."""

    def __init__(self, dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.project = nn.Linear(dim, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(torch.tanh(self.project(x))).squeeze(-1)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=1) * mask.to(x.dtype)
        return (weights.unsqueeze(-1) * x).sum(1)


class MaskedBiLSTM(nn.Module):
    """A bidirectional LSTM that ignores padded frames (:func:`serkit.lstm.bidirectional`: what packed
    sequences compute); output B×T×2·hidden, zeros at padded frames."""

    def __init__(self, dim: int, hidden: int, layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.output_dim = 2 * hidden

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return bidirectional(self.lstm, x, mask.sum(1).clamp(min=1))[0]


class MLP(nn.Module):
    """Linear → ReLU → Dropout for each hidden size, then a linear output layer."""

    def __init__(self, dim: int, hidden: list[int], outputs: int, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for size in hidden:
            layers += [nn.Linear(dim, size), nn.ReLU(), nn.Dropout(dropout)]
            dim = size
        layers.append(nn.Linear(dim, outputs))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def require_utterance_level(frame_stream: str | None, models: str) -> None:
    """Models that classify whole utterances refuse a frame-level task (``frame_stream`` set)."""
    if frame_stream is not None:
        raise TypeError(f"{models} classify utterances; task.level must be utterance")

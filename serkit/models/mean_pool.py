"""A baseline over any input streams: optional masked BiLSTM per stream, pooling, MLP head.

Utterance level: each stream is encoded (``encoder: none | bilstm``), pooled over its real
frames (``pooling: mean | attention``), the stream vectors are concatenated and an MLP maps
them to logits or continuous values. Frame level (``frame_stream`` given): the MLP runs on
every frame of that stream, with the pooled vectors of the other streams appended.
It reproduces no paper table; it is the sanity baseline every recipe can run.
"""

from __future__ import annotations

import torch
from torch import nn

from serkit.models import register
from serkit.models.blocks import MLP, AttentionPool, MaskedBiLSTM, masked_mean


@register("mean_pool")
class MeanPool(nn.Module):
    def __init__(
        self,
        input_dims: dict[str, int],
        num_outputs: int,
        *,
        frame_stream: str | None = None,
        hidden: list[int] | int = 64,
        dropout: float = 0.0,
        encoder: str = "none",
        lstm_hidden: int = 64,
        pooling: str = "mean",
    ) -> None:
        super().__init__()
        if encoder not in ("none", "bilstm") or pooling not in ("mean", "attention"):
            raise TypeError("encoder must be none|bilstm and pooling mean|attention")
        if frame_stream is not None and frame_stream not in input_dims:
            raise TypeError(f"frame_stream {frame_stream!r} is not one of the streams {sorted(input_dims)}")
        self.names = sorted(input_dims)
        self.frame_stream = frame_stream
        self.encoders = nn.ModuleDict()
        self.pools = nn.ModuleDict()
        width = 0
        for name in self.names:
            dim = input_dims[name]
            if encoder == "bilstm":
                self.encoders[name] = MaskedBiLSTM(dim, lstm_hidden)
                dim = self.encoders[name].output_dim
            if pooling == "attention" and name != frame_stream:
                self.pools[name] = AttentionPool(dim)
            width += dim
        self.input_dropout = nn.Dropout(dropout)
        sizes = [hidden] if isinstance(hidden, int) else list(hidden)
        self.head = MLP(width, sizes, num_outputs, dropout)

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        encoded = {}
        for name in self.names:
            x = inputs[name]
            encoded[name] = self.encoders[name](x, masks[name]) if name in self.encoders else x
        pooled = []
        for name in self.names:
            if name == self.frame_stream:
                continue
            x, mask = encoded[name], masks[name]
            pooled.append(self.pools[name](x, mask) if name in self.pools else masked_mean(x, mask))
        if self.frame_stream is None:
            return self.head(self.input_dropout(torch.cat(pooled, dim=-1)))
        frames = encoded[self.frame_stream]
        context = [p.unsqueeze(1).expand(-1, frames.shape[1], -1) for p in pooled]
        return self.head(self.input_dropout(torch.cat([frames, *context], dim=-1)))

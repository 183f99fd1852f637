"""Bidirectional LSTMs (and GRUs) over zero-padded batches of sequences of different lengths.

A packed sequence (``pack_padded_sequence``) makes PyTorch's CPU LSTM run step by step, one small
autograd node per gate and step; over a padded batch each direction is one fused kernel (oneDNN),
several times faster forward and backward. :func:`bidirectional` therefore computes on the CPU what
the packed LSTM computes, as one-direction passes over the padded batch: the forward direction as
it is (its outputs at real frames never see the padding after them) and the backward direction
over each sequence reversed within its length, its outputs reversed back. Padded frames are never
read by a real output. The parameters stay those of the ``nn.LSTM``, so state dicts and checkpoints
are unchanged. On CUDA the packed path is kept (cuDNN runs it fused).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def reversal_index(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """B × steps indices reversing each row's first ``lengths[b]`` steps (the rest stay in place)."""
    t = torch.arange(steps, device=lengths.device)[None, :]
    last = (lengths - 1)[:, None]
    return torch.where(t <= last, last - t, t)


def _along_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return x.gather(1, index[:, :, None].expand(-1, -1, x.shape[2]))


def _one_direction(rnn: nn.LSTM | nn.GRU, layer: int, suffix: str, x: torch.Tensor) -> torch.Tensor:
    weights = [getattr(rnn, f"{name}_l{layer}{suffix}") for name in _WEIGHTS[: 4 if rnn.bias else 2]]
    zeros = x.new_zeros(1, x.shape[0], rnn.hidden_size)
    if isinstance(rnn, nn.GRU):
        return torch.gru(x, zeros, weights, rnn.bias, 1, 0.0, rnn.training, False, True)[0]
    return torch.lstm(x, (zeros, zeros), weights, rnn.bias, 1, 0.0, rnn.training, False, True)[0]


def bidirectional(
    lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor, outputs: bool = True
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """The packed ``lstm`` (bidirectional, ``batch_first``) over the B × T × D batch ``x`` whose rows
    have ``lengths`` (≥ 1) real frames: outputs B × T × 2·hidden (zeros past each length, as
    ``pad_packed_sequence`` gives them; None without ``outputs``, where only the final states are
    wanted) and the last layer's final states B × 2·hidden (forward after the last real frame,
    backward after the first)."""
    if not (lstm.bidirectional and lstm.batch_first) or getattr(lstm, "proj_size", 0):
        raise ValueError("bidirectional() takes a batch_first bidirectional LSTM or GRU without projections")
    lengths = lengths.to(x.device).long()
    if x.is_cuda:
        out, final = packed(lstm, x, lengths)
        return (out if outputs else None), final
    steps = x.shape[1]
    reverse = reversal_index(lengths, steps)
    real = (torch.arange(steps, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)[:, :, None]
    rows = torch.arange(len(x), device=x.device)
    inputs = x
    for layer in range(lstm.num_layers):
        if layer and lstm.training and lstm.dropout:
            inputs = functional.dropout(inputs, lstm.dropout, training=True)
        forward = _one_direction(lstm, layer, "", inputs)
        backward_reversed = _one_direction(lstm, layer, "_reverse", _along_time(inputs, reverse))
        if outputs or layer + 1 < lstm.num_layers:
            inputs = torch.cat([forward, _along_time(backward_reversed, reverse)], dim=2) * real
    final = torch.cat([forward[rows, lengths - 1], backward_reversed[rows, lengths - 1]], dim=1)
    return (inputs if outputs else None), final


def packed(
    lstm: nn.LSTM | nn.GRU, x: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`bidirectional` through ``pack_padded_sequence`` (CUDA, and the reference of tests)."""
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, h = lstm(packed)
    h = h[0] if isinstance(h, tuple) else h
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, torch.cat([h[-2], h[-1]], dim=1)

"""Paper 001: Tzirakis et al., ICASSP 2021 — semantic and paralinguistic features of speech (SEWA).

Registry names ↔ paper rows (frame-level regression of arousal, valence, liking every 100 ms):

``tzirakis_paralinguistic``  Table 2 "Paralinguistic": the raw-waveform CNN of Table 1 (§3.2) → LSTM
``tzirakis_semantic``        Table 2 "Word2Vec", "Speech2Vec", "Align Speech2Vec": one word vector per
                             frame (§3.1) → LSTM; the rows differ only in the ``semantic`` stream's space
``tzirakis_concat``          Table 3 "Concatenation": x_fusion = [x_s, x_p] (§3.3) → LSTM
``tzirakis_attention``       Table 3 "Disentangled attention" (= Table 4 "Proposed"): Eq. 4–7 → LSTM

Inputs: ``waveform`` B×T×S (S = 2205 samples of 22,050 Hz audio per 100 ms label frame; 4410 in the
authors' subject/partner split) and ``semantic`` B×T×D (a word vector per frame, zeros where no word),
on the same frame grid; the output is B×T×num_outputs on the ``frame_stream``'s frames (the
models are frame-level only). Each model runs a one-layer LSTM over the fused frame vectors
(§3, Fig. 1) and a linear layer per frame.

Two value sets, ``variant: paper`` (default) and ``variant: code`` (the authors' TF1 code,
methods.md §A.4/§A.7); any key below overrides its variant's value:

=========================  ==============================  ==================================
key                        paper                           code
=========================  ==============================  ==================================
``channels``               [50, 125, 125] (Table 1)        [50, 125, 250]
``conv_across_frames``     false: each frame alone         true: the sequence is one signal
``units`` (d_u)            1024 (unstated; the code's)     1024
``projection_activation``  linear (Eq. 4)                  relu (the FC layer's default)
``head_units``             d_u (Eq. 6: d_u × d_u)          512
``head_activation``        linear (Eq. 6)                  relu
``shared_query``           false: q_i per input (Eq. 5)    true: one scoring kernel
``fusion_dropout``         0.5 (all non-recurrent layers)  0.0
``lstm_dropout``           0.5 (on the LSTM output)        0.0
``output_activation``      linear (unstated)               tanh
=========================  ==============================  ==================================

Shared by both: conv kernels [8, 6, 6] with stride 1, max-pools [10, 5, 5] (Table 1), TF's
``same`` padding (the code's; Table 1 states none), ReLU, dropout ``conv_dropout`` 0.5 after each
pool (paper and code), an LSTM of ``lstm_hidden`` 256 units (unstated in the paper; the code's).
``checkpoint_frames`` (2048; null: off) recomputes the CNN's activations in the backward pass per
~2048 frames instead of keeping them: the same gradients, and a batch of 25 × 300 frames of 2205
samples trains in 3.3 GB (peak, CPU) instead of about 8–10 GB, for about 40% more time per step
(measured on CPU: 14.4 s instead of 10.1 s for 25 × 100 frames); set it null where memory is ample.

Choices the paper leaves open (methods.md §A, §H):

* the CNN runs on each frame's samples alone by default (Table 1, "100 ms per frame"): with S = 2205
  it pools 2205 → 220 → 44 → 8 steps, d_p = 8 × 125 = 1000. ``conv_across_frames: true`` runs it
  over the whole sequence as one signal (the code): the pooled steps × channels, flattened, are
  cut into T equal pieces of d_p = ⌈S·C/∏pools⌉ (zero-filled at the end), which is the code's
  reshape wherever that one works (e.g. S = 4410, T a multiple of 25: d_p = 4410) and any T
  elsewhere. Either way every step past an utterance's end is zeroed after each pool, so padding
  never changes the real frames' outputs;
* ReLU is applied after each max-pool (the same values as before it, since max and ReLU
  commute, on a fifth to a tenth as many values);
* one-stream rows feed x_s or x_p to the LSTM directly (the fusion layer is the identity);
  Concatenation feeds [x_s, x_p] unprojected (the code's unused ``fully_connected_model`` is not
  reproduced);
* Eq. 5's softmax runs over the two inputs of each attention; each of the three attentions
  (Eq. 5, and the two of Eq. 7) has its own query. The code's scalar score bias is dropped: a
  bias shared by both inputs cancels in the softmax. There is one head per output
  (``num_outputs``, three for SEWA; "more FC layers" for more outputs, §3.3) nested in order,
  z = Attention(h₁, h₂), then Attention(z, h₃), …: no loss ties a head to a dimension, so
  Eq. 7's naming (a with l first, then v) is the same network;
* ``fusion_dropout`` follows each projection (Eq. 4) and head (Eq. 6); "LSTM dropout 0.5" is
  dropout on the LSTM output (PyTorch has no recurrent dropout). The code's LSTM has peepholes and
  a cell clip of 100; PyTorch's LSTM has neither;
* the streams are read on the ``frame_stream``'s grid: a longer stream is cut to its T (a
  shorter one zero-filled) and the ``frame_stream``'s mask is the mask of every stream. With
  ``data.chunk_frames`` a ``word_frames`` stream that follows the frame stream is cut into the
  same chunks (:class:`serkit.training.dataset.EmotionDataset`).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from serkit.models import register

VARIANTS: dict[str, dict] = {
    "paper": {
        "channels": [50, 125, 125],
        "conv_across_frames": False,
        "units": 1024,
        "projection_activation": "linear",
        "head_units": None,
        "head_activation": "linear",
        "shared_query": False,
        "fusion_dropout": 0.5,
        "lstm_dropout": 0.5,
        "output_activation": "linear",
    },
    "code": {
        "channels": [50, 125, 250],
        "conv_across_frames": True,
        "units": 1024,
        "projection_activation": "relu",
        "head_units": 512,
        "head_activation": "relu",
        "shared_query": True,
        "fusion_dropout": 0.0,
        "lstm_dropout": 0.0,
        "output_activation": "tanh",
    },
}
ACTIVATIONS = {"linear": nn.Identity, "relu": nn.ReLU, "tanh": nn.Tanh}
INFERENCE_FRAMES = 2048
"""Frames the CNN runs at once without gradients (``checkpoint_frames`` when set): the first
convolution's output is about 0.44 MB a frame, so a whole recording at once would need gigabytes."""


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise TypeError(f"activation {name!r} is not one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class WaveformCNN(nn.Module):
    """Table 1 (§3.2): [conv k/1 → max-pool p/p → ReLU → dropout] × 3 on raw samples; B×T×S → B×T×d_p.

    ``across_frames`` false: each frame's S samples alone. True: the T·S samples as one signal,
    the pooled (steps × channels) flattened and cut into T pieces of ``output_dim`` (the code).
    ``checkpoint_frames``: while gradients are on, the activations are recomputed in the backward
    pass per group of about that many frames instead of kept (the same values, less memory).
    """

    def __init__(
        self,
        samples: int,
        channels: list[int],
        kernels: list[int],
        pools: list[int],
        dropout: float,
        across_frames: bool,
        checkpoint_frames: int | None = None,
    ) -> None:
        super().__init__()
        if not len(channels) == len(kernels) == len(pools) or not channels:
            raise TypeError("channels, kernels and pools need one entry per convolution")
        self.pools, self.across_frames, self.samples = list(pools), across_frames, samples
        self.checkpoint_frames = checkpoint_frames
        self.convs = nn.ModuleList()
        self.padding = [((k - 1) // 2, k // 2) for k in kernels]  # TF's "same": the extra zero at the end
        width = 1
        for out, kernel in zip(channels, kernels, strict=True):
            self.convs.append(nn.Conv1d(width, out, kernel))
            width = out
        self.dropout = nn.Dropout(dropout)
        if across_frames:
            self.output_dim = math.ceil(samples * width / math.prod(pools))
        else:
            steps = samples
            for pool in pools:
                steps //= pool
            if steps < 1:
                raise TypeError(f"{samples} samples per frame pool to nothing (pools {pools})")
            self.output_dim = steps * width

    def _stack(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        for conv, padding, pool in zip(self.convs, self.padding, self.pools, strict=True):
            x = nn.functional.max_pool1d(conv(nn.functional.pad(x, padding)), pool)
            if lengths is not None:
                lengths = lengths // pool
                x = x * (torch.arange(x.shape[-1], device=x.device) < lengths[:, None]).unsqueeze(1)
            x = self.dropout(torch.relu(x))
        return x

    def _run(self, x: torch.Tensor, lengths: torch.Tensor | None, rows: int) -> torch.Tensor:
        """``_stack`` over the rows of ``x`` in groups of ``rows``: checkpointed while training (with
        ``checkpoint_frames``), one group after another without gradients (bounded memory)."""
        grad = torch.is_grad_enabled()
        if x.shape[0] <= rows or (grad and self.checkpoint_frames is None):
            return self._stack(x, lengths)
        parts = []
        for start in range(0, x.shape[0], rows):
            part = lengths[start : start + rows] if lengths is not None else None
            if grad:
                parts.append(checkpoint(self._stack, x[start : start + rows], part, use_reentrant=False))
            else:
                parts.append(self._stack(x[start : start + rows], part))
        return torch.cat(parts)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, frames, samples = x.shape
        group = self.checkpoint_frames or INFERENCE_FRAMES
        if self.across_frames:
            lengths = mask.sum(1) * samples
            signal = (x * mask.unsqueeze(-1).to(x.dtype)).reshape(batch, 1, frames * samples)
            pooled = self._run(signal, lengths, max(1, group // max(frames, 1)))
            pooled = pooled.transpose(1, 2).reshape(batch, -1)
            flat = nn.functional.pad(pooled, (0, frames * self.output_dim - pooled.shape[1]))
            return flat.reshape(batch, frames, self.output_dim)
        features = self._run(x[mask].unsqueeze(1), None, group).flatten(1)
        out = features.new_zeros(batch, frames, self.output_dim)  # the CNN's dtype (under autocast too)
        out[mask] = features
        return out


class ModalityAttention(nn.Module):
    """Eq. 5: Attention(x₁, …, x_K) = Σ α_i x_i, α_i = softmax_i(x_i · q_i / √d); returns (fused, α B×T×K)."""

    def __init__(self, dim: int, inputs: int = 2, shared_query: bool = False) -> None:
        super().__init__()
        bound = 1 / math.sqrt(dim)
        self.query = nn.Parameter(torch.empty(1 if shared_query else inputs, dim).uniform_(-bound, bound))
        self.scale = 1 / math.sqrt(dim)

    def forward(self, *xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stacked = torch.stack(xs, dim=-2)
        weights = torch.softmax((stacked * self.query).sum(-1) * self.scale, dim=-1)
        return (weights.unsqueeze(-1) * stacked).sum(-2), weights


def _dense(dim: int, units: int, activation: str, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, units), _activation(activation), nn.Dropout(dropout))


class DisentangledAttention(nn.Module):
    """§3.3: projections to d_u (Eq. 4), attention over the streams (Eq. 5), one head per output
    (Eq. 6), the heads' nested attention (Eq. 7). Returns x_fusion and the attention weights."""

    def __init__(
        self,
        dims: list[int],
        heads: int,
        *,
        units: int,
        head_units: int,
        projection_activation: str,
        head_activation: str,
        shared_query: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.projections = nn.ModuleList(_dense(d, units, projection_activation, dropout) for d in dims)
        self.fuse = ModalityAttention(units, len(dims), shared_query)
        self.heads = nn.ModuleList(_dense(units, head_units, head_activation, dropout) for _ in range(heads))
        self.nested = nn.ModuleList(ModalityAttention(head_units, 2, shared_query) for _ in range(heads - 1))
        self.output_dim = head_units

    def forward(self, xs: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        fused, weights = self.fuse(*(project(x) for project, x in zip(self.projections, xs, strict=True)))
        heads = [head(fused) for head in self.heads]
        z, nested = heads[0], []
        for attend, head in zip(self.nested, heads[1:], strict=True):
            z, w = attend(z, head)
            nested.append(w)
        return z, {"streams": weights, **{f"heads{i + 1}": w for i, w in enumerate(nested)}}


class SemanticParalinguistic(nn.Module):
    """Front-ends of the streams a row uses, its fusion (§3.3), one LSTM layer, a linear layer per frame."""

    STREAMS: tuple[str, ...] = ("semantic", "waveform")
    FUSION = "concat"

    def __init__(
        self,
        input_dims: dict[str, int],
        num_outputs: int,
        *,
        frame_stream: str | None = None,
        waveform_stream: str = "waveform",
        semantic_stream: str = "semantic",
        variant: str = "paper",
        channels: list[int] | None = None,
        kernels: list[int] | tuple[int, ...] = (8, 6, 6),
        pools: list[int] | tuple[int, ...] = (10, 5, 5),
        conv_across_frames: bool | None = None,
        conv_dropout: float = 0.5,
        checkpoint_frames: int | None = 2048,
        units: int | None = None,
        projection_activation: str | None = None,
        head_units: int | None = None,
        head_activation: str | None = None,
        shared_query: bool | None = None,
        fusion_dropout: float | None = None,
        lstm_hidden: int = 256,
        lstm_dropout: float | None = None,
        output_activation: str | None = None,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise TypeError(f"variant must be one of {sorted(VARIANTS)}")
        given = {
            "channels": channels,
            "conv_across_frames": conv_across_frames,
            "units": units,
            "projection_activation": projection_activation,
            "head_units": head_units,
            "head_activation": head_activation,
            "shared_query": shared_query,
            "fusion_dropout": fusion_dropout,
            "lstm_dropout": lstm_dropout,
            "output_activation": output_activation,
        }
        hp = {k: VARIANTS[variant][k] if v is None else v for k, v in given.items()}
        if hp["head_units"] is None:
            hp["head_units"] = hp["units"]
        self.hparams = hp
        if frame_stream is None:
            raise TypeError("paper 001 models predict every frame; task.level must be frame")
        roles = {"semantic": semantic_stream, "waveform": waveform_stream}
        self.streams = [roles[role] for role in self.STREAMS]
        for name in [*self.streams, frame_stream]:
            if name not in input_dims:
                raise TypeError(f"stream {name!r} is not one of the streams {sorted(input_dims)}")
        self.frame_stream = frame_stream
        self.encoders = nn.ModuleDict()
        dims = []
        for role, name in zip(self.STREAMS, self.streams, strict=True):
            if role == "waveform":
                cnn = WaveformCNN(
                    input_dims[name], list(hp["channels"]), list(kernels), list(pools),
                    conv_dropout, bool(hp["conv_across_frames"]), checkpoint_frames,
                )  # fmt: skip
                self.encoders[name] = cnn
                dims.append(cnn.output_dim)
            else:
                dims.append(input_dims[name])
        if self.FUSION == "attention":
            self.fusion = DisentangledAttention(
                dims,
                num_outputs,
                units=hp["units"],
                head_units=hp["head_units"],
                projection_activation=hp["projection_activation"],
                head_activation=hp["head_activation"],
                shared_query=bool(hp["shared_query"]),
                dropout=hp["fusion_dropout"],
            )
            fused_dim = self.fusion.output_dim
        else:
            self.fusion = None
            fused_dim = sum(dims)
        self.lstm = nn.LSTM(fused_dim, lstm_hidden, batch_first=True)
        self.lstm_dropout = nn.Dropout(hp["lstm_dropout"])
        self.output = nn.Sequential(nn.Linear(lstm_hidden, num_outputs), _activation(hp["output_activation"]))

    def fuse(
        self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """x_fusion B×T×D on the frame stream's grid and the attention weights (none without attention)."""
        mask = masks[self.frame_stream]
        frames = mask.shape[1]
        xs = []
        for name in self.streams:
            x = inputs[name][:, :frames]
            if x.shape[1] < frames:
                x = nn.functional.pad(x, (0, 0, 0, frames - x.shape[1]))
            xs.append(self.encoders[name](x, mask) if name in self.encoders else x)
        if self.fusion is None:
            return torch.cat(xs, dim=-1), {}
        return self.fusion(xs)

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        fused, _ = self.fuse(inputs, masks)
        states, _ = self.lstm(fused)
        return self.output(self.lstm_dropout(states))


@register("tzirakis_paralinguistic")
class Paralinguistic(SemanticParalinguistic):
    """Table 2 "Paralinguistic" (.508/.436/.154 dev CCC), §3.2: the Table 1 CNN on the raw
    waveform → LSTM → linear, per 100 ms frame."""

    STREAMS = ("waveform",)
    FUSION = "concat"


@register("tzirakis_semantic")
class Semantic(SemanticParalinguistic):
    """Table 2 "Word2Vec" (.434/.513/.208), "Speech2Vec" (.433/.470/.182) and "Align Speech2Vec"
    (.453/.452/.257), §3.1: the frame's word vector → LSTM → linear; the space is the stream's."""

    STREAMS = ("semantic",)
    FUSION = "concat"


@register("tzirakis_concat")
class Concatenation(SemanticParalinguistic):
    """Table 3 "Concatenation" (.427/.428/.306), §3.3: x_fusion = [x_s, x_p] → LSTM → linear."""

    STREAMS = ("semantic", "waveform")
    FUSION = "concat"


@register("tzirakis_attention")
class DisentangledAttentionModel(SemanticParalinguistic):
    """Table 3 "Disentangled attention" (.499/.497/.311; Table 4 test .429/.503/.312), §3.3:
    Eq. 4–7 fuse x_s and x_p → LSTM → linear."""

    STREAMS = ("semantic", "waveform")
    FUSION = "attention"

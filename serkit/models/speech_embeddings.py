"""Paper 002: multimodal SER with Speech2Vec speech embeddings (IEMOCAP; ENC1 + ENC2).

Registry names ↔ paper rows:

``s2v_acoustic``    Table 1 row 1 (= Table 2 "Bi-LSTM"): Bi-LSTM over 34-d features, §4.1
``s2v_speech_emb``  Table 1 row 2: Bi-LSTM over Speech2Vec vectors of the transcript words, §4.2
``s2v_word_emb``    Table 1 row 3: the same network over Word2Vec vectors, §4.2
``s2v_dual``        Table 2 "Our system" (and Table 3 per embedding size/kind): ENC1 + ENC2, §2.5, §4.3

Every encoder is one masked Bi-LSTM whose "last time step" (§2.3, Eq. 1–3) is the forward state
at the last *real* step and the backward state at the first step; padding never enters it, so
zero-padding to 200 frames / 128 words (``pad: max``) gives the same logits as batch padding.
Embedding sizes (50/100/200/300, Table 3) are whatever the embedding file (``.bin``) holds. Choices the paper
leaves open (methods.md §B, §H items 9–13; the recipe README repeats them):

* no public code (methods.md §B.2), hence no ``*_code.yaml`` variant;
* the paper's "dropout 0.2" on the Bi-LSTM (and "recurrent dropout 0.2" in the fused model) is
  dropout on the Bi-LSTM inputs (Keras ``LSTM(dropout=0.2)``): PyTorch LSTMs have no recurrent dropout;
* the paper fine-tunes its embedding layer; here the ``words`` stream delivers fixed vectors,
  so the embeddings are frozen;
* dense layers use ReLU (activation unstated); dropout 0.3 after each dense layer (§4.2/§4.3;
  the acoustic-only model of §4.1 gets the same 0.3, which the paper does not state);
* masking instead of counting zero-padded steps; longer inputs truncated to 200 frames / 128 words;
  out-of-vocabulary words (e.g. ``<laughter>``) get a zero vector (``oov: zero``);
* feature normalisation (none stated) is the config's: the recipe normalises per speaker
  (``normalize: speaker``, Kaldi's CMVN), since the test speakers are unseen.

The configs, one per table row, are ``recipes/iemocap/conf/<registry name>.yaml`` (and
``s2v_dual_w2v.yaml``, the dual encoder with Word2Vec); Table 3's other sizes retrain both spaces
at that dimension (``run.sh --emb-dim``). Epochs 20 and batch 32 are stated for §4.1 only; every
row reuses them.
"""

from __future__ import annotations

import torch
from torch import nn

from serkit.models import register
from serkit.models.blocks import MLP, MaskedBiLSTM, require_utterance_level


def last_time_step(outputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """B×2H: a masked Bi-LSTM's forward state at the last real step ⊕ backward state at step 0."""
    hidden = outputs.shape[-1] // 2
    last = (mask.sum(1) - 1).clamp(min=0)
    forward = outputs[torch.arange(outputs.shape[0], device=outputs.device), last, :hidden]
    return torch.cat([forward, outputs[:, 0, hidden:]], dim=-1)


class LastStepBiLSTM(nn.Module):
    """Input dropout → one masked Bi-LSTM layer → its last-time-step state h_T (paper 002, Eq. 1–3)."""

    def __init__(self, dim: int, cell: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.lstm = MaskedBiLSTM(dim, cell)
        self.output_dim = self.lstm.output_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return last_time_step(self.lstm(self.dropout(x), mask), mask)


def _pick_stream(input_dims: dict[str, int], name: str | None, role: str) -> str:
    if name is None and len(input_dims) == 1:
        return next(iter(input_dims))
    if name not in input_dims:
        raise TypeError(f"{role} stream {name!r} is not one of the streams {sorted(input_dims)}")
    return name


class UnimodalBiLSTM(nn.Module):
    """One stream → Bi-LSTM last step → dense ReLU layers with dropout → logits (Table 1)."""

    DENSE: tuple[int, ...] = (256,)

    def __init__(
        self,
        input_dims: dict[str, int],
        num_outputs: int,
        *,
        frame_stream: str | None = None,
        stream: str | None = None,
        cell: int = 128,
        lstm_dropout: float = 0.2,
        dense: list[int] | None = None,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        require_utterance_level(frame_stream, "paper 002 models")
        self.stream = _pick_stream(input_dims, stream, "input")
        self.encoder = LastStepBiLSTM(input_dims[self.stream], cell, lstm_dropout)
        self.head = MLP(
            self.encoder.output_dim, list(self.DENSE if dense is None else dense), num_outputs, dropout
        )

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.encoder(inputs[self.stream], masks[self.stream]))


@register("s2v_acoustic")
class AcousticBiLSTM(UnimodalBiLSTM):
    """Table 1 row 1 (55.01% UA; Table 2 "Bi-LSTM"), §4.1: 34-d features at 100/100 ms, ≤200 steps,
    Bi-LSTM cell 128 with dropout 0.2, dense 256, softmax. Dense dropout 0.3 borrowed from §4.2."""

    DENSE = (256,)


@register("s2v_speech_emb")
class SpeechEmbeddingBiLSTM(UnimodalBiLSTM):
    """Table 1 row 2 (60.03% UA), §4.2: Speech2Vec vectors of the transcript words (≤128),
    Bi-LSTM cell 128 with dropout 0.2, two dense layers of 256 with dropout 0.3, softmax."""

    DENSE = (256, 256)


@register("s2v_word_emb")
class WordEmbeddingBiLSTM(SpeechEmbeddingBiLSTM):
    """Table 1 row 3 (60.68% UA), §4.2: the row-2 network with Word2Vec instead of Speech2Vec
    vectors — the same class; only the stream's embedding file differs."""


@register("s2v_dual")
class DualEncoder(nn.Module):
    """Table 2 "Our system" (68.49% UA with 50-d Speech2Vec; Table 3 for 100/200/300-d and Word2Vec),
    §2.5 and §4.3: ENC1 = Bi-LSTM(128) over the acoustic stream → dense 256; ENC2 = Bi-LSTM(128)
    over the embedding stream → dense 256; F = concat (Eq. 3) → dense 256 → softmax (Eq. 4–5).
    Bi-LSTM dropout 0.2, dense dropout 0.3."""

    def __init__(
        self,
        input_dims: dict[str, int],
        num_outputs: int,
        *,
        frame_stream: str | None = None,
        acoustic: str = "acoustic",
        embeddings: str = "words",
        cell: int = 128,
        lstm_dropout: float = 0.2,
        encoder_dense: int = 256,
        dense: list[int] | None = None,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        require_utterance_level(frame_stream, "paper 002 models")
        self.streams = (
            _pick_stream(input_dims, acoustic, "acoustic"),
            _pick_stream(input_dims, embeddings, "embedding"),
        )
        self.encoders = nn.ModuleList()
        self.projections = nn.ModuleList()
        for name in self.streams:
            encoder = LastStepBiLSTM(input_dims[name], cell, lstm_dropout)
            self.encoders.append(encoder)
            self.projections.append(
                nn.Sequential(nn.Linear(encoder.output_dim, encoder_dense), nn.ReLU(), nn.Dropout(dropout))
            )
        self.head = MLP(2 * encoder_dense, [256] if dense is None else list(dense), num_outputs, dropout)

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        fused = [
            project(encode(inputs[name], masks[name]))
            for name, encode, project in zip(self.streams, self.encoders, self.projections, strict=True)
        ]
        return self.head(torch.cat(fused, dim=-1))

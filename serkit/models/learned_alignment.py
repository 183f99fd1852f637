"""Paper 004: Xu et al., Interspeech 2019 — learning the alignment of speech frames and text words.

Registry names ↔ paper rows (ASR vs oracle text is only the ``text`` file the words stream reads):

``xu_speech_attn``     Table 1 "Speech-only LSTM+Attn (our implementation)" (63.4 WA / 57.4 UA)
``xu_text_attn``       Table 1 "Text-only (ASR text) LSTM+Attn"; Table 2 "Oracle text, Text-only"
``xu_concat``          Table 1 "Multimodal (ASR text) Concat (our impl.)"; Table 2 "Concat (our impl.)"
``xu_hard_align``      Table 2 "Hard alignment" (oracle text + ``words.ctm`` only)
``xu_learned_align``   Table 1 / Table 2 "Proposed" (ASR text 70.4/69.5; oracle text 72.5/70.9)

The proposed model (§3, Fig. 1): speech BiLSTM states s_i (Eq. 1–3), text BiLSTM states h_j
(Eq. 4–6), additive attention of each word over the speech frames (Eq. 7–9) giving s̃_j, a
multimodal BiLSTM over [s̃_j, h_j] (Eq. 10–12), max-pooling over words (Eq. 13) and ReLU'd
logits z = φ(Wᵀc̃) (Eq. 14) into softmax cross-entropy. 100 units per direction everywhere,
W is 200×C without bias. Hard alignment (§4.3) replaces Eq. 7–9 by the mean of the speech states
inside each word's ``words.ctm`` span (a ``word_spans`` stream). Every softmax, mean and max
runs over real frames/words only, so padding never changes the logits.

Choices the paper leaves open (methods.md §E, §H items 16–18; the recipe README repeats them):

* "5 attention heads, each of which includes 40 weights": the 200-d states are cut into 5 heads
  of 40 dims; head k scores a_{j,i}^k = tanh(u_kᵀs_i^k + v_kᵀh_j^k + b_k) (Eq. 7 per head, u_k, v_k
  ∈ R⁴⁰), softmaxes over frames (Eq. 8) and averages its 40-d slice (Eq. 9); s̃_j = the 5 slices
  concatenated (200-d). Eq. 7's tanh bounds scores to [−1, 1]: weights differ at most e²-fold;
* unimodal and Concat baselines: masked BiLSTM(100) + additive attention pooling
  (:class:`~serkit.models.blocks.AttentionPool`, hidden 200) + a linear layer (plain logits; Eq. 14's
  ReLU belongs to the proposed model, kept for hard alignment "without changing the structure");
* no dropout, no gradient clipping (none stated); batch 64 and max 100 words from DELTA; speech
  truncated at 2000 frames (20 s, the paper's longest utterances); embeddings frozen (the ``words``
  stream's vectors); hard alignment is defined only with oracle ``text`` + ``words.ctm``, as in
  Table 2 (``word_spans`` refuses ``text.asr``).

Authors' public code (DELTA ``egs/iemocap/emo/v1``, methods.md §E.2) differs; ``*_code.yaml``
sets its values: spectrogram input (257-d, 25/10 ms, CMVN), Dense(512, ReLU) speech front-end,
GRU cells, scaled dot-product attention with 8 heads and a Dense(200) output (DELTA does not mask
padded frames; serkit does), HAN attention pooling instead of max-pooling, linear logits with bias,
dropout 0.5, clip 3.0, the first 7 s and 100 words, batch 64, 150 epochs without early stopping,
classes oversampled to the majority count (here the nearest trainer option, ``class_weights: balanced``).

The configs, one per table row, are ``recipes/iemocap_align/conf/*.yaml`` (34-d features at
20/10 ms; GloVe, 300-d in the paper). Epochs are a cap for early stopping on dev UA (the paper
states none). ``xu_learned_align_code.yaml`` takes DELTA's settings but feeds the paper's 34-d
features, since serkit has no 257-d 25/10 ms spectrogram type.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from serkit.models import register
from serkit.models.blocks import AttentionPool, MaskedBiLSTM, require_utterance_level


class MaskedBiGRU(MaskedBiLSTM):
    """:class:`MaskedBiLSTM` with GRU cells (DELTA's ``cell_type: gru``); same packing and output."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__(dim, hidden)
        self.lstm = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over time of B×T×D ``x`` over the real steps (Eq. 13); zeros where a row has none."""
    filled = x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
    return filled.masked_fill(~mask.any(1, keepdim=True), 0.0)


def span_mean(states: torch.Tensor, mask: torch.Tensor, spans: torch.Tensor, span_mask: torch.Tensor):
    """B×W×D: per word, the mean of the B×N×D ``states`` at frames ``[first, stop)`` of its span.

    ``spans`` is B×W×2 (frame indices, as a ``word_spans`` stream gives them); a word with an
    empty span, and a padded word, gets zeros (§4.3 hard alignment).
    """
    frame = torch.arange(states.shape[1], device=states.device)
    first, stop = spans[..., :1].long(), spans[..., 1:].long()
    inside = (frame >= first) & (frame < stop) & span_mask.unsqueeze(-1) & mask.unsqueeze(1)
    weights = inside.to(states.dtype) / inside.sum(-1, keepdim=True).clamp(min=1)
    return weights @ states


class AdditiveAlignment(nn.Module):
    """Eq. 7–9 with ``heads`` heads over slices of the states: returns s̃ (B×M×D) and α (B×heads×M×N)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise TypeError(f"the state size {dim} does not split into {heads} heads")
        self.heads, self.head_dim = heads, dim // heads
        bound = 1 / math.sqrt(self.head_dim)
        self.u = nn.Parameter(torch.empty(heads, self.head_dim).uniform_(-bound, bound))
        self.v = nn.Parameter(torch.empty(heads, self.head_dim).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.zeros(heads))

    def forward(self, speech: torch.Tensor, speech_mask: torch.Tensor, text: torch.Tensor):
        batch, frames, _ = speech.shape
        words = text.shape[1]
        s = speech.reshape(batch, frames, self.heads, self.head_dim)
        h = text.reshape(batch, words, self.heads, self.head_dim)
        frame_term = torch.einsum("bnkd,kd->bkn", s, self.u)
        word_term = torch.einsum("bmkd,kd->bkm", h, self.v) + self.b[:, None]
        scores = torch.tanh(word_term.unsqueeze(-1) + frame_term.unsqueeze(2))  # Eq. 7: B×K×M×N
        scores = scores.masked_fill(~speech_mask[:, None, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # Eq. 8, over the real frames
        aligned = torch.einsum("bkmn,bnkd->bmkd", weights, s)  # Eq. 9, per head
        return aligned.reshape(batch, words, self.heads * self.head_dim), weights


class ScaledDotAlignment(nn.Module):
    """DELTA's alignment: multi-head scaled dot-product attention, Q = text, K = V = speech, Dense out."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise TypeError(f"the state size {dim} does not split into {heads} heads")
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, speech: torch.Tensor, speech_mask: torch.Tensor, text: torch.Tensor):
        aligned, weights = self.attention(
            text, speech, speech, key_padding_mask=~speech_mask, need_weights=True, average_attn_weights=False
        )
        return aligned, weights


class SequenceEncoder(nn.Module):
    """[Dense + ReLU] → dropout → masked BiLSTM/BiGRU → dropout: the states s_i or h_j (Eq. 1–6)."""

    def __init__(
        self, dim: int, hidden: int, cell: str, dropout: float, projection: int | None = None
    ) -> None:
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise TypeError("cell must be lstm or gru")
        self.project = nn.Sequential(nn.Linear(dim, projection), nn.ReLU()) if projection else nn.Identity()
        self.rnn = (MaskedBiLSTM if cell == "lstm" else MaskedBiGRU)(projection or dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.output_dim = self.rnn.output_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.rnn(self.dropout(self.project(x)), mask))


def _check_streams(input_dims: dict[str, int], **roles: str) -> None:
    for role, name in roles.items():
        if name not in input_dims:
            raise TypeError(f"{role} stream {name!r} is not one of the streams {sorted(input_dims)}")


class LSTMAttention(nn.Module):
    """One stream → masked BiLSTM → additive attention pooling → linear logits (the unimodal rows)."""

    STREAM = "acoustic"

    def __init__(
        self,
        input_dims: dict[str, int],
        num_outputs: int,
        *,
        frame_stream: str | None = None,
        stream: str | None = None,
        hidden: int = 100,
        attention_hidden: int = 200,
        cell: str = "lstm",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        require_utterance_level(frame_stream, "paper 004 models")
        self.stream = stream or self.STREAM
        _check_streams(input_dims, input=self.stream)
        self.encoder = SequenceEncoder(input_dims[self.stream], hidden, cell, dropout)
        self.pool = AttentionPool(self.encoder.output_dim, attention_hidden)
        self.output = nn.Linear(self.encoder.output_dim, num_outputs)

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        mask = masks[self.stream]
        return self.output(self.pool(self.encoder(inputs[self.stream], mask), mask))


@register("xu_speech_attn")
class SpeechLSTMAttention(LSTMAttention):
    """Table 1 "Speech-only, LSTM+Attn (our implementation)", §4.3: 34-d features at 20/10 ms,
    BiLSTM(100) with attention pooling as in Mirsamadi et al. 2017."""

    STREAM = "acoustic"


@register("xu_text_attn")
class TextLSTMAttention(LSTMAttention):
    """Table 1 "Text-only (ASR text) LSTM+Attn" and Table 2 "Oracle text, Text-only", §4.3: GloVe
    vectors of the words, BiLSTM(100) (the text encoder of §3.2) with attention pooling."""

    STREAM = "words"


@register("xu_concat")
class ConcatFusion(nn.Module):
    """Table 1 / Table 2 "Concat (our implementation)", §4.3: speech and text BiLSTM(100), each
    attention-pooled to a vector, concatenated, one linear layer (trained jointly)."""

    def __init__(
        self,
        input_dims: dict[str, int],
        num_outputs: int,
        *,
        frame_stream: str | None = None,
        speech: str = "acoustic",
        text: str = "words",
        hidden: int = 100,
        attention_hidden: int = 200,
        cell: str = "lstm",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        require_utterance_level(frame_stream, "paper 004 models")
        _check_streams(input_dims, speech=speech, text=text)
        self.streams = (speech, text)
        self.encoders = nn.ModuleList(
            SequenceEncoder(input_dims[s], hidden, cell, dropout) for s in self.streams
        )
        self.pools = nn.ModuleList(AttentionPool(e.output_dim, attention_hidden) for e in self.encoders)
        self.output = nn.Linear(sum(e.output_dim for e in self.encoders), num_outputs)

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        pooled = [
            pool(encode(inputs[name], masks[name]), masks[name])
            for name, encode, pool in zip(self.streams, self.encoders, self.pools, strict=True)
        ]
        return self.output(torch.cat(pooled, dim=-1))


class AlignedFusion(nn.Module):
    """Speech and text encoders, a per-word aligned speech vector s̃_j, the multimodal BiLSTM over
    [s̃_j, h_j] (Eq. 10–12), max (or attention) pooling over words (Eq. 13) and φ(Wᵀc̃) (Eq. 14).
    Subclasses define ``align(speech, speech_mask, text, inputs, masks) -> B×M×D`` (s̃_j)."""

    def __init__(
        self,
        input_dims: dict[str, int],
        num_outputs: int,
        *,
        frame_stream: str | None = None,
        speech: str = "acoustic",
        text: str = "words",
        hidden: int = 100,
        cell: str = "lstm",
        speech_projection: int | None = None,
        pooling: str = "max",
        attention_hidden: int = 200,
        relu_logits: bool = True,
        output_bias: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        require_utterance_level(frame_stream, "paper 004 models")
        _check_streams(input_dims, speech=speech, text=text)
        if pooling not in ("max", "attention"):
            raise TypeError("pooling must be max or attention")
        self.speech, self.text = speech, text
        self.speech_encoder = SequenceEncoder(input_dims[speech], hidden, cell, dropout, speech_projection)
        self.text_encoder = SequenceEncoder(input_dims[text], hidden, cell, dropout)
        self.state_dim = self.text_encoder.output_dim
        self.fusion = SequenceEncoder(2 * self.state_dim, hidden, cell, dropout)
        self.pool = (
            AttentionPool(self.fusion.output_dim, attention_hidden) if pooling == "attention" else None
        )
        self.output = nn.Linear(self.fusion.output_dim, num_outputs, bias=output_bias)
        self.relu_logits = relu_logits

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        speech_mask, text_mask = masks[self.speech], masks[self.text]
        speech = self.speech_encoder(inputs[self.speech], speech_mask)
        text = self.text_encoder(inputs[self.text], text_mask)
        aligned = self.align(speech, speech_mask, text, inputs, masks)
        fused = self.fusion(torch.cat([aligned, text], dim=-1), text_mask)
        pooled = self.pool(fused, text_mask) if self.pool is not None else masked_max(fused, text_mask)
        logits = self.output(pooled)
        return torch.relu(logits) if self.relu_logits else logits


@register("xu_learned_align")
class LearnedAlignment(AlignedFusion):
    """Table 1 / Table 2 "Proposed", §3.3: s̃_j from the attention of word j over the speech frames
    (Eq. 7–9, 5 heads × 40; ``attention: scaled_dot`` for DELTA's 8-head dot-product variant)."""

    def __init__(
        self,
        input_dims: dict[str, int],
        num_outputs: int,
        *,
        heads: int = 5,
        attention: str = "additive",
        **kw,
    ) -> None:
        super().__init__(input_dims, num_outputs, **kw)
        if attention not in ("additive", "scaled_dot"):
            raise TypeError("attention must be additive or scaled_dot")
        kind = AdditiveAlignment if attention == "additive" else ScaledDotAlignment
        self.alignment = kind(self.state_dim, heads)

    def align(self, speech, speech_mask, text, inputs, masks) -> torch.Tensor:
        return self.alignment(speech, speech_mask, text)[0]


@register("xu_hard_align")
class HardAlignment(AlignedFusion):
    """Table 2 "Hard alignment", §4.3: s̃_j = the mean of the speech states inside word j's
    ``words.ctm`` span (a ``word_spans`` stream, oracle text); the rest as the proposed model."""

    def __init__(self, input_dims: dict[str, int], num_outputs: int, *, spans: str = "spans", **kw) -> None:
        _check_streams(input_dims, spans=spans)
        super().__init__(input_dims, num_outputs, **kw)
        self.spans = spans

    def align(self, speech, speech_mask, text, inputs, masks) -> torch.Tensor:
        return span_mean(speech, speech_mask, inputs[self.spans], masks[self.spans])

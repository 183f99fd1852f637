"""Paper 003: Lee et al., ACL 2018 Challenge-HML — convolutional attention networks for speech and text.

Registry names ↔ paper rows (CMU-MOSEI, six emotion classes, top-1 prediction; logits B×C):

``lee_attention``   Table 2 "attention model" (Fig. 1): 88.89 WA / 84.08 UA
``lee_concat``      Table 1 "shallow model" (Fig. 4, "superficial feature concatenation"): 83.11 / 77.23
``lee_speech``      ablation: the speech CNN alone → the dense stack (no row in the paper)
``lee_text``        ablation: the text CNN alone → the dense stack (no row in the paper)
``lee_attention_fused``  serkit's addition, not in the paper: the attention model whose dense stack
                    also reads the text CNN's pooled output (the attended spectrogram's features and
                    the words' features concatenated), so the words reach the classifier directly and
                    not only through the attention weights

The attention model (§2, Fig. 1, Eq. 1–2): a speech CNN over the log spectrogram (``spectrogram``
stream, B×T×F, the paper fixes F × T = 200 × 400) and a text CNN over the GloVe vectors
(``words`` stream, B×W×300, W ≤ 40), each followed by a 1×1 convolution into a shared space; the
dot products of the m pooled speech positions f_t and the n pooled word positions e_i, softmaxed,
give the m × n attention matrix; it is reduced to one weight per pooled speech position, broadcast by
2^P (each pooled position covers 2^P input frames, P = number of max-pools) and "multiplied to the
spectrogram input"; a third CNN (the speech CNN's shape, its own weights) reads the attended
spectrogram, its output pooled over time feeds dense 1024/512/128 (ReLU), dropout 0.1 on the last
hidden layer (§4.2), and the output layer. Stated hyper-parameters (§4.2): 32 kernels of size 3,
max-pool 2 stride 2, dense 1024/512/128, dropout 0.1 (SGD lr 1e-3, batch 32 belong to the recipe).

Masking: padded frames and words are zeroed before every convolution and after every ReLU, max-pools
use ``ceil_mode`` (a pooled position is real when any of its inputs is; ReLU outputs are ≥ 0, so the
zeroed padding never wins a max), every softmax runs over real positions only and the final pooling
averages real positions only. Garbage in padded frames/words therefore never changes the logits.

Choices the paper leaves open (methods.md §F; each one a hyper-parameter where it is a choice):

* Direction of the softmax, ``normalize``. Eq. 1 divides exp(e_i·f_t) by a sum over t, and the text
  calls a_it "the similarity distribution with respect to time domain"; Fig. 2 and §2 say each
  column (one word) is that word's attention over the spectrogram. Our reading, the default
  ``normalize: frames``: for each real word i, a_i· is a distribution over the real pooled speech
  positions; Eq. 2's c_t = Σ_i a_it f_t then gives the weight of speech position t as w_t = Σ_i a_it
  (the summed attention the words pay to t; Σ_t w_t = the number of real pooled words). Alternative,
  ``normalize: words``: for each speech position t, a_t· is a distribution over the real words
  (masked softmax over words); Σ_i a_ti is then 1 everywhere, so the weight is the attention-weighted
  similarity w_t = Σ_i a_ti (e_i·f_t) instead. ``last_attention`` (B×m×n, set on each forward) holds
  the matrix either way, zero on padded words and padded speech positions;
* 1-D convolutions along time (frequency bins as input channels) and along words (embedding
  dimensions as channels), not 2-D convolutions over the F × T image: the 1×1 convolution must map
  both CNNs into one space for the dot product, and a 2-D CNN leaves 200/2^P vs 300/2^P "rows" that
  do not match. The 1×1 convolution is then a per-position linear map to ``attention_dim`` (default
  the CNN width, 32; the paper gives none);
* ReLU after every convolution and dense layer (the paper names no activation); the 1×1 convolutions
  are linear;
* ``conv_layers: 2`` convolutions per CNN (the paper does not say how many), each followed by a
  max-pool 2/2 while ``pools`` (default = ``conv_layers``, so P = 2 and 2^P = 4) lasts; padding
  "same" (kernel // 2);
* the third CNN's output (variable length here; the paper's 400 frames are fixed, so it could
  flatten) is averaged over real pooled positions, "the weighted sum of all the information"; the
  concatenation and unimodal rows average each CNN's output the same way;
* the attended spectrogram is x_t · w_{⌊t/2^P⌋}, the raw weight (no renormalisation); padded frames stay 0.
"""

from __future__ import annotations

import torch
from torch import nn

from serkit.models import register
from serkit.models.blocks import masked_mean, require_utterance_level

NORMALIZE = ("frames", "words")


def pool_mask(mask: torch.Tensor, pools: int) -> torch.Tensor:
    """B×T mask → B×⌈T/2^P⌉: a pooled position is real when any of its 2^P frames is."""
    for _ in range(pools):
        mask = nn.functional.max_pool1d(mask[:, None].float(), 2, 2, ceil_mode=True)[:, 0] > 0
    return mask


def broadcast_to_frames(weights: torch.Tensor, frames: int, pools: int) -> torch.Tensor:
    """B×m weights of pooled positions → B×``frames``: pooled position k covers frames [k·2^P, (k+1)·2^P)."""
    return weights.repeat_interleave(2**pools, dim=1)[:, :frames]


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Softmax of ``scores`` along ``dim`` over entries where ``mask`` (broadcastable) is True; 0 elsewhere
    and on slices without a real entry."""
    mask = mask.expand_as(scores)
    filled = scores.masked_fill(~mask, float("-inf"))
    empty = ~mask.any(dim, keepdim=True)
    weights = torch.softmax(filled.masked_fill(empty, 0.0), dim=dim)
    return weights.masked_fill(~mask, 0.0)


class MaskedCNN(nn.Module):
    """``layers`` × (Conv1d(k, same) → ReLU → [max-pool 2/2, ceil]) over B×T×D with padding kept at 0.

    Returns B×⌈T/2^P⌉×channels and the pooled mask."""

    def __init__(self, dim: int, channels: int, kernel: int, layers: int, pools: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(dim if i == 0 else channels, channels, kernel, padding=kernel // 2)
            for i in range(layers)
        )
        self.pools = pools
        self.output_dim = channels

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = (x * mask[..., None]).transpose(1, 2)  # B×D×T
        for i, conv in enumerate(self.convs):
            h = torch.relu(conv(h)) * mask[:, None]
            if i < self.pools:
                h = nn.functional.max_pool1d(h, 2, 2, ceil_mode=True)
                mask = pool_mask(mask, 1)
        return h.transpose(1, 2), mask


class DenseStack(nn.Module):
    """Dense layers with ReLU, dropout on the last hidden layer only (§4.2), then the output layer."""

    def __init__(self, dim: int, hidden: list[int], outputs: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for size in hidden:
            layers += [nn.Linear(dim, size), nn.ReLU()]
            dim = size
        layers += [nn.Dropout(dropout), nn.Linear(dim, outputs)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LeeBase(nn.Module):
    """Hyper-parameter checks and the CNN/dense builders shared by the paper-003 rows."""

    USES: tuple[str, ...] = ("speech", "text")

    def __init__(
        self,
        input_dims: dict[str, int],
        num_outputs: int,
        *,
        frame_stream: str | None = None,
        speech_stream: str = "spectrogram",
        text_stream: str = "words",
        channels: int = 32,
        kernel: int = 3,
        conv_layers: int = 2,
        pools: int | None = None,
        dense: list[int] | tuple[int, ...] = (1024, 512, 128),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        require_utterance_level(frame_stream, "paper 003 models")
        streams = {"speech": speech_stream, "text": text_stream}
        for role in self.USES:
            if streams[role] not in input_dims:
                raise TypeError(
                    f"{role} stream {streams[role]!r} is not one of the streams {sorted(input_dims)}"
                )
        pools = conv_layers if pools is None else pools
        if not (isinstance(conv_layers, int) and conv_layers >= 1):
            raise TypeError(f"conv_layers must be a positive integer, not {conv_layers!r}")
        if not (isinstance(pools, int) and 0 <= pools <= conv_layers):
            raise TypeError(f"pools must be an integer in [0, conv_layers={conv_layers}], not {pools!r}")
        if not (isinstance(kernel, int) and kernel >= 1 and kernel % 2 == 1):
            raise TypeError(f"kernel must be a positive odd integer (same padding), not {kernel!r}")
        if not (isinstance(channels, int) and channels >= 1):
            raise TypeError(f"channels must be a positive integer, not {channels!r}")
        if not dense or not all(isinstance(d, int) and d >= 1 for d in dense):
            raise TypeError(f"dense must be a non-empty list of positive layer sizes, not {dense!r}")
        if not 0.0 <= dropout < 1.0:
            raise TypeError(f"dropout must be in [0, 1), not {dropout!r}")
        self.speech, self.text = speech_stream, text_stream
        self.input_dims = dict(input_dims)
        self.pools = pools
        self.hparams = {
            "speech_stream": speech_stream,
            "text_stream": text_stream,
            "channels": channels,
            "kernel": kernel,
            "conv_layers": conv_layers,
            "pools": pools,
            "dense": list(dense),
            "dropout": dropout,
        }
        self.num_outputs = num_outputs

    def cnn(self, stream: str) -> MaskedCNN:
        hp = self.hparams
        return MaskedCNN(
            self.input_dims[stream], hp["channels"], hp["kernel"], hp["conv_layers"], hp["pools"]
        )

    def head(self, dim: int) -> DenseStack:
        return DenseStack(dim, self.hparams["dense"], self.num_outputs, self.hparams["dropout"])


class LeeUnimodal(LeeBase):
    """One CNN branch → mean over real pooled positions → the dense stack."""

    ROLE = "speech"

    def __init__(self, input_dims: dict[str, int], num_outputs: int, **kw) -> None:
        super().__init__(input_dims, num_outputs, **kw)
        self.stream = self.speech if self.ROLE == "speech" else self.text
        self.encoder = self.cnn(self.stream)
        self.output = self.head(self.encoder.output_dim)

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        h, mask = self.encoder(inputs[self.stream], masks[self.stream])
        return self.output(masked_mean(h, mask))


@register("lee_speech")
class LeeSpeech(LeeUnimodal):
    """Ablation: the spectrogram CNN alone (no row in the paper)."""

    ROLE = "speech"
    USES = ("speech",)


@register("lee_text")
class LeeText(LeeUnimodal):
    """Ablation: the word-vector CNN alone (no row in the paper)."""

    ROLE = "text"
    USES = ("text",)


@register("lee_concat")
class LeeConcat(LeeBase):
    """Table 1 "shallow model" (Fig. 4): both CNNs' pooled features concatenated → the dense stack."""

    def __init__(self, input_dims: dict[str, int], num_outputs: int, **kw) -> None:
        super().__init__(input_dims, num_outputs, **kw)
        self.speech_cnn, self.text_cnn = self.cnn(self.speech), self.cnn(self.text)
        self.output = self.head(self.speech_cnn.output_dim + self.text_cnn.output_dim)

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        speech, speech_mask = self.speech_cnn(inputs[self.speech], masks[self.speech])
        text, text_mask = self.text_cnn(inputs[self.text], masks[self.text])
        return self.output(torch.cat([masked_mean(speech, speech_mask), masked_mean(text, text_mask)], -1))


@register("lee_attention")
class LeeAttention(LeeBase):
    """Table 2 "attention model" (Fig. 1, Eq. 1–2); see the module docstring for the open choices."""

    def __init__(
        self,
        input_dims: dict[str, int],
        num_outputs: int,
        *,
        attention_dim: int | None = None,
        normalize: str = "frames",
        **kw,
    ) -> None:
        super().__init__(input_dims, num_outputs, **kw)
        if normalize not in NORMALIZE:
            raise TypeError(f"normalize must be one of {', '.join(NORMALIZE)}, not {normalize!r}")
        attention_dim = attention_dim or self.hparams["channels"]
        if not (isinstance(attention_dim, int) and attention_dim >= 1):
            raise TypeError(f"attention_dim must be a positive integer, not {attention_dim!r}")
        self.hparams |= {"attention_dim": attention_dim, "normalize": normalize}
        self.normalize = normalize
        self.speech_cnn, self.text_cnn = self.cnn(self.speech), self.cnn(self.text)
        self.speech_1x1 = nn.Conv1d(self.speech_cnn.output_dim, attention_dim, 1)
        self.text_1x1 = nn.Conv1d(self.text_cnn.output_dim, attention_dim, 1)
        self.classifier_cnn = self.cnn(self.speech)
        self.output = self.head(self.classifier_cnn.output_dim)
        self.last_attention: torch.Tensor | None = None
        self.last_frame_weights: torch.Tensor | None = None

    def attention(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]):
        """The B×m×n attention matrix (pooled speech × pooled words) and the B×m per-position weights."""
        matrix, weights, _, _ = self.attention_parts(inputs, masks)
        return matrix, weights

    def attention_parts(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]):
        """:meth:`attention`'s matrix and weights, and the text CNN's output and pooled mask."""
        speech, speech_mask = self.speech_cnn(inputs[self.speech], masks[self.speech])
        text, text_mask = self.text_cnn(inputs[self.text], masks[self.text])
        f = self.speech_1x1(speech.transpose(1, 2)).transpose(1, 2)  # B×m×d
        e = self.text_1x1(text.transpose(1, 2)).transpose(1, 2)  # B×n×d
        scores = f @ e.transpose(1, 2)  # B×m×n: f_t · e_i
        real = speech_mask[:, :, None] & text_mask[:, None, :]
        if self.normalize == "frames":  # Eq. 1: per word, a distribution over the speech positions
            matrix = masked_softmax(scores, real, dim=1)
            weights = matrix.sum(2)  # Eq. 2: c_t = Σ_i a_it f_t
        else:  # per speech position, a distribution over the words
            matrix = masked_softmax(scores, real, dim=2)
            weights = (matrix * scores).sum(2)
        return matrix, weights * speech_mask, text, text_mask

    def attended(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]):
        """The third CNN's output over the attended spectrogram and the text CNN's output, each averaged
        over its real pooled positions (B×channels each)."""
        x, mask = inputs[self.speech], masks[self.speech]
        matrix, weights, text, text_mask = self.attention_parts(inputs, masks)
        frame_weights = broadcast_to_frames(weights, x.shape[1], self.pools) * mask
        self.last_attention, self.last_frame_weights = matrix.detach(), frame_weights.detach()
        h, pooled_mask = self.classifier_cnn(x * frame_weights[..., None], mask)
        return masked_mean(h, pooled_mask), masked_mean(text, text_mask)

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.output(self.attended(inputs, masks)[0])


@register("lee_attention_fused")
class LeeAttentionFused(LeeAttention):
    """serkit's addition (no row in the paper): :class:`LeeAttention` whose dense stack reads the third
    CNN's pooled output concatenated with the text CNN's (the shallow model's text path, §4.4), so the
    classifier sees the words themselves besides the spectrogram they reweighted."""

    def __init__(self, input_dims: dict[str, int], num_outputs: int, **kw) -> None:
        super().__init__(input_dims, num_outputs, **kw)
        self.output = self.head(self.classifier_cnn.output_dim + self.text_cnn.output_dim)

    def forward(self, inputs: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.output(torch.cat(self.attended(inputs, masks), -1))

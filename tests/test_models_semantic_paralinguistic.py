"""Paper 001 models (``serkit.models.semantic_paralinguistic``): shapes, masking, attention, learning."""

from __future__ import annotations

import pytest
import torch
from paper_models import one_torch_thread, random_batch, with_garbage_padding
from torch import nn
from torch.utils.checkpoint import checkpoint

from serkit import models
from serkit.errors import SerkitError
from serkit.experiment import build_model
from serkit.models import semantic_paralinguistic as module
from serkit.models.semantic_paralinguistic import (
    DisentangledAttentionModel,
    ModalityAttention,
    WaveformCNN,
)
from serkit.training import config as configs
from serkit.training.losses import CCCLoss
from serkit.training.trainer import cpu_has_bf16

NAMES = ["tzirakis_paralinguistic", "tzirakis_semantic", "tzirakis_concat", "tzirakis_attention"]
VARIANTS = ["paper", "code"]
LENGTHS = [7, 3, 5, 1]
SAMPLES = 500  # per frame; 2205 (or 4410) in SEWA, smaller here for speed
DIMS = {"waveform": SAMPLES, "semantic": 12}
SMALL = {"channels": [4, 6, 8], "units": 16, "lstm_hidden": 8}


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


def build(name: str, variant: str = "paper", **hparams) -> nn.Module:
    return models.build(name, DIMS, 3, frame_stream="waveform", variant=variant, **SMALL | hparams)


def batch(seed: int = 0, lengths: list[int] = LENGTHS):
    inputs, masks = random_batch(DIMS, {name: lengths for name in DIMS}, seed)
    return inputs, masks


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", NAMES)
def test_frame_outputs_and_padding_leaves_real_frames_unchanged(name: str, variant: str) -> None:
    torch.manual_seed(0)
    model = build(name, variant).eval()
    inputs, masks = batch()
    with torch.no_grad():
        plain = model(inputs, masks)
        padded = model(*with_garbage_padding(inputs, masks, {"waveform": 6, "semantic": 6}))
    assert plain.shape == (4, 7, 3) and padded.shape == (4, 13, 3)
    assert torch.isfinite(plain).all()
    real = masks["waveform"]
    torch.testing.assert_close(padded[:, :7][real], plain[real], atol=1e-5, rtol=0)
    if variant == "code":
        assert plain.abs().max() < 1  # tanh output


@pytest.mark.parametrize("variant", VARIANTS)
def test_an_utterance_alone_gives_the_same_frames_as_in_a_batch(variant: str) -> None:
    torch.manual_seed(0)
    model = build("tzirakis_attention", variant).eval()
    inputs, masks = batch()
    with torch.no_grad():
        together = model(inputs, masks)
        alone = model({k: v[1:2, :3] for k, v in inputs.items()}, {k: v[1:2, :3] for k, v in masks.items()})
    torch.testing.assert_close(alone[0], together[1, :3], atol=1e-5, rtol=0)


def test_the_cnn_sees_one_frame_or_the_whole_signal() -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 4, SAMPLES)
    mask = torch.ones(1, 4, dtype=torch.bool)
    changed = x.clone()
    changed[0, 1, -3:] = 50.0  # the end of frame 1, next to frame 2's start
    for across, frame_2_changes in ((False, False), (True, True)):
        cnn = WaveformCNN(SAMPLES, [4, 6, 8], [8, 6, 6], [10, 5, 5], 0.0, across).eval()
        with torch.no_grad():
            before, after = cnn(x, mask), cnn(changed, mask)
        assert not torch.equal(before[0, 1], after[0, 1])
        torch.testing.assert_close(before[0, [0, 3]], after[0, [0, 3]])
        assert (not torch.equal(before[0, 2], after[0, 2])) == frame_2_changes


def test_feature_sizes_follow_table_1_and_the_code() -> None:
    # Table 1 per 100 ms frame: 2205 → 220 → 44 → 8 pooled steps × 125 channels
    assert WaveformCNN(2205, [50, 125, 125], [8, 6, 6], [10, 5, 5], 0.5, False).output_dim == 1000
    # the code: T·4410 samples as one signal, 250 channels, d_p = 4410 (methods.md §A.4)
    code = WaveformCNN(4410, [50, 125, 250], [8, 6, 6], [10, 5, 5], 0.5, True).eval()
    assert code.output_dim == 4410
    x, mask = torch.randn(1, 25, 4410), torch.ones(1, 25, dtype=torch.bool)
    with torch.no_grad():
        pooled = code._stack(x.reshape(1, 1, -1)).transpose(1, 2)  # TF's B × steps × channels
        torch.testing.assert_close(code(x, mask), pooled.reshape(1, 25, -1))  # the code's reshape


def test_sizes_follow_the_paper_and_the_code_variant() -> None:
    dims = {"waveform": 2205, "semantic": 100}
    paper = DisentangledAttentionModel(dims, 3, frame_stream="waveform")
    cnn = paper.encoders["waveform"]
    assert [c.out_channels for c in cnn.convs] == [50, 125, 125] and cnn.pools == [10, 5, 5]
    assert [c.kernel_size[0] for c in cnn.convs] == [8, 6, 6] and cnn.dropout.p == 0.5
    fusion = paper.fusion
    assert [p[0].in_features for p in fusion.projections] == [100, 1000]
    assert [p[0].out_features for p in fusion.projections] == [1024, 1024]
    assert all(isinstance(p[1], nn.Identity) and p[2].p == 0.5 for p in fusion.projections)  # Eq. 4
    assert [(h[0].out_features, type(h[1])) for h in fusion.heads] == [(1024, nn.Identity)] * 3  # Eq. 6
    assert fusion.fuse.query.shape == (2, 1024) and len(fusion.nested) == 2  # Eq. 5, Eq. 7
    assert paper.lstm.hidden_size == 256 and paper.lstm.num_layers == 1 and paper.lstm_dropout.p == 0.5
    assert isinstance(paper.output[1], nn.Identity)
    code = DisentangledAttentionModel(
        {"waveform": 4410, "semantic": 100}, 3, frame_stream="waveform", variant="code"
    )
    assert code.encoders["waveform"].convs[2].out_channels == 250 and code.encoders["waveform"].across_frames
    assert [p[0].in_features for p in code.fusion.projections] == [100, 4410]
    assert all(isinstance(p[1], nn.ReLU) and p[2].p == 0 for p in code.fusion.projections)
    assert [(h[0].out_features, type(h[1])) for h in code.fusion.heads] == [(512, nn.ReLU)] * 3
    assert code.fusion.fuse.query.shape == (1, 1024) and code.fusion.nested[0].query.shape == (1, 512)
    assert code.lstm_dropout.p == 0 and isinstance(code.output[1], nn.Tanh)
    single = models.build("tzirakis_semantic", dims, 3, frame_stream="waveform")
    assert single.lstm.input_size == 100 and not single.encoders  # Table 2: the vector straight in
    concat = models.build("tzirakis_concat", dims, 3, frame_stream="waveform")
    assert concat.lstm.input_size == 1100  # [x_s, x_p]
    override = models.build("tzirakis_attention", dims, 3, frame_stream="waveform", variant="code", units=64)
    assert override.fusion.fuse.query.shape == (1, 64) and override.hparams["head_units"] == 512


@pytest.mark.parametrize("shared", [False, True])
def test_attention_weights_sum_to_one(shared: bool) -> None:
    torch.manual_seed(0)
    model = build("tzirakis_attention", shared_query=shared).eval()
    inputs, masks = batch()
    with torch.no_grad():
        fused, weights = model.fuse(inputs, masks)
    assert fused.shape == (4, 7, 16) and set(weights) == {"streams", "heads1", "heads2"}
    for w in weights.values():
        assert w.shape == (4, 7, 2) and (w >= 0).all()
        torch.testing.assert_close(w.sum(-1), torch.ones(4, 7))
    attention = ModalityAttention(5, 2, shared)
    x = torch.randn(3, 5)
    torch.testing.assert_close(attention(x, x)[0], x)  # a convex combination of equal inputs


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", NAMES)
def test_each_row_learns_a_tiny_batch(name: str, variant: str) -> None:
    """Targets every row can see: the frame's loudness and its word vector's first dimensions."""
    torch.manual_seed(0)
    model = build(name, variant, conv_dropout=0.0, fusion_dropout=0.0, lstm_dropout=0.0)
    inputs, masks = batch(seed=3, lengths=[8, 6, 8, 5])
    loudness = torch.rand(4, 8, generator=torch.Generator().manual_seed(4)) * 3
    inputs["waveform"] = inputs["waveform"] * loudness[..., None]
    target = torch.zeros(4, 8, 3)
    if name != "tzirakis_semantic":
        target += loudness[..., None] * torch.tensor([0.3, -0.2, 0.1])
    if name != "tzirakis_paralinguistic":
        target += 0.3 * inputs["semantic"][..., :3]
    loss, mask = CCCLoss(3), masks["waveform"]
    model.eval()
    with torch.no_grad():
        before = float(loss(model(inputs, masks), target, mask))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(40):
        optimizer.zero_grad()
        loss(model(inputs, masks), target, mask).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        after = float(loss(model(inputs, masks), target, mask))
    assert after < 0.5 * before


def test_a_recipe_like_config_builds_every_row() -> None:
    for name in NAMES:
        for variant in VARIANTS:
            raw = {
                "model": {"name": name, "variant": variant, "channels": [4, 6, 8], "units": 16},
                "task": {"type": "regression", "level": "frame", "dims": ["arousal", "valence", "liking"]},
                "data": {
                    "sets": {"train": "data/train", "dev": "data/devel"},
                    "streams": [
                        {"name": "waveform", "type": "frames", "store": "feats/{set}_wave.h5"},
                        {"name": "semantic", "type": "frames", "store": "feats/{set}_semantic.h5"},
                    ],
                },
                "loss": {"type": "ccc"},
                "optim": {"lr": 1e-4},
                "train": {"batch_size": 25, "grad_clip": 5.0},
            }
            config = configs.resolve(raw)
            model = build_model(config, config["task"], DIMS)
            assert isinstance(model, models.REGISTRY[name]) and model.frame_stream == "waveform"
            assert model.hparams["conv_across_frames"] == (variant == "code")
            inputs, masks = batch()
            assert model.eval()(inputs, masks).shape == (4, 7, 3)


def test_configuration_mistakes_are_user_errors() -> None:
    with pytest.raises(SerkitError, match="task.level must be frame"):
        models.build("tzirakis_concat", DIMS, 3)
    with pytest.raises(SerkitError, match="stream 'semantic'"):
        models.build("tzirakis_attention", {"waveform": SAMPLES, "s2v": 12}, 3, frame_stream="waveform")
    with pytest.raises(SerkitError, match="variant"):
        build("tzirakis_attention", variant="tf")
    with pytest.raises(SerkitError, match="pool to nothing"):
        models.build("tzirakis_paralinguistic", {"waveform": 100}, 3, frame_stream="waveform")
    with pytest.raises(SerkitError, match="activation"):
        build("tzirakis_attention", head_activation="gelu")


@pytest.mark.parametrize("variant", VARIANTS)
def test_checkpointing_the_cnn_changes_no_gradient(variant: str, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(module, "checkpoint", lambda *a, **kw: calls.append(1) or checkpoint(*a, **kw))
    torch.manual_seed(0)
    kept = build("tzirakis_concat", variant, conv_dropout=0.0, checkpoint_frames=None)
    recomputed = build("tzirakis_concat", variant, conv_dropout=0.0, checkpoint_frames=8)
    recomputed.load_state_dict(kept.state_dict())
    inputs, masks = batch()
    grads = []
    for model in (kept, recomputed):
        model.eval()(inputs, masks).square().sum().backward()
        grads.append([p.grad for p in model.encoders["waveform"].parameters()])
    assert len(calls) == (2 if variant == "paper" else 4)  # 16 real frames by 8; 4 utterances of 7 frames
    for plain, checkpointed in zip(*grads, strict=True):
        torch.testing.assert_close(checkpointed, plain)


@pytest.mark.parametrize("variant", VARIANTS)
def test_inference_runs_the_cnn_in_groups_with_the_same_outputs(variant: str, monkeypatch) -> None:
    """Without gradients the CNN takes INFERENCE_FRAMES frames (whole utterances across frames) at a
    time, so scoring a long recording keeps its memory bounded; the outputs do not change."""
    torch.manual_seed(0)
    model = build("tzirakis_concat", variant, checkpoint_frames=None).eval()
    inputs, masks = batch()
    with torch.no_grad():
        whole = model(inputs, masks)
        stacks = []
        cnn = model.encoders["waveform"]
        monkeypatch.setattr(
            cnn, "_stack", lambda x, lengths=None: stacks.append(len(x)) or type(cnn)._stack(cnn, x, lengths)
        )
        monkeypatch.setattr(module, "INFERENCE_FRAMES", 5)
        grouped = model(inputs, masks)
    assert stacks == (
        [5, 5, 5, 1] if variant == "paper" else [1, 1, 1, 1]
    )  # 16 real frames; 4 utterances of 7
    torch.testing.assert_close(grouped, whole)


@pytest.mark.skipif(not cpu_has_bf16(), reason="this CPU has no native bfloat16 (its oneDNN LSTM refuses it)")
@pytest.mark.parametrize("variant", VARIANTS)
def test_mixed_precision_runs(variant: str) -> None:
    """The trainer's autocast (CUDA there; bfloat16 on CPU here) reaches every layer."""
    torch.manual_seed(0)
    model = build("tzirakis_attention", variant).eval()
    inputs, masks = batch()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(inputs, masks)
    assert out.shape == (4, 7, 3) and torch.isfinite(out.float()).all()

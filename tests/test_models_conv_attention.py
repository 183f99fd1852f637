"""Paper 003 models (``serkit.models.conv_attention``): shapes, masking, attention, the 2^P broadcast,
learning a tiny batch, building from a config, hyper-parameter errors."""

from __future__ import annotations

import pytest
import torch
from paper_models import assert_padding_invariant, one_torch_thread, random_batch, train_steps
from torch import nn

from serkit import models
from serkit.errors import SerkitError
from serkit.experiment import build_model
from serkit.models.conv_attention import (
    LeeAttention,
    broadcast_to_frames,
    masked_softmax,
    pool_mask,
)
from serkit.training import config as configs

NAMES = ["lee_attention", "lee_concat", "lee_speech", "lee_text", "lee_attention_fused"]
DIMS = {"spectrogram": 20, "words": 12}  # 200 bins and 300-d GloVe in the paper; small here
LENGTHS = {"spectrogram": [23, 9, 16, 5], "words": [6, 2, 5, 1]}
SMALL = {"channels": 8, "dense": [32, 16, 8]}


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


def build(name: str, **hparams) -> nn.Module:
    return models.build(name, DIMS, 6, **SMALL | hparams)


def batch(seed: int = 0):
    return random_batch(DIMS, LENGTHS, seed)


@pytest.mark.parametrize("name", NAMES)
def test_logits_are_batch_by_classes_and_padding_changes_nothing(name: str) -> None:
    torch.manual_seed(0)
    model = build(name).eval()
    inputs, masks = batch()
    with torch.no_grad():
        assert model(inputs, masks).shape == (4, 6)
    # 7 extra frames: a width not a multiple of 2^P, so pooled windows straddle the real end
    assert_padding_invariant(model, inputs, masks, {"spectrogram": 7, "words": 3})


@pytest.mark.parametrize("normalize", ["frames", "words"])
def test_attention_is_padding_invariant_for_both_readings(normalize: str) -> None:
    torch.manual_seed(0)
    model = build("lee_attention", normalize=normalize, conv_layers=3).eval()
    inputs, masks = batch()
    assert_padding_invariant(model, inputs, masks, {"spectrogram": 5, "words": 4})


def test_an_utterance_alone_gives_its_logits_in_a_batch() -> None:
    torch.manual_seed(0)
    model = build("lee_attention").eval()
    inputs, masks = batch()
    with torch.no_grad():
        together = model(inputs, masks)
        alone = model(
            {"spectrogram": inputs["spectrogram"][2:3, :16], "words": inputs["words"][2:3, :5]},
            {"spectrogram": masks["spectrogram"][2:3, :16], "words": masks["words"][2:3, :5]},
        )
    torch.testing.assert_close(alone[0], together[2], atol=1e-5, rtol=0)


def test_attention_is_a_distribution_per_word_over_real_speech_positions() -> None:
    """Eq. 1 (``normalize: frames``): each real word's column sums to 1 over the real pooled positions."""
    torch.manual_seed(0)
    model = build("lee_attention").eval()
    inputs, masks = batch()
    with torch.no_grad():
        model(inputs, masks)
    a = model.last_attention
    speech, words = pool_mask(masks["spectrogram"], 2), pool_mask(masks["words"], 2)
    assert a.shape == (4, speech.shape[1], words.shape[1]) and (a >= 0).all()
    torch.testing.assert_close(a.sum(1), words.float())  # 1 for real words, 0 for padded ones
    assert (a[~speech] == 0).all()
    assert (a.transpose(1, 2)[~words] == 0).all()
    # the per-position weights (Eq. 2: Σ_i a_it) add up to the number of real (pooled) words
    with torch.no_grad():
        _, position_weights = model.attention(inputs, masks)
    torch.testing.assert_close(position_weights.sum(1), words.sum(1).float())
    assert (model.last_frame_weights[~masks["spectrogram"]] == 0).all()


def test_attention_is_a_distribution_over_the_real_words_per_speech_position() -> None:
    """The alternative reading (``normalize: words``): each real speech position's row sums to 1 over
    the real words and is zero on padded words."""
    torch.manual_seed(0)
    model = build("lee_attention", normalize="words").eval()
    inputs, masks = batch()
    garbage = inputs["words"].clone()
    garbage[~masks["words"]] = 1e3
    with torch.no_grad():
        model(inputs, masks)
        clean = model.last_attention
        model({"spectrogram": inputs["spectrogram"], "words": garbage}, masks)
    a = model.last_attention
    torch.testing.assert_close(a, clean)
    speech, words = pool_mask(masks["spectrogram"], 2), pool_mask(masks["words"], 2)
    assert (a >= 0).all()
    torch.testing.assert_close(a.sum(2), speech.float())
    assert (a.transpose(1, 2)[~words] == 0).all()
    assert a[0, 0, :2].sub(a[0, 0, 1]).abs().max() > 0  # not uniform: the scores matter


def test_masked_softmax_ignores_padding_and_empty_rows() -> None:
    scores = torch.tensor([[1.0, 2.0, 50.0], [3.0, 4.0, 5.0]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    weights = masked_softmax(scores, mask, dim=1)
    torch.testing.assert_close(weights[0], torch.softmax(torch.tensor([1.0, 2.0, -1e9]), 0))
    assert (weights[1] == 0).all()


def test_the_2p_broadcast_maps_each_pooled_position_onto_its_frames() -> None:
    weights = torch.tensor([[1.0, 2.0, 3.0]])  # 3 pooled positions of 10 frames after P = 2 pools
    frames = broadcast_to_frames(weights, 10, 2)
    torch.testing.assert_close(frames, torch.tensor([[1.0] * 4 + [2.0] * 4 + [3.0] * 2]))
    torch.testing.assert_close(broadcast_to_frames(weights, 3, 0), weights)
    # pooled position k really is the max over frames [4k, 4k + 4): a spike at frame 6 lands in k = 1
    mask = torch.ones(1, 10, dtype=torch.bool)
    assert pool_mask(mask, 2).shape == (1, 3)
    assert pool_mask(torch.arange(10)[None] < 5, 2).tolist() == [[True, True, False]]
    cnn = LeeAttention({"spectrogram": 1, "words": 1}, 2, channels=1, kernel=1, dense=[2]).speech_cnn
    with torch.no_grad():
        for conv in cnn.convs:
            conv.weight.fill_(1.0), conv.bias.zero_()
        x = torch.zeros(1, 10, 1)
        x[0, 6, 0] = 5.0
        pooled, _ = cnn(x, mask)
    assert pooled[0, :, 0].tolist() == [0.0, 5.0, 0.0]
    # and the model's frame weights are its position weights repeated 2^P = 4 times
    torch.manual_seed(0)
    model = build("lee_attention").eval()
    inputs, masks = batch()
    with torch.no_grad():
        _, position_weights = model.attention(inputs, masks)
        model(inputs, masks)
    expected = position_weights.repeat_interleave(4, 1)[:, :23] * masks["spectrogram"]
    torch.testing.assert_close(model.last_frame_weights, expected)


def test_the_attention_weights_reach_the_classifier_input() -> None:
    """The third CNN sees x · w: with all weights scaled the logits change (the attention is used)."""
    torch.manual_seed(0)
    model = build("lee_attention").eval()
    inputs, masks = batch()
    with torch.no_grad():
        before = model(inputs, masks)
        model.speech_1x1.weight.mul_(3.0)
        after = model(inputs, masks)
    assert not torch.allclose(before, after)


def test_the_fused_row_hands_the_words_to_its_dense_stack_as_well() -> None:
    """lee_attention_fused: with the attention weights held fixed, other words still change the logits
    (through the word CNN's features beside the third CNN's); the paper's model has no such path."""
    torch.manual_seed(0)
    inputs, masks = batch()
    other = dict(inputs, words=torch.randn_like(inputs["words"]))
    changed = {}
    for name in ("lee_attention", "lee_attention_fused"):
        model = build(name).eval()
        model.speech_1x1.weight.data.zero_()  # every dot product 0: uniform attention, whatever the words
        model.speech_1x1.bias.data.zero_()
        with torch.no_grad():
            changed[name] = not torch.allclose(model(inputs, masks), model(other, masks))
    assert changed == {"lee_attention": False, "lee_attention_fused": True}
    fused = models.build("lee_attention_fused", {"spectrogram": 200, "words": 300}, 6)
    assert fused.output.net[0].in_features == 64


def test_sizes_follow_the_paper() -> None:
    model = models.build("lee_attention", {"spectrogram": 200, "words": 300}, 6)
    convs = model.speech_cnn.convs
    assert len(convs) == 2 and model.pools == 2
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [(200, 32, 3), (32, 32, 3)]
    assert model.text_cnn.convs[0].in_channels == 300 and model.classifier_cnn.convs[0].in_channels == 200
    assert model.speech_1x1.kernel_size == (1,) and model.speech_1x1.out_channels == 32
    linears = [m for m in model.output.net if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [1024, 512, 128, 6]
    dropouts = [i for i, m in enumerate(model.output.net) if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 1 and model.output.net[dropouts[0]].p == 0.1
    assert isinstance(model.output.net[dropouts[0] + 1], nn.Linear)  # on the last hidden layer
    assert model.hparams["normalize"] == "frames"
    concat = models.build("lee_concat", {"spectrogram": 200, "words": 300}, 6)
    assert concat.output.net[0].in_features == 64
    assert models.build("lee_text", {"words": 300}, 6).output.net[0].in_features == 32
    assert models.build("lee_speech", {"spectrogram": 200}, 6).encoder.convs[0].in_channels == 200


@pytest.mark.parametrize("name", NAMES)
def test_each_row_learns_a_tiny_batch(name: str) -> None:
    torch.manual_seed(0)
    model = build(name, dropout=0.0)
    inputs, masks = batch()
    targets = torch.tensor([0, 3, 5, 1])
    before, after = train_steps(model, inputs, masks, targets, steps=50)
    assert after < 0.5 * before


def test_a_recipe_like_config_builds_every_row() -> None:
    for name in NAMES:
        raw = {
            "model": {"name": name, "channels": 8, "dense": [16, 8], "speech_stream": "spec"},
            "task": {"type": "classification", "level": "utterance"},
            "data": {
                "sets": {"train": "data/train", "dev": "data/dev"},
                "streams": [
                    {"name": "spec", "type": "frames", "store": "feats/{set}_spec.h5"},
                    {"name": "words", "type": "words", "kv": "exp/emb/glove.bin"},
                ],
            },
        }
        config = configs.resolve(raw)
        task = config["task"] | {"classes": ["happy", "sad", "anger", "surprise", "disgust", "fear"]}
        dims = {"spec": DIMS["spectrogram"], "words": DIMS["words"]}
        model = build_model(config, task, dims)
        assert isinstance(model, models.REGISTRY[name]) and model.hparams["channels"] == 8
        inputs, masks = batch()
        inputs["spec"], masks["spec"] = inputs.pop("spectrogram"), masks.pop("spectrogram")
        assert model.eval()(inputs, masks).shape == (4, 6)


def test_configuration_mistakes_are_user_errors() -> None:
    with pytest.raises(SerkitError, match="task.level must be utterance"):
        models.build("lee_attention", DIMS, 6, frame_stream="spectrogram")
    with pytest.raises(SerkitError, match="text stream 'words'"):
        models.build("lee_concat", {"spectrogram": 20, "glove": 12}, 6)
    with pytest.raises(SerkitError, match="speech stream 'spectrogram'"):
        models.build("lee_speech", {"words": 12}, 6)
    with pytest.raises(SerkitError, match="normalize"):
        build("lee_attention", normalize="time")
    with pytest.raises(SerkitError, match="conv_layers"):
        build("lee_concat", conv_layers=0)
    with pytest.raises(SerkitError, match="pools"):
        build("lee_text", pools=3)
    with pytest.raises(SerkitError, match="kernel"):
        build("lee_speech", kernel=4)
    with pytest.raises(SerkitError, match="dense"):
        build("lee_attention", dense=[])
    with pytest.raises(SerkitError, match="dropout"):
        build("lee_attention", dropout=1.5)
    with pytest.raises(SerkitError, match="lee_attention"):
        build("lee_attention", heads=4)  # not a hyper-parameter of this model

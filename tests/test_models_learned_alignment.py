"""Paper 004 models (``serkit.models.learned_alignment``) and the ``word_spans`` stream they need."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from paper_models import (
    assert_padding_invariant,
    build_from_config,
    make_recipe,
    one_torch_thread,
    random_batch,
    recipe_configs,
    train_in,
    train_steps,
)

from serkit import datadir, models
from serkit.errors import SerkitError
from serkit.models.learned_alignment import (
    AdditiveAlignment,
    LearnedAlignment,
    ScaledDotAlignment,
    masked_max,
    span_mean,
)
from serkit.training import config as configs
from serkit.training.batching import Collator
from serkit.training.dataset import EmotionDataset, task_for
from serkit.training.streams import frame_span, word_times

SPEECH = [30, 12, 21, 8]
WORDS = [3, 5, 1, 2]
ROWS = {
    "xu_speech_attn": ("acoustic",),
    "xu_text_attn": ("words",),
    "xu_concat": ("acoustic", "words"),
    "xu_hard_align": ("acoustic", "words", "spans"),
    "xu_learned_align": ("acoustic", "words"),
}
CODE_VARIANT = {
    "cell": "gru",
    "attention": "scaled_dot",
    "heads": 8,
    "speech_projection": 512,
    "pooling": "attention",
    "relu_logits": False,
    "output_bias": True,
    "dropout": 0.5,
}


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


def batch(streams: tuple[str, ...], seed: int = 0):
    """34-d frames, 20-d word vectors and, per word, a span inside its utterance's frames."""
    inputs, masks = random_batch({"acoustic": 34, "words": 20}, {"acoustic": SPEECH, "words": WORDS}, seed)
    rng = np.random.default_rng(seed)
    spans = torch.zeros(len(WORDS), max(WORDS), 2)
    for b, (frames, words) in enumerate(zip(SPEECH, WORDS, strict=True)):
        for j in range(words):
            first = int(rng.integers(0, frames))
            spans[b, j] = torch.tensor([first, int(rng.integers(first, frames + 1))])
    inputs["spans"], masks["spans"] = spans, masks["words"].clone()
    return {s: inputs[s] for s in streams}, {s: masks[s] for s in streams}


def dims(streams: tuple[str, ...]) -> dict[str, int]:
    return {s: {"acoustic": 34, "words": 20, "spans": 2}[s] for s in streams}


# --------------------------------------------------------------------------- the models


@pytest.mark.parametrize("name", sorted(ROWS))
def test_logits_shape_and_padding_leaves_them_unchanged(name: str) -> None:
    torch.manual_seed(0)
    model = models.build(name, dims(ROWS[name]), 4)
    inputs, masks = batch(ROWS[name])
    assert model(inputs, masks).shape == (4, 4)
    assert_padding_invariant(model, inputs, masks, {"acoustic": 50, "words": 7, "spans": 7})


def test_the_code_variant_also_ignores_padding() -> None:
    torch.manual_seed(0)
    model = models.build("xu_learned_align", dims(ROWS["xu_learned_align"]), 4, **CODE_VARIANT)
    inputs, masks = batch(ROWS["xu_learned_align"])
    assert_padding_invariant(model, inputs, masks, {"acoustic": 50, "words": 7})


@pytest.mark.parametrize(
    ("name", "variant"),
    [(name, {}) for name in sorted(ROWS)] + [("xu_learned_align", CODE_VARIANT)],
    ids=[*sorted(ROWS), "xu_learned_align_code"],
)
def test_each_row_learns_a_tiny_batch(name: str, variant: dict) -> None:
    torch.manual_seed(0)
    small = {"hidden": 8, "attention_hidden": 8} | variant
    if variant:
        small |= {"speech_projection": 16}
    if name == "xu_learned_align":
        small["heads"] = 4
    model = models.build(name, dims(ROWS[name]), 4, **small)
    inputs, masks = batch(ROWS[name], seed=3)
    before, after = train_steps(model, inputs, masks, torch.tensor([0, 1, 2, 3]), steps=40)
    assert after < 0.6 * before


def test_sizes_follow_the_paper() -> None:
    model = LearnedAlignment({"acoustic": 34, "words": 300}, 4)
    assert model.speech_encoder.rnn.lstm.hidden_size == 100 and model.text_encoder.rnn.lstm.input_size == 300
    assert model.fusion.rnn.lstm.input_size == 400  # [s̃_j, h_j]
    assert (model.alignment.heads, model.alignment.head_dim) == (5, 40)
    assert model.output.weight.shape == (4, 200) and model.output.bias is None and model.relu_logits
    assert model.pool is None  # max-pooling (Eq. 13)
    inputs, masks = batch(("acoustic", "words"))
    model = LearnedAlignment({"acoustic": 34, "words": 20}, 4)
    assert (model(inputs, masks) >= 0).all()  # ReLU'd logits (Eq. 14)


def test_configuration_mistakes_are_user_errors() -> None:
    with pytest.raises(SerkitError, match="task.level must be utterance"):
        models.build("xu_concat", {"acoustic": 34, "words": 20}, 4, frame_stream="acoustic")
    with pytest.raises(SerkitError, match="spans stream 'spans'"):
        models.build("xu_hard_align", {"acoustic": 34, "words": 20}, 4)
    with pytest.raises(SerkitError, match="does not split into 7 heads"):
        models.build("xu_learned_align", {"acoustic": 34, "words": 20}, 4, heads=7)
    with pytest.raises(SerkitError, match="attention must be"):
        models.build("xu_learned_align", {"acoustic": 34, "words": 20}, 4, attention="location")


# --------------------------------------------------------------------------- alignment parts


def test_additive_attention_is_eq_7_to_9_per_head_over_real_frames() -> None:
    torch.manual_seed(0)
    attention = AdditiveAlignment(dim=12, heads=3)
    speech, text = torch.randn(2, 6, 12), torch.randn(2, 4, 12)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    aligned, weights = attention(speech, mask, text)
    assert weights.shape == (2, 3, 4, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 4))
    assert (weights[1, ..., 4:] == 0).all()
    b, k, j = 1, 2, 3  # one word, one head, by the equations
    s, h = speech[b, :4, 4 * k : 4 * k + 4], text[b, j, 4 * k : 4 * k + 4]
    a = torch.tanh(s @ attention.u[k] + h @ attention.v[k] + attention.b[k])
    alpha = torch.softmax(a, 0)
    torch.testing.assert_close(weights[b, k, j, :4], alpha)
    torch.testing.assert_close(aligned[b, j, 4 * k : 4 * k + 4], alpha @ s)


def test_scaled_dot_attention_weights_sum_to_one_over_real_frames() -> None:
    torch.manual_seed(0)
    _, weights = ScaledDotAlignment(16, 8)(
        torch.randn(2, 5, 16), torch.tensor([[True] * 5, [True] * 2 + [False] * 3]), torch.randn(2, 3, 16)
    )
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 8, 3))
    assert (weights[1, ..., 2:] == 0).all()


def test_hard_alignment_averages_exactly_the_span() -> None:
    states = torch.arange(2 * 6 * 3, dtype=torch.float32).reshape(2, 6, 3)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    spans = torch.tensor([[[0, 2], [2, 3], [3, 6]], [[1, 4], [4, 4], [0, 0]]], dtype=torch.float32)
    span_mask = torch.tensor([[True, True, True], [True, True, False]])
    out = span_mean(states, mask, spans, span_mask)
    torch.testing.assert_close(out[0, 0], states[0, 0:2].mean(0))
    torch.testing.assert_close(out[0, 1], states[0, 2])
    torch.testing.assert_close(out[0, 2], states[0, 3:6].mean(0))
    torch.testing.assert_close(out[1, 0], states[1, 1:4].mean(0))
    assert (out[1, 1] == 0).all() and (out[1, 2] == 0).all()  # an empty span; a padded word


def test_max_pooling_ignores_padding_and_empty_rows() -> None:
    x = torch.tensor([[[1.0, -5.0], [3.0, -2.0], [9.0, 9.0]], [[-1.0, -1.0], [7.0, 7.0], [7.0, 7.0]]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    assert masked_max(x, mask).tolist() == [[3.0, -2.0], [0.0, 0.0]]


# --------------------------------------------------------------------------- the word_spans stream


def test_frame_span_takes_the_frames_whose_centre_lies_in_the_word() -> None:
    # 20 ms frames every 10 ms: frame i is centred at i·10 ms + 10 ms.
    assert frame_span(0.10, 0.30, 0.01, 0.02, 1000) == (9, 29)
    assert frame_span(0.0, 0.05, 0.01, 0.02, 1000) == (0, 4)
    assert frame_span(0.10, 0.30, 0.01, 0.02, 20) == (9, 20)  # cut by max_frames
    assert frame_span(0.50, 0.60, 0.01, 0.02, 20) == (20, 20)  # wholly past the cut: empty
    # 100 ms frames every 100 ms: a 30 ms word inside one frame gets that frame.
    assert frame_span(0.31, 0.34, 0.1, 0.1, 100) == (3, 4)
    assert frame_span(0.10, 0.30, 0.1, 0.1, 100) == (1, 3)


def test_word_times_match_text_words_to_ctm_records() -> None:
    ctm = [datadir.CtmWord(t, 0.2, w) for t, w in ((0.1, "okay"), (0.5, "so"), (1.0, "go"))]
    words = ["<laughter>", "okay", "so", "<breath>", "<noise>", "go", "now"]
    np.testing.assert_allclose(
        word_times(words, ctm, 1.5),
        [
            (0.0, 0.1),  # before the first matched record: from the utterance start
            (0.1, 0.3),
            (0.5, 0.7),
            (0.7, 1.0),  # unmatched words share the gap between their matched neighbours
            (0.7, 1.0),
            (1.0, 1.2),
            (1.2, 1.5),  # after the last matched record: to the end
        ],
    )
    np.testing.assert_allclose(word_times(["ok", "so"], ctm[:2], 1.0), [(0.1, 0.3), (0.5, 0.7)])  # variant
    assert word_times(["a", "b"], [], 2.0) == [(0.0, 2.0), (0.0, 2.0)]  # no ctm lines: the whole utterance


def spans_config(root: Path, text: str = "text", **words: object) -> dict:
    return configs.resolve(
        {
            "model": {"name": "xu_hard_align"},
            "data": {
                "sets": {"train": str(root / "data/train"), "dev": str(root / "data/dev")},
                "streams": [
                    {"name": "acoustic", "store": str(root / "feats/{set}_pyaa34.h5"), "max_frames": 40},
                    {"name": "words", "type": "words", "kv": str(root / "exp/emb/glove.bin"), "text": text}
                    | words,
                    {"name": "spans", "type": "word_spans", "words": "words", "frames": "acoustic"},
                ],
            },
        }
    )


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    return make_recipe(tmp_path_factory.mktemp("align"), 0.01, 0.02, {"glove": 20})


def test_word_spans_stream_gives_frame_spans_of_the_ctm_words(recipe: Path) -> None:
    config = spans_config(recipe, max_words=3)
    train = recipe / "data" / "train"
    dataset = EmotionDataset(train, config["data"]["streams"], task_for(config, train))
    assert dataset.input_dims == {"acoustic": 34, "words": 20, "spans": 2}
    data = datadir.load(train)
    for i in range(4):
        example = dataset[i]
        utt = example["utt"]
        ctm = data.words_ctm[utt][:3]
        expected = [frame_span(w.start, w.end, 0.01, 0.02, len(example["inputs"]["acoustic"])) for w in ctm]
        assert example["inputs"]["spans"].tolist() == [list(s) for s in expected]
    assert dataset[0]["inputs"]["spans"][-1, 1] == 40  # clipped to max_frames
    collated = Collator(dataset)([dataset[i] for i in range(4)])
    assert collated["masks"]["spans"].tolist() == collated["masks"]["words"].tolist()
    copy = pickle.loads(pickle.dumps(dataset))  # as DataLoader workers receive it
    assert copy[1]["inputs"]["spans"].tolist() == dataset[1]["inputs"]["spans"].tolist()


def test_word_streams_read_asr_text_and_word_spans_refuse_it(recipe: Path) -> None:
    train = recipe / "data" / "train"
    config = spans_config(recipe, text="text.asr")
    words_only = [s for s in config["data"]["streams"] if s["name"] != "spans"]
    dataset = EmotionDataset(train, words_only, task_for(config, train))
    utt = dataset[0]["utt"]
    asr = datadir.load(train).text_asr[utt].split()
    assert len(dataset[0]["inputs"]["words"]) == len(asr) and "the" not in asr
    with pytest.raises(SerkitError, match="aligns the oracle text"):
        EmotionDataset(train, config["data"]["streams"], task_for(config, train))


def test_word_spans_config_and_data_mistakes_are_user_errors(recipe: Path, tmp_path: Path) -> None:
    config = spans_config(recipe)
    bad = {**config, "data": {**config["data"], "streams": [dict(s) for s in config["data"]["streams"]]}}
    bad["data"]["streams"][2]["frames"] = "words"
    with pytest.raises(SerkitError, match="not a declared frames stream"):
        configs.resolve(bad)
    bad["data"]["streams"][2] = {"name": "spans", "type": "word_spans", "words": "words"}
    with pytest.raises(SerkitError, match="needs 'name' and 'words' and 'frames'"):
        configs.resolve(bad)
    data = datadir.load(recipe / "data" / "train")
    data.words_ctm = {}
    (tmp_path / "data").mkdir()
    datadir.save(data, tmp_path / "data" / "train")
    train = tmp_path / "data" / "train"
    with pytest.raises(SerkitError, match="no words.ctm"):
        EmotionDataset(train, config["data"]["streams"], task_for(config, train))


# --------------------------------------------------------------------------- end to end


def test_hard_alignment_trains_end_to_end_from_a_recipe_dir(recipe: Path) -> None:
    config = {
        "model": {"name": "xu_hard_align", "hidden": 8},
        "data": {
            "sets": {"train": "data/train", "dev": "data/dev", "test": "data/test"},
            "streams": [
                {"name": "acoustic", "type": "frames", "store": "feats/{set}_pyaa34.h5", "max_frames": 2000},
                {
                    "name": "words",
                    "type": "words",
                    "kv": "exp/emb/glove.bin",
                    "text": "text",
                    "max_words": 100,
                },
                {"name": "spans", "type": "word_spans", "words": "words", "frames": "acoustic"},
            ],
        },
        "optim": {"name": "adam", "lr": 0.01},
        "train": {"epochs": 4, "batch_size": 8, "patience": None, "seed": 1},
    }
    summary = train_in(recipe, config, "exp/xu_hard_align")
    assert summary.epochs_run == 4 and summary.best_epoch is not None
    history = json.loads((recipe / "exp" / "xu_hard_align" / "history.json").read_text())
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert all(math.isfinite(row["dev_loss"]) for row in history)


def test_the_recipe_configs_resolve_and_build_every_row() -> None:
    examples = recipe_configs("iemocap_align")
    rows = ["speech_attn", "text_attn", "text_attn_asr", "concat", "concat_asr", "hard_align"]
    rows += ["learned_align", "learned_align_asr", "learned_align_code"]
    assert set(examples) == {f"xu_{row}.yaml" for row in rows}
    for name, raw in examples.items():
        model = build_from_config(raw, {"frames": 34, "words": 300, "word_spans": 2})
        assert isinstance(model, models.REGISTRY[raw["model"]["name"]]), name
        texts = {s["text"] for s in raw["data"]["streams"] if s["type"] == "words"}
        assert texts == ({"text.asr"} if "_asr" in name else {"text"}) or name == "xu_speech_attn.yaml"

"""Paper 002 models (``serkit.models.speech_embeddings``): shapes, masking, learning, one recipe-like run."""

from __future__ import annotations

import json
from pathlib import Path

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
from torch import nn

from serkit import models
from serkit.errors import SerkitError
from serkit.models.blocks import MaskedBiLSTM
from serkit.models.speech_embeddings import AcousticBiLSTM, DualEncoder, last_time_step

LENGTHS = {"acoustic": [9, 4, 7, 1], "words": [3, 5, 1, 2]}
DIMS = {"acoustic": 34, "words": 50}
ROWS = {
    "s2v_acoustic": ("acoustic",),
    "s2v_speech_emb": ("words",),
    "s2v_word_emb": ("words",),
    "s2v_dual": ("acoustic", "words"),
}


def batch_for(streams: tuple[str, ...], seed: int = 0):
    return random_batch({s: DIMS[s] for s in streams}, {s: LENGTHS[s] for s in streams}, seed)


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


@pytest.mark.parametrize("name", sorted(ROWS))
def test_logits_shape_and_padding_leaves_them_unchanged(name: str) -> None:
    torch.manual_seed(0)
    streams = ROWS[name]
    model = models.build(name, {s: DIMS[s] for s in streams}, 4)
    inputs, masks = batch_for(streams)
    assert model(inputs, masks).shape == (4, 4)
    assert_padding_invariant(model, inputs, masks, {"acoustic": 191, "words": 123})


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_row_learns_a_tiny_batch(name: str) -> None:
    torch.manual_seed(0)
    streams = ROWS[name]
    small = {"cell": 16, "dense": [16]} | ({"encoder_dense": 16} if name == "s2v_dual" else {})
    model = models.build(name, {s: DIMS[s] for s in streams}, 4, **small)
    inputs, masks = batch_for(streams, seed=3)
    before, after = train_steps(model, inputs, masks, torch.tensor([0, 1, 2, 3]))
    assert after < 0.5 * before


def test_last_time_step_is_the_final_state_of_each_direction() -> None:
    torch.manual_seed(0)
    encoder = MaskedBiLSTM(5, 6)
    inputs, masks = random_batch({"x": 5}, {"x": [4, 2, 3]})
    states = last_time_step(encoder(inputs["x"], masks["x"]), masks["x"])
    for b, n in enumerate([4, 2, 3]):
        _, (h_n, _) = encoder.lstm(inputs["x"][b : b + 1, :n])  # the unpadded sequence alone
        torch.testing.assert_close(states[b], torch.cat([h_n[0, 0], h_n[1, 0]]), atol=1e-6, rtol=0)


def test_sizes_follow_the_paper() -> None:
    acoustic = AcousticBiLSTM({"acoustic": 34}, 4)
    assert acoustic.encoder.lstm.lstm.hidden_size == 128 and acoustic.encoder.dropout.p == 0.2
    assert [m.out_features for m in acoustic.head.net if isinstance(m, nn.Linear)] == [256, 4]
    speech = models.build("s2v_speech_emb", {"words": 100}, 4)
    assert [m.out_features for m in speech.head.net if isinstance(m, nn.Linear)] == [256, 256, 4]
    assert [m.p for m in speech.head.net if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    dual = DualEncoder({"acoustic": 34, "words": 300}, 4)
    assert dual.encoders[1].lstm.lstm.input_size == 300  # the embedding size comes from the embedding file
    assert [p[0].out_features for p in dual.projections] == [256, 256]
    assert [m.in_features for m in dual.head.net if isinstance(m, nn.Linear)] == [512, 256]


def test_configuration_mistakes_are_user_errors() -> None:
    with pytest.raises(SerkitError, match="task.level must be utterance"):
        models.build("s2v_acoustic", {"acoustic": 34}, 4, frame_stream="acoustic")
    with pytest.raises(SerkitError, match="embedding stream 'words'"):
        models.build("s2v_dual", {"acoustic": 34, "s2v": 50}, 4)
    with pytest.raises(SerkitError, match="input stream"):
        models.build("s2v_speech_emb", {"acoustic": 34, "words": 50}, 4)


def test_dual_encoder_trains_end_to_end_from_a_recipe_dir(tmp_path: Path) -> None:
    root = make_recipe(tmp_path, frame_shift=0.1, frame_length=0.1, kv_dims={"s2v": 50})
    config = {
        "model": {"name": "s2v_dual", "cell": 16, "encoder_dense": 16, "dense": [16]},
        "data": {
            "sets": {"train": "data/train", "dev": "data/dev", "test": "data/test"},
            "streams": [
                {"name": "acoustic", "type": "frames", "store": "feats/{set}_pyaa34.h5", "max_frames": 200},
                {"name": "words", "type": "words", "kv": "exp/emb/s2v.bin", "max_words": 128, "pad": "max"},
            ],
        },
        "optim": {"name": "adam", "lr": 0.01},
        "train": {"epochs": 4, "batch_size": 8, "patience": None, "seed": 1},
    }
    summary = train_in(root, config, "exp/s2v_dual")
    assert summary.epochs_run == 4 and summary.best_epoch is not None
    history = json.loads((root / "exp" / "s2v_dual" / "history.json").read_text())
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert (root / "exp" / "s2v_dual" / "checkpoints" / "best.pt").is_file()


def test_the_recipe_configs_resolve_and_build_every_row() -> None:
    examples = recipe_configs("iemocap")
    assert set(examples) == {f"{row}.yaml" for row in ROWS} | {
        "s2v_dual_w2v.yaml",
        "pw_speech_emb.yaml",
        "pw_dual.yaml",
    }
    for name, raw in examples.items():
        model = build_from_config(raw, {"frames": 34, "words": 50})
        assert isinstance(model, models.REGISTRY[raw["model"]["name"]]), name

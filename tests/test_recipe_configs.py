"""Every recipe config resolves (``extends`` and ``{fold}``) to the settings its table row had before
the configs inherited: ``fixtures/recipe_configs_resolved.json`` holds them, resolved without a fold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serkit.training import config as configs

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "tests" / "fixtures" / "recipe_configs_resolved.json").read_text())
FIXED_SPLIT = ("sewa", "mosei")  # recipes whose corpus has one fixed split (AVEC 2017 partitions, SDK folds)
ROWS = sorted(p for p in ROOT.glob("recipes/*/conf/*.yaml") if not p.name.startswith("base"))


def test_every_row_config_is_pinned() -> None:
    assert sorted(str(p.relative_to(ROOT)) for p in ROWS) == sorted(EXPECTED)


@pytest.mark.parametrize("path", ROWS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_row_resolves_to_its_pinned_settings_and_per_fold_paths(path: Path) -> None:
    assert configs.load(path) == EXPECTED[str(path.relative_to(ROOT))]
    if path.parent.parent.name in FIXED_SPLIT:
        assert configs.load(path, fold="fold3") == configs.load(path)  # no {fold} anywhere
        return
    fold = configs.load(path, fold="fold3")
    assert fold["data"]["sets"] == {s: f"data/fold3/{s}" for s in ("train", "dev", "test")}
    for stream in fold["data"]["streams"]:
        kv = stream.get("kv") or ""
        assert kv in ("", "exp/emb/glove.bin") or kv.startswith("exp/emb/fold3/"), kv
    raw = configs.read_config_file(path)
    assert "extends" in raw  # each row is its difference from a base


@pytest.mark.parametrize("path", [p for p in ROWS if p.stem.endswith("_asr")], ids=lambda p: p.name)
def test_an_asr_row_differs_from_its_base_in_the_transcript_only(path: Path) -> None:
    base = path.with_name(path.name.replace("_asr", ""))
    assert configs.differences(configs.load(base), configs.load(path), ignore=("name",)) == [
        "data.streams.1.text" if "concat" in path.name or "learned" in path.name else "data.streams.0.text"
    ]


@pytest.mark.parametrize(
    "path", [p for p in ROWS if p.stem.startswith("pw_") and "iemocap" in p.parts], ids=lambda p: p.name
)
def test_a_pseudo_word_row_differs_from_its_speech2vec_row_in_the_space_only(path: Path) -> None:
    base = configs.load(path.with_name(path.name.replace("pw_", "s2v_")))
    row = configs.load(path)
    assert configs.differences(base, row, ignore=("name",)) in (["data.streams.0.kv"], ["data.streams.1.kv"])
    assert [s["kv"] for s in row["data"]["streams"] if s.get("kv")] == ["exp/emb/pw/pw.bin"]


@pytest.mark.parametrize("path", [p for p in ROWS if p.parent.parent.name == "sewa"], ids=lambda p: p.name)
def test_a_sewa_row_builds_its_model_on_the_label_grid(path: Path) -> None:
    """Every SEWA row builds (waveform 2,205 samples, 4,410 with the subject/partner split; 100-d
    word frames) and reads the semantic vectors from audio unless it says it looks transcripts up
    (Word2Vec, *_lookup)."""
    import torch

    from serkit.experiment import build_model

    config = configs.load(path)
    task = {**config["task"], "dims": ["arousal", "valence", "liking"]}
    streams = {s["name"]: s for s in config["data"]["streams"]}
    samples = 4410 if streams.get("waveform", {}).get("turn_split") else 2205
    assert (samples == 4410) == (path.stem == "attention_code")  # the authors' code splits, the paper not
    dims = {name: samples if name == "waveform" else 100 for name in streams}
    model = build_model(config, task, dims)
    inputs = {name: torch.zeros(1, 4, dims[name]) for name in streams}
    masks = {name: torch.ones(1, 4, dtype=torch.bool) for name in streams}
    assert model.eval()(inputs, masks).shape == (1, 4, 3)
    semantic = streams.get("semantic")
    if semantic is not None:
        looks_up = path.stem == "w2v_only" or path.stem.endswith("_lookup")
        assert bool(semantic.get("kv")) == looks_up and bool(semantic.get("instances")) != looks_up


@pytest.mark.parametrize(
    "path", [p for p in ROWS if p.stem.startswith("pw_") and "sewa" in p.parts], ids=lambda p: p.name
)
def test_a_sewa_pseudo_word_row_differs_from_its_speech2vec_row_in_the_space_only(path: Path) -> None:
    name = path.name.replace("pw_", "s2v_") if "aligned" in path.name else path.name.replace("pw_", "")
    base, row = configs.load(path.with_name(name)), configs.load(path)
    assert configs.differences(base, row, ignore=("name",)) == [
        "data.streams.1.instances",
        "data.streams.1.mapping",
    ]
    assert row["data"]["streams"][1]["instances"] == "feats/{set}_pw_words.h5"

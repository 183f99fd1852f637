"""Every recipe config resolves (``extends`` and ``{fold}``) to the settings its table row had before
the configs inherited: ``fixtures/recipe_configs_resolved.json`` holds them, resolved without a fold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serkit.training import config as configs

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "tests" / "fixtures" / "recipe_configs_resolved.json").read_text())
ROWS = sorted(p for p in ROOT.glob("recipes/*/conf/*.yaml") if not p.name.startswith("base"))


def test_every_row_config_is_pinned() -> None:
    assert sorted(str(p.relative_to(ROOT)) for p in ROWS) == sorted(EXPECTED)


@pytest.mark.parametrize("path", ROWS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_row_resolves_to_its_pinned_settings_and_per_fold_paths(path: Path) -> None:
    assert configs.load(path) == EXPECTED[str(path.relative_to(ROOT))]
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


@pytest.mark.parametrize("path", [p for p in ROWS if p.stem.startswith("pw_")], ids=lambda p: p.name)
def test_a_pseudo_word_row_differs_from_its_speech2vec_row_in_the_space_only(path: Path) -> None:
    base = configs.load(path.with_name(path.name.replace("pw_", "s2v_")))
    row = configs.load(path)
    assert configs.differences(base, row, ignore=("name",)) in (["data.streams.0.kv"], ["data.streams.1.kv"])
    assert [s["kv"] for s in row["data"]["streams"] if s.get("kv")] == ["exp/emb/pw/pw.bin"]

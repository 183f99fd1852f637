"""prepare-data sewa on a look-alike AVEC2017_SEWA package with the gotchas of datasets.md §3."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from fixtures.corpus_sewa import FRAMES, build_sewa, label_values

from serkit import datadir, validate
from serkit.corpora import sewa
from serkit.datadir import CtmWord
from serkit.errors import SerkitError


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    return build_sewa(tmp_path_factory.mktemp("sewa"))


def _errors(path: Path) -> list[str]:
    return [p.format() for p in validate.validate(path) if p.severity == "error"]


def test_sets_labels_and_validation(package: Path, tmp_path: Path) -> None:
    result = sewa.prepare(package.parent, tmp_path)  # AVEC2017_SEWA is found inside
    assert {s.name: (s.utterances, s.speakers) for s in result.sets} == {
        "train": (2, 2),
        "dev": (1, 1),
        "test": (1, 1),
    }
    for name in ("train", "dev", "test"):
        assert _errors(tmp_path / name) == []
    train = datadir.load(tmp_path / "train")
    assert train.utts == ["Train_01", "Train_02"] and train.utt2sess == {
        "Train_01": "Train",
        "Train_02": "Train",
    }
    with h5py.File(tmp_path / "train" / "labels.h5") as f:
        assert f.attrs["frame_rate"] == 10.0 and list(f.attrs["names"]) == ["arousal", "valence", "liking"]
        assert f["Train_01"].dtype == np.float32 and f["Train_01"].shape == (FRAMES, 3)
        np.testing.assert_allclose(f["Train_02"][()], label_values("Train_02"), atol=1e-6)  # header line
    with h5py.File(tmp_path / "test" / "labels.h5") as f:
        assert list(f) == ["Test_01"]
    assert train.utt2spk == {"Train_01": "Train_01", "Train_02": "Train_02"}  # speaker = recording = id
    assert train.utt2dur == {"Train_01": 3.0, "Train_02": 3.0} and train.reco2dur == train.utt2dur
    block = train.meta["protocol"]
    assert (block["folds"], block["sets"], block["score"]) == ([], ["train", "dev", "test"], ["dev", "test"])
    assert train.meta["sample_rate"] == 16000 and train.meta["synthetic"] is False
    counts = {"train": {"total": 2}, "dev": {"total": 1}, "test": {"total": 1}, "total": {"total": 4}}
    assert train.meta["corpus_counts"] == counts
    from serkit.scoring import corpus

    assert corpus(train.meta, utterances=1)["label"] == "SEWA (4 utterances)"  # all, not the set's
    assert result.tables[0].rows["train"] == {
        "recordings": 2,
        "labelled": 2,
        "label frames": 60,
        "turns": 3,
        "words": 13,
    }


def test_text_fillers_tags_and_equal_split_word_times(package: Path, tmp_path: Path) -> None:
    result = sewa.prepare(package, tmp_path)
    train = datadir.load(tmp_path / "train")
    assert train.text["Train_01"] == "ja genau <laughter> das fand ich auch ich hätte ihn gleich"
    assert train.text["Train_02"] == "größe zählt"
    step = 1.0 / 7
    first = [
        CtmWord(round(0.5 + k * step, 3), round(step, 3), w)
        for k, w in enumerate(["ja", "genau", "<laughter>", "das", "fand", "ich", "auch"])
    ]
    assert train.words_ctm["Train_01"][:7] == first
    assert train.words_ctm["Train_01"][7:] == [
        CtmWord(2.0, 0.2, "ich"),
        CtmWord(2.2, 0.2, "hätte"),
        CtmWord(2.4, 0.2, "ihn"),
        CtmWord(2.6, 0.2, "gleich"),
    ]
    assert (tmp_path / "train" / "turns").read_text() == (
        "Train_01 0.500 1.500\nTrain_01 2.000 2.800\nTrain_02 0.200 1.200\n"
    )
    meta = json.loads((tmp_path / "dev" / "meta.json").read_text())
    assert meta["protocol"]["word_times"] == sewa.EQUAL_SPLIT
    assert {k: v["count"] for k, v in meta["skipped"].items()} == {
        "<filler> transcription row": 2,
        "macOS AppleDouble file": 1,
    }
    assert "word times: equal split" in " ".join(result.notes)


def test_missing_test_labels_are_allowed(tmp_path: Path) -> None:
    pkg = build_sewa(tmp_path / "corpus", test_labels=False)
    result = sewa.prepare(pkg, tmp_path / "out")
    assert not (tmp_path / "out" / "test" / "labels.h5").exists()
    assert _errors(tmp_path / "out" / "test") == []
    meta = json.loads((tmp_path / "out" / "test" / "meta.json").read_text())
    assert meta["recordings_without_labels"] == ["Test_01"]
    assert meta["skipped"]["test recording without labels (withheld)"]["count"] == 1
    assert result.tables[0].rows["test"]["labelled"] == 0
    assert meta["protocol"]["score"] == ["dev"]
    assert any("no labels" in n and "scores on dev only" in n for n in result.notes)


def _copy(package: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(package, tmp_path / "AVEC2017_SEWA"))


@pytest.mark.parametrize(
    ("relative", "old", "new", "line", "message"),
    [
        ("labels/Train_01.csv", "'Train_01';0.200000;", "'Train_01';0.200000", 3, "expected 5"),
        ("labels/Train_01.csv", "'Train_01';0.200000;", "'Train_01';0.300000;", 3, "not frame 2"),
        ("labels/Train_01.csv", "'Train_01';0.200000;", "'Train_02';0.200000;", 3, "row names recording"),
        ("transcriptions/Train_01.csv", "2.00;2.80;", "2.00;2,80;", 3, "unparsable time"),
        ("turns/Devel_01.csv", "0.4;2.4", "0.4", 1, "expected 'start;end'"),
    ],
)
def test_malformed_rows_stop_with_file_line(
    package: Path, tmp_path: Path, relative: str, old: str, new: str, line: int, message: str
) -> None:
    root = _copy(package, tmp_path)
    text = (root / relative).read_text(encoding="utf-8")
    assert old in text
    (root / relative).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(SerkitError) as caught:
        sewa.prepare(root, tmp_path / "out")
    assert caught.value.path == str(root / relative) and caught.value.line == line
    assert message in caught.value.message


def test_missing_folders_and_training_labels(package: Path, tmp_path: Path) -> None:
    root = _copy(package, tmp_path)
    (root / "labels" / "Devel_01.csv").unlink()
    with pytest.raises(SerkitError, match="no labels for Devel recording Devel_01") as caught:
        sewa.prepare(root, tmp_path / "out")
    assert caught.value.path == str(root / "labels" / "Devel_01.csv")
    shutil.rmtree(root / "turns")
    with pytest.raises(SerkitError, match="expected the turns/ folder") as caught:
        sewa.prepare(root, tmp_path / "out")
    assert caught.value.path == str(root / "turns")


def test_recording_names() -> None:
    names = ["Train_01", "Devel_14", "Test_16", "Train_DE_01", "Train_1", "train_01", "Train_01_x"]
    assert [bool(sewa.RECORDING.match(n)) for n in names] == [True, True, True, True, False, False, False]

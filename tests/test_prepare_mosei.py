"""prepare-data mosei on a look-alike corpus with the gotchas of datasets.md §2 (exact counts)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from fixtures.corpus_mosei import LABELS, build_mosei, write_labels_csd

from serkit import datadir, validate
from serkit.corpora import mosei
from serkit.corpora.mosei_folds import STANDARD_FOLDS
from serkit.datadir import CtmWord
from serkit.errors import SerkitError

TRAIN = [
    "-3g5yACwYnA-000",
    "-3g5yACwYnA-001",
    "25522-000",
    "255224-000",
    "8404-000",
    "PtH_8O__EAY-001",
    "zv0Jl4TIQDc-000",
    "zv0Jl4TIQDc-001",
    "zv0Jl4TIQDc-002",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_mosei(tmp_path_factory.mktemp("mosei"))


@pytest.fixture(scope="module")
def default(corpus: Path, tmp_path_factory) -> tuple[Path, mosei.PrepareResult]:
    out = tmp_path_factory.mktemp("data")
    return out, mosei.prepare(corpus, out)


def _errors(path: Path) -> list[str]:
    return [p.format() for p in validate.validate(path) if p.severity == "error"]


def test_standard_folds_are_the_sdk_lists() -> None:
    sizes = {name: len(ids) for name, ids in STANDARD_FOLDS.items()}
    assert sizes == {"train": 2249, "valid": 300, "test": 678}
    every = [v for ids in STANDARD_FOLDS.values() for v in ids]
    assert len(set(every)) == 3227 and sum(v.isdigit() for v in every) == 459
    assert {"8404", "-3g5yACwYnA", "PtH_8O__EAY", "FcAgbLF6__s", "zv0Jl4TIQDc"} <= set(
        STANDARD_FOLDS["train"]
    )
    assert STANDARD_FOLDS["test"][:2] == ("7l3BNtSE0xc", "dZFV0lyedX4")
    assert all(isinstance(v, str) for v in every)


def test_sets_ids_and_labels(default) -> None:
    out, result = default
    assert {s.name: s.utterances for s in result.sets} == {"train": 9, "dev": 2, "test": 3}
    train = datadir.load(out / "train")
    assert train.utts == TRAIN
    assert train.utt2spk["8404-000"] == "8404" and train.utt2sess["-3g5yACwYnA-001"] == "-3g5yACwYnA"
    assert train.utt2emo == {
        "-3g5yACwYnA-000": "fea",
        "-3g5yACwYnA-001": "sur",
        "25522-000": "hap",
        "255224-000": "sad",
        "8404-000": "ang",
        "PtH_8O__EAY-001": "sad",
        "zv0Jl4TIQDc-000": "hap",  # happy/anger tie -> first in column order
        "zv0Jl4TIQDc-001": "hap",
        "zv0Jl4TIQDc-002": "hap",
    }
    assert datadir.load(out / "dev").utts == ["188343-000", "188343-001"]
    assert datadir.load(out / "test").utts == ["_0efYOjQYRc-000", "_0efYOjQYRc-001", "_0efYOjQYRc-002"]
    assert train.meta["classes"] == ["hap", "sad", "ang", "sur", "dis", "fea"]
    for name in ("train", "dev", "test"):
        assert _errors(out / name) == []


def test_cuts_are_clamped_and_rows_keep_their_csd_index(default) -> None:
    out, _ = default
    train, test = datadir.load(out / "train"), datadir.load(out / "test")
    neg = train.wav_scp["PtH_8O__EAY-001"]
    assert (neg.start, neg.end) == (0.0, 2.5) and neg.path.endswith(
        "Raw/Audio/Full/WAV_16000/PtH_8O__EAY.wav"
    )
    assert (train.wav_scp["zv0Jl4TIQDc-000"].start, train.wav_scp["zv0Jl4TIQDc-000"].end) == (56.852, 60.845)
    assert (train.wav_scp["8404-000"].start, train.wav_scp["8404-000"].end) == (0.82, 3.202)
    assert test.wav_scp["_0efYOjQYRc-002"].end == 37.3  # past the audio: clamped
    # Kaldi's form: wav.scp by video, the cuts in segments, reco2dur and utt2dur from the audio
    assert (out / "test" / "wav.scp").read_text().split() == [
        "_0efYOjQYRc",
        test.wav_scp["_0efYOjQYRc-002"].path,
    ]
    assert (out / "test" / "segments").read_text().splitlines()[
        2
    ] == "_0efYOjQYRc-002 _0efYOjQYRc 34.124 37.300"
    assert (out / "test" / "reco2dur").read_text() == "_0efYOjQYRc 37.3\n"
    assert test.utt2dur["_0efYOjQYRc-002"] == pytest.approx(37.3 - 34.124)
    assert test.meta["sample_rate"] == 16000 and test.meta["synthetic"] is False
    block = test.meta["protocol"]
    assert (block["folds"], block["sets"], block["score"]) == ([], ["train", "dev", "test"], ["dev", "test"])


def test_text_matched_by_time_or_from_words(default) -> None:
    out, result = default
    train, test = datadir.load(out / "train"), datadir.load(out / "test")
    # unsorted label rows: row 0 is the 56.852 s segment, which is transcript segment 2
    assert train.text["zv0Jl4TIQDc-000"] == "but the ending made me angry"
    assert train.text["zv0Jl4TIQDc-001"] == "i liked it a lot"
    assert train.text["-3g5yACwYnA-000"] == "that was scary and gross"  # '_____' in the text
    assert train.text["PtH_8O__EAY-001"] == "so sad to see it go"  # matched on the negative start
    assert train.text["8404-000"] == "angry people everywhere"  # no transcript: words .csd, 'sp' dropped
    assert test.text["_0efYOjQYRc-002"] == "for the complete article please go to big4 com"
    assert train.words_ctm["8404-000"] == [
        CtmWord(0.18, 0.5, "angry"),
        CtmWord(0.88, 0.5, "people"),
        CtmWord(1.38, 0.8, "everywhere"),
    ]
    assert test.words_ctm["_0efYOjQYRc-002"][-1] == CtmWord(2.776, 0.4, "article")  # clipped to the cut
    assert json.loads((out / "train" / "meta.json").read_text())["text_from"] == {
        "transcript": 13,
        "words .csd": 1,
    }


def test_intensities_presence_and_junk_counts(default) -> None:
    out, result = default
    intensity = dict(x.split(" ", 1) for x in (out / "train" / "utt2intensity").read_text().splitlines())
    assert intensity["-3g5yACwYnA-000"] == "-2.000000 0.000000 0.333333 0.000000 0.000000 0.666667 3.333333"
    presence = dict(x.split(" ", 1) for x in (out / "train" / "utt2presence").read_text().splitlines())
    assert presence["zv0Jl4TIQDc-000"] == "1 0 1 0 0 0"
    # what multilabel training reads: a 0/1 row per utterance, a column per emotion_names entry
    names = json.loads((out / "train" / "meta.json").read_text())["emotion_names"]
    rows = datadir.read_binary_rows(out / "train" / "utt2presence", names)
    assert set(rows) == set(datadir.load(out / "train").utts)
    assert rows["zv0Jl4TIQDc-000"].tolist() == [1, 0, 1, 0, 0, 0]
    meta = json.loads((out / "train" / "meta.json").read_text())
    sizes = {s: len(datadir.load(out / s).utts) for s in ("train", "dev", "test") if (out / s).is_dir()}
    assert meta["corpus_counts"] == {
        **{s: {"total": n} for s, n in sizes.items()},
        "total": {"total": sum(sizes.values())},
    }
    counts = {k: v["count"] for k, v in meta["skipped"].items()}
    assert counts["no emotion present (all six are 0) (row dropped)"] == 1
    assert counts["negative start clamped to 0 (kept)"] == 1
    assert counts["end past the audio clamped to its length (kept)"] == 1
    assert counts["labelled video in no fold (rows dropped)"] == 2
    assert meta["skipped"]["labelled video in no fold (rows dropped)"]["examples"] == ["-aB_cd__EfG"]
    assert counts["labelled video without audio (rows dropped)"] == 2
    assert counts["video without segmented transcript"] == 1
    assert counts["test fold video without labels"] == 677
    assert meta["label_rows_per_fold"] == {"train": 12, "dev": 2, "test": 3}
    assert meta["intensity_names"] == ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]
    assert any("differ from the published 16,327" in n for n in result.notes)


def test_tie_and_all_zero_rules(corpus: Path, tmp_path: Path) -> None:
    mosei.prepare(corpus, tmp_path, tie_rule="drop", all_zero="neutral")
    train = datadir.load(tmp_path / "train")
    assert "zv0Jl4TIQDc-000" not in train.utt2emo
    assert train.utt2emo["PtH_8O__EAY-000"] == "neu"
    assert train.meta["classes"][-1] == "neu" and len(train) == 9
    assert _errors(tmp_path / "train") == []
    assert mosei.top1(np.array([0, 0, 0, 0, 0, 0.0])) == (None, "no emotion present (all six are 0)")
    assert mosei.top1(np.array([1, 2, 2, 0, 0, 0.0]))[0] == "sad"
    assert mosei.top1(np.array([1, 2, 2, 0, 0, 0.0]), tie_rule="drop")[0] is None
    assert mosei.top1(np.array([0, 0, 0, 0, 0, 0.0]), all_zero="neutral")[0] == "neu"


def test_user_fold_file(corpus: Path, tmp_path: Path) -> None:
    folds = tmp_path / "folds.txt"
    folds.write_text("# mine\n-aB_cd__EfG train\n8404 valid\n188343 test  # comment\n")
    result = mosei.prepare(corpus, tmp_path / "out", folds=str(folds))
    assert {s.name: s.utterances for s in result.sets} == {"train": 2, "dev": 1, "test": 2}
    assert datadir.load(tmp_path / "out" / "train").utts == ["-aB_cd__EfG-000", "-aB_cd__EfG-001"]
    folds.write_text("8404 valid\n188343 holdout\n")
    with pytest.raises(SerkitError) as caught:
        mosei.prepare(corpus, tmp_path / "out", folds=str(folds))
    assert caught.value.line == 2 and caught.value.path == str(folds)


def test_transcript_parsing_keeps_double_underscores(tmp_path: Path) -> None:
    path = tmp_path / "PtH_8O__EAY.txt"
    path.write_text("PtH_8O__EAY___3___0.5___1.25___a __ b _____ c \n\nPtH_8O__EAY___x___1___2___bad\n")
    with pytest.raises(SerkitError) as caught:
        mosei.read_transcript(path)
    assert caught.value.line == 3 and "unparsable" in caught.value.message
    path.write_text("PtH_8O__EAY___3___0.5___1.25___a __ b _____ c \n")
    [line] = mosei.read_transcript(path)
    assert (line.segment, line.start, line.end, line.text) == (3, 0.5, 1.25, "a __ b _____ c")
    path.write_text("Other___3___0.5___1.25___x\n")
    with pytest.raises(SerkitError, match="does not start with 'PtH_8O__EAY___'"):
        mosei.read_transcript(path)


def test_csd_structure_errors_and_legacy_six_columns(corpus: Path, tmp_path: Path) -> None:
    two = tmp_path / "two.csd"
    with h5py.File(two, "w") as f:
        f.create_group("All Labels/data")
        f.create_group("Other/data")
    with pytest.raises(SerkitError, match="exactly one top-level group"):
        mosei.read_csd(two)
    legacy = tmp_path / "legacy.csd"
    six = {v: ([row[1:] for row in feats], ivs) for v, (feats, ivs) in LABELS.items()}
    write_labels_csd(legacy, six, root="Emotion Labels")
    with h5py.File(legacy, "a") as f:
        del f["Emotion Labels/metadata/dimension names"]
    assert mosei.label_columns(mosei.read_csd(legacy)) == mosei.EMOTIONS
    result = mosei.prepare(corpus, tmp_path / "out", labels_csd=legacy)
    assert {s.name: s.utterances for s in result.sets} == {"train": 9, "dev": 2, "test": 3}


def test_missing_audio_folder_names_the_expected_path(tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    write_labels_csd(tmp_path / "labels" / "CMU_MOSEI_Labels.csd")
    with pytest.raises(SerkitError) as caught:
        mosei.prepare(tmp_path, tmp_path / "out")
    assert caught.value.path == str(tmp_path / "Raw" / "Audio" / "Full" / "WAV_16000")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SerkitError, match="labels .csd not found") as caught:
        mosei.prepare(tmp_path / "empty", tmp_path / "out")
    assert caught.value.path == str(tmp_path / "empty" / "labels" / "CMU_MOSEI_Labels.csd")


def test_alternative_layout_cmu_mosei_raw_and_kaggle_folders(corpus: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(corpus / "Raw", root / "CMU_MOSEI" / "Raw")
    shutil.copytree(corpus / "labels", root / "CMU-MOSEI" / "labels")
    shutil.copytree(corpus / "language", root / "CMU-MOSEI" / "languages")
    result = mosei.prepare(root, tmp_path / "out")
    assert {s.name: s.utterances for s in result.sets} == {"train": 9, "dev": 2, "test": 3}
    assert "text from: transcript 13, words .csd 1" in result.notes

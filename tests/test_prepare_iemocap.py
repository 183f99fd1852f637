"""prepare-data iemocap on a look-alike corpus with every gotcha of datasets.md §1 (exact counts)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import run_serkit
from fixtures.corpus_iemocap import DIALOGS, NO_WDSEG, build_iemocap

from serkit import datadir, validate
from serkit.corpora import iemocap
from serkit.datadir import CtmWord
from serkit.errors import SerkitError

DEV_DIALOGS = ["Ses01F_impro01", "Ses02F_impro01", "Ses03M_impro05a", "Ses04F_impro02"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_iemocap(tmp_path_factory.mktemp("iemocap"))


@pytest.fixture(scope="module")
def default(corpus: Path, tmp_path_factory) -> tuple[Path, iemocap.PrepareResult]:
    out = tmp_path_factory.mktemp("data")
    return out, iemocap.prepare(corpus.parent, out)  # the parent: IEMOCAP_full_release is found inside


def _errors(path: Path) -> list[str]:
    return [p.format() for p in validate.validate(path) if p.severity == "error"]


def test_4class_sets_have_exact_counts_and_validate(default) -> None:
    out, result = default
    counts = {s.name: (s.utterances, s.speakers, s.class_counts) for s in result.sets}
    assert counts == {
        "train": (8, 5, {"ang": 1, "hap": 1, "neu": 2, "sad": 4}),
        "dev": (13, 8, {"ang": 3, "hap": 5, "neu": 4, "sad": 1}),
        "test": (4, 2, {"ang": 1, "hap": 1, "neu": 1, "sad": 1}),
    }
    for name in ("train", "dev", "test"):
        assert _errors(out / name) == []
    dev = datadir.load(out / "dev")
    assert sorted({u.split("-", 1)[1].rsplit("_", 1)[0] for u in dev.utts}) == DEV_DIALOGS
    test = datadir.load(out / "test")
    assert set(test.utt2sess.values()) == {"Ses05"}
    assert set(datadir.load(out / "train").utt2sess.values()) == {"Ses01", "Ses02", "Ses03", "Ses04"}


def test_table_counts_per_session_and_class_and_published_difference_is_said(default) -> None:
    _, result = default
    table = result.tables[0]
    assert table.rows["total"] == {"ang": 5, "hap": 7, "neu": 7, "sad": 6, "total": 25}
    assert table.rows["Ses01"] == {"ang": 1, "hap": 2, "neu": 2, "sad": 2, "total": 7}
    assert table.rows["Ses05"]["total"] == 4
    assert table.published["total"]["total"] == 5531
    assert any("differ from the published" in note and "5,531" in note for note in result.notes)


def test_ids_speakers_gender_from_the_last_field_and_labels(default) -> None:
    out, _ = default
    dev = datadir.load(out / "dev")
    # odd dialog name: position 15 would be '_' here; the last id field decides
    assert (
        dev.utt2gender["Ses03F-Ses03M_impro05a_F000"] == "f"
        and dev.utt2spk["Ses03F-Ses03M_impro05a_F000"] == "Ses03F"
    )
    assert (
        dev.utt2gender["Ses03M-Ses03M_impro05a_M000"] == "m"
        and dev.utt2spk["Ses03M-Ses03M_impro05a_M000"] == "Ses03M"
    )
    # exc merged into hap; the Attribute/ trap (neu -> ang) was not read
    assert (
        dev.utt2emo["Ses01F-Ses01F_impro01_F001"] == "hap"
        and dev.utt2emo["Ses01F-Ses01F_impro01_F000"] == "neu"
    )
    assert "Ses01M-Ses01F_impro01_M001" not in dev.utt2emo  # xxx dropped
    test = datadir.load(out / "test")
    assert test.utt2spk["Ses05F-Ses05M_script01_1b_F000"] == "Ses05F"
    assert test.meta["classes"] == ["ang", "hap", "neu", "sad"]
    assert test.meta["protocol"]["class_map"] == "4-class" and test.meta["protocol"]["test_sessions"] == [5]
    assert (out / "test" / "spk2gender").read_text() == "Ses05F f\nSes05M m\n"
    assert not (out / "test" / "segments").exists()  # whole files: wav.scp is 'utt path'
    assert test.utt2dur == {u: 0.8 for u in test.utts} and test.reco2dur == test.utt2dur


def test_meta_protocol_block(default, corpus: Path, tmp_path: Path) -> None:
    out, _ = default
    meta = datadir.load(out / "dev").meta
    assert meta["synthetic"] is False and meta["sample_rate"] == 16000 and meta["corpus"] == "iemocap"
    block = meta["protocol"]
    assert (block["folds"], block["sets"], block["train"], block["dev"], block["score"]) == (
        [],
        ["train", "dev", "test"],
        "train",
        "dev",
        ["test"],
    )
    assert "session(s) [5]" in block["split"]
    iemocap.prepare(corpus, tmp_path, folds="loso", dev_fraction=0.0)
    block = datadir.load(tmp_path / "fold2" / "train").meta["protocol"]
    assert block["folds"] == [f"fold{k}" for k in range(1, 6)] and block["fold"] == "fold2"
    assert block["sets"] == ["train", "test"] and block["dev"] is None


def test_text_and_wdseg_words(default) -> None:
    out, _ = default
    dev = datadir.load(out / "dev")
    assert dev.text["Ses01M-Ses01F_impro01_M002"] == "<laughter> that's sad"
    assert dev.words_ctm["Ses01F-Ses01F_impro01_F000"] == [
        CtmWord(0.05, 0.1, "excuse"),
        CtmWord(0.25, 0.1, "me"),
        CtmWord(0.45, 0.075, "well"),
        CtmWord(0.525, 0.075, "known"),
    ]
    # (2) variants stripped, ++LAUGHTER++ dropped, frames inclusive: "go(2) away" -> go 0.05+0.10, away
    assert [(w.word, w.start, w.dur) for w in dev.words_ctm["Ses02F-Ses02F_impro01_F000"]] == [
        ("go", 0.05, 0.1),
        ("away", 0.2, 0.1),
    ]
    assert "Ses03M-" + NO_WDSEG not in dev.words_ctm
    assert dev.meta["missing_wdseg"] == ["Ses03M-" + NO_WDSEG]
    train = datadir.load(out / "train")
    assert train.text["Ses02M-Ses02M_script02_1_M001"] == ""  # labelled, no transcription line


def test_vad_file_and_junk_listed_in_meta(default) -> None:
    out, _ = default
    vad = dict(line.split(" ", 1) for line in (out / "dev" / "utt2vad").read_text().splitlines())
    assert vad["Ses01F-Ses01F_impro01_F000"] == "5.5000 0.5000 2.5000"
    assert len(vad) == 13
    skipped = json.loads((out / "dev" / "meta.json").read_text())["skipped"]
    assert {k: v["count"] for k, v in skipped.items()} == {
        "labelled utterance without a transcription line (empty text)": 1,
        "labelled utterance without its sentence wav": 1,
        "macOS AppleDouble file": 10,
        "transcript-only utterance id (XX)": 1,
        "transcription line without an utterance id": 1,
    }
    assert skipped["transcript-only utterance id (XX)"]["examples"] == ["Ses03M_impro05a_MXX0"]


@pytest.mark.parametrize(
    ("class_map", "total", "classes"),
    [
        ("6-class", 27, {"ang": 5, "exc": 4, "fru": 2, "hap": 3, "neu": 7, "sad": 6}),
        (
            "all",
            31,
            {
                "ang": 5,
                "exc": 4,
                "fru": 2,
                "hap": 3,
                "neu": 7,
                "sad": 6,
                "sur": 1,
                "fea": 1,
                "oth": 1,
                "xxx": 1,
            },
        ),
    ],
)
def test_other_class_maps(corpus: Path, tmp_path: Path, class_map: str, total: int, classes: dict) -> None:
    result = iemocap.prepare(corpus, tmp_path, class_map=class_map)
    assert result.tables[0].rows["total"] == {**classes, "total": total}
    assert sum(s.utterances for s in result.sets) == total
    assert datadir.load(tmp_path / "test").meta["classes"] == sorted(
        set(iemocap.CLASS_MAPS[class_map].values())
    )
    assert _errors(tmp_path / "train") == []


def test_loso_folds(corpus: Path, tmp_path: Path) -> None:
    result = iemocap.prepare(corpus, tmp_path, folds="loso")
    assert sorted(s.name for s in result.sets) == sorted(
        f"fold{k}/{n}" for k in range(1, 6) for n in ("train", "dev", "test")
    )
    for k in range(1, 6):
        sizes = {n: datadir.load(tmp_path / f"fold{k}" / n) for n in ("train", "dev", "test")}
        assert set(sizes["test"].utt2sess.values()) == {f"Ses{k:02d}"}
        assert f"Ses{k:02d}" not in set(sizes["dev"].utt2sess.values()) | set(
            sizes["train"].utt2sess.values()
        )
        assert sum(len(d) for d in sizes.values()) == 25
        assert sizes["test"].meta["protocol"]["fold"] == f"fold{k}"
    assert len(datadir.load(tmp_path / "fold5" / "test")) == 4
    assert len(datadir.load(tmp_path / "fold1" / "test")) == 7


def test_dev_rule_is_the_smallest_sha1_per_session() -> None:
    dialogs = {s: set(d) for s, d in DIALOGS.items() if s != 5}
    expected = {min(names, key=lambda d: hashlib.sha1(d.encode()).hexdigest()) for names in dialogs.values()}
    assert iemocap.dev_dialogs(dialogs, 0.1) == expected == set(DEV_DIALOGS)
    many = {1: {f"Ses01F_impro{i:02d}" for i in range(1, 29)}}
    assert len(iemocap.dev_dialogs(many, 0.1)) == 3  # round(2.8)
    assert iemocap.dev_dialogs({1: {"only"}}, 0.1) == set()
    assert iemocap.dev_dialogs(many, 0.0) == set()


def test_published_counts_of_the_full_release() -> None:
    four = iemocap.published_counts(iemocap.CLASS_MAPS["4-class"])
    assert four["total"] == {"ang": 1103, "hap": 1636, "neu": 1708, "sad": 1084, "total": 5531}
    assert [four[f"Ses0{k}"]["total"] for k in range(1, 6)] == [1085, 1023, 1151, 1031, 1241]
    assert iemocap.published_counts(iemocap.CLASS_MAPS["6-class"])["total"]["total"] == 7380
    assert iemocap.published_counts(iemocap.CLASS_MAPS["all"])["total"]["total"] == 10039


def _copy(corpus: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(corpus, tmp_path / "IEMOCAP_full_release"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_bytes().decode("latin-1")
    assert old in text
    path.write_bytes(text.replace(old, new, 1).encode("latin-1"))


EMO = "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"


@pytest.mark.parametrize(
    ("relative", "old", "new", "line", "message"),
    [
        (EMO, "\tSes01F_impro01_M000\thap\t", "\tSes01F_impro01_M000\t", 10, "malformed summary line"),
        (EMO, "[2.0000 - 2.8000]", "[2.0000 - 2.8x00]", 3, "unparsable end time"),
        (EMO, "\tSes01F_impro01_M000\thap\t", "\tSes01F_impro01_M000\thappy\t", 10, "unknown emotion code"),
        (EMO, "[5.5000, 0.5000, 2.5000]", "[5.5000, 0.5000]", 3, "expected 3 values"),
        (
            "Session1/sentences/ForcedAlignment/Ses01F_impro01/Ses01F_impro01_F000.wdseg",
            "   25    34",
            "   2x    34",
            5,
            "unparsable frame numbers",
        ),
        (
            "Session1/sentences/ForcedAlignment/Ses01F_impro01/Ses01F_impro01_F000.wdseg",
            "-258661 ME",
            "ME",
            5,
            "expected 4 fields",
        ),
        (
            "Session1/dialog/transcriptions/Ses01F_impro01.txt",
            "[003.1000-003.9000]",
            "[003.1000 003.9000]",
            3,
            "malformed transcription line",
        ),
    ],
)
def test_malformed_lines_stop_with_file_line_and_fix(
    corpus: Path, tmp_path: Path, relative: str, old: str, new: str, line: int, message: str
) -> None:
    root = _copy(corpus, tmp_path)
    _edit(root / relative, old, new)
    with pytest.raises(SerkitError) as caught:
        iemocap.prepare(root, tmp_path / "out")
    err = caught.value
    assert err.path == str(root / relative) and err.line == line, err.format()
    assert message in err.message and err.hint


def test_missing_folders_name_the_expected_path(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SerkitError, match="Session1 ... .*Session5"):
        iemocap.prepare(tmp_path / "empty", tmp_path / "out")
    root = _copy(corpus, tmp_path)
    shutil.rmtree(root / "Session2" / "dialog" / "EmoEvaluation")
    with pytest.raises(SerkitError) as caught:
        iemocap.prepare(root, tmp_path / "out")
    assert caught.value.path == str(root / "Session2" / "dialog" / "EmoEvaluation")
    shutil.rmtree(root / "Session5")
    shutil.copytree(corpus / "Session2", root / "Session2", dirs_exist_ok=True)
    with pytest.raises(SerkitError, match=r"test session\(s\) \[5\] not found"):
        iemocap.prepare(root, tmp_path / "out")
    result = iemocap.prepare(root, tmp_path / "out", test_sessions=(4,))
    assert {s.name: s.utterances for s in result.sets}["test"] == 4
    assert result.tables[0].published.keys() == {"Ses01", "Ses02", "Ses03", "Ses04", "total"}
    assert result.tables[0].published["total"]["total"] == 5531 - 1241  # the published total of sessions 1-4


def test_cli_prints_the_summary_and_errors_in_one_line(corpus: Path, tmp_path: Path) -> None:
    done = run_serkit(
        "prepare-data", "iemocap", str(corpus), str(tmp_path / "data"), "--class-map", "6-class"
    )
    assert done.returncode == 0, done.stderr
    for text in ("train", "dev", "test", "utterances", "speakers", "Ses05", "published", "exc"):
        assert text in done.stderr
    bad = run_serkit("prepare-data", "iemocap", str(tmp_path / "nope"), str(tmp_path / "data"))
    assert bad.returncode == 2 and len([x for x in bad.stderr.splitlines() if x.strip()]) == 1
    wrong = run_serkit("prepare-data", "iemocap", str(corpus), str(tmp_path / "d"), "--tie-rule", "drop")
    assert wrong.returncode == 2 and "No such option" in wrong.stderr and "--tie-rule" in wrong.stderr


def test_no_dev_set_with_a_zero_fraction_and_an_error_without_training_data(
    corpus: Path, tmp_path: Path
) -> None:
    result = iemocap.prepare(corpus, tmp_path / "a", dev_fraction=0.0)
    assert {s.name: s.utterances for s in result.sets} == {"train": 21, "test": 4}
    assert not (tmp_path / "a" / "dev").exists() and any("no dev dialogs" in n for n in result.notes)
    root = _copy(corpus, tmp_path)
    for k in (1, 2, 3, 4):
        shutil.rmtree(root / f"Session{k}")
    with pytest.raises(SerkitError, match="no 4-class utterances for train"):
        iemocap.prepare(root, tmp_path / "b")


def test_matching_counts_are_said_to_match(corpus: Path, tmp_path: Path, monkeypatch) -> None:
    fixture_counts = {
        "neu": (2, 1, 2, 1, 1), "hap": (1, 1, 0, 1, 0), "exc": (1, 1, 1, 0, 1), "ang": (1, 1, 1, 1, 1),
        "sad": (2, 1, 1, 1, 1),
    }  # fmt: skip
    monkeypatch.setattr(iemocap, "PUBLISHED_CODE_COUNTS", fixture_counts)
    result = iemocap.prepare(corpus, tmp_path)
    assert "counts match the published full release (25 for 4-class)" in result.notes
    assert datadir.load(tmp_path / "test").meta["published_match"] is True

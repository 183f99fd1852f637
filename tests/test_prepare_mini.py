"""Tiny mini corpora: all three prepare and validate; ASR reports its WER; alignment finds true times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serkit import datadir, validate
from serkit.cli import main
from serkit.corpora import iemocap, mosei, sewa
from serkit.text import align, asr

LAYOUTS = ("iemocap", "mosei", "sewa")


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mini")
    for layout in LAYOUTS:
        args = ["make-mini-corpus", "--layout", layout, "--size", "tiny", "--nj", "2", str(root / layout)]
        assert main(args) == 0
    return root


@pytest.fixture(scope="module")
def data(mini: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    assert main(["prepare-data", "iemocap", str(mini / "iemocap"), str(out / "iemocap")]) == 0
    folds = mini / "mosei" / "folds.txt"
    assert (
        main(["prepare-data", "mosei", str(mini / "mosei"), str(out / "mosei"), "--folds", str(folds)]) == 0
    )
    assert main(["prepare-data", "sewa", str(mini / "sewa"), str(out / "sewa")]) == 0
    return out


def _manifest(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_mini_layouts_prepare_and_validate(data: Path, layout: str) -> None:
    for name in ("train", "dev", "test"):
        problems = validate.validate(data / layout / name)
        assert [p.format() for p in problems if p.severity == "error"] == [], (layout, name)
        assert len(datadir.load(data / layout / name)) > 0


def test_mini_iemocap_has_every_labelled_4class_turn(mini: Path, data: Path) -> None:
    records = [r for r in _manifest(mini / "iemocap") if r["labelled"]]
    expected = {
        r["utt"]: iemocap.CLASS_MAPS["4-class"][r["label"]]
        for r in records
        if r["label"] in iemocap.CLASS_MAPS["4-class"]
    }
    found = {}
    for name in ("train", "dev", "test"):
        part = datadir.load(data / "iemocap" / name)
        found.update({utt.split("-", 1)[1]: label for utt, label in part.utt2emo.items()})
        assert datadir.by_utterance(part, expected) == part.utt2emo  # manifest ids = ids without 'speaker-'
    assert found == expected
    test = datadir.load(data / "iemocap" / "test")
    assert set(test.utt2sess.values()) == {"Ses05"}
    truth = datadir.by_utterance(test, {r["utt"]: " ".join(w["word"] for w in r["words"]) for r in records})
    assert set(truth) == set(test.utts) and all(test.text[u] == truth[u] for u in test.utts)
    meta = test.meta
    assert (
        meta["synthetic"] is True and meta["sample_rate"] == 16000 and meta["protocol"]["score"] == ["test"]
    )


def test_mini_mosei_and_sewa_labels(mini: Path, data: Path) -> None:
    records = _manifest(mini / "mosei")
    total = sum(len(datadir.load(data / "mosei" / n)) for n in ("train", "dev", "test"))
    meta = datadir.load(data / "mosei" / "train").meta
    dropped = meta["skipped"].get("no emotion present (all six are 0) (row dropped)", {}).get("count", 0)
    assert total + dropped == sum(1 for r in records if r["labelled"])
    assert datadir.load(data / "sewa" / "train").meta["protocol"]["word_times"] == sewa.MANIFEST_TIMES
    assert mosei.CORPUS == meta["corpus"]


def test_sewa_word_times_from_the_manifest_or_equal_split(mini: Path, tmp_path: Path) -> None:
    sewa.prepare(mini / "sewa", tmp_path / "corpus")
    sewa.prepare(mini / "sewa", tmp_path / "split", word_times="equal-split")
    timed = datadir.load(tmp_path / "corpus" / "train")
    split = datadir.load(tmp_path / "split" / "train")
    assert split.meta["protocol"]["word_times"] == sewa.EQUAL_SPLIT
    utt = timed.utts[0]
    assert [w.word for w in timed.words_ctm[utt]] == [w.word for w in split.words_ctm[utt]]
    truth = [r for r in _manifest(mini / "sewa") if r["recording"] == utt and r.get("role") == "subject"]
    first = min(truth, key=lambda r: r["offset"])  # never the filler turn (the generator puts it later)
    word = first["words"][0]
    assert timed.words_ctm[utt][0].start == pytest.approx(first["offset"] + word["start"], abs=1e-3)
    assert timed.words_ctm[utt] != split.words_ctm[utt]


def test_align_words_reproduces_true_word_times(mini: Path, data: Path, tmp_path: Path) -> None:
    import shutil

    target = Path(shutil.copytree(data / "iemocap" / "test", tmp_path / "test"))
    report = align.align_data_dir(target)
    assert report.aligned == len(datadir.load(target)) and not report.failed
    aligned = datadir.load(target)
    truth = datadir.by_utterance(aligned, align.read_reference(mini / "iemocap" / "manifest.jsonl"))
    error = align.compare_alignments(truth, aligned.words_ctm).summary()
    print("alignment vs synthesis truth:", error)
    assert error["words"] > 50
    assert error["mean_boundary_error_ms"] < 40
    assert validate.validate(target) == []
    assert datadir.load(target).meta["words_ctm"]["aligned_utterances"] == report.aligned


def test_transcribe_reports_wer_with_a_domain_lm(data: Path, tmp_path: Path) -> None:
    import shutil

    target = Path(shutil.copytree(data / "iemocap" / "test", tmp_path / "test"))
    sentences = tmp_path / "lm.txt"
    train = datadir.load(data / "iemocap" / "train")
    sentences.write_text("\n".join(train.text.values()) + "\n")
    report = asr.transcribe(target, lm=str(sentences))
    print("domain-LM WER on the tiny test set:", report.wer.as_dict())
    assert report.wer is not None and report.wer.ref_words > 50 and 0 <= report.wer.rate < 1.0
    data_dir = datadir.load(target)
    assert set(data_dir.text_asr) == set(data_dir.utts)
    assert data_dir.meta["asr"]["wer_against_text"]["wer"] == round(report.wer.rate, 4)
    assert [p for p in validate.validate(target) if p.severity == "error"] == []


@pytest.mark.slow
def test_transcribe_the_whole_tiny_corpus_with_the_generic_lm(data: Path, tmp_path: Path) -> None:
    import shutil

    results = {}
    for name in ("train", "dev", "test"):
        target = Path(shutil.copytree(data / "iemocap" / name, tmp_path / name))
        results[name] = asr.transcribe(target, nj=2).wer
    total = results["train"] + results["dev"] + results["test"]
    print("generic-LM WER on the tiny corpus:", total.as_dict())
    assert 0.2 < total.rate < 0.9

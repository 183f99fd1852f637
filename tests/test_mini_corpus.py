"""Tiny mini corpora: the real layouts (parsed as datasets.md describes), determinism, CLI errors."""

from __future__ import annotations

import hashlib
import json
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from serkit.cli import main
from serkit.corpora.mini import generate_mini_corpus, read_manifest
from serkit.corpora.mini.wordlists import pronunciation_counts


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Generate each tiny layout once (seed 0, --nj 1) and return layout -> root."""
    roots = {}
    for layout in ("iemocap", "mosei", "sewa"):
        root = tmp_path_factory.mktemp("mini") / layout
        generate_mini_corpus(root, layout=layout, size="tiny", seed=0, nj=1)
        roots[layout] = root
    return roots


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_pcm(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as f:
        assert f.getnchannels() == 1 and f.getsampwidth() == 2, path
        return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2"), f.getframerate()


# --- determinism -------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["iemocap", "mosei", "sewa"])
def test_tree_is_byte_identical_for_nj_1_and_2(tiny, tmp_path, layout):
    generate_mini_corpus(tmp_path / "nj2", layout=layout, size="tiny", seed=0, nj=2)
    first, second = tree_hashes(tiny[layout]), tree_hashes(tmp_path / "nj2")
    assert len(first) > 10
    assert first == second


def test_another_seed_gives_another_corpus(tiny, tmp_path):
    generate_mini_corpus(tmp_path / "seed1", layout="iemocap", size="tiny", seed=1, nj=2)
    first, other = tree_hashes(tiny["iemocap"]), tree_hashes(tmp_path / "seed1")
    shared = set(first) & set(other)
    assert shared, "the same seed-independent layout should share paths"
    assert all(first[p] != other[p] for p in shared if p.endswith(".wav"))
    assert first["manifest.jsonl"] != other["manifest.jsonl"]


def test_no_digital_zeros_and_right_formats(tiny):
    rates = {"iemocap": 16000, "mosei": 16000, "sewa": 44100}
    for layout, root in tiny.items():
        wavs = sorted(root.rglob("*.wav"))
        assert wavs
        for path in wavs:
            pcm, rate = read_pcm(path)
            assert rate == rates[layout], path
            assert path.stat().st_size == 44 + 2 * pcm.size, path
            assert np.all(pcm != 0), f"{path} has exact digital zeros"


# --- manifest -------------------------------------------------------------------------------------------


def test_manifest_holds_the_generation_truth(tiny):
    for layout, root in tiny.items():
        records = read_manifest(root / "manifest.jsonl")
        assert records and len({r["utt"] for r in records}) == len(records)
        for r in records:
            assert r["layout"] == layout and r["gender"] in ("F", "M")
            assert r["emotion"] in ("neu", "hap", "ang", "sad") and 0 <= r["intensity"] <= 1
            assert r["lex_mode"] in ("congruent", "neutral", "incongruent", "filler")
            times = [(w["start"], w["end"]) for w in r["words"]]
            assert [w["word"] for w in r["words"]] == re.findall(r"[^\W\d_]+", r["text"].lower())
            assert all(0 < s < e <= r["duration"] for s, e in times), r["utt"]
            assert all(a[1] <= b[0] + 1e-9 for a, b in zip(times, times[1:], strict=False)), r["utt"]
        if layout != "sewa":  # espeak fuses "I am", "in the", "was a" in English
            assert any(w["merged"] for r in records for w in r["words"])


def test_word_times_match_the_audio(tiny):
    root = tiny["iemocap"]
    for record in read_manifest(root / "manifest.jsonl"):
        if not record["labelled"]:
            continue
        pcm, rate = read_pcm(root / record["files"]["wav"])
        x = pcm.astype(float)
        first, last = record["words"][0]["start"], record["words"][-1]["end"]
        lead = x[: int((first - 0.01) * rate)]
        speech = x[int(first * rate) : int(last * rate)]
        assert np.sqrt(np.mean(speech**2)) > 4 * np.sqrt(np.mean(lead**2)), record["utt"]


# --- IEMOCAP ----------------------------------------------------------------------------------------------

SUMMARY = re.compile(
    r"^\[(\d+\.\d{4}) - (\d+\.\d{4})\]\t(\S+)\t(\w{3})\t\[(\d\.\d{4}), (\d\.\d{4}), (\d\.\d{4})\]$"
)
C_LINE = re.compile(r"^C-[EFM]\d:\t(?:[A-Z][a-z]+; )*(?:[A-Z][a-z]+;|;)\t\(.*\)$")
A_LINE = re.compile(r"^A-[EFM]\d:\tval \d; act \d; dom  \d;\t\(.*\)$")
TRANSCRIPT = re.compile(r"^(\S+) \[(\d{3}\.\d{4})-(\d{3}\.\d{4})\]: (.+)$")
DIALOG = re.compile(r"^Ses0[1-5][FM]_(impro0[1-8][ab]?|script0[1-3]_[1-3]b?)$")


def parse_emo_evaluation(path: Path) -> dict[str, tuple[float, float, str]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0].startswith("% [START_TIME - END_TIME]") and lines[1] == ""
    entries = {}
    for i, line in enumerate(lines[2:], start=2):
        if line.startswith("["):
            assert lines[i - 1] == "", f"{path}:{i} block not preceded by a blank line"
            m = SUMMARY.match(line)
            assert m, f"{path}:{i}: {line!r}"
            entries[m.group(3)] = (float(m.group(1)), float(m.group(2)), m.group(4))
        elif line:
            assert C_LINE.match(line) or A_LINE.match(line), f"{path}:{i}: {line!r}"
    return entries


def test_iemocap_layout(tiny):
    root = tiny["iemocap"]
    records = {r["utt"]: r for r in read_manifest(root / "manifest.jsonl")}
    assert sorted(p.name for p in root.iterdir()) == [*(f"Session{k}" for k in range(1, 6)), "manifest.jsonl"]
    dialogs = sorted(p.stem for p in root.glob("Session*/dialog/EmoEvaluation/*.txt"))  # non-recursive
    assert all(DIALOG.match(d) for d in dialogs) and {"Ses03M_impro05a", "Ses05M_script01_1b"} <= set(dialogs)
    assert len(list(root.glob("Session*/dialog/EmoEvaluation/**/*.txt"))) > len(
        dialogs
    )  # recursive finds more
    assert list(root.glob("Session*/dialog/EmoEvaluation/Categorical/*_e1_cat.txt"))
    labels, idless, xx, no_wdseg = {}, 0, [], []
    for session in range(1, 6):
        base = root / f"Session{session}"
        for emo_file in sorted((base / "dialog" / "EmoEvaluation").glob("*.txt")):
            dialog = emo_file.stem
            entries = parse_emo_evaluation(emo_file)
            transcript = {}
            for line in (base / "dialog" / "transcriptions" / f"{dialog}.txt").read_text().splitlines():
                m = TRANSCRIPT.match(line)
                if m is None:
                    assert re.match(r"^[MF]: ", line), line
                    idless += 1
                    continue
                transcript[m.group(1)] = (float(m.group(2)), float(m.group(3)))
                if re.search(r"_[MF]XX\d$", m.group(1)):
                    xx.append(m.group(1))
            dialog_pcm, dialog_rate = read_pcm(base / "dialog" / "wav" / f"{dialog}.wav")
            assert dialog_rate == 16000
            for utt, (start, end, label) in entries.items():
                assert utt.rsplit("_", 1)[0] == dialog and int(utt[3:5]) == session
                assert utt.rsplit("_", 1)[1][0] == records[utt]["gender"]
                assert records[utt]["speaker"] == f"Ses{session:02d}{records[utt]['gender']}"
                assert transcript[utt] == (start, end)
                pcm, rate = read_pcm(base / "sentences" / "wav" / dialog / f"{utt}.wav")
                assert rate == 16000 and abs(pcm.size - (end - start) * rate) <= 2
                assert end * rate <= dialog_pcm.size + 2
                labels[utt] = label
                wdseg = base / "sentences" / "ForcedAlignment" / dialog / f"{utt}.wdseg"
                if wdseg.exists():
                    check_wdseg(wdseg, records[utt])
                else:
                    no_wdseg.append(utt)
            for line in (emo_file.parent / "Categorical" / f"{dialog}_e1_cat.txt").read_text().splitlines():
                assert re.match(r"^\S+ :[A-Z][a-z]+( state)?;( :[A-Z][a-z]+( state)?;)* \(\)$", line), line
    assert set(labels.values()) == {"neu", "hap", "exc", "ang", "sad", "fru", "xxx"}
    assert labels == {u: r["label"] for u, r in records.items() if r["labelled"]}
    assert idless == 1 and len(xx) == 1 and xx[0] not in labels and len(no_wdseg) == 1


def check_wdseg(path: Path, record: dict) -> None:
    lines = path.read_text().splitlines()
    assert lines[0].split() == ["SFrm", "EFrm", "SegAScr", "Word"] and lines[0].startswith("\t")
    assert lines[-1].startswith(" Total score:")
    rows = [line.split() for line in lines[1:-1]]
    assert all(len(r) == 4 and line.startswith("\t") for r, line in zip(rows, lines[1:-1], strict=True))
    assert rows[0][3] == "<s>" and rows[-1][3] == "</s>"
    assert int(lines[-1].split()[-1]) == sum(int(r[2]) for r in rows) and all(int(r[2]) < 0 for r in rows)
    frames = [(int(r[0]), int(r[1])) for r in rows]
    assert frames[0][0] == 0 and all(b[0] == a[1] + 1 for a, b in zip(frames, frames[1:], strict=False))
    words = [(r[3], int(r[0]), int(r[1])) for r in rows if not r[3].startswith("<")]
    assert all(re.match(r"^[A-Z']+(\(\d\))?$", w) for w, _, _ in words)
    truth = record["words"]
    assert [re.sub(r"\(\d\)$", "", w).lower() for w, _, _ in words] == [w["word"] for w in truth]
    for (_, start, _), w in zip(words, truth, strict=True):
        assert abs(start * 0.01 - w["start"]) <= 0.03, (path, w)
    variants = [(re.sub(r"\(\d\)$", "", w).lower(), int(w[-2])) for w, _, _ in words if w.endswith(")")]
    counts = pronunciation_counts(w for w, _ in variants)
    assert all(2 <= n <= counts[w] for w, n in variants)


def test_iemocap_has_pronunciation_variants(tiny):
    tokens = [
        line.split()[-1] for p in tiny["iemocap"].rglob("*.wdseg") for line in p.read_text().splitlines()
    ]
    assert any(re.search(r"\(\d\)$", t) for t in tokens)


# --- CMU-MOSEI ---------------------------------------------------------------------------------------------


def parse_transcript(path: Path) -> list[tuple[int, float, float, str]]:
    """datasets.md 2.7: strip the known ``<stem>___`` prefix, then split the rest with maxsplit=3."""
    rows = []
    for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
        assert line.startswith(path.stem + "___"), line
        segment, start, end, text = line[len(path.stem) + 3 :].split("___", 3)
        rows.append((int(segment), float(start), float(end), text))
    return rows


def test_mosei_layout(tiny):
    h5py = pytest.importorskip("h5py")
    root = tiny["mosei"]
    records = read_manifest(root / "manifest.jsonl")
    vids = sorted(p.stem for p in (root / "Raw/Audio/Full/WAV_16000").glob("*.wav"))
    assert sorted(p.stem for p in (root / "Raw/Transcript/Segmented/Combined").glob("*.txt")) == vids
    assert any(v.startswith("-") for v in vids) and any("__" in v for v in vids)
    assert any(v.isdigit() and len(v) == 4 for v in vids) and sum(v.isdigit() for v in vids) >= 2
    transcripts = {v: parse_transcript(root / "Raw/Transcript/Segmented/Combined" / f"{v}.txt") for v in vids}
    assert all([s for s, *_ in rows] == list(range(len(rows))) for rows in transcripts.values())
    assert any(text.endswith(" ") for rows in transcripts.values() for *_, text in rows)
    assert any(b[1] < a[2] for rows in transcripts.values() for a, b in zip(rows, rows[1:], strict=False))
    with h5py.File(root / "CMU_MOSEI_Labels.csd", "r") as f:
        assert list(f.keys()) == ["All Labels"]
        meta = f["All Labels"]["metadata"]
        names = json.loads(meta["dimension names"][0])
        assert names == ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]
        data = f["All Labels"]["data"]
        assert sorted(data.keys()) == vids
        unsorted = negative = 0
        for vid in vids:
            features, intervals = data[vid]["features"][()], data[vid]["intervals"][()]
            assert features.shape == (len(transcripts[vid]), 7) and intervals.shape == (len(features), 2)
            assert np.allclose(features * 3, np.round(features * 3), atol=1e-9)
            assert features[:, 0].min() >= -3 and features[:, 0].max() <= 3
            assert features[:, 1:].min() >= 0 and features[:, 1:].max() <= 3
            assert {tuple(i) for i in intervals} == {(s, e) for _, s, e, _ in transcripts[vid]}
            unsorted += bool(np.any(np.diff(intervals[:, 0]) < 0))
            negative += int(np.sum(intervals[:, 0] < 0))
        assert unsorted >= 1 and negative == 1
    with h5py.File(root / "CMU_MOSEI_TimestampedWords.csd", "r") as f:
        assert list(f.keys()) == ["words"]
        for vid in vids:
            words = f["words"]["data"][vid]["features"][()]
            assert words.dtype.kind == "S" and words.shape[1] == 1
            spoken = [w.decode() for w in words[:, 0] if w != b"sp"]
            truth = [
                w["word"]
                for r in sorted((r for r in records if r["recording"] == vid), key=lambda r: r["segment"])
                for w in r["words"]
            ]
            assert spoken == truth and b"sp" in words[:, 0]
    folds = [
        line.split() for line in (root / "folds.txt").read_text().splitlines() if not line.startswith("#")
    ]
    assert sorted(video for video, _ in folds) == vids and {name for _, name in folds} == {
        "train",
        "valid",
        "test",
    }
    speaker_folds = {
        (r["speaker"], name) for r in records for video, name in folds if video == r["recording"]
    }
    assert len(speaker_folds) == len({s for s, _ in speaker_folds}), "folds must be speaker-disjoint"


# --- SEWA -------------------------------------------------------------------------------------------------


def test_sewa_layout(tiny):
    root = tiny["sewa"]
    names = sorted(p.stem for p in (root / "audio").glob("*.wav"))
    assert names == ["Devel_01", "Test_01", "Train_01", "Train_02"]
    for folder in ("labels", "turns", "transcriptions"):
        assert sorted(p.stem for p in (root / folder).glob("*.csv")) == names
    records = read_manifest(root / "manifest.jsonl")
    assert {r["role"] for r in records} == {"subject", "partner"}
    with_semicolon = umlauts = 0
    valence = {"hap": [], "sad": [], "ang": [], "neu": []}
    for name in names:
        pcm, rate = read_pcm(root / "audio" / f"{name}.wav")
        assert rate == 44100
        rows = (root / "labels" / f"{name}.csv").read_text().splitlines()
        assert not rows[0].lower().startswith("name")
        table = []
        for i, row in enumerate(rows):
            fields = row.split(";")
            assert len(fields) == 5 and fields[0] == f"'{name}'"
            assert fields[1] == f"{i / 10:.6f}"
            table.append([float(x) for x in fields[1:]])
        table = np.array(table)
        assert table[-1, 0] <= pcm.size / rate < table[-1, 0] + 0.1
        turns = [
            tuple(map(float, row.split(";"))) for row in (root / "turns" / f"{name}.csv").read_text().split()
        ]
        assert all(s < e for s, e in turns) and turns == sorted(turns)
        texts = []
        for row in (root / "transcriptions" / f"{name}.csv").read_text(encoding="utf-8").splitlines():
            fields = row.split(";")
            float(fields[0]), float(fields[1])
            text = ";".join(fields[2:])
            assert text.startswith("'") and text.endswith("'")
            texts.append(text[1:-1])
        assert texts.count("<filler>") == 1 and len(texts) == len(turns) + 1
        with_semicolon += sum(";" in t for t in texts)
        umlauts += sum(bool(re.search("[äöüß]", t)) for t in texts)
        for r in records:
            if r["recording"] == name and r["role"] == "subject" and r["lex_mode"] != "filler":
                start, end = r["interval"]
                frames = (table[:, 0] >= start + 1.0) & (table[:, 0] <= end + 1.0)
                valence[r["emotion"]].extend(table[frames, 2])
    assert with_semicolon >= 1 and umlauts >= 1
    assert np.mean(valence["hap"]) > np.mean(valence["sad"] + valence["ang"]) + 0.1


# --- CLI ------------------------------------------------------------------------------------------------


def test_cli_generates_and_refuses_bad_arguments(tmp_path, capsys):
    out = tmp_path / "corpus"
    assert main(["make-mini-corpus", "--layout", "sewa", "--size", "tiny", "--nj", "2", str(out)]) == 0
    assert (out / "manifest.jsonl").is_file()
    capsys.readouterr()
    assert main(["make-mini-corpus", "--layout", "sewa", "--size", "tiny", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["make-mini-corpus", "--layout", "sewa", "--size", "tiny", "--force", str(out)]) == 0
    capsys.readouterr()
    assert main(["make-mini-corpus", "--layout", "timit", str(tmp_path / "x")]) == 2
    assert "unknown layout 'timit'" in capsys.readouterr().err
    assert main(["make-mini-corpus", "--size", "huge", str(tmp_path / "x")]) == 2
    assert main(["make-mini-corpus", "--nj", "0", str(tmp_path / "x")]) == 2
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["make-mini-corpus", "--size", "tiny", str(blocker / "corpus")]) == 2
    assert "is a file" in capsys.readouterr().err
    other = tmp_path / "precious"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert main(["make-mini-corpus", "--size", "tiny", "--force", str(other)]) == 2
    assert (other / "notes.txt").read_text() == "keep me"
    assert not list(tmp_path.glob(".*partial*"))


def test_unwritable_output_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("serkit.corpora.mini.generate.os.access", lambda path, mode: False)
    assert main(["make-mini-corpus", "--size", "tiny", str(tmp_path / "deep" / "corpus")]) == 2
    err = capsys.readouterr().err
    assert "is not writable" in err and len(err.strip().splitlines()) <= 2
    assert not (tmp_path / "deep").exists()


def test_cli_help_has_an_example(capsys):
    assert main(["make-mini-corpus", "--help"]) == 0
    assert "Example: serkit make-mini-corpus" in capsys.readouterr().out

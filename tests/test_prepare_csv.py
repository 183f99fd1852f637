"""prepare-data csv: a CSV listing the tiny mini IEMOCAP corpus gives what prepare-data iemocap gives;
cuts and frame labels; Kaldi's validator; every bad input is one line naming LIST.csv:line, exit 2."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_serkit, write_wav
from test_kaldi_compat import _locale_shim, kaldi_validate

from serkit import datadir, validate
from serkit.cli import main

SETS = ("train", "dev", "test")
COLUMNS = ["utt", "path", "speaker", "label", "text", "session", "gender", "partition"]
FILES = ("wav.scp", "utt2spk", "spk2utt", "utt2emo", "text", "utt2sess", "spk2gender", "utt2dur", "reco2dur")


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def iemocap(tmp_path_factory) -> Path:
    """The tiny mini IEMOCAP corpus through prepare-data iemocap: ``root/mini``, ``root/data``."""
    root = tmp_path_factory.mktemp("csv")
    assert (
        main(["make-mini-corpus", "--layout", "iemocap", "--size", "tiny", "--nj", "2", str(root / "mini")])
        == 0
    )
    assert main(["prepare-data", "iemocap", str(root / "mini"), str(root / "data")]) == 0
    return root


def iemocap_list(data: Path, path: Path) -> Path:
    """A CSV of the prepared IEMOCAP sets: CSV ids are the corpus ids (without ``<speaker>-``)."""
    rows = []
    for name in SETS:
        part = datadir.load(data / name)
        for utt in part.utts:
            speaker = part.utt2spk[utt]
            rows.append(
                [
                    utt.removeprefix(f"{speaker}-"),
                    part.wav_scp[utt].path,
                    speaker,
                    part.utt2emo[utt],
                    part.text[utt],
                    part.utt2sess[utt],
                    part.utt2gender[utt],
                    name,
                ]
            )
    return _write_csv(path, COLUMNS, rows)


@pytest.fixture(scope="module")
def from_csv(iemocap: Path) -> Path:
    """prepare-data csv of that list, with --ctm the words.ctm lines of all three IEMOCAP sets keyed by
    the CSV's ids (IEMOCAP's ids without ``<speaker>-``), sorted as CTM is."""
    listed = iemocap_list(iemocap / "data", iemocap / "list.csv")
    lines = []
    for name in SETS:
        for line in (iemocap / "data" / name / "words.ctm").read_text().splitlines():
            utt, rest = line.split(" ", 1)
            lines.append((utt.split("-", 1)[1], rest))
    lines.sort(key=lambda x: (x[0].encode(), float(x[1].split()[1])))
    ctm = iemocap / "all.ctm"
    ctm.write_text("".join(f"{utt} {rest}\n" for utt, rest in lines))
    out = iemocap / "from_csv"
    assert main(["prepare-data", "csv", str(listed), str(out), "--ctm", str(ctm)]) == 0
    return out


def test_the_list_gives_the_iemocap_data_dirs(iemocap: Path, from_csv: Path) -> None:
    for name in SETS:
        ours, theirs = datadir.load(from_csv / name), datadir.load(iemocap / "data" / name)
        assert ours.utts == theirs.utts and len(ours) > 0
        assert ours.wav_scp == theirs.wav_scp
        assert (ours.utt2spk, ours.utt2emo, ours.text, ours.utt2sess) == (
            theirs.utt2spk,
            theirs.utt2emo,
            theirs.text,
            theirs.utt2sess,
        )
        assert ours.words_ctm == theirs.words_ctm and ours.words_ctm
        for file in (*FILES, "words.ctm"):
            assert (from_csv / name / file).read_bytes() == (iemocap / "data" / name / file).read_bytes(), (
                file
            )
        meta = ours.meta
        assert (meta["corpus"], meta["synthetic"], meta["sample_rate"]) == ("csv", True, 16000)
        assert meta["classes"] == ["ang", "hap", "neu", "sad"]
        assert meta["protocol"]["sets"] == list(SETS) and meta["protocol"]["score"] == ["test"]
    assert run_serkit("protocol", str(from_csv), "sets").stdout.split() == list(SETS)
    assert run_serkit("protocol", str(from_csv), "folds").stdout.split() == ["-"]


def test_without_ctm_no_words_and_loso_folds_by_session(iemocap: Path, tmp_path: Path) -> None:
    listed = iemocap / "list.csv"
    assert main(["prepare-data", "csv", str(listed), str(tmp_path / "plain")]) == 0
    assert not (tmp_path / "plain" / "train" / "words.ctm").exists()
    # a CTM keyed by the data dir's ids works too; lines of utterances not listed are counted
    ctm = iemocap / "data" / "dev" / "words.ctm"
    assert main(["prepare-data", "csv", str(listed), str(tmp_path / "dev_ctm"), "--ctm", str(ctm)]) == 0
    dev = datadir.load(tmp_path / "dev_ctm" / "dev")
    assert dev.words_ctm == datadir.load(iemocap / "data" / "dev").words_ctm
    assert not (tmp_path / "dev_ctm" / "train" / "words.ctm").exists()
    assert main(["prepare-data", "csv", str(listed), str(tmp_path / "loso"), "--split", "loso"]) == 0
    folds = [f"fold{k}" for k in range(1, 6)]
    assert sorted(p.name for p in (tmp_path / "loso").iterdir()) == folds
    for k, fold in enumerate(folds, start=1):
        test = datadir.load(tmp_path / "loso" / fold / "test")
        train = datadir.load(tmp_path / "loso" / fold / "train")
        dev = datadir.load(tmp_path / "loso" / fold / "dev")
        assert set(test.utt2sess.values()) == {f"Ses0{k}"} and f"Ses0{k}" not in set(train.utt2sess.values())
        assert not set(dev.utts) & set(train.utts) and len(dev) + len(train) + len(test) == 50
        assert test.meta["protocol"]["folds"] == folds and test.meta["protocol"]["fold"] == fold
    # the same dev recordings in every fold where their session trains (IEMOCAP's rule)
    dev1 = set(datadir.load(tmp_path / "loso" / "fold1" / "dev").utts)
    dev2 = set(datadir.load(tmp_path / "loso" / "fold2" / "dev").utts)
    assert {u for u in dev1 if u.startswith("Ses03")} == {u for u in dev2 if u.startswith("Ses03")}


def test_speaker_split_classes_and_merge(iemocap: Path, tmp_path: Path) -> None:
    args = [
        "--split",
        "speaker",
        "--test-speakers",
        "Ses05F,Ses05M",
        "--classes",
        "ang,hap",
        "--merge",
        "neu:hap",
    ]
    assert main(["prepare-data", "csv", str(iemocap / "list.csv"), str(tmp_path), *args]) == 0
    test = datadir.load(tmp_path / "test")
    assert set(test.utt2spk.values()) == {"Ses05F", "Ses05M"}
    everything = {u: e for s in SETS for u, e in datadir.load(tmp_path / s).utt2emo.items()}
    assert set(everything.values()) == {"ang", "hap"} and len(everything) == 13 + 12 + 13  # ang, hap, neu
    assert test.meta["dropped_labels"] == {"sad": 12}
    assert test.meta["protocol"]["test_speakers"] == ["Ses05F", "Ses05M"]
    train, dev = datadir.load(tmp_path / "train"), datadir.load(tmp_path / "dev")
    assert set(dev.utt2spk.values()) <= set(train.utt2spk.values())  # dev: recordings of training speakers


@pytest.fixture
def cuts(tmp_path: Path) -> Path:
    """Two 3 s recordings cut in three utterances each, no speakers, 10 Hz arousal/valence label files."""
    rows = []
    for k, name in enumerate(("rec_a", "rec_b")):
        write_wav(tmp_path / "audio" / f"{name}.wav", 3.0, seed=k)
        frames = [[f"{i / 10:.1f}", f"{0.01 * i:.2f}", f"{-0.01 * i:.2f}"] for i in range(30)]
        (tmp_path / "labels").mkdir(exist_ok=True)
        _write_csv(tmp_path / "labels" / f"{name}.csv", ["time", "arousal", "valence"], frames)
        for start in (0.0, 1.0, 2.0):
            rows.append([f"audio/{name}.wav", start, start + 0.9, f"labels/{name}.csv", "Hello, World!"])
    return _write_csv(tmp_path / "list.csv", ["path", "start", "end", "labels", "text"], rows)


def test_cuts_and_frame_labels(cuts: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["prepare-data", "csv", str(cuts), str(out), "--test-fraction", "0.34"]) == 0
    utts = sorted(u for s in SETS if (out / s).is_dir() for u in datadir.load(out / s).utts)
    assert utts == ["rec_a-0", "rec_a-1000", "rec_a-2000", "rec_b-0", "rec_b-1000", "rec_b-2000"]
    test = datadir.load(out / "test")
    assert len(test) == 2 and not (out / "dev").exists()  # one recording per speaker: no dev
    train = datadir.load(out / "train")
    assert train.utt2spk == {u: u for u in train.utts}  # each utterance its own speaker
    entry = train.wav_scp["rec_a-1000"] if "rec_a-1000" in train.wav_scp else test.wav_scp["rec_a-1000"]
    assert (entry.recording, entry.start, entry.end) == ("rec_a", 1.0, 1.9)
    assert (out / "train" / "segments").is_file() and train.text[train.utts[0]] == "hello world"
    labels, rate, names = datadir.read_labels(out / "train" / "labels.h5")
    assert (rate, names, set(labels)) == (10.0, ["arousal", "valence"], set(train.utts))
    some = next(u for u in labels if u.endswith("-1000"))
    assert labels[some].shape == (9, 2) and np.allclose(labels[some][:, 0], 0.01 * np.arange(10, 19))
    assert train.meta["label_names"] == ["arousal", "valence"] and train.meta["synthetic"] is None
    assert "classes" not in train.meta and train.meta["protocol"]["class_map"] is None


@pytest.mark.skipif(shutil.which("perl") is None, reason="Kaldi's scripts need perl")
def test_kaldi_and_serkit_validators_accept_the_csv_dirs(from_csv: Path, cuts: Path, tmp_path: Path) -> None:
    assert main(["prepare-data", "csv", str(cuts), str(tmp_path / "cuts"), "--test-fraction", "0.34"]) == 0
    shim = _locale_shim(tmp_path / "bin")
    dirs = [from_csv / s for s in SETS] + [tmp_path / "cuts" / s for s in ("train", "test")]
    for path in dirs:
        result = kaldi_validate(path, shim)
        assert result.returncode == 0 and "Successfully validated" in result.stdout, (path, result.stdout)
        assert [p.format() for p in validate.validate(path) if p.severity == "error"] == [], path
        assert run_serkit("validate-data", str(path)).returncode == 0, path


# --------------------------------------------------------------------------- bad input

WAV = "audio/rec_a.wav"


def _bad_cases(root: Path) -> dict[str, tuple[str, list[str], str]]:
    """name → (CSV text, extra options, what the one line must hold besides ``list.csv:<line>``)."""
    (root / "junk.wav").write_bytes(b"RIFF not really a wave file")
    (root / "bad_labels.csv").write_text("time,arousal\n0.0,0.1\n0.1,high\n")
    ctm = root / "bad.ctm"
    ctm.write_text("rec_a 1 0.1 x hello\n")
    return {
        "no path column": ("utt,speaker\na,s\n", [], "list.csv:1: no 'path' column"),
        "unknown column": (f"path,lable\n{WAV},ang\n", [], "list.csv:1: unknown column 'lable'"),
        "missing audio": (f"path\n{WAV}\naudio/nope.wav\n", [], "list.csv:3: audio file"),
        "unreadable audio": ("path\njunk.wav\n", [], "list.csv:2: audio file"),
        "bad time": (f"path,start,end\n{WAV},0,1\n{WAV},1.0,soon\n", [], "list.csv:3: end 'soon'"),
        "end before start": (
            f"path,start,end\n{WAV},2.0,1.5\n",
            [],
            "list.csv:2: end 1.5 is not after start",
        ),
        "past the end": (f"path,start,end\n{WAV},2.0,9\n", [], "list.csv:2: end 9.0 is after the end"),
        "duplicate id": (
            f"utt,path\nx,{WAV}\ny,{WAV}\nx,{WAV}\n",
            [],
            "list.csv:4: duplicate utterance id 'x'",
        ),
        "unknown partition": (f"path,partition\n{WAV},valid\n", [], "list.csv:2: partition 'valid'"),
        "unknown split": (f"path\n{WAV}\n", ["--split", "random"], "list.csv: unknown --split 'random'"),
        "loso without sessions": (f"path\n{WAV}\n", ["--split", "loso"], "list.csv:1: --split loso needs"),
        "wrong field count": (f"path,utt\n{WAV},a,b\n", [], "list.csv:2: 3 fields, the header has 2"),
        "classes without labels": (f"path\n{WAV}\n", ["--classes", "ang"], "list.csv:1: --classes needs"),
        "bad gender": (f"path,gender\n{WAV},x\n", [], "list.csv:2: gender 'x'"),
        "malformed label file": (
            f"path,labels\n{WAV},bad_labels.csv\n",
            [],
            "bad_labels.csv:3: a time or value",
        ),
        "malformed ctm": (f"path\n{WAV}\n", ["--ctm", str(ctm)], "bad.ctm:1: bad times"),
    }


def test_every_bad_input_is_one_line_naming_the_file_and_line(tmp_path: Path, capsys) -> None:
    write_wav(tmp_path / WAV, 3.0)
    for name, (text, options, expected) in _bad_cases(tmp_path).items():
        listed = tmp_path / "list.csv"
        listed.write_text(text, encoding="utf-8")
        code = main(["prepare-data", "csv", str(listed), str(tmp_path / "out"), *options])
        err = capsys.readouterr().err.strip()
        assert code == 2, (name, err)
        assert len(err.splitlines()) == 1 and expected in err, (name, err)
        assert " — " in err, (name, err)  # the fix follows the dash
        if name == "malformed label file":
            assert "listed at list.csv:2" in err
    listed.write_bytes(b"path\n" + WAV.encode() + b"\n\xff.wav\n")
    assert main(["prepare-data", "csv", str(listed), str(tmp_path / "out")]) == 2
    assert "list.csv:3: not UTF-8" in capsys.readouterr().err


def test_a_fresh_process_says_one_line_and_skip_bad_audio_counts(tmp_path: Path) -> None:
    write_wav(tmp_path / WAV, 3.0)
    listed = tmp_path / "list.csv"
    listed.write_text(f"path,speaker\n{WAV},s1\naudio/gone.wav,s2\naudio/rec_a.wav,s3\n")
    result = run_serkit("prepare-data", "csv", str(listed), str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert "list.csv:3: audio file" in result.stderr and "--skip-bad-audio" in result.stderr
    ok = run_serkit("prepare-data", "csv", str(listed), str(tmp_path / "out"), "--skip-bad-audio")
    assert ok.returncode == 0, ok.stderr
    meta = datadir.load(tmp_path / "out" / "train").meta
    assert meta["skipped"]["row whose audio file is missing (skipped)"]["count"] == 1


# --------------------------------------------------------------------------- the recipe (slow)


@pytest.mark.slow
def test_iemocap_recipe_trains_from_a_csv_list(iemocap: Path, tmp_path: Path) -> None:
    """``bash run.sh --db list.csv --fast true`` in a copy of recipes/iemocap: stage 1 aligns (no --ctm)."""
    recipe = tmp_path / "iemocap"
    shutil.copytree(
        REPO / "recipes" / "iemocap",
        recipe,
        ignore=shutil.ignore_patterns("data", "exp", "feats", "mini", "RESULTS.md"),
    )
    listed = iemocap_list(iemocap / "data", tmp_path / "list.csv")
    env = {**os.environ, "SERKIT_ROOT": str(REPO), "OMP_NUM_THREADS": "1"}
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "run.sh", "--db", str(listed), "--fast", "true"],
        cwd=recipe, env=env, capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "aligning its text" in result.stderr
    for name in ("all", *SETS):
        assert (recipe / "data" / name / "words.ctm").is_file(), name
    results = (recipe / "exp" / "RESULTS.md").read_text()
    assert "`s2v_dual`" in results and "synthetic mini corpus" in results
    print(f"recipe from a CSV list: {time.monotonic() - started:.0f} s")

"""Fuzz: bad audio, job and store inputs to extract-features, validate-data and the store readers.

Each bad audio file is either handled and reported (the other utterances' features written, exit 0,
a report line where the audio was changed) or ends in exit 2 on one line naming the file, the good
utterances' features written all the same; the files that existed before are unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO, make_data_dir, run_serkit, speechlike, write_wav
from fuzzing import assert_one_clear_line, assert_unchanged, error_lines, snapshot

from serkit import store


def _corrupt_header(path: Path) -> None:
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" + bytes(64))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _subtype(subtype: str):
    def write(path: Path) -> None:
        sf.write(path, speechlike(1.0), 16000, subtype=subtype)

    return write


def _ten_ms(path: Path) -> None:
    write_wav(path, 0.01)


def _rate_44k(path: Path) -> None:
    write_wav(path, 1.0, rate=44100)


def _stereo(path: Path) -> None:
    x = speechlike(1.0)
    sf.write(path, np.stack([x, 0.5 * x], axis=1), 16000, subtype="PCM_16")


def _missing(path: Path) -> None:
    path.unlink()


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


#: case → (how the file is spoiled, what extract-features does per type: "fail" or the report it gives)
BAD_AUDIO = {
    "corrupt-header": (_corrupt_header, {"pyaa34": "fail", "spectrogram": "fail", "waveform": "fail"}),
    "empty": (_empty, {"pyaa34": "fail", "spectrogram": "fail"}),
    "truncated-data": (_truncated, {"pyaa34": "fail", "spectrogram": "fail"}),
    "pcm8": (_subtype("PCM_U8"), {"pyaa34": "", "spectrogram": ""}),
    "pcm24": (_subtype("PCM_24"), {"pyaa34": "", "spectrogram": ""}),
    "10ms": (_ten_ms, {"pyaa34": "fail", "spectrogram": ""}),
    "44.1kHz": (_rate_44k, {"pyaa34": "resampled to the store's 16000 Hz", "spectrogram": ""}),
    "stereo": (_stereo, dict.fromkeys(["pyaa34", "spectrogram", "waveform"], "mixed to mono")),
    "missing": (_missing, {"pyaa34": "fail", "spectrogram": "fail"}),
    "directory": (_directory, {"pyaa34": "fail", "spectrogram": "fail"}),
}
#: what validate-data says: "fail" (one line naming the file) or "ok"
VALIDATE = {
    "corrupt-header": "fail",
    "empty": "fail",
    "truncated-data": "fail",
    "pcm8": "ok",
    "pcm24": "ok",
    "10ms": "fail",
    "44.1kHz": "ok",
    "stereo": "ok",
    "missing": "fail",
    "directory": "fail",
}
N_UTTS = 3


def _spoiled(tmp_path: Path, case: str, position: int) -> tuple[Path, Path, dict]:
    """A data dir of 3 utterances whose ``position``-th (in id order) audio is spoiled by ``case``
    (without the durations and words that the new audio would contradict)."""
    data = make_data_dir(tmp_path, n=N_UTTS, seconds=1.0)
    for name in ("utt2dur", "reco2dur", "words.ctm"):
        (data / name).unlink()
    path = Path((data / "wav.scp").read_text().splitlines()[position].split()[1])
    BAD_AUDIO[case][0](path)
    return data, path, snapshot(data, tmp_path / "wav")


def _report_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if "WARNING" in line]


#: spectrogram reads audio as every type but pyaa34 does: its cases where the two differ, and one failure
SPECTROGRAM_CASES = ("corrupt-header", "10ms", "44.1kHz", "stereo")


@pytest.mark.parametrize(
    ("case", "feature_type"),
    [(case, "pyaa34") for case in BAD_AUDIO]
    + [(case, "spectrogram") for case in SPECTROGRAM_CASES]
    + [("corrupt-header", "waveform"), ("stereo", "waveform")],
)
def test_bad_audio_extract(tmp_path: Path, case: str, feature_type: str) -> None:
    position = 0 if case in ("corrupt-header", "44.1kHz", "stereo", "missing") else N_UTTS - 1
    data, path, before = _spoiled(tmp_path, case, position)
    out = tmp_path / "f.h5"
    done = run_serkit("extract-features", str(data), str(out), "--type", feature_type)
    expected = BAD_AUDIO[case][1][feature_type]
    if expected == "fail":
        assert_one_clear_line(done, path)
        assert len(store.FeatureStore(out)) == N_UTTS - 1
    else:
        assert done.returncode == 0 and not error_lines(done), done.stderr
        assert len(store.FeatureStore(out)) == N_UTTS
        reports = _report_lines(done)
        if expected:
            assert len(reports) == 1 and expected in reports[0] and path.name in reports[0], done.stderr
        else:
            assert not reports, done.stderr
    assert_unchanged(before)


@pytest.mark.parametrize("case", list(BAD_AUDIO))
def test_bad_audio_validate(tmp_path: Path, case: str) -> None:
    data, path, before = _spoiled(tmp_path, case, N_UTTS - 1)
    done = run_serkit("validate-data", str(data))
    if VALIDATE[case] == "fail":
        line = assert_one_clear_line(done, data / "wav.scp", line=3)
        assert path.name in line or case == "10ms", line
    else:
        assert done.returncode == 0, done.stdout + done.stderr
    assert_unchanged(before)


def test_first_file_at_another_rate_does_not_decide(tmp_path: Path) -> None:
    """The store's rate is the rate most files have, whichever comes first; a file at another rate
    is resampled and the others' features are those of a data dir without it."""
    data, path, _ = _spoiled(tmp_path, "44.1kHz", 0)
    done = run_serkit("extract-features", str(data), str(tmp_path / "two.h5"), "--nj", "2")
    assert done.returncode == 0, done.stderr
    both = store.FeatureStore(tmp_path / "two.h5")
    assert both.attrs["sample_rate"] == 16000 and both.attrs["resampled_utterances"] == 1
    one = run_serkit("extract-features", str(data), str(tmp_path / "one.h5"))
    assert one.returncode == 0, one.stderr
    single = store.FeatureStore(tmp_path / "one.h5")
    for utt in single:
        np.testing.assert_array_equal(single[utt], both[utt])


def test_pipes_in_parallel_jobs(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=N_UTTS)
    scp = data / "wav.scp"
    scp.write_text(
        "".join(f"{utt} cat {wav} |\n" for utt, wav in (ln.split() for ln in scp.read_text().splitlines()))
    )
    done = run_serkit("extract-features", str(data), str(tmp_path / "f.h5"), "--allow-pipes", "--nj", "2")
    assert done.returncode == 0, done.stderr
    assert len(store.FeatureStore(tmp_path / "f.h5")) == N_UTTS


def test_jobs_ignore_a_serkit_folder_in_the_working_dir(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=N_UTTS)
    cwd = tmp_path / "checkout"
    (cwd / "serkit").mkdir(parents=True)
    (cwd / "serkit" / "__init__.py").write_text("")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "serkit",
            "extract-features",
            str(data),
            str(tmp_path / "f.h5"),
            "--nj",
            "2",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(store.FeatureStore(tmp_path / "f.h5")) == N_UTTS


@pytest.mark.parametrize("nj", ["0", "-1"])
def test_nj_below_one_is_refused(tmp_path: Path, nj: str) -> None:
    data = make_data_dir(tmp_path, n=N_UTTS)
    done = run_serkit("extract-features", str(data), str(tmp_path / "f.h5"), f"--nj={nj}")
    assert_one_clear_line(done, "--nj")
    assert not (tmp_path / "f.h5").exists() and not store.work_dir(tmp_path / "f.h5").exists()


def test_more_jobs_than_utterances(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=N_UTTS)
    out = tmp_path / "f.h5"
    done = run_serkit("extract-features", str(data), str(out), "--nj", "100")
    assert done.returncode == 0, done.stderr
    assert len(store.FeatureStore(out)) == N_UTTS and not store.work_dir(out).exists()


def test_a_rerun_removes_the_temporary_of_a_killed_write(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=N_UTTS)
    out = tmp_path / "f.h5"
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = tmp_path / f".f.h5.tmp.{gone.pid}"
    orphan.write_bytes(b"half a store")
    done = run_serkit("extract-features", str(data), str(out))
    assert done.returncode == 0, done.stderr
    assert not orphan.exists() and sorted(p.name for p in tmp_path.glob(".f.h5*")) == []


def test_word_past_the_audio_is_warned_with_its_ctm_line(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=N_UTTS)
    ctm = data / "words.ctm"
    lines = ctm.read_text().splitlines()
    utt = lines[4].split()[0]
    fields = lines[4].split()
    fields[3] = "5.0"  # the word ends 5 s in, past the audio's 1.1 s
    lines[4] = " ".join(fields)
    ctm.write_text("\n".join(lines) + "\n")
    done = run_serkit("extract-features", str(data), str(tmp_path / "f.h5"), "--type", "word-mfcc")
    assert done.returncode == 0, done.stderr
    reports = _report_lines(done)
    assert len(reports) == 1 and f"{ctm}:5" in reports[0] and "1 words end" in reports[0], done.stderr
    feats = store.FeatureStore(tmp_path / "f.h5")
    assert feats.attrs["words_past_end"] == 1 and len(feats) == N_UTTS
    assert feats.utt_attrs(utt)["word_end_frame"][1] == feats.shape(utt)[0]


def _damaged_stores(tmp_path: Path) -> tuple[Path, list[Path]]:
    data = make_data_dir(tmp_path, n=N_UTTS)
    good = tmp_path / "good.h5"
    assert run_serkit("extract-features", str(data), str(good)).returncode == 0
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(raw[: len(raw) // 2])
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all\n" * 100)
    overwritten = tmp_path / "overwritten.h5"
    overwritten.write_bytes(raw[:800] + bytes(range(256)) * 12 + raw[800 + 256 * 12 :])
    return data, [truncated, garbage, overwritten]


def test_damaged_stores_are_one_line(tmp_path: Path) -> None:
    data, damaged = _damaged_stores(tmp_path)
    for path in damaged:
        before = snapshot(path)
        assert_one_clear_line(run_serkit("store-info", str(path)), path)
        done = run_serkit(
            "train-speech2vec", str(data), str(path), str(tmp_path / f"s2v_{path.stem}"), "--epochs", "1"
        )
        assert_one_clear_line(done, path)
        assert_unchanged(before)
    # an existing damaged store at the output is replaced by a whole one
    done = run_serkit("extract-features", str(data), str(damaged[0]))
    assert done.returncode == 0, done.stderr
    assert len(store.FeatureStore(damaged[0])) == N_UTTS
    assert json.loads(store.FeatureStore(damaged[0]).attrs["failed_utterances"]) == []


@pytest.mark.parametrize("damage", ["truncated"])
def test_train_on_a_damaged_store_is_one_line(tmp_path: Path, damage: str) -> None:
    from test_trainer import make_task, train_args

    root = make_task(tmp_path)
    path = root / "feats" / "train_synth.h5"
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    else:
        path.write_bytes(raw[:800] + bytes(range(256)) * 12 + raw[800 + 256 * 12 :])
    before = snapshot(root / "feats", root / "data")
    done = run_serkit(*train_args("exp/damaged", "--set", "train.epochs=1"), cwd=root)
    assert_one_clear_line(done, "feats/train_synth.h5")
    assert_unchanged(before)

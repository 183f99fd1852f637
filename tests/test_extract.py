"""extract-features: one store per data dir and type, in one process or N jobs that survive a SIGKILL."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile as sf
from conftest import make_data_dir, run_serkit
from fuzzing import assert_one_clear_line, assert_unchanged, snapshot

from serkit import datadir, jobs, store
from serkit.errors import SerkitError
from serkit.features import extract


def _same_store(a: Path, b: Path) -> None:
    sa, sb = store.FeatureStore(a), store.FeatureStore(b)
    assert sa.keys() == sb.keys()
    for utt in sa.keys():
        assert np.array_equal(sa[utt], sb[utt]), utt
    assert {k: str(v) for k, v in sa.attrs.items()} == {k: str(v) for k, v in sb.attrs.items()}


def test_parallel_equals_single_job(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=7, seconds=0.8)
    options = {"window": 0.1, "step": 0.1}
    extract.extract_features(data, tmp_path / "one.h5", "pyaa34", options)
    extract.extract_features(data, tmp_path / "three.h5", "pyaa34", options, nj=3)
    _same_store(tmp_path / "one.h5", tmp_path / "three.h5")
    assert not store.work_dir(tmp_path / "three.h5").exists()
    s = store.FeatureStore(tmp_path / "one.h5")
    assert s.attrs["window_samples"] == 1600 and s.attrs["frame_shift"] == 0.1 and len(s) == 7


def _find_job(shard: Path, timeout: float = 60.0) -> int:
    """The pid of the parallel job writing ``shard`` (its whole path: a job of another run on the
    machine, a benchmark's or another checkout's tests, is never taken for it)."""
    end = time.time() + timeout
    while time.time() < end:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serkit.features.extract" in cmdline and any(arg == str(shard).encode() for arg in cmdline):
                return int(pid)
        time.sleep(0.01)
    raise AssertionError(f"job for {shard} never started")


def test_sigkilled_job_leaves_an_incomplete_store_that_a_rerun_completes(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=12, seconds=2.0)
    out = tmp_path / "feats" / "train.h5"
    args = ["extract-features", str(data), str(out), "--backend", "pyaudioanalysis", "--nj", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "serkit", *args], stderr=subprocess.PIPE, text=True)
    os.kill(_find_job(store.work_dir(out) / "shard.1.h5"), signal.SIGKILL)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    assert "1 of 2 extract jobs failed" in stderr and "extract.1.log" in stderr and "Traceback" not in stderr
    assert not out.exists()
    log1 = store.work_dir(out) / "log" / "extract.1.log"
    assert "# Ended (code 137)" in log1.read_text()
    info = run_serkit("store-info", str(out))
    assert info.returncode == 2 and "incomplete" in info.stderr

    log2 = (store.work_dir(out) / "log" / "extract.2.log").read_text()
    rerun = run_serkit(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert "rerunning 1 of 2" in rerun.stderr
    assert not store.work_dir(out).exists()
    reference = tmp_path / "reference.h5"
    extract.extract_features(data, reference, "pyaa34", {"backend": "pyaudioanalysis"})
    _same_store(out, reference)
    assert "Ended (code 0)" in log2  # job 2 had finished the first time and was not redone


def test_changed_options_discard_old_shards(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=4, seconds=0.5)
    out = tmp_path / "f.h5"
    work = store.work_dir(out)
    (work / "split").mkdir(parents=True)
    (work / extract.SPEC_FILE).write_text('{"feature_type": "pyaa34", "options": {"window": 0.5}}')
    extract.extract_features(data, out, "pyaa34", {"window": 0.1, "step": 0.1}, nj=2)
    assert store.FeatureStore(out).attrs["window_s"] == 0.1


@pytest.mark.parametrize("left", ["truncated spec", "no spec, a stale shard"])
def test_a_work_dir_a_kill_left_unfinished_is_discarded(tmp_path: Path, left: str) -> None:
    """A run killed while it wrote the spec, or while it removed its work dir after the merge,
    leaves a work dir no rerun trusts: the rerun starts afresh and gives the store of one run."""
    data = make_data_dir(tmp_path, n=4, seconds=0.5)
    options = {"window": 0.1, "step": 0.1}
    extract.extract_features(data, tmp_path / "ref.h5", "pyaa34", options, nj=2)
    out = tmp_path / "f.h5"
    work = store.work_dir(out)
    (work / "split").mkdir(parents=True)
    if left == "truncated spec":
        (work / extract.SPEC_FILE).write_text('{"feature_type": "pya')
    else:  # the shard of job 1 of an earlier run with other data
        other = make_data_dir(tmp_path / "other", n=2, seconds=0.3)
        extract.extract_features(other, work / "shard.1.h5", "pyaa34", options)
        (work / "log").mkdir()
        (work / "log" / "extract.1.log").write_text(f"{jobs.END_MARK}0)\n")
    extract.extract_features(data, out, "pyaa34", options, nj=2)
    _same_store(out, tmp_path / "ref.h5")
    assert not work.exists()


def test_bad_audio_is_reported_and_the_rest_extracted(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=4, seconds=0.5)
    wav_lines = (data / "wav.scp").read_text().splitlines()
    broken = Path(wav_lines[1].split()[1])
    broken.write_bytes(b"RIFF garbage")
    result = run_serkit(
        "extract-features", str(data), str(tmp_path / "f.h5"), "--window", "0.1", "--step", "0.1"
    )
    assert result.returncode == 2
    assert "1 of 4 utterances failed" in result.stderr and str(broken) in result.stderr
    assert "Traceback" not in result.stderr
    with h5py.File(tmp_path / "f.h5") as f:
        assert len(f) == 3


def test_mixed_sample_rates_resample_to_the_most_common_rate(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=3, seconds=0.5)
    path = Path((data / "wav.scp").read_text().splitlines()[0].split()[1])
    x, rate = sf.read(path)
    sf.write(path, x[::2], rate // 2, subtype="PCM_16")
    options = {"window": 0.1, "step": 0.1}
    extract.extract_features(data, tmp_path / "f.h5", "pyaa34", options)
    chosen = store.FeatureStore(tmp_path / "f.h5")
    assert len(chosen) == 3 and chosen.attrs["sample_rate"] == 16000
    assert chosen.attrs["resampled_utterances"] == 1
    assert chosen.params["sample_rate_from"] == "most recordings (2 of 3)"
    extract.extract_features(data, tmp_path / "g.h5", "pyaa34", {**options, "sample_rate": 16000})
    given = store.FeatureStore(tmp_path / "g.h5")
    for utt in chosen:
        np.testing.assert_array_equal(chosen[utt], given[utt])


def test_too_small_window_is_one_clear_line(data_dir: Path, tmp_path: Path) -> None:
    result = run_serkit("extract-features", str(data_dir), str(tmp_path / "f.h5"), "--window", "0.01")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "window" in result.stderr


@pytest.mark.parametrize("feature_type", ["spectrogram", "waveform", "word-mfcc"])
def test_other_types_in_one_or_two_jobs(tmp_path: Path, feature_type: str) -> None:
    data = make_data_dir(tmp_path, n=4, seconds=0.9)
    extract.extract_features(data, tmp_path / "one.h5", feature_type, {})
    extract.extract_features(data, tmp_path / "two.h5", feature_type, {}, nj=2)
    _same_store(tmp_path / "one.h5", tmp_path / "two.h5")
    s = store.FeatureStore(tmp_path / "one.h5")
    first = s[s.keys()[0]]
    dims = {"spectrogram": 400, "waveform": 2205, "word-mfcc": 13}[feature_type]
    assert first.shape[1] == dims and len(s.attrs["feature_names"]) == dims
    assert s.attrs["frame_shift"] > 0 and s.attrs["sample_rate"] > 0
    if feature_type == "spectrogram":
        assert first.shape[0] == 200
    if feature_type == "waveform":
        assert first.shape[0] == 9  # 0.9 s fills exactly 9 frames of the 100 ms grid
    if feature_type == "word-mfcc":
        attrs = s.utt_attrs(s.keys()[0])
        assert attrs["words"] == ["hello", "there", "world"]
        assert list(attrs["word_start_frame"]) == [10, 30, 55] and list(attrs["word_end_frame"]) == [
            30,
            50,
            85,
        ]
        word_frames = np.concatenate(
            [
                s[u][a:b]
                for u in s.keys()
                for a, b in zip(
                    s.utt_attrs(u)["word_start_frame"], s.utt_attrs(u)["word_end_frame"], strict=True
                )
            ]
        )
        assert np.allclose(s.attrs["mean"], word_frames.mean(axis=0), atol=1e-4)
        assert np.allclose(s.attrs["var"], word_frames.var(axis=0), rtol=1e-4)


def test_waveform_follows_the_label_grid(tmp_path: Path) -> None:
    from serkit import datadir

    data = make_data_dir(tmp_path, n=2, seconds=0.9)
    utts = datadir.load(data).utts
    datadir.write_labels(
        data / "labels.h5",
        {u: np.zeros((7 + i, 3)) for i, u in enumerate(utts)},
        10.0,
        ["arousal", "valence", "liking"],
    )
    extract.extract_features(data, tmp_path / "w.h5", "waveform", {})
    s = store.FeatureStore(tmp_path / "w.h5")
    assert [s.shape(u)[0] for u in utts] == [7, 8]
    assert s.attrs["frames"] == "label count"


def test_word_mfcc_skips_utterances_without_words(tmp_path: Path) -> None:
    import json

    data = make_data_dir(tmp_path, n=3, seconds=0.9)
    dropped = (data / "words.ctm").read_text().splitlines()[-1].split()[0]
    kept = [line for line in (data / "words.ctm").read_text().splitlines() if not line.startswith(dropped)]
    (data / "words.ctm").write_text("\n".join(kept) + "\n")
    extract.extract_features(data, tmp_path / "m.h5", "word-mfcc", {})
    s = store.FeatureStore(tmp_path / "m.h5")
    assert len(s) == 2 and dropped not in s
    assert json.loads(s.attrs["skipped_utterances"]) == [dropped]
    extract.extract_features(data, tmp_path / "m2.h5", "word-mfcc", {}, nj=3)  # the skip is in shard 3 of 3
    assert json.loads(store.FeatureStore(tmp_path / "m2.h5").attrs["skipped_utterances"]) == [dropped]


def _old_path_store(data: Path, out: Path, feature_type: str, options: dict) -> Path:
    """The store as extraction wrote it before: one high-level ``create_dataset`` per utterance."""
    from serkit import datadir
    from serkit.features.extractors import make_extractor

    parsed = datadir.load(data)
    extractor = make_extractor(feature_type, options)
    extractor.prepare(parsed)
    with h5py.File(out, "w", track_order=False) as f:
        for utt in parsed.utts:
            frames, attrs = extractor.compute(utt, parsed)
            ds = f.create_dataset(utt, data=np.asarray(frames, dtype=np.float32), track_times=False)
            for key, value in attrs.items():
                ds.attrs[key] = value
    return out


@pytest.mark.parametrize("feature_type", ["pyaa34", "word-mfcc"])
def test_values_are_those_of_the_old_writer_in_one_job_or_three(tmp_path: Path, feature_type: str) -> None:
    data = make_data_dir(tmp_path, n=7, seconds=0.9)
    options = {"window": 0.02, "step": 0.01} if feature_type == "pyaa34" else {}
    old = _old_path_store(data, tmp_path / "old.h5", feature_type, options)
    extract.extract_features(data, tmp_path / "one.h5", feature_type, options)
    extract.extract_features(data, tmp_path / "three.h5", feature_type, options, nj=3)
    _same_store(tmp_path / "one.h5", tmp_path / "three.h5")
    with h5py.File(old, "r") as o, h5py.File(tmp_path / "three.h5", "r") as n:
        assert sorted(o) == sorted(n) and len(n) == 7
        for utt in o:
            assert n[utt].dtype == o[utt].dtype and n[utt][()].tobytes() == o[utt][()].tobytes(), utt
            assert {k: str(v) for k, v in n[utt].attrs.items()} == {
                k: str(v) for k, v in o[utt].attrs.items()
            }


def _kill_before(monkeypatch, target: object, name: str) -> None:
    """Make ``target.name`` raise KeyboardInterrupt once, as a kill at that point would stop the run."""
    real = getattr(target, name)
    calls = []

    def interrupted(*args, **kwargs):
        if not calls:
            calls.append(1)
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, interrupted)


def _logs(work: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((work / "log").glob("extract.*.log"))}


@pytest.mark.parametrize("lost", ["shard 2 before the merge", "shard 1 in the merge"])
def test_a_lost_shard_reruns_only_its_job(tmp_path: Path, monkeypatch, caplog, lost: str) -> None:
    """A run stopped before or during the merge: the rerun redoes only the job whose shard is gone
    (during the merge, the first shard has become the unfinished store) and gives the same store."""
    data = make_data_dir(tmp_path, n=6, seconds=0.6)
    options = {"window": 0.1, "step": 0.1}
    extract.extract_features(data, tmp_path / "ref.h5", "pyaa34", options)
    out = tmp_path / "feats" / "f.h5"
    work = store.work_dir(out)
    if lost.endswith("before the merge"):
        _kill_before(monkeypatch, store, "merge_shards")
    else:
        _kill_before(monkeypatch, store.h5py.h5o, "copy")
    with pytest.raises(KeyboardInterrupt):
        extract.extract_features(data, out, "pyaa34", options, nj=3)
    if lost.endswith("before the merge"):
        (work / "shard.2.h5").unlink()
    job = 2 if lost.endswith("before the merge") else 1
    assert not out.exists() and not (work / f"shard.{job}.h5").exists()
    assert [p.name for p in out.parent.iterdir()] == [work.name]  # no temporary store left
    before = _logs(work)
    caplog.set_level(logging.INFO)
    extract.extract_features(data, out, "pyaa34", options, nj=3)
    assert f"rerunning 1 of 3 extract jobs that did not finish: [{job}]" in caplog.text
    _same_store(out, tmp_path / "ref.h5")
    assert not work.exists()
    rerun = {name: text for name, text in before.items() if name != f"extract.{job}.log"}
    assert len(rerun) == 2  # the finished jobs were not run again (their logs would have been rewritten)
    assert all("Ended (code 0)" in text for text in rerun.values())


def test_a_job_finding_its_data_dir_changed_is_one_line(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path, n=4, seconds=0.5)
    out = tmp_path / "f.h5"
    work = store.work_dir(out)
    spec = {
        "feature_type": "pyaa34",
        "options": {"window": 0.1, "step": 0.1, "sample_rate": 16000},
        "nj": 2,
        "allow_pipes": False,
        "data_dir": str(data),
        "data": [line.split()[1] for line in (data / "wav.scp").read_text().splitlines()],
        "utts": [line.split()[0] for line in (data / "wav.scp").read_text().splitlines()],
    }
    work.mkdir()
    (work / extract.SPEC_FILE).write_text(json.dumps(spec))
    lines = (data / "wav.scp").read_text().splitlines()
    utt, wav = lines[0].split()
    (data / "wav.scp").write_text("\n".join([f"{utt} {wav}.moved", *lines[1:]]) + "\n")
    argv = [
        sys.executable,
        "-m",
        "serkit.features.extract",
        str(work / extract.SPEC_FILE),
        "1",
        str(work / "s.h5"),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert_one_clear_line(done, data / "wav.scp", says="the data dir changed")
    assert not (work / "s.h5").exists()
    second = subprocess.run(
        [*argv[:-2], "2", str(work / "s2.h5")], capture_output=True, text=True, check=False
    )
    assert second.returncode == 0, second.stderr  # job 2's utterances are as the spec saw them


@pytest.mark.parametrize("nj", ["1", "2"])
def test_pyaa34_reads_only_the_files_it_uses(tmp_path: Path, nj: str) -> None:
    """A malformed words.ctm does not stop pyaa34 (it never reads it); word-mfcc names its line."""
    data = make_data_dir(tmp_path, n=4, seconds=0.5)
    ctm = data / "words.ctm"
    ctm.write_text(ctm.read_text() + "spk0-utt000 1 not-a-time 0.1 word\n")
    number = len(ctm.read_text().splitlines())
    before = snapshot(data)
    done = run_serkit("extract-features", str(data), str(tmp_path / "p.h5"), "--nj", nj)
    assert done.returncode == 0, done.stderr
    assert len(store.FeatureStore(tmp_path / "p.h5")) == 4
    done = run_serkit(
        "extract-features", str(data), str(tmp_path / "m.h5"), "--type", "word-mfcc", "--nj", nj
    )
    assert_one_clear_line(done, ctm, line=number)
    assert not (tmp_path / "m.h5").exists()
    assert_unchanged(before)


def test_waveform_follows_the_label_grid_in_parallel_jobs(tmp_path: Path) -> None:
    from serkit import datadir

    data = make_data_dir(tmp_path, n=4, seconds=0.9)
    utts = datadir.load(data).utts
    datadir.write_labels(
        data / "labels.h5", {u: np.zeros((7 + i, 3)) for i, u in enumerate(utts)}, 10.0, ["a", "v", "l"]
    )
    extract.extract_features(data, tmp_path / "one.h5", "waveform", {})
    extract.extract_features(data, tmp_path / "two.h5", "waveform", {}, nj=2)
    _same_store(tmp_path / "one.h5", tmp_path / "two.h5")
    assert [store.FeatureStore(tmp_path / "two.h5").shape(u)[0] for u in utts] == [7, 8, 9, 10]


@pytest.mark.parametrize("group", [{"WRITE_GROUP_UTTS": 2}, {"WRITE_GROUP_BYTES": 1}])
def test_utterances_written_in_groups_are_each_its_own_frames(tmp_path: Path, monkeypatch, group) -> None:
    """Groups that end by count or by size, around an utterance that fails: every other utterance
    is written, with the frames computing it alone gives."""
    for name, value in group.items():
        monkeypatch.setattr(extract, name, value)
    data = make_data_dir(tmp_path, n=7, seconds=0.6)
    broken = Path((data / "wav.scp").read_text().splitlines()[3].split()[1])
    broken.write_bytes(b"RIFF garbage")
    options = {"window": 0.02, "step": 0.01}
    with pytest.raises(SerkitError, match="1 of 7 utterances failed"):
        extract.extract_features(data, tmp_path / "f.h5", "pyaa34", options)
    loaded = datadir.load(data)
    alone = extract.make_extractor("pyaa34", options)
    alone.prepare(loaded)
    written = store.FeatureStore(tmp_path / "f.h5")
    assert written.keys() == [utt for i, utt in enumerate(loaded.utts) if i != 3]
    for utt in written.keys():
        assert written[utt].tobytes() == alone.compute(utt, loaded)[0].astype(np.float32).tobytes(), utt

"""Data dirs: round trip, sorting, segments, parsing errors, subset / combine / split."""

from __future__ import annotations

from pathlib import Path

import pytest

from serkit import datadir
from serkit.errors import SerkitError


def test_round_trip_keeps_every_file_and_sorts_in_byte_order(data_dir: Path) -> None:
    data = datadir.load(data_dir)
    assert len(data) == 6
    assert data.utts == sorted(data.utts, key=lambda u: u.encode())
    assert data.words_ctm[data.utts[0]][2].word == "world"
    assert (data_dir / "spk2utt").read_text().splitlines()[0].startswith("spk0 spk0-utt000 spk0-utt002")
    out = datadir.save(data, data_dir.parent / "copy")
    names = (
        "wav.scp",
        "utt2spk",
        "spk2utt",
        "spk2gender",
        "utt2sess",
        "utt2emo",
        "utt2dur",
        "reco2dur",
        "text",
    )
    for name in (*names, "words.ctm"):
        assert (out / name).read_bytes() == (data_dir / name).read_bytes(), name
    assert not (out / "segments").exists() and not (out / "utt2gender").exists()
    assert (out / "spk2gender").read_text() == "spk0 f\nspk1 m\n"
    assert data.utt2gender["spk1-utt001"] == "m"
    assert (out / "utt2dur").read_text().splitlines()[1] == "spk0-utt002 1.2"
    assert datadir.load(out).meta["class_counts"] == {"ang": 2, "hap": 2, "neu": 1, "sad": 1}


def test_byte_order_differs_from_locale_order(tmp_path: Path) -> None:
    data = datadir.DataDir(wav_scp={u: datadir.WavEntry("/x.wav") for u in ["b", "B", "a_1", "a-1", "A"]})
    datadir.save(data, tmp_path)
    ids = [line.split()[0] for line in (tmp_path / "wav.scp").read_text().splitlines()]
    assert ids == ["A", "B", "a-1", "a_1", "b"]


def test_segments_and_pipes(tmp_path: Path) -> None:
    (tmp_path / "wav.scp").write_text("r1 /a.wav\nr2 sox x.wav -t wav - |\n")
    (tmp_path / "segments").write_text("r1-u1 r1 1.5 3.25\nr1-u2 r1 3.5 4\nr2-u1 r2 0 1\n")
    with pytest.raises(SerkitError, match="piped command") as err:
        datadir.load(tmp_path)
    assert err.value.line == 2
    data = datadir.load(tmp_path, allow_pipes=True)
    assert data.utts == ["r1-u1", "r1-u2", "r2-u1"]
    assert data.wav_scp["r1-u1"] == datadir.WavEntry("/a.wav", 1.5, 3.25, recording="r1")
    pipe = data.wav_scp["r2-u1"]
    assert (
        pipe.is_pipe
        and pipe.path == "sox x.wav -t wav -"
        and pipe.to_field() == "sox x.wav -t wav - | 0.000 1.000"
    )
    assert datadir.WavEntry("sox x.wav -t wav -", is_pipe=True).to_field() == "sox x.wav -t wav - |"
    out = datadir.save(data, tmp_path / "copy")  # the pipe cannot run: durations from the cuts, no reco2dur
    assert (out / "wav.scp").read_text() == (tmp_path / "wav.scp").read_text()
    assert (out / "segments").read_text().splitlines()[1] == "r1-u2 r1 3.500 4.000"
    assert not (out / "utt2dur").exists()
    data.reco2dur.update({"r1": 5.0, "r2": 1.0})
    datadir.save(data, out)
    assert (out / "utt2dur").read_text() == "r1-u1 1.75\nr1-u2 0.5\nr2-u1 1\n"
    assert (out / "reco2dur").read_text() == "r1 5\nr2 1\n"
    one = datadir.subset(data, ["r1-u2"])
    assert one.reco2dur == {"r1": 5.0}
    datadir.save(one, tmp_path / "one")
    assert (tmp_path / "one" / "wav.scp").read_text() == "r1 /a.wav\n"


def test_old_wav_scp_cuts_are_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "wav.scp").write_text("u1 /a.wav 1.5 3.25\n")
    with pytest.raises(SerkitError, match="older serkit") as err:
        datadir.load(tmp_path)
    assert err.value.line == 1 and "prepare-data" in err.value.hint


def test_segments_need_a_known_recording(tmp_path: Path) -> None:
    (tmp_path / "wav.scp").write_text("r1 /a.wav\n")
    (tmp_path / "segments").write_text("r1-u1 r1 0 1\nr2-u1 r2 0 1\n")
    with pytest.raises(SerkitError, match="'r2' is not in wav.scp") as err:
        datadir.load(tmp_path)
    assert err.value.path == str(tmp_path / "segments") and err.value.line == 2


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("u1 /a.wav\nu0 /b.wav\n", 2, "not sorted"),
        ("u1 /a.wav\nu1 /b.wav\n", 2, "duplicate id"),
        ("u1 /a.wav\n\nu2 /b.wav\n", 2, "empty line"),
        ("u1 /a b.wav\n", 1, "fields"),
    ],
)
def test_malformed_wav_scp_names_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    (tmp_path / "wav.scp").write_text(content)
    with pytest.raises(SerkitError, match=message) as err:
        datadir.load(tmp_path)
    assert err.value.path == str(tmp_path / "wav.scp")
    assert err.value.line == line
    assert err.value.hint


def test_non_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "wav.scp").write_text("u1 /a.wav\n")
    (tmp_path / "text").write_bytes("u1 caf\xe9\n".encode("latin-1"))
    with pytest.raises(SerkitError, match="not UTF-8") as err:
        datadir.load(tmp_path)
    assert err.value.line == 1 and "iconv" in err.value.hint


def test_subset_combine_split(data_dir: Path) -> None:
    data = datadir.load(data_dir)
    spk0 = datadir.split_by(data, "spk", ["spk0"])
    spk1 = datadir.split_by(data, "spk", ["spk1"])
    assert set(spk0.utt2spk.values()) == {"spk0"} and len(spk0) == 3
    assert set(spk0.words_ctm) == set(spk0.wav_scp)
    joined = datadir.combine([spk0, spk1])
    assert joined.utts == data.utts and joined.text == data.text
    with pytest.raises(SerkitError, match="more than one"):
        datadir.combine([spk0, spk0])
    parts = datadir.split_even(data, 4)
    assert [len(p) for p in parts] == [2, 1, 1, 2]
    assert sum((p.utts for p in parts), []) == data.utts
    with pytest.raises(SerkitError, match="cannot split 6 utterances into 7"):
        datadir.split_even(data, 7)
    with pytest.raises(SerkitError, match="not in the data dir"):
        datadir.subset(data, ["nope"])
    sess = datadir.split_by(data, "sess", ["sess0"])
    assert set(sess.utt2sess.values()) == {"sess0"}


@pytest.mark.parametrize("bad", ["a/b", "..", ".", "a\u00a0b"])
def test_ids_with_spaces_slashes_or_dots_are_refused(tmp_path: Path, bad: str) -> None:
    data = datadir.DataDir(wav_scp={bad: datadir.WavEntry("/x.wav")})
    with pytest.raises(SerkitError, match="invalid utterance id"):
        datadir.save(data, tmp_path)
    data = datadir.DataDir(wav_scp={"u": datadir.WavEntry("/x.wav")}, utt2spk={"u": bad})
    with pytest.raises(SerkitError, match="invalid speaker id"):
        datadir.save(data, tmp_path)


@pytest.mark.parametrize(
    ("content", "message"), [("r1-u1 r1 1 x\n", "unparsable cut"), ("r1-u1 r1 3 2\n", "bad cut")]
)
def test_malformed_segments(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "wav.scp").write_text("r1 /a.wav\n")
    (tmp_path / "segments").write_text(content)
    with pytest.raises(SerkitError, match=message) as err:
        datadir.load(tmp_path)
    assert err.value.line == 1 and err.value.hint


def test_combine_keeps_the_shared_meta_and_the_protocol(data_dir: Path) -> None:
    data = datadir.load(data_dir)
    a = datadir.split_by(data, "spk", ["spk0"])
    b = datadir.split_by(data, "spk", ["spk1"])
    a.meta = {
        **a.meta,
        "set": "train",
        "synthetic": True,
        "sample_rate": 16000,
        "protocol": {"score": ["test"]},
    }
    b.meta = {
        **b.meta,
        "set": "test",
        "synthetic": True,
        "sample_rate": 16000,
        "protocol": {"score": ["test"]},
    }
    joined = datadir.combine([a, b])
    assert joined.meta["corpus"] == "test" and joined.meta["synthetic"] is True
    assert joined.meta["sample_rate"] == 16000 and joined.meta["protocol"] == {"score": ["test"]}
    assert "set" not in joined.meta and joined.meta["combined_sets"] == ["train", "test"]


def test_labels_h5_round_trip_and_subset(data_dir: Path) -> None:
    import numpy as np

    data = datadir.load(data_dir)
    labels = {u: np.full((5 + i, 3), i, dtype=np.float32) for i, u in enumerate(data.utts)}
    datadir.write_labels(data_dir / "labels.h5", labels, 10.0, ["arousal", "valence", "liking"])
    got, rate, names = datadir.read_labels(data_dir / "labels.h5")
    assert rate == 10.0 and names == ["arousal", "valence", "liking"]
    assert all(np.array_equal(got[u], labels[u]) for u in labels)
    part = datadir.split_by(data, "spk", ["spk1"])
    out = datadir.save(part, data_dir.parent / "spk1")
    datadir.copy_labels(data, out)
    sub, _, _ = datadir.read_labels(out / "labels.h5")
    assert sorted(sub) == part.utts


def test_an_older_utt2gender_becomes_spk2gender_on_save(data_dir: Path) -> None:
    genders = (data_dir / "spk2gender").read_text()
    utt2spk = [line.split() for line in (data_dir / "utt2spk").read_text().splitlines()]
    (data_dir / "utt2gender").write_text("".join(f"{u} {'f' if s == 'spk0' else 'm'}\n" for u, s in utt2spk))
    (data_dir / "spk2gender").unlink()
    datadir.save(datadir.load(data_dir), data_dir)
    assert (data_dir / "spk2gender").read_text() == genders and not (data_dir / "utt2gender").exists()


def test_piped_recordings_with_segments_validate_and_extract(tmp_path: Path) -> None:
    import h5py
    from conftest import run_serkit, write_wav

    from serkit import validate

    data = datadir.DataDir(meta={"corpus": "test"})
    for r in range(2):
        wav = write_wav(tmp_path / "wav" / f"r{r}.wav", 2.0, seed=r)
        for k in range(2):
            utt = f"r{r}-{k}"
            data.wav_scp[utt] = datadir.WavEntry(f"cat {wav}", 0.9 * k, 0.9 * k + 0.8, True, f"r{r}")
            data.utt2spk[utt] = f"r{r}"
    out = datadir.save(data, tmp_path / "data")
    assert (out / "wav.scp").read_text().splitlines()[0] == f"r0 cat {tmp_path}/wav/r0.wav |"
    assert (out / "reco2dur").read_text() == "r0 2\nr1 2\n"  # the command ran for the header
    problems = validate.validate(out, allow_pipes=True)
    assert [p.format() for p in problems if p.severity == "error"] == []
    assert any("piped command" in p.message for p in validate.validate(out))
    result = run_serkit(
        "extract-features", str(out), str(tmp_path / "f.h5"), "--window", "0.1", "--step", "0.1",
        "--nj", "2", "--allow-pipes",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with h5py.File(tmp_path / "f.h5") as f:
        assert sorted(f) == data.utts and all(len(f[u]) == 8 for u in f)

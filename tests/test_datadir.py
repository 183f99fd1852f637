"""Data dirs: round trip, sorting, parsing errors, subset / combine / split."""

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
    for name in ("wav.scp", "utt2spk", "spk2utt", "utt2sess", "utt2gender", "utt2emo", "text", "words.ctm"):
        assert (out / name).read_bytes() == (data_dir / name).read_bytes(), name
    assert datadir.load(out).meta["class_counts"] == {"ang": 2, "hap": 2, "neu": 1, "sad": 1}


def test_byte_order_differs_from_locale_order(tmp_path: Path) -> None:
    data = datadir.DataDir(wav_scp={u: datadir.WavEntry("/x.wav") for u in ["b", "B", "a_1", "a-1", "A"]})
    datadir.save(data, tmp_path)
    ids = [line.split()[0] for line in (tmp_path / "wav.scp").read_text().splitlines()]
    assert ids == ["A", "B", "a-1", "a_1", "b"]


def test_wav_scp_cuts_and_pipes(tmp_path: Path) -> None:
    (tmp_path / "wav.scp").write_text("u1 /a.wav 1.5 3.25\nu2 /b.wav\nu3 sox x.wav -t wav - |\n")
    with pytest.raises(SerkitError, match="piped command") as err:
        datadir.load(tmp_path)
    assert err.value.line == 3
    data = datadir.load(tmp_path, allow_pipes=True)
    assert data.wav_scp["u1"] == datadir.WavEntry("/a.wav", 1.5, 3.25)
    assert data.wav_scp["u3"].is_pipe and data.wav_scp["u3"].path == "sox x.wav -t wav -"


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("u1 /a.wav\nu0 /b.wav\n", 2, "not sorted"),
        ("u1 /a.wav\nu1 /b.wav\n", 2, "duplicate id"),
        ("u1 /a.wav 1 x\n", 1, "unparsable cut"),
        ("u1 /a.wav 3 2\n", 1, "bad cut"),
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


def test_ids_with_spaces_or_slashes_are_refused(tmp_path: Path) -> None:
    data = datadir.DataDir(wav_scp={"a/b": datadir.WavEntry("/x.wav")})
    with pytest.raises(SerkitError, match="invalid utterance id"):
        datadir.save(data, tmp_path)


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

"""The HDF5 feature store: atomic writes, attributes, lazy per-process reading, shard merging."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from serkit import store
from serkit.errors import SerkitError


def _write(path: Path, utts: dict[str, np.ndarray], **params) -> Path:
    with store.StoreWriter(
        path,
        "test",
        {"window": 0.02, "step": 0.01, **params},
        frame_shift=0.01,
        frame_length=0.02,
        sample_rate=16000,
        feature_names=["a", "b", "c"],
    ) as writer:
        for utt, frames in utts.items():
            writer.put(utt, frames, attrs={"words": ["x", "y"]})
        writer.set_attr("mean", np.arange(3.0))
    return path


def test_write_read_attributes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    utts = {f"u{i}": rng.standard_normal((5 + i, 3)) for i in range(4)}
    path = _write(tmp_path / "f.h5", utts)
    s = store.FeatureStore(path)
    assert s.keys() == ["u0", "u1", "u2", "u3"]
    assert s["u2"].dtype == np.float32 and np.allclose(s["u2"], utts["u2"], atol=1e-6)
    assert s.attrs["feature_type"] == "test" and s.attrs["window"] == 0.02
    assert s.attrs["feature_names"] == ["a", "b", "c"] and s.params == {"step": 0.01, "window": 0.02}
    assert s.attrs["num_utterances"] == 4 and "serkit_version" in s.attrs
    assert list(s.attrs["mean"]) == [0.0, 1.0, 2.0]
    assert s.utt_attrs("u1")["words"] == ["x", "y"]
    with pytest.raises(SerkitError, match="not in the store"):
        s["nope"]
    info = store.describe(path)
    assert info["utterances"] == 4 and info["frames"] == 5 + 6 + 7 + 8 and info["dims"] == [3]


def test_store_survives_pickling_for_dataloader_workers(tmp_path: Path) -> None:
    path = _write(tmp_path / "f.h5", {"a": np.ones((2, 3))})
    s = store.FeatureStore(path)
    s["a"]
    clone = pickle.loads(pickle.dumps(s))
    assert clone._file is None and np.array_equal(clone["a"], s["a"])


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    path = _write(tmp_path / "f.h5", {"a": np.ones((2, 3))})
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with store.StoreWriter(path, "test", {}, frame_shift=None, frame_length=None, sample_rate=None) as w:
            w.put("b", np.zeros((1, 3)))
            raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["f.h5"]


def test_incomplete_store_is_reported(tmp_path: Path) -> None:
    target = tmp_path / "f.h5"
    store.work_dir(target).mkdir()
    with pytest.raises(SerkitError, match="incomplete") as err:
        store.FeatureStore(target)
    assert "rerun" in err.value.hint
    with pytest.raises(SerkitError, match="not found"):
        store.FeatureStore(tmp_path / "g.h5")


def test_merge_shards_equals_single_write(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    utts = {f"u{i}": rng.standard_normal((3, 3)) for i in range(6)}
    whole = _write(tmp_path / "whole.h5", utts)
    a = _write(tmp_path / "a.h5", dict(list(utts.items())[:2]))
    b = _write(tmp_path / "b.h5", dict(list(utts.items())[2:]))
    merged = store.merge_shards([a, b], tmp_path / "merged.h5")
    m, w = store.FeatureStore(merged), store.FeatureStore(whole)
    assert m.keys() == w.keys()
    assert all(np.array_equal(m[u], w[u]) for u in w.keys())
    assert {k: str(v) for k, v in m.attrs.items()} == {k: str(v) for k, v in w.attrs.items()}
    other = _write(tmp_path / "c.h5", {"z": np.ones((1, 3))}, window=0.1)
    with pytest.raises(SerkitError, match="different extractor settings"):
        store.merge_shards([a, other], tmp_path / "bad.h5")
    assert not (tmp_path / "bad.h5").exists()


def test_slash_in_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SerkitError, match="cannot name"):
        _write(tmp_path / "f.h5", {"a/b": np.ones((1, 3))})


def test_store_info_shows_each_fact_once(tmp_path: Path) -> None:
    from conftest import run_serkit

    path = tmp_path / "f.h5"
    with store.StoreWriter(
        path, "test", {}, frame_shift=0.01, frame_length=0.02, sample_rate=16000
    ) as writer:
        writer.put("u0", np.zeros((4, 3)))
        for key, value in (("dims", 3), ("frame_length_s", 0.02), ("sampling_rate", 16000.0)):
            writer.set_attr(key, value)
    rows = [
        r.split("│") for r in run_serkit("store-info", str(path)).stdout.splitlines() if r.startswith("│")
    ]
    shown = [cells[1].strip() for cells in rows if cells[1].strip()]
    for name in ("dims", "frame_length", "frame_shift", "sample_rate", "utterances"):
        assert shown.count(name) == 1, shown
    for alias in ("frame_length_s", "sampling_rate", "num_utterances"):
        assert alias not in shown, shown


def _old_write(path: Path, utts: dict[str, np.ndarray]) -> Path:
    """A store's datasets as the high-level ``create_dataset`` wrote them before the low-level writer."""
    import h5py

    with h5py.File(path, "w", track_order=False) as f:
        for utt, frames in utts.items():
            ds = f.create_dataset(utt, data=np.asarray(frames, dtype=np.float32), track_times=False)
            ds.attrs["words"] = ["x", "y"]
    return path


def test_writer_datasets_are_those_of_the_high_level_api(tmp_path: Path) -> None:
    """Same bytes, dtype, shape, layout and per-utterance attributes as ``create_dataset`` gave,
    whatever the input array: float64, a non-contiguous view, no frames at all."""
    import h5py

    rng = np.random.default_rng(2)
    utts = {
        "a": rng.standard_normal((7, 3)),
        "b": rng.standard_normal((3, 9)).astype(np.float32).T[:, :3],  # not C-contiguous
        "c": np.zeros((0, 3), dtype=np.float32),
        "d": rng.standard_normal((1, 3)).astype(np.float32),
    }
    new = _write(tmp_path / "new.h5", utts)
    old = _old_write(tmp_path / "old.h5", utts)
    with h5py.File(new, "r") as n, h5py.File(old, "r") as o:
        assert sorted(n) == sorted(o)
        for utt in o:
            assert n[utt].dtype == o[utt].dtype == np.dtype("<f4")
            assert n[utt].shape == o[utt].shape and n[utt].chunks is None and n[utt].compression is None
            assert n[utt][()].tobytes() == o[utt][()].tobytes(), utt
            assert n[utt].id.get_create_plist().get_layout() == h5py.h5d.CONTIGUOUS
            assert list(n[utt].attrs["words"]) == list(o[utt].attrs["words"])
    s = store.FeatureStore(new)
    assert s.shape("c") == (0, 3) and s["c"].shape == (0, 3) and s.attrs["num_utterances"] == 4


def test_writer_refuses_an_id_twice(tmp_path: Path) -> None:
    with pytest.raises(SerkitError, match="written twice"):
        with store.StoreWriter(
            tmp_path / "g.h5", "t", {}, frame_shift=None, frame_length=None, sample_rate=None
        ) as w:
            w.put("a", np.ones((1, 3)))
            w.put("a", np.ones((1, 3)))
    assert not (tmp_path / "g.h5").exists()


def test_merge_taking_the_first_shard_moves_it_and_keeps_the_reader_api(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    utts = {f"u{i}": rng.standard_normal((2 + i, 3)) for i in range(7)}
    whole = _write(tmp_path / "whole.h5", utts)
    names = list(utts)
    shards = [
        _write(tmp_path / f"s{k}.h5", {u: utts[u] for u in part})
        for k, part in enumerate((names[:3], names[3:5], names[5:]))
    ]
    merged = store.merge_shards(shards, tmp_path / "m.h5", take_first=True)
    assert not shards[0].exists() and shards[1].exists() and shards[2].exists()
    m, w = store.FeatureStore(merged), store.FeatureStore(whole)
    assert m.keys() == w.keys() and len(m) == 7 and "u4" in m and "nope" not in m
    for utt in w:
        assert m[utt].tobytes() == w[utt].tobytes() and m.shape(utt) == w.shape(utt)
        assert m.utt_attrs(utt)["words"] == ["x", "y"]
    assert {k: str(v) for k, v in m.attrs.items()} == {k: str(v) for k, v in w.attrs.items()}
    clone = pickle.loads(pickle.dumps(m))
    assert clone._file is None and clone["u6"].tobytes() == w["u6"].tobytes()
    assert store.describe(merged)["frames"] == store.describe(whole)["frames"]


def test_merge_of_a_repeated_id_names_the_shard_and_leaves_no_store(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.h5", {"u0": np.ones((1, 3)), "u1": np.ones((1, 3))})
    b = _write(tmp_path / "b.h5", {"u1": np.ones((1, 3))})
    before = a.read_bytes()
    with pytest.raises(SerkitError, match="'u1' in two shards") as err:
        store.merge_shards([a, b], tmp_path / "m.h5")
    assert str(err.value.path) == str(b)
    assert not (tmp_path / "m.h5").exists() and a.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "b.h5"]

"""The trainer's parts: configs and exp-dir names, datasets and streams, batching, models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from serkit import datadir, models
from serkit.errors import SerkitError
from serkit.experiment import default_dir
from serkit.store import StoreWriter
from serkit.training import config as configs
from serkit.training.batching import BucketBatchSampler, Collator, collate
from serkit.training.dataset import EmotionDataset, task_for
from serkit.training.streams import FrameStream, WordStream

BASE = {
    "model": {"name": "mean_pool"},
    "data": {
        "sets": {"train": "data/train", "dev": "data/dev"},
        "streams": [{"name": "acoustic", "store": "feats/{set}.h5"}],
    },
}


def write_config(path: Path, config: dict = BASE) -> Path:
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- configs


def test_config_defaults_overrides_and_derived_values(tmp_path: Path) -> None:
    path = write_config(tmp_path / "dual.yaml")
    config = configs.load(path, ["optim.lr=5e-4", "data.streams.0.max_frames=100", "train.grad_clip=null"])
    assert config["name"] == "dual"
    assert config["optim"]["lr"] == 5e-4 and config["optim"]["name"] == "adam"
    assert config["data"]["streams"][0] == {
        "name": "acoustic", "type": "frames", "store": "feats/{set}.h5", "max_frames": 100,
        "normalize": None, "stats_from": None, "pad": "batch", "turn_split": False,
    }  # fmt: skip
    assert (config["loss"]["type"], config["train"]["metric"], config["train"]["mode"]) == (
        "ce",
        "dev_ua",
        "max",
    )
    by_name = configs.load(path, ["data.streams.acoustic.max_frames=50"])
    assert by_name["data"]["streams"][0]["max_frames"] == 50
    regression = configs.load(path, ["task.type=regression"])
    assert (regression["loss"]["type"], regression["train"]["metric"]) == ("ccc", "dev_ccc_mean")
    assert configs.load(path, ["train.metric=dev_loss"])["train"]["mode"] == "min"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.learning_rate=1", "unknown key optim.learning_rate"),
        ("trainer.epochs=3", "unknown config section"),
        ("train.mode=up", "train.mode"),
        ("train.amp=fp8", "train.amp"),
        ("data.streams.3.max_frames=1", "not an index"),
        ("data.streams.nosuchstream.max_frames=1", "not an index"),
        ("novalue", "bad override"),
    ],
)
def test_config_mistakes_are_user_errors(tmp_path: Path, override: str, message: str) -> None:
    with pytest.raises(SerkitError, match=message):
        configs.load(write_config(tmp_path / "c.yaml"), [override])


def test_exp_dir_name_ignores_resume_safe_overrides() -> None:
    assert default_dir("conf/dual.yaml") == Path("exp/dual")
    assert default_dir("conf/dual.yaml", ["train.epochs=50", "train.patience=9"]) == Path("exp/dual")
    assert default_dir("conf/dual.yaml", ["optim.lr=0.01", "train.epochs=5"]) == Path("exp/dual_lr0.01")
    a = configs.resolve(BASE)
    b = configs.resolve({**BASE, "train": {"epochs": 99, "patience": 1}})
    assert configs.differences(a, b) == []
    assert configs.differences(a, configs.resolve({**BASE, "optim": {"lr": 1.0}})) == ["optim.lr"]


def test_extends_merges_mappings_and_named_lists_and_drops_items(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    write_config(
        tmp_path / "base" / "root.yaml",
        {**BASE, "optim": {"lr": 0.1, "betas": [0.8, 0.9]}, "train": {"epochs": 3, "patience": 2}},
    )
    write_config(
        tmp_path / "base" / "two.yaml",
        {
            "extends": "root.yaml",
            "data": {"streams": [{"name": "words", "type": "words", "kv": "exp/emb/{fold}/w2v/w2v.bin"}]},
            "train": {"epochs": 5},
        },
    )
    row = write_config(
        tmp_path / "row.yaml",
        {
            "extends": "base/two.yaml",
            "model": {"hidden": [4]},
            "data": {"streams": [{"name": "acoustic", "max_frames": 7}, {"name": "words", "drop": True}]},
            "optim": {"betas": [0.5, 0.6]},
        },
    )
    config = configs.load(row)
    assert config["name"] == "row" and config["model"] == {"name": "mean_pool", "hidden": [4]}
    assert [s["name"] for s in config["data"]["streams"]] == ["acoustic"]
    assert config["data"]["streams"][0]["max_frames"] == 7
    assert config["optim"]["lr"] == 0.1 and config["optim"]["betas"] == [0.5, 0.6]  # lists replace
    assert (config["train"]["epochs"], config["train"]["patience"]) == (5, 2)
    assert "extends" not in config
    two = configs.load(tmp_path / "base" / "two.yaml", fold="fold2")
    assert [s["name"] for s in two["data"]["streams"]] == ["acoustic", "words"]
    assert two["data"]["streams"][1]["kv"] == "exp/emb/fold2/w2v/w2v.bin"
    assert configs.load(tmp_path / "base" / "two.yaml")["data"]["streams"][1]["kv"] == "exp/emb/w2v/w2v.bin"


def test_extends_mistakes_name_the_file(tmp_path: Path) -> None:
    write_config(tmp_path / "a.yaml", {**BASE, "extends": "b.yaml"})
    write_config(tmp_path / "b.yaml", {"extends": "a.yaml"})
    with pytest.raises(SerkitError, match="extends cycle: a.yaml → b.yaml → a.yaml") as err:
        configs.load(tmp_path / "a.yaml")
    assert Path(err.value.path).name == "a.yaml"
    write_config(
        tmp_path / "c.yaml", {"extends": "a.yaml", "data": {"streams": [{"name": "x", "drop": True}]}}
    )
    write_config(tmp_path / "a.yaml", BASE)
    with pytest.raises(SerkitError, match="cannot drop 'x'"):
        configs.load(tmp_path / "c.yaml")
    write_config(tmp_path / "d.yaml", {"extends": "missing.yaml"})
    with pytest.raises(SerkitError, match="config not found"):
        configs.load(tmp_path / "d.yaml")
    with pytest.raises(SerkitError, match="bad fold name"):
        configs.load(tmp_path / "a.yaml", fold="../x")


def test_fold_placeholder_in_sets_and_the_default_exp_dir(tmp_path: Path) -> None:
    sets = {"train": "data/{fold}/train", "dev": "data/{fold}/dev", "test": "data/{fold}/test"}
    path = write_config(tmp_path / "f.yaml", {**BASE, "data": {**BASE["data"], "sets": sets}})
    assert configs.load(path, fold="fold3")["data"]["sets"]["dev"] == "data/fold3/dev"
    assert configs.load(path)["data"]["sets"] == {
        "train": "data/train",
        "dev": "data/dev",
        "test": "data/test",
    }
    assert default_dir("conf/f.yaml", ["optim.lr=0.01"], "fold3") == Path("exp/f_lr0.01/fold3")
    assert default_dir("conf/f.yaml", fold=None) == default_dir("conf/f.yaml", fold="-") == Path("exp/f")
    assert configs.load(path, fold="-")["data"]["sets"]["train"] == "data/train"


# --------------------------------------------------------------------------- batching


def test_sampler_covers_every_example_once_and_splits_global_batches_by_rank() -> None:
    lengths = [int(x) for x in np.random.default_rng(0).integers(1, 100, size=37)]
    one = BucketBatchSampler(lengths, 6, seed=4)
    one.set_epoch(2)
    batches = list(one)
    assert sorted(i for b in batches for i in b) == list(range(37))
    assert batches == list(one)  # deterministic for an epoch
    one.set_epoch(3)
    assert list(one) != batches
    one.set_epoch(2)
    ranks = [BucketBatchSampler(lengths, 6, seed=4, rank=r, world_size=2) for r in (0, 1)]
    for sampler in ranks:
        sampler.set_epoch(2)
    for full, part0, part1 in zip(batches, *ranks, strict=True):
        assert sorted(part0 + part1) == sorted(full) and len(part0) == len(part1) == 3 or len(full) < 6
    # Bucketing: batches hold similar lengths (far less spread than random batches).
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in batches])
    random_spread = np.mean(
        [np.ptp([lengths[i] for i in b]) for b in BucketBatchSampler(lengths, 6, bucket=False, seed=4)]
    )
    assert spread < random_spread / 2


def test_collate_pads_with_masks() -> None:
    examples = [
        {"utt": "a", "start": 0, "inputs": {"x": np.ones((3, 2), np.float32)}, "target": 1},
        {"utt": "b", "start": 0, "inputs": {"x": np.ones((1, 2), np.float32)}, "target": 0},
    ]
    batch = collate(examples)
    assert batch["inputs"]["x"].shape == (2, 3, 2)
    assert batch["masks"]["x"].tolist() == [[True, True, True], [True, False, False]]
    assert batch["inputs"]["x"][1, 1:].abs().sum() == 0
    assert batch["target"].tolist() == [1, 0]
    assert collate(examples, {"x": 5})["inputs"]["x"].shape == (2, 5, 2)


# --------------------------------------------------------------------------- datasets


def make_dir(root: Path, utts: dict[str, int], text: dict[str, str] | None = None) -> Path:
    data = datadir.DataDir(meta={"classes": ["neg", "pos"]})
    for utt, label in utts.items():
        data.wav_scp[utt] = datadir.WavEntry(f"/x/{utt}.wav")
        data.utt2emo[utt] = ["neg", "pos"][label]
        data.utt2spk[utt] = "s"
    data.text = dict(text or {})
    return datadir.save(data, root)


def write_store(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    with StoreWriter(path, "test", {}, frame_shift=0.1, frame_length=0.1, sample_rate=16000) as writer:
        for utt, array in arrays.items():
            writer.put(utt, array)
    return path


def test_word_stream_looks_words_up_in_a_kv_file(tmp_path: Path) -> None:
    from serkit.text.embeddings_io import save_vectors
    from serkit.text.word_vectors import WordVectors

    vectors = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32)
    save_vectors(WordVectors(["good", "bad"], vectors), tmp_path / "w2v.bin")
    text = {"u1": "good good unknown bad", "u2": "bad"}
    data = make_dir(tmp_path / "data" / "train", {"u1": 1, "u2": 0}, text)
    write_store(tmp_path / "train.h5", {"u1": np.zeros((4, 2)), "u2": np.zeros((2, 2))})
    specs = configs.resolve(
        {
            **BASE,
            "data": {
                "sets": {"train": str(data), "dev": str(data)},
                "streams": [
                    {"name": "acoustic", "store": str(tmp_path / "{set}.h5")},
                    {"name": "words", "type": "words", "kv": str(tmp_path / "w2v.bin"), "max_words": 3},
                ],
            },
        }
    )
    task = task_for(specs, data)
    dataset = EmotionDataset(data, specs["data"]["streams"], task)
    assert dataset.input_dims == {"acoustic": 2, "words": 3}
    first = dataset[0]
    assert first["utt"] == "u1" and first["target"] == 1
    assert first["inputs"]["words"].tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 0]]  # OOV → zeros, cut to 3
    specs["data"]["streams"][1].update(oov="skip", pad="max")
    dataset = EmotionDataset(data, specs["data"]["streams"], task)
    assert dataset[0]["inputs"]["words"].tolist() == [[1, 0, 0], [1, 0, 0], [0, 1, 0]]
    batch = Collator(dataset)([dataset[0], dataset[1]])
    assert batch["inputs"]["words"].shape == (2, 3, 3)  # padded to max_words
    assert batch["masks"]["words"].tolist() == [[True, True, True], [True, False, False]]
    # The train and dev sets' streams share one read of the file; a rewritten file is read again.
    again = EmotionDataset(data, specs["data"]["streams"], task)
    assert again.streams[1].space is dataset.streams[1].space
    grown = WordVectors(["good", "bad", "new"], np.eye(3, dtype=np.float32))
    save_vectors(grown, tmp_path / "w2v.bin")
    fresh = EmotionDataset(data, specs["data"]["streams"], task)
    assert "new" in fresh.streams[1].space.key_to_index and "new" not in dataset.streams[1].space.key_to_index


def test_dataset_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    data = make_dir(tmp_path / "data" / "train", {"u1": 1, "u2": 0})
    write_store(tmp_path / "train.h5", {"u1": np.zeros((4, 2))})
    streams = [FrameStream.DEFAULTS | {"name": "a", "store": str(tmp_path / "{set}.h5")}]
    task = {"type": "classification", "level": "utterance", "classes": ["neg", "pos"]}
    with pytest.raises(SerkitError, match="not in the store") as err:
        EmotionDataset(data, streams, task)
    assert err.value.path == str(tmp_path / "train.h5") and err.value.hint
    write_store(tmp_path / "train.h5", {"u1": np.zeros((4, 2)), "u2": np.zeros((4, 2))})
    with pytest.raises(SerkitError, match="outside the class map"):
        EmotionDataset(data, streams, {**task, "classes": ["neg", "neu"]})


def test_frame_level_targets_follow_the_frame_stream_in_chunks(tmp_path: Path) -> None:
    data = make_dir(tmp_path / "data" / "train", {"r1": 0, "r2": 0})
    write_store(
        tmp_path / "train.h5", {"r1": np.arange(10)[:, None] * np.ones((1, 2)), "r2": np.ones((3, 2))}
    )
    datadir.write_labels(
        data / "labels.h5",
        {"r1": np.arange(11)[:, None] * [1.0, -1.0], "r2": np.ones((3, 2))},
        10,
        ["a", "v"],
    )
    streams = [FrameStream.DEFAULTS | {"name": "acoustic", "store": str(tmp_path / "{set}.h5")}]
    config = configs.resolve({**BASE, "task": {"type": "regression", "level": "frame", "dims": ["v"]}})
    task = task_for(config, data)
    dataset = EmotionDataset(data, streams, task, chunk_frames=4)
    assert [(u, s) for u, s, _ in dataset.index] == [("r1", 0), ("r1", 4), ("r1", 8), ("r2", 0)]
    chunk = dataset[2]  # r1 frames 8..9: the labels stop where the features stop
    assert chunk["inputs"]["acoustic"][:, 0].tolist() == [8, 9]
    assert chunk["target"].tolist() == [[-8.0], [-9.0]]
    batch = collate([dataset[0], chunk])
    assert batch["target"].shape == (2, 4, 1) and batch["target_mask"].sum(1).tolist() == [4, 2]


# --------------------------------------------------------------------------- models


@pytest.mark.parametrize(("encoder", "pooling"), [("none", "mean"), ("bilstm", "attention")])
def test_mean_pool_ignores_padding(encoder: str, pooling: str) -> None:
    torch.manual_seed(0)
    model = models.build("mean_pool", {"a": 3, "b": 2}, 4, encoder=encoder, pooling=pooling).eval()
    a, b = torch.randn(1, 5, 3), torch.randn(1, 2, 2)
    out = model({"a": a, "b": b}, {"a": torch.ones(1, 5, dtype=bool), "b": torch.ones(1, 2, dtype=bool)})
    padded_a = torch.cat([a, 100 * torch.ones(1, 4, 3)], 1)
    mask_a = torch.tensor([[True] * 5 + [False] * 4])
    padded = model({"a": padded_a, "b": b}, {"a": mask_a, "b": torch.ones(1, 2, dtype=bool)})
    assert out.shape == (1, 4)
    assert torch.allclose(out, padded, atol=1e-5)


def test_frame_level_model_outputs_one_value_per_frame() -> None:
    model = models.build("mean_pool", {"a": 3, "w": 2}, 2, frame_stream="a")
    out = model(
        {"a": torch.randn(2, 7, 3), "w": torch.randn(2, 4, 2)},
        {"a": torch.ones(2, 7, dtype=bool), "w": torch.ones(2, 4, dtype=bool)},
    )
    assert out.shape == (2, 7, 2)


def test_registry_errors_are_user_errors() -> None:
    assert "mean_pool" in models.names()
    with pytest.raises(SerkitError, match="unknown model"):
        models.build("no_such_model", {"a": 1}, 2)
    with pytest.raises(SerkitError, match="model mean_pool"):
        models.build("mean_pool", {"a": 1}, 2, hidden_units=3)


def test_train_normalisation_uses_training_frames_only(tmp_path: Path) -> None:
    import numpy as np

    from serkit import store as stores

    for name in ("train", "test"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "wav.scp").write_text("".join(f"{name}{i} /x.wav\n" for i in range(3)))
    with stores.StoreWriter(
        tmp_path / "all.h5", "t", {}, frame_shift=0.1, frame_length=0.1, sample_rate=16000
    ) as w:
        for name, offset in (("train", 10.0), ("test", -50.0)):
            for i in range(3):
                w.put(f"{name}{i}", offset + np.arange(8, dtype=float).reshape(4, 2) * (i + 1))
    spec = {
        "name": "a",
        "store": str(tmp_path / "all.h5"),
        "max_frames": None,
        "normalize": "train",
        "stats_from": str(tmp_path / "train"),
        "pad": "batch",
    }
    stream = FrameStream(spec, "test")
    train = np.concatenate([stream.store[f"train{i}"] for i in range(3)])
    assert np.allclose(stream.mean, train.mean(0)) and np.allclose(stream.std, train.std(0), rtol=1e-5)
    normalised = np.concatenate([stream.read(f"train{i}") for i in range(3)])
    assert np.allclose(normalised.mean(0), 0, atol=1e-5) and np.allclose(normalised.std(0), 1, atol=1e-4)
    assert stream.read("test0").mean() < -5  # the test set keeps its offset: no test statistics used
    config = configs.resolve(
        {
            "model": {"name": "mean_pool"},
            "data": {
                "sets": {"train": "d/tr", "dev": "d/dev"},
                "streams": [{"name": "a", "store": "x.h5", "normalize": "train"}],
            },
        }
    )
    assert config["data"]["streams"][0]["stats_from"] == "d/tr"


def test_speaker_normalisation_removes_each_speakers_level(tmp_path: Path) -> None:

    offsets = {"spkA": 10.0, "spkB": -50.0}
    with StoreWriter(tmp_path / "f.h5", "t", {}, frame_shift=0.1, frame_length=0.1, sample_rate=16000) as w:
        for spk, offset in offsets.items():
            for i in range(3):
                w.put(f"{spk}-u{i}", offset + np.arange(8, dtype=float).reshape(4, 2) * (i + 1))
    utt2spk = {f"{spk}-u{i}": spk for spk in offsets for i in range(3)}
    spec = {
        "name": "a",
        "store": str(tmp_path / "f.h5"),
        "max_frames": None,
        "normalize": "speaker",
        "pad": "batch",
    }
    stream = FrameStream(spec, "test", utt2spk)
    for spk in offsets:
        frames = np.concatenate([stream.read(f"{spk}-u{i}") for i in range(3)])
        assert np.allclose(frames.mean(0), 0, atol=1e-5) and np.allclose(frames.std(0), 1, atol=1e-4)
    # the same utterance shape under two speakers reads the same once normalised
    assert np.allclose(stream.read("spkA-u1"), stream.read("spkB-u1"), atol=1e-4)
    # what differs between one speaker's utterances survives
    assert not np.allclose(stream.read("spkA-u0"), stream.read("spkA-u2"))
    with pytest.raises(SerkitError, match="utt2spk"):
        FrameStream(spec, "test", {})
    with pytest.raises(SerkitError, match="use null, utterance, train or speaker"):
        FrameStream({**spec, "normalize": "global"}, "test", utt2spk)


def test_vocabulary_normalisation_of_word_vectors(tmp_path: Path) -> None:
    from serkit.text.embeddings_io import save_vectors
    from serkit.text.word_vectors import WordVectors

    vectors = np.array([[1.0, 10.0], [3.0, 10.5], [5.0, 9.5]], dtype=np.float32)  # one common direction
    save_vectors(WordVectors(["a", "b", "c"], vectors), tmp_path / "w.bin")
    data = datadir.DataDir(text={"u1": "a b zz c"}, path=tmp_path)
    spec = {
        "name": "w", "kv": str(tmp_path / "w.bin"), "text": "text", "max_words": None, "oov": "zero",
        "lowercase": False, "pad": "batch", "normalize": "vocabulary",
    }  # fmt: skip
    normalised = WordStream(spec, data).read("u1")
    expected = (vectors - vectors.mean(0)) / vectors.std(0)
    assert np.allclose(normalised[[0, 1, 3]], expected, atol=1e-5)
    assert np.array_equal(normalised[2], [0.0, 0.0])  # unknown word: the mean word
    assert np.allclose(WordStream({**spec, "normalize": None}, data).read("u1")[0], vectors[0])
    with pytest.raises(SerkitError, match="use null or vocabulary"):
        WordStream({**spec, "normalize": "train"}, data)


def test_turn_split_puts_subject_and_partner_frames_in_separate_halves(tmp_path: Path) -> None:
    """The SEWA authors' interlocutor split (methods.md §A.1): frames round(start)..round(end) of a
    subject turn fill the first half, every other frame the second."""
    with StoreWriter(tmp_path / "w.h5", "t", {}, frame_shift=0.1, frame_length=0.1, sample_rate=22050) as w:
        w.put("rec1", np.arange(1, 21, dtype=float).reshape(10, 2))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "turns").write_text("rec1 0.21 0.44\nrec1 0.86 2.0\n")
    spec = {**FrameStream.DEFAULTS, "name": "waveform", "store": str(tmp_path / "w.h5"), "turn_split": True}
    stream = FrameStream.open(spec, datadir.DataDir(path=tmp_path / "data"), {})
    frames = stream.read("rec1")
    original = np.arange(1, 21, dtype=float).reshape(10, 2)
    subject = [2, 3, 4, 9]  # round(2.1)=2 .. round(4.4)=4; round(8.6)=9 .. clipped at the last frame
    assert stream.dim == 4 and frames.shape == (10, 4)
    for i in range(10):
        inside = i in subject
        assert np.array_equal(frames[i, :2], original[i] if inside else [0, 0])
        assert np.array_equal(frames[i, 2:], [0, 0] if inside else original[i])
    assert np.array_equal(stream.read("rec1", 2, 5), frames[2:5])  # a chunk is cut from the same grid
    (tmp_path / "data" / "turns").write_text("rec1 0.21 0.44\nrec1 0.9\n")
    with pytest.raises(SerkitError, match="not 'utt start end'") as err:
        FrameStream.open(spec, datadir.DataDir(path=tmp_path / "data"), {})
    assert err.value.line == 2
    (tmp_path / "data" / "turns").unlink()
    with pytest.raises(SerkitError, match="turn_split needs the data dir's turns"):
        FrameStream.open(spec, datadir.DataDir(path=tmp_path / "data"), {})


@pytest.mark.parametrize("normalize", [None, "utterance", "speaker"])
def test_frame_stream_reads_the_store_once_per_utterance(tmp_path: Path, monkeypatch, normalize) -> None:
    from serkit.training import streams as streams_module

    with StoreWriter(tmp_path / "f.h5", "t", {}, frame_shift=0.1, frame_length=0.1, sample_rate=16000) as w:
        for i in range(3):
            w.put(f"spk-u{i}", np.arange(12, dtype=float).reshape(6, 2) * (i + 1) + 0.1)
    spec = {**FrameStream.DEFAULTS, "name": "a", "store": str(tmp_path / "f.h5"), "normalize": normalize}
    utt2spk = {f"spk-u{i}": "spk" for i in range(3)}
    fresh = FrameStream(spec, "test", utt2spk)
    expected = {u: fresh._frames(u).copy() for u in utt2spk}
    stream = FrameStream(spec, "test", utt2spk)
    reads: list[str] = []
    real_getitem = type(stream.store).__getitem__
    monkeypatch.setattr(type(stream.store), "__getitem__", lambda s, u: reads.append(u) or real_getitem(s, u))
    for _ in range(3):
        for utt in utt2spk:
            assert np.array_equal(stream.read(utt), expected[utt])
            assert np.array_equal(stream.read(utt, 2, 4), expected[utt][2:4])
    assert sorted(reads) == sorted(utt2spk)  # once each: later epochs come from memory
    with pytest.raises(ValueError):
        stream.read("spk-u0")[0, 0] = 1.0  # what the cache holds can't be changed by a reader
    monkeypatch.setattr(streams_module, "FRAME_CACHE_BYTES", 0)
    uncached = FrameStream(spec, "test", utt2spk)
    reads.clear()
    uncached.read("spk-u1")
    uncached.read("spk-u1")
    assert reads == ["spk-u1", "spk-u1"]

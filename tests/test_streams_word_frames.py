"""The ``word_frames`` stream: one word vector per label frame (Tzirakis et al. 2021 §3; methods.md §A.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from test_trainer import train_in_process

from serkit import datadir
from serkit.embeddings.alignment import (
    AlignConfig,
    align,
    apply_normalization,
    load_normalization,
    normalize_embeddings,
    save_alignment,
)
from serkit.errors import SerkitError
from serkit.store import StoreWriter
from serkit.text.embeddings_io import load_vectors, save_vectors
from serkit.text.word_vectors import WordVectors
from serkit.training import config as configs
from serkit.training.streams import label_frame, open_streams, word_frames

DIM = 4
VOCAB = ["hallo", "ja", "nein", "gut", "schlecht", "vielleicht", "doch", "so", "nicht", "mal"]
RNG = np.random.default_rng(0)
SPACE = RNG.normal(size=(len(VOCAB), DIM)).astype(np.float32)
# u1: boundaries (0.04 → frame 0, 0.26 → 3), a shared frame (3: "ja" overwrites "hallo"), a gap (6-7),
# a word running past the 12 frames (clipped); u2: a word past the end; u3: no words
CTM = {
    "u1": [(0.04, 0.22, "hallo"), (0.26, 0.24, "ja"), (0.75, 0.10, "nein"), (0.95, 0.60, "gut")],
    "u2": [(0.0, 0.14, "doch"), (2.0, 0.3, "so")],
}
FRAMES = {"u1": 12, "u2": 10, "u3": 5}


def vector(word: str) -> np.ndarray:
    return SPACE[VOCAB.index(word)]


def make_data(root: Path, set_name: str = "train") -> Path:
    """A data dir (text = the words.ctm words), its 0.1 s frames store and its embed-words store."""
    data = datadir.DataDir()
    for utt in FRAMES:
        data.wav_scp[utt] = datadir.WavEntry(f"/x/{utt}.wav")
        data.text[utt] = " ".join(w for _, _, w in CTM.get(utt, []))
    data.words_ctm = {u: [datadir.CtmWord(s, d, w) for s, d, w in ws] for u, ws in CTM.items()}
    path = datadir.save(data, root / "data" / set_name)
    (root / "feats").mkdir(exist_ok=True)
    with StoreWriter(root / "feats" / f"{set_name}.h5", "t", {}, frame_shift=0.1, frame_length=0.1,
                     sample_rate=22050) as writer:  # fmt: skip
        for utt, n in FRAMES.items():
            writer.put(utt, RNG.normal(size=(n, 3)).astype(np.float32))
    with StoreWriter(root / "feats" / f"{set_name}_pw_words.h5", "speech2vec", {}, frame_shift=None,
                     frame_length=None, sample_rate=None) as writer:  # fmt: skip
        for utt in FRAMES:
            words = [w for _, _, w in CTM.get(utt, [])]
            rows = np.stack([vector(w) for w in words]) if words else np.zeros((0, DIM), np.float32)
            writer.put(utt, rows, {"words": words})
    save_vectors(WordVectors(VOCAB, SPACE), root / "space.bin")
    return path


def streams(root: Path, data: Path, **spec) -> dict[str, np.ndarray]:
    """Every utterance's ``word_frames`` array for a stream spec following ``feats/{set}.h5``."""
    config = configs.resolve(
        {
            "model": {"name": "mean_pool"},
            "data": {
                "sets": {"train": str(data), "dev": str(data)},
                "streams": [
                    {"name": "acoustic", "store": str(root / "feats" / "{set}.h5")},
                    {"name": "semantic", "type": "word_frames", "frames": "acoustic", **spec},
                ],
            },
        }
    )
    acoustic, semantic = open_streams(config["data"]["streams"], datadir.load(data))
    assert [semantic.length(u) for u in FRAMES] == [acoustic.length(u) for u in FRAMES]
    return {u: semantic.read(u) for u in FRAMES}


def instances(root: Path) -> dict:
    return {"instances": str(root / "feats" / "{set}_pw_words.h5")}


def test_label_frame_is_the_authors_rounding_on_the_10_hz_grid() -> None:
    for t in [k / 100 for k in range(0, 2000)] + [0.05, 0.15, 0.25, 0.35, 0.45, 12.65, 199.95]:
        assert label_frame(t, 0.1) == int(round(t, 1) * 10), t
    assert label_frame(0.07, 0.04) == 2 and label_frame(0.05, 0.04) == 1  # any shift


def test_word_frames_boundaries_overwrite_clipping_and_gaps(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    frames = streams(tmp_path, data, **instances(tmp_path))
    u1 = frames["u1"]
    assert u1.shape == (12, DIM) and u1.dtype == np.float32
    expected = ["hallo"] * 3 + ["ja"] * 3 + [None, None] + ["nein"] + ["gut"] * 3
    # hallo 0.04-0.26 → frames 0..3; ja 0.26-0.50 → 3..5 and overwrites 3; nein 0.75-0.85 → 8..8
    # (0.75 rounds to 0.8, 0.85 to 0.8: binary 0.84999...); gut 0.95-1.55 → 9..15, clipped to 11
    for i, word in enumerate(expected):
        assert np.array_equal(u1[i], vector(word) if word else np.zeros(DIM)), i
    assert np.array_equal(frames["u2"][:2], np.stack([vector("doch")] * 2))
    assert not frames["u2"][2:].any()  # "so" starts at frame 20, past the 10 frames
    assert frames["u3"].shape == (5, DIM) and not frames["u3"].any()
    # the function alone: a word on one frame, and order decides a shared frame
    one = word_frames([(0.3, 0.3), (0.0, 0.3)], np.eye(2, dtype=np.float32), 4, 0.1, 2)
    assert one.tolist() == [[0, 1], [0, 1], [0, 1], [0, 1]]


def test_chunks_are_slices_of_the_utterance(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    config = configs.resolve(
        {
            "model": {"name": "mean_pool"},
            "data": {
                "sets": {"train": str(data), "dev": str(data)},
                "streams": [
                    {"name": "acoustic", "store": str(tmp_path / "feats" / "{set}.h5"), "max_frames": 10},
                    {"name": "semantic", "type": "word_frames", "frames": "acoustic", **instances(tmp_path)},
                ],
            },
        }
    )
    _, semantic = open_streams(config["data"]["streams"], datadir.load(data))
    assert semantic.length("u1") == 10 and len(semantic.read("u1")) == 10  # the frames stream's max_frames
    assert np.array_equal(semantic.read("u1", 4, 8), semantic.read("u1")[4:8])


def test_instance_and_lookup_paths_agree_when_the_vectors_do(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    from_audio = streams(tmp_path, data, **instances(tmp_path))
    looked_up = streams(tmp_path, data, kv=str(tmp_path / "space.bin"))
    for utt in FRAMES:
        assert np.array_equal(from_audio[utt], looked_up[utt]), utt


def test_lookup_oov_is_zero_by_default_or_seeded_random(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    save_vectors(WordVectors(VOCAB[1:], SPACE[1:]), tmp_path / "no_hallo.bin")
    zero = streams(tmp_path, data, kv=str(tmp_path / "no_hallo.bin"))["u1"]
    assert not zero[:3].any() and np.array_equal(zero[3], vector("ja"))
    random = streams(tmp_path, data, kv=str(tmp_path / "no_hallo.bin"), oov="random")["u1"]
    again = streams(tmp_path, data, kv=str(tmp_path / "no_hallo.bin"), oov="random")["u1"]
    assert np.array_equal(random, again) and np.array_equal(random[0], random[2])
    assert ((random[:3] >= 0) & (random[:3] < 1)).all() and random[:3].any()
    assert np.array_equal(random[3:], zero[3:])


def test_the_audio_only_path_never_reads_text(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    before = streams(tmp_path, data, **instances(tmp_path))
    (data / "text").write_text("u1 völlig andere wörter hier\nu2 x\n", encoding="utf-8")  # wrong, u3 missing
    corrupt = streams(tmp_path, data, **instances(tmp_path))
    (data / "text").unlink()
    after = streams(tmp_path, data, **instances(tmp_path))
    assert all(np.array_equal(before[u], corrupt[u]) and np.array_equal(before[u], after[u]) for u in FRAMES)
    with pytest.raises(SerkitError, match="no text"):  # the lookup path does read it
        streams(tmp_path, data, kv=str(tmp_path / "space.bin"))


def test_a_stale_instance_store_is_refused(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    ctm = data / "words.ctm"
    ctm.write_text(ctm.read_text().replace("nein", "neun"))
    with pytest.raises(SerkitError, match="differ from words.ctm"):
        streams(tmp_path, data, **instances(tmp_path))


def test_mapping_gives_align_embeddings_aligned_vectors(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    rotation, _ = np.linalg.qr(RNG.normal(size=(DIM, DIM)))
    target = (SPACE @ rotation.T + 0.01 * RNG.normal(size=SPACE.shape)).astype(np.float32)
    config = AlignConfig(supervised=True, n_refinement=1)
    save_alignment(align(SPACE, target, VOCAB, VOCAB, config), tmp_path / "align", config)
    steps, means = load_normalization(tmp_path / "align")
    assert steps == "renorm,center,renorm" and means.shape == (1, DIM)
    replayed = apply_normalization(SPACE, steps, means)
    assert np.allclose(replayed, normalize_embeddings(SPACE, steps), atol=1e-6)
    aligned = load_vectors(tmp_path / "align" / "aligned.bin")
    for spec in (instances(tmp_path), {"kv": str(tmp_path / "space.bin")}):
        u1 = streams(tmp_path, data, mapping=str(tmp_path / "align"), **spec)["u1"]
        for i, word in enumerate(["hallo", "ja", "ja", "ja", "nein", "gut"]):
            assert np.allclose(u1[[0, 3, 4, 5, 8, 9][i]], aligned[word], atol=1e-5), word
        assert not u1[6:8].any()  # no word: zeros in the target space too
    np.save(tmp_path / "align" / "mapping.npy", np.eye(DIM + 1, dtype=np.float32))
    with pytest.raises(SerkitError, match=r"W is \(5, 5\) for 4-d vectors"):
        streams(tmp_path, data, mapping=str(tmp_path / "align"), **instances(tmp_path))
    np.save(tmp_path / "align" / "mapping.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SerkitError, match="holds Python objects"):  # a pickle is never loaded
        streams(tmp_path, data, mapping=str(tmp_path / "align"), **instances(tmp_path))
    np.save(tmp_path / "align" / "mapping.npy", np.eye(DIM, dtype=np.float32))
    (tmp_path / "align" / "normalization.npz").unlink()
    with pytest.raises(SerkitError, match="normalisation statistics"):
        streams(tmp_path, data, mapping=str(tmp_path / "align"), **instances(tmp_path))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "either instances"),
        ({"instances": "x.h5", "kv": "y.bin"}, "either instances"),
        ({"kv": "space.bin", "oov": "skip"}, "oov is 'skip'"),
    ],
)
def test_spec_mistakes_are_user_errors(tmp_path: Path, spec: dict, message: str) -> None:
    data = make_data(tmp_path)
    spec = {k: str(tmp_path / v) if k == "kv" else v for k, v in spec.items()}
    with pytest.raises(SerkitError, match=message):
        streams(tmp_path, data, **spec)


def test_config_defaults_and_the_frames_reference_are_checked(tmp_path: Path) -> None:
    base = {
        "model": {"name": "mean_pool"},
        "data": {
            "sets": {"train": "data/train", "dev": "data/dev"},
            "streams": [
                {"name": "acoustic", "store": "feats/{set}.h5"},
                {"name": "semantic", "type": "word_frames", "frames": "acoustic", "instances": "w.h5"},
            ],
        },
    }
    resolved = configs.resolve(base)["data"]["streams"][1]
    assert resolved == {
        "name": "semantic", "type": "word_frames", "frames": "acoustic", "instances": "w.h5", "kv": None,
        "text": "text", "lowercase": False, "oov": "zero", "mapping": None, "frame_shift": None,
    }  # fmt: skip
    base["data"]["streams"][1]["frames"] = "semantic"
    with pytest.raises(SerkitError, match="not a declared frames stream"):
        configs.resolve(base)


def test_a_frame_level_model_trains_with_word_frames_beside_the_frames(tmp_path: Path) -> None:
    for name in ("train", "dev"):
        path = make_data(tmp_path, name)
        labels = {u: np.stack([np.linspace(-1, 1, n), np.cos(np.arange(n))], 1) for u, n in FRAMES.items()}
        datadir.write_labels(path / "labels.h5", labels, 10.0, ["arousal", "valence"])
    config = {
        "model": {"name": "mean_pool", "hidden": [8]},
        "task": {"type": "regression", "level": "frame", "frame_stream": "acoustic"},
        "data": {
            "sets": {"train": "data/train", "dev": "data/dev"},
            "streams": [
                {"name": "acoustic", "store": "feats/{set}.h5"},
                {"name": "semantic", "type": "word_frames", "frames": "acoustic",
                 "instances": "feats/{set}_pw_words.h5"},
            ],
        },
        "train": {"epochs": 2, "batch_size": 2},
    }  # fmt: skip
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "tiny.yaml").write_text(yaml.safe_dump(config))
    summary = train_in_process(tmp_path, "exp/semantic")
    assert summary.metric == "dev_ccc_mean" and np.isfinite(summary.best_value)
    saved = yaml.safe_load((tmp_path / "exp" / "semantic" / "config.yaml").read_text())
    assert saved["data"]["streams"][1]["type"] == "word_frames"


def test_chunked_frame_level_examples_cut_word_frames_with_the_frames(tmp_path: Path) -> None:
    """With ``data.chunk_frames`` each example's semantic frames are the same chunk as its frames."""
    from serkit.training.dataset import EmotionDataset

    path = make_data(tmp_path)
    labels = {u: np.zeros((n - 1, 2)) for u, n in FRAMES.items()}  # one label frame short of the store
    datadir.write_labels(path / "labels.h5", labels, 10.0, ["arousal", "valence"])
    specs = configs.resolve(
        {
            "model": {"name": "mean_pool"},
            "data": {
                "sets": {"train": str(path), "dev": str(path)},
                "streams": [
                    {"name": "acoustic", "store": str(tmp_path / "feats" / "{set}.h5")},
                    {"name": "semantic", "type": "word_frames", "frames": "acoustic", **instances(tmp_path)},
                ],
            },
        }
    )["data"]["streams"]
    task = {
        "type": "regression",
        "level": "frame",
        "frame_stream": "acoustic",
        "dims": ["arousal", "valence"],
    }
    whole = {u: a for u, a in streams(tmp_path, path, **instances(tmp_path)).items()}
    dataset = EmotionDataset(path, specs, task, chunk_frames=4)
    assert len(dataset) > len(FRAMES)
    for i in range(len(dataset)):
        example = dataset[i]
        semantic, acoustic = example["inputs"]["semantic"], example["inputs"]["acoustic"]
        assert len(semantic) == len(acoustic) == len(example["target"])
        start = example["start"]
        assert np.array_equal(semantic, whole[example["utt"]][start : start + len(semantic)])

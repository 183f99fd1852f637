"""Pseudo-word skip-gram (serkit.embeddings.pseudo_words) on a synthetic word-MFCC corpus whose
words are fixed MFCC trajectories, spoken by speakers of two groups that differ by an affine map of
the cepstra (as gender does) plus a per-speaker offset, in sentences from a small grammar."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import run_serkit

from serkit import datadir
from serkit.embeddings import pseudo_words as pw
from serkit.errors import SerkitError
from serkit.store import FeatureStore, StoreWriter
from serkit.text.embeddings_io import load_vectors

SUBJECTS = ["cats", "dogs", "birds", "kids"]
VERBS = ["eat", "see", "like", "chase"]
OBJECTS = ["fish", "bread", "toys", "balls"]
TOPICS = [(0, 1), (2, 3)]  # a sentence takes its subject, verb and object from one topic


def _corpus(root: Path, speakers: list[tuple[str, str]], sentences: int, seed: int) -> tuple[Path, Path]:
    """A data dir and its word-mfcc store: every speaker says ``sentences`` 'the S V the O' sentences."""
    rng = np.random.default_rng(seed)
    vocab = ["the", *SUBJECTS, *VERBS, *OBJECTS]
    template_rng = np.random.default_rng(1234)  # the words sound the same in every corpus
    templates = {w: template_rng.normal(0, 3, (int(template_rng.integers(8, 20)), 13)) for w in vocab}
    group_map = np.eye(13) + template_rng.normal(0, 0.6, (13, 13))
    data = datadir.DataDir(meta={"corpus": "test", "classes": ["neu"]})
    utterances = {}
    for spk, gender in speakers:
        offset = rng.normal(0, 2, 13)
        for i in range(sentences):
            utt = f"{spk}-u{i:03d}"
            topic = TOPICS[i % 2]
            subject, verb, obj = (c[topic[int(rng.integers(2))]] for c in (SUBJECTS, VERBS, OBJECTS))
            words = ["the", subject, verb, "the", obj]
            frames, spans, ctm, t = [], [], [], 0
            for word in words:
                rate = rng.uniform(0.8, 1.25)  # speaking rate
                base = templates[word]
                idx = np.clip(np.round(np.arange(0, len(base), rate)).astype(int), 0, len(base) - 1)
                segment = base[idx] + rng.normal(0, 0.3, (len(idx), 13))
                if gender == "f":
                    segment = segment @ group_map
                frames.append(segment + offset)
                spans.append((t, t + len(idx)))
                ctm.append(datadir.CtmWord(t / 100, len(idx) / 100, word))
                t += len(idx)
            data.wav_scp[utt] = datadir.WavEntry(f"/nonexistent/{utt}.wav")
            data.utt2spk[utt] = spk
            data.utt2gender[utt] = gender
            data.utt2emo[utt] = "neu"
            data.text[utt] = " ".join(words)
            data.words_ctm[utt] = ctm
            utterances[utt] = (np.concatenate(frames).astype(np.float32), words, np.asarray(spans))
    data_dir = datadir.save(data, root / "data")
    store = root / "wmfcc.h5"
    names = [f"mfcc_{i}" for i in range(13)]
    with StoreWriter(
        store, "word_mfcc", {}, frame_shift=0.01, frame_length=0.025, sample_rate=16000, feature_names=names
    ) as writer:
        for utt, (frames, words, spans) in utterances.items():
            writer.put(
                utt, frames, {"words": words, "word_start_frame": spans[:, 0], "word_end_frame": spans[:, 1]}
            )
    return data_dir, store


@pytest.fixture(scope="module")
def train(tmp_path_factory) -> tuple[Path, Path]:
    speakers = [("s1", "m"), ("s2", "m"), ("s3", "m"), ("s4", "f"), ("s5", "f")]
    return _corpus(tmp_path_factory.mktemp("pw_train"), speakers, sentences=40, seed=0)


@pytest.fixture(scope="module")
def trained(train, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pw_model") / "pw"
    pw.train_pseudo_words(*train, out, pw.PseudoWordConfig(clusters=20, epochs=10))
    return out


def _purity(words: list[str], labels: np.ndarray) -> float:
    words_a = np.asarray(words, dtype=object)
    return sum(max(Counter(words_a[labels == c]).values()) for c in set(labels)) / len(labels)


def test_group_map_brings_the_groups_together(train) -> None:
    """Across groups, the nearest segment says the same word far more often once the map is learnt."""
    from serkit.embeddings.word_instances import load_word_instances

    data = load_word_instances(*train, max_frames=pw.WHOLE_SEGMENT)
    dd = datadir.load(train[0])
    speaker = np.asarray([dd.utt2spk[data.utt_ids[u]] for u in data.utt_of], dtype=object)
    group = np.asarray([dd.spk2gender()[s] for s in speaker], dtype=object)
    speaker_of_frame = np.repeat(speaker, data.lengths)
    frames = pw.speaker_cmvn(data.frames.astype(np.float64), speaker_of_frame)
    segments = pw.Segments(data.offsets, data.lengths, 10)
    words = np.asarray(data.words, dtype=object)

    def across_groups_p1(frames: np.ndarray) -> float:
        unit = pw._unit(pw._zscore(segments.vectors(frames)))
        f, m = np.flatnonzero(group == "f"), np.flatnonzero(group == "m")
        return float(np.mean(words[m[pw._nearest(unit[f], unit[m])]] == words[f]))

    before = across_groups_p1(frames)
    mapped, maps = pw.learn_group_maps(
        frames, speaker_of_frame, np.repeat(group, data.lengths), group, segments, "m", 3, 1.0
    )
    after = across_groups_p1(mapped)
    assert set(maps) == {"f"} and maps["f"].shape == (3, 14, 13)
    print(f"across groups: {before:.3f} -> {after:.3f}")
    assert after > 0.95 and after > before + 0.1, (before, after)


def test_training_writes_a_word_space_and_a_data_only_model(trained) -> None:
    kv = load_vectors(trained / pw.VECTORS_FILE)
    assert set(kv.index_to_key) == {"the", *SUBJECTS, *VERBS, *OBJECTS}
    assert kv.index_to_key[0] == "the" and kv.vector_size == 50
    info = json.loads((trained / pw.MODEL_INFO).read_text())
    assert info["format"] == pw.FORMAT and info["reference"] == "m" and info["groups"] == ["f", "m"]
    with np.load(trained / pw.MODEL_FILE, allow_pickle=False) as z:
        assert z["centroids"].shape == (20, 130) and z["pseudo_vectors"].shape == (20, 50)


def test_training_segments_fall_into_pure_pseudo_words(train, trained) -> None:
    """Skip-gram sees the transcript's sequences up to renaming: each pseudo-word is one word (a
    frequent word may take several). Whether the space carries meaning is measured on the mini
    corpus (tests/test_embeddings_mini.py, recipes/iemocap stage 4)."""
    data, labels = pw.PseudoWordModel.load(trained).assign(*train)
    assert _purity(data.words, labels) > 0.97


def test_new_speakers_get_their_words_pseudo_words_from_audio(trained, tmp_path) -> None:
    """Unseen speakers (one of each group) map onto pseudo-words that are nearly pure by word."""
    test = _corpus(tmp_path, [("t1", "m"), ("t2", "f")], sentences=15, seed=7)
    model = pw.PseudoWordModel.load(trained)
    data, labels = model.assign(*test)
    assert _purity(data.words, labels) > 0.9

    out = tmp_path / "pw_words.h5"
    result = run_serkit("embed-words", str(trained), str(test[0]), str(test[1]), str(out))
    assert result.returncode == 0, result.stderr
    store = FeatureStore(out)
    utt = data.utt_ids[0]
    first = labels[data.utt_of == 0]
    assert np.allclose(store[utt], model.pseudo_vectors[first])
    assert list(store.utt_attrs(utt)["words"]) == data.words[: len(first)]


def test_same_seed_same_space(train, trained, tmp_path) -> None:
    again = tmp_path / "again"
    pw.train_pseudo_words(*train, again, pw.PseudoWordConfig(clusters=20, epochs=10))
    a, b = load_vectors(trained / pw.VECTORS_FILE), load_vectors(again / pw.VECTORS_FILE)
    assert a.index_to_key == b.index_to_key and np.array_equal(a.vectors, b.vectors)


def test_cli_trains_with_a_config_file(train, tmp_path) -> None:
    config = tmp_path / "pw.yaml"
    config.write_text("clusters: 16\nepochs: 5\nmap_iterations: 0\n")
    result = run_serkit(
        "train-pseudo-words", str(train[0]), str(train[1]), str(tmp_path / "out"), "--config", str(config)
    )
    assert result.returncode == 0, result.stderr
    assert "13 words from 16 pseudo-words" in result.stdout + result.stderr
    info = json.loads((tmp_path / "out" / pw.MODEL_INFO).read_text())
    assert info["config"]["clusters"] == 16 and info["groups"] == ["f", "m"]


def test_a_model_that_is_not_data_only_is_refused(trained, tmp_path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / pw.MODEL_INFO).write_text((trained / pw.MODEL_INFO).read_text())
    np.save(bad / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (bad / "x.npy").rename(bad / pw.MODEL_FILE)  # an object array: needs pickle to load
    with pytest.raises(SerkitError, match="pseudo-word model holds Python objects"):
        pw.PseudoWordModel.load(bad)


def test_an_incomplete_model_is_one_clear_error(trained, tmp_path) -> None:
    bad = tmp_path / "incomplete"
    bad.mkdir()
    (bad / pw.MODEL_INFO).write_text((trained / pw.MODEL_INFO).read_text())
    np.savez(bad / pw.MODEL_FILE, mean=np.zeros(13))
    with pytest.raises(SerkitError, match="incomplete pseudo-word model"):
        pw.PseudoWordModel.load(bad)

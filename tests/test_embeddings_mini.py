"""End to end on the default mini IEMOCAP corpus (slow): make-mini-corpus → prepare-data →
extract-features word-mfcc → train-speech2vec / train-word2vec → align-embeddings.

Checks that instances of the same word are closer (cosine) than instances of different words by a
clear margin; that the unsupervised alignment works at this vocabulary size (two Word2Vec spaces of
the same transcripts, seeds 1 and 2, align far above chance); and prints P@1 / P@5 of aligning
Speech2Vec onto Word2Vec, unsupervised, and supervised on half the shared words evaluated on the
other half. Measured 2026-11-21 (2 shared cores, 4.7 min): same 0.37 vs different 0.23; Word2Vec ↔ Word2Vec
P@1 0.31 (chance 0.008); Speech2Vec → Word2Vec P@1 0.000-0.016, held-out supervised P@1 ≈ chance.
Speech2Vec on ~5,000 word instances carries almost none of Word2Vec's geometry (correlation of
the two spaces' word-similarity matrices 0.04-0.06; Word2Vec seed 1 vs seed 2: 0.92; see
methods.md §B.3 on the reality check of Speech2Vec), so that P@1 is only printed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_serkit

from serkit.embeddings import alignment as al
from serkit.embeddings import speech2vec as s2v
from serkit.embeddings.word_instances import load_word_instances
from serkit.text.embeddings_io import load_kv

pytestmark = pytest.mark.slow


def _ok(*args: str) -> None:
    result = run_serkit(*args)
    assert result.returncode == 0, result.stderr[-3000:]


def same_vs_different_cosine(model_dir: Path, data_dir: Path, store: Path, sample: int = 3000) -> tuple:
    """Mean cosine between instances of the same word and between instances of different words."""
    model, state = s2v.load_model(model_dir, "cpu")
    data = load_word_instances(data_dir, store, stats=(np.asarray(state["mean"]), np.asarray(state["var"])))
    emb = s2v.embed_instances(model, data)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ids = np.random.default_rng(0).choice(len(data), min(sample, len(data)), replace=False)
    words = np.asarray(data.words, dtype=object)[ids]
    cos = emb[ids] @ emb[ids].T
    same = words[:, None] == words[None, :]
    off_diagonal = ~np.eye(len(ids), dtype=bool)
    return float(cos[same & off_diagonal].mean()), float(cos[~same].mean())


def test_speech2vec_and_alignment_on_the_mini_corpus(tmp_path: Path) -> None:
    _ok("make-mini-corpus", "--layout", "iemocap", str(tmp_path / "corpus"), "--size", "default")
    _ok("prepare-data", "iemocap", str(tmp_path / "corpus"), str(tmp_path / "data"))
    train, feats, emb = tmp_path / "data" / "train", tmp_path / "feats", tmp_path / "emb"
    _ok("extract-features", str(train), str(feats / "train.h5"), "--type", "word-mfcc", "--nj", "2")
    _ok("train-speech2vec", str(train), str(feats / "train.h5"), str(emb / "s2v"), "--epochs", "20")
    _ok("train-word2vec", str(train), str(emb / "w2v"))

    same, different = same_vs_different_cosine(emb / "s2v", train, feats / "train.h5")
    print(f"instance cosine: same word {same:.3f}, different words {different:.3f}")
    assert same > different + 0.1

    _ok("train-word2vec", str(train), str(emb / "w2v_seed2"), "--seed", "2")
    text_pair = emb / "align_w2v"
    _ok("align-embeddings", str(emb / "w2v_seed2" / "w2v.kv"), str(emb / "w2v" / "w2v.kv"), str(text_pair))
    m = json.loads((text_pair / "metrics.json").read_text())
    print(f"Word2Vec seed 2 -> seed 1: P@1 {m['p_at_1']:.3f} P@5 {m['p_at_5']:.3f} (init {m['init']})")
    assert m["p_at_1"] > 10 * m["chance_p_at_1"]

    unsupervised = emb / "align"
    _ok("align-embeddings", str(emb / "s2v" / "s2v.kv"), str(emb / "w2v" / "w2v.kv"), str(unsupervised))
    m = json.loads((unsupervised / "metrics.json").read_text())
    print(
        f"unsupervised: P@1 {m['p_at_1']:.3f} P@5 {m['p_at_5']:.3f} chance {m['chance_p_at_1']:.4f} "
        f"({m['eval_pairs']} words), mean_cosine {m['mean_cosine']:.3f}"
    )
    assert m["eval_pairs"] > 100 and 0 <= m["p_at_1"] <= m["p_at_5"]
    # supervised Procrustes on every other shared word, P@k on the held-out half
    src, tgt = load_kv(emb / "s2v" / "s2v.kv"), load_kv(emb / "w2v" / "w2v.kv")
    shared = [w for w in src.index_to_key if w in tgt.key_to_index]
    seed, held = shared[0::2], shared[1::2]
    res = al.align(
        src.vectors,
        tgt.vectors,
        src.index_to_key,
        tgt.index_to_key,
        al.AlignConfig(supervised=True),
        [(w, w) for w in seed],
    )
    rows = [res.src_words.index(w) for w in held]
    held_out = al.translation_precision(res.mapped[rows], res.target, held, res.tgt_words)
    print(
        f"supervised, held-out half: P@1 {held_out['p_at_1']:.3f} P@5 {held_out['p_at_5']:.3f} "
        f"({held_out['eval_pairs']} words, chance P@1 {1 / len(tgt):.4f})"
    )
    assert held_out["p_at_5"] > 5 / len(tgt)  # above chance at 5

"""Benchmark: pseudo-word skip-gram training time, beside one Speech2Vec epoch on the same words, and
(with ``--seeds``) the spread of its unsupervised P@1 against a second Word2Vec's.

Reads a data dir and its word-MFCC store (default: the iemocap recipe's default mini run,
``recipes/iemocap/data/train`` and ``feats/all_word-mfcc.h5``; run the recipe's stages 0-2 first).
Prints ``pseudo_words_s=<x> speech2vec_epoch_s=<y> ratio_20_epochs=<20y/x>`` (x: the whole
pseudo-word training, reading the store included; y: one warm Speech2Vec epoch, 2 threads); with
``--seeds 1,2,3`` also, per seed, the P@1 of the pseudo-word space and of Word2Vec (seed + 1)
mapped onto Word2Vec (seed) of the same transcripts (similarity start, stochastic self-learning),
and their means.

    python bench/pseudo_words.py [--data DIR] [--store H5] [--seeds 1,2,3,4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from serkit.embeddings.alignment import AlignConfig, align
from serkit.embeddings.pseudo_words import PseudoWordConfig, train_pseudo_words
from serkit.embeddings.speech2vec import Speech2VecConfig, train_speech2vec
from serkit.text.embeddings_io import load_vectors
from serkit.text.word2vec import train_word2vec

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "iemocap"


def p_at_1(src, tgt, seed: int) -> float:
    words = [w for w in src.index_to_key if w in tgt.key_to_index]
    source = np.stack([src[w] for w in words])
    target = np.stack([tgt[w] for w in words])
    result = align(
        source, target, words, words, AlignConfig(init="similarity", refine="stochastic", seed=seed)
    )
    return float(result.metrics["p_at_1"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=RECIPE / "data" / "train")
    parser.add_argument("--store", type=Path, default=RECIPE / "feats" / "all_word-mfcc.h5")
    parser.add_argument("--seeds", default="", help="comma list: also measure P@1 for these seeds")
    args = parser.parse_args()
    if not args.data.is_dir() or not args.store.is_file():
        raise SystemExit(
            f"error: {args.data} or {args.store} is missing: run `make demo` first, or give --data/--store"
        )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        import gensim.models  # noqa: F401  (imports are not training time)
        import sklearn.cluster  # noqa: F401

        began = time.perf_counter()
        train_pseudo_words(args.data, args.store, out / "pw", PseudoWordConfig())
        pw_s = time.perf_counter() - began
        s2v = Speech2VecConfig(epochs=2, threads=2, device="cpu")  # the second epoch: warm
        s2v_s = train_speech2vec(args.data, args.store, out / "s2v", s2v).curve[-1]["seconds"]
        print(
            f"pseudo_words_s={pw_s:.2f} speech2vec_epoch_s={s2v_s:.2f}"
            f" ratio_20_epochs={20 * s2v_s / pw_s:.1f}"
        )
        rows = []
        for seed in [int(s) for s in args.seeds.split(",") if s]:
            w2v = train_word2vec([args.data], None, min_count=5, seed=seed)
            ref = train_word2vec([args.data], None, min_count=5, seed=seed + 1)
            train_pseudo_words(args.data, args.store, out / f"pw{seed}", PseudoWordConfig(seed=seed))
            pw = load_vectors(out / f"pw{seed}" / "pw.bin")
            rows.append((p_at_1(pw, w2v, seed), p_at_1(ref, w2v, seed)))
            print(f"seed={seed} pseudo_words_p_at_1={rows[-1][0]:.3f} word2vec_ref_p_at_1={rows[-1][1]:.3f}")
        if rows:
            pw_mean, ref_mean = np.mean(rows, axis=0)
            print(
                f"mean pseudo_words_p_at_1={pw_mean:.3f} word2vec_ref_p_at_1={ref_mean:.3f}"
                f" ratio={pw_mean / ref_mean:.2f}"
            )


if __name__ == "__main__":
    main()

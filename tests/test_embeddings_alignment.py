"""MUSE-style alignment (Conneau et al. 2018): CSLS, Procrustes, the criterion, and recovery of a
hidden rotation on real embedding geometry (GloVe 6B 50-d) without supervision."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import run_serkit

from serkit.embeddings import alignment as al
from serkit.errors import SerkitError
from serkit.text import embeddings_io as eio
from serkit.text.word_vectors import WordVectors


def rotated_glove(n: int = 1000, dims: int | None = None, noise: float = 0.05, seed: int = 0):
    """GloVe's n most frequent words (optionally their first ``dims`` principal components) as target;
    the source is a random rotation of it plus Gaussian noise (``noise`` × the values' sd), with 5% of
    the words only in the source, another 5% only in the target, and a locally shuffled frequency order.
    """
    kv = eio.read_embeddings(eio.GLOVE6B50, limit=int(1.3 * n))
    words, x = kv.index_to_key[:n], np.asarray(kv.vectors[:n], dtype=np.float64)
    if dims is not None:
        x = x - x.mean(axis=0)
        x = x @ np.linalg.svd(x, full_matrices=False)[2][:dims].T
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((x.shape[1], x.shape[1])))
    s = x @ q.T + noise * x.std() * rng.standard_normal(x.shape)
    ids = rng.permutation(n)
    src_only, tgt_only = set(ids[: n // 20]), set(ids[n // 20 : n // 10])
    src_ids = [i for i in range(n) if i not in tgt_only]
    tgt_ids = [i for i in range(n) if i not in src_only]
    rank = np.asarray(src_ids) + rng.normal(0, n / 20, len(src_ids))  # frequency orders differ somewhat
    src_ids = [src_ids[i] for i in np.argsort(rank)]
    return (
        s[src_ids].astype(np.float32),
        x[tgt_ids].astype(np.float32),
        [words[i] for i in src_ids],
        [words[i] for i in tgt_ids],
    )


def test_procrustes_csls_and_criterion_on_a_known_rotation() -> None:
    rng = np.random.default_rng(1)
    tgt = torch.from_numpy(rng.standard_normal((300, 8)).astype(np.float32))
    q = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(0)))[0]
    src = tgt @ q  # W = qᵀ maps it back: rows (W s)ᵀ = s qᵀ… = tgt
    pairs = torch.stack([torch.arange(300), torch.arange(300)], dim=1)
    w = al.procrustes(src, tgt, pairs)
    assert torch.allclose(src @ w.T, tgt, atol=1e-4)
    assert torch.allclose(w @ w.T, torch.eye(8), atol=1e-5)
    unit = al._unit(tgt)
    dico = al.build_dictionary(unit, unit, "S2T&T2S")
    assert sorted(dico[:, 0].tolist()) == list(range(300)) and torch.equal(dico[:, 0], dico[:, 1])
    assert al.mean_cosine(tgt, tgt) == pytest.approx(1.0, abs=1e-5)
    assert al.mean_cosine(src, tgt) < 0.95  # unaligned
    # CSLS r: mean similarity to the k nearest neighbours, itself included when it is in the keys
    r = al.knn_mean_similarity(unit[:5], unit, 1)
    assert torch.allclose(r, torch.ones(5), atol=1e-5)


def test_precision_against_the_identity_dictionary() -> None:
    x = np.eye(4, dtype=np.float32)
    metrics = al.translation_precision(x, x, ["a", "b", "c", "d"], ["a", "b", "c", "d"])
    assert metrics == {"p_at_1": 1.0, "p_at_5": 1.0, "eval_pairs": 4}
    swapped = al.translation_precision(x, x[[1, 0, 2, 3]], ["a", "b", "c", "d"], ["a", "b", "c", "d"])
    assert swapped["p_at_1"] == 0.5
    assert al.translation_precision(x, x, ["a", "b", "c", "d"], ["w", "x", "y", "z"]) == {}


def test_supervised_procrustes_from_identical_words() -> None:
    src, tgt, sw, tw = rotated_glove(n=1000)
    result = al.align(src, tgt, sw, tw, al.AlignConfig(supervised=True, n_refinement=1))
    assert result.metrics["p_at_1"] >= 0.97 and result.metrics["mode"] == "supervised"
    assert np.allclose(result.mapping @ result.mapping.T, np.eye(50), atol=1e-4)


def test_unsupervised_alignment_recovers_a_rotation_of_glove_50d() -> None:
    """The 1,000 most frequent GloVe 6B 50-d words, rotated + 5% noise, 10% one-sided, shuffled order.

    Seeded and single-threaded, hence deterministic: the map falls into place after ~11,000 mapping
    steps (adversarial epoch 11 of 1,000 steps), which the criterion selects.
    """
    src, tgt, sw, tw = rotated_glove(n=1000)
    config = al.AlignConfig(init="adversarial", seed=0, epoch_size=32000, n_epochs=12)
    start = time.perf_counter()
    result = al.align(src, tgt, sw, tw, config)
    seconds = time.perf_counter() - start
    print(f"P@1 {result.metrics['p_at_1']:.4f} P@5 {result.metrics['p_at_5']:.4f} in {seconds:.1f} s")
    assert result.metrics["eval_pairs"] == 900
    assert result.metrics["p_at_1"] >= 0.95, result.history
    assert result.metrics["mean_cosine"] > 0.9
    first = al.mean_cosine(
        torch.from_numpy(al.normalize_embeddings(src, config.normalize)),
        torch.from_numpy(al.normalize_embeddings(tgt, config.normalize)),
    )
    assert first < 0.7  # unaligned: the criterion tells failure from success


def test_similarity_start_recovers_a_rotation_and_the_criterion_picks_it() -> None:
    """Artetxe et al. 2018's sorted-similarity start on 300 GloVe words (rotated, noisy, 10% one-sided);
    next to a starved adversarial run (one short epoch) the mean-cosine criterion keeps the good map."""
    src, tgt, sw, tw = rotated_glove(n=300)
    alone = al.align(src, tgt, sw, tw, al.AlignConfig(init="similarity"))
    assert alone.metrics["p_at_1"] >= 0.95 and alone.metrics["init"] == "similarity"
    both = al.align(src, tgt, sw, tw, al.AlignConfig(n_epochs=1, epoch_size=3200))
    phases = [(h["init"], h["phase"]) for h in both.history if h["phase"] in ("selected", "rejected")]
    assert phases == [("adversarial", "selected"), ("similarity", "selected")], both.history
    assert both.metrics["init"] == "similarity" and both.metrics["p_at_1"] >= 0.95
    with pytest.raises(SerkitError, match="unknown init"):
        al.align(src, tgt, sw, tw, al.AlignConfig(init="magic"))


def test_errors_and_cli(tmp_path: Path) -> None:
    with pytest.raises(SerkitError, match="different dimensions"):
        al.align(np.ones((5, 3), np.float32), np.ones((5, 4), np.float32), list("abcde"), list("abcde"))
    src, tgt, sw, tw = rotated_glove(n=300)
    eio.save_vectors(WordVectors(sw, src), tmp_path / "src.bin")
    eio.save_vectors(WordVectors(tw, tgt), tmp_path / "tgt.bin")
    out = tmp_path / "align"
    conf = tmp_path / "align.yaml"
    conf.write_text("supervised: true\nn_refinement: 3\nseed: 4\n")
    kvs = [str(tmp_path / "src.bin"), str(tmp_path / "tgt.bin")]
    result = run_serkit("align-embeddings", *kvs, str(out), "--config", str(conf), "--seed", "5")
    assert result.returncode == 0, result.stderr
    recorded = yaml.safe_load((out / "config.yaml").read_text())
    assert (recorded["supervised"], recorded["n_refinement"], recorded["seed"]) == (True, 3, 5)
    assert (out / "cmd.txt").is_file() and (out / "env.txt").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["p_at_1"] >= 0.95 and metrics["mode"] == "supervised" and "mean_cosine" in metrics
    assert "p_at_1" in result.stderr and "mean_cosine" in result.stderr  # the rich table
    aligned = eio.load_vectors(out / "aligned.bin")
    assert aligned.index_to_key == sw and np.load(out / "mapping.npy").shape == (50, 50)
    bad = tmp_path / "dico.txt"
    bad.write_text("zzz yyy\n")
    result = run_serkit(
        "align-embeddings",
        str(tmp_path / "src.bin"),
        str(tmp_path / "tgt.bin"),
        str(out),
        "--supervised",
        "--dictionary",
        str(bad),
    )
    assert result.returncode == 2 and "seed dictionary" in result.stderr

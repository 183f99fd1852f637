"""How much meaning an embedding space shares with another, and how word-like instance embeddings are.

- :func:`space_diagnostics` (two word-type spaces): the chance level of P@1 (1/shared words), the
  Spearman correlation of the two spaces' cosine-similarity matrices over the shared words
  (representational similarity; independent of any map), and supervised Procrustes held-out P@1 —
  the best an orthogonal map can do for that pair, to read the unsupervised P@1 of
  :mod:`serkit.embeddings.alignment` against (Conneau et al. 2018 §2.2, §3.1; the reality check of
  Chen et al. 2022 reports the same kind of numbers for Speech2Vec).
- :func:`instance_diagnostics` (one vector per spoken word instance, as ``embed-words`` writes):
  mean cosine of same-word and of different-word pairs, and same-word retrieval P@1 (the nearest
  other instance is the same word), also across speakers.
- :func:`evaluate_embeddings`: ``serkit eval-embeddings``, the above from files, into a JSON file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from serkit.embeddings.alignment import AlignConfig, normalize_embeddings, procrustes, translation_precision
from serkit.errors import SerkitError
from serkit.tmpfiles import write_text_atomic

NORMALIZE = AlignConfig.normalize  # as align-embeddings normalises before mapping
MAX_PAIRS = 1_000_000  # word pairs for the Spearman correlation; above, a seeded sample
MAX_QUERIES = 5_000  # instance queries for retrieval P@1; above, a seeded sample
ALIGNED_KEYS = ("init", "mean_cosine", "p_at_1", "p_at_5")


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties sharing their mean rank (as Spearman's rho needs)."""
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts = np.r_[0, np.flatnonzero(ordered[1:] != ordered[:-1]) + 1]
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = np.repeat((starts + ends - 1) / 2, ends - starts)
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rho of two equal-length samples; None when either is constant."""
    ra, rb = _ranks(np.asarray(a)), _ranks(np.asarray(b))
    ra -= ra.mean()
    rb -= rb.mean()
    denominator = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denominator) if denominator > 0 else None


def _word_pairs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Every pair i < j of ``n`` items, or ``MAX_PAIRS`` distinct-item pairs drawn uniformly."""
    if n * (n - 1) // 2 <= MAX_PAIRS:
        return np.triu_indices(n, k=1)
    i = rng.integers(n, size=MAX_PAIRS)
    j = (i + rng.integers(1, n, size=MAX_PAIRS)) % n  # uniform over the other items
    return i, j


def _pair_cosines(x: np.ndarray, i: np.ndarray, j: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    out = np.empty(len(i))
    for a in range(0, len(i), chunk):
        out[a : a + chunk] = np.einsum("ij,ij->i", x[i[a : a + chunk]], x[j[a : a + chunk]])
    return out


def space_diagnostics(
    src_words: Sequence[str],
    src_vectors: np.ndarray,
    tgt_words: Sequence[str],
    tgt_vectors: np.ndarray,
    seed: int = 0,
) -> dict:
    """Diagnostics of two word spaces over the words they share (see the module docstring).

    Keys: ``shared_words``; ``chance_p_at_1`` (1/shared); ``spearman_cosine`` over the upper triangle
    of the shared words' cosine matrices (raw vectors), from ``spearman_pairs`` pairs (all of them
    up to ``MAX_PAIRS``, a seeded sample above); ``supervised_p_at_1``: both spaces normalised as
    ``align-embeddings`` does (``renorm,center,renorm``), Procrustes on a seeded random half of the
    shared words, CSLS P@1 (retrieving among all target words) on the other half, averaged over the
    two halves swapped. A value that cannot be computed (under 3 shared words for Spearman, under
    4 or spaces of different dimensions for Procrustes, a constant similarity) is None.
    """
    src_vectors, tgt_vectors = np.asarray(src_vectors), np.asarray(tgt_vectors)
    src_index = {w: i for i, w in enumerate(src_words)}
    tgt_index = {w: i for i, w in enumerate(tgt_words)}
    shared = [w for w in src_words if w in tgt_index]
    n = len(shared)
    out: dict = {
        "shared_words": n,
        "chance_p_at_1": 1 / n if n else None,
        "spearman_cosine": None,
        "spearman_pairs": 0,
        "supervised_p_at_1": None,
    }
    rng = np.random.default_rng(seed)
    halves = np.array_split(rng.permutation(n), 2)
    if n >= 3:
        s_ids = np.array([src_index[w] for w in shared])
        t_ids = np.array([tgt_index[w] for w in shared])
        i, j = _word_pairs(n, rng)
        a, b = _unit(src_vectors[s_ids]), _unit(tgt_vectors[t_ids])
        out["spearman_cosine"] = spearman(_pair_cosines(a, i, j), _pair_cosines(b, i, j))
        out["spearman_pairs"] = len(i)
    if n >= 4 and src_vectors.shape[1] == tgt_vectors.shape[1]:
        src_n = torch.from_numpy(normalize_embeddings(src_vectors, NORMALIZE))
        tgt_n = torch.from_numpy(normalize_embeddings(tgt_vectors, NORMALIZE))
        scores = []
        for train, test in ((halves[0], halves[1]), (halves[1], halves[0])):
            pairs = torch.tensor([[src_index[shared[k]], tgt_index[shared[k]]] for k in train])
            weight = procrustes(src_n, tgt_n, pairs)
            held_out = {shared[k] for k in test}
            found = translation_precision(
                (src_n @ weight.T).numpy(), tgt_n.numpy(), src_words, tgt_words, ks=(1,), queries=held_out
            )
            scores.append(found["p_at_1"])
        out["supervised_p_at_1"] = float(np.mean(scores))
    return out


def _pair_cosine_means(u: np.ndarray, ids: np.ndarray) -> tuple[float | None, float | None]:
    """Exact mean cosine over same-group and over different-group pairs of unit rows ``u``.

    Over the pairs i < j of a group, Σ uᵢ·uⱼ = (‖Σ u‖² − Σ ‖uᵢ‖²) / 2, so no pair is enumerated.
    """
    norms = (u * u).sum(axis=1)
    sums = np.zeros((ids.max() + 1, u.shape[1]))
    np.add.at(sums, ids, u)
    counts = np.bincount(ids)
    same_sum = ((sums * sums).sum() - norms.sum()) / 2
    total = u.sum(axis=0)
    all_sum = (total @ total - norms.sum()) / 2
    same_pairs = int((counts * (counts - 1) // 2).sum())
    diff_pairs = len(u) * (len(u) - 1) // 2 - same_pairs
    same = float(same_sum / same_pairs) if same_pairs else None
    diff = float((all_sum - same_sum) / diff_pairs) if diff_pairs else None
    return same, diff


def _nearest_hits(
    u: torch.Tensor, ids: torch.Tensor, queries: torch.Tensor, groups: torch.Tensor | None
) -> torch.Tensor:
    """For each query row: does its nearest other row (by cosine; among rows of another ``groups``
    value when given) carry the same id?"""
    rows = max(1, (1 << 24) // len(u))
    hits = torch.empty(len(queries), dtype=torch.bool)
    for a in range(0, len(queries), rows):
        q = queries[a : a + rows]
        sims = u[q] @ u.T
        sims[torch.arange(len(q)), q] = -torch.inf
        if groups is not None:
            sims.masked_fill_(groups[None, :] == groups[q][:, None], -torch.inf)
        hits[a : a + rows] = ids[sims.argmax(dim=1)] == ids[q]
    return hits


def instance_diagnostics(
    words: Sequence[str],
    vectors: np.ndarray,
    speakers: Sequence[str] | None = None,
    seed: int = 0,
    max_queries: int = MAX_QUERIES,
) -> dict:
    """Diagnostics of word-instance embeddings (one row of ``vectors`` per spoken word).

    Keys: ``instances``, ``word_types``; ``same_word_cosine`` / ``different_word_cosine``, the mean
    cosine over all same-word / different-word pairs (exact); ``same_word_p_at_1``: the share of
    queries whose nearest other instance (cosine) is the same word, the queries being the instances
    whose word has another instance (``queries`` of them: all, or a seeded sample of ``max_queries``,
    ``sampled_queries`` says which). With ``speakers`` (one per instance) also ``speakers`` and
    ``same_word_p_at_1_other_speaker``: the nearest among other speakers' instances, over the
    queries whose word some other speaker said (``queries_other_speaker``). None where no pair or
    query exists.
    """
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or len(x) != len(words):
        raise SerkitError(f"{len(words)} words but vectors of shape {x.shape}")
    if speakers is not None and len(speakers) != len(words):
        raise SerkitError(f"{len(words)} words but {len(speakers)} speakers")
    types, ids = np.unique(np.asarray(list(words), dtype=object), return_inverse=True)
    out: dict = {"instances": len(x), "word_types": len(types)}
    if not len(x):
        return {**out, "same_word_cosine": None, "different_word_cosine": None, "same_word_p_at_1": None}
    u = _unit(x)
    out["same_word_cosine"], out["different_word_cosine"] = _pair_cosine_means(u, ids)
    counts = np.bincount(ids)
    candidates = np.flatnonzero(counts[ids] > 1)
    sampled = len(candidates) > max_queries
    rng = np.random.default_rng(seed)
    queries = np.sort(rng.choice(candidates, max_queries, replace=False)) if sampled else candidates
    u_t, ids_t = torch.from_numpy(u.astype(np.float32)), torch.from_numpy(ids)
    hits = _nearest_hits(u_t, ids_t, torch.from_numpy(queries), None)
    out["same_word_p_at_1"] = float(hits.float().mean()) if len(queries) else None
    out["queries"] = len(queries)
    out["sampled_queries"] = sampled
    if speakers is not None:
        names, spk = np.unique(np.asarray(list(speakers), dtype=object), return_inverse=True)
        # a query counts when some other speaker said its word: its word has more than one speaker
        word_speakers = np.zeros((len(types), len(names)), dtype=bool)
        word_speakers[ids, spk] = True
        other = queries[word_speakers[ids[queries]].sum(axis=1) > 1]
        hits = _nearest_hits(u_t, ids_t, torch.from_numpy(other), torch.from_numpy(spk))
        out["speakers"] = len(names)
        out["same_word_p_at_1_other_speaker"] = float(hits.float().mean()) if len(other) else None
        out["queries_other_speaker"] = len(other)
    return out


# --------------------------------------------------------------------------- files


def read_instance_store(path: str | Path) -> tuple[list[str], np.ndarray, list[str]]:
    """An ``embed-words`` store (``/<utt>`` = words × dim, attr ``words``) → (words, vectors, utts),
    one entry per instance."""
    from serkit.store import FeatureStore, str_list

    words: list[str] = []
    utts: list[str] = []
    blocks: list[np.ndarray] = []
    with FeatureStore(path) as store:
        for utt in store.keys():
            frames = store[utt]
            found = store.utt_attrs(utt).get("words")
            if found is None:
                raise SerkitError(
                    f"utterance {utt!r} has no 'words' attribute: not a word-instance store",
                    path=path,
                    hint="give a store written by serkit embed-words",
                )
            found = str_list(found)
            if frames.ndim != 2 or len(found) != len(frames):
                raise SerkitError(
                    f"utterance {utt!r}: {len(found)} words but {frames.shape[0]} vectors",
                    path=path,
                    hint="rewrite the store with serkit embed-words",
                )
            words += list(found)
            utts += [utt] * len(found)
            blocks.append(frames)
    dims = {b.shape[1] for b in blocks if len(b)}
    if len(dims) > 1:
        raise SerkitError(f"vectors of different sizes {sorted(dims)}", path=path)
    vectors = np.concatenate([b for b in blocks if len(b)]) if words else np.zeros((0, 0), np.float32)
    return words, vectors, utts


def _aligned_metrics(align_dir: str | Path) -> dict:
    path = Path(align_dir) / "metrics.json"
    if not path.is_file():
        raise SerkitError("no metrics.json", path=align_dir, hint="give an align-embeddings output dir")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SerkitError(f"not JSON ({exc.msg})", path=path, line=exc.lineno) from None
    return {key: metrics.get(key) for key in ALIGNED_KEYS}


def _speakers(data_dir: str | Path, utts: Sequence[str]) -> list[str]:
    from serkit import datadir

    utt2spk = datadir.load(data_dir).utt2spk
    missing = sorted(set(utts) - set(utt2spk))
    if missing:
        raise SerkitError(
            f"{len(missing)} utterances of the store are not in utt2spk (e.g. {missing[0]})",
            path=data_dir,
            hint="give the data dir the store was made from",
        )
    return [utt2spk[u] for u in utts]


def write_json(path: str | Path, obj: dict) -> Path:
    """``obj`` as indented JSON, written to a temporary name and renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def evaluate_embeddings(
    src: str | Path,
    tgt: str | Path,
    out: str | Path,
    aligned: str | Path | None = None,
    instances: str | Path | None = None,
    data_dir: str | Path | None = None,
    seed: int = 0,
) -> dict:
    """``serkit eval-embeddings``: :func:`space_diagnostics` of the embedding files ``src`` and
    ``tgt``; with ``aligned`` (an ``align-embeddings`` dir) its ``init``, ``mean_cosine``,
    ``p_at_1``, ``p_at_5``; with ``instances`` (an ``embed-words`` store) :func:`instance_diagnostics`,
    per speaker of ``data_dir``'s utt2spk when given. Everything is read before ``out`` (JSON) is
    written; returns what it holds."""
    from serkit.text.embeddings_io import load_vectors

    if data_dir is not None and instances is None:
        raise SerkitError("--data goes with --instances (it gives the instances' speakers)")
    src_kv, tgt_kv = load_vectors(src), load_vectors(tgt)
    report: dict = {"src": str(src), "tgt": str(tgt), "seed": seed}
    report.update(
        space_diagnostics(
            list(src_kv.index_to_key),
            np.asarray(src_kv.vectors),
            list(tgt_kv.index_to_key),
            np.asarray(tgt_kv.vectors),
            seed,
        )
    )
    if not report["shared_words"]:
        raise SerkitError(
            f"{src} and {tgt} share no word", hint="compare spaces keyed the same way (normalised words)"
        )
    if aligned is not None:
        report["aligned"] = str(aligned)
        report.update(_aligned_metrics(aligned))
    if instances is not None:
        words, vectors, utts = read_instance_store(instances)
        speakers = _speakers(data_dir, utts) if data_dir is not None else None
        report["instance_store"] = str(instances)
        if data_dir is not None:
            report["data"] = str(data_dir)
        report.update(instance_diagnostics(words, vectors, speakers, seed))
    write_json(out, report)
    return report

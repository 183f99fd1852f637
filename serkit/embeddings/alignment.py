"""Align one embedding space onto another: MUSE (Conneau et al. 2018, "Word translation without
parallel data"; facebookresearch/MUSE, ``methods.md`` §D).

Unsupervised (default): adversarial training of a linear map W (identity init) against a
discriminator that tells mapped source vectors from target vectors (Conneau et al. 2018 §2.1), W kept
near-orthogonal by W ← (1+β)W − β(WWᵀ)W; then Procrustes refinement (§2.2) on dictionaries induced with
CSLS (§2.3); model selection in both phases by the unsupervised mean-cosine criterion (§3.5: the mean
cosine of the S2T CSLS dictionary of the 10,000 most frequent source words). Supervised
(``supervised=True``): Procrustes on a seed dictionary (default: the words spelled the same in both
spaces), then the same refinement.

Every default is MUSE ``unsupervised.py`` at 3159355b (``methods.md`` §D.1) except these decisions,
which no source settles for small (a few hundred to a few thousand words) speech/text vocabularies:

- ``normalize = "renorm,center,renorm"`` (MUSE: none). An orthogonal map keeps norms, so two spaces of
  different scale (Speech2Vec LSTM states vs Word2Vec) would hand the discriminator a trivial cue;
  unit length + mean centring removes it. ``aligned.bin`` and ``target.bin`` are written in this
  normalised space (as MUSE exports both spaces normalised).
- The discriminator samples uniformly from ``min(dis_most_frequent, |src|)`` / ``min(…, |tgt|)``
  rows — what exists — instead of asserting (MUSE §D.5 gotcha); likewise every dictionary max rank is
  capped at the vocabulary sizes.
- ``dis_hid_dim = 128`` (MUSE: 2048 for 300-d spaces; Chung et al. 2018 §5.2: 512): a 50-d space
  needs far less, and each adversarial step costs ~30× less on a CPU. ``epoch_size = 100,000``
  samples (MUSE: 1,000,000): 5 epochs = 15,625 mapping steps, a few minutes on a CPU.
  Measured on the 1,000 most frequent GloVe 6B 50-d words under a random rotation (the test):
  the map falls into place after ~11,000 mapping steps (seed 0), P@1 0.998.
- ``lr_shrink = 1`` (MUSE: 0.5): on a few hundred words the criterion is noisy from epoch to epoch,
  and MUSE's halving of the map's learning rate at its second drop stalled the search.
- ``threads = 1``: small MLPs gain nothing from intra-op threads, and lose badly when the cores are
  shared; one thread also keeps a seeded run bit-reproducible.
- ``dico_build = "S2T"``, the MUSE default since June 2018 (§D.1); the supervised mode uses
  ``"S2T&T2S"`` as MUSE ``supervised.py`` does.
- Mapped vectors are the rows of ``X Wᵀ`` (W maps a source column vector into the target space);
  ``mapping.npy`` holds W.

- ``init = "adversarial,similarity"``: unsupervised alignment refines two starting points and keeps
  the one the mean-cosine criterion prefers (MUSE's own model selection, applied across starts).
  ``similarity`` is the initial dictionary of Artetxe et al. 2018 ("A robust self-learning method
  for fully unsupervised cross-lingual mappings", ACL, §3.2): each word's sorted similarity
  distribution (rows of sqrt(X Xᵀ), sorted) is compared across spaces, and CSLS nearest neighbours
  in both directions seed the first Procrustes. On a few hundred words the adversarial game has too
  little to go on: two Word2Vec spaces of the same 125-word mini-corpus transcripts (seeds 1 and 2)
  align at chance P@1 adversarially and at 0.31 from the similarity start (supervised Procrustes
  on half the words, evaluated on the other half: 0.29).

- ``refine = "stochastic"`` replaces MUSE's refinement by Artetxe et al. 2018's stochastic
  self-learning (:mod:`serkit.embeddings.self_learning`), for small, noisy spaces; the default stays
  MUSE's, the papers' method.

Evaluation: P@1 / P@5 of CSLS retrieval against the identity dictionary (every word present in both
spaces; MUSE's ``word_translation`` with ``csls_knn_10``), reported only when the spaces share words.
Beside them, the metrics hold :func:`serkit.embeddings.diagnostics.space_diagnostics` of the two
input spaces: ``chance_p_at_1`` (1/shared words), ``spearman_cosine`` and ``supervised_p_at_1``
(held-out Procrustes, the upper bound for the pair).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from serkit.errors import SerkitError

CRITERION = "mean_cosine-csls_knn_10-S2T-10000"


@dataclass
class AlignConfig:
    """Hyper-parameters (MUSE names); see the module docstring for the ones that differ from MUSE."""

    supervised: bool = False
    init: str = "adversarial,similarity"  # unsupervised starting points, the best kept by the criterion
    refine: str = "procrustes"  # unsupervised: MUSE's Procrustes refinement, or "stochastic" (Artetxe et al.)
    normalize: str = "renorm,center,renorm"
    seed: int = 0
    # adversarial step (methods.md §D.1-D.2)
    n_epochs: int = 5
    epoch_size: int = 100_000
    batch_size: int = 32
    map_lr: float = 0.1
    dis_lr: float = 0.1
    map_beta: float = 0.001
    dis_layers: int = 2
    dis_hid_dim: int = 128
    dis_dropout: float = 0.0
    dis_input_dropout: float = 0.1
    dis_steps: int = 5
    dis_lambda: float = 1.0
    dis_most_frequent: int = 75000
    dis_smooth: float = 0.1
    lr_decay: float = 0.98
    min_lr: float = 1e-6
    lr_shrink: float = 1.0
    # refinement (§D.3)
    n_refinement: int = 5
    dico_knn: int = 10
    dico_build: str | None = None  # None: S2T unsupervised, S2T&T2S supervised
    dico_max_rank: int = 15000
    dico_max_size: int = 0
    threads: int = 1  # CPU threads (0: torch's default); 1 keeps a seeded run bit-reproducible

    def resolved_dico_build(self) -> str:
        return self.dico_build or ("S2T&T2S" if self.supervised else "S2T")


@dataclass
class Alignment:
    """The result: W (d × d), the mapped source matrix, metrics and the per-step history."""

    mapping: np.ndarray
    mapped: np.ndarray
    target: np.ndarray
    src_words: list[str]
    tgt_words: list[str]
    metrics: dict
    history: list[dict] = field(default_factory=list)
    src_means: np.ndarray | None = None  # the mean removed at each ``center`` step of the source


# --------------------------------------------------------------------------- geometry


def _steps(how: str) -> list[str]:
    """The steps of a ``normalize`` setting (comma list; ``none`` and blanks dropped)."""
    return [s.strip() for s in how.split(",") if s.strip() and s.strip() != "none"]


def normalize_embeddings(x: np.ndarray, how: str) -> np.ndarray:
    """Apply MUSE's ``normalize_embeddings`` steps (comma list of ``center`` / ``renorm``; ``none``)."""
    x = np.array(x, dtype=np.float32)
    for step in _steps(how):
        if step == "center":
            x -= x.mean(axis=0, keepdims=True)
        elif step == "renorm":
            x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
        else:
            raise SerkitError(f"unknown normalisation step {step!r}", hint="use center, renorm or none")
    return x


def normalization_means(x: np.ndarray, how: str) -> np.ndarray:
    """The mean :func:`normalize_embeddings` removes at each ``center`` step of ``how`` (steps × dim)."""
    x = np.array(x, dtype=np.float32)
    means = []
    for step in _steps(how):
        if step == "center":
            means.append(x.mean(axis=0))
        x = normalize_embeddings(x, step)
    return np.asarray(means, dtype=np.float32).reshape(len(means), x.shape[1])


def apply_normalization(x: np.ndarray, how: str, means: np.ndarray) -> np.ndarray:
    """``how``'s steps on new rows with a space's saved ``center`` means (:func:`normalization_means`):
    rows of that space come out as :func:`normalize_embeddings` of the whole space makes them."""
    x = np.array(x, dtype=np.float32)
    centers = iter(np.asarray(means, dtype=np.float32))
    for step in _steps(how):
        x = x - next(centers) if step == "center" else normalize_embeddings(x, step)
    return x


def load_normalization(out_dir: str | Path) -> tuple[str, np.ndarray]:
    """``normalization.npz`` of an alignment dir: the steps and the source space's ``center`` means."""
    path = Path(out_dir) / "normalization.npz"
    if not path.is_file():
        raise SerkitError(
            "the alignment has no normalisation statistics",
            path=path,
            hint="align the spaces again with this serkit (serkit align-embeddings writes them)",
        )
    from serkit.npfiles import load_arrays

    saved = load_arrays(path, "normalization.npz of align-embeddings", "run serkit align-embeddings again")
    if not isinstance(saved, dict) or not {"normalize", "src_means"} <= set(saved):
        raise SerkitError(
            "not a normalization.npz of align-embeddings (no normalize, src_means)",
            path=path,
            hint="run serkit align-embeddings again",
        )
    return str(saved["normalize"]), saved["src_means"].astype(np.float32)


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-8)


def _chunks(n: int, size: int = 4096):
    for start in range(0, n, size):
        yield start, min(start + size, n)


def knn_mean_similarity(queries: torch.Tensor, keys: torch.Tensor, k: int) -> torch.Tensor:
    """r(q): mean cosine of each (unit) query to its k nearest (unit) keys (CSLS, Conneau §2.3)."""
    k = min(k, len(keys))
    out = torch.empty(len(queries))
    for a, b in _chunks(len(queries)):
        out[a:b] = (queries[a:b] @ keys.T).topk(k, dim=1).values.mean(dim=1)
    return out


def _top2(src: torch.Tensor, tgt: torch.Tensor, n: int, method: str, knn: int):
    """Best two targets (scores, ids) of the first ``n`` sources by ``nn`` or ``csls`` score.

    For CSLS, r is computed against the whole other space, as MUSE does.
    """
    k = min(2, len(tgt))
    if method == "csls":
        r_src = knn_mean_similarity(src[:n], tgt, knn)
        r_tgt = knn_mean_similarity(tgt, src, knn)
    elif method != "nn":
        raise SerkitError(f"unknown dictionary method {method!r}", hint="use csls or nn")
    scores = torch.empty(n, k)
    ids = torch.empty(n, k, dtype=torch.long)
    for a, b in _chunks(n):
        s = src[a:b] @ tgt.T
        if method == "csls":
            s = 2 * s - r_src[a:b, None] - r_tgt[None, :]
        scores[a:b], ids[a:b] = s.topk(k, dim=1)
    return scores, ids


def _candidates(src: torch.Tensor, tgt: torch.Tensor, method: str, knn: int, max_rank: int) -> torch.Tensor:
    """MUSE ``get_candidates``: (src id, best tgt id) for the first ``max_rank`` sources, by margin."""
    n = min(max_rank, len(src)) if max_rank > 0 else len(src)
    scores, ids = _top2(src, tgt, n, method, knn)
    pairs = torch.stack([torch.arange(n), ids[:, 0]], dim=1)
    margin = scores[:, 0] - scores[:, 1] if scores.shape[1] > 1 else scores[:, 0]
    pairs = pairs[margin.argsort(descending=True, stable=True)]
    if max_rank > 0:
        pairs = pairs[pairs.max(dim=1).values < max_rank]
    return pairs


def build_dictionary(
    src: torch.Tensor,
    tgt: torch.Tensor,
    build: str = "S2T",
    method: str = "csls",
    knn: int = 10,
    max_rank: int = 15000,
    max_size: int = 0,
) -> torch.Tensor:
    """MUSE ``build_dictionary`` on unit vectors: (src, tgt) id pairs, best margins first."""
    s2t = _candidates(src, tgt, method, knn, max_rank)
    if build == "S2T":
        pairs = s2t
    else:
        t2s = _candidates(tgt, src, method, knn, max_rank).flip(1)
        if build not in ("S2T&T2S", "S2T|T2S"):
            raise SerkitError(f"unknown dictionary build {build!r}", hint="use S2T, S2T&T2S or S2T|T2S")
        first = [tuple(p) for p in s2t.tolist()]
        second = [tuple(p) for p in t2s.tolist()]
        keep = set(first) & set(second) if build == "S2T&T2S" else set(first) | set(second)
        ordered = dict.fromkeys(p for p in first + second if p in keep)  # S2T margin order first
        pairs = torch.tensor(list(ordered), dtype=torch.long).reshape(-1, 2)
    return pairs[:max_size] if max_size > 0 else pairs


def mean_cosine(mapped: torch.Tensor, tgt: torch.Tensor, knn: int = 10) -> float:
    """The unsupervised criterion (Conneau et al. 2018 §3.5; MUSE ``dist_mean_cosine``, csls_knn_10)."""
    src_n, tgt_n = _unit(mapped), _unit(tgt)
    pairs = build_dictionary(src_n, tgt_n, "S2T", "csls", knn, max_rank=10000, max_size=10000)
    return float((src_n[pairs[:, 0]] * tgt_n[pairs[:, 1]]).sum(dim=1).mean())


def procrustes(src: torch.Tensor, tgt: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Orthogonal W minimising ‖W Aᵀ − Bᵀ‖ over the dictionary rows (Conneau et al. 2018 §2.2)."""
    a, b = src[pairs[:, 0]].double(), tgt[pairs[:, 1]].double()
    u, _, vt = torch.linalg.svd(b.T @ a)
    return (u @ vt).float()


def translation_precision(
    mapped: np.ndarray,
    target: np.ndarray,
    src_words: Sequence[str],
    tgt_words: Sequence[str],
    ks: Sequence[int] = (1, 5),
    knn: int = 10,
    queries: Collection[str] | None = None,
) -> dict:
    """P@k of CSLS retrieval against the identity dictionary (MUSE ``word_translation``, csls_knn_10).

    Every source word also present in the target space (and in ``queries`` when given: a held-out
    set) is a query; it is correct at k when the same word is among its k best targets. Empty when
    there is no query.
    """
    tgt_index = {w: i for i, w in enumerate(tgt_words)}
    pairs = [
        (i, tgt_index[w])
        for i, w in enumerate(src_words)
        if w in tgt_index and (queries is None or w in queries)
    ]
    if not pairs:
        return {}
    src_n, tgt_n = _unit(torch.from_numpy(mapped)), _unit(torch.from_numpy(target))
    query = torch.tensor([p[0] for p in pairs])
    gold = torch.tensor([p[1] for p in pairs])
    r_src = knn_mean_similarity(src_n[query], tgt_n, knn)
    r_tgt = knn_mean_similarity(tgt_n, src_n, knn)
    top = torch.empty(len(pairs), min(max(ks), len(target)), dtype=torch.long)
    for a, b in _chunks(len(pairs)):
        scores = 2 * (src_n[query[a:b]] @ tgt_n.T) - r_src[a:b, None] - r_tgt[None, :]
        top[a:b] = scores.topk(top.shape[1], dim=1).indices
    hits = top == gold[:, None]
    out = {f"p_at_{k}": float(hits[:, :k].any(dim=1).float().mean()) for k in ks}
    out["eval_pairs"] = len(pairs)
    return out


# --------------------------------------------------------------------------- adversarial step


class Discriminator(nn.Module):
    """MUSE's discriminator (§D.2): input dropout, ``layers`` × (Linear, LeakyReLU 0.2, dropout), sigmoid."""

    def __init__(self, dim: int, layers: int, hidden: int, dropout: float, input_dropout: float) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Dropout(input_dropout)]
        for i in range(layers + 1):
            d_in = dim if i == 0 else hidden
            d_out = 1 if i == layers else hidden
            blocks.append(nn.Linear(d_in, d_out))
            if i < layers:
                blocks += [nn.LeakyReLU(0.2), nn.Dropout(dropout)]
        blocks.append(nn.Sigmoid())
        self.layers = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).view(-1)


def _orthogonalize(weight: torch.Tensor, beta: float) -> None:
    with torch.no_grad():
        weight.copy_((1 + beta) * weight - beta * weight.mm(weight.t().mm(weight)))


Progress = Callable[[str, int, int, dict], None]


def adversarial(
    src: torch.Tensor, tgt: torch.Tensor, config: AlignConfig, progress: Progress | None = None
) -> tuple[torch.Tensor, list[dict]]:
    """Adversarial training of W (Conneau et al. 2018 §2.1; MUSE schedule §D.2); returns the best W.

    After each epoch W is kept if the mean-cosine criterion improved; the map learning rate decays
    ×``lr_decay`` and shrinks ×``lr_shrink`` from the second drop of the criterion on; training stops
    once it falls below ``min_lr``.
    """
    dim = src.shape[1]
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    mapping = nn.Linear(dim, dim, bias=False)
    with torch.no_grad():
        mapping.weight.copy_(torch.eye(dim))
    disc = Discriminator(
        dim, config.dis_layers, config.dis_hid_dim, config.dis_dropout, config.dis_input_dropout
    )
    map_opt = torch.optim.SGD(mapping.parameters(), lr=config.map_lr)
    dis_opt = torch.optim.SGD(disc.parameters(), lr=config.dis_lr)
    n_src = min(config.dis_most_frequent, len(src)) if config.dis_most_frequent > 0 else len(src)
    n_tgt = min(config.dis_most_frequent, len(tgt)) if config.dis_most_frequent > 0 else len(tgt)
    bs = config.batch_size
    y = torch.cat([torch.full((bs,), 1 - config.dis_smooth), torch.full((bs,), config.dis_smooth)])
    loss_fn = nn.BCELoss()
    steps = max(1, config.epoch_size // bs)

    def batch(volatile: bool) -> torch.Tensor:
        s = src[torch.randint(n_src, (bs,), generator=generator)]
        t = tgt[torch.randint(n_tgt, (bs,), generator=generator)]
        if volatile:
            with torch.no_grad():
                return torch.cat([mapping(s), t])
        return torch.cat([mapping(s), t])

    best, best_w, decrease, history = -math.inf, mapping.weight.detach().clone(), False, []
    for epoch in range(config.n_epochs):
        dis_total = 0.0
        for step in range(steps):
            disc.train()
            for _ in range(config.dis_steps):
                loss = loss_fn(disc(batch(True)), y)
                dis_opt.zero_grad()
                loss.backward()
                dis_opt.step()
                dis_total += float(loss.detach())
            disc.eval()
            loss = config.dis_lambda * loss_fn(disc(batch(False)), 1 - y)
            map_opt.zero_grad()
            loss.backward()
            map_opt.step()
            _orthogonalize(mapping.weight, config.map_beta)
            if progress is not None and (step % 50 == 0 or step == steps - 1):
                progress(
                    "adversarial",
                    epoch * steps + step + 1,
                    config.n_epochs * steps,
                    {"dis_loss": dis_total / ((step + 1) * config.dis_steps)},
                )
        with torch.no_grad():
            metric = mean_cosine(mapping(src), tgt, config.dico_knn)
        lr = map_opt.param_groups[0]["lr"]
        history.append(
            {
                "phase": "adversarial",
                "epoch": epoch,
                "mean_cosine": metric,
                "map_lr": lr,
                "dis_loss": dis_total / (steps * config.dis_steps),
            }
        )
        if metric > best:
            best, best_w = metric, mapping.weight.detach().clone()
        # MUSE trainer.update_lr: decay, and shrink from the second drop below the best on
        lr = max(config.min_lr, lr * config.lr_decay)
        if config.lr_shrink < 1 and metric < best:
            if decrease:
                lr *= config.lr_shrink
            decrease = True
        for group in map_opt.param_groups:
            group["lr"] = lr
        if lr < config.min_lr:
            break
    return best_w, history


def similarity_distribution_pairs(src: torch.Tensor, tgt: torch.Tensor, knn: int = 10) -> torch.Tensor:
    """Initial dictionary from sorted similarity distributions (Artetxe et al. 2018, ACL, §3.2).

    A word's row of sqrt(X Xᵀ) (through the SVD X = U S Vᵀ: U S Uᵀ), sorted, centred and unit
    length, does not depend on how the space is rotated; CSLS nearest neighbours between the two
    spaces' rows, source to target and target to source, are the pairs.
    """

    def signature(x: torch.Tensor) -> torch.Tensor:
        u, s, _ = torch.linalg.svd(x.double(), full_matrices=False)
        rows = ((u * s) @ u.T).sort(dim=1).values
        return _unit((rows - rows.mean(dim=1, keepdim=True)).float())

    src_sig, tgt_sig = signature(src), signature(tgt)
    n = min(len(src_sig), len(tgt_sig))  # rows of different lengths are compared on their top n
    src_sig, tgt_sig = _unit(src_sig[:, -n:]), _unit(tgt_sig[:, -n:])
    return build_dictionary(src_sig, tgt_sig, "S2T|T2S", "csls", knn, max_rank=0)


# --------------------------------------------------------------------------- refinement and driver


def refine(
    src: torch.Tensor,
    tgt: torch.Tensor,
    weight: torch.Tensor,
    config: AlignConfig,
    seed_pairs: torch.Tensor | None = None,
) -> tuple[torch.Tensor, list[dict]]:
    """Procrustes refinement (Conneau et al. 2018 §2.2, MUSE §D.3), keeping the best W by the criterion.

    With ``seed_pairs`` (supervised) the first Procrustes uses them; later ones use CSLS dictionaries
    built from the current map.
    """
    best = mean_cosine(src @ weight.T, tgt, config.dico_knn)
    best_w, history = weight, []
    for i in range(config.n_refinement + (seed_pairs is not None)):
        if i == 0 and seed_pairs is not None:
            pairs = seed_pairs
        else:
            pairs = build_dictionary(
                _unit(src @ weight.T),
                _unit(tgt),
                config.resolved_dico_build(),
                "csls",
                config.dico_knn,
                config.dico_max_rank,
                config.dico_max_size,
            )
        weight = procrustes(src, tgt, pairs)
        metric = mean_cosine(src @ weight.T, tgt, config.dico_knn)
        history.append({"phase": "refinement", "iteration": i, "mean_cosine": metric, "pairs": len(pairs)})
        if metric > best or seed_pairs is not None and i == 0:
            best, best_w = metric, weight
    return best_w, history


def align(
    src: np.ndarray,
    tgt: np.ndarray,
    src_words: Sequence[str],
    tgt_words: Sequence[str],
    config: AlignConfig | None = None,
    seed_dictionary: Sequence[tuple[str, str]] | None = None,
    progress: Progress | None = None,
) -> Alignment:
    """Map ``src`` (rows, most frequent first) onto ``tgt``; see the module docstring."""
    from serkit.embeddings.diagnostics import space_diagnostics

    config = config or AlignConfig()
    if src.ndim != 2 or tgt.ndim != 2 or src.shape[1] != tgt.shape[1]:
        raise SerkitError(
            f"the spaces have different dimensions ({src.shape[1]} vs {tgt.shape[1]})",
            hint="train both with the same --dim",
        )
    if min(len(src), len(tgt)) < 2:
        raise SerkitError("each space needs at least 2 words")
    src_t = torch.from_numpy(normalize_embeddings(src, config.normalize))
    tgt_t = torch.from_numpy(normalize_embeddings(tgt, config.normalize))
    threads = torch.get_num_threads()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    with torch.random.fork_rng():
        try:
            if config.supervised:
                pairs = _seed_pairs(src_words, tgt_words, seed_dictionary)
                weight, history = refine(src_t, tgt_t, torch.eye(src.shape[1]), config, seed_pairs=pairs)
            else:
                weight, history = unsupervised(src_t, tgt_t, config, progress)
        finally:
            torch.set_num_threads(threads)
    mapped = (src_t @ weight.T).numpy()
    src_means = normalization_means(src, config.normalize)
    metrics = {
        "mode": "supervised" if config.supervised else "unsupervised",
        "init": None if config.supervised else _selected_init(history),
        "refine": None if config.supervised else config.refine,
        "criterion": CRITERION,
        "mean_cosine": mean_cosine(torch.from_numpy(mapped), tgt_t, config.dico_knn),
        "src_words": len(src_words),
        "tgt_words": len(tgt_words),
        **translation_precision(mapped, tgt_t.numpy(), src_words, tgt_words, knn=config.dico_knn),
        **space_diagnostics(src_words, src, tgt_words, tgt, config.seed),
    }
    return Alignment(
        weight.numpy(), mapped, tgt_t.numpy(), list(src_words), list(tgt_words), metrics, history, src_means
    )


INITS = ("adversarial", "similarity")
REFINEMENTS = ("procrustes", "stochastic")


def unsupervised(
    src: torch.Tensor, tgt: torch.Tensor, config: AlignConfig, progress: Progress | None = None
) -> tuple[torch.Tensor, list[dict]]:
    """Refine each starting point of ``config.init``; keep the W with the best mean-cosine criterion."""
    if config.refine not in REFINEMENTS:
        raise SerkitError(f"unknown refinement {config.refine!r}", hint="use procrustes or stochastic")
    inits = [name.strip() for name in config.init.split(",") if name.strip()]
    unknown = [name for name in inits if name not in INITS]
    if not inits or unknown:
        raise SerkitError(
            f"unknown init {','.join(unknown) or config.init!r}", hint="use adversarial, similarity or both"
        )
    best: tuple[float, torch.Tensor] | None = None
    history: list[dict] = []
    for name in inits:
        if name == "adversarial":
            weight, steps = adversarial(src, tgt, config, progress)
        else:
            weight = procrustes(
                src, tgt, similarity_distribution_pairs(_unit(src), _unit(tgt), config.dico_knn)
            )
            steps = [
                {"phase": "similarity", "mean_cosine": mean_cosine(src @ weight.T, tgt, config.dico_knn)}
            ]
        if config.refine == "stochastic":
            from serkit.embeddings.self_learning import stochastic_refine

            weight, more = stochastic_refine(
                src, tgt, weight, config.dico_knn, config.dico_max_rank, config.seed
            )
        else:
            weight, more = refine(src, tgt, weight, config)
        criterion = mean_cosine(src @ weight.T, tgt, config.dico_knn)
        keep = best is None or criterion > best[0]
        history += [{**step, "init": name} for step in steps + more]
        history.append({"phase": "selected" if keep else "rejected", "init": name, "mean_cosine": criterion})
        if keep:
            best = (criterion, weight)
    return best[1], history


def _selected_init(history: list[dict]) -> str | None:
    """The starting point whose refined map was kept (the last ``selected`` entry)."""
    chosen = [h["init"] for h in history if h.get("phase") == "selected"]
    return chosen[-1] if chosen else None


def _seed_pairs(
    src_words: Sequence[str], tgt_words: Sequence[str], dictionary: Sequence[tuple[str, str]] | None
) -> torch.Tensor:
    src_index = {w: i for i, w in enumerate(src_words)}
    tgt_index = {w: i for i, w in enumerate(tgt_words)}
    entries = dictionary if dictionary is not None else [(w, w) for w in src_words]
    pairs = [(src_index[s], tgt_index[t]) for s, t in entries if s in src_index and t in tgt_index]
    if not pairs:
        raise SerkitError(
            "the seed dictionary has no pair whose words are in both spaces",
            hint="give a --dictionary of 'source target' lines, or align without --supervised",
        )
    return torch.tensor(pairs, dtype=torch.long)


def read_dictionary(path: str | Path) -> list[tuple[str, str]]:
    """A seed dictionary file: one ``source target`` pair a line (MUSE format; whitespace-separated)."""
    path = Path(path)
    if not path.is_file():
        raise SerkitError("dictionary not found", path=path)
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise SerkitError("expected 'source target'", path=path, line=number)
        pairs.append((fields[0], fields[1]))
    return pairs


def save_alignment(result: Alignment, out_dir: str | Path, config: AlignConfig) -> Path:
    """Write ``mapping.npy`` (W), ``aligned.bin`` (mapped source), ``target.bin`` (word2vec binary),
    ``metrics.json`` and ``normalization.npz`` (``normalize``, the steps, and ``src_means``, the source
    mean removed at each ``center`` step): what maps a source vector that is not in the source file
    (a word instance) as ``aligned.bin``'s rows were mapped, ``apply_normalization`` then Wᵀ."""
    from serkit.text.embeddings_io import save_vectors
    from serkit.text.word_vectors import WordVectors

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "mapping.npy", result.mapping.astype(np.float32))
    save_vectors(WordVectors(result.src_words, result.mapped), out_dir / "aligned.bin")
    save_vectors(WordVectors(result.tgt_words, result.target), out_dir / "target.bin")
    if result.src_means is not None:
        steps = np.array(config.normalize)
        np.savez(out_dir / "normalization.npz", normalize=steps, src_means=result.src_means)
    report = {**result.metrics, "config": asdict(config), "history": result.history}
    (out_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return out_dir


def align_kv(
    src_path: str | Path,
    tgt_path: str | Path,
    out_dir: str | Path,
    config: AlignConfig | None = None,
    dictionary: str | Path | None = None,
    progress: Progress | None = None,
    options: dict | None = None,
    command: str = "",
) -> Alignment:
    """``serkit align-embeddings``: align two embedding files (word2vec binary, loaded before
    anything is written) and write ``out_dir`` (:func:`save_alignment`) with the records
    ``config.yaml`` (``options``, the command's settings; default: ``config``), ``cmd.txt`` and
    ``env.txt``."""
    from serkit.experiment import write_records
    from serkit.text.embeddings_io import load_vectors

    config = config or AlignConfig()
    src, tgt = load_vectors(src_path), load_vectors(tgt_path)
    if src.vector_size != tgt.vector_size:
        raise SerkitError(
            f"{src.vector_size}-d source but {tgt.vector_size}-d target",
            path=src_path,
            hint="train both spaces with the same --dim",
        )
    write_records(out_dir, options if options is not None else asdict(config), command)
    seed = read_dictionary(dictionary) if dictionary is not None else None
    result = align(
        np.asarray(src.vectors),
        np.asarray(tgt.vectors),
        list(src.index_to_key),
        list(tgt.index_to_key),
        config,
        seed,
        progress,
    )
    save_alignment(result, out_dir, config)
    return result

"""Pseudo-word skip-gram: speech word embeddings from the audio of word segments, by clustering the
segments into pseudo-words and training skip-gram on each utterance's pseudo-word sequence
(Jacobs & Kamper 2023, arXiv 2307.02083, §3; Sayeed & Aldarmaki 2023, arXiv 2311.09319, §4).
serkit's addition beside the papers' seq2seq Speech2Vec (:mod:`serkit.embeddings.speech2vec`), which
does not learn semantics (Chen et al. 2022, "A reality check for Speech2Vec").

Pipeline (only audio and word segment times; the transcript's words name the output rows):

1. Frames: the word-MFCC store's 13-d MFCC, normalised per speaker (mean and variance over the
   speaker's word frames, Kaldi's per-speaker CMVN).
2. Speaker-group map: CMVN leaves the two genders' formants apart (same-word nearest neighbour
   across genders 0.78 on the mini corpus, 1.00 within). Each non-reference group (``spk2gender``)
   gets an affine map of its frames onto the reference group, learnt by self-training: mutual
   nearest segments across the groups are taken as pairs, a ridge-regularised affine map of their
   resampled frames is fitted, applied, CMVN again; ``map_iterations`` rounds (an acoustic version of
   Artetxe et al. 2018's self-learning; cepstral VTLN is close to linear). Measured: across-gender
   same-word retrieval 0.78 → 1.00. Speakers without a gender join the group whose mean raw frame is
   nearest; with one group there is no map.
3. Segment vector: the frames resampled linearly to ``points`` time points (speaking rate removed),
   flattened (``points`` × 13), z-scored with the training statistics.
4. Pseudo-words: k-means on the unit-length vectors into ``min(n, 5K, 5000)`` clusters, then
   average-linkage (cosine) merging of their centroids into K clusters (one pass of average linkage
   over all segments behaves alike on small corpora and costs n²). K: ``clusters``, default 1.5 × the
   number of word types in ``words.ctm`` (a word is said in several ways; extra clusters cost less
   than merged words: on the mini corpus 1.0×, 1.2×, 1.5×, 2× gave mean unsupervised P@1 0.09,
   0.20, 0.26, 0.18 against the text Word2Vec, stochastic self-learning alignment, 4 × 2 seeds).
   A new segment's pseudo-word is its nearest centroid (cosine).
5. Skip-gram (gensim Word2Vec, the text Word2Vec's settings and seed: 50-d, window 3, 20 epochs,
   seed 1) on the pseudo-word sequence of each utterance.
6. A word type's vector is the mean of its instances' pseudo-word vectors (Jacobs & Kamper §3.3).

Files (data only: nothing here is a pickle): ``pw.bin`` (the word-type space, word2vec binary),
``pw_model.npz`` (centroids, pseudo-word vectors, normalisation statistics, group maps; read with
``allow_pickle=False``) and ``pw_model.json`` (settings, groups).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from serkit import datadir
from serkit.embeddings.word_instances import WordInstances, load_word_instances
from serkit.errors import SerkitError
from serkit.experiment import write_records
from serkit.npfiles import load_arrays

MODEL_FILE = "pw_model.npz"
MODEL_INFO = "pw_model.json"
VECTORS_FILE = "pw.bin"
FORMAT = "serkit-pseudo-words-1"
WHOLE_SEGMENT = 100_000  # frames: segments are resampled, never cut
FIRST_PASS_MAX = 5000  # k-means clusters before the average-linkage merge


@dataclass
class PseudoWordConfig:
    """Settings; the skip-gram ones are the text Word2Vec's (``recipes/*/conf/emb/w2v.yaml``)."""

    clusters: int = 0  # K pseudo-words; 0: 1.5 × word types of words.ctm
    points: int = 10  # time points each segment is resampled to
    map_iterations: int = 5  # self-training rounds of the speaker-group map (0: none)
    map_ridge: float = 1.0
    dim: int = 50
    window: int = 3
    epochs: int = 20
    min_count: int = 1
    seed: int = 1
    workers: int = 1  # gensim threads; 1 is bit-reproducible

    def check(self) -> None:
        if self.clusters < 0 or self.points < 2 or self.map_iterations < 0 or self.map_ridge < 0:
            raise SerkitError("--clusters must be ≥ 0, --points ≥ 2, --map-iterations and --map-ridge ≥ 0")
        if self.dim < 1 or self.window < 1 or self.epochs < 1 or self.min_count < 1 or self.workers < 1:
            raise SerkitError("--dim, --window, --epochs, --min-count and --workers must be ≥ 1")


# --------------------------------------------------------------------------- acoustic vectors


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def speaker_cmvn(frames: np.ndarray, speaker_of_frame: np.ndarray) -> np.ndarray:
    """Frames with mean 0 and variance 1 per speaker and dimension."""
    out = np.empty_like(frames)
    for speaker in np.unique(speaker_of_frame):
        rows = speaker_of_frame == speaker
        part = frames[rows]
        out[rows] = (part - part.mean(axis=0)) / (part.std(axis=0) + 1e-5)
    return out


class Segments:
    """Linear resampling of every instance's frames to ``points`` time points."""

    def __init__(self, offsets: np.ndarray, lengths: np.ndarray, points: int):
        t = np.linspace(0.0, 1.0, points)[None, :] * (lengths[:, None] - 1)
        lo = np.floor(t).astype(np.int64)
        self.lo = offsets[:, None] + lo
        self.hi = offsets[:, None] + np.minimum(lo + 1, lengths[:, None] - 1)
        self.weight = (t - lo)[..., None]

    def frames(self, frames: np.ndarray) -> np.ndarray:
        """instances × points × dims."""
        return (1 - self.weight) * frames[self.lo] + self.weight * frames[self.hi]

    def vectors(self, frames: np.ndarray) -> np.ndarray:
        return self.frames(frames).reshape(len(self.lo), -1)


def _nearest(queries: np.ndarray, keys: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Index of each query's most cosine-similar key (both unit length), in chunks."""
    out = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        out[start : start + chunk] = (queries[start : start + chunk] @ keys.T).argmax(axis=1)
    return out


def _zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-8)


def _with_bias(frames: np.ndarray) -> np.ndarray:
    """``[frames, 1]``: the input of a ``(d+1) × d`` affine map."""
    return np.hstack([frames, np.ones((len(frames), 1))])


def learn_group_maps(
    frames: np.ndarray,
    speaker_of_frame: np.ndarray,
    group_of_frame: np.ndarray,
    group_of_instance: np.ndarray,
    segments: Segments,
    reference: str,
    iterations: int,
    ridge: float,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Self-trained affine maps of each group's frames onto ``reference``'s (module docstring, 2).

    Returns the mapped, re-normalised frames and ``{group: iterations × (d+1) × d}``.
    """
    groups = sorted(set(group_of_instance) - {reference})
    maps = {g: [] for g in groups}
    ref = np.flatnonzero(group_of_instance == reference)
    d = frames.shape[1]
    for _ in range(iterations):
        vectors = _unit(_zscore(segments.vectors(frames)))
        seg_frames = segments.frames(frames)
        mapped = frames.copy()
        for group in groups:
            own = np.flatnonzero(group_of_instance == group)
            to_ref = ref[_nearest(vectors[own], vectors[ref])]
            back = own[_nearest(vectors[to_ref], vectors[own])]
            pairs = back == own  # mutual nearest segments
            source = seg_frames[own[pairs]].reshape(-1, d)
            target = seg_frames[to_ref[pairs]].reshape(-1, d)
            design = _with_bias(source)
            matrix = np.linalg.solve(design.T @ design + ridge * np.eye(d + 1), design.T @ target)
            maps[group].append(matrix)
            rows = group_of_frame == group
            mapped[rows] = _with_bias(frames[rows]) @ matrix
        frames = speaker_cmvn(mapped, speaker_of_frame)
    return frames, {g: np.asarray(m).reshape(-1, d + 1, d) for g, m in maps.items()}


def apply_group_maps(frames, speaker_of_frame, group_of_frame, maps: dict[str, np.ndarray]) -> np.ndarray:
    """Replay the learnt maps (with CMVN after each round) on the frames of new speakers."""
    rounds = max((len(m) for m in maps.values()), default=0)
    for r in range(rounds):
        mapped = frames.copy()
        for group, matrices in maps.items():
            rows = group_of_frame == group
            if rows.any():
                mapped[rows] = _with_bias(frames[rows]) @ matrices[r]
        frames = speaker_cmvn(mapped, speaker_of_frame)
    return frames


# --------------------------------------------------------------------------- clustering


def cluster_segments(vectors: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels (0..K-1) and unit centroids of ``k`` pseudo-words (module docstring, 4)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans

    unit = _unit(vectors)
    k = min(k, len(unit))
    first = min(len(unit), max(k, min(5 * k, FIRST_PASS_MAX)))
    fine = KMeans(first, n_init=1, random_state=seed).fit(unit)
    if first > k:
        merged = AgglomerativeClustering(n_clusters=k, linkage="average", metric="cosine")
        labels = merged.fit(fine.cluster_centers_).labels_[fine.labels_]
    else:
        labels = fine.labels_
    labels = np.unique(labels, return_inverse=True)[1]
    centroids = np.stack([unit[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
    return labels, _unit(centroids)


# --------------------------------------------------------------------------- the model


@dataclass
class PseudoWordModel:
    """What applying the method to new segments needs (``pw_model.npz`` + ``pw_model.json``)."""

    config: PseudoWordConfig
    mean: np.ndarray  # word-mfcc normalisation (the store's, as in training)
    var: np.ndarray
    vector_mean: np.ndarray  # z-scoring of segment vectors
    vector_std: np.ndarray
    centroids: np.ndarray  # K × (points · 13), unit length
    pseudo_vectors: np.ndarray  # K × dim (zeros where skip-gram dropped a pseudo-word)
    reference: str | None  # speaker group the others are mapped onto
    maps: dict[str, np.ndarray]  # group → rounds × (d+1) × d
    group_means: dict[str, np.ndarray]  # group → mean raw frame, for speakers without a gender

    def save(self, out_dir: Path) -> None:
        arrays = {
            "mean": self.mean,
            "var": self.var,
            "vector_mean": self.vector_mean,
            "vector_std": self.vector_std,
            "centroids": self.centroids,
            "pseudo_vectors": self.pseudo_vectors,
        }
        arrays.update({f"map_{g}": m for g, m in self.maps.items()})
        arrays.update({f"group_mean_{g}": m for g, m in self.group_means.items()})
        info = {
            "format": FORMAT,
            "config": asdict(self.config),
            "reference": self.reference,
            "groups": sorted(self.group_means),
        }
        tmp = out_dir / f".{MODEL_FILE}.tmp.npz"
        np.savez(tmp, **{k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})
        tmp.replace(out_dir / MODEL_FILE)
        (out_dir / f".{MODEL_INFO}.tmp").write_text(json.dumps(info, indent=1) + "\n")
        (out_dir / f".{MODEL_INFO}.tmp").replace(out_dir / MODEL_INFO)

    @classmethod
    def load(cls, model_dir: str | Path) -> PseudoWordModel:
        model_dir = Path(model_dir)
        npz, info_path = model_dir / MODEL_FILE, model_dir / MODEL_INFO
        if not npz.is_file() or not info_path.is_file():
            raise SerkitError("no pseudo-word model", path=npz, hint="run serkit train-pseudo-words first")
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SerkitError(
                f"unreadable pseudo-word model info ({type(exc).__name__})",
                path=info_path,
                hint="train it again",
            ) from None
        arrays = load_arrays(npz, "pseudo-word model", "train it again")
        if not isinstance(arrays, dict):
            raise SerkitError(
                "not a pseudo-word model (an .npy, not an .npz)", path=npz, hint="train it again"
            )
        if not isinstance(info, dict) or info.get("format") != FORMAT:
            raise SerkitError("not a serkit pseudo-word model", path=info_path, hint="train it again")
        names = {f.name for f in fields(PseudoWordConfig)}
        groups = info.get("groups", [])
        try:
            return cls(
                config=PseudoWordConfig(**{k: v for k, v in info["config"].items() if k in names}),
                mean=arrays["mean"],
                var=arrays["var"],
                vector_mean=arrays["vector_mean"],
                vector_std=arrays["vector_std"],
                centroids=arrays["centroids"],
                pseudo_vectors=arrays["pseudo_vectors"],
                reference=info.get("reference"),
                maps={g: arrays[f"map_{g}"] for g in groups if f"map_{g}" in arrays},
                group_means={g: arrays[f"group_mean_{g}"] for g in groups},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise SerkitError(
                f"incomplete pseudo-word model (no {exc})", path=npz, hint="train it again"
            ) from None

    def assign(self, data_dir, store_path) -> tuple[WordInstances, np.ndarray]:
        """The word instances of ``data_dir`` and each one's pseudo-word (nearest centroid)."""
        data = load_word_instances(data_dir, store_path, WHOLE_SEGMENT, stats=(self.mean, self.var))
        vectors = _segment_vectors(data, datadir.load(data_dir), self)
        unit = _unit((vectors - self.vector_mean) / self.vector_std)
        return data, _nearest(unit, self.centroids)

    def embed(self, data_dir, store_path) -> tuple[WordInstances, np.ndarray]:
        """The word instances of ``data_dir`` and one vector per instance, from its audio alone."""
        data, labels = self.assign(data_dir, store_path)
        return data, self.pseudo_vectors[labels].astype(np.float32)


def _speakers(data: WordInstances, dd) -> np.ndarray:
    return np.asarray([dd.utt2spk[data.utt_ids[u]] for u in data.utt_of], dtype=object)


def _groups(data: WordInstances, dd, speaker: np.ndarray, group_means: dict | None) -> np.ndarray:
    """Speaker group (gender) of each instance; speakers without one join the nearest group mean."""
    genders = dd.spk2gender()
    group = np.asarray([genders.get(s, "") for s in speaker], dtype=object)
    if group_means:
        speaker_of_frame = np.repeat(speaker, data.lengths)
        names = sorted(group_means)
        for s in set(speaker[group == ""]):
            mean = data.frames[speaker_of_frame == s].mean(axis=0)
            distances = [np.linalg.norm(mean - group_means[g]) for g in names]
            group[speaker == s] = names[int(np.argmin(distances))]
    return group


def _segment_vectors(data: WordInstances, dd, model: PseudoWordModel) -> np.ndarray:
    speaker = _speakers(data, dd)
    group = _groups(data, dd, speaker, model.group_means)
    speaker_of_frame = np.repeat(speaker, data.lengths)
    frames = speaker_cmvn(data.frames.astype(np.float64), speaker_of_frame)
    frames = apply_group_maps(frames, speaker_of_frame, np.repeat(group, data.lengths), model.maps)
    return Segments(data.offsets, data.lengths, model.config.points).vectors(frames)


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    out_dir: Path
    vocabulary: list[str]
    clusters: int
    seconds: float


def default_clusters(words: list[str]) -> int:
    return max(2, round(1.5 * len(set(words))))


def train_pseudo_words(
    data_dir: str | Path,
    store_path: str | Path,
    out_dir: str | Path,
    config: PseudoWordConfig | None = None,
    options: dict | None = None,
    command: str = "",
) -> TrainResult:
    """Train on the word instances of ``data_dir``; write ``pw.bin``, the model and the records."""
    from gensim.models import Word2Vec

    from serkit.text.embeddings_io import save_vectors
    from serkit.text.word_vectors import WordVectors

    began = time.perf_counter()
    config = config or PseudoWordConfig()
    config.check()
    out_dir = Path(out_dir)
    write_records(out_dir, options if options is not None else asdict(config), command)
    data = load_word_instances(data_dir, store_path, WHOLE_SEGMENT)
    dd = datadir.load(data_dir)
    speaker = _speakers(data, dd)
    group = _groups(data, dd, speaker, None)
    raw = data.frames.astype(np.float64)
    group_means = {g: raw[np.repeat(group == g, data.lengths)].mean(axis=0) for g in set(group) if g}
    if "" in set(group):  # some speakers lack a gender: they join the nearest group
        group = _groups(data, dd, speaker, group_means)
    speaker_of_frame = np.repeat(speaker, data.lengths)
    frames = speaker_cmvn(raw, speaker_of_frame)
    segments = Segments(data.offsets, data.lengths, config.points)
    sizes = Counter(group)
    reference = min(sizes, key=lambda g: (-sizes[g], g)) if sizes else None
    maps: dict[str, np.ndarray] = {}
    if len(sizes) > 1 and config.map_iterations:
        frames, maps = learn_group_maps(
            frames,
            speaker_of_frame,
            np.repeat(group, data.lengths),
            group,
            segments,
            reference,
            config.map_iterations,
            config.map_ridge,
        )
    vectors = segments.vectors(frames)
    vector_mean, vector_std = vectors.mean(axis=0), vectors.std(axis=0) + 1e-8
    k = config.clusters or default_clusters(data.words)
    labels, centroids = cluster_segments((vectors - vector_mean) / vector_std, k, config.seed)

    sentences = [[f"p{c}" for c in labels[data.utt_of == u]] for u in range(len(data.utt_ids))]
    skipgram = Word2Vec(
        sentences,
        vector_size=config.dim,
        window=config.window,
        min_count=config.min_count,
        sg=1,
        epochs=config.epochs,
        seed=config.seed,
        workers=config.workers,
    )
    pseudo = np.zeros((len(centroids), config.dim))
    for c in range(len(centroids)):
        if f"p{c}" in skipgram.wv.key_to_index:
            pseudo[c] = skipgram.wv[f"p{c}"]
    known = np.asarray([f"p{c}" in skipgram.wv.key_to_index for c in labels])
    words = np.asarray(data.words, dtype=object)
    counts = Counter(words[known])
    vocabulary = sorted(counts, key=lambda w: (-counts[w], w))
    table = np.stack([pseudo[labels[(words == w) & known]].mean(axis=0) for w in vocabulary])
    model = PseudoWordModel(
        config, data.mean, data.var, vector_mean, vector_std, centroids, pseudo, reference, maps, group_means
    )
    model.save(out_dir)
    save_vectors(WordVectors(vocabulary, table), out_dir / VECTORS_FILE)
    return TrainResult(out_dir, vocabulary, len(centroids), time.perf_counter() - began)


def embed_words(model_dir: str | Path, data_dir: str | Path, store_path: str | Path, out: str | Path) -> int:
    """``serkit embed-words`` with a pseudo-word model: each instance's vector from its audio alone."""
    from serkit.embeddings.word_instances import write_instance_store

    model = PseudoWordModel.load(model_dir)
    data, vectors = model.embed(data_dir, store_path)
    params = {
        "model_dir": str(Path(model_dir).resolve()),
        "dim": model.config.dim,
        "clusters": len(model.centroids),
    }
    return write_instance_store(out, data_dir, data, vectors, "pseudo-words", params, "pw")


def is_model_dir(path: str | Path) -> bool:
    return (Path(path) / MODEL_INFO).is_file()

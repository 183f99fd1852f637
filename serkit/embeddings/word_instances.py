"""Word instances and their neighbours, read from a word-MFCC store (Speech2Vec's training data,
Chung & Glass 2018 §2).

The store (``serkit extract-features DATA OUT.h5 --type word-mfcc``) holds ``/<utt>`` = the
utterance's 13-d MFCC frames, with dataset attributes ``words``, ``word_start_frame`` and
``word_end_frame`` (end exclusive) from ``words.ctm``, and root attributes ``mean`` / ``var`` (corpus
statistics). A word instance is ``mfcc[start:end]`` of one word of one utterance; its neighbours
are the instances at most ``window`` positions away in the same utterance (Chung & Glass 2018 §2.2:
the context of a word segment is the segments around it).

Decisions (no source settles them, ``methods.md`` §H.14):

- Frames are z-normalised with the store's corpus mean/variance (``mean``/``var`` root attributes,
  computed over the data if absent); ``embed-words`` reuses the training statistics.
- Instances longer than ``max_frames`` (default 64 = 640 ms, the duration my-yy/s2v_rc keeps with
  its 20 frames × 32 ms) keep their first ``max_frames`` frames.
- The data dir chooses the utterances (each with words in ``words.ctm`` must be in the store); the
  words come from the store, and must agree with ``words.ctm`` (a stale store is an error).
  Utterances without words are skipped. Neighbours never cross utterances.
- Instances are kept in memory as one concatenated frames array (about 52 bytes per 10 ms of speech).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serkit import datadir
from serkit.errors import SerkitError
from serkit.store import FeatureStore, str_list

MAX_FRAMES = 64


@dataclass
class WordInstances:
    """Every word instance of a data dir: its word, utterance, position and (normalised) frames."""

    words: list[str]
    utt_ids: list[str]
    utt_of: np.ndarray  # instance → utterance index (into utt_ids)
    frames: np.ndarray  # all instances' frames, concatenated: total × n_mfcc, float32
    offsets: np.ndarray  # instance i is frames[offsets[i] : offsets[i] + lengths[i]]
    lengths: np.ndarray
    mean: np.ndarray
    var: np.ndarray

    def __len__(self) -> int:
        return len(self.words)

    @property
    def n_mfcc(self) -> int:
        return self.frames.shape[1]

    def instance(self, i: int) -> np.ndarray:
        return self.frames[self.offsets[i] : self.offsets[i] + self.lengths[i]]

    def batch(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Zero-padded frames (ids.shape × max length × n_mfcc) and the lengths (ids.shape) of
        instances ``ids``; an id −1 is an empty instance (length 0, all zeros)."""
        ids = np.asarray(ids, dtype=np.int64)
        lengths = np.where(ids >= 0, self.lengths[np.maximum(ids, 0)], 0)
        steps = np.arange(max(int(lengths.max(initial=1)), 1))
        real = steps < lengths[..., None]
        rows = np.where(real, self.offsets[np.maximum(ids, 0)][..., None] + steps, 0)
        out = self.frames[rows]
        out[~real] = 0.0
        return out, lengths

    def counts(self) -> Counter:
        return Counter(self.words)

    def vocabulary(self, min_count: int = 1) -> list[str]:
        """Words with at least ``min_count`` instances, most frequent first (ties by word)."""
        counts = self.counts()
        return sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))

    def neighbours(self, window: int, keep: np.ndarray | None = None) -> np.ndarray:
        """instances × 2·window array of neighbour ids (−1 where none), nearest first on each side.

        Column j < window is the (j+1)-th word to the left, column window + j the (j+1)-th to the
        right. ``keep`` (a boolean mask) removes instances before windowing, as word2vec removes
        rare words from its sentences.
        """
        keep = np.ones(len(self), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
        out = np.full((len(self), 2 * window), -1, dtype=np.int64)
        kept = np.flatnonzero(keep)
        same_utt = self.utt_of[kept]
        for step in range(1, window + 1):
            if step >= len(kept):
                break
            left = same_utt[step:] == same_utt[:-step]
            out[kept[step:][left], step - 1] = kept[:-step][left]
            out[kept[:-step][left], window + step - 1] = kept[step:][left]
        return out


def _store_stats(store: FeatureStore) -> tuple[np.ndarray, np.ndarray] | None:
    attrs = store.attrs
    if "mean" in attrs and "var" in attrs:
        return np.asarray(attrs["mean"], dtype=np.float64), np.asarray(attrs["var"], dtype=np.float64)
    return None


def load_word_instances(
    data_dir: str | Path,
    store_path: str | Path,
    max_frames: int = MAX_FRAMES,
    stats: tuple[np.ndarray, np.ndarray] | None = None,
) -> WordInstances:
    """Read every word instance of ``data_dir``'s utterances from the word-MFCC store.

    ``stats`` = (mean, var) overrides the store's normalisation statistics (``embed-words`` passes
    the training ones).
    """
    data = datadir.load(data_dir)
    store = FeatureStore(store_path)
    try:
        # an utterance without words may be absent (the extractor skips it); one with words may not
        missing = [u for u in data.utts if u not in store and data.words_ctm.get(u)]
        if missing:
            raise SerkitError(
                f"{len(missing)} utterances of {data_dir} are not in the store (e.g. {missing[0]!r})",
                path=store_path,
                hint="extract word-mfcc features for this data dir",
            )
        words: list[str] = []
        utt_of: list[int] = []
        chunks: list[np.ndarray] = []
        lengths: list[int] = []
        utt_ids: list[str] = []
        for utt in data.utts:
            if utt not in store:
                continue
            attrs = store.utt_attrs(utt)
            if "words" not in attrs:
                raise SerkitError(
                    f"utterance {utt!r} has no 'words' attribute: not a word-mfcc store",
                    path=store_path,
                    hint="extract it with --type word-mfcc",
                )
            utt_words = str_list(attrs["words"])
            if utt in data.words_ctm and [w.word for w in data.words_ctm[utt]] != utt_words:
                raise SerkitError(
                    f"the words of {utt!r} differ from {data_dir}/words.ctm",
                    path=store_path,
                    hint="the store is stale: extract the word-mfcc features again",
                )
            if not utt_words:
                continue
            mfcc = store[utt]
            starts = np.asarray(attrs["word_start_frame"], dtype=np.int64).reshape(-1)
            ends = np.asarray(attrs["word_end_frame"], dtype=np.int64).reshape(-1)
            utt_index = len(utt_ids)
            utt_ids.append(utt)
            for word, start, end in zip(utt_words, starts, ends, strict=True):
                piece = mfcc[start : min(end, start + max_frames)]
                if len(piece) == 0:
                    raise SerkitError(f"word {word!r} of {utt!r} has no frames", path=store_path)
                words.append(word)
                utt_of.append(utt_index)
                chunks.append(piece)
                lengths.append(len(piece))
        if not words:
            raise SerkitError("no word instances", path=store_path, hint="does the data dir have words.ctm?")
        frames = np.concatenate(chunks).astype(np.float64)
        if stats is None:
            stats = _store_stats(store) or (frames.mean(axis=0), frames.var(axis=0))
        mean, var = (np.asarray(s, dtype=np.float64) for s in stats)
        frames = ((frames - mean) / np.sqrt(np.maximum(var, 1e-8))).astype(np.float32)
        lengths_arr = np.asarray(lengths, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths_arr)[:-1]]).astype(np.int64)
        return WordInstances(
            words, utt_ids, np.asarray(utt_of, dtype=np.int64), frames, offsets, lengths_arr, mean, var
        )
    finally:
        store.close()


def write_instance_store(
    out: str | Path,
    data_dir: str | Path,
    data: WordInstances,
    vectors: np.ndarray,
    method: str,
    params: dict,
    prefix: str,
) -> int:
    """``embed-words`` output: store ``/<utt>`` = that utterance's instances × dim, attr ``words``.

    Every utterance of ``data_dir`` gets an entry (no words: 0 × dim). Returns the instance count.
    """
    from serkit.store import StoreWriter

    dim = vectors.shape[1]
    first = {u: i for i, u in enumerate(data.utt_ids)}
    with StoreWriter(
        out,
        method,
        params,
        frame_shift=None,
        frame_length=None,
        sample_rate=None,
        feature_names=[f"{prefix}_{i}" for i in range(dim)],
    ) as writer:
        for utt in datadir.load(data_dir).utts:
            k = first.get(utt, -1)  # an utterance's instances are contiguous
            ids = np.arange(np.searchsorted(data.utt_of, k), np.searchsorted(data.utt_of, k, side="right"))
            writer.put(utt, vectors[ids].reshape(len(ids), dim), {"words": [data.words[i] for i in ids]})
    return len(data)

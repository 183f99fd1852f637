"""Datasets from data dirs, feature stores and embedding files; padding, masks, length bucketing.

An example is one utterance (or, for frame-level training with ``chunk_frames``, one
chunk of a recording) with one array per declared input stream and its target:

- ``frames`` streams read ``store[utt]`` (34-d frames, spectrograms, waveform frames,
  word-instance Speech2Vec vectors, ...) from an HDF5 :class:`~serkit.store.FeatureStore`;
- ``words`` streams look the words of ``text`` (or ``text.asr``) up in a gensim
  ``KeyedVectors`` ``.kv`` file;
- ``word_spans`` streams give, for each word of a ``words`` stream, the frames of a
  ``frames`` stream it covers according to ``words.ctm`` (hard alignment, Xu et al. 2019 §4.3).

Stores and ``.kv`` files are opened lazily in each process, so datasets can be handed
to DataLoader workers. :func:`collate` pads every stream to the longest example of the
batch (or to its ``max_*`` with ``pad: max``) and returns boolean masks (True = real).
"""

from __future__ import annotations

import difflib
import functools
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from serkit import datadir
from serkit.errors import SerkitError
from serkit.store import FeatureStore


@functools.lru_cache(maxsize=16)
def training_statistics(store_path: str, data_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per dimension over every frame of ``data_dir``'s utterances."""
    store = FeatureStore(store_path)
    utts = [u for u in datadir.read_wav_scp(Path(data_dir) / "wav.scp", allow_pipes=True) if u in store]
    if not utts:
        raise SerkitError(
            f"no utterance of {data_dir} is in the store", path=store_path, hint="extract its features first"
        )
    try:
        return frame_statistics(store, utts)
    finally:
        store.close()


def speaker_statistics(
    store: FeatureStore, utt2spk: dict[str, str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean and deviation per speaker over every frame of that speaker's utterances (Kaldi's CMVN)."""
    by_speaker: dict[str, list[str]] = {}
    for utt, spk in utt2spk.items():
        if utt in store:
            by_speaker.setdefault(spk, []).append(utt)
    return {spk: frame_statistics(store, utts) for spk, utts in by_speaker.items()}


def frame_statistics(store: FeatureStore, utts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (floored at 1e-5) per dimension over every frame of ``utts``."""
    total = sumsq = None
    count = 0
    for utt in utts:
        frames = store[utt].reshape(store.shape(utt)[0], -1).astype(np.float64)
        total = frames.sum(0) if total is None else total + frames.sum(0)
        sumsq = (frames**2).sum(0) if sumsq is None else sumsq + (frames**2).sum(0)
        count += len(frames)
    mean = total / count
    std = np.sqrt(np.maximum(sumsq / count - mean**2, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-5).astype(np.float32)


NORMALIZATIONS = (None, "utterance", "train", "speaker")
"""What a frames stream's ``normalize`` may be (see :class:`FrameStream`)."""


class FrameStream:
    """Frames × dims arrays from a feature store, cut to ``max_frames``, optionally z-normalised.

    ``normalize: utterance`` uses each utterance's own mean and deviation; ``normalize: train``
    those of every frame of the training set (``stats_from``, by default ``data.sets.train``),
    the same for every set, so that level differences between utterances survive;
    ``normalize: speaker`` those of every frame of the utterance's speaker in the data dir read
    (Kaldi's per-speaker CMVN through ``utt2spk``: a speaker's habitual level and timbre are
    removed, what varies between that speaker's utterances stays).
    """

    def __init__(self, spec: dict, set_name: str, utt2spk: dict[str, str] | None = None) -> None:
        self.name = spec["name"]
        self.path = Path(str(spec["store"]).replace("{set}", set_name))
        self.max_len = spec["max_frames"]
        self.normalize = spec["normalize"]
        self.pad_to_max = spec["pad"] == "max"
        if self.normalize not in NORMALIZATIONS:
            raise SerkitError(
                f"stream {self.name}: normalize is {self.normalize!r}",
                hint="use null, utterance, train or speaker",
            )
        self.store = FeatureStore(self.path)
        if self.normalize == "train":
            stats_dir = Path(spec["stats_from"])
            stats_store = str(spec["store"]).replace("{set}", stats_dir.name)
            self.mean, self.std = training_statistics(stats_store, str(stats_dir))
        elif self.normalize == "speaker":
            if not utt2spk:
                raise SerkitError(
                    f"stream {self.name}: normalize: speaker needs the data dir's utt2spk",
                    hint="prepare the data dir with speakers, or use normalize: train",
                )
            self.utt2spk = dict(utt2spk)
            self.speaker_stats = speaker_statistics(self.store, self.utt2spk)

    def check(self, utts: list[str]) -> None:
        missing = [u for u in utts if u not in self.store]
        if missing:
            raise SerkitError(
                f"{len(missing)} utterances are not in the store (e.g. {missing[0]!r})",
                path=self.path,
                hint="extract features for the same data dir",
            )

    @property
    def dim(self) -> int:
        shape = self.store.shape(self.store.keys()[0])
        return int(shape[1]) if len(shape) > 1 else 1

    def length(self, utt: str) -> int:
        n = self.store.shape(utt)[0]
        return n if self.max_len is None else min(n, self.max_len)

    def read(self, utt: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        frames = self.store[utt].reshape(self.store.shape(utt)[0], -1)
        if self.normalize == "utterance":
            frames = (frames - frames.mean(0)) / (frames.std(0) + 1e-5)
        elif self.normalize == "train":
            frames = (frames - self.mean) / self.std
        elif self.normalize == "speaker":
            mean, std = self.speaker_stats[self.utt2spk[utt]]
            frames = (frames - mean) / std
        frames = frames[start:stop]
        return frames if self.max_len is None else frames[: self.max_len]


class WordStream:
    """One vector per word of the transcript from a gensim ``.kv`` file, cut to ``max_words``.

    ``normalize: vocabulary`` z-normalises each dimension with the mean and deviation over the
    file's vocabulary (every word once). Small-corpus Word2Vec/Speech2Vec spaces share one large
    common direction (mean cosine between different words up to 0.9), which a frozen embedding
    otherwise hands the network unchanged; an out-of-vocabulary word's zero is then the mean word.
    """

    def __init__(self, spec: dict, data: datadir.DataDir) -> None:
        self.name = spec["name"]
        self.path = Path(spec["kv"])
        self.max_len = spec["max_words"]
        self.pad_to_max = spec["pad"] == "max"
        self.oov = spec["oov"]
        self.lowercase = spec["lowercase"]
        self.normalize = spec["normalize"]
        if self.normalize not in (None, "vocabulary"):
            raise SerkitError(
                f"stream {self.name}: normalize is {self.normalize!r}", hint="use null or vocabulary"
            )
        if self.oov not in ("zero", "skip"):
            raise SerkitError(f"stream {self.name}: oov is {self.oov!r}", hint="use zero or skip")
        source = {"text": data.text, "text.asr": data.text_asr}.get(spec["text"])
        if source is None:
            raise SerkitError(f"stream {self.name}: text is {spec['text']!r}", hint="use text or text.asr")
        if not source:
            raise SerkitError(
                f"the data dir has no {spec['text']} (stream {self.name})",
                path=data.path,
                hint="prepare transcripts first",
            )
        self.text = source
        self.text_path = data.path / spec["text"] if data.path is not None else spec["text"]
        if not self.path.is_file():
            raise SerkitError(
                "embedding file not found", path=self.path, hint="train or import embeddings first"
            )
        self._kv = None
        self._pid: int | None = None
        self._stats: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def kv(self):
        if self._kv is None or self._pid != os.getpid():
            from gensim.models import KeyedVectors

            try:
                self._kv = KeyedVectors.load(str(self.path), mmap="r")
            except Exception as exc:  # gensim raises many types for a bad file
                raise SerkitError(f"not a gensim KeyedVectors file ({exc})", path=self.path) from None
            self._pid = os.getpid()
        return self._kv

    @property
    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and deviation (floored at 1e-5) per dimension over the ``.kv`` vocabulary."""
        if self._stats is None:
            vectors = np.asarray(self.kv.vectors, dtype=np.float64)
            self._stats = (
                vectors.mean(axis=0).astype(np.float32),
                np.maximum(vectors.std(axis=0), 1e-5).astype(np.float32),
            )
        return self._stats

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_kv": None, "_pid": None}

    def check(self, utts: list[str]) -> None:
        missing = [u for u in utts if u not in self.text]
        if missing:
            raise SerkitError(
                f"{len(missing)} utterances have no transcript (e.g. {missing[0]!r})",
                path=self.text_path,
                hint="every utterance needs a line, empty if silent",
            )

    @property
    def dim(self) -> int:
        return int(self.kv.vector_size)

    def words(self, utt: str) -> list[str]:
        words = self.text[utt].split()
        if self.lowercase:
            words = [w.lower() for w in words]
        if self.oov == "skip":
            words = [w for w in words if w in self.kv.key_to_index]
        return words if self.max_len is None else words[: self.max_len]

    def length(self, utt: str) -> int:
        return len(self.words(utt))

    def read(self, utt: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        kv = self.kv
        out = np.zeros((len(self.words(utt)), kv.vector_size), dtype=np.float32)
        known = np.zeros(len(out), dtype=bool)
        for i, word in enumerate(self.words(utt)):
            if word in kv.key_to_index:
                out[i], known[i] = kv[word], True
        if self.normalize == "vocabulary":
            mean, std = self.stats
            out[known] = (out[known] - mean) / std
        return out


def frame_span(start: float, end: float, shift: float, length: float, frames: int) -> tuple[int, int]:
    """``[first, stop)`` of the frames whose centre (``i·shift + length/2``) lies in ``[start, end)``.

    A word shorter than a frame step gets the one frame whose centre is nearest its middle;
    the span is clipped to the ``frames`` available (empty for a word past a truncation).
    """
    half = length / 2
    first = math.ceil(round((start - half) / shift, 6))
    stop = math.ceil(round((end - half) / shift, 6))
    if stop <= first:
        first = round(((start + end) / 2 - half) / shift)
        stop = first + 1
    first = min(max(first, 0), frames)
    return first, min(max(stop, first), frames)


def word_times(words: list[str], ctm: list[datadir.CtmWord], duration: float) -> list[tuple[float, float]]:
    """``(start, end)`` in seconds for each of ``words`` from the ``words.ctm`` records of its utterance.

    The two word sequences are matched in order (case-insensitive, :class:`difflib.SequenceMatcher`):
    a matched word takes its record's times; a run of words facing as many other records (spelling
    variants) takes those one by one; any other run of unmatched words (``<laughter>``, a word the
    aligner dropped, an utterance without ctm lines) shares the time between the records matched
    before and after it (utterance start / ``duration`` at the ends).
    """
    ctm = sorted(ctm, key=lambda w: w.start)
    matcher = difflib.SequenceMatcher(
        a=[w.lower() for w in words], b=[w.word.lower() for w in ctm], autojunk=False
    )
    times: list[tuple[float, float]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            times += [(w.start, w.end) for w in ctm[j1:j2]]
        elif tag == "replace" and i2 - i1 == j2 - j1:  # spelling variants: one record per word
            times += [(w.start, w.end) for w in ctm[j1:j2]]
        elif tag in ("replace", "delete"):
            after = ctm[j1 - 1].end if j1 > 0 else 0.0
            before = ctm[j2].start if j2 < len(ctm) else max(duration, after)
            times += [(after, before)] * (i2 - i1)
    return times


class WordSpanStream:
    """Per word of a ``words`` stream, the ``[first, stop)`` frames of a ``frames`` stream (W×2).

    Word times come from the data dir's ``words.ctm`` (matched to the stream's words by
    :func:`word_times`) and become frame indices with the store's ``frame_shift`` and
    ``frame_length`` (:func:`frame_span`), clipped to the frames the frames stream delivers
    (after ``max_frames``). Values are float32 (exact integers), one row per word, so the
    stream pads and masks like the words stream it follows. Defined for the oracle ``text``
    only (``words.ctm`` aligns ``text``) and utterance-level training.
    """

    dim = 2

    def __init__(self, spec: dict, data: datadir.DataDir, words: WordStream, frames: FrameStream) -> None:
        self.name = spec["name"]
        self.words, self.frames = words, frames
        if words.text is not data.text:
            raise SerkitError(
                f"stream {self.name}: words.ctm aligns the oracle text, but stream {words.name} reads "
                f"{words.text_path}",
                hint="hard alignment is defined with text: text (Xu et al. 2019 Table 2)",
            )
        if not data.words_ctm:
            raise SerkitError(
                f"stream {self.name} needs word times but the data dir has no words.ctm",
                path=data.path,
                hint="run serkit align-words on the data dir",
            )
        self.ctm = data.words_ctm
        attrs = frames.store.attrs
        self.shift, self.frame_length = attrs.get("frame_shift"), attrs.get("frame_length")
        if not self.shift or self.frame_length is None:
            raise SerkitError(
                f"stream {self.name}: the store has no frame_shift/frame_length", path=frames.path
            )
        self.pad_to_max, self.max_len = words.pad_to_max, words.max_len

    def check(self, utts: list[str]) -> None:
        pass  # the words and frames streams check their own inputs; a missing ctm entry is a gap

    def length(self, utt: str) -> int:
        return self.words.length(utt)

    def read(self, utt: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        frames = self.frames.length(utt)
        duration = self.frames.store.shape(utt)[0] * self.shift + self.frame_length - self.shift
        times = word_times(self.words.words(utt), self.ctm.get(utt, []), duration)
        spans = [frame_span(s, e, self.shift, self.frame_length, frames) for s, e in times]
        return np.asarray(spans, dtype=np.float32).reshape(len(spans), 2)


Stream = FrameStream | WordStream | WordSpanStream


def open_streams(specs: list[dict], data: datadir.DataDir) -> list[Stream]:
    """The configured streams for one data dir (``{set}`` = the data dir's base name)."""
    set_name = data.path.name if data.path is not None else ""
    streams: dict[str, Stream] = {}
    for spec in specs:
        if spec["type"] == "frames":
            streams[spec["name"]] = FrameStream(spec, set_name, data.utt2spk)
        elif spec["type"] == "words":
            streams[spec["name"]] = WordStream(spec, data)
    for spec in specs:
        if spec["type"] == "word_spans":
            words, frames = streams.get(spec["words"]), streams.get(spec["frames"])
            if not isinstance(words, WordStream) or not isinstance(frames, FrameStream):
                raise SerkitError(
                    f"stream {spec['name']}: words/frames must name a words and a frames stream"
                )
            streams[spec["name"]] = WordSpanStream(spec, data, words, frames)
    ordered = [streams[spec["name"]] for spec in specs]
    for stream in ordered:
        stream.check(data.utts)
    return ordered


class EmotionDataset(Dataset):
    """Examples of one data dir: inputs per stream and the utterance- or frame-level target.

    ``task`` is the resolved ``task`` section plus ``classes`` (classification) or ``dims``
    (regression) filled in; see :func:`task_for`.
    """

    def __init__(
        self, data_dir: str | Path, stream_specs: list[dict], task: dict, chunk_frames: int | None = None
    ) -> None:
        self.data = datadir.load(data_dir)
        self.utts = self.data.utts
        if not self.utts:
            raise SerkitError("the data dir is empty", path=data_dir)
        self.streams = open_streams(stream_specs, self.data)
        self.task = task
        self.frame_level = task["level"] == "frame"
        self.frame_stream = task.get("frame_stream") or self.streams[0].name
        self.targets = self._load_targets()
        self.index: list[tuple[str, int, int | None]] = [(u, 0, None) for u in self.utts]
        if chunk_frames and self.frame_level:
            self.index = [
                (u, start, start + chunk_frames)
                for u in self.utts
                for start in range(0, self._frame_count(u), chunk_frames)
            ]

    @property
    def input_dims(self) -> dict[str, int]:
        return {s.name: s.dim for s in self.streams}

    def _stream(self, name: str) -> Stream:
        for stream in self.streams:
            if stream.name == name:
                return stream
        raise SerkitError(f"task.frame_stream {name!r} is not a declared stream")

    def _frame_count(self, utt: str) -> int:
        return min(self._stream(self.frame_stream).length(utt), len(self.targets[utt]))

    def _load_targets(self) -> dict[str, np.ndarray | int]:
        if self.task["type"] == "classification":
            index = {c: i for i, c in enumerate(self.task["classes"])}
            missing = [u for u in self.utts if u not in self.data.utt2emo]
            if missing:
                raise SerkitError(
                    f"{len(missing)} utterances have no label (e.g. {missing[0]!r})",
                    path=self.data.path / "utt2emo",
                    hint="label every utterance or subset the data dir",
                )
            bad = sorted({self.data.utt2emo[u] for u in self.utts} - set(index))
            if bad:
                raise SerkitError(
                    f"labels {bad} are outside the class map {self.task['classes']}",
                    path=self.data.path / "utt2emo",
                    hint="map or drop them in data preparation, or set task.classes",
                )
            return {u: index[self.data.utt2emo[u]] for u in self.utts}
        labels_file = self.data.labels_h5()
        if labels_file is None:
            raise SerkitError("regression needs labels.h5 in the data dir", path=self.data.path)
        labels, _, names = datadir.read_labels(labels_file, self.utts)
        missing = [u for u in self.utts if u not in labels]
        if missing:
            raise SerkitError(
                f"{len(missing)} utterances have no labels (e.g. {missing[0]!r})", path=labels_file
            )
        columns = [names.index(d) for d in self.task["dims"]]
        picked = {u: labels[u][:, columns].astype(np.float32) for u in self.utts}
        if self.frame_level:
            return picked
        return {u: v.mean(0) for u, v in picked.items()}

    def length(self, i: int) -> int:
        utt, start, stop = self.index[i]
        if stop is not None:
            return min(stop, self._frame_count(utt)) - start
        return self.streams[0].length(utt)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        utt, start, stop = self.index[i]
        inputs = {}
        for stream in self.streams:
            if stream.name == self.frame_stream and self.frame_level:
                inputs[stream.name] = stream.read(utt, start, stop)
            else:
                inputs[stream.name] = stream.read(utt)
        target = self.targets[utt]
        if self.frame_level:
            n = min(len(inputs[self.frame_stream]), len(target) - start)
            inputs[self.frame_stream] = inputs[self.frame_stream][:n]
            target = target[start : start + n]
        return {"utt": utt, "start": start, "inputs": inputs, "target": target}


def task_for(config: dict, train_dir: str | Path) -> dict:
    """The ``task`` section with ``classes`` (from train meta.json) or ``dims`` (from labels.h5) filled."""
    task = dict(config["task"])
    data = datadir.load(train_dir)
    if task["type"] == "classification":
        task["classes"] = list(task["classes"] or data.meta.get("classes") or [])
        if not task["classes"]:
            task["classes"] = sorted(set(data.utt2emo.values()))
        if len(task["classes"]) < 2:
            raise SerkitError("fewer than 2 classes", path=train_dir, hint="set task.classes")
    else:
        labels_file = data.labels_h5()
        if labels_file is None:
            raise SerkitError("regression needs labels.h5 in the data dir", path=train_dir)
        _, _, names = datadir.read_labels(labels_file, [])
        task["dims"] = list(task["dims"] or names)
        unknown = sorted(set(task["dims"]) - set(names))
        if unknown:
            raise SerkitError(f"task.dims {unknown} not in labels.h5 {names}", path=labels_file)
    if task["level"] == "frame" and task["type"] != "regression":
        raise SerkitError("frame-level targets need task.type regression", hint="set task.level utterance")
    return task


def collate(examples: list[dict], pad_lengths: dict[str, int] | None = None) -> dict:
    """Pad every stream to the batch maximum (or ``pad_lengths[name]``) with masks; stack targets."""
    batch = {"utts": [e["utt"] for e in examples], "starts": [e["start"] for e in examples]}
    inputs, masks = {}, {}
    for name in examples[0]["inputs"]:
        arrays = [e["inputs"][name] for e in examples]
        width = max(max(len(a) for a in arrays), 1)
        if pad_lengths and name in pad_lengths:
            width = max(width, pad_lengths[name])
        dim = arrays[0].shape[1]
        padded = np.zeros((len(arrays), width, dim), dtype=np.float32)
        mask = np.zeros((len(arrays), width), dtype=bool)
        for i, a in enumerate(arrays):
            padded[i, : len(a)] = a
            mask[i, : len(a)] = True
        inputs[name], masks[name] = torch.from_numpy(padded), torch.from_numpy(mask)
    batch["inputs"], batch["masks"] = inputs, masks
    targets = [e["target"] for e in examples]
    if isinstance(targets[0], int | np.integer):
        batch["target"] = torch.tensor(targets, dtype=torch.long)
    elif np.ndim(targets[0]) == 1:
        batch["target"] = torch.from_numpy(np.stack(targets).astype(np.float32))
    else:
        width = max(len(t) for t in targets)
        padded = np.zeros((len(targets), width, targets[0].shape[1]), dtype=np.float32)
        mask = np.zeros((len(targets), width), dtype=bool)
        for i, t in enumerate(targets):
            padded[i, : len(t)] = t
            mask[i, : len(t)] = True
        batch["target"], batch["target_mask"] = torch.from_numpy(padded), torch.from_numpy(mask)
    return batch


class Collator:
    """A picklable :func:`collate` bound to the fixed pad lengths of ``pad: max`` streams."""

    def __init__(self, dataset: EmotionDataset) -> None:
        self.pad_lengths = {s.name: s.max_len for s in dataset.streams if s.pad_to_max and s.max_len}

    def __call__(self, examples: list[dict]) -> dict:
        return collate(examples, self.pad_lengths)


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of the global batch size, similar lengths together, the same on every rank.

    Each epoch the examples are shuffled with ``seed + epoch``; with ``bucket`` they are
    sorted by length inside windows of 50 batches, cut into batches and the batches
    shuffled again. Every rank computes the same global batches and keeps its share
    ``batch[rank::world_size]`` (short batches wrap around), so all ranks take the same
    number of steps and, with one process, the batches are exactly the global ones.
    """

    WINDOW = 50

    def __init__(
        self,
        lengths: list[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        bucket: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.shuffle, self.bucket, self.seed = shuffle, bucket, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_batches(self) -> list[list[int]]:
        n = len(self.lengths)
        rng = np.random.default_rng(self.seed + self.epoch)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        if self.bucket:
            window = self.batch_size * self.WINDOW
            order = np.concatenate(
                [sorted(order[i : i + window], key=lambda k: self.lengths[k]) for i in range(0, n, window)]
            ).astype(int)
        batches = [order[i : i + self.batch_size].tolist() for i in range(0, n, self.batch_size)]
        if self.bucket and self.shuffle:
            batches = [batches[k] for k in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches():
            if self.world_size > 1:
                batch = (batch * self.world_size)[: max(len(batch), self.world_size)]
                batch = batch[self.rank :: self.world_size]
            yield batch

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

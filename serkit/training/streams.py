"""Input stream types: each one's config schema (defaults, required keys) and reader, in one place.

- ``frames`` (:class:`FrameStream`) reads ``store[utt]`` (34-d frames, spectrograms, waveform
  frames, word-instance Speech2Vec vectors, ...) from an HDF5 :class:`~serkit.store.FeatureStore`;
- ``words`` (:class:`WordStream`) looks the words of ``text`` (or ``text.asr``) up in an
  embedding file (word2vec binary, :func:`serkit.text.embeddings_io.load_vectors`);
- ``word_spans`` (:class:`WordSpanStream`) gives, for each word of a ``words`` stream, the frames
  of a ``frames`` stream it covers according to ``words.ctm`` (hard alignment, Xu et al. 2019 §4.3);
- ``word_frames`` (:class:`WordFrameStream`) gives, for each frame of a ``frames`` stream, the
  vector of the ``words.ctm`` word on it (zeros between words), from an ``embed-words`` store
  (audio only) or a looked-up transcript, optionally mapped by an ``align-embeddings`` result
  (Tzirakis et al. 2021 §3, the semantic stream on the 100 ms label grid).

A stream type is a class with ``TYPE``, ``DEFAULTS`` (every key a config may give it),
``REQUIRED`` (keys that must be set), ``REFERENCES`` (keys naming another stream → that stream's
type) and a constructor ``(spec, data, referenced streams)``; :data:`STREAM_TYPES` lists them,
and the config checker (:mod:`serkit.training.config`) and :func:`open_streams` read only that.
Stores and embedding files are opened lazily in each process, so streams can be handed to
DataLoader workers.
"""

from __future__ import annotations

import difflib
import math
import os
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

from serkit import datadir
from serkit.errors import SerkitError
from serkit.store import FeatureStore, str_list
from serkit.training.statistics import speaker_statistics, training_statistics

NORMALIZATIONS = (None, "utterance", "train", "speaker")
"""What a frames stream's ``normalize`` may be (see :class:`FrameStream`)."""


#: Frames a stream keeps in memory once read (normalised), so that later epochs do not read the
#: store again; utterances past this many bytes are read each time.
FRAME_CACHE_BYTES = 512 * 2**20


class FrameStream:
    """Frames × dims arrays from a feature store, cut to ``max_frames``, optionally z-normalised.

    ``normalize: utterance`` uses each utterance's own mean and deviation; ``normalize: train``
    those of every frame of the training set (``stats_from``, by default ``data.sets.train``),
    the same for every set, so that level differences between utterances survive;
    ``normalize: speaker`` those of every frame of the utterance's speaker in the data dir read
    (Kaldi's per-speaker CMVN through ``utt2spk``: a speaker's habitual level and timbre are
    removed, what varies between that speaker's utterances stays).

    A model applied to new audio (``serkit predict``) gives ``normalize: train`` the statistics saved
    with its weights: the spec's ``fitted`` (mean, std), set by :mod:`serkit.predict`, not a config key.

    ``turn_split: true`` (the SEWA authors' interlocutor split, methods.md §A.1) doubles each frame:
    a frame inside one of the subject's turns (the data dir's ``turns``, frames
    ``label_frame(start)`` .. ``label_frame(end)`` on the store's ``frame_shift``) keeps its values in
    the first half and zeros in the second, every other frame the other way round.
    """

    TYPE = "frames"
    DEFAULTS = {
        "name": None,
        "type": "frames",
        "store": None,
        "max_frames": None,
        "normalize": None,
        "stats_from": None,
        "pad": "batch",
        "turn_split": False,
    }
    REQUIRED = ("store",)
    REFERENCES: dict[str, str] = {}

    @classmethod
    def open(cls, spec: dict, data: datadir.DataDir, refs: dict) -> FrameStream:
        """The stream for ``data`` (``{set}`` in ``store`` = the data dir's base name)."""
        turns = None
        if spec.get("turn_split"):
            path = (data.path or Path(".")) / "turns"
            if not path.is_file():
                raise SerkitError(
                    f"stream {spec['name']}: turn_split needs the data dir's turns",
                    path=path,
                    hint="prepare the data dir with prepare-data sewa, or set turn_split: false",
                )
            turns = datadir.read_turns(path)
        return cls(spec, data.path.name if data.path is not None else "", data.utt2spk, turns)

    def __init__(
        self,
        spec: dict,
        set_name: str,
        utt2spk: dict[str, str] | None = None,
        turns: dict[str, list[tuple[float, float]]] | None = None,
    ) -> None:
        self.name = spec["name"]
        self._cache: dict[str, np.ndarray] = {}
        self._cached_bytes = 0
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
        self.turns = turns
        if turns is not None:
            self.shift = self.store.attrs.get("frame_shift")
            if not self.shift:
                raise SerkitError(
                    f"stream {self.name}: turn_split needs the store's frame_shift", path=self.path
                )
        if self.normalize == "train" and spec.get("fitted") is not None:
            self.mean, self.std = (np.asarray(x, dtype=np.float32) for x in spec["fitted"])
        elif self.normalize == "train":
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
        return (int(shape[1]) if len(shape) > 1 else 1) * (2 if self.turns is not None else 1)

    def length(self, utt: str) -> int:
        n = self.store.shape(utt)[0]
        return n if self.max_len is None else min(n, self.max_len)

    def read(self, utt: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        frames = self._cache.get(utt)
        if frames is None:
            frames = self._frames(utt)
            if self._cached_bytes + frames.nbytes <= FRAME_CACHE_BYTES:
                frames.flags.writeable = False  # shared by every later read of this utterance
                self._cache[utt] = frames
                self._cached_bytes += frames.nbytes
        frames = frames[start:stop]
        return frames if self.max_len is None else frames[: self.max_len]

    def _frames(self, utt: str) -> np.ndarray:
        """The utterance's frames as the model sees them, before any cut."""
        frames = self.store[utt]
        frames = frames.reshape(len(frames), -1)
        if self.normalize == "utterance":
            frames = (frames - frames.mean(0)) / (frames.std(0) + 1e-5)
        elif self.normalize == "train":
            frames = (frames - self.mean) / self.std
        elif self.normalize == "speaker":
            mean, std = self.speaker_stats[self.utt2spk[utt]]
            frames = (frames - mean) / std
        if self.turns is not None:
            frames = self._split_turns(utt, frames)
        return np.ascontiguousarray(frames, dtype=np.float32)

    def _split_turns(self, utt: str, frames: np.ndarray) -> np.ndarray:
        subject = np.zeros(len(frames), dtype=bool)
        for start, end in self.turns.get(utt, []):
            subject[label_span(start, end, self.shift, len(frames))] = True
        out = np.zeros((len(frames), 2 * frames.shape[1]), dtype=frames.dtype)
        out[subject, : frames.shape[1]] = frames[subject]
        out[~subject, frames.shape[1] :] = frames[~subject]
        return out


_SPACES: dict[tuple, object] = {}
"""The embedding files :attr:`WordStream.space` read last in this process, by path, mtime, size and pid."""


class WordStream:
    """One vector per word of the transcript from an embedding file (``kv``: word2vec binary, e.g.
    ``w2v.bin``), cut to ``max_words``. The file is read whole once per process (no memory map; a
    pickle is refused), then every lookup is in memory.

    ``normalize: vocabulary`` z-normalises each dimension with the mean and deviation over the
    file's vocabulary (every word once). Small-corpus Word2Vec/Speech2Vec spaces share one large
    common direction (mean cosine between different words up to 0.9), which a frozen embedding
    otherwise hands the network unchanged; an out-of-vocabulary word's zero is then the mean word.
    """

    TYPE = "words"
    DEFAULTS = {
        "name": None,
        "type": "words",
        "kv": None,
        "text": "text",
        "max_words": None,
        "oov": "zero",
        "lowercase": False,
        "normalize": None,
        "pad": "batch",
    }
    REQUIRED = ("kv",)
    REFERENCES: dict[str, str] = {}

    @classmethod
    def open(cls, spec: dict, data: datadir.DataDir, refs: dict) -> WordStream:
        return cls(spec, data)

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
        from serkit.text.embeddings_io import refuse_pickle

        refuse_pickle(self.path)  # fail before any work, not in the first batch
        self._space = None
        self._pid: int | None = None
        self._stats: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def space(self):
        """The file's :class:`~serkit.text.word_vectors.WordVectors`, read once per process and shared
        by every stream of the process that reads the same unchanged file (the training and dev sets'
        streams: GloVe 6B takes seconds)."""
        if self._space is None or self._pid != os.getpid():
            from serkit.text.embeddings_io import load_vectors

            stat = self.path.stat()
            key = (str(self.path.resolve()), stat.st_mtime_ns, stat.st_size, os.getpid())
            if key not in _SPACES:
                while len(_SPACES) >= 4:  # a few files at most stay cached
                    _SPACES.pop(next(iter(_SPACES)))
                _SPACES[key] = load_vectors(self.path)
            self._space = _SPACES[key]
            self._pid = os.getpid()
        return self._space

    @property
    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and deviation (floored at 1e-5) per dimension over the embedding file's vocabulary."""
        if self._stats is None:
            vectors = np.asarray(self.space.vectors, dtype=np.float64)
            self._stats = (
                vectors.mean(axis=0).astype(np.float32),
                np.maximum(vectors.std(axis=0), 1e-5).astype(np.float32),
            )
        return self._stats

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_space": None, "_pid": None}

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
        return int(self.space.vector_size)

    def words(self, utt: str) -> list[str]:
        words = self.text[utt].split()
        if self.lowercase:
            words = [w.lower() for w in words]
        if self.oov == "skip":
            words = [w for w in words if w in self.space.key_to_index]
        return words if self.max_len is None else words[: self.max_len]

    def length(self, utt: str) -> int:
        return len(self.words(utt))

    def vectors(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each word's vector (zeros when the file has none) and whether it has one."""
        kv = self.space
        out = np.zeros((len(words), kv.vector_size), dtype=np.float32)
        known = np.zeros(len(out), dtype=bool)
        for i, word in enumerate(words):
            if word in kv.key_to_index:
                out[i], known[i] = kv[word], True
        return out, known

    def read(self, utt: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        out, known = self.vectors(self.words(utt))
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
    TYPE = "word_spans"
    DEFAULTS = {"name": None, "type": "word_spans", "words": None, "frames": None}
    REQUIRED = ("words", "frames")
    REFERENCES = {"words": "words", "frames": "frames"}

    @classmethod
    def open(cls, spec: dict, data: datadir.DataDir, refs: dict) -> WordSpanStream:
        return cls(spec, data, refs["words"], refs["frames"])

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


def label_frame(t: float, shift: float) -> int:
    """The frame of time ``t`` on a ``shift`` grid: ``t/shift`` rounded to the nearest integer, ties to even.

    Exact arithmetic on the binary ``t`` and the decimal ``shift`` (``repr``), so that with
    ``shift = 0.1`` it is the authors' ``int(round(t, 1) * 10)`` for every time (methods.md §A.2).
    """
    return round(Fraction(t) / Fraction(repr(float(shift))))


def label_span(start: float, end: float, shift: float, frames: int) -> slice:
    """The frames ``label_frame(start)`` .. ``label_frame(end)`` inclusive, clipped to a grid of
    ``frames`` (empty when the span falls outside it): a word's or a turn's frames (methods.md §A.1-A.2)."""
    first, last = max(label_frame(start, shift), 0), min(label_frame(end, shift), frames - 1)
    return slice(first, max(first, last + 1))


def word_frames(
    times: list[tuple[float, float]], vectors: np.ndarray, frames: int, shift: float, dim: int
) -> np.ndarray:
    """``frames`` × ``dim``: each word's vector on frames ``label_frame(start)`` .. ``label_frame(end)``
    inclusive, clipped to the grid, words in order (a later word overwrites an earlier one on a shared
    frame), zeros where no word is (Tzirakis et al. 2021 §3; methods.md §A.2)."""
    out = np.zeros((frames, dim), dtype=np.float32)
    for (start, end), vector in zip(times, vectors, strict=True):
        out[label_span(start, end, shift, frames)] = vector
    return out


class WordFrameStream:
    """One word vector per frame of a ``frames`` stream (T × dim, T = that stream's frame count).

    The semantic input of Tzirakis et al. 2021 (§3, "Semantic"): the words of ``words.ctm`` are put
    on the label grid by :func:`word_frames` (frame ``i`` at time ``i·frame_shift``; the shift is
    the frames store's ``frame_shift`` unless the spec gives one). The vectors come from either

    - ``instances``: an ``embed-words`` store (``/<utt>`` = one row per ``words.ctm`` word, in
      order, attribute ``words``; ``{set}`` = the data dir's base name): vectors computed from the
      audio of each word, the audio-only path. It never reads the data dir's ``text``;
    - ``kv`` (word2vec binary) and ``text`` (``text`` or ``text.asr``): the transcript's words
      looked up (as the authors' code does for every set), timed by their ``words.ctm`` records
      (:func:`word_times`; an utterance without records gets no words). ``oov: zero`` (default)
      leaves an unknown word's frames zero; ``oov: random`` gives it uniform [0, 1) values seeded by
      the word (the code draws them unseeded, which no run can reproduce).

    ``mapping``: an ``align-embeddings`` output dir; known vectors are mapped into its target space
    as ``aligned.bin``'s rows were: the saved normalisation steps (``normalization.npz``), then
    ``W``. Zero frames stay zero; ``oov: random`` values are drawn in the target space.

    ``length`` and ``pad`` follow the frames stream (after its ``max_frames``); ``read(utt, start,
    stop)`` is frames ``start:stop`` of the utterance, the same chunk as the frames stream's.
    """

    TYPE = "word_frames"
    DEFAULTS = {
        "name": None,
        "type": "word_frames",
        "frames": None,
        "instances": None,
        "kv": None,
        "text": "text",
        "lowercase": False,
        "oov": "zero",
        "mapping": None,
        "frame_shift": None,
    }
    REQUIRED = ("frames",)
    REFERENCES = {"frames": "frames"}

    @classmethod
    def open(cls, spec: dict, data: datadir.DataDir, refs: dict) -> WordFrameStream:
        return cls(spec, data, refs["frames"])

    def __init__(self, spec: dict, data: datadir.DataDir, frames: FrameStream) -> None:
        self.name = spec["name"]
        self.frames = frames
        if (spec["instances"] is None) == (spec["kv"] is None):
            raise SerkitError(
                f"stream {self.name}: give either instances (an embed-words store) or kv (a word2vec file)",
                hint="instances: feats/{set}_words.h5 reads vectors from audio; kv: looks text words up",
            )
        if spec["oov"] not in ("zero", "random"):
            raise SerkitError(f"stream {self.name}: oov is {spec['oov']!r}", hint="use zero or random")
        self.oov = spec["oov"]
        self.shift = spec["frame_shift"] or frames.store.attrs.get("frame_shift")
        if not self.shift:
            raise SerkitError(
                f"stream {self.name}: the frames store has no frame_shift",
                path=frames.path,
                hint="give the stream a frame_shift (seconds)",
            )
        self.ctm = data.words_ctm
        if not self.ctm:
            raise SerkitError(
                f"stream {self.name} needs word times but the data dir has no words.ctm",
                path=data.path,
                hint="run serkit align-words on the data dir",
            )
        self.instances: FeatureStore | None = None
        self.lookup: WordStream | None = None
        if spec["instances"] is not None:
            set_name = data.path.name if data.path is not None else ""
            self.instances = FeatureStore(str(spec["instances"]).replace("{set}", set_name))
        else:
            self.lookup = WordStream(
                {**WordStream.DEFAULTS, "name": self.name, "kv": spec["kv"], "text": spec["text"],
                 "lowercase": spec["lowercase"]},
                data,
            )  # fmt: skip
        self.weight: np.ndarray | None = None
        if spec["mapping"] is not None:
            from serkit.embeddings.alignment import load_normalization

            mapping = Path(spec["mapping"])
            if not (mapping / "mapping.npy").is_file():
                raise SerkitError(
                    "no mapping.npy in the alignment dir", path=mapping, hint="run serkit align-embeddings"
                )
            from serkit.npfiles import load_arrays

            self.weight = load_arrays(
                mapping / "mapping.npy", "mapping (a saved matrix)", "run serkit align-embeddings again"
            ).astype(np.float32)
            self.steps, self.means = load_normalization(mapping)
            if self.weight.ndim != 2 or self.weight.shape[1] != self.source_dim:
                raise SerkitError(
                    f"stream {self.name}: W is {self.weight.shape} for {self.source_dim}-d vectors",
                    path=mapping,
                    hint="the alignment's source space must be the space of the vectors read",
                )
        self.pad_to_max, self.max_len = frames.pad_to_max, frames.max_len

    def check(self, utts: list[str]) -> None:
        if self.lookup is not None:
            self.lookup.check(utts)
            return
        missing = [u for u in utts if u not in self.instances]
        if missing:
            raise SerkitError(
                f"{len(missing)} utterances are not in the word-instance store (e.g. {missing[0]!r})",
                path=self.instances.path,
                hint="run serkit embed-words on the same data dir",
            )

    @property
    def source_dim(self) -> int:
        """The dimension of the vectors read (before ``mapping``)."""
        if self.lookup is not None:
            return self.lookup.dim
        return int(self.instances.shape(self.instances.keys()[0])[1])

    @property
    def dim(self) -> int:
        return int(self.weight.shape[0]) if self.weight is not None else self.source_dim

    def length(self, utt: str) -> int:
        return self.frames.length(utt)

    def _words(self, utt: str) -> tuple[list[tuple[float, float]], np.ndarray, np.ndarray]:
        """Each word's ``(start, end)``, its vector (source space) and whether it has one."""
        ctm = self.ctm.get(utt, [])
        if self.instances is not None:
            found = str_list(self.instances.utt_attrs(utt).get("words", []))
            if found != [w.word for w in ctm]:
                raise SerkitError(
                    f"the words of {utt!r} differ from words.ctm",
                    path=self.instances.path,
                    hint="the store is stale: run serkit embed-words on this data dir again",
                )
            vectors = np.asarray(self.instances[utt], dtype=np.float32)
            if vectors.ndim != 2 or len(vectors) != len(ctm):
                raise SerkitError(
                    f"{utt!r} has {vectors.shape} vectors for {len(ctm)} words", path=self.instances.path
                )
            return [(w.start, w.end) for w in ctm], vectors, np.ones(len(ctm), dtype=bool)
        if not ctm:
            return [], np.zeros((0, self.lookup.dim), dtype=np.float32), np.zeros(0, dtype=bool)
        words = self.lookup.words(utt)
        duration = self.frames.store.shape(utt)[0] * self.shift
        vectors, known = self.lookup.vectors(words)
        return word_times(words, ctm, duration), vectors, known

    def read(self, utt: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        times, vectors, known = self._words(utt)
        if self.weight is not None:
            from serkit.embeddings.alignment import apply_normalization

            mapped = np.zeros((len(vectors), self.weight.shape[0]), dtype=np.float32)
            if known.any():
                mapped[known] = apply_normalization(vectors[known], self.steps, self.means) @ self.weight.T
            vectors = mapped
        if self.oov == "random" and self.lookup is not None:
            words = self.lookup.words(utt)
            for i in np.flatnonzero(~known):
                word = words[i]
                rng = np.random.default_rng(zlib.crc32(word.encode("utf-8")))
                vectors[i] = rng.random(vectors.shape[1], dtype=np.float32)
        return word_frames(times, vectors, self.length(utt), self.shift, vectors.shape[1])[start:stop]


Stream = FrameStream | WordStream | WordSpanStream | WordFrameStream


STREAM_TYPES: dict[str, type[Stream]] = {
    cls.TYPE: cls for cls in (FrameStream, WordStream, WordSpanStream, WordFrameStream)
}
"""Every stream type by its config ``type``; a new type is a class here and an entry in this map."""


def open_streams(specs: list[dict], data: datadir.DataDir, utts: list[str] | None = None) -> list[Stream]:
    """The configured streams for one data dir (checked for ``utts``, default every utterance);
    streams that name others are opened after them."""
    opened: dict[str, Stream] = {}
    for spec in sorted(specs, key=lambda s: bool(STREAM_TYPES[s["type"]].REFERENCES)):
        kind = STREAM_TYPES[spec["type"]]
        refs = {}
        for key, ref_type in kind.REFERENCES.items():
            ref = opened.get(spec[key])
            if ref is None or ref.TYPE != ref_type:
                raise SerkitError(f"stream {spec['name']}: {key} must name a {ref_type} stream")
            refs[key] = ref
        opened[spec["name"]] = kind.open(spec, data, refs)
    ordered = [opened[spec["name"]] for spec in specs]
    for stream in ordered:
        stream.check(data.utts if utts is None else utts)
    return ordered

"""The feature types ``serkit extract-features --type`` knows: one adapter per type.

An adapter turns options into the parameters a store records, reads each utterance's audio
(a file or a ``wav.scp`` cut) and calls the numerical code of its feature module.

One rule for every type: audio with several channels is mixed to mono (the mean of the channels);
each adapter counts what it did to the audio (``mixed_to_mono_utterances``, for pyaa34
``resampled_utterances``) in :attr:`Extractor.counts`, which the store records as root attributes
and the command reports.
"""

from __future__ import annotations

from collections import Counter

import h5py
import numpy as np

from serkit import audio, datadir
from serkit.datadir import DataDir
from serkit.errors import SerkitError
from serkit.features import pyaa34, spectrogram, waveform, word_mfcc

#: A word of ``words.ctm`` may end this far past its audio without a warning (Kaldi's
#: ``extract-segments --max-overshoot``).
WORD_END_TOLERANCE_S = 0.1


class Extractor:
    """Base: ``prepare`` sees the data first, ``compute`` makes one utterance's frames × dims."""

    feature_type = ""

    #: What the root attributes of the same names count (summed over parallel jobs).
    COUNTS = ("mixed_to_mono_utterances", "resampled_utterances", "words_past_end")

    #: The files of the data dir the type reads besides ``wav.scp`` and ``meta.json``
    #: (:func:`serkit.datadir.load`'s ``files``); ``labels.h5`` is read from the dir when used.
    data_files: tuple[str, ...] = ()

    def __init__(self, options: dict) -> None:
        self.options = dict(options)
        self.counts: dict[str, int] = {}
        self.examples: dict[str, dict] = {}

    def note(self, key: str, example: dict) -> None:
        """Count one ``key`` event; keep the first ``example`` (JSON-able) to show the user."""
        self.counts[key] = self.counts.get(key, 0) + 1
        self.examples.setdefault(key, example)

    def read_mono(self, utt: str, data: DataDir, dtype: str = "float64") -> tuple[np.ndarray, int]:
        """The utterance's samples, channels averaged (counted in ``mixed_to_mono_utterances``)."""
        entry = data.wav_scp[utt]
        samples, rate = audio.read_audio(entry, dtype=dtype, mono=False)
        self.note_channels(utt, entry, samples)
        return audio.mix_to_mono(samples), rate

    def note_channels(self, utt: str, entry: datadir.WavEntry, samples: np.ndarray) -> None:
        """Count the utterance in ``mixed_to_mono_utterances`` if ``samples`` have several channels."""
        if samples.shape[1] > 1:
            example = {"utt": utt, "path": entry.path, "channels": samples.shape[1]}
            self.note("mixed_to_mono_utterances", example)

    def resolved_options(self) -> dict:
        """After :meth:`prepare`: the options that make another process extract exactly as this one
        (the choices ``prepare`` made from the data fixed); default: the options given."""
        return dict(self.options)

    @classmethod
    def options_from_params(cls, params: dict) -> dict:
        """The options that extract new audio as a store with these ``params`` was extracted
        (``serkit predict``); default: none (the type has no options)."""
        return {}

    def prepare(self, data: DataDir) -> None:
        """Look at the data before writing (e.g. the sample rate); default: nothing."""

    def params(self) -> dict:
        raise NotImplementedError

    def header(self) -> dict:
        """``frame_shift``, ``frame_length``, ``sample_rate``, ``feature_names`` of the store."""
        raise NotImplementedError

    def store_header(self) -> dict:
        return {"feature_type": self.feature_type, "params": self.params(), **self.header()}

    def compute(self, utt: str, data: DataDir) -> tuple[np.ndarray, dict] | None:
        """Frames × dims and per-utterance attributes; None when the type does not apply to ``utt``."""
        raise NotImplementedError

    def finalize(self, f: h5py.File) -> None:
        """Add attributes computed over all utterances (after merging, for parallel jobs)."""


class Pyaa34Extractor(Extractor):
    """34-d pyAudioAnalysis 0.3.14 short-term features (+ deltas); see :mod:`serkit.features.pyaa34`.

    The store has one sample rate: ``sample_rate`` when given, otherwise the rate most recordings
    of the data dir have (read from their headers; ties go to the higher rate; with piped audio, the
    rate meta.json records), whatever their order. Audio at that rate is read as pyAudioAnalysis
    reads it (the features are bit-faithful); audio at another rate is resampled (soxr) to it and
    counted in ``resampled_utterances``; several channels are averaged, as pyAudioAnalysis'
    ``stereo_to_mono`` does.
    """

    feature_type = "pyaa34"

    def __init__(self, options: dict) -> None:
        super().__init__(options)
        self.window_s = float(options.get("window", 0.02))
        self.step_s = float(options.get("step", 0.01))
        self.deltas = bool(options.get("deltas", False))
        self.flavor = options.get("flavor", "pyaa")
        self.backend = options.get("backend", "serkit")
        self.rate: int | None = options.get("sample_rate")
        self.rate_from: str = options.get("sample_rate_from", "given")
        if self.flavor not in ("pyaa", "corrected"):
            raise SerkitError(f"unknown --flavor {self.flavor!r}", hint="use pyaa (default) or corrected")
        if self.backend not in ("serkit", "pyaudioanalysis"):
            raise SerkitError(f"unknown --backend {self.backend!r}", hint="use serkit or pyaudioanalysis")
        if self.backend == "pyaudioanalysis" and self.flavor != "pyaa":
            raise SerkitError("--backend pyaudioanalysis only computes --flavor pyaa", hint="drop --flavor")
        if self.rate is not None and not (isinstance(self.rate, int) and self.rate > 0):
            raise SerkitError(f"--sample-rate must be a positive integer, got {self.rate!r}")

    @classmethod
    def options_from_params(cls, params: dict) -> dict:
        """The store's window, step, deltas, flavor and backend, and its rate: audio at another rate is
        resampled to it (audio at that rate is read as it was)."""
        return {
            "window": params["window_s"],
            "step": params["step_s"],
            "deltas": params["deltas"],
            "flavor": params["flavor"],
            "backend": params["backend"],
            "sample_rate": int(params["sampling_rate"]),
        }

    def prepare(self, data: DataDir) -> None:
        if self.rate is None:
            self.rate, self.rate_from = store_rate(data)
        self.window = pyaa34.seconds_to_samples(self.window_s, self.rate)
        self.step = pyaa34.seconds_to_samples(self.step_s, self.rate)
        pyaa34.check_configuration(self.rate, self.window, self.step, self.flavor)

    def resolved_options(self) -> dict:
        return {**self.options, "sample_rate": self.rate, "sample_rate_from": self.rate_from}

    def params(self) -> dict:
        return {
            **pyaa34.params(self.rate, self.window, self.step, self.deltas, self.flavor, self.backend),
            "window_s": self.window_s,
            "step_s": self.step_s,
            "sample_rate_from": self.rate_from,
            "other_rates": "resampled (soxr HQ)",
            "channels": "mean of the channels",
        }

    def header(self) -> dict:
        return {
            "frame_shift": self.step / self.rate,
            "frame_length": self.window / self.rate,
            "sample_rate": self.rate,
            "feature_names": pyaa34.feature_names(self.deltas),
        }

    def _samples(self, utt: str, data: DataDir) -> np.ndarray:
        entry = data.wav_scp[utt]
        samples, rate, subtype = audio.read_audio_native(entry)
        if subtype != "PCM_16":
            try:
                samples = pyaa34.to_read_audio_file_scale(samples, subtype)
            except SerkitError as err:
                raise SerkitError(err.message, path=entry.path, hint=err.hint) from None
        self.note_channels(utt, entry, samples)
        if samples.shape[1] > 1:
            samples = samples.mean(axis=1)
        else:
            samples = samples[:, 0]
        if rate != self.rate:
            self.note("resampled_utterances", {"utt": utt, "path": entry.path, "rate": rate})
            samples = audio.resample(samples / 32768.0, rate, self.rate) * 32768.0
        return samples

    def compute(self, utt: str, data: DataDir) -> tuple[np.ndarray, dict]:
        samples = self._samples(utt, data)
        if self.backend == "pyaudioanalysis":
            frames = pyaa34.short_term_features_reference(
                samples, self.rate, self.window, self.step, self.deltas
            )
        else:
            frames = pyaa34.short_term_features(
                samples, self.rate, self.window, self.step, self.deltas, flavor=self.flavor
            )
        return frames, {}


def store_rate(data: DataDir) -> tuple[int, str]:
    """The rate most recordings of ``data`` have, and where it comes from (see :class:`Pyaa34Extractor`).

    Unreadable recordings are left out here (their utterances fail when extracted); with none
    readable, 16 kHz.
    """
    recordings = {}
    for utt in data.utts:
        entry = data.wav_scp[utt]
        whole = datadir.WavEntry(entry.path, is_pipe=entry.is_pipe)
        recordings.setdefault(whole.source(), whole)
    meta_rate = data.meta.get("sample_rate")
    if isinstance(meta_rate, int) and meta_rate > 0 and any(e.is_pipe for e in recordings.values()):
        return meta_rate, "meta.json (piped audio)"
    rates: Counter[int] = Counter()
    for entry in recordings.values():
        try:
            rates[audio.audio_info(entry)[0]] += 1
        except SerkitError:
            continue
    if not rates:
        return 16000, "default (no readable audio)"
    rate = max(rates, key=lambda r: (rates[r], r))
    return rate, f"most recordings ({rates[rate]} of {sum(rates.values())})"


class SpectrogramExtractor(Extractor):
    """Log spectrogram at 8 kHz, a fixed 200 × 400 image (CMU-MOSEI paper; :mod:`.spectrogram`)."""

    feature_type = "spectrogram"

    def __init__(self, options: dict) -> None:
        super().__init__(options)
        frames = int(options.get("frames", spectrogram.N_FRAMES))
        self.frames = None if frames <= 0 else frames

    @classmethod
    def options_from_params(cls, params: dict) -> dict:
        return {"frames": params["frames"]}

    def params(self) -> dict:
        return spectrogram.params(self.frames)

    def header(self) -> dict:
        return {
            "frame_shift": spectrogram.HOP_LENGTH / spectrogram.SAMPLING_RATE,
            "frame_length": spectrogram.WINDOW_LENGTH / spectrogram.SAMPLING_RATE,
            "sample_rate": spectrogram.SAMPLING_RATE,
            "feature_names": spectrogram.feature_names(),
        }

    def compute(self, utt: str, data: DataDir) -> tuple[np.ndarray, dict]:
        samples, rate = self.read_mono(utt, data)
        return spectrogram.log_spectrogram(samples, rate, self.frames), {}


class WaveformExtractor(Extractor):
    """Raw 22,050 Hz samples in 100 ms frames on the label grid (SEWA paper; :mod:`.waveform`).

    When the data dir has ``labels.h5``, each utterance gets exactly as many frames as it has label rows.
    """

    feature_type = "waveform"

    def prepare(self, data: DataDir) -> None:
        labels = data.labels_h5()
        self.label_frames: dict[str, int] = {}
        if labels is not None:
            values, _, _ = datadir.read_labels(labels, data.utts)
            self.label_frames = {utt: len(rows) for utt, rows in values.items()}

    def params(self) -> dict:
        return waveform.params(n_frames_given=bool(self.label_frames))

    def header(self) -> dict:
        return {
            "frame_shift": waveform.FRAME_SECONDS,
            "frame_length": waveform.FRAME_SECONDS,
            "sample_rate": waveform.SAMPLING_RATE,
            "feature_names": [f"s{i}" for i in range(waveform.FRAME_LENGTH)],
        }

    def compute(self, utt: str, data: DataDir) -> tuple[np.ndarray, dict]:
        samples, rate = self.read_mono(utt, data)
        return waveform.waveform_frames(samples, rate, self.label_frames.get(utt)), {}


class WordMfccExtractor(Extractor):
    """13-d MFCC every 10 ms with the word spans of ``words.ctm`` (Speech2Vec input, methods.md §C).

    ``/<utt>`` holds the whole utterance's frames; its attributes ``words``, ``word_start_frame``
    and ``word_end_frame`` (exclusive) give the word instances in order. The root attributes
    ``mean`` and ``var`` are the statistics of all word frames of the store, for normalisation.
    Utterances without a word alignment are skipped (listed in ``skipped_utterances``).

    A word that ends past the audio is kept, as Kaldi's ``extract-segments`` keeps a segment that
    ends up to 0.1 s past its recording: its span is clipped to the audio's last frame (at least one
    frame), so that the store keeps every word of ``words.ctm``. Words ending more than
    :data:`WORD_END_TOLERANCE_S` past the audio (where ``extract-segments`` warns) are counted in
    ``words_past_end``, and the command warns once, naming the first one's ``words.ctm`` line.
    """

    feature_type = "word-mfcc"
    data_files = ("words.ctm",)

    def params(self) -> dict:
        return word_mfcc.params()

    def header(self) -> dict:
        return {
            "frame_shift": word_mfcc.HOP_LENGTH / word_mfcc.SAMPLING_RATE,
            "frame_length": word_mfcc.WINDOW_LENGTH / word_mfcc.SAMPLING_RATE,
            "sample_rate": word_mfcc.SAMPLING_RATE,
            "feature_names": word_mfcc.feature_names(),
        }

    def compute(self, utt: str, data: DataDir) -> tuple[np.ndarray, dict] | None:
        words = [(w.word, w.start, w.end) for w in data.words_ctm.get(utt, [])]
        if not words:
            return None
        samples, rate = self.read_mono(utt, data)
        duration = len(samples) / rate
        for index, (word, _, end) in enumerate(words):
            if end > duration + WORD_END_TOLERANCE_S:
                example = {"utt": utt, "index": index, "word": word, "end": end, "duration": duration}
                self.note("words_past_end", example)
        frames = word_mfcc.utterance_mfcc(samples, rate)
        spans = word_mfcc.word_frame_spans(words, len(frames))
        return frames, {
            "words": [w for w, _, _ in words],
            "word_start_frame": spans[:, 0],
            "word_end_frame": spans[:, 1],
        }

    def finalize(self, f: h5py.File) -> None:
        stats = word_mfcc.RunningStats()
        for utt in f:
            ds = f[utt]
            frames = ds[()]
            for start, end in zip(ds.attrs["word_start_frame"], ds.attrs["word_end_frame"], strict=True):
                stats.update(frames[start:end])
        f.attrs["mean"] = stats.mean
        f.attrs["var"] = stats.variance
        f.attrs["stats_frames"] = "frames inside words"


EXTRACTORS: dict[str, type[Extractor]] = {
    cls.feature_type: cls
    for cls in (Pyaa34Extractor, SpectrogramExtractor, WaveformExtractor, WordMfccExtractor)
}


def make_extractor(feature_type: str, options: dict) -> Extractor:
    try:
        cls = EXTRACTORS[feature_type]
    except KeyError:
        raise SerkitError(
            f"unknown feature type {feature_type!r}", hint=f"use one of: {', '.join(sorted(EXTRACTORS))}"
        ) from None
    return cls(options)

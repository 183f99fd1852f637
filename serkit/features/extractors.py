"""The feature types ``serkit extract-features --type`` knows: one adapter per type.

An adapter turns options into the parameters a store records, reads each utterance's audio
(a file or a ``wav.scp`` cut) and calls the numerical code of its feature module.
"""

from __future__ import annotations

import h5py
import numpy as np

from serkit import audio, datadir
from serkit.datadir import DataDir
from serkit.errors import SerkitError
from serkit.features import pyaa34, spectrogram, waveform, word_mfcc


class Extractor:
    """Base: ``prepare`` sees the data first, ``compute`` makes one utterance's frames × dims."""

    feature_type = ""

    def __init__(self, options: dict) -> None:
        self.options = dict(options)

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

    Audio is read at its own rate, as pyAudioAnalysis does; every file of the data dir must have
    the same rate unless ``sample_rate`` is given, in which case files are resampled (soxr) to it.
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
        if self.flavor not in ("pyaa", "corrected"):
            raise SerkitError(f"unknown --flavor {self.flavor!r}", hint="use pyaa (default) or corrected")
        if self.backend not in ("serkit", "pyaudioanalysis"):
            raise SerkitError(f"unknown --backend {self.backend!r}", hint="use serkit or pyaudioanalysis")
        if self.backend == "pyaudioanalysis" and self.flavor != "pyaa":
            raise SerkitError("--backend pyaudioanalysis only computes --flavor pyaa", hint="drop --flavor")

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
            self.rate = audio.audio_info(data.wav_scp[data.utts[0]])[0]
        self.resample = self.options.get("sample_rate") is not None
        self.window = pyaa34.seconds_to_samples(self.window_s, self.rate)
        self.step = pyaa34.seconds_to_samples(self.step_s, self.rate)
        pyaa34.check_configuration(self.rate, self.window, self.step, self.flavor)

    def params(self) -> dict:
        return {
            **pyaa34.params(self.rate, self.window, self.step, self.deltas, self.flavor, self.backend),
            "window_s": self.window_s,
            "step_s": self.step_s,
            "resampled": self.resample,
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
        subtype = audio.audio_subtype(entry)
        if subtype == "PCM_16":
            samples, rate = audio.read_audio(entry, dtype="int16", mono=False)
        else:
            samples, rate = audio.read_audio(entry, mono=False)
            samples = pyaa34.to_read_audio_file_scale(samples, subtype)
        if rate != self.rate:
            if not self.resample:
                raise SerkitError(
                    f"{utt}: audio is at {rate} Hz, the data dir's first file at {self.rate} Hz",
                    path=entry.path,
                    hint="give --sample-rate to resample everything to one rate",
                )
            mono = samples.mean(axis=1) if samples.ndim == 2 else samples
            samples = audio.resample(mono / 32768.0, rate, self.rate) * 32768.0
        return samples[:, 0] if samples.ndim == 2 and samples.shape[1] == 1 else samples

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
        samples, rate = audio.read_audio(data.wav_scp[utt])
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
        samples, rate = audio.read_audio(data.wav_scp[utt])
        return waveform.waveform_frames(samples, rate, self.label_frames.get(utt)), {}


class WordMfccExtractor(Extractor):
    """13-d MFCC every 10 ms with the word spans of ``words.ctm`` (Speech2Vec input, methods.md §C).

    ``/<utt>`` holds the whole utterance's frames; its attributes ``words``, ``word_start_frame``
    and ``word_end_frame`` (exclusive) give the word instances in order. The root attributes
    ``mean`` and ``var`` are the statistics of all word frames of the store, for normalisation.
    Utterances without a word alignment are skipped (listed in ``skipped_utterances``).
    """

    feature_type = "word-mfcc"

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
        entry = data.wav_scp[utt]
        words = [(w.word, w.start, w.end) for w in data.words_ctm.get(utt, [])]
        if not words:
            return None
        samples, rate = audio.read_audio(entry)
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

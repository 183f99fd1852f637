"""The feature types ``serkit extract-features --type`` knows: one adapter per type.

An adapter turns options into the parameters a store records, reads each utterance's audio
(a file or a ``wav.scp`` cut) and calls the numerical code of its feature module.
"""

from __future__ import annotations

import h5py
import numpy as np

from serkit import audio
from serkit.datadir import DataDir
from serkit.errors import SerkitError
from serkit.features import pyaa34


class Extractor:
    """Base: ``prepare`` sees the data first, ``compute`` makes one utterance's frames × dims."""

    feature_type = ""

    def __init__(self, options: dict) -> None:
        self.options = dict(options)

    def prepare(self, data: DataDir) -> None:
        """Look at the data before writing (e.g. the sample rate); default: nothing."""

    def params(self) -> dict:
        raise NotImplementedError

    def header(self) -> dict:
        """``frame_shift``, ``frame_length``, ``sample_rate``, ``feature_names`` of the store."""
        raise NotImplementedError

    def store_header(self) -> dict:
        return {"feature_type": self.feature_type, "params": self.params(), **self.header()}

    def compute(self, utt: str, data: DataDir) -> tuple[np.ndarray, dict]:
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


EXTRACTORS: dict[str, type[Extractor]] = {
    Pyaa34Extractor.feature_type: Pyaa34Extractor,
}


def make_extractor(feature_type: str, options: dict) -> Extractor:
    try:
        cls = EXTRACTORS[feature_type]
    except KeyError:
        raise SerkitError(
            f"unknown feature type {feature_type!r}", hint=f"use one of: {', '.join(sorted(EXTRACTORS))}"
        ) from None
    return cls(options)

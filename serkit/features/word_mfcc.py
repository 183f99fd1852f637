"""Word-segment MFCC, the Speech2Vec input (Chung & Glass 2018; ``methods.md`` §C).

The paper fixes only "13-d MFCC every 10 ms" and word segments from forced alignment.  serkit
computes the MFCC once over the whole utterance and cuts it per word (module constants):

- resample to 16 kHz (soxr "HQ"), as LibriSpeech, on which Speech2Vec was trained;
- ``librosa.feature.mfcc`` on a log-power mel spectrogram: 25 ms Hamming window (400 samples),
  FFT size 512, hop 10 ms (160 samples), centred frames (frame t is centred at t·10 ms, zero
  padding at the edges), 40 Slaney mel bands from 20 Hz to 8 kHz, power in dB re. 1.0 with a floor
  of 1e-10 and **no** ``top_db`` clipping (librosa's default would clip 80 dB below each
  utterance's peak), DCT-II ortho, the first 13 coefficients (c0 kept), no liftering, no deltas;
- frame t belongs to a word (start, end) in seconds when its centre lies in [start, end):
  frames ⌈100·start⌉ … ⌈100·end⌉ − 1, at least one frame, clipped to the utterance.

No normalisation is applied here; :class:`RunningStats` accumulates the per-corpus mean and
variance (float64, mergeable across parallel jobs) for the trainer to apply.

Storage (recommended): one dataset per utterance, ``/<utt>`` = its frames × 13, with attributes
``words`` and ``word_start_frame`` / ``word_end_frame`` (end exclusive) from :func:`word_frame_spans`.
That is ~20× fewer HDF5 objects than one dataset per word instance (fast to open and list), keeps
the context between words, and a word is ``mfcc[start:end]``.  :func:`cut_words` gives the per-word
arrays for a store that wants one dataset per word instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import soxr

SAMPLING_RATE = 16000
N_MFCC = 13
WINDOW_LENGTH = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
FFT_SIZE = 512
N_MELS = 40
FMIN = 20.0
FMAX = 8000.0
POWER_FLOOR = 1e-10
FRAME_RATE = SAMPLING_RATE / HOP_LENGTH  # 100 frames per second

Word = tuple[str, float, float]  # (word, start s, end s), times relative to the utterance


def params() -> dict:
    """Every parameter of a word-MFCC extraction, for the feature store's root attributes."""
    return {
        "feature_type": "word_mfcc",
        "sampling_rate": float(SAMPLING_RATE),
        "resampler": "soxr HQ",
        "n_mfcc": N_MFCC,
        "window": "hamming",
        "window_length": WINDOW_LENGTH,
        "fft_size": FFT_SIZE,
        "hop_length": HOP_LENGTH,
        "frame_length_s": WINDOW_LENGTH / SAMPLING_RATE,
        "frame_shift_s": HOP_LENGTH / SAMPLING_RATE,
        "centered": True,
        "n_mels": N_MELS,
        "mel_scale": "slaney",
        "fmin": FMIN,
        "fmax": FMAX,
        "power_floor": POWER_FLOOR,
        "top_db": "none",
        "dct": "type 2, ortho, c0 kept",
        "word_frames": "frames centred in [start, end), at least one",
        "normalisation": "none (per-corpus mean/variance kept separately)",
        "dims": N_MFCC,
    }


def feature_names() -> list[str]:
    """Column names ``mfcc_0`` … ``mfcc_12`` (c0 first)."""
    return [f"mfcc_{i}" for i in range(N_MFCC)]


def utterance_mfcc(signal: np.ndarray, sampling_rate: float) -> np.ndarray:
    """13-d MFCC every 10 ms over a mono float signal in [-1, 1]: float32, frames × 13.

    There are 1 + ⌊n / 160⌋ frames for n samples at 16 kHz; frame t is centred at t·10 ms.
    """
    import librosa  # imported here: it takes about a second, and most feature jobs never need it

    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"utterance_mfcc needs a mono 1-D signal, got shape {x.shape}")
    if sampling_rate != SAMPLING_RATE:
        x = soxr.resample(x, sampling_rate, SAMPLING_RATE, quality="HQ")
    if len(x) == 0:
        raise ValueError("utterance_mfcc needs at least one sample")
    n_frames = 1 + len(x) // HOP_LENGTH
    if len(x) < FFT_SIZE:  # zeros past the end are what centred framing pads with anyway
        x = np.concatenate([x, np.zeros(FFT_SIZE - len(x))])
    mel = librosa.feature.melspectrogram(
        y=x,
        sr=SAMPLING_RATE,
        n_fft=FFT_SIZE,
        hop_length=HOP_LENGTH,
        win_length=WINDOW_LENGTH,
        window="hamming",
        center=True,
        pad_mode="constant",
        power=2.0,
        n_mels=N_MELS,
        fmin=FMIN,
        fmax=FMAX,
    )
    log_mel = librosa.power_to_db(mel, ref=1.0, amin=POWER_FLOOR, top_db=None)
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC, dct_type=2, norm="ortho")
    return np.ascontiguousarray(mfcc[:, :n_frames].T, dtype=np.float32)


def _frame_at(seconds: float) -> int:
    """⌈100·seconds⌉, robust to decimal times: 0.07 s gives 7 although 0.07 * 100 = 7.000000000000001."""
    return math.ceil(round(seconds * FRAME_RATE, 6))


def word_frame_spans(words: Sequence[Word], n_frames: int) -> np.ndarray:
    """(start, end) frame of each word, end exclusive, as an int64 array of words × 2.

    Frames whose centres lie in [start, end) belong to the word; a word gets at least one frame
    and every span is clipped to the utterance's ``n_frames`` frames.
    """
    if n_frames < 1:
        raise ValueError("an utterance needs at least one MFCC frame")
    spans = np.empty((len(words), 2), dtype=np.int64)
    for i, (word, start, end) in enumerate(words):
        if end < start:
            raise ValueError(f"word {word!r} ends ({end} s) before it starts ({start} s)")
        first = min(max(_frame_at(start), 0), n_frames - 1)
        stop = min(max(_frame_at(end), first + 1), n_frames)
        spans[i] = first, stop
    return spans


def cut_words(mfcc: np.ndarray, words: Sequence[Word]) -> list[np.ndarray]:
    """Per-word slices (frames × 13 views) of an utterance's MFCC, in the order of ``words``."""
    return [mfcc[start:stop] for start, stop in word_frame_spans(words, len(mfcc))]


class RunningStats:
    """Streaming per-dimension mean and variance of frames × dims arrays, in float64.

    Each :meth:`update` folds a batch in with Chan et al.'s pairwise formula (stable, unlike
    Σx² − (Σx)²/n); :meth:`merge` combines the statistics of parallel jobs the same way.
    """

    def __init__(self, dims: int = N_MFCC) -> None:
        self.count = 0
        self.mean = np.zeros(dims)
        self.m2 = np.zeros(dims)  # Σ (x − mean)²

    def _combine(self, count: int, mean: np.ndarray, m2: np.ndarray) -> None:
        if count == 0:
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta * delta * (self.count * count / total)
        self.count = total

    def update(self, frames: np.ndarray) -> None:
        """Add the rows of a frames × dims array."""
        frames = np.asarray(frames, dtype=np.float64)
        if frames.ndim != 2 or frames.shape[1] != len(self.mean):
            raise ValueError(f"expected frames × {len(self.mean)}, got shape {frames.shape}")
        if len(frames):
            mean = frames.mean(axis=0)
            self._combine(len(frames), mean, ((frames - mean) ** 2).sum(axis=0))

    def merge(self, other: RunningStats) -> None:
        """Add the frames another accumulator has seen (e.g. another ``--nj`` job)."""
        self._combine(other.count, other.mean, other.m2)

    @property
    def variance(self) -> np.ndarray:
        """Population variance per dimension (0 before any frame)."""
        return self.m2 / self.count if self.count else np.zeros_like(self.m2)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.variance)

    def normalise(self, frames: np.ndarray, floor: float = 1e-8) -> np.ndarray:
        """(frames − mean) / max(std, floor), as float32."""
        return ((np.asarray(frames) - self.mean) / np.maximum(self.std, floor)).astype(np.float32)

    def to_dict(self) -> dict:
        """JSON- and HDF5-attribute-friendly form (see :meth:`from_dict`)."""
        return {"count": self.count, "mean": self.mean.tolist(), "m2": self.m2.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> RunningStats:
        stats = cls(len(data["mean"]))
        stats.count = int(data["count"])
        stats.mean = np.asarray(data["mean"], dtype=np.float64)
        stats.m2 = np.asarray(data["m2"], dtype=np.float64)
        return stats

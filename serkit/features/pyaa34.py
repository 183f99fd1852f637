"""The 34 short-term features of pyAudioAnalysis 0.3.14, bit-faithful and vectorised over all frames.

:func:`short_term_features` reproduces ``pyAudioAnalysis.ShortTermFeatures.feature_extraction(signal,
sampling_rate, window, step, deltas)`` (0.3.14, ``methods.md`` §G) to within 1e-9 absolute, with every
quirk of that code, but computes all frames at once in float64 (one batched real FFT, a few matrix
products).  It is the acoustic input of paper 002 (100/100 ms) and paper 004 (20/10 ms).

Layout: pyAudioAnalysis returns *features × frames*; serkit's feature store holds *frames × dims*, so
every function here returns the transpose, **frames × 34** (frames × 68 with deltas), float64.

Sample scale: pass the samples as ``audioBasicIO.read_audio_file`` returns them (``scipy.io.wavfile``:
int16 for 16-bit PCM).  pyAudioAnalysis divides by 2**15 and then by (peak + 1e-10); the 1e-10 makes
the result depend (at ~1e-6 relative) on the input scale, so a float signal in [-1, 1] is *not*
equivalent.  :func:`to_read_audio_file_scale` converts soundfile's float samples to that array; int16
input is also the fast path (its mean is computed exactly without a float copy).  Each call normalises
its own signal (DC removal, peak normalisation), exactly as pyAudioAnalysis called on that file or that
cut would.

Quirks reproduced (pyAudioAnalysis 0.3.14, row numbers of the output):

- signal: float64, ÷ 2**15, minus its mean, ÷ (max |x| + 1e-10), once per call;
- frames: start at 0, hop ``step``, while ``start + window - 1 < len``, i.e.
  n = (len - window) // step + 1; rectangular (no window function); no padding;
- spectrum: |FFT| of the window-length frame, first ``num_fft = window // 2`` bins, divided by num_fft;
  bin k is taken to lie at (k + 1)·fs / (2·num_fft) (centroid, spread, chroma);
- 0 zcr: Σ|Δ sign x| / 2 / (window − 1);  1 energy: Σx² / window;
- 2 energy_entropy, 5 spectral_entropy: 10 contiguous sub-blocks of ⌊len/10⌋ (tail dropped from the
  blocks, kept in the total), e = E_k / (E + eps), −Σ e·log2(e + eps);
- 3, 4 centroid / spread on X / max X (X / eps when max X = 0), ÷ (fs / 2);
- 6 spectral_flux: Σ(X/Σ(X+eps) − X'/Σ(X'+eps))² with X' the previous frame (itself on frame 0, so 0);
- 7 spectral_rolloff: first bin where cumsum(X²) + eps > 0.9·ΣX², as a fraction of num_fft (0 if none);
- 8–20 mfcc_1..13: log10(X·Fᵀ + eps) on magnitudes, DCT-II ortho, c0 kept; the 40-filter bank of
  scikits.talkbox laid out as if the num_fft bins spanned 0..fs, so every filter acts at half its
  nominal frequency (effective range ≈ 67–3427 Hz);
- 21–32 chroma_1..12, 33 chroma_std: semitone round(12·log2(f / 27.5)) per bin, written into a
  num_fft-long array by fancy assignment (last bin wins, negative indices wrap to the end), divided by
  the bin count of the semitone of *bin* p rather than of semitone p, folded to 12 by summing octaves,
  ÷ ΣX² (÷ eps when 0); chroma_std is the population std of the 12;
- deltas: frame t minus frame t − 1, zeros on the first frame, on all 34 rows, appended as rows 34–67.

pyAudioAnalysis crashes on windows of num_fft ≤ the top bin's semitone index (≤ 197 samples at 16 kHz,
≤ 209 at 22.05 kHz: the chroma code's ``else`` branch), on sampling rates at or below ≈ 6.8 kHz (its
MFCC bank indexes past num_fft) and on signals shorter than one window; here they raise
:class:`~serkit.errors.SerkitError` saying what to use instead.

``flavor="corrected"`` (never the default) changes exactly three things, and with them rows 3–33:

1. a Hamming window (``numpy.hamming(window)``, symmetric) multiplies each frame before the FFT (rows
   0–2 are computed on the unwindowed frame as before, so they do not change);
2. the MFCC bank is laid out on the true bin frequencies k·fs / window (filters above fs / 2 are cut);
3. chroma sums the power of *every* bin into its class (semitone mod 12, bins below 27.5 Hz included)
   and divides by ΣX²: no last-bin-wins, no division by bin counts.

Everything else (normalisation, framing, the (k + 1) bin-frequency convention, eps, deltas) is as in
``flavor="pyaa"``.

How it is computed (bench/feat34.py; the ratio depends on the CPU: at 20/10 ms about 190–200× faster
than pyAudioAnalysis on a 2-core AMD EPYC, about 100× on a 2-core Intel Xeon with AVX-512, where
pyAudioAnalysis itself runs 4× faster; there serkit takes about 2.2× the time of normalising, one
rFFT and |FFT| per frame alone): frames go through in cache-sized chunks; per chunk one real FFT
down the columns of a strided frame view (pocketfft, bit-identical to pyAudioAnalysis's
``scipy.fftpack.fft``), |FFT|² as re² + im² and |FFT| as its square root (within an ulp of
pyAudioAnalysis's ``abs``), and small matrix products (chroma map on the bins it uses, mel bands,
spectral moments, sub-block sums); time-domain sums are taken once per cell of gcd(step, window // 10)
samples.  All features are then formed for all frames at once (logarithms as ln, their 1/ln 10 and
1/ln 2 folded into the DCT rows and the entropy sums).  The normalised signal is bit-identical to
pyAudioAnalysis's, so is the FFT: where a spectrum is exactly zero in exact arithmetic (digital
silence, a tone periodic in the frame), log10(X·F + eps) sees the FFT's rounding noise, and only
identical inputs reproduce it.
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass

import numpy as np

from serkit.errors import SerkitError

PYAUDIOANALYSIS_VERSION = "0.3.14"
FLAVORS = ("pyaa", "corrected")
N_FEATURES = 34
EPS = sys.float_info.epsilon  # pyAudioAnalysis's eps (2.2e-16)

_N_SUB_BLOCKS = 10  # energy / spectral entropy sub-blocks
_ROLLOFF_FRACTION = 0.90
_N_MFCC = 13
_CHROMA_REFERENCE_HZ = 27.5  # A0: chroma_1 is A
# scikits.talkbox MFCC bank as pyAudioAnalysis builds it: 13 linear + 27 log filters
_MEL_LOW_HZ, _MEL_LINEAR_STEP_HZ, _MEL_LOG_RATIO = 133.33, 200 / 3, 1.0711703
_N_LINEAR_FILTERS, _N_LOG_FILTERS = 13, 27

FEATURE_NAMES: tuple[str, ...] = (
    "zcr",
    "energy",
    "energy_entropy",
    "spectral_centroid",
    "spectral_spread",
    "spectral_entropy",
    "spectral_flux",
    "spectral_rolloff",
    *(f"mfcc_{i}" for i in range(1, _N_MFCC + 1)),
    *(f"chroma_{i}" for i in range(1, 13)),
    "chroma_std",
)

# soundfile subtype -> how scipy.io.wavfile (and so pyAudioAnalysis's read_audio_file) returns that
# file: (factor applied to soundfile's float samples, offset added, dtype).  24-bit PCM comes back
# left-justified in int32, 8-bit PCM unsigned.
READ_AUDIO_FILE_FORMAT: dict[str, tuple[float, float, type]] = {
    "PCM_U8": (2.0**7, 128.0, np.uint8),
    "PCM_16": (2.0**15, 0.0, np.int16),
    "PCM_24": (2.0**31, 0.0, np.int32),
    "PCM_32": (2.0**31, 0.0, np.int32),
    "FLOAT": (1.0, 0.0, np.float32),
    "DOUBLE": (1.0, 0.0, np.float64),
}


def feature_names(deltas: bool = False) -> list[str]:
    """The row names pyAudioAnalysis gives, in order (``"delta " + name`` for the 34 delta rows)."""
    names = list(FEATURE_NAMES)
    return names + [f"delta {name}" for name in names] if deltas else names


def seconds_to_samples(seconds: float, sampling_rate: float) -> int:
    """Window or step in samples, rounded as pyAudioAnalysis's own callers do (``round(s * fs)``)."""
    return int(round(seconds * sampling_rate))


def to_read_audio_file_scale(samples: np.ndarray, subtype: str = "PCM_16") -> np.ndarray:
    """Float samples in [-1, 1] (as soundfile reads them) → the array ``read_audio_file`` would give.

    ``subtype`` is the file's soundfile subtype (``soundfile.info(path).subtype``).  For 16-bit PCM
    the result is exactly the file's int16 samples (the fast path of :func:`short_term_features`).
    Integer input is returned unchanged.
    """
    samples = np.asarray(samples)
    if np.issubdtype(samples.dtype, np.integer):
        return samples
    try:
        factor, offset, dtype = READ_AUDIO_FILE_FORMAT[subtype]
    except KeyError:
        raise SerkitError(
            f"no pyAudioAnalysis sample scale known for audio subtype {subtype!r}",
            hint=f"convert the audio to one of {', '.join(READ_AUDIO_FILE_FORMAT)} (16-bit PCM is usual)",
        ) from None
    scaled = samples.astype(np.float64) * factor + offset
    if np.issubdtype(dtype, np.integer):
        scaled = np.round(scaled)
    return scaled.astype(dtype)


def params(
    sampling_rate: float,
    window: int,
    step: int,
    deltas: bool = False,
    flavor: str = "pyaa",
    backend: str = "serkit",
) -> dict:
    """Every parameter of a pyaa34 extraction, for the feature store's root attributes."""
    return {
        "feature_type": "pyaa34",
        "sampling_rate": float(sampling_rate),
        "window_samples": int(window),
        "step_samples": int(step),
        "frame_length_s": int(window) / sampling_rate,
        "frame_shift_s": int(step) / sampling_rate,
        "deltas": bool(deltas),
        "flavor": flavor,
        "backend": backend,
        "num_fft": int(window) // 2,
        "sample_scale": "read_audio_file (int16 for 16-bit PCM)",
        "normalisation": "per signal: /2**15, DC removal, /(max|x| + 1e-10)",
        "pyaudioanalysis_version": PYAUDIOANALYSIS_VERSION,
        "dims": 2 * N_FEATURES if deltas else N_FEATURES,
    }


# --------------------------------------------------------------------------------------------------
# Validation: the configurations pyAudioAnalysis crashes on


def _top_semitone(sampling_rate: float, num_fft: int) -> int:
    """Semitone index of the highest bin, as ``chroma_features_init`` computes it."""
    top_freq = (num_fft * sampling_rate) / (2 * num_fft)
    return int(np.round(12.0 * np.log2(top_freq / _CHROMA_REFERENCE_HZ)))


def _mel_edges() -> np.ndarray:
    """The 42 triangle edge frequencies of pyAudioAnalysis's ``mfcc_filter_banks``."""
    n_filters = _N_LINEAR_FILTERS + _N_LOG_FILTERS
    edges = np.zeros(n_filters + 2)
    edges[:_N_LINEAR_FILTERS] = _MEL_LOW_HZ + np.arange(_N_LINEAR_FILTERS) * _MEL_LINEAR_STEP_HZ
    edges[_N_LINEAR_FILTERS:] = edges[_N_LINEAR_FILTERS - 1] * _MEL_LOG_RATIO ** np.arange(
        1, _N_LOG_FILTERS + 3
    )
    return edges


def minimum_window(sampling_rate: float) -> int:
    """The smallest window (samples) pyAudioAnalysis 0.3.14 accepts at this rate (198 at 16 kHz).

    The top bin lies at fs / 2 whatever the window, so its semitone index is a constant and
    num_fft = window // 2 must exceed it.
    """
    return 2 * (_top_semitone(sampling_rate, 1) + 1)


def check_configuration(sampling_rate: float, window: int, step: int, flavor: str = "pyaa") -> None:
    """Raise :class:`SerkitError` for settings pyAudioAnalysis 0.3.14 cannot run (instead of crashing)."""
    if flavor not in FLAVORS:
        raise SerkitError(f"unknown pyaa34 flavor {flavor!r}", hint=f"use one of {', '.join(FLAVORS)}")
    if not sampling_rate > 0:
        raise SerkitError(f"sampling rate must be positive, got {sampling_rate}")
    if int(step) < 1:
        raise SerkitError(f"pyaa34 step must be at least 1 sample, got {step}")
    window = int(window)
    ms = 1000.0 * window / sampling_rate
    if flavor == "corrected":
        if window < 2 * _N_SUB_BLOCKS:
            raise SerkitError(
                f"pyaa34 window of {window} samples ({ms:.1f} ms) is too short",
                hint=f"use at least {2 * _N_SUB_BLOCKS} samples",
            )
        return
    num_fft = window // 2
    top = _top_semitone(sampling_rate, max(num_fft, 1))
    if top >= num_fft:
        least = minimum_window(sampling_rate)
        raise SerkitError(
            f"pyaa34 window of {window} samples ({ms:.1f} ms at {sampling_rate:g} Hz) is too short for "
            f"pyAudioAnalysis 0.3.14: its chroma needs num_fft = window//2 = {num_fft} above the top "
            f"bin's semitone index {top}, and crashes otherwise",
            hint=f"use a window of at least {least} samples ({1000.0 * least / sampling_rate:.2f} ms)",
        )
    top_edge = _mel_edges()[-1]
    if math.floor(top_edge * num_fft / sampling_rate) >= num_fft:
        raise SerkitError(
            f"sampling rate {sampling_rate:g} Hz is too low for pyAudioAnalysis 0.3.14: its MFCC filter "
            f"bank reaches {top_edge:.1f} Hz on a 0..fs axis and indexes past the spectrum",
            hint=f"resample to more than {top_edge:.0f} Hz (8000 or 16000 Hz)",
        )


_checked_configuration = functools.lru_cache(maxsize=64)(check_configuration)


# --------------------------------------------------------------------------------------------------
# Per-(fs, window, flavor) constant matrices


def mfcc_filterbank(sampling_rate: float, window: int, flavor: str = "pyaa") -> np.ndarray:
    """The 40 × num_fft triangular MFCC bank (pyAudioAnalysis's ``mfcc_filter_banks``).

    ``"pyaa"``: bin k is placed at k·fs/num_fft, i.e. on a 0..fs axis (the quirk); ``"corrected"``:
    bin k is at its true frequency k·fs/window.
    """
    num_fft = int(window) // 2
    edges = _mel_edges()
    heights = 2.0 / (edges[2:] - edges[:-2])
    n_filters = len(edges) - 2
    fbank = np.zeros((n_filters, num_fft))
    if flavor == "pyaa":
        axis_bins, bin_freqs = num_fft, np.arange(num_fft) / (1.0 * num_fft) * sampling_rate
    else:
        axis_bins, bin_freqs = int(window), np.arange(num_fft) * sampling_rate / int(window)
    for i in range(n_filters):
        low, centre, high = edges[i], edges[i + 1], edges[i + 2]
        rising = np.arange(
            np.floor(low * axis_bins / sampling_rate) + 1,
            np.floor(centre * axis_bins / sampling_rate) + 1,
            dtype=int,
        )
        falling = np.arange(
            np.floor(centre * axis_bins / sampling_rate) + 1,
            np.floor(high * axis_bins / sampling_rate) + 1,
            dtype=int,
        )
        rising, falling = rising[rising < num_fft], falling[falling < num_fft]
        fbank[i][rising] = heights[i] / (centre - low) * (bin_freqs[rising] - low)
        fbank[i][falling] = heights[i] / (high - centre) * (high - bin_freqs[falling])
    return fbank


def _chroma_matrix(sampling_rate: float, num_fft: int, flavor: str) -> np.ndarray:
    """num_fft × 12 matrix M with chroma (before ÷ ΣX²) = X² @ M."""
    freqs = (np.arange(1, num_fft + 1) * sampling_rate) / (2 * num_fft)
    semitone = np.round(12.0 * np.log2(freqs / _CHROMA_REFERENCE_HZ)).astype(int)
    matrix = np.zeros((num_fft, 12))
    if flavor == "corrected":
        matrix[np.arange(num_fft), semitone % 12] = 1.0
        return matrix
    # chroma_features_init: bins per semitone, stored at the bins' own positions
    bins_per_semitone = np.zeros(num_fft)
    for value in np.unique(semitone):
        members = np.nonzero(semitone == value)
        bins_per_semitone[members] = members[0].shape
    # C[semitone] = X²: the same fancy assignment decides which bin wins each slot
    winner = np.full(num_fft, -1)
    winner[semitone] = np.arange(num_fft)
    # C /= bins_per_semitone[semitone]: slot p is divided by the entry at index semitone[p]
    divisor = bins_per_semitone[semitone]
    slots = np.nonzero(winner >= 0)[0]
    matrix[winner[slots], slots % 12] = 1.0 / divisor[slots]
    return matrix


@dataclass(frozen=True)
class _Plan:
    """Constant matrices for one (sampling rate, window, flavour), applied to the unnormalised |FFT|.

    Matrices are stored to multiply spectra from the left (features × bins), so per-frame results come
    out as rows of length n_frames.
    """

    num_fft: int
    half_fs: float  # fs / 2, the centroid / spread unit
    block: int  # spectral sub-block length, num_fft // 10
    mel_bands: tuple[tuple[slice, slice, np.ndarray], ...]  # (filters, bins, bank block ÷ num_fft)
    dct: np.ndarray  # 13 × 40 orthonormal DCT-II rows ÷ ln 10 (they multiply ln of the mel bands)
    moments: np.ndarray  # 3 × num_fft: 1, f, f² with f = (k + 1)·fs / (2·num_fft)
    chroma_map: np.ndarray  # 12 × bins: chroma (before ÷ ΣX²) = chroma_map @ X²[chroma_bins]
    chroma_bins: np.ndarray | None  # the bins chroma uses, where not all (pyaa: one per semitone)
    block_ends: np.ndarray  # 11 × 11 lower-triangular ones: cumulative sub-block sums
    window_fn: np.ndarray | None  # Hamming for the corrected flavour


def _dct_rows(n_in: int, n_out: int) -> np.ndarray:
    """The first n_out rows of the orthonormal DCT-II (scipy ``dct(type=2, norm="ortho")``)."""
    m = np.arange(n_out)[:, None]
    j = np.arange(n_in)[None, :]
    basis = np.cos(np.pi * m * (2 * j + 1) / (2.0 * n_in)) * np.sqrt(2.0 / n_in)
    basis[0] = np.sqrt(1.0 / n_in)
    return basis


def _mel_bands(bank: np.ndarray, n_bands: int = 4) -> tuple[tuple[slice, slice, np.ndarray], ...]:
    """The triangular bank cut into bands of consecutive filters, each with the bins it touches.

    The bank is banded (each bin feeds at most two filters), so a few small products over the bins
    each band touches do about a third of the work of one 40 × num_fft product.
    """
    bands = []
    for band in range(n_bands):
        filters = slice(band * len(bank) // n_bands, (band + 1) * len(bank) // n_bands)
        used = np.nonzero(bank[filters].any(axis=0))[0]
        bins = slice(int(used[0]), int(used[-1]) + 1) if used.size else slice(0, 1)
        bands.append((filters, bins, np.ascontiguousarray(bank[filters, bins])))
    return tuple(bands)


@functools.lru_cache(maxsize=16)
def _plan(sampling_rate: float, window: int, flavor: str) -> _Plan:
    num_fft = window // 2
    bank = mfcc_filterbank(sampling_rate, window, flavor)
    bin_freqs = np.arange(1, num_fft + 1) * (sampling_rate / (2.0 * num_fft))
    block = num_fft // _N_SUB_BLOCKS
    chroma = _chroma_matrix(sampling_rate, num_fft, flavor)
    used = np.nonzero(chroma.any(axis=1))[0]
    chroma_bins = used if 2 * len(used) < num_fft else None  # gathering pays when most bins are unused
    return _Plan(
        num_fft=num_fft,
        half_fs=sampling_rate / 2.0,
        block=block,
        mel_bands=_mel_bands(bank / num_fft),
        dct=_dct_rows(bank.shape[0], _N_MFCC) / math.log(10.0),
        moments=np.stack([np.ones(num_fft), bin_freqs, bin_freqs**2]),
        chroma_map=np.ascontiguousarray(chroma[chroma_bins].T if chroma_bins is not None else chroma.T),
        chroma_bins=chroma_bins,
        block_ends=np.tril(np.ones((_N_SUB_BLOCKS + 1, _N_SUB_BLOCKS + 1))),
        window_fn=np.hamming(window) if flavor == "corrected" else None,
    )


# --------------------------------------------------------------------------------------------------
# Computation.  Frames are processed in chunks that stay in cache.  Per frame the chunk loop keeps a
# few sums (sub-block energies, crossing counts, three matrix products of the spectrum); the features
# are then formed from those for all frames at once, one contiguous row per quantity.

_CHUNK_SAMPLES = 2**17  # frames per chunk ≈ this / window


@dataclass(frozen=True)
class _Normalisation:
    """x = (source − level) / divisor, element for element equal to pyAudioAnalysis's x.

    pyAudioAnalysis computes (source·2**-15 − mean) / d; with level = mean·2**15 and divisor = d·2**15
    (exact: powers of two) both roundings land on the same values, one multiplication fewer.  x must
    be bit-identical: where a frame's spectrum is exactly zero in exact arithmetic (digital silence,
    a tone periodic in the frame) the FFT's rounding noise reaches log10(X·F + eps), and an x one ulp
    off moves the MFCC by up to 1e-4.
    """

    source: np.ndarray
    level: float
    divisor: float
    has_zeros: bool  # whether some x is exactly 0 (then zcr needs the three-valued sign)


def _integer_sum(signal: np.ndarray) -> int:
    """Exact sum of 8/16-bit samples, with int32 partial sums of 2**15 samples."""
    head = len(signal) - len(signal) % 2**15
    total = int(signal[head:].sum(dtype=np.int64))
    if head:
        total += int(signal[:head].reshape(-1, 2**15).sum(axis=1, dtype=np.int32).sum(dtype=np.int64))
    return total


def _normalisation(signal: np.ndarray) -> _Normalisation:
    """pyAudioAnalysis's preparation: float64, ÷ 2**15, minus the mean, ÷ (max|x| + 1e-10).

    For 8/16-bit integer samples every partial sum of x / 2**15 is exact in float64, so the mean is
    the exact integer sum (any summation order gives pyAudioAnalysis's value).
    """
    if signal.dtype in (np.int8, np.uint8, np.int16):
        scale = 2.0**-15
        mean = float(_integer_sum(signal)) * scale / len(signal)
        high, low = float(signal.max()) * scale, float(signal.min()) * scale
        level = mean / scale  # x = 0 exactly where the sample equals the mean
        has_zeros = level == round(level) and bool(np.any(signal == int(level)))
        source = signal
    else:
        scale = 1.0
        source = np.multiply(signal, 2.0**-15, dtype=np.float64)  # exact: = signal / 2**15
        mean = float(source.mean())
        high, low = float(source.max()), float(source.min())
        has_zeros = bool(np.any(source == mean))
    # max |x - mean| without forming x - mean: rounding is monotone, so the extremes map to the extremes
    divisor = max(high - mean, mean - low) + 1e-10
    return _Normalisation(source, mean / scale, divisor / scale, has_zeros)


def _strided(v: np.ndarray, shape: tuple[int, ...], steps: tuple[int, ...], offset: int = 0) -> np.ndarray:
    """View of the contiguous 1-D array v: ``shape``, steps and offset in elements (no copy)."""
    item = v.itemsize
    return np.ndarray(shape, v.dtype, v, offset * item, tuple(step * item for step in steps))


class _Sums:
    """Per-frame sums gathered by the chunk loop, one row of n_frames per quantity.

    Time-domain sums are kept per cell of ``grain`` samples (grain divides the step and the
    sub-block) and combined per frame after the loop.
    """

    def __init__(self, n_frames: int, window: int, step: int, plan: _Plan) -> None:
        self.window, self.step = window, step
        self.block = window // _N_SUB_BLOCKS  # time-domain sub-block
        self.tail = window - _N_SUB_BLOCKS * self.block  # samples after the 10 sub-blocks
        self.grain = math.gcd(step, self.block)
        self.cells = ((n_frames - 1) * step + _N_SUB_BLOCKS * self.block) // self.grain
        self.energy_cells = np.empty(self.cells)  # Σx² per cell
        self.change_cells = np.empty(self.cells)  # Σ|Δ sign x| / 2 per cell
        self.energy_tail = np.zeros(n_frames)  # Σx² over the tail samples of each frame
        self.crossing_fix = np.empty(n_frames)  # tail sign changes − the one just past the frame
        self.chroma = np.empty((12, n_frames))  # chroma_map @ |FFT|²
        self.blocks = np.zeros((_N_SUB_BLOCKS + 1, n_frames))  # Σ|FFT|² over the sub-blocks and the tail
        self.moments = np.empty((3, n_frames))  # Σ|FFT|, Σf·|FFT|, Σf²·|FFT|
        self.mel = np.empty((_N_LINEAR_FILTERS + _N_LOG_FILTERS, n_frames))  # X·Fᵀ
        self.cross = np.zeros(n_frames)  # |FFT_t| · |FFT_{t-1}|
        self.ends = np.empty((_N_SUB_BLOCKS + 1, n_frames))  # cumulative sub-block power
        self.first_block = np.empty(n_frames, dtype=np.intp)  # sub-block holding the rolloff bin
        self.rolloff_bins = np.zeros((_padded_rows(plan.block), n_frames))  # that sub-block's power

    def energy_parts(self) -> np.ndarray:
        """Σx² over each of the 10 sub-blocks of every frame (10 × n_frames)."""
        n_frames = len(self.crossing_fix)
        per_block, hop = self.block // self.grain, self.step // self.grain
        parts = _strided(self.energy_cells, (_N_SUB_BLOCKS, n_frames, per_block), (per_block, hop, 1))
        return parts[:, :, 0].copy() if per_block == 1 else parts.sum(axis=2)

    def crossings(self) -> np.ndarray:
        """Σ|Δ sign x| / 2 over the window − 1 differences of every frame."""
        n_frames = len(self.crossing_fix)
        hop, span = self.step // self.grain, _N_SUB_BLOCKS * self.block // self.grain
        running = np.empty(self.cells + 1)
        running[0] = 0.0
        np.cumsum(self.change_cells, out=running[1:])  # (half-)integers: exact
        counts = running[span : span + n_frames * hop : hop] - running[: n_frames * hop : hop]
        counts += self.crossing_fix
        return counts


class _Workspace:
    """Buffers and index tables reused by every chunk of one call."""

    def __init__(self, chunk: int, window: int, step: int, plan: _Plan) -> None:
        samples = (chunk - 1) * step + window + 1
        self.x = np.empty(samples)
        self.positive = np.empty(samples, dtype=bool)
        self.negative = np.empty(samples, dtype=bool)
        self.changes = np.empty(samples, dtype=np.float32)
        self.changes2 = np.empty(samples, dtype=np.float32)
        self.bins = window // 2 + 1  # rfft bins; the last is not one of pyAudioAnalysis's num_fft
        self.spectrum = np.empty(chunk * self.bins, dtype=np.complex128)
        self.power = np.empty(chunk * self.bins)
        self.last_mag = np.empty(plan.num_fft)
        self.chroma_power = np.empty(0 if plan.chroma_bins is None else chunk * len(plan.chroma_bins))
        self.windowed = np.empty((chunk, window)) if plan.window_fn is not None else None
        self._gather: dict[int, np.ndarray] = {}
        self.ones_block = np.ones((1, plan.block))
        self.ones_grain = np.ones(math.gcd(step, window // _N_SUB_BLOCKS), dtype=np.float32)
        self._block = plan.block

    def spectra(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Contiguous bins × n buffers for the complex spectrum, its magnitude and its power.

        The magnitude takes the spectrum's own memory (written once the spectrum is used up), so
        the chunk touches one buffer fewer.
        """
        size = self.bins * n
        shape = (self.bins, n)
        return (
            self.spectrum[:size].reshape(shape),
            self.spectrum[:size].view(np.float64)[:size].reshape(shape),
            self.power[:size].reshape(shape),
        )

    def gather_base(self, n: int) -> np.ndarray:
        """Flat indices of bins 0..block-1 of each of n frames in a bins × n array (block × n)."""
        if n not in self._gather:
            self._gather[n] = np.arange(self._block)[:, None] * n + np.arange(n)
        return self._gather[n]


def _time_chunk(
    x: np.ndarray, rows: slice, last: bool, has_zeros: bool, sums: _Sums, work: _Workspace
) -> None:
    """Cell sums of x² and of sign changes for this chunk (x starts at its first frame)."""
    n = rows.stop - rows.start
    size = len(x)
    step, grain, tail = sums.step, sums.grain, sums.tail
    first_cell = rows.start * step // grain
    # this chunk's own cells; the ones under its last frame's overlap belong to the next chunk
    cells = sums.cells - first_cell if last else n * step // grain
    own = slice(first_cell, first_cell + cells)

    if grain > 1:
        cell = x[: cells * grain].reshape(cells, grain)
        np.einsum("ij,ij->i", cell, cell, out=sums.energy_cells[own])
    else:
        np.square(x[:cells], out=sums.energy_cells[own])

    # |Δ sign x| / 2: a change of "x > 0" is a full crossing unless some x is exactly 0, where
    # + → 0 → − counts two halves
    changes = work.changes[:size]
    positive = np.greater(x, 0.0, out=work.positive[:size])
    np.not_equal(positive[1:], positive[:-1], out=changes[:-1], casting="unsafe")
    if has_zeros:
        negative = np.less(x, 0.0, out=work.negative[:size])
        other = np.not_equal(negative[1:], negative[:-1], out=work.changes2[: size - 1], casting="unsafe")
        changes[:-1] += other
        changes[:-1] *= 0.5
    changes[-1] = 0.0
    if grain > 1:
        sums.change_cells[own] = changes[: cells * grain].reshape(cells, grain) @ work.ones_grain
    else:
        sums.change_cells[own] = changes[:cells]

    fix = sums.crossing_fix[rows]
    np.negative(changes[sums.window - 1 :: step][:n], out=fix)  # a frame has window - 1 differences
    if tail:
        offset = _N_SUB_BLOCKS * sums.block
        squares = _strided(x, (n, tail), (step, 1), offset)
        sums.energy_tail[rows] = np.einsum("ij,ij->i", squares, squares)
        fix += _strided(changes, (n, tail), (step, 1), offset).sum(axis=1)


def _spectral_chunk(frames: np.ndarray, rows: slice, plan: _Plan, sums: _Sums, work: _Workspace) -> None:
    """Matrix products of the magnitude and power spectra of this chunk's frames.

    Spectra are laid out bins × frames (the FFT runs down the columns of ``frames.T``), so the
    constant matrices multiply from the left and every result row is contiguous.
    """
    n = frames.shape[0]
    num_fft = plan.num_fft
    if plan.window_fn is not None:
        frames = np.multiply(frames, plan.window_fn, out=work.windowed[:n])
    spectrum, full_mag, full_power = work.spectra(n)
    np.fft.rfft(frames.T, axis=0, out=spectrum)
    # |FFT|² = re² + im² and |FFT| its square root: within an ulp of |FFT| by hypot, much cheaper
    squares = np.square(spectrum.view(np.float64), out=spectrum.view(np.float64))
    np.add(squares[:, 0::2], squares[:, 1::2], out=full_power)
    np.sqrt(full_power, out=full_mag)
    mag, power = full_mag[:num_fft], full_power[:num_fft]

    if plan.chroma_bins is None:
        np.matmul(plan.chroma_map, power, out=sums.chroma[:, rows])
    else:
        used = work.chroma_power[: len(plan.chroma_bins) * n].reshape(-1, n)
        np.take(power, plan.chroma_bins, axis=0, out=used, mode="clip")  # clip: no buffered out
        np.matmul(plan.chroma_map, used, out=sums.chroma[:, rows])
    block, blocked = plan.block, _N_SUB_BLOCKS * plan.block
    by_block = power[:blocked].reshape(_N_SUB_BLOCKS, block, n)
    np.matmul(work.ones_block, by_block, out=sums.blocks[:-1, None, rows])
    if blocked < num_fft:
        np.matmul(work.ones_block[:, : num_fft - blocked], power[blocked:], out=sums.blocks[-1:, rows])
    np.matmul(plan.moments, mag, out=sums.moments[:, rows])
    for filters, bins, bank in plan.mel_bands:
        np.matmul(bank, mag[bins], out=sums.mel[filters, rows])
    sums.cross[rows.start + 1 : rows.stop] = np.einsum("ij,ij->j", mag[:, 1:], mag[:, :-1])
    if rows.start > 0:
        sums.cross[rows.start] = mag[:, 0] @ work.last_mag
    work.last_mag[:] = mag[:, -1]

    # rolloff: find the sub-block where cumsum crosses the threshold; keep its bins for later.  Past
    # the last bin the gather reads the extra rfft bin or is clipped: it can only matter if rounding
    # hid the crossing, and the index is then clipped to the last bin.
    ends = np.matmul(plan.block_ends, sums.blocks[:, rows], out=sums.ends[:, rows])
    threshold = _ROLLOFF_FRACTION * ends[-1] - num_fft * num_fft * EPS
    first_block = (ends <= threshold).sum(axis=0)
    sums.first_block[rows] = first_block
    flat = work.gather_base(n) + first_block * (plan.block * n)
    sums.rolloff_bins[: plan.block, rows] = np.take(full_power.ravel(), flat, mode="clip")


def _entropy(parts: np.ndarray, total: np.ndarray) -> np.ndarray:
    """−Σ e·log2(e + eps) over the rows of ``parts`` (sub-blocks × frames), e = parts / total."""
    shares = parts * (1.0 / total)
    logs = shares + EPS
    np.log(logs, out=logs)  # log2 = ln / ln 2, applied once per frame (ln is cheaper)
    return np.einsum("ij,ij->j", shares, logs) * (-1.0 / math.log(2.0))


def _padded_rows(rows: int) -> int:
    """Rows rounded up to a whole number of groups of ⌈√rows⌉ (see :func:`_leading_rows_below`)."""
    group = math.isqrt(rows - 1) + 1 if rows > 1 else 1
    return -(-rows // group) * group


def _leading_rows_below(values: np.ndarray, start: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Per column: how many leading rows keep ``start`` + their running sum ≤ ``threshold``.

    ``values`` ≥ 0, so the running sum only grows.  Its rows (zero-padded by :func:`_padded_rows`)
    form groups of ⌈√rows⌉: the crossing group is found first, then the row inside it.
    """
    rows, n = values.shape
    group = math.isqrt(rows - 1) + 1 if rows > 1 else 1
    groups = rows // group
    if rows <= 32:  # a plain pass over the rows is cheaper than the two levels
        running = start.copy()
        count = np.zeros(n, dtype=np.intp)
        for row in values:
            running += row
            count += running <= threshold
        return count
    running = start.copy()
    before = start.copy()  # the running sum before the crossing group
    full_groups = np.zeros(n, dtype=np.intp)
    for group_sum in np.matmul(np.ones((1, group)), values.reshape(groups, group, n))[:, 0]:
        running += group_sum
        below = running <= threshold
        full_groups += below
        np.copyto(before, running, where=below)
    first_row = np.minimum(full_groups, groups - 1) * group
    flat = (first_row * n + np.arange(n)) + (np.arange(group) * n)[:, None]
    count = full_groups * group
    for row in np.take(values, flat):
        before += row
        count += before <= threshold
    return count


def _features(sums: _Sums, plan: _Plan, window: int, out: np.ndarray) -> None:
    """All 34 rows (features × frames) from the per-frame sums.

    The spectral sums are of |FFT|; pyAudioAnalysis's X is |FFT| / num_fft, so its eps terms are
    rescaled instead of the spectra (ratios are unchanged; differences are below 1e-15).
    """
    num_fft = plan.num_fft
    eps_power = num_fft * num_fft * EPS  # eps on the X² scale, in |FFT|² units

    # 0–2: zcr, energy, energy entropy
    energy_parts = sums.energy_parts()
    energy = energy_parts.sum(axis=0)
    energy += sums.energy_tail
    np.divide(sums.crossings(), window - 1.0, out=out[0])
    np.divide(energy, np.float64(window), out=out[1])
    energy += EPS
    out[2] = _entropy(energy_parts, energy)

    # 3, 4: centroid and spread of X / max X; max X cancels, its eps term is below one ulp
    mag_sum, f_sum, f2_sum = sums.moments
    silent = mag_sum == 0
    safe_sum = np.where(silent, 1.0, mag_sum)
    centroid = f_sum / safe_sum
    centroid[silent] = 0.0
    spread2 = centroid * mag_sum
    spread2 -= 2.0 * f_sum
    spread2 *= centroid
    spread2 += f2_sum
    spread2 /= safe_sum
    np.maximum(spread2, 0.0, out=spread2)
    np.divide(centroid, plan.half_fs, out=out[3])
    np.sqrt(spread2, out=spread2)
    np.divide(spread2, plan.half_fs, out=out[4])

    # 5: spectral entropy of the 10 sub-blocks
    total = sums.ends[-1]
    out[5] = _entropy(sums.blocks[:_N_SUB_BLOCKS], total + eps_power)

    # 6: flux Σ(X_t/u_t − X_{t-1}/u_{t-1})² = E_t/u_t² + E_{t-1}/u_{t-1}² − 2 X_t·X_{t-1}/(u_t u_{t-1})
    norm = mag_sum + eps_power  # = num_fft² · Σ(X + eps)
    scaled = total / (norm * norm)
    flux = out[6, 1:]
    np.divide(sums.cross[1:], norm[1:] * norm[:-1], out=flux)
    flux *= -2.0
    flux += scaled[1:]
    flux += scaled[:-1]
    np.maximum(flux, 0.0, out=flux)
    out[6, 0] = 0.0

    # 7: rolloff, the first bin where cumsum + eps > 0.9 total, as a fraction of num_fft
    first_block = sums.first_block
    before = sums.ends[np.maximum(first_block - 1, 0), np.arange(len(first_block))]
    before[first_block == 0] = 0.0
    offset = _leading_rows_below(sums.rolloff_bins, before, _ROLLOFF_FRACTION * total - eps_power)
    # block sums said the crossing is in this block: if rounding hid it from the running sum, it is
    # at the block's last bin
    index = np.minimum(first_block * plan.block + np.minimum(offset, plan.block - 1), num_fft - 1)
    index[first_block > _N_SUB_BLOCKS] = 0
    np.divide(index, float(num_fft), out=out[7])

    # 8–20: MFCC
    mel = sums.mel
    mel += EPS
    np.log(mel, out=mel)  # log10 = ln / ln 10, folded into the DCT rows (ln is much cheaper)
    np.matmul(plan.dct, mel, out=out[8:21])

    # 21–33: chroma and its standard deviation
    chroma = out[21:33]
    np.multiply(sums.chroma, 1.0 / np.where(total == 0, EPS, total), out=chroma)
    centred = chroma - chroma.sum(axis=0) / 12.0
    np.sqrt(np.einsum("ij,ij->j", centred, centred) / 12.0, out=out[33])


def _n_frames(n_samples: int, window: int, step: int) -> int:
    return (n_samples - window) // step + 1 if n_samples >= window else 0


def _as_mono(signal: np.ndarray) -> np.ndarray:
    signal = np.asarray(signal)
    if signal.ndim == 2 and signal.shape[1] == 1:
        signal = signal[:, 0]  # read_audio_file flattens single-channel 2-D arrays too
    if signal.ndim != 1:
        raise SerkitError(
            f"pyaa34 needs mono audio, got samples of shape {signal.shape}",
            hint="mix the channels down first (pyAudioAnalysis: audioBasicIO.stereo_to_mono)",
        )
    return signal


def short_term_features(
    signal: np.ndarray,
    sampling_rate: float,
    window: int,
    step: int,
    deltas: bool = False,
    *,
    flavor: str = "pyaa",
) -> np.ndarray:
    """pyAudioAnalysis 0.3.14 ``feature_extraction(signal, fs, window, step, deltas)``, transposed.

    ``signal``: mono samples on the ``read_audio_file`` scale (int16 values for 16-bit PCM; see the
    module docstring).  ``window`` and ``step`` in samples (see :func:`seconds_to_samples`).
    Returns a C-contiguous float64 array of frames × 34 (frames × 68 with ``deltas``), columns named
    by :func:`feature_names`.  ``flavor="corrected"`` fixes three quirks (module docstring).
    Raises :class:`SerkitError` where pyAudioAnalysis would crash.
    """
    signal = _as_mono(signal)
    window, step = int(window), int(step)
    _checked_configuration(sampling_rate, window, step, flavor)
    n_frames = _n_frames(len(signal), window, step)
    if n_frames == 0:
        raise SerkitError(
            f"signal of {len(signal)} samples is shorter than one pyaa34 window ({window} samples)",
            hint="drop this segment or use a shorter window",
        )
    plan = _plan(sampling_rate, window, flavor)
    norm = _normalisation(signal)
    sums = _Sums(n_frames, window, step, plan)
    chunk = min(n_frames, max(8, _CHUNK_SAMPLES // window))
    work = _Workspace(chunk, window, step, plan)
    for first in range(0, n_frames, chunk):
        rows = slice(first, min(n_frames, first + chunk))
        # one sample past the last frame, where there is one: the sign change into it is counted
        # in the cell sums of the next chunk and must be known here too
        start, stop = first * step, min((rows.stop - 1) * step + window + 1, len(signal))
        x = np.subtract(norm.source[start:stop], norm.level, dtype=np.float64, out=work.x[: stop - start])
        x /= norm.divisor
        _time_chunk(x, rows, rows.stop == n_frames, norm.has_zeros, sums, work)
        _spectral_chunk(_strided(x, (rows.stop - first, window), (step, 1)), rows, plan, sums, work)

    features = np.empty((2 * N_FEATURES if deltas else N_FEATURES, n_frames))
    _features(sums, plan, window, features)
    if deltas:
        features[N_FEATURES:, 0] = 0.0
        np.subtract(features[:N_FEATURES, 1:], features[:N_FEATURES, :-1], out=features[N_FEATURES:, 1:])
    return np.ascontiguousarray(features.T)


def short_term_features_reference(
    signal: np.ndarray, sampling_rate: float, window: int, step: int, deltas: bool = False
) -> np.ndarray:
    """The same array, computed by pyAudioAnalysis 0.3.14 itself (``--backend pyaudioanalysis``).

    Slow (a Python loop over frames).  Raises :class:`SerkitError` if pyAudioAnalysis is missing or is
    another version, and for the configurations it would crash on.
    """
    try:
        from importlib.metadata import version

        from pyAudioAnalysis import ShortTermFeatures
    except ImportError as exc:
        raise SerkitError(
            f"the pyaudioanalysis backend needs pyAudioAnalysis {PYAUDIOANALYSIS_VERSION} ({exc})",
            hint=f"pip install 'pyAudioAnalysis=={PYAUDIOANALYSIS_VERSION}' matplotlib tqdm, "
            "or use the default backend (same features)",
        ) from exc
    installed = version("pyAudioAnalysis")
    if installed != PYAUDIOANALYSIS_VERSION:
        raise SerkitError(
            f"pyAudioAnalysis {installed} is installed; the pyaa34 features are those of "
            f"{PYAUDIOANALYSIS_VERSION}",
            hint=f"pip install 'pyAudioAnalysis=={PYAUDIOANALYSIS_VERSION}'",
        )
    signal = _as_mono(signal)
    window, step = int(window), int(step)
    check_configuration(sampling_rate, window, step)
    if _n_frames(len(signal), window, step) == 0:
        raise SerkitError(
            f"signal of {len(signal)} samples is shorter than one pyaa34 window ({window} samples)",
            hint="drop this segment or use a shorter window",
        )
    features, _ = ShortTermFeatures.feature_extraction(signal, sampling_rate, window, step, deltas=deltas)
    return np.ascontiguousarray(features.T, dtype=np.float64)

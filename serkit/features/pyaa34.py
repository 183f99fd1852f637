"""The 34 short-term features of pyAudioAnalysis 0.3.14, bit-faithful and vectorised over all frames.

:func:`short_term_features` reproduces ``pyAudioAnalysis.ShortTermFeatures.feature_extraction(signal,
sampling_rate, window, step, deltas)`` (0.3.14, ``methods.md`` §G) to within 1e-9 absolute, with every
quirk of that code, but computes all frames at once in float64 (one batched real FFT, a few matrix
products).  It is the acoustic input of paper 002 (100/100 ms) and paper 004 (20/10 ms).

Layout: pyAudioAnalysis returns *features × frames*; serkit's feature store holds *frames × dims*, so
every function here returns the transpose, **frames × 34** (frames × 68 with deltas), float64.

Sample scale: pass the samples on the integer scale that ``audioBasicIO.read_audio_file`` gives
(``scipy.io.wavfile``: int16 values for 16-bit PCM).  pyAudioAnalysis divides by 2**15 and then by
(peak + 1e-10); the 1e-10 makes the result depend (at ~1e-6 relative) on the input scale, so a float
signal in [-1, 1] is *not* equivalent.  :func:`to_read_audio_file_scale` converts soundfile's float
samples to that scale.  Each call normalises its own signal (DC removal, peak normalisation), exactly as
pyAudioAnalysis called on that file or that cut would.

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
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import as_strided

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

# soundfile subtype -> the factor that maps soundfile's float samples to what scipy.io.wavfile (and
# hence pyAudioAnalysis's read_audio_file) returns: int16 for 16-bit, left-justified int32 for 24/32-bit.
READ_AUDIO_FILE_SCALE = {
    "PCM_U8": 2.0**7,
    "PCM_16": 2.0**15,
    "PCM_24": 2.0**31,
    "PCM_32": 2.0**31,
    "FLOAT": 1.0,
    "DOUBLE": 1.0,
}


def feature_names(deltas: bool = False) -> list[str]:
    """The row names pyAudioAnalysis gives, in order (``"delta " + name`` for the 34 delta rows)."""
    names = list(FEATURE_NAMES)
    return names + [f"delta {name}" for name in names] if deltas else names


def seconds_to_samples(seconds: float, sampling_rate: float) -> int:
    """Window or step in samples, rounded as pyAudioAnalysis's own callers do (``round(s * fs)``)."""
    return int(round(seconds * sampling_rate))


def to_read_audio_file_scale(samples: np.ndarray, subtype: str = "PCM_16") -> np.ndarray:
    """Float samples in [-1, 1] (as soundfile reads them) → the scale ``read_audio_file`` would give.

    ``subtype`` is the file's soundfile subtype (``soundfile.info(path).subtype``).  For 16-bit PCM the
    result is exactly the int16 values, as float64.  Integer input is returned as float64 unchanged.
    """
    samples = np.asarray(samples)
    if np.issubdtype(samples.dtype, np.integer):
        return samples.astype(np.float64)
    try:
        scale = READ_AUDIO_FILE_SCALE[subtype]
    except KeyError:
        raise SerkitError(
            f"no pyAudioAnalysis sample scale known for audio subtype {subtype!r}",
            hint=f"convert the audio to one of {', '.join(READ_AUDIO_FILE_SCALE)} (16-bit PCM is usual)",
        ) from None
    return samples.astype(np.float64) * scale


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
    """The smallest window (samples) pyAudioAnalysis 0.3.14 accepts at this rate (198 at 16 kHz)."""
    window = 2 * (_top_semitone(sampling_rate, 1) + 1)
    while window > 2 and _top_semitone(sampling_rate, (window - 1) // 2) < (window - 1) // 2:
        window -= 1
    while _top_semitone(sampling_rate, window // 2) >= window // 2:
        window += 1
    return window


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
    """Constant matrices for one (sampling rate, window, flavour); spectra are unnormalised |FFT|."""

    num_fft: int
    half_fs: float  # fs / 2, the centroid / spread unit
    block: int  # spectral sub-block length, num_fft // 10
    mel_bins: int  # the MFCC bank is zero from this bin on
    mel_bank_t: np.ndarray  # mel_bins × 40, ÷ num_fft (pyAudioAnalysis's X is |FFT| / num_fft)
    dct: np.ndarray  # 40 × 13 orthonormal DCT-II
    moments: np.ndarray  # num_fft × 3: 1, f, f² with f = (k + 1)·fs / (2·num_fft)
    power_map: np.ndarray  # num_fft × 23: chroma (12) | 10 entropy sub-blocks | the tail bins
    block_ends: np.ndarray  # 11 × 11 upper-triangular ones: cumulative sub-block sums
    window_fn: np.ndarray | None  # Hamming for the corrected flavour


def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Columns of the orthonormal DCT-II (scipy ``dct(type=2, norm="ortho")``), first n_out."""
    j = np.arange(n_in)[:, None]
    m = np.arange(n_out)[None, :]
    basis = np.cos(np.pi * m * (2 * j + 1) / (2.0 * n_in)) * np.sqrt(2.0 / n_in)
    basis[:, 0] = np.sqrt(1.0 / n_in)
    return basis


@functools.lru_cache(maxsize=16)
def _plan(sampling_rate: float, window: int, flavor: str) -> _Plan:
    num_fft = window // 2
    bank = mfcc_filterbank(sampling_rate, window, flavor)
    used = np.nonzero(bank.any(axis=0))[0]
    mel_bins = int(used[-1]) + 1 if used.size else 1
    bin_freqs = np.arange(1, num_fft + 1) * (sampling_rate / (2.0 * num_fft))
    block = num_fft // _N_SUB_BLOCKS
    power_map = np.zeros((num_fft, 12 + _N_SUB_BLOCKS + 1))
    power_map[:, :12] = _chroma_matrix(sampling_rate, num_fft, flavor)
    for k in range(_N_SUB_BLOCKS + 1):
        power_map[k * block : (k + 1) * block if k < _N_SUB_BLOCKS else num_fft, 12 + k] = 1.0
    return _Plan(
        num_fft=num_fft,
        half_fs=sampling_rate / 2.0,
        block=block,
        mel_bins=mel_bins,
        mel_bank_t=np.ascontiguousarray(bank[:, :mel_bins].T) / num_fft,
        dct=_dct_matrix(bank.shape[0], _N_MFCC),
        moments=np.stack([np.ones(num_fft), bin_freqs, bin_freqs**2], axis=1),
        power_map=power_map,
        block_ends=np.triu(np.ones((_N_SUB_BLOCKS + 1, _N_SUB_BLOCKS + 1))),
        window_fn=np.hamming(window) if flavor == "corrected" else None,
    )


# --------------------------------------------------------------------------------------------------
# Computation.  Frames are processed in chunks small enough to stay in cache; per frame the chunk loop
# keeps only a few sums (a 23-column and a 43-column matrix product of the spectrum), and the features
# are formed from those for all frames at once.

_CHUNK_SAMPLES = 2**17  # frames per chunk ≈ this / window


@dataclass(frozen=True)
class _Normalisation:
    """x = (source · scale − mean) / divisor, element for element as pyAudioAnalysis computes it."""

    source: np.ndarray
    scale: float
    mean: float
    divisor: float


def _normalisation(signal: np.ndarray) -> _Normalisation:
    """pyAudioAnalysis's preparation: float64, ÷ 2**15, minus the mean, ÷ (max|x| + 1e-10).

    For 8/16-bit integer samples every partial sum of x / 2**15 is exact in float64, so the mean is
    the exact integer sum (any summation order gives pyAudioAnalysis's value) and x need not be stored.
    """
    if signal.dtype in (np.int8, np.uint8, np.int16, np.uint16):
        scale = 2.0**-15
        mean = float(np.sum(signal, dtype=np.int64)) * scale / len(signal)
        high, low = float(signal.max()) * scale, float(signal.min()) * scale
        source = signal
    else:
        scale = 1.0
        source = np.multiply(signal, 2.0**-15, dtype=np.float64)  # exact: = signal / 2**15
        mean = float(source.mean())
        high, low = float(source.max()), float(source.min())
    # max |x - mean| without forming x - mean: rounding is monotone, so the extremes map to the extremes
    peak = max(high - mean, mean - low)
    return _Normalisation(source, scale, mean, peak + 1e-10)


def _frame_view(v: np.ndarray, n_frames: int, length: int, step: int, offset: int = 0) -> np.ndarray:
    """Read-only n_frames × length view of v[offset + i·step + j]."""
    item = v.strides[0]
    return as_strided(v[offset:], (n_frames, length), (step * item, item), writeable=False)


def _sub_block_sums(v: np.ndarray, n_frames: int, step: int, block: int) -> np.ndarray:
    """Sums of v over the 10 contiguous sub-blocks [i·step + k·block, + block) of every frame."""
    grain = math.gcd(step, block)
    if grain > 1:  # sum on a grid of `grain` samples once, then combine grid cells
        cells = ((n_frames - 1) * step + _N_SUB_BLOCKS * block) // grain
        v = v[: cells * grain].reshape(cells, grain) @ np.ones(grain)
    per_block = block // grain
    item = v.strides[0]
    view = as_strided(
        v,
        (n_frames, _N_SUB_BLOCKS, per_block),
        (step // grain * item, per_block * item, item),
        writeable=False,
    )
    return view[:, :, 0] if per_block == 1 else view.sum(axis=2)


def _entropy(parts: np.ndarray, total: np.ndarray) -> np.ndarray:
    """−Σ e·log2(e + eps) with e = parts / total, per row."""
    shares = parts / total[:, None]
    return -np.einsum("ij,ij->i", shares, np.log2(shares + EPS))


def _time_domain(x: np.ndarray, n_frames: int, window: int, step: int, out: np.ndarray) -> None:
    """Rows 0–2 (zcr, energy, energy entropy) of the n_frames frames starting at x[0]."""
    block = window // _N_SUB_BLOCKS
    tail = window - _N_SUB_BLOCKS * block
    squares = x * x
    crossings = np.sign(x)  # becomes |Δ sign|, with a 0 after the last sample
    np.subtract(crossings[1:], crossings[:-1], out=crossings[:-1])
    np.abs(crossings, out=crossings)
    crossings[-1] = 0.0

    energy_parts = _sub_block_sums(squares, n_frames, step, block)
    energy = energy_parts.sum(axis=1)
    crossing_count = _sub_block_sums(crossings, n_frames, step, block).sum(axis=1)
    if tail:
        offset = _N_SUB_BLOCKS * block
        energy += _frame_view(squares, n_frames, tail, step, offset).sum(axis=1)
        crossing_count += _frame_view(crossings, n_frames, tail, step, offset).sum(axis=1)
    crossing_count -= crossings[window - 1 :: step][:n_frames]  # a frame has window - 1 differences

    out[:, 0] = crossing_count / 2 / (window - 1.0)
    out[:, 1] = energy / np.float64(window)
    out[:, 2] = _entropy(energy_parts, energy + EPS)


class _SpectralSums:
    """What the chunk loop keeps per frame of the magnitude spectrum X and power X² (unnormalised)."""

    def __init__(self, n_frames: int, plan: _Plan) -> None:
        self.power = np.empty((n_frames, plan.power_map.shape[1]))  # chroma | sub-blocks | tail
        self.moments = np.empty((n_frames, 3))  # ΣX, Σf·X, Σf²·X
        self.mel = np.empty((n_frames, plan.mel_bank_t.shape[1]))  # X·Fᵀ (÷ num_fft)
        self.cross = np.zeros(n_frames)  # X_t · X_{t-1}
        self.ends = np.empty((n_frames, _N_SUB_BLOCKS + 1))  # cumulative sub-block power
        self.first_block = np.empty(n_frames, dtype=np.intp)  # sub-block holding the rolloff bin
        self.rolloff_bins = np.empty((plan.block, n_frames))  # that sub-block's power, bin by bin


def _spectral_chunk(frames: np.ndarray, first: int, plan: _Plan, sums: _SpectralSums, work: dict) -> None:
    """Accumulate the spectral sums of ``frames`` (frame indices first, first + 1, ...)."""
    n = frames.shape[0]
    num_fft, block = plan.num_fft, plan.block
    rows = slice(first, first + n)
    if plan.window_fn is not None:
        frames = np.multiply(frames, plan.window_fn, out=work["windowed"][:n])
    spectrum = np.fft.rfft(frames, axis=1, out=work["spectrum"][:n]).view(np.float64)
    np.square(spectrum, out=spectrum)
    power = np.add(spectrum[:, 0 : 2 * num_fft : 2], spectrum[:, 1 : 2 * num_fft : 2], out=work["power"][:n])
    mag = np.sqrt(power, out=work["mag"][:n])

    np.matmul(power, plan.power_map, out=sums.power[rows])
    np.matmul(mag, plan.moments, out=sums.moments[rows])
    np.matmul(mag[:, : plan.mel_bins], plan.mel_bank_t, out=sums.mel[rows])
    sums.cross[first + 1 : first + n] = np.einsum("ij,ij->i", mag[1:], mag[:-1])
    if first > 0:
        sums.cross[first] = mag[0] @ work["last_mag"]
    work["last_mag"][:] = mag[-1]

    # rolloff: locate the crossing sub-block, keep its bins for one cumulative sum at the end
    ends = np.matmul(sums.power[rows, 12:], plan.block_ends, out=sums.ends[rows])
    threshold = _ROLLOFF_FRACTION * ends[:, -1] - num_fft * num_fft * EPS
    first_block = np.count_nonzero(ends <= threshold[:, None], axis=1)
    sums.first_block[rows] = first_block
    bins = np.minimum(first_block * block + np.arange(block)[:, None], num_fft - 1)
    bins += np.arange(n) * num_fft
    sums.rolloff_bins[:, rows] = power.ravel()[bins]


def _spectral_features(sums: _SpectralSums, plan: _Plan, out: np.ndarray) -> None:
    """Rows 3–33 from the per-frame sums (pyAudioAnalysis's X = |FFT| / num_fft, eps rescaled)."""
    num_fft = plan.num_fft
    n_frames = out.shape[0]
    eps_power = num_fft * num_fft * EPS  # eps on the X² scale, expressed on the |FFT|² scale
    total = sums.ends[:, -1]

    # 3, 4: centroid and spread of X / max X; max X cancels (its eps term is below 1 ulp)
    mag_sum, f_sum, f2_sum = sums.moments.T
    has_energy = mag_sum > 0
    safe_sum = np.where(has_energy, mag_sum, 1.0)
    centroid = np.where(has_energy, f_sum / safe_sum, 0.0)
    spread2 = np.where(has_energy, (f2_sum - 2.0 * centroid * f_sum + centroid * centroid * mag_sum) / safe_sum, 0.0)
    out[:, 3] = centroid / plan.half_fs
    out[:, 4] = np.sqrt(np.maximum(spread2, 0.0)) / plan.half_fs

    # 5: spectral entropy of the 10 sub-blocks
    out[:, 5] = _entropy(sums.power[:, 12 : 12 + _N_SUB_BLOCKS], total + eps_power)

    # 6: flux Σ(X_t/u_t − X_{t-1}/u_{t-1})² = E_t/u_t² + E_{t-1}/u_{t-1}² − 2 X_t·X_{t-1}/(u_t u_{t-1})
    norm = mag_sum + eps_power  # = num_fft · Σ(X + eps)
    scaled = total / (norm * norm)
    out[0, 6] = 0.0
    flux = scaled[1:] + scaled[:-1] - 2.0 * sums.cross[1:] / (norm[1:] * norm[:-1])
    out[1:, 6] = np.maximum(flux, 0.0)

    # 7: rolloff, the first bin where cumsum + eps > 0.9 total
    first_block = sums.first_block
    rows = np.arange(n_frames)
    before = np.where(first_block > 0, sums.ends[rows, np.maximum(first_block - 1, 0)], 0.0)
    running = np.cumsum(sums.rolloff_bins, axis=0)
    running += before
    threshold = _ROLLOFF_FRACTION * total - eps_power
    offset = np.count_nonzero(running <= threshold, axis=0)
    index = np.minimum(first_block * plan.block + offset, num_fft - 1)
    out[:, 7] = np.where(first_block <= _N_SUB_BLOCKS, index, 0) / float(num_fft)

    # 8–20: MFCC
    mel = sums.mel
    mel += EPS
    np.log10(mel, out=mel)
    out[:, 8:21] = mel @ plan.dct

    # 21–33: chroma and its std
    chroma = sums.power[:, :12]
    chroma /= np.where(total == 0, EPS, total)[:, None]
    out[:, 21:33] = chroma
    centred = chroma - chroma.mean(axis=1, keepdims=True)
    out[:, 33] = np.sqrt(np.einsum("ij,ij->i", centred, centred) / 12.0)


def _n_frames(n_samples: int, window: int, step: int) -> int:
    return (n_samples - window) // step + 1 if n_samples >= window else 0


def _as_mono(signal: np.ndarray) -> np.ndarray:
    signal = np.asarray(signal)
    if signal.ndim != 1:
        raise SerkitError(
            f"pyaa34 needs a mono signal (1-D array), got shape {signal.shape}",
            hint="mix down to mono first",
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
    Returns a float64 array of frames × 34 (frames × 68 with ``deltas``), columns named by
    :func:`feature_names`.  ``flavor="corrected"`` fixes three quirks (module docstring).
    Raises :class:`SerkitError` where pyAudioAnalysis would crash.
    """
    signal = _as_mono(signal)
    window, step = int(window), int(step)
    check_configuration(sampling_rate, window, step, flavor)
    n_frames = _n_frames(len(signal), window, step)
    if n_frames == 0:
        raise SerkitError(
            f"signal of {len(signal)} samples is shorter than one pyaa34 window ({window} samples)",
            hint="drop this segment or use a shorter window",
        )
    plan = _plan(sampling_rate, window, flavor)
    norm = _normalisation(signal)
    out = np.empty((n_frames, 2 * N_FEATURES if deltas else N_FEATURES))
    sums = _SpectralSums(n_frames, plan)

    chunk = max(8, _CHUNK_SAMPLES // window)
    chunk_samples = (chunk - 1) * step + window
    work = {
        "x": np.empty(chunk_samples),
        "spectrum": np.empty((chunk, window // 2 + 1), dtype=np.complex128),
        "power": np.empty((chunk, plan.num_fft)),
        "mag": np.empty((chunk, plan.num_fft)),
        "last_mag": np.empty(plan.num_fft),
        "windowed": np.empty((chunk, window)) if plan.window_fn is not None else None,
    }
    for first in range(0, n_frames, chunk):
        n = min(chunk, n_frames - first)
        start, stop = first * step, (first + n - 1) * step + window
        x = np.multiply(norm.source[start:stop], norm.scale, dtype=np.float64, out=work["x"][: stop - start])
        x -= norm.mean
        x /= norm.divisor
        _time_domain(x, n, window, step, out[first : first + n])
        _spectral_chunk(_frame_view(x, n, window, step), first, plan, sums, work)
    _spectral_features(sums, plan, out)
    if deltas:
        out[0, N_FEATURES:] = 0.0
        np.subtract(out[1:, :N_FEATURES], out[:-1, :N_FEATURES], out=out[1:, N_FEATURES:])
    return out


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

"""The fixed-size log spectrogram of the CMU-MOSEI attention paper (paper 003, §3.2; ``methods.md`` §F.1).

The paper states: resample to 8 kHz, STFT with a Hamming window of length 800, log scale in dB,
0–4 kHz, "a fixed size of 200 × 400".  It leaves out the hop, the FFT size, the dB reference and
how shorter or longer segments reach the fixed size.  serkit's choices (module constants):

- FFT size 800 = the window (401 bins of 10 Hz); the 4000 Hz Nyquist bin is dropped, leaving the
  **400 frequency bins 0–3990 Hz**.  With a window of 800 samples, 400 is the only bin count
  that fits "0~4kHz", so **200 is the number of frames**;
- hop 400 samples (50 ms, half the window), no centring: frame i covers samples
  [400·i, 400·i + 800) at 8 kHz, so 200 frames span the first 10.05 s;
- periodic Hamming window (``scipy.signal.get_window("hamming", 800)``);
- power in dB re. full scale: 10·log10(max(|X|², 1e-10)) on samples in [-1, 1], no per-utterance
  normalisation, so digital silence and padding sit at the floor of −100 dB;
- longer segments are cropped to their first 200 frames; shorter ones are padded at the end with
  floor-valued frames (a segment shorter than one window is zero-padded to one frame first).

Output orientation is **frames × frequency** (200 × 400), the feature store's frames × dims
convention; transpose it for the paper's f × t picture.  Resampling uses soxr "HQ".
"""

from __future__ import annotations

import numpy as np
import soxr

SAMPLING_RATE = 8000
WINDOW_LENGTH = 800  # samples at 8 kHz (100 ms), Hamming
FFT_SIZE = 800
HOP_LENGTH = 400  # samples at 8 kHz (50 ms)
N_BINS = 400  # rfft bins 0..399 (0–3990 Hz); the Nyquist bin is dropped
N_FRAMES = 200
POWER_FLOOR = 1e-10  # |X|² floor before the log: −100 dB
DB_REFERENCE = 1.0  # full-scale power


def params(frames: int | None = N_FRAMES) -> dict:
    """Every parameter of a spectrogram extraction, for the feature store's root attributes."""
    return {
        "feature_type": "spectrogram",
        "sampling_rate": float(SAMPLING_RATE),
        "resampler": "soxr HQ",
        "window": "hamming (periodic)",
        "window_length": WINDOW_LENGTH,
        "fft_size": FFT_SIZE,
        "hop_length": HOP_LENGTH,
        "frame_length_s": WINDOW_LENGTH / SAMPLING_RATE,
        "frame_shift_s": HOP_LENGTH / SAMPLING_RATE,
        "centered": False,
        "n_bins": N_BINS,
        "bin_hz": SAMPLING_RATE / FFT_SIZE,
        "frames": -1 if frames is None else int(frames),
        "scale": "10*log10(max(|X|^2, 1e-10)) dB re. full scale",
        "power_floor": POWER_FLOOR,
        "db_reference": DB_REFERENCE,
        "crop": "first frames",
        "pad": "at the end, with floor-valued frames",
        "dims": N_BINS,
    }


def _periodic_hamming(length: int) -> np.ndarray:
    """``scipy.signal.get_window("hamming", length)`` without importing scipy.signal (0.6 s)."""
    return 0.54 - 0.46 * np.cos(2.0 * np.pi * np.arange(length) / length)


def feature_names() -> list[str]:
    """Column names: the centre frequency of each bin in Hz."""
    return [f"{k * SAMPLING_RATE / FFT_SIZE:g}Hz" for k in range(N_BINS)]


def log_spectrogram(signal: np.ndarray, sampling_rate: float, frames: int | None = N_FRAMES) -> np.ndarray:
    """Log-power spectrogram of a mono float signal in [-1, 1]: float32, frames × 400.

    ``frames``: the fixed number of frames (crop or pad, module docstring); ``None`` keeps all the
    frames the signal has (at least one).
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"log_spectrogram needs a mono 1-D signal, got shape {x.shape}")
    if sampling_rate != SAMPLING_RATE:
        x = soxr.resample(x, sampling_rate, SAMPLING_RATE, quality="HQ")
    available = 1 + max(0, len(x) - WINDOW_LENGTH) // HOP_LENGTH
    n_frames = available if frames is None else min(available, int(frames))
    needed = (n_frames - 1) * HOP_LENGTH + WINDOW_LENGTH
    if len(x) < needed:
        x = np.concatenate([x, np.zeros(needed - len(x))])
    framed = np.lib.stride_tricks.sliding_window_view(x[:needed], WINDOW_LENGTH)[::HOP_LENGTH]
    window = _periodic_hamming(WINDOW_LENGTH)
    spectrum = np.fft.rfft(framed * window, n=FFT_SIZE, axis=1)[:, :N_BINS]
    power = spectrum.real**2 + spectrum.imag**2
    db = 10.0 * np.log10(np.maximum(power, POWER_FLOOR) / DB_REFERENCE)
    if frames is not None and n_frames < frames:
        floor_db = 10.0 * np.log10(POWER_FLOOR / DB_REFERENCE)
        db = np.concatenate([db, np.full((int(frames) - n_frames, N_BINS), floor_db)])
    return db.astype(np.float32)

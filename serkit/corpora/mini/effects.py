"""Signal effects on float audio in [-1, 1]: gain, low-pass, saturation, telephone band, noise floor.

Filters are zero-phase Butterworth magnitude responses applied in the frequency domain: exact, fast, and
free of scipy.signal, whose import alone costs more than a whole tiny shard.
"""

from __future__ import annotations

import numpy as np

OUTPUT_HEADROOM = 0.6
"""Fixed gain (-4.4 dB) applied before the profile volume, so loud profiles stay clear of clipping."""


def volume_gain(volume: int) -> float:
    """Linear gain for an espeak-style volume in percent (100 = neutral), including the headroom."""
    return OUTPUT_HEADROOM * volume / 100.0


def _butterworth(
    signal: np.ndarray, sample_rate: int, low_hz: float | None, high_hz: float | None
) -> np.ndarray:
    """Zero-phase 4th-order Butterworth high-pass at ``low_hz`` and/or low-pass at ``high_hz``."""
    if signal.size == 0:
        return signal
    spectrum = np.fft.rfft(signal)
    freqs = np.fft.rfftfreq(signal.size, d=1.0 / sample_rate)
    gain = np.ones_like(freqs)
    if high_hz is not None:
        gain /= np.sqrt(1.0 + (freqs / high_hz) ** 8)
    if low_hz is not None:
        with np.errstate(divide="ignore"):
            gain /= np.sqrt(1.0 + (low_hz / np.maximum(freqs, 1e-9)) ** 8)
    return np.fft.irfft(spectrum * gain, n=signal.size)


def low_pass(signal: np.ndarray, cutoff_hz: float, sample_rate: int) -> np.ndarray:
    """4th-order Butterworth low-pass (the muffled quality of the sad profile)."""
    return _butterworth(signal, sample_rate, None, cutoff_hz)


def brighten(signal: np.ndarray, boost_db: float, sample_rate: int, corner_hz: float = 1500.0) -> np.ndarray:
    """High-shelf boost of ``boost_db`` above ``corner_hz`` (4th-order Butterworth high-pass added back)."""
    return signal + (10.0 ** (boost_db / 20.0) - 1.0) * _butterworth(signal, sample_rate, corner_hz, None)


def saturate(signal: np.ndarray, drive: float) -> np.ndarray:
    """tanh soft saturation that keeps the original peak level (the strained quality of anger)."""
    peak = float(np.max(np.abs(signal))) if signal.size else 0.0
    if peak == 0.0:
        return signal
    return np.tanh(drive * signal / peak) / np.tanh(drive) * peak


def telephone(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """300-3400 Hz band-pass: a partner heard through a video call."""
    return _butterworth(signal, sample_rate, 300.0, 3400.0)


def noise_sd(noise_dbfs: float) -> float:
    """Standard deviation (full scale = 1) of white noise at ``noise_dbfs`` RMS."""
    return float(10.0 ** (noise_dbfs / 20.0))


def add_noise(signal: np.ndarray, noise_dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """Add the white noise floor at ``noise_dbfs`` RMS."""
    return signal + rng.normal(0.0, noise_sd(noise_dbfs), size=signal.shape)

"""Deterministic speech-like test signals, for the feature tests and benchmarks (no corpus needed).

The signal alternates syllables and pauses: a sawtooth glottal source whose F0 glides between
90 and 260 Hz, shaped by three formant resonators that change per syllable, some fricative-like
high-passed noise bursts, a raised-cosine envelope per syllable, and a low white-noise floor
(about −60 dB re. peak) everywhere, pauses included.  Samples are int16, as
``pyAudioAnalysis.audioBasicIO.read_audio_file`` returns them for a 16-bit wav.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

# (F1, F2, F3) in Hz of a few vowels
_VOWEL_FORMANTS = (
    (730, 1090, 2440),
    (270, 2290, 3010),
    (300, 870, 2240),
    (530, 1840, 2480),
    (640, 1190, 2390),
)


def _resonator(freq: float, bandwidth: float, sampling_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-pole resonator (unit gain at DC) at ``freq`` Hz."""
    radius = np.exp(-np.pi * bandwidth / sampling_rate)
    a = np.array([1.0, -2.0 * radius * np.cos(2.0 * np.pi * freq / sampling_rate), radius * radius])
    return np.array([a.sum()]), a


def speech_like(
    seconds: float,
    sampling_rate: int = 16000,
    seed: int = 0,
    digital_silence: bool = False,
    peak: float = 20000.0,
) -> np.ndarray:
    """``seconds`` of speech-like int16 audio.

    With ``digital_silence`` the first 0.25 s, a 0.6 s stretch at 40 % of the signal and the last
    0.15 s are exact zeros (no noise floor there), as in trimmed or muted recordings.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sampling_rate))
    t = np.arange(n) / sampling_rate
    f0 = 170.0 + 60.0 * np.sin(2 * np.pi * 0.7 * t) + 25.0 * np.sin(2 * np.pi * 3.1 * t + 1.0)
    phase = np.cumsum(f0 / sampling_rate)
    glottal = 2.0 * (phase % 1.0) - 1.0
    voiced = np.zeros(n)
    unvoiced = np.zeros(n)
    envelope = np.zeros(n)
    position = int(rng.integers(0, sampling_rate // 10))
    while position < n:
        length = int(rng.uniform(0.08, 0.3) * sampling_rate)
        stop = min(n, position + length)
        segment = slice(position, stop)
        shaped = glottal[segment]
        formants = _VOWEL_FORMANTS[rng.integers(len(_VOWEL_FORMANTS))]
        for freq, bandwidth in zip(formants, (80, 100, 150), strict=True):
            b, a = _resonator(freq * rng.uniform(0.9, 1.1), bandwidth, sampling_rate)
            shaped = lfilter(b, a, shaped)
        voiced[segment] = shaped
        if rng.random() < 0.3:  # a fricative: high-passed noise
            noise = rng.standard_normal(stop - position)
            unvoiced[segment] = 0.4 * lfilter([1.0, -0.95], [1.0], noise)
        envelope[segment] = rng.uniform(0.2, 1.0) * np.sin(np.pi * np.linspace(0.0, 1.0, stop - position))
        position = stop + int(rng.uniform(0.05, 0.35) * sampling_rate)
    sound = envelope * (voiced / (np.abs(voiced).max() + 1e-12) + unvoiced)
    sound *= peak / (np.abs(sound).max() + 1e-12)
    sound += rng.normal(0.0, peak * 1e-3, n)  # noise floor, about -60 dB re. peak
    if digital_silence:
        for start, stop in ((0.0, 0.25), (0.4 * seconds, 0.4 * seconds + 0.6), (seconds - 0.15, seconds)):
            sound[int(start * sampling_rate) : int(stop * sampling_rate)] = 0.0
    return np.clip(np.round(sound), -32768, 32767).astype(np.int16)

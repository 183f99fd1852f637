"""Emotion profiles: how an acted emotion moves espeak's rate, pitch, range and volume, and its effects.

A rendered parameter is ``neutral + intensity * (profile - neutral) + speaker habit + jitter``, with the
jitter drawn per utterance (a fraction of the neutral value), so that classes overlap across speakers and
intensities instead of forming four clean clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EMOTIONS: tuple[str, ...] = ("neu", "hap", "ang", "sad")
"""The acted emotions the generator can render (the label is the acted emotion)."""

INTENSITIES: tuple[float, ...] = (0.5, 0.75, 1.0)
"""Intensity levels of the non-neutral emotions; neutral is always rendered at intensity 0."""

JITTER_FRACTION = 0.08
"""Per-utterance jitter, as a fraction of the neutral value of each parameter."""


@dataclass(frozen=True)
class Prosody:
    """espeak parameters of one utterance (espeak_SetParameter units; volume is applied as a numpy gain)."""

    rate: int
    pitch: int
    range: int
    volume: int


@dataclass(frozen=True)
class Effects:
    """Signal effects of one utterance: low-pass cut-off (Hz), tanh saturation drive and high-shelf
    boost (dB above 1.5 kHz); None = off."""

    lowpass_hz: float | None = None
    saturation: float | None = None
    brightness_db: float | None = None


PROFILES: dict[str, Prosody] = {
    "neu": Prosody(rate=170, pitch=48, range=45, volume=100),
    "hap": Prosody(rate=194, pitch=68, range=84, volume=122),
    "ang": Prosody(rate=208, pitch=58, range=74, volume=165),
    "sad": Prosody(rate=134, pitch=32, range=15, volume=70),
}
"""Profile targets at intensity 1 (rate in words/min, pitch and range 0-99, volume in percent)."""

_LIMITS = {"rate": (80, 400), "pitch": (0, 99), "range": (0, 99), "volume": (20, 200)}


@dataclass(frozen=True)
class SpeakerHabit:
    """A speaker's habitual offsets from the profiles, in espeak_SetParameter units."""

    rate: float = 0.0
    pitch: float = 0.0
    range: float = 0.0
    volume: float = 0.0


HABIT_SD = SpeakerHabit(rate=12.0, pitch=6.0, range=8.0, volume=12.0)
"""Standard deviations of the per-speaker habits."""


def sample_habit(rng: np.random.Generator) -> SpeakerHabit:
    """Draw one speaker's habitual offsets."""
    return SpeakerHabit(
        rate=float(rng.normal(0, HABIT_SD.rate)),
        pitch=float(rng.normal(0, HABIT_SD.pitch)),
        range=float(rng.normal(0, HABIT_SD.range)),
        volume=float(rng.normal(0, HABIT_SD.volume)),
    )


def render_prosody(emotion: str, intensity: float, habit: SpeakerHabit, rng: np.random.Generator) -> Prosody:
    """Interpolate the profile of ``emotion`` at ``intensity``, add the habit and jitter, round and clip."""
    neutral, target = PROFILES["neu"], PROFILES[emotion]
    values = {}
    for name, (low, high) in _LIMITS.items():
        base = getattr(neutral, name)
        value = base + intensity * (getattr(target, name) - base) + getattr(habit, name)
        value += rng.normal(0, JITTER_FRACTION * base)
        values[name] = int(np.clip(round(value), low, high))
    return Prosody(**values)


def sample_effects(emotion: str, intensity: float, rng: np.random.Generator) -> Effects:
    """Low-pass for sad, saturation for angry and a bright high shelf for happy (the raised formants
    of smiled speech), each with a probability that grows with intensity.

    These voice-quality cues are what a feature set without F0 and without level (pyAudioAnalysis's
    34 features are relative to each file's peak) can see of an emotion; rate, pitch and range
    differences come from the prosody profiles.
    """
    draw, cutoff, drive = rng.random(), rng.uniform(2500.0, 4000.0), rng.uniform(1.5, 3.0)
    boost = rng.uniform(6.0, 10.0)
    if emotion == "sad" and draw < 0.8 * intensity:
        return Effects(lowpass_hz=round(float(cutoff), 1))
    if emotion == "ang" and draw < 0.8 * intensity:
        return Effects(saturation=round(float(drive), 3))
    if emotion == "hap" and draw < 0.8 * intensity:
        return Effects(brightness_db=round(float(boost), 2))
    return Effects()

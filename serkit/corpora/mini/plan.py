"""The generation plan: every random choice made up front from the seed, before any audio exists.

A plan lists recordings (an IEMOCAP dialog, a MOSEI video, a SEWA session), each a sequence of turns with
speaker, acted emotion, intensity, sentence, espeak parameters, effects, silences and a per-turn seed.
Only things that need the synthesised durations (where a turn lands in its recording) are decided later,
from the plan alone, so the output does not depend on which process renders which recording.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from serkit.corpora.mini.lexicon import Lexicon, Sentence, compose
from serkit.corpora.mini.profiles import INTENSITIES, Effects, Prosody, render_prosody, sample_effects
from serkit.corpora.mini.voices import Speaker


def derive_rng(seed: int, *keys: object) -> np.random.Generator:
    """An independent generator for ``seed`` and a path of keys (strings or ints), stable across runs."""
    digest = hashlib.sha256(repr((seed, *keys)).encode()).digest()
    return np.random.default_rng(np.frombuffer(digest, dtype=np.uint32))


def derive_seed(rng: np.random.Generator) -> int:
    """A 31-bit seed drawn from ``rng``."""
    return int(rng.integers(0, 2**31 - 1))


@dataclass(frozen=True)
class TurnPlan:
    """One spoken turn: who says what, how, and the layout's extra facts about it (``info``)."""

    turn_id: str
    speaker_id: str
    emotion: str
    intensity: float
    label: str | None
    labelled: bool
    sentence: Sentence
    prosody: Prosody
    effects: Effects
    lead: float
    trail: float
    gap_before: float
    noise_dbfs: float
    seed: int
    telephone: bool = False
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RecordingPlan:
    """One recording file (dialog, video, session) and its turns in time order."""

    name: str
    turns: tuple[TurnPlan, ...]
    lead_in: float
    tail: float
    noise_dbfs: float
    seed: int
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CorpusPlan:
    """Everything needed to render and write one corpus: layout, size, seed, shard count, speakers."""

    layout: str
    size: str
    seed: int
    n_shards: int
    speakers: dict[str, Speaker]
    recordings: tuple[RecordingPlan, ...]
    info: dict = field(default_factory=dict)

    @property
    def n_turns(self) -> int:
        return sum(len(r.turns) for r in self.recordings)


NOISE_FLOOR_DBFS = (-62.0, -50.0)
"""Range of a recording's white noise floor (RMS, dBFS): 20-35 dB below the speech."""


def draw_noise_floor(rng: np.random.Generator) -> float:
    """A recording's noise floor in dBFS, from :data:`NOISE_FLOOR_DBFS`."""
    return round(float(rng.uniform(*NOISE_FLOOR_DBFS)), 2)


def draw_intensity(emotion: str, rng: np.random.Generator, levels: tuple[float, ...] = INTENSITIES) -> float:
    """0 for neutral, else one of ``levels``."""
    return 0.0 if emotion == "neu" else float(levels[int(rng.integers(len(levels)))])


def make_turn(
    turn_id: str,
    speaker: Speaker,
    emotion: str,
    intensity: float,
    lexicon: Lexicon,
    rng: np.random.Generator,
    *,
    label: str | None,
    labelled: bool = True,
    gap_before: float = 0.0,
    noise_dbfs: float = -55.0,
    sentence: Sentence | None = None,
    telephone: bool = False,
    volume_scale: float = 1.0,
    info: dict | None = None,
) -> TurnPlan:
    """Plan one turn: sentence (unless given), prosody with habit and jitter, effects, silences, seed.

    ``telephone`` and ``volume_scale`` render a voice heard through a call (a dyadic partner)."""
    if sentence is None:
        sentence = compose(lexicon, emotion, rng)
    prosody = render_prosody(emotion, intensity, speaker.habit, rng)
    if volume_scale != 1.0:
        prosody = replace(prosody, volume=round(prosody.volume * volume_scale))
    effects = sample_effects(emotion, intensity, rng)
    return TurnPlan(
        turn_id=turn_id,
        speaker_id=speaker.speaker_id,
        emotion=emotion,
        intensity=intensity,
        label=label,
        labelled=labelled,
        sentence=sentence,
        prosody=prosody,
        effects=effects,
        lead=round(float(rng.uniform(0.10, 0.30)), 4),
        trail=round(float(rng.uniform(0.10, 0.25)), 4),
        gap_before=round(float(gap_before), 4),
        noise_dbfs=noise_dbfs,
        seed=derive_seed(rng),
        telephone=telephone,
        info=dict(info or {}),
    )


def quota(fractions: dict[str, float], total: int) -> list[str]:
    """``total`` labels in the given proportions (largest remainder), in table order."""
    raw = {k: v * total for k, v in fractions.items()}
    counts = {k: int(np.floor(v)) for k, v in raw.items()}
    rest = total - sum(counts.values())
    for k in sorted(raw, key=lambda k: (counts[k] - raw[k], list(raw).index(k)))[:rest]:
        counts[k] += 1
    return [k for k in fractions for _ in range(counts[k])]


def shard_assignment(recordings: tuple[RecordingPlan, ...], n_shards: int) -> list[list[int]]:
    """Split recordings into ``n_shards`` lists of indices, balancing turn counts (deterministic)."""
    shards: list[list[int]] = [[] for _ in range(n_shards)]
    load = [0] * n_shards
    order = sorted(range(len(recordings)), key=lambda i: (-len(recordings[i].turns), i))
    for index in order:
        target = min(range(n_shards), key=lambda s: (load[s], s))
        shards[target].append(index)
        load[target] += len(recordings[index].turns)
    return [sorted(s) for s in shards if s]

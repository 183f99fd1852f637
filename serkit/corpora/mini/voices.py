"""Generated speakers: espeak voice-variant files (F0 range, formant scale, breath, roughness) and habits.

Every variant sets ``flutter 0``: espeak's flutter phase is global state that would make the audio depend
on what was synthesised before. The variants live in a private espeak data directory that links to the
wheel's data and adds ``voices/!v/<variant>`` files, because espeak silently falls back to the base voice
when a variant name is unknown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serkit.corpora.mini.profiles import SpeakerHabit, sample_habit
from serkit.errors import SerkitError

ESPEAK_LANGUAGES = {"en": "en-us", "de": "de"}
"""Lexicon language -> espeak voice (language) name."""

_DATA_ENTRIES = ("phondata", "phondata-manifest", "phonindex", "phontab", "intonations", "lang")


@dataclass(frozen=True)
class Speaker:
    """One generated speaker: identity, espeak variant parameters and prosodic habits."""

    speaker_id: str
    gender: str
    language: str
    variant: str
    pitch_base: int
    pitch_top: int
    formants: tuple[tuple[int, int, int, int], ...]
    breath: tuple[int, ...] | None
    roughness: int
    echo: tuple[int, int] | None
    habit: SpeakerHabit

    @property
    def voice_name(self) -> str:
        """The name for ``espeak_SetVoiceByName``: espeak language + ``+`` + variant file."""
        return f"{ESPEAK_LANGUAGES[self.language]}+{self.variant}"


def sample_speaker(
    speaker_id: str, gender: str, language: str, variant: str, rng: np.random.Generator
) -> Speaker:
    """Draw one speaker's voice: F0 range, vocal-tract scale (+-4 % per formant), breath, roughness, echo."""
    if gender == "F":
        base = int(rng.integers(135, 176))
        top = base + int(rng.integers(50, 91))
        scale = rng.uniform(1.05, 1.22)
    else:
        base = int(rng.integers(70, 96))
        top = base + int(rng.integers(30, 51))
        scale = rng.uniform(0.92, 1.05)
    formants = tuple(
        (
            n,
            int(round(100 * scale * rng.uniform(0.96, 1.04))),
            int(rng.integers(70, 101)),
            int(rng.integers(100, 151)),
        )
        for n in range(9)
    )
    breath = tuple(int(v) for v in [0, *rng.integers(1, 4, size=7)]) if rng.random() < 0.4 else None
    roughness = int(rng.integers(0, 5))
    echo = (int(rng.integers(80, 141)), int(rng.integers(5, 16))) if rng.random() < 0.5 else None
    return Speaker(
        speaker_id=speaker_id,
        gender=gender,
        language=language,
        variant=variant,
        pitch_base=base,
        pitch_top=top,
        formants=formants,
        breath=breath,
        roughness=roughness,
        echo=echo,
        habit=sample_habit(rng),
    )


def variant_text(speaker: Speaker) -> str:
    """The espeak voice-variant file of ``speaker`` (always with ``flutter 0``)."""
    lines = [
        "language variant",
        f"name {speaker.variant}",
        f"gender {'female' if speaker.gender == 'F' else 'male'}",
        "",
        f"pitch {speaker.pitch_base} {speaker.pitch_top}",
        *(f"formant {n} {freq} {height} {width}" for n, freq, height, width in speaker.formants),
    ]
    if speaker.breath is not None:
        lines.append("breath " + " ".join(str(v) for v in speaker.breath))
    lines.append(f"roughness {speaker.roughness}")
    if speaker.echo is not None:
        lines.append(f"echo {speaker.echo[0]} {speaker.echo[1]}")
    lines.append("flutter 0")
    return "\n".join(lines) + "\n"


def espeak_wheel_data() -> Path:
    """The espeak-ng data directory shipped in the ``espeakng-loader`` wheel."""
    try:
        import espeakng_loader
    except ImportError as err:
        raise SerkitError(
            "espeak-ng is not available (the espeakng-loader package is missing)",
            hint="pip install espeakng-loader",
        ) from err
    return Path(espeakng_loader.get_data_path())


def make_data_dir(dest: Path, speakers: list[Speaker]) -> Path:
    """Build a private espeak data dir in ``dest``: links to the wheel's data plus one variant per speaker."""
    source = espeak_wheel_data()
    dest.mkdir(parents=True, exist_ok=True)
    languages = {ESPEAK_LANGUAGES[s.language].split("-")[0] for s in speakers}
    for name in (*_DATA_ENTRIES, *(f"{lang}_dict" for lang in sorted(languages))):
        os.symlink(source / name, dest / name)
    variants = dest / "voices" / "!v"
    variants.mkdir(parents=True)
    for speaker in speakers:
        (variants / speaker.variant).write_text(variant_text(speaker), encoding="ascii")
    return dest

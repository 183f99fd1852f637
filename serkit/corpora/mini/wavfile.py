"""16-bit PCM conversion without exact digital zeros, and byte-stable mono WAV files.

Aligners such as pocketsphinx fail on stretches of exact zeros, and real recordings never contain them:
every sample that would round to 0 becomes +1 or -1 (sign drawn from the caller's generator). WAV files
are written with the standard library (44-byte header, no metadata chunks, nothing time-dependent).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

FULL_SCALE = 32767


def to_pcm16(signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Float audio in [-1, 1] -> int16, clipped, with no sample equal to 0."""
    pcm = np.clip(np.round(np.asarray(signal, dtype=np.float64) * FULL_SCALE), -FULL_SCALE, FULL_SCALE)
    pcm = pcm.astype(np.int16)
    zeros = np.flatnonzero(pcm == 0)
    if zeros.size:
        pcm[zeros] = np.where(rng.random(zeros.size) < 0.5, -1, 1).astype(np.int16)
    return pcm


def write_wav(path: Path, pcm: np.ndarray, sample_rate: int) -> None:
    """Write mono int16 ``pcm`` as a canonical 44-byte-header WAV file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(np.asarray(pcm, dtype="<i2").tobytes())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a mono int16 WAV written by :func:`write_wav` -> (pcm, sample_rate)."""
    with wave.open(str(path), "rb") as src:
        if src.getnchannels() != 1 or src.getsampwidth() != 2:
            raise ValueError(f"{path}: not mono 16-bit PCM")
        return np.frombuffer(src.readframes(src.getnframes()), dtype="<i2"), src.getframerate()

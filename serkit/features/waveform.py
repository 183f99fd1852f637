"""Raw waveform frames on the 100 ms label grid (SEWA paper 001; ``methods.md`` §A.2).

The audio is resampled to 22,050 Hz (soxr "HQ", which is what ``librosa.load(sr=22050)`` in the
authors' code uses) and cut into frames of 2205 samples: **frame i covers [0.1·i, 0.1·i + 0.1) s**,
samples [2205·i, 2205·(i + 1)), i.e. the 100 ms *after* label time stamp 0.1·i.  The last partial
frame is zero-padded at the end.

Differences from the authors' code, on purpose: frame starts are exact integers (their
``int(t * sr)`` on float label times starts some frames one sample early, e.g. t = 0.7 gives 15434),
and no extra all-zero frame is appended when the length is already a multiple of 2205.  Pass
``n_frames`` (the number of label rows) to get exactly one frame per label: missing frames are
zeros, surplus audio is dropped.  The 4410-sample subject/partner split of their code is not done
here (``methods.md`` §H.6).
"""

from __future__ import annotations

import numpy as np
import soxr

SAMPLING_RATE = 22050
FRAME_SECONDS = 0.1
FRAME_LENGTH = 2205  # samples per frame at 22,050 Hz


def params(n_frames_given: bool = False) -> dict:
    """Every parameter of a waveform extraction, for the feature store's root attributes."""
    return {
        "feature_type": "waveform",
        "sampling_rate": float(SAMPLING_RATE),
        "resampler": "soxr HQ",
        "frame_length": FRAME_LENGTH,
        "frame_length_s": FRAME_SECONDS,
        "frame_shift_s": FRAME_SECONDS,
        "grid": "frame i covers [0.1 i, 0.1 i + 0.1) s",
        "pad": "zeros at the end",
        "frames": "label count" if n_frames_given else "ceil(duration / 0.1 s)",
        "scale": "float samples in [-1, 1]",
        "dims": FRAME_LENGTH,
    }


def frame_count(n_samples: int) -> int:
    """Frames that ``n_samples`` samples at 22,050 Hz fill, the last one possibly partly."""
    return -(-int(n_samples) // FRAME_LENGTH)


def waveform_frames(signal: np.ndarray, sampling_rate: float, n_frames: int | None = None) -> np.ndarray:
    """Mono float signal → float32 frames × 2205 at 22,050 Hz on the 100 ms grid.

    ``n_frames``: return exactly this many frames (zero frames added, or trailing audio dropped),
    e.g. the number of label rows of the recording.  Default: every frame the audio reaches.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"waveform_frames needs a mono 1-D signal, got shape {x.shape}")
    if sampling_rate != SAMPLING_RATE:
        x = soxr.resample(x, sampling_rate, SAMPLING_RATE, quality="HQ")
    count = frame_count(len(x)) if n_frames is None else int(n_frames)
    if count < 0:
        raise ValueError(f"n_frames must be at least 0, got {n_frames}")
    frames = np.zeros((count, FRAME_LENGTH), dtype=np.float32)
    used = min(len(x), count * FRAME_LENGTH)
    frames.reshape(-1)[:used] = x[:used]
    return frames

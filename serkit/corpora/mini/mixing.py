"""Placing rendered turns on a recording's timeline and mixing them into one signal.

Turns follow each other with the planned gaps; a negative gap makes a turn start before the previous one
ends (IEMOCAP's overlapping turns, MOSEI's overlapping segments). Where no turn covers the timeline the
recording's noise floor fills in, so a recording has no digital silence either. Where no other turn
overlaps, the mix equals the turn's own samples, so a turn cut from the recording matches its file.
"""

from __future__ import annotations

import numpy as np

from serkit.corpora.mini.effects import add_noise
from serkit.corpora.mini.plan import RecordingPlan, derive_rng
from serkit.corpora.mini.render import RenderedTurn
from serkit.corpora.mini.wavfile import FULL_SCALE, to_pcm16


def place_turns(recording: RecordingPlan, rendered: list[RenderedTurn]) -> tuple[list[int], int]:
    """Start sample of every turn and the total length in samples of the recording."""
    if not rendered:
        raise ValueError(f"recording {recording.name} has no turns")
    rate = rendered[0].sample_rate
    offsets: list[int] = []
    cursor = round(recording.lead_in * rate)
    previous_start = -1
    for item in rendered:
        start = max(cursor + round(item.turn.gap_before * rate) if offsets else cursor, previous_start + 1)
        offsets.append(start)
        previous_start = start
        cursor = max(cursor, start + item.n_samples)
    return offsets, cursor + round(recording.tail * rate)


def mix(recording: RecordingPlan, rendered: list[RenderedTurn], offsets: list[int], total: int) -> np.ndarray:
    """The recording's PCM16: the turns' samples summed at ``offsets``, noise floor where no turn is."""
    signal = np.zeros(total)
    coverage = np.zeros(total, dtype=np.int32)
    for item, start in zip(rendered, offsets, strict=True):
        signal[start : start + item.n_samples] += item.pcm / FULL_SCALE
        coverage[start : start + item.n_samples] += 1
    rng = derive_rng(recording.seed, "gaps")
    empty = coverage == 0
    signal[empty] = add_noise(np.zeros(int(empty.sum())), recording.noise_dbfs, rng)
    return to_pcm16(signal, rng)

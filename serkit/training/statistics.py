"""Normalisation statistics of feature frames: over a training set, per speaker, over any utterances."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from serkit import datadir
from serkit.errors import SerkitError
from serkit.store import FeatureStore


@functools.lru_cache(maxsize=16)
def training_statistics(store_path: str, data_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per dimension over every frame of ``data_dir``'s utterances."""
    store = FeatureStore(store_path)
    utts = [u for u in datadir.read_wav_scp(Path(data_dir) / "wav.scp", allow_pipes=True) if u in store]
    if not utts:
        raise SerkitError(
            f"no utterance of {data_dir} is in the store", path=store_path, hint="extract its features first"
        )
    try:
        return frame_statistics(store, utts)
    finally:
        store.close()


def speaker_statistics(
    store: FeatureStore, utt2spk: dict[str, str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean and deviation per speaker over every frame of that speaker's utterances (Kaldi's CMVN)."""
    by_speaker: dict[str, list[str]] = {}
    for utt, spk in utt2spk.items():
        if utt in store:
            by_speaker.setdefault(spk, []).append(utt)
    return {spk: frame_statistics(store, utts) for spk, utts in by_speaker.items()}


def frame_statistics(store: FeatureStore, utts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (floored at 1e-5) per dimension over every frame of ``utts``."""
    total = sumsq = None
    count = 0
    for utt in utts:
        frames = store[utt].reshape(store.shape(utt)[0], -1).astype(np.float64)
        total = frames.sum(0) if total is None else total + frames.sum(0)
        sumsq = (frames**2).sum(0) if sumsq is None else sumsq + (frames**2).sum(0)
        count += len(frames)
    mean = total / count
    std = np.sqrt(np.maximum(sumsq / count - mean**2, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-5).astype(np.float32)

"""Shared fixtures: small audio files and data dirs made on the fly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from serkit import datadir

REPO = Path(__file__).resolve().parents[1]


def speechlike(seconds: float, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A voiced, amplitude-modulated harmonic signal over a noise floor (float in [-1, 1))."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t + seed)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 1.5 * t) + 0.3, 0, None)
    x = 0.2 * voiced * envelope + 0.003 * rng.standard_normal(t.size)
    return np.clip(x, -0.99, 0.99)


def write_wav(path: Path, seconds: float, rate: int = 16000, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, speechlike(seconds, rate, seed), rate, subtype="PCM_16")
    return path


def make_data_dir(root: Path, n: int = 6, seconds: float = 1.0, speakers: int = 2) -> Path:
    """A valid data dir of ``n`` utterances with every text file of DESIGN §3."""
    data = datadir.DataDir(meta={"corpus": "test", "classes": ["ang", "hap", "neu", "sad"]})
    labels = ["ang", "hap", "neu", "sad"]
    for i in range(n):
        spk = f"spk{i % speakers}"
        utt = f"{spk}-utt{i:03d}"
        wav = write_wav(root / "wav" / f"{utt}.wav", seconds + 0.1 * i, seed=i)
        data.wav_scp[utt] = datadir.WavEntry(str(wav))
        data.utt2spk[utt] = spk
        data.utt2sess[utt] = f"sess{i % 3}"
        data.utt2gender[utt] = "f" if i % speakers == 0 else "m"
        data.utt2emo[utt] = labels[i % 4]
        data.text[utt] = "hello there world"
        data.words_ctm[utt] = [
            datadir.CtmWord(0.1, 0.2, "hello"),
            datadir.CtmWord(0.3, 0.2, "there"),
            datadir.CtmWord(0.55, 0.3, "world"),
        ]
    return datadir.save(data, root / "data")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return make_data_dir(tmp_path)


def run_serkit(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed CLI as a user would (a fresh process)."""
    return subprocess.run(
        [sys.executable, "-m", "serkit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        check=False,
    )

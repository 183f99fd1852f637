"""Audio reading: formats, mono mix, cuts, resampling, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from serkit import audio
from serkit.datadir import WavEntry
from serkit.errors import SerkitError


def test_reads_int16_float_and_flac_alike(tmp_path: Path) -> None:
    x = (np.sin(np.arange(8000) / 10) * 0.5).astype(np.float64)
    sf.write(tmp_path / "a.wav", x, 8000, subtype="PCM_16")
    sf.write(tmp_path / "b.flac", x, 8000)
    sf.write(tmp_path / "c.wav", x, 8000, subtype="FLOAT")
    sf.write(tmp_path / "d.wav", x, 8000, subtype="PCM_32")
    ref, rate = audio.read_audio(tmp_path / "a.wav")
    assert rate == 8000 and ref.dtype == np.float64
    for name in ("b.flac", "c.wav", "d.wav"):
        got, _ = audio.read_audio(tmp_path / name)
        assert np.max(np.abs(got - ref)) < 1e-4, name
    raw, _ = audio.read_audio(tmp_path / "a.wav", dtype="int16")
    assert raw.dtype == np.int16 and np.array_equal(raw / 32768.0, ref)


def test_stereo_is_mixed_and_cut_is_exact(tmp_path: Path) -> None:
    left = np.linspace(-0.5, 0.5, 16000)
    sf.write(tmp_path / "s.wav", np.stack([left, -left * 0.5], axis=1), 16000, subtype="FLOAT")
    mono, _ = audio.read_audio(tmp_path / "s.wav")
    assert np.allclose(mono, left * 0.25, atol=1e-6)
    cut, _ = audio.read_audio(WavEntry(str(tmp_path / "s.wav"), 0.25, 0.5))
    assert cut.shape == (4000,) and np.allclose(cut, mono[4000:8000])
    assert audio.audio_info(WavEntry(str(tmp_path / "s.wav"), 0.25, 0.5)) == (16000, 0.25)


def test_resample_keeps_a_tone(tmp_path: Path) -> None:
    t = np.arange(16000) / 16000
    y = audio.resample(np.sin(2 * np.pi * 440 * t), 16000, 8000)
    assert y.shape == (8000,)
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) - 440) <= 1


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(SerkitError, match="not found") as err:
        audio.read_audio(tmp_path / "missing.wav")
    assert err.value.path.endswith("missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF this is not audio")
    with pytest.raises(SerkitError, match="unreadable"):
        audio.read_audio(tmp_path / "junk.wav")
    sf.write(tmp_path / "empty.wav", np.zeros(0), 16000)
    with pytest.raises(SerkitError, match="empty"):
        audio.read_audio(tmp_path / "empty.wav")
    sf.write(tmp_path / "short.wav", np.zeros(1600) + 0.1, 16000)
    with pytest.raises(SerkitError, match="outside the file"):
        audio.read_audio(WavEntry(str(tmp_path / "short.wav"), 0.05, 0.5))


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    sf.write(tmp_path / "t.wav", np.full(16000, 0.1), 16000, subtype="PCM_16")
    data = (tmp_path / "t.wav").read_bytes()
    (tmp_path / "t.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(SerkitError, match="truncated") as err:
        audio.read_audio(tmp_path / "t.wav")
    assert err.value.path.endswith("t.wav")

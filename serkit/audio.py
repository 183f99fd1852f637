"""Audio input: read what soundfile reads, mix to mono, resample with soxr, cut segments.

Every failure a user can cause (missing, unreadable, empty, truncated file, a cut
outside the file) is a :class:`SerkitError` naming the file.
"""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from serkit.datadir import WavEntry
from serkit.errors import SerkitError

#: A cut may end this far past the end of the file (rounding in corpus time stamps); it is clamped.
CUT_END_TOLERANCE_S = 0.05


def _open(entry: WavEntry) -> sf.SoundFile:
    if entry.is_pipe:
        proc = subprocess.run(entry.path, shell=True, capture_output=True, check=False)
        if proc.returncode != 0:
            raise SerkitError(
                f"audio command failed with status {proc.returncode}: "
                f"{proc.stderr.decode(errors='replace').strip()[-200:]}",
                path=entry.path,
                hint="fix the piped command in wav.scp",
            )
        return sf.SoundFile(io.BytesIO(proc.stdout))
    path = Path(entry.path)
    if not path.is_file():
        raise SerkitError("audio file not found", path=path, hint="check the path in wav.scp")
    try:
        handle = sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise SerkitError(
            f"unreadable audio ({exc})", path=path, hint="convert it to wav or flac, or drop the utterance"
        ) from None
    missing = _wav_missing_bytes(path)
    if missing:
        handle.close()
        raise SerkitError(
            f"audio is truncated: the wav header promises {missing} more bytes than the file holds",
            path=path,
            hint="re-copy or re-encode the file",
        )
    return handle


def _wav_missing_bytes(path: Path) -> int:
    """Bytes a RIFF/WAVE file's ``data`` chunk declares beyond the end of the file (0 if whole).

    libsndfile silently shortens such files; a truncated copy of a corpus must not pass unnoticed.
    Streaming headers (size 0 or 0xFFFFFFFF) are not judged.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                if chunk_size in (0, 0xFFFFFFFF):
                    return 0
                return max(0, offset + 8 + chunk_size - size)
            offset += 8 + chunk_size + (chunk_size & 1)
    return 0


def audio_info(entry: WavEntry) -> tuple[int, float]:
    """``(sample_rate, duration_seconds)`` of the entry (the cut's duration for a cut)."""
    with _open(entry) as f:
        rate, frames = f.samplerate, f.frames
    duration = frames / rate
    if entry.start is not None:
        duration = min(entry.end, duration) - entry.start
    return rate, duration


def read_audio(
    entry: WavEntry | str | Path, dtype: str = "float64", mono: bool = True
) -> tuple[np.ndarray, int]:
    """Read a file or a cut of it. Returns ``(samples, sample_rate)``.

    ``dtype='float64'`` gives samples in [-1, 1); ``dtype='int16'`` gives the raw
    PCM16 integers (what pyAudioAnalysis' ``read_audio_file`` returns). ``mono``
    averages the channels.
    """
    if not isinstance(entry, WavEntry):
        entry = WavEntry(str(entry))
    with _open(entry) as f:
        samples = _read(f, entry, dtype)
        rate = f.samplerate
    if mono:
        samples = mix_to_mono(samples)
    return samples, rate


def read_audio_native(entry: WavEntry) -> tuple[np.ndarray, int, str]:
    """``(samples, sample_rate, subtype)`` of a file or a cut, samples × channels, opened once:
    16-bit PCM as its raw int16 integers, every other format as float64 in [-1, 1)."""
    with _open(entry) as f:
        subtype = f.subtype
        samples = _read(f, entry, "int16" if subtype == "PCM_16" else "float64")
        return samples, f.samplerate, subtype


def _read(f: sf.SoundFile, entry: WavEntry, dtype: str) -> np.ndarray:
    """The samples × channels of ``entry`` from its open file."""
    where = entry.path
    rate, total = f.samplerate, f.frames
    start = 0
    stop = total
    if entry.start is not None:
        start = int(round(entry.start * rate))
        stop = int(round(entry.end * rate))
        if start >= total or stop > total + CUT_END_TOLERANCE_S * rate:
            raise SerkitError(
                f"cut {entry.start:.3f}-{entry.end:.3f} s lies outside the file ({total / rate:.3f} s)",
                path=where,
                hint="fix the times in wav.scp",
            )
        stop = min(stop, total)
        f.seek(start)
    try:
        samples = f.read(stop - start, dtype=dtype, always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise SerkitError(f"audio data unreadable ({exc})", path=where, hint="re-encode the file") from None
    if samples.shape[0] == 0:
        raise SerkitError("audio is empty", path=where, hint="drop the utterance or fix the file")
    if samples.shape[0] < stop - start:
        raise SerkitError(
            f"audio is truncated: header promises {stop - start} samples, found {samples.shape[0]}",
            path=where,
            hint="re-encode or re-copy the file",
        )
    return samples


def mix_to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a (samples × channels) array; integers stay integers."""
    if samples.ndim == 1:
        return samples
    if samples.shape[1] == 1:
        return samples[:, 0]
    mixed = samples.mean(axis=1)
    if np.issubdtype(samples.dtype, np.integer):
        return np.round(mixed).astype(samples.dtype)
    return mixed.astype(samples.dtype, copy=False)


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """High-quality resampling with soxr (float in, float out)."""
    if rate_in == rate_out:
        return samples
    import soxr

    return soxr.resample(np.asarray(samples, dtype=np.float64), rate_in, rate_out, quality="HQ")


def load(entry: WavEntry | str | Path, rate: int | None = None) -> tuple[np.ndarray, int]:
    """Mono float64 samples in [-1, 1), resampled to ``rate`` when given."""
    samples, native = read_audio(entry)
    if rate is not None and rate != native:
        return resample(samples, native, rate), rate
    return samples, native

"""pocketsphinx plumbing shared by ASR and forced alignment: audio in the decoder's format, decoders, workers.

* Audio: any ``wav.scp`` entry is read with :func:`serkit.audio.load`, resampled to 16 kHz mono, padded
  with ``pad`` seconds of silence at both ends and dithered with Gaussian noise of standard deviation
  ``dither`` (full scale 1). Synthetic speech has digital zeros, on which alignment fails without dither
  (``mini_corpus.md`` §4). The noise is seeded by the utterance id, so results do not depend on order.
* Decoders: the bundled US-English model; batch cepstral mean normalisation over each whole utterance,
  so an utterance decodes the same whichever worker gets it and whatever came before.
* Workers: ``nj`` spawned processes, one decoder each, fed fixed chunks of utterances.
"""

from __future__ import annotations

import multiprocessing
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

import numpy as np

from serkit import audio
from serkit.datadir import WavEntry

SAMPLE_RATE = 16000
#: Seconds of silence around each utterance; decoder times are shifted back by this much.
PAD_SECONDS = 0.25
DITHER = 1e-4
CHUNK = 8

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each chunk of utterances."""


def utterance_pcm(utt: str, entry: WavEntry, pad: float = PAD_SECONDS, dither: float = DITHER) -> bytes:
    """16 kHz mono little-endian PCM16 of one utterance, padded and dithered (see the module doc)."""
    samples, _ = audio.load(entry, SAMPLE_RATE)
    silence = np.zeros(int(round(pad * SAMPLE_RATE)))
    padded = np.concatenate([silence, np.asarray(samples, dtype=np.float64), silence])
    rng = np.random.default_rng(zlib.crc32(utt.encode("utf-8")))
    padded += dither * rng.standard_normal(padded.size)
    return np.round(np.clip(padded, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()


@lru_cache(maxsize=4)
def decoder(options: tuple[tuple[str, object], ...]):
    """A pocketsphinx decoder with the bundled en-us model and ``options`` (cached per process)."""
    from pocketsphinx import Decoder

    return Decoder(samprate=SAMPLE_RATE, cmn="batch", loglevel="FATAL", **dict(options))


def chunks(items: list, size: int = CHUNK) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_chunks(
    work: Callable[[list], dict],
    batches: list[list],
    nj: int,
    progress: ProgressCallback | None = None,
) -> Iterator[dict]:
    """Yield ``work(batch)`` for every batch, in order, on ``nj`` processes (in this one if ``nj`` is 1)."""
    total = sum(len(b) for b in batches)
    done = 0

    def report(batch: list) -> None:
        nonlocal done
        done += len(batch)
        if progress is not None:
            progress(done, total)

    if nj <= 1 or len(batches) <= 1:
        for batch in batches:
            result = work(batch)
            report(batch)
            yield result
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(nj, len(batches)), mp_context=context) as pool:
        for batch, result in zip(batches, pool.map(work, batches), strict=True):
            report(batch)
            yield result


def strip_variant(word: str) -> str:
    """``the(2)`` → ``the``: pocketsphinx and Sphinx-3 mark pronunciation variants with ``(n)``."""
    if word.endswith(")") and "(" in word:
        base, _, number = word[:-1].rpartition("(")
        if base and number.isdigit():
            return base
    return word


def is_filler(word: str) -> bool:
    """Silence, sentence and noise tokens of Sphinx: ``<s>``, ``</s>``, ``<sil>``, ``[NOISE]``, ``++X++``."""
    return word.startswith(("<", "[", "++")) or word == "sil"


def in_vocabulary(words: Iterable[str], options: tuple = ()) -> set[str]:
    """The subset of ``words`` the decoder's pronunciation dictionary knows."""
    dec = decoder(options)
    return {w for w in set(words) if dec.lookup_word(w) is not None}

"""Word alignment of ``text`` by pocketsphinx forced alignment → ``words.ctm``; and its evaluation.

Per utterance: the spoken words of ``text`` (non-verbal tags dropped) that the en-us pronunciation
dictionary knows are aligned against the audio, padded and dithered as :mod:`serkit.text.sphinx`
describes, with the wide beams of ``mini_corpus.md`` §4 (``beam=1e-80, wbeam=1e-60, pbeam=1e-80``).
Times are 10 ms frames, end frame inclusive, shifted back by the padding and clipped to the utterance.

* Out-of-vocabulary words are left out of the alignment (their time goes to the neighbours) and counted;
  ``words.ctm`` then lacks them.
* An utterance whose decoding does not reproduce its word sequence (pocketsphinx: "final result does
  not match the grammar") or has no known word is listed as failed and has no ctm lines.
* English only (the bundled acoustic model and dictionary).
"""

from __future__ import annotations

import difflib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serkit import datadir
from serkit.datadir import CtmWord
from serkit.errors import SerkitError
from serkit.text import sphinx
from serkit.text.normalize import spoken_words

ALIGN_OPTIONS = (("bestpath", False), ("beam", 1e-80), ("wbeam", 1e-60), ("pbeam", 1e-80))
FRAME = 0.01


@dataclass
class AlignReport:
    """Counts of an ``align-words`` run."""

    data_dir: Path
    aligned: int = 0
    failed: list[str] = field(default_factory=list)
    no_words: list[str] = field(default_factory=list)
    oov: Counter = field(default_factory=Counter)
    words: int = 0
    elapsed_seconds: float = 0.0

    def as_meta(self) -> dict:
        return {
            "source": "pocketsphinx 5 forced alignment (en-us), dithered, 10 ms frames",
            "aligned_utterances": self.aligned,
            "aligned_words": self.words,
            "failed_utterances": sorted(self.failed),
            "utterances_without_known_words": len(self.no_words),
            "oov_words_not_aligned": sum(self.oov.values()),
            "oov_examples": [w for w, _ in self.oov.most_common(20)],
        }


def _align_batch(batch: list[tuple[str, datadir.WavEntry, list[str]]]) -> dict[str, tuple]:
    """``utt → (status, ctm words, oov words)`` of one chunk; status is ok, no-known-words or failed."""
    dec = sphinx.decoder(ALIGN_OPTIONS)
    out: dict[str, tuple] = {}
    for utt, entry, words in batch:
        known = [w for w in words if dec.lookup_word(w) is not None]
        oov = [w for w in words if dec.lookup_word(w) is None]
        if not known:
            out[utt] = ("no-known-words", [], oov)
            continue
        pcm = sphinx.utterance_pcm(utt, entry)
        duration = len(pcm) / 2 / sphinx.SAMPLE_RATE - 2 * sphinx.PAD_SECONDS
        try:
            dec.set_align_text(" ".join(known))
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            segments = list(dec.seg()) if dec.hyp() is not None else []
        except RuntimeError:  # e.g. a text the decoder cannot build a grammar for
            segments = []
            try:
                dec.end_utt()
            except RuntimeError:
                pass
        ctm = []
        for seg in segments:
            word = sphinx.strip_variant(seg.word)
            if sphinx.is_filler(word):
                continue
            start = min(max(seg.start_frame * FRAME - sphinx.PAD_SECONDS, 0.0), duration)
            end = min(max((seg.end_frame + 1) * FRAME - sphinx.PAD_SECONDS, start), duration)
            ctm.append(CtmWord(round(start, 3), round(end - start, 3), word))
        ok = [w.word for w in ctm] == known
        out[utt] = ("ok" if ok else "failed", ctm if ok else [], oov)
    return out


def align_data_dir(
    data_dir: str | Path, *, nj: int = 1, progress: sphinx.ProgressCallback | None = None
) -> AlignReport:
    """Force-align ``text`` of ``data_dir`` and write ``words.ctm`` (replacing an existing one)."""
    if nj < 1:
        raise SerkitError(f"--nj must be at least 1, got {nj}")
    data = datadir.load(data_dir)
    if not data.text:
        raise SerkitError(
            "no text in the data dir", path=Path(data_dir) / "text", hint="forced alignment needs transcripts"
        )
    started = time.perf_counter()
    report = AlignReport(Path(data_dir))
    items = []
    for utt in data.utts:
        words = spoken_words(data.text.get(utt, ""))
        if words:
            items.append((utt, data.wav_scp[utt], words))
        else:
            report.no_words.append(utt)
    ctm: dict[str, list[CtmWord]] = {}
    for result in sphinx.run_chunks(_align_batch, sphinx.chunks(items), nj, progress):
        for utt, (status, words, oov) in result.items():
            report.oov.update(oov)
            if status != "ok":
                (report.failed if status == "failed" else report.no_words).append(utt)
                continue
            ctm[utt] = words
            report.aligned += 1
            report.words += len(words)
    report.elapsed_seconds = round(time.perf_counter() - started, 3)
    data.words_ctm = ctm
    data.meta = {**data.meta, "words_ctm": report.as_meta()}
    datadir.save(data, data_dir)
    if not ctm and (Path(data_dir) / "words.ctm").exists():
        (Path(data_dir) / "words.ctm").unlink()
    return report


@dataclass(frozen=True)
class BoundaryError:
    """Word boundary differences (seconds) between two alignments of the same words."""

    onsets: tuple[float, ...]
    offsets: tuple[float, ...]
    utterances: int

    @property
    def words(self) -> int:
        return len(self.onsets)

    def summary(self) -> dict:
        both = np.abs(np.concatenate([self.onsets, self.offsets])) * 1000 if self.onsets else np.zeros(1)
        on = np.abs(np.asarray(self.onsets)) * 1000 if self.onsets else np.zeros(1)
        off = np.abs(np.asarray(self.offsets)) * 1000 if self.offsets else np.zeros(1)
        return {
            "utterances": self.utterances,
            "words": self.words,
            "mean_boundary_error_ms": round(float(both.mean()), 2),
            "median_boundary_error_ms": round(float(np.median(both)), 2),
            "p90_boundary_error_ms": round(float(np.percentile(both, 90)), 2),
            "mean_onset_error_ms": round(float(on.mean()), 2),
            "mean_offset_error_ms": round(float(off.mean()), 2),
            "within_50ms": round(float(np.mean(both <= 50.0)), 4),
        }


def read_reference(path: str | Path) -> dict[str, list[CtmWord]]:
    """Reference word times: a ``words.ctm``, or a mini corpus ``manifest.jsonl`` (true synthesis times)."""
    path = Path(path)
    if not path.is_file():
        raise SerkitError(
            "reference alignment not found", path=path, hint="give a words.ctm or manifest.jsonl"
        )
    if path.suffix != ".jsonl":
        return datadir.read_ctm(path)
    out: dict[str, list[CtmWord]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            words = [(w["word"], float(w["start"]), float(w["end"])) for w in record["words"]]
            utt = record["utt"]
        except (ValueError, KeyError, TypeError):
            raise SerkitError(
                "not a manifest record with 'utt' and 'words'",
                path=path,
                line=number,
                hint="give the manifest.jsonl of a mini corpus",
            ) from None
        out[utt] = [CtmWord(s, e - s, t) for word, s, e in words for t in spoken_words(word)]
    return out


def compare_alignments(
    reference: dict[str, list[CtmWord]], hypothesis: dict[str, list[CtmWord]]
) -> BoundaryError:
    """Onset/offset differences of the words both alignments share (matched in order, by word)."""
    onsets: list[float] = []
    offsets: list[float] = []
    utterances = 0
    for utt in datadir.sorted_ids(set(reference) & set(hypothesis)):
        ref, hyp = reference[utt], hypothesis[utt]
        matcher = difflib.SequenceMatcher(a=[w.word for w in ref], b=[w.word for w in hyp], autojunk=False)
        pairs = [(ref[b.a + k], hyp[b.b + k]) for b in matcher.get_matching_blocks() for k in range(b.size)]
        if pairs:
            utterances += 1
        for r, h in pairs:
            onsets.append(h.start - r.start)
            offsets.append(h.end - r.end)
    return BoundaryError(tuple(onsets), tuple(offsets), utterances)

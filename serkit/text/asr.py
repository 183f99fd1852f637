"""Offline English ASR with pocketsphinx 5 → ``text.asr``; or import a user's own ASR transcripts.

Language models (``--lm``):

* ``generic``: the US-English trigram bundled with pocketsphinx (a hard condition: 45–70 % WER on the
  synthetic mini corpus, ``mini_corpus.md`` §4).
* an ARPA or binary LM file (``*.arpa``, ``*.lm``, ``*.bin``, ``*.dmp``) is used as it is;
* any other file is read as sentences, one per line, normalised with :mod:`serkit.text.normalize`, and
  turned into a trigram LM with pocketsphinx's ``ArpaBoLM`` (e.g. the training set's ``text`` without
  its first column) — the "domain LM" condition.

``fast=True`` uses the reduced search of ``mini_corpus.md`` §4 (``ds=2, topn=2, maxwpf=5,
maxhmmpf=3000, pl_window=10``): about twice as fast, more errors. Hypotheses are normalised like the
reference ``text``; the WER (:mod:`serkit.text.wer`) is reported whenever ``text`` exists, and stored
in ``meta.json`` under ``asr``.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from serkit import datadir
from serkit.errors import SerkitError
from serkit.text import sphinx
from serkit.text.normalize import normalize, spoken_words
from serkit.text.wer import WerCounts, corpus_wer

GENERIC = "generic"
LM_SUFFIXES = (".arpa", ".lm", ".bin", ".dmp")
FAST_SEARCH = (("ds", 2), ("topn", 2), ("maxwpf", 5), ("maxhmmpf", 3000), ("pl_window", 10))


@dataclass
class AsrReport:
    """What ``transcribe`` or ``import`` did: the source, the WER (if ``text`` exists), timing."""

    data_dir: Path
    source: str
    utterances: int
    wer: WerCounts | None = None
    audio_seconds: float = 0.0
    elapsed_seconds: float = 0.0
    missing: list[str] = field(default_factory=list)

    def as_meta(self) -> dict:
        meta = {"source": self.source, "utterances": self.utterances}
        if self.wer is not None:
            meta["wer_against_text"] = self.wer.as_dict()
        if self.missing:
            meta["missing_hypotheses"] = len(self.missing)
        return meta


def build_lm(sentences: Path, arpa_out: Path) -> Path:
    """Write a trigram ARPA LM estimated from a file of sentences (one per line) with ``ArpaBoLM``."""
    from pocketsphinx.lm import ArpaBoLM

    if not sentences.is_file():
        raise SerkitError("language-model text not found", path=sentences, hint="give a file of sentences")
    lines = [normalize(line) for line in sentences.read_text(encoding="utf-8", errors="replace").splitlines()]
    lines = [" ".join(spoken_words(line)) for line in lines]
    lines = [line for line in lines if line]
    if not lines:
        raise SerkitError("no words in the language-model text", path=sentences, hint="one sentence a line")
    model = ArpaBoLM(text="\n".join(lines), add_start=True, case="lower")
    model.compute()
    model.write_file(str(arpa_out))
    return arpa_out


def _lm_options(lm: str, workdir: Path) -> tuple[tuple, str]:
    """Decoder options and a description for ``--lm``."""
    if lm == GENERIC:
        return (), "pocketsphinx en-us generic LM"
    path = Path(lm)
    if not path.is_file():
        raise SerkitError(
            "language model not found", path=path, hint="give 'generic', an ARPA file or a text file"
        )
    if path.suffix.lower() in LM_SUFFIXES:
        return (("lm", str(path.resolve())),), f"LM {path}"
    arpa = build_lm(path, workdir / "domain.arpa")
    return (("lm", str(arpa)),), f"trigram LM built from {path}"


def _decode_batch(batch: list[tuple[str, datadir.WavEntry]], options: tuple) -> dict[str, tuple[str, float]]:
    dec = sphinx.decoder(options)
    out = {}
    for utt, entry in batch:
        pcm = sphinx.utterance_pcm(utt, entry)
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        hyp = dec.hyp()
        words = [sphinx.strip_variant(s.word) for s in dec.seg()] if hyp is not None else []
        text = normalize(" ".join(w for w in words if not sphinx.is_filler(w)))
        out[utt] = (text, len(pcm) / 2 / sphinx.SAMPLE_RATE - 2 * sphinx.PAD_SECONDS)
    return out


def transcribe(
    data_dir: str | Path,
    *,
    lm: str = GENERIC,
    fast: bool = False,
    nj: int = 1,
    progress: sphinx.ProgressCallback | None = None,
) -> AsrReport:
    """Decode every utterance of ``data_dir`` and write ``text.asr`` (and ``meta.json``'s ``asr``)."""
    if nj < 1:
        raise SerkitError(f"--nj must be at least 1, got {nj}")
    data = datadir.load(data_dir)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="serkit-lm-") as tmp:
        options, description = _lm_options(lm, Path(tmp))
        if fast:
            options = options + FAST_SEARCH
            description += ", fast search"
        items = [(utt, data.wav_scp[utt]) for utt in data.utts]
        hyps: dict[str, str] = {}
        audio_seconds = 0.0
        work = partial(_decode_batch, options=options)
        for result in sphinx.run_chunks(work, sphinx.chunks(items), nj, progress):
            for utt, (text, seconds) in result.items():
                hyps[utt] = text
                audio_seconds += seconds
    report = AsrReport(
        Path(data_dir),
        f"pocketsphinx 5 ({description})",
        len(hyps),
        corpus_wer(data.text, hyps) if data.text else None,
        round(audio_seconds, 3),
        round(time.perf_counter() - started, 3),
    )
    _write(data, hyps, report)
    return report


def import_transcripts(data_dir: str | Path, transcripts: str | Path, subset: bool = False) -> AsrReport:
    """Use a user's ASR output (``utt words ...`` lines) as ``text.asr``, normalised; report its WER.

    ``subset``: the file may hold other utterances too (a recipe's ``data/all/text.asr`` handed to
    each of its sets); their lines are skipped instead of being an error.
    """
    data = datadir.load(data_dir)
    path = Path(transcripts)
    if not path.is_file():
        raise SerkitError(
            "ASR transcript file not found", path=path, hint="one 'utt words ...' line per utterance"
        )
    hyps: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        utt, _, words = line.strip().partition(" ")
        if utt not in data.wav_scp and subset:
            continue
        if utt not in data.wav_scp:
            raise SerkitError(
                f"utterance {utt!r} is not in {data_dir}/wav.scp",
                path=path,
                line=number,
                hint="use the data dir's utterance ids as the first field",
            )
        if utt in hyps:
            raise SerkitError(
                f"duplicate utterance {utt!r}", path=path, line=number, hint="one line per utterance"
            )
        hyps[utt] = normalize(words)
    missing = [u for u in data.utts if u not in hyps]
    for utt in missing:
        hyps[utt] = ""
    report = AsrReport(
        Path(data_dir),
        f"imported from {path}",
        len(hyps) - len(missing),
        corpus_wer(data.text, hyps) if data.text else None,
        missing=missing,
    )
    _write(data, hyps, report)
    return report


def _write(data: datadir.DataDir, hyps: dict[str, str], report: AsrReport) -> None:
    data.text_asr = hyps
    data.meta = {**data.meta, "asr": report.as_meta()}
    datadir.save(data, report.data_dir)

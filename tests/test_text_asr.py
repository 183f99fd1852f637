"""serkit transcribe: imported transcripts, language models, errors (decoding: test_prepare_mini)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_serkit

from serkit import datadir, validate
from serkit.errors import SerkitError
from serkit.text import asr, sphinx


def test_import_normalises_reports_wer_and_fills_missing(data_dir: Path, tmp_path: Path) -> None:
    utts = datadir.load(data_dir).utts
    hyps = tmp_path / "hyps.txt"
    hyps.write_text(f"{utts[0]} Hello, THERE world!\n\n{utts[1]} hello world\n")
    report = asr.import_transcripts(data_dir, hyps)
    assert report.utterances == 2 and report.missing == utts[2:]
    # 6 utterances of "hello there world": 0 + 1 deletion + 4 × 3 deletions
    assert (report.wer.errors, report.wer.ref_words) == (13, 18)
    data = datadir.load(data_dir)
    assert data.text_asr[utts[0]] == "hello there world" and data.text_asr[utts[3]] == ""
    assert data.meta["asr"]["missing_hypotheses"] == 4
    assert [p for p in validate.validate(data_dir) if p.severity == "error"] == []


def test_import_rejects_unknown_and_duplicate_ids(data_dir: Path, tmp_path: Path) -> None:
    utt = datadir.load(data_dir).utts[0]
    hyps = tmp_path / "hyps.txt"
    hyps.write_text(f"{utt} a\nnobody b\n")
    with pytest.raises(SerkitError) as caught:
        asr.import_transcripts(data_dir, hyps)
    assert caught.value.line == 2 and "not in" in caught.value.message
    hyps.write_text(f"{utt} a\n{utt} b\n")
    with pytest.raises(SerkitError, match="duplicate"):
        asr.import_transcripts(data_dir, hyps)


def test_import_subset_takes_this_dirs_lines_of_a_larger_file(data_dir: Path, tmp_path: Path) -> None:
    utts = datadir.load(data_dir).utts
    hyps = tmp_path / "all.txt"
    hyps.write_text(f"another-utt words of another set\n{utts[0]} hello there world\n")
    r = run_serkit("transcribe", str(data_dir), "--import", str(hyps), "--subset")
    assert r.returncode == 0, r.stderr
    assert datadir.load(data_dir).text_asr[utts[0]] == "hello there world"
    r = run_serkit("transcribe", str(data_dir), "--subset")
    assert r.returncode == 2 and "--subset only applies with --import" in r.stdout + r.stderr


def test_language_model_from_sentences(tmp_path: Path) -> None:
    sentences = tmp_path / "lm.txt"
    sentences.write_text("Hello there, world!\n[LAUGHTER] good morning world\n\n")
    arpa = asr.build_lm(sentences, tmp_path / "x.arpa")
    text = arpa.read_text()
    assert "\\data\\" in text and "hello" in text and "laughter" not in text
    options, description = asr._lm_options(str(sentences), tmp_path)
    assert options[0][0] == "lm" and "built from" in description
    assert asr._lm_options("generic", tmp_path) == ((), "pocketsphinx en-us generic LM")
    assert asr._lm_options(str(arpa), tmp_path)[0] == (("lm", str(arpa.resolve())),)
    with pytest.raises(SerkitError, match="language model not found"):
        asr._lm_options(str(tmp_path / "none.arpa"), tmp_path)
    (tmp_path / "empty.txt").write_text("...\n")
    with pytest.raises(SerkitError, match="no words"):
        asr.build_lm(tmp_path / "empty.txt", tmp_path / "y.arpa")


def test_decoder_audio_is_padded_dithered_and_deterministic(data_dir: Path) -> None:
    data = datadir.load(data_dir)
    utt = data.utts[0]
    pcm = sphinx.utterance_pcm(utt, data.wav_scp[utt])
    again = sphinx.utterance_pcm(utt, data.wav_scp[utt])
    assert pcm == again and len(pcm) == 2 * (16000 + 2 * 4000)
    other = sphinx.utterance_pcm(data.utts[1], data.wav_scp[utt])
    assert other != pcm  # the dither is seeded by the utterance id
    assert sphinx.strip_variant("the(2)") == "the" and sphinx.strip_variant("(2)") == "(2)"
    assert sphinx.is_filler("<sil>") and sphinx.is_filler("[NOISE]") and not sphinx.is_filler("sil_k")


def test_cli_import_prints_the_wer(data_dir: Path, tmp_path: Path) -> None:
    utts = datadir.load(data_dir).utts
    hyps = tmp_path / "hyps.txt"
    hyps.write_text("".join(f"{u} hello there world\n" for u in utts))
    done = run_serkit("transcribe", str(data_dir), "--import", str(hyps))
    assert done.returncode == 0, done.stderr
    assert "WER against text" in done.stderr and "0.0%" in done.stderr

"""Forced-alignment bookkeeping: references, boundary errors, errors (real alignment: test_prepare_mini)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serkit import datadir
from serkit.datadir import CtmWord
from serkit.errors import SerkitError
from serkit.text import align


def test_compare_alignments_matches_words_in_order() -> None:
    ref = {"u1": [CtmWord(0.1, 0.2, "a"), CtmWord(0.3, 0.2, "b"), CtmWord(0.5, 0.1, "c")], "u2": []}
    hyp = {"u1": [CtmWord(0.12, 0.2, "a"), CtmWord(0.5, 0.12, "c"), CtmWord(0.7, 0.1, "x")], "u3": []}
    error = align.compare_alignments(ref, hyp)
    assert error.words == 2 and error.utterances == 1
    assert error.onsets == pytest.approx((0.02, 0.0)) and error.offsets == pytest.approx((0.02, 0.02))
    summary = error.summary()
    assert summary["mean_boundary_error_ms"] == pytest.approx(15.0)
    assert summary["within_50ms"] == 1.0


def test_read_reference_from_ctm_or_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.jsonl"
    record = {
        "utt": "u1",
        "words": [{"word": "Hello", "start": 0.1, "end": 0.4}, {"word": "x-ray", "start": 0.4, "end": 0.9}],
    }
    manifest.write_text(json.dumps(record) + "\n")
    ref = align.read_reference(manifest)
    assert [(w.word, w.start) for w in ref["u1"]] == [("hello", 0.1), ("x", 0.4), ("ray", 0.4)]
    manifest.write_text('{"utt": "u1"}\n')
    with pytest.raises(SerkitError) as caught:
        align.read_reference(manifest)
    assert caught.value.line == 1
    with pytest.raises(SerkitError, match="not found"):
        align.read_reference(tmp_path / "none.ctm")


def test_align_needs_text(data_dir: Path) -> None:
    (data_dir / "text").unlink()
    with pytest.raises(SerkitError, match="no text"):
        align.align_data_dir(data_dir)
    assert datadir.load(data_dir).words_ctm  # untouched

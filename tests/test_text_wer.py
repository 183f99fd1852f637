"""Word error rate (serkit.text.wer)."""

from __future__ import annotations

from serkit.text.wer import WerCounts, corpus_wer, edit_counts


def test_edit_counts_substitution_deletion_insertion() -> None:
    assert edit_counts("a b c d".split(), "a x c d e".split()) == WerCounts(1, 0, 1, 4, 1)
    assert edit_counts("a b c".split(), []) == WerCounts(0, 3, 0, 3, 1)
    assert edit_counts([], "a".split()) == WerCounts(0, 0, 1, 0, 1)
    assert edit_counts("the cat sat".split(), "the cat sat".split()).errors == 0


def test_corpus_wer_pools_errors_and_ignores_tags_and_case() -> None:
    refs = {"u1": "<laughter> Hello World", "u2": "one two three four"}
    hyps = {"u1": "hello word", "u2": "one two three four"}
    result = corpus_wer(refs, hyps)
    assert (result.errors, result.ref_words, result.utterances) == (1, 6, 2)
    assert abs(result.rate - 1 / 6) < 1e-12
    assert corpus_wer({"u1": "a b"}, {}).deletions == 2  # missing hypothesis = empty
    assert result.as_dict()["wer"] == round(1 / 6, 4)

"""Word error rate: Levenshtein alignment of reference and hypothesis words.

Both sides are normalised with :mod:`serkit.text.normalize` and non-verbal tags are left out, so the
rate counts spoken words only. The corpus rate is total errors over total reference words (not a mean of
per-utterance rates), as NIST sclite reports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from serkit.text.normalize import spoken_words


@dataclass(frozen=True)
class WerCounts:
    """Substitutions, deletions and insertions against ``ref_words`` reference words."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    ref_words: int = 0
    utterances: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors per reference word (0 when there are no reference words and no insertions)."""
        if self.ref_words == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return self.errors / self.ref_words

    def __add__(self, other: WerCounts) -> WerCounts:
        return WerCounts(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.ref_words + other.ref_words,
            self.utterances + other.utterances,
        )

    def as_dict(self) -> dict:
        return {
            "wer": round(self.rate, 4),
            "errors": self.errors,
            "substitutions": self.substitutions,
            "deletions": self.deletions,
            "insertions": self.insertions,
            "ref_words": self.ref_words,
            "utterances": self.utterances,
        }


def edit_counts(ref: list[str], hyp: list[str]) -> WerCounts:
    """Minimum-edit alignment of two word lists; ties prefer substitutions, then deletions."""
    # cost[j] = (total, sub, del, ins) for ref[:i] against hyp[:j]
    previous = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        current = [(i, 0, i, 0)]
        for j in range(1, len(hyp) + 1):
            diag = previous[j - 1]
            same = ref[i - 1] == hyp[j - 1]
            candidates = [
                (diag[0] + (0 if same else 1), diag[1] + (0 if same else 1), diag[2], diag[3]),
                (previous[j][0] + 1, previous[j][1], previous[j][2] + 1, previous[j][3]),
                (current[j - 1][0] + 1, current[j - 1][1], current[j - 1][2], current[j - 1][3] + 1),
            ]
            current.append(min(candidates, key=lambda c: c[0]))
        previous = current
    _, sub, dele, ins = previous[-1]
    return WerCounts(sub, dele, ins, len(ref), 1)


def corpus_wer(references: dict[str, str], hypotheses: dict[str, str]) -> WerCounts:
    """WER over the utterances present in ``references`` (a missing hypothesis counts as empty)."""
    total = WerCounts()
    for utt, ref in references.items():
        total += edit_counts(spoken_words(ref), spoken_words(hypotheses.get(utt, "")))
    return total

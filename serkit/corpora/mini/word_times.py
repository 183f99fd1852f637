"""Exact word start/end times from espeak's WORD and PHONEME events, with fused words split.

A word starts at its WORD event. It ends at the next word's start, or at the first pause phoneme after
its start if that comes earlier. espeak fuses frequent pairs ("I am", "in the", "was a") into one WORD
event: the tokens left without an event share their group's phonemes in proportion to the phoneme count
each has when spoken alone, and are marked ``merged``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from serkit.corpora.mini.synth import EVENT_PHONEME, EVENT_WORD, Event


@dataclass(frozen=True)
class WordTime:
    """One spoken token with its start and end in seconds and whether it came out of a fused event."""

    word: str
    start: float
    end: float
    merged: bool = False

    def shifted(self, seconds: float) -> WordTime:
        """The same word moved by ``seconds``."""
        return WordTime(self.word, self.start + seconds, self.end + seconds, self.merged)


def _is_pause(phoneme: str) -> bool:
    return phoneme.startswith("_")


def align_words(
    words: Sequence[str],
    spans: Sequence[tuple[int, int]],
    events: Sequence[Event],
    n_samples: int,
    sample_rate: int,
    phoneme_count: Callable[[str], int],
) -> list[WordTime]:
    """Times of ``words`` (character ``spans`` in the synthesised text) from one utterance's ``events``."""
    if not words:
        return []
    word_events = [e for e in events if e.kind == EVENT_WORD]
    phonemes = [e for e in events if e.kind == EVENT_PHONEME]
    if not word_events:
        raise ValueError("espeak produced no WORD events")
    groups: dict[int, list[int]] = {}
    for index, (start_char, _) in enumerate(spans):
        owner = 0
        for k, event in enumerate(word_events):
            if event.position <= start_char:
                owner = k
        groups.setdefault(owner, []).append(index)
    owners = sorted(groups)
    starts: list[int] = [0] * len(words)
    merged: list[bool] = [False] * len(words)
    for rank, owner in enumerate(owners):
        members = groups[owner]
        group_start = word_events[owner].sample
        group_end = word_events[owners[rank + 1]].sample if rank + 1 < len(owners) else n_samples
        starts[members[0]] = group_start
        if len(members) == 1:
            continue
        voiced = [
            p.sample for p in phonemes if group_start <= p.sample < group_end and not _is_pause(p.phoneme)
        ]
        counts = [phoneme_count(words[i]) for i in members]
        total, before = sum(counts), 0
        for member, count in zip(members, counts, strict=True):
            merged[member] = True
            if member != members[0]:
                cut = round(before / total * len(voiced))
                starts[member] = voiced[cut] if cut < len(voiced) else group_end
                starts[member] = max(starts[member], starts[member - 1] + 1)
            before += count
    pauses = [p.sample for p in phonemes if _is_pause(p.phoneme)]
    result = []
    for i, word in enumerate(words):
        limit = starts[i + 1] if i + 1 < len(words) else n_samples
        end = min([p for p in pauses if starts[i] < p < limit], default=limit)
        result.append(WordTime(word, starts[i] / sample_rate, end / sample_rate, merged[i]))
    return result

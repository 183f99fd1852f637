"""Template sentences whose emotion words agree with the acted emotion, are absent, or belong to another one.

The label is always the acted emotion; the words are a second, imperfect cue. Each sentence records its
lexical mode (``congruent``, ``neutral`` or ``incongruent``) and the emotion its words carry, so that tests
can check what each modality can know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from serkit.corpora.mini.profiles import EMOTIONS

WORDED_EMOTIONS: tuple[str, ...] = tuple(e for e in EMOTIONS if e != "neu")
"""Emotions that have their own words (neutral text carries no emotion words)."""

MODE_PROBABILITIES: dict[str, dict[str, float]] = {
    "emotional": {"congruent": 0.65, "neutral": 0.25, "incongruent": 0.10},
    "neutral": {"neutral": 0.85, "incongruent": 0.15},
}
"""Lexical-mode proportions for acted emotional classes and for acted neutral."""

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True)
class Lexicon:
    """Slots and frames of one language; frames use ``{topic} {pred} {emo} {tag} {shared}``."""

    language: str
    topics: tuple[str, ...]
    predicates: tuple[str, ...]
    phrases: dict[str, tuple[str, ...]]
    tags: dict[str, tuple[str, ...]]
    shared_tags: tuple[str, ...]
    emotional_frames: tuple[str, ...]
    neutral_frames: tuple[str, ...]
    filler: str


@dataclass(frozen=True)
class Sentence:
    """Display text (capitalised, punctuated), its spoken word tokens (lower case) and its lexical truth."""

    text: str
    words: tuple[str, ...]
    lex_mode: str
    lex_emo: str | None


ENGLISH = Lexicon(
    language="en",
    topics=(
        "the meeting",
        "the movie",
        "the dinner",
        "the trip",
        "the party",
        "the weekend",
        "the interview",
        "the letter",
        "the concert",
        "the game",
        "the result",
        "the exam",
        "the visit",
        "the show",
        "the project",
        "the holiday",
        "the wedding",
        "the flight",
        "the lesson",
        "the report",
    ),
    predicates=(
        "is on tuesday",
        "starts at noon",
        "was last week",
        "took about an hour",
        "is on the second floor",
        "happened in the morning",
        "was in the city",
        "ends at five",
        "is next month",
        "was on the radio",
        "moved to friday",
        "is in the old building",
    ),
    phrases={
        "hap": (
            "wonderful",
            "great fun",
            "so much fun",
            "really lovely",
            "fantastic",
            "a real joy",
            "amazing",
            "the best thing ever",
            "delightful",
            "perfect",
        ),
        "ang": (
            "ridiculous",
            "outrageous",
            "unacceptable",
            "infuriating",
            "a total insult",
            "completely stupid",
            "absurd",
            "a bad joke",
            "pathetic",
            "a disgrace",
        ),
        "sad": (
            "so sad",
            "heartbreaking",
            "depressing",
            "miserable",
            "a terrible loss",
            "lonely",
            "painful",
            "gloomy",
            "tragic",
            "hopeless",
        ),
    },
    tags={
        "hap": ("i love it", "i am so glad", "how wonderful", "i am thrilled"),
        "ang": ("i hate this", "i am furious", "how dare they", "this is outrageous"),
        "sad": ("i miss it", "i feel so sad", "i am heartbroken", "it hurts"),
    },
    shared_tags=("oh my god", "honestly", "you know", "well", "i can not believe it"),
    emotional_frames=(
        "{topic} was {emo}",
        "{tag}, {topic} was {emo}",
        "{shared}, {topic} was {emo}",
        "i think {topic} was {emo}",
        "{topic} was {emo}, {tag}",
        "we all agreed {topic} was {emo}",
    ),
    neutral_frames=(
        "{topic} {pred}",
        "they said {topic} {pred}",
        "{shared}, {topic} {pred}",
        "i heard {topic} {pred}",
        "as far as i know {topic} {pred}",
    ),
    filler="hmm",
)

GERMAN = Lexicon(
    language="de",
    topics=(
        "der Film",
        "das Essen",
        "die Reise",
        "das Wetter",
        "die Arbeit",
        "der Urlaub",
        "die Werbung",
        "das Konzert",
        "der Ausflug",
        "die Prüfung",
        "das Spiel",
        "die Feier",
    ),
    predicates=(
        "war am Montag",
        "dauert zwei Stunden",
        "ist in der Stadt",
        "beginnt um acht",
        "war gestern Abend",
        "ist nächste Woche",
        "lief im Fernsehen",
        "war im Süden",
    ),
    phrases={
        "hap": (
            "wunderschön",
            "großartig",
            "einfach herrlich",
            "richtig toll",
            "ein großer Spaß",
            "sehr lustig",
            "fantastisch",
            "eine Freude",
        ),
        "ang": (
            "ärgerlich",
            "unverschämt",
            "eine Frechheit",
            "lächerlich",
            "empörend",
            "völlig daneben",
            "eine Zumutung",
            "unmöglich",
        ),
        "sad": (
            "traurig",
            "schade",
            "bedrückend",
            "enttäuschend",
            "furchtbar traurig",
            "schmerzhaft",
            "trostlos",
            "ein großer Verlust",
        ),
    },
    tags={
        "hap": ("ich freue mich", "wie schön", "das macht Spaß"),
        "ang": ("das ärgert mich", "so eine Frechheit", "ich bin wütend"),
        "sad": ("das tut mir leid", "ich bin traurig", "ich vermisse das"),
    },
    shared_tags=("na ja", "also ehrlich", "weißt du", "ach so", "mein Gott"),
    emotional_frames=(
        "{topic} war {emo}",
        "{tag}, {topic} war {emo}",
        "{shared}; {topic} war {emo}",
        "ich finde, {topic} war {emo}",
        "{topic} war {emo}, {tag}",
    ),
    neutral_frames=(
        "{topic} {pred}",
        "sie sagen, {topic} {pred}",
        "{shared}; {topic} {pred}",
        "ich glaube, {topic} {pred}",
    ),
    filler="ähm",
)

LEXICONS: dict[str, Lexicon] = {"en": ENGLISH, "de": GERMAN}


def tokenize(text: str) -> tuple[str, ...]:
    """Spoken word tokens of a display text, lower case, punctuation dropped."""
    return tuple(m.group(0).lower() for m in _WORD.finditer(text))


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the tokens of :func:`tokenize`, in the same order."""
    return [(m.start(), m.end()) for m in _WORD.finditer(text)]


def vocabulary(lexicon: Lexicon) -> set[str]:
    """Every word token any sentence of ``lexicon`` can contain (including its filler)."""
    pieces = [*lexicon.topics, *lexicon.predicates, *lexicon.shared_tags, lexicon.filler]
    for emotion in WORDED_EMOTIONS:
        pieces += [*lexicon.phrases[emotion], *lexicon.tags[emotion]]
    pieces += [re.sub(r"\{\w+\}", " ", frame) for frame in lexicon.emotional_frames + lexicon.neutral_frames]
    return {word for piece in pieces for word in tokenize(piece)}


def _display(raw: str, language: str) -> str:
    text = raw[0].upper() + raw[1:]
    if language == "en":
        text = re.sub(r"\bi\b", "I", text)
    return text + "."


def draw_mode(emotion: str, rng: np.random.Generator) -> str:
    """Draw a lexical mode for an acted ``emotion`` from :data:`MODE_PROBABILITIES`."""
    table = MODE_PROBABILITIES["neutral" if emotion == "neu" else "emotional"]
    modes = list(table)
    return modes[int(rng.choice(len(modes), p=list(table.values())))]


def compose(
    lexicon: Lexicon,
    emotion: str,
    rng: np.random.Generator,
    *,
    mode: str | None = None,
    frame: int | None = None,
) -> Sentence:
    """Compose one sentence for an acted ``emotion``; ``mode`` and ``frame`` (index) may be forced."""
    mode = mode or draw_mode(emotion, rng)
    if mode == "neutral":
        lex_emo = None
    elif mode == "congruent":
        lex_emo = emotion
    else:
        others = [e for e in WORDED_EMOTIONS if e != emotion]
        lex_emo = others[int(rng.integers(len(others)))]
    frames = lexicon.neutral_frames if lex_emo is None else lexicon.emotional_frames
    template = frames[int(rng.integers(len(frames))) if frame is None else frame]
    slots = {
        "topic": lexicon.topics[int(rng.integers(len(lexicon.topics)))],
        "pred": lexicon.predicates[int(rng.integers(len(lexicon.predicates)))],
        "shared": lexicon.shared_tags[int(rng.integers(len(lexicon.shared_tags)))],
    }
    if lex_emo is not None:
        slots["emo"] = lexicon.phrases[lex_emo][int(rng.integers(len(lexicon.phrases[lex_emo])))]
        slots["tag"] = lexicon.tags[lex_emo][int(rng.integers(len(lexicon.tags[lex_emo])))]
    text = _display(template.format(**slots), lexicon.language)
    return Sentence(text=text, words=tokenize(text), lex_mode=mode, lex_emo=lex_emo)


def filler(lexicon: Lexicon) -> Sentence:
    """The short non-lexical vocalisation of ``lexicon`` (transcribed as a filler, not as words)."""
    text = lexicon.filler
    return Sentence(text=text, words=tokenize(text), lex_mode="filler", lex_emo=None)

"""The one transcript normalisation every corpus, ASR output and embedding uses.

Rules, in order (:func:`tokenize`):

1. Unicode NFC; typographic apostrophes (’ ‘ `) become ``'``.
2. Non-verbal tags in any corpus notation — IEMOCAP ``[LAUGHTER]``, Sphinx ``++BREATHING++``,
   SEWA ``<laughter>`` — become one token ``<name>`` (lower case, letters and digits only), e.g.
   ``<laughter>``. :func:`is_tag` recognises them; :func:`spoken_words` drops them (ASR, alignment, WER).
3. Everything else is lower-cased (German umlauts and ß kept) and split into words: runs of letters and
   digits, with apostrophes kept *inside* a word (``don't``, ``you're``). Hyphens, dashes, underscores,
   quotes and all other punctuation separate words (``well-known`` → ``well known``), so the pieces
   are found in cmudict and GloVe. Numbers stay digits (``5.5`` → ``5 5``; no number expansion).
"""

from __future__ import annotations

import re
import unicodedata

_TAG = re.compile(r"\[([^\]\[]*)\]|<([^<>]*)>|\+\+([^+]*)\+\+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})


def tag_token(name: str) -> str | None:
    """``<name>`` for a non-verbal tag's inner text, or None when nothing is left of it."""
    clean = "".join(_WORD.findall(name.lower())).replace("'", "")
    return f"<{clean}>" if clean else None


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def tokenize(text: str) -> list[str]:
    """The normalised tokens of ``text`` (see the module docstring for the rules)."""
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    tokens: list[str] = []
    position = 0
    for match in _TAG.finditer(text):
        tokens += _words(text[position : match.start()])
        tag = tag_token(next(g for g in match.groups() if g is not None))
        if tag:
            tokens.append(tag)
        position = match.end()
    tokens += _words(text[position:])
    return tokens


def normalize(text: str) -> str:
    """``tokenize`` joined by single spaces (the form written to ``text`` and ``text.asr``)."""
    return " ".join(tokenize(text))


def is_tag(token: str) -> bool:
    """True for a non-verbal tag token such as ``<laughter>``."""
    return len(token) > 2 and token[0] == "<" and token[-1] == ">"


def spoken_words(tokens: list[str] | str) -> list[str]:
    """The tokens without non-verbal tags (a string is tokenised first)."""
    if isinstance(tokens, str):
        tokens = tokenize(tokens)
    return [t for t in tokens if not is_tag(t)]

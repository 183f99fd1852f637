"""The one transcript normalisation (serkit.text.normalize)."""

from __future__ import annotations

import pytest

from serkit.text.normalize import is_tag, normalize, spoken_words, tag_token, tokenize


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("[LAUGHTER], That's what they say.", ["<laughter>", "that's", "what", "they", "say"]),
        (
            "Ja, genau. <laughter> Das fand ich auch, GRÖSSE Größe!",
            ["ja", "genau", "<laughter>", "das", "fand", "ich", "auch", "grösse", "größe"],
        ),
        ("YOU'RE well-known I-- ++BREATHING++", ["you're", "well", "known", "i", "<breathing>"]),
        ('Vettese has _____ "managing" partner ', ["vettese", "has", "managing", "partner"]),
        ("’cause it’s 5.5 [ ]", ["cause", "it's", "5", "5"]),
        ("<filler>", ["<filler>"]),
        ("  ", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_normalize_is_idempotent_and_tags_are_recognised() -> None:
    once = normalize("[LAUGHTER] Hello, WORLD! <Clearing Throat>")
    assert once == "<laughter> hello world <clearingthroat>"
    assert normalize(once) == once
    assert is_tag("<laughter>") and not is_tag("<") and not is_tag("hello")
    assert spoken_words(once) == ["hello", "world"]
    assert tag_token("  ") is None and tag_token("BREATHING") == "<breathing>"

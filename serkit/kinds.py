"""The kinds of value a setting takes (type and range), checked where a config or option is read.

A :class:`Kind` says whether a value fits (``fits``) and what fits, in words (``text``: "an integer
>= 1", "a number in [0, 1)"), for the one error line of a wrong value. An integer fits a number;
a boolean fits neither (YAML's ``yes`` is a boolean, not 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """A type and range: ``test`` of a non-null value, its description, whether null fits."""

    test: Callable[[object], bool]
    words: str
    null: bool = False

    def fits(self, value) -> bool:
        return (value is None and self.null) or (value is not None and self.test(value))

    @property
    def text(self) -> str:
        return f"{self.words} (or null)" if self.null else self.words


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bounds(low, high, low_open: bool, high_open: bool) -> tuple[Callable[[float], bool], str]:
    def inside(v) -> bool:
        above = low is None or (v > low if low_open else v >= low)
        below = high is None or (v < high if high_open else v <= high)
        return above and below

    if low is not None and high is not None:
        words = f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    elif low is not None:
        words = f" {'>' if low_open else '>='} {low}"
    elif high is not None:
        words = f" {'<' if high_open else '<='} {high}"
    else:
        words = ""
    return inside, words


def integer(low=None, high=None, *, null: bool = False) -> Kind:
    inside, words = _bounds(low, high, False, False)
    return Kind(lambda v: _is_int(v) and inside(v), f"an integer{words}", null)


def number(
    low=None, high=None, *, low_open: bool = False, high_open: bool = False, null: bool = False
) -> Kind:
    inside, words = _bounds(low, high, low_open, high_open)
    return Kind(lambda v: _is_number(v) and inside(v), f"a number{words}", null)


def boolean(*, null: bool = False) -> Kind:
    return Kind(lambda v: isinstance(v, bool), "true or false", null)


def string(*, null: bool = False) -> Kind:
    return Kind(lambda v: isinstance(v, str) and v != "", "a non-empty string", null)


def one_of(*choices, null: bool = False) -> Kind:
    def test(v) -> bool:  # True == 1 in Python: compare types too
        return any(type(v) is type(c) and v == c for c in choices)

    return Kind(test, "one of " + ", ".join(str(c).lower() for c in choices), null)


def strings(*, null: bool = False) -> Kind:
    return Kind(
        lambda v: isinstance(v, list) and all(isinstance(x, str) and x for x in v), "a list of strings", null
    )


def numbers(
    low=None, *, length: int | None = None, high=None, high_open: bool = False, null: bool = False
) -> Kind:
    inside, words = _bounds(low, high, False, high_open)
    size = f"{length} " if length else ""

    def test(v) -> bool:
        return (
            isinstance(v, list)
            and (length is None or len(v) == length)
            and all(_is_number(x) and inside(x) for x in v)
        )

    return Kind(test, f"a list of {size}numbers{words}", null)


def either(*kinds: Kind, null: bool = False) -> Kind:
    return Kind(lambda v: any(k.fits(v) for k in kinds), " or ".join(k.text for k in kinds), null)


def like(default) -> Kind | None:
    """The kind of a setting whose default is ``default`` (None: no kind can be derived from it)."""
    if isinstance(default, bool):
        return boolean()
    if isinstance(default, int):
        return integer()
    if isinstance(default, float):
        return number()
    if isinstance(default, str):
        return string()
    return None

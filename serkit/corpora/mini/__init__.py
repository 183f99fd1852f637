"""The mini corpus: offline synthetic emotional speech in the exact IEMOCAP, CMU-MOSEI and SEWA layouts."""

from serkit.corpora.mini.generate import GenerationSummary, generate_mini_corpus
from serkit.corpora.mini.layouts import LAYOUT_NAMES, SIZE_NAMES
from serkit.corpora.mini.manifest import MANIFEST_NAME, read_manifest

__all__ = [
    "GenerationSummary",
    "LAYOUT_NAMES",
    "MANIFEST_NAME",
    "SIZE_NAMES",
    "generate_mini_corpus",
    "read_manifest",
]

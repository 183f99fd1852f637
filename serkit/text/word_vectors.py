"""An embedding space in memory: words in file order, one float32 row per word, a word → row index.

Decisions (no source settles them):

- The attribute names are those of gensim's ``KeyedVectors`` (``index_to_key``, ``key_to_index``,
  ``vectors``, ``vector_size``, ``kv[word]``, ``word in kv``), so code reads either type alike; the
  class holds only what serkit uses, and importing it costs numpy alone (gensim's package import
  pulls scipy.stats, seconds of start-up for every command that reads an embedding file).
- A word occurs once: a repeated word is an error here (the file readers keep the first occurrence).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class WordVectors:
    """``vectors[i]`` (float32) is the vector of ``index_to_key[i]``; ``key_to_index`` inverts the list."""

    __slots__ = ("index_to_key", "key_to_index", "vectors")

    def __init__(self, words: Iterable[str], vectors: np.ndarray) -> None:
        words = list(words)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(words):
            raise ValueError(f"{len(words)} words but vectors of shape {vectors.shape}")
        index = {word: i for i, word in enumerate(words)}
        if len(index) != len(words):
            raise ValueError("a word occurs twice")
        self.index_to_key: list[str] = words
        self.key_to_index: dict[str, int] = index
        self.vectors: np.ndarray = vectors

    @classmethod
    def from_gensim(cls, kv) -> WordVectors:
        """The words and vectors of a gensim ``KeyedVectors`` (a trained ``Word2Vec.wv``), in its order."""
        return cls(kv.index_to_key, kv.vectors)

    @property
    def vector_size(self) -> int:
        """The dimension of the vectors."""
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.key_to_index[word]]

    def __repr__(self) -> str:
        return f"WordVectors({len(self)} words × {self.vector_size} dims)"

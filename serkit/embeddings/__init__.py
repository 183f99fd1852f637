"""Speech-side word embeddings and cross-space alignment (DESIGN stages 3-4).

- :mod:`serkit.embeddings.word_instances`: word instances and their neighbours from a word-MFCC store;
- :mod:`serkit.embeddings.speech2vec`: Speech2Vec (Chung & Glass 2018), training and inference;
- :mod:`serkit.embeddings.pseudo_words`: pseudo-word skip-gram (Jacobs & Kamper 2023), serkit's addition;
- :mod:`serkit.embeddings.alignment`: MUSE adversarial + Procrustes/CSLS alignment (Conneau et al. 2018);
- :mod:`serkit.embeddings.self_learning`: stochastic self-learning refinement (Artetxe et al. 2018);
- :mod:`serkit.embeddings.diagnostics`: how much two spaces share, how word-like instance embeddings are.
"""

from serkit.embeddings.alignment import AlignConfig, Alignment, align, align_kv
from serkit.embeddings.diagnostics import evaluate_embeddings, instance_diagnostics, space_diagnostics
from serkit.embeddings.pseudo_words import PseudoWordConfig, PseudoWordModel, train_pseudo_words
from serkit.embeddings.speech2vec import Speech2Vec, Speech2VecConfig, embed_words, train_speech2vec
from serkit.embeddings.word_instances import WordInstances, load_word_instances

__all__ = [
    "AlignConfig",
    "Alignment",
    "PseudoWordConfig",
    "PseudoWordModel",
    "Speech2Vec",
    "Speech2VecConfig",
    "WordInstances",
    "align",
    "align_kv",
    "embed_words",
    "evaluate_embeddings",
    "instance_diagnostics",
    "load_word_instances",
    "space_diagnostics",
    "train_pseudo_words",
    "train_speech2vec",
]

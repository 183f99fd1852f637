"""Speech-side word embeddings and cross-space alignment (DESIGN stages 3-4).

- :mod:`serkit.embeddings.word_instances`: word instances and their neighbours from a word-MFCC store;
- :mod:`serkit.embeddings.speech2vec`: Speech2Vec (Chung & Glass 2018), training and inference;
- :mod:`serkit.embeddings.pseudo_words`: pseudo-word skip-gram (Jacobs & Kamper 2023), serkit's addition;
- :mod:`serkit.embeddings.alignment`: MUSE adversarial + Procrustes/CSLS alignment (Conneau et al. 2018);
- :mod:`serkit.embeddings.self_learning`: stochastic self-learning refinement (Artetxe et al. 2018);
- :mod:`serkit.embeddings.diagnostics`: how much two spaces share, how word-like instance embeddings are.

The names below are re-exported lazily: importing the package imports none of its modules, so a
command pays for torch only when it uses a module that needs it.
"""

import importlib

_HOMES = {
    "AlignConfig": "alignment",
    "Alignment": "alignment",
    "align": "alignment",
    "align_kv": "alignment",
    "evaluate_embeddings": "diagnostics",
    "instance_diagnostics": "diagnostics",
    "space_diagnostics": "diagnostics",
    "PseudoWordConfig": "pseudo_words",
    "PseudoWordModel": "pseudo_words",
    "train_pseudo_words": "pseudo_words",
    "Speech2Vec": "speech2vec",
    "Speech2VecConfig": "speech2vec",
    "embed_words": "speech2vec",
    "train_speech2vec": "speech2vec",
    "WordInstances": "word_instances",
    "load_word_instances": "word_instances",
}
"""Where each name of the package lives; its module is imported on first use (torch only where needed)."""


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


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

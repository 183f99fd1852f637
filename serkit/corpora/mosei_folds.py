"""The standard CMU-MOSEI folds of the CMU-MultimodalSDK (video ids), read from a data file.

``data/cmu_mosei_standard_folds.tsv`` lists ``fold<TAB>video_id`` for the SDK's
``standard_train_fold`` (2,249 videos), ``standard_valid_fold`` (300) and ``standard_test_fold``
(678), in the SDK's order (``mmsdk/mmdatasdk/dataset/standard_datasets/CMU_MOSEI/
cmu_mosei_std_folds.py``): video-level, disjoint, 3,227 videos. Ids are strings (459 are
numeric; some start with ``-``).
"""

from __future__ import annotations

from importlib.resources import files

FOLDS_FILE = "cmu_mosei_standard_folds.tsv"


def _read() -> dict[str, tuple[str, ...]]:
    folds: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    text = files("serkit.corpora").joinpath("data", FOLDS_FILE).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fold, video = line.split("\t")
            folds[fold].append(video)
    return {name: tuple(ids) for name, ids in folds.items()}


STANDARD_FOLDS: dict[str, tuple[str, ...]] = _read()

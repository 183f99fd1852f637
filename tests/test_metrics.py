"""Metrics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from serkit import metrics
from serkit.training.losses import CCCLoss, class_weights


def test_ua_differs_from_wa_on_an_imbalanced_set() -> None:
    # 6 of class 0, 2 of class 1; everything predicted as class 0.
    result = metrics.classification_metrics([0] * 6 + [1] * 2, [0] * 8, ["neu", "ang"])
    assert result["wa"] == pytest.approx(6 / 8)
    assert result["ua"] == pytest.approx((1.0 + 0.0) / 2)
    # F1(neu) = 2 · 0.75 · 1 / 1.75; F1(ang) = 0.
    assert result["f1"] == pytest.approx((2 * 0.75 / 1.75 + 0.0) / 2)
    assert result["confusion"] == [[6, 0], [2, 0]]
    assert result["per_class"]["neu"] == {
        "precision": 0.75,
        "recall": 1.0,
        "f1": pytest.approx(6 / 7),
        "support": 6,
    }
    assert result["utterances"] == 8


def test_three_classes_by_hand() -> None:
    reference = [0, 0, 0, 1, 1, 2]
    predicted = [0, 1, 0, 1, 2, 2]
    result = metrics.classification_metrics(reference, predicted, ["a", "b", "c"])
    assert result["wa"] == pytest.approx(4 / 6)
    assert result["ua"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert result["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert result["per_class"]["c"]["precision"] == pytest.approx(0.5)


def test_ua_averages_over_classes_present_in_the_reference() -> None:
    result = metrics.classification_metrics([0, 0, 1], [0, 2, 1], ["a", "b", "c"])
    assert result["ua"] == pytest.approx((0.5 + 1.0) / 2)  # class c has no reference utterance
    assert result["per_class"]["c"]["support"] == 0


def test_ccc_by_hand() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert metrics.ccc(x, x) == pytest.approx(1.0)
    # Shifted copy: Pearson r = 1 but CCC = 2·1.25 / (1.25 + 1.25 + 1²) = 5/7 < 1.
    assert metrics.ccc(x + 1, x) == pytest.approx(5 / 7)
    # Scaled copy: cov 2.5, var 1.25 and 5, means 2.5 and 5 → 5 / (1.25 + 5 + 6.25) = 0.4.
    assert metrics.ccc(2 * x, x) == pytest.approx(0.4)
    assert metrics.ccc(-x, x) < 0
    assert metrics.ccc(np.ones(3), np.ones(3)) == 0.0  # no variance anywhere: defined as 0


def test_concatenated_ccc_differs_from_the_per_recording_mean() -> None:
    # Each recording is predicted perfectly up to an offset of its mean.
    reference = {"r1": np.array([[0.0], [1.0]]), "r2": np.array([[10.0], [11.0]])}
    predicted = {"r1": np.array([[0.0], [1.0]]), "r2": np.array([[0.0], [1.0]])}
    result = metrics.continuous_metrics(predicted, reference, ["arousal"])
    # Per recording: 1 and 2·0.25 / (0.25 + 0.25 + 100) → mean of the two.
    assert result["ccc_per_recording_arousal"] == pytest.approx((1 + 0.5 / 100.5) / 2)
    # Concatenated: x = [0, 1, 0, 1], y = [0, 1, 10, 11]; cov 0.25, var 0.25 and 25.25, means 0.5 and 5.5.
    assert result["ccc_arousal"] == pytest.approx(0.5 / (0.25 + 25.25 + 25))
    assert result["ccc_mean"] == result["ccc_arousal"]
    assert result["utterances"] == 2 and result["frames"] == 4


def test_fold_mean_and_sample_sd() -> None:
    out = metrics.mean_sd([0.6, 0.7, 0.8])
    assert out["mean"] == pytest.approx(0.7) and out["sd"] == pytest.approx(0.1)


def test_ccc_loss_is_weighted_one_minus_ccc() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=(50, 2))
    predicted = target + rng.normal(size=(50, 2)) + [0.5, -1.0]
    expected = [1 - metrics.ccc(predicted[:, d], target[:, d]) for d in range(2)]
    loss = CCCLoss(2, [1.0, 0.5])(torch.tensor(predicted), torch.tensor(target))
    assert float(loss) == pytest.approx(expected[0] + 0.5 * expected[1], rel=1e-5)
    # Padded frames are left out when a mask is given.
    padded_p = torch.tensor(np.concatenate([predicted, np.zeros((5, 2))]))[None]
    padded_t = torch.tensor(np.concatenate([target, 9 * np.ones((5, 2))]))[None]
    mask = torch.tensor([[True] * 50 + [False] * 5])
    assert float(CCCLoss(2)(padded_p, padded_t, mask)) == pytest.approx(sum(expected) / 2, rel=1e-5)


def test_balanced_class_weights() -> None:
    weights = class_weights("balanced", [0, 0, 0, 1], 2)
    assert weights.tolist() == pytest.approx([4 / (2 * 3), 4 / (2 * 1)])
    assert class_weights(None, [0, 1], 2) is None


@pytest.mark.parametrize("seed", range(6))
def test_classification_metrics_equal_scikit_learns(seed: int) -> None:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(seed)
    classes = ["a", "b", "c", "d", "e"]
    n = int(rng.integers(1, 60))
    reference = rng.integers(0, 4, n)  # class e never in the reference
    predicted = rng.choice([0, 1, 2, 4], n)  # class d never predicted
    got = metrics.classification_metrics(reference, predicted, classes)
    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        reference, predicted, labels=labels, zero_division=0
    )
    present = support > 0
    assert got["wa"] == float(accuracy_score(reference, predicted))
    assert got["ua"] == float(recall[present].mean()) and got["f1"] == float(f1[present].mean())
    assert got["confusion"] == confusion_matrix(reference, predicted, labels=labels).tolist()
    for i, name in enumerate(classes):
        assert got["per_class"][name] == {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
    with pytest.raises(ValueError, match="class indices"):
        metrics.classification_metrics([0, 5], [0, 1], classes)

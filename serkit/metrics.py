"""Scoring metrics for categorical and continuous emotion recognition.

Categorical (one label per utterance):

- **WA** = accuracy (correct utterances / utterances);
- **UA** = mean per-class recall over the classes present in the reference;
- **macro-F1** = mean per-class F1 over the same classes;
- per-class precision / recall / F1 / support, and the confusion matrix (rows = reference).

Multi-label (a 0/1 row per utterance, one value per class; CMU-MOSEI's "present iff intensity > 0"),
each class scored as its own binary present/absent problem, as the MulT line of work reports it:

- **wacc** = weighted accuracy (Tong et al. 2017): (TP · N / P + TN) / (2N), P and N the
  reference positives and negatives;
- **wf1** = weighted F1: F1 of "present" and F1 of "absent" averaged with weights P and N
  (scikit-learn's ``f1_score(average="weighted")``); and plain accuracy **acc**;
- their means over the classes whose reference has both positives and negatives.

Continuous (frames × dimensions per recording):

- **CCC** (Lin's concordance correlation, population moments) per dimension on the
  predictions of the whole partition concatenated (AVEC practice), and
- the same CCC computed per recording and averaged over recordings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

DEFINITIONS = {
    "wa": "weighted accuracy = accuracy (correct utterances / utterances)",
    "ua": "unweighted accuracy = mean per-class recall over the classes present in the reference",
    "f1": "macro-F1 = mean per-class F1 over the classes present in the reference",
    "confusion": "confusion matrix, rows = reference class, columns = predicted class",
    "ccc": "concordance correlation per dimension (population moments) on the concatenated partition",
    "ccc_per_recording": "CCC per dimension computed per recording, then averaged over recordings",
    "sd": "sample standard deviation over folds (n - 1 in the denominator)",
    "wacc": (
        "weighted accuracy of each class's binary present/absent problem, (TP·N/P + TN) / (2N) with P, N "
        "the reference positives and negatives (Tong et al. 2017; as the MulT line of work reports "
        "CMU-MOSEI); wacc_mean = mean over the classes whose reference has both positives and "
        "negatives (a class without either has wacc null and is left out)"
    ),
    "wf1": (
        "weighted F1 of each class's binary problem: (P·F1(present) + N·F1(absent)) / (P + N), as "
        "scikit-learn's f1_score(average='weighted'); wf1_mean = mean over the same classes as "
        "wacc_mean (a class without positives or negatives has wf1 null and is left out)"
    ),
}


def classification_metrics(
    reference: Sequence[int], predicted: Sequence[int], classes: Sequence[str]
) -> dict:
    """WA, UA, macro-F1, per-class scores and the confusion matrix of class indices.

    Counted with numpy, as scikit-learn's ``precision_recall_fscore_support(labels=range(C),
    zero_division=0)`` and ``confusion_matrix`` count them (the same float64 divisions; a test holds
    it to them): importing scikit-learn took seconds of every ``train`` and ``score``.
    """
    reference = np.asarray(reference, dtype=int)
    predicted = np.asarray(predicted, dtype=int)
    if reference.shape != predicted.shape or reference.size == 0:
        raise ValueError(f"need equal, non-empty label arrays, got {reference.shape} and {predicted.shape}")
    n = len(classes)
    if min(reference.min(), predicted.min()) < 0 or max(reference.max(), predicted.max()) >= n:
        raise ValueError(f"class indices must be in 0..{n - 1}")
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (reference, predicted), 1)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    precision = _divide(tp, predicted_count)
    recall = _divide(tp, support)
    f1 = _divide(2.0 * tp, support.astype(np.float64) + predicted_count)
    present = support > 0
    return {
        "wa": float(np.mean(reference == predicted)),
        "ua": float(recall[present].mean()),
        "f1": float(f1[present].mean()),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
        "confusion": confusion.tolist(),
        "utterances": int(reference.size),
    }


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator in float64, 0 where the denominator is 0."""
    denominator = np.asarray(denominator, dtype=np.float64)
    zero = denominator == 0
    out = np.asarray(numerator, dtype=np.float64) / np.where(zero, 1.0, denominator)
    out[zero] = 0.0
    return out


def multilabel_metrics(reference, predicted, classes: Sequence[str]) -> dict:
    """wacc, wf1 and accuracy of each class's binary problem and their means, from N × C 0/1 arrays.

    Flat keys ``wacc_<c>``, ``wf1_<c>``, ``acc_<c>``, ``wacc_mean``, ``wf1_mean`` (None where a
    class's reference lacks positives or negatives; see :data:`DEFINITIONS`), plus ``per_class``
    counts and scores and ``utterances``.
    """
    reference = np.asarray(reference)
    predicted = np.asarray(predicted)
    if reference.ndim != 2 or reference.shape[1] != len(classes) or reference.shape != predicted.shape:
        raise ValueError(f"need two N × {len(classes)} arrays, got {reference.shape} and {predicted.shape}")
    if reference.size == 0 or not (np.isin(reference, (0, 1)).all() and np.isin(predicted, (0, 1)).all()):
        raise ValueError("need non-empty 0/1 arrays")
    reference, predicted = reference.astype(bool), predicted.astype(bool)
    n = len(reference)
    out: dict = {}
    per_class: dict = {}
    for c, name in enumerate(classes):
        ref, pred = reference[:, c], predicted[:, c]
        tp, tn = int((ref & pred).sum()), int((~ref & ~pred).sum())
        fp, fn = int((~ref & pred).sum()), int((ref & ~pred).sum())
        pos, neg = tp + fn, tn + fp
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        per_class[name] = {
            "positives": pos,
            "negatives": neg,
            "tp": tp,
            "tn": tn,
            "fp": fp,
            "fn": fn,
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, pos),
            "f1": f1,
        }
        both = pos > 0 and neg > 0
        f1_absent = _ratio(2 * tn, 2 * tn + fp + fn)
        out[f"wacc_{name}"] = (tp * neg / pos + tn) / (2 * neg) if both else None
        out[f"wf1_{name}"] = (pos * f1 + neg * f1_absent) / n if both else None
        out[f"acc_{name}"] = (tp + tn) / n
    scored = [name for name in classes if out[f"wacc_{name}"] is not None]
    for key in ("wacc", "wf1"):
        values = [out[f"{key}_{name}"] for name in scored]
        out[f"{key}_mean"] = float(np.mean(values)) if values else None
    ordered = {"wacc_mean": out.pop("wacc_mean"), "wf1_mean": out.pop("wf1_mean"), **out}
    return {**ordered, "per_class": per_class, "utterances": n}


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def ccc(predicted: np.ndarray, reference: np.ndarray) -> float:
    """Lin's concordance correlation coefficient of two 1-d series (population moments)."""
    x = np.asarray(predicted, dtype=np.float64).ravel()
    y = np.asarray(reference, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"need equal, non-empty series, got {x.shape} and {y.shape}")
    mx, my = x.mean(), y.mean()
    covariance = ((x - mx) * (y - my)).mean()
    denominator = x.var() + y.var() + (mx - my) ** 2
    return float(2 * covariance / denominator) if denominator > 0 else 0.0


def continuous_metrics(
    predicted: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray], names: Sequence[str]
) -> dict:
    """CCC per dimension on the concatenated partition and averaged per recording.

    ``predicted`` and ``reference`` map a recording id to frames × dims (or dims for
    utterance-level targets) with the same shapes.
    """
    utts = sorted(reference)
    if not utts or set(utts) != set(predicted):
        raise ValueError("predictions and references must cover the same, non-empty set of recordings")
    pred = [np.asarray(predicted[u], dtype=np.float64).reshape(-1, len(names)) for u in utts]
    gold = [np.asarray(reference[u], dtype=np.float64).reshape(-1, len(names)) for u in utts]
    for u, p, g in zip(utts, pred, gold, strict=True):
        if p.shape != g.shape:
            raise ValueError(f"{u}: prediction shape {p.shape} differs from reference {g.shape}")
    all_pred, all_gold = np.concatenate(pred), np.concatenate(gold)
    concatenated = {n: ccc(all_pred[:, d], all_gold[:, d]) for d, n in enumerate(names)}
    out = {f"ccc_{n}": v for n, v in concatenated.items()}
    out["ccc_mean"] = float(np.mean(list(concatenated.values())))
    if all(len(p) > 1 for p in pred):
        per_recording = {
            n: float(np.mean([ccc(p[:, d], g[:, d]) for p, g in zip(pred, gold, strict=True)]))
            for d, n in enumerate(names)
        }
        out.update({f"ccc_per_recording_{n}": v for n, v in per_recording.items()})
        out["ccc_per_recording_mean"] = float(np.mean(list(per_recording.values())))
    out["utterances"] = len(utts)
    out["frames"] = int(len(all_gold))
    return out


def mean_sd(values: Sequence[float]) -> dict:
    """Mean and sample standard deviation (n - 1) of per-fold values."""
    array = np.asarray(values, dtype=np.float64)
    sd = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return {"mean": float(array.mean()), "sd": sd, "values": [float(v) for v in array]}

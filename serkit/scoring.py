"""Scores of an exp dir on a set, with their protocol, and the mean ± sd of folds.

``serkit score EXP --set test`` → :func:`score_exp`: applies ``EXP``'s best checkpoint
(:func:`serkit.experiment.load_trained`) to the set and writes ``EXP/scores/<key>.json``::

    {"config": "mean_pool", "exp": "exp/mean_pool", "set": "test",
     "metrics": {"wa": .., "ua": .., "f1": .., "per_class": {..}, "confusion": [[..]], ...}
                 (or "ccc_<dim>", "ccc_mean", "ccc_per_recording_<dim>", ...,
                  or "wacc_mean", "wf1_mean", "wacc_<class>", "wf1_<class>", "acc_<class>", ...),
     "protocol": {"data_dir", "data_dir_resolved", "split",
                  "corpus": {"name", "synthetic", "utterances", "label"},
                  "utterances", "classes", "class_map" | "dims", "level", "folds": null,
                  "checkpoint", "checkpoint_epoch", "selection", "definitions"}}

A multilabel protocol has ``"task": "multilabel"``, ``classes`` and ``targets`` (the 0/1 file of
the data dir) instead of ``class_map``, and the definitions of wacc and wf1.

``<key>`` is the set name for the config's own sets (``--set test`` or ``--set data/test``)
and a slug of the path with a hash of the resolved path for any other data dir
(:func:`serkit.experiment.score_key`).
Plots go to ``EXP/plots/`` (:mod:`serkit.plots`). When ``EXP`` holds ``fold*/`` exp dirs
instead, each fold is scored and ``EXP/scores/<key>.json`` gets the mean ± sd (sample sd)
of every metric, with the folds' protocol (``protocol.folds`` names them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from serkit import metrics, plots
from serkit.errors import SerkitError
from serkit.experiment import Experiment, choose_device, load_trained, score_key
from serkit.training.dataset import EmotionDataset
from serkit.training.evaluate import predict
from serkit.training.evaluate import score as score_predictions

CORPUS_NAMES = {
    "iemocap": "IEMOCAP",
    "mosei": "CMU-MOSEI",
    "sewa": "SEWA",
    "csv": "a corpus listed in a CSV (prepare-data csv)",
}


def score_exp(exp: str | Path, set_name: str = "test", device: str = "auto") -> dict:
    """Score one exp dir, or every ``fold*`` exp dir below it and their mean ± sd."""
    exp = Experiment(exp)
    if not exp.is_trained() and not exp.folds():
        raise SerkitError(
            "not an exp dir (no config.yaml) and no fold*/ exp dirs inside",
            path=exp.path,
            hint="train it first",
        )
    target = choose_device(device)
    if exp.is_trained():
        return score_one(exp, set_name, target)
    return aggregate_folds(exp, [score_one(fold, set_name, target) for fold in exp.folds()])


def score_one(exp: Experiment, set_name: str, device) -> dict:
    """Predict ``set_name`` (a ``data.sets`` key or a data dir) with the best weights; write scores, plots."""
    trained = load_trained(exp, device)
    config, task = trained.config, trained.task
    try:
        data_dir, key = score_key(config["data"]["sets"], set_name)
    except SerkitError as err:
        raise SerkitError(err.message, path=exp.config_file, hint=err.hint) from None
    dataset = EmotionDataset(data_dir, config["data"]["streams"], task)
    if dataset.input_dims != trained.input_dims:
        raise SerkitError(
            f"inputs {dataset.input_dims} differ from the trained model's {trained.input_dims}",
            path=data_dir,
            hint="extract the same features as for training",
        )
    predictions = predict(trained.model, dataset, config["train"]["batch_size"], trained.device)
    result = {
        "config": config.get("name") or exp.path.name,
        "exp": str(exp.path),
        "set": key,
        "metrics": score_predictions(predictions, task),
        "protocol": _protocol(trained, dataset, data_dir, key),
    }
    _write_json(exp.score_file(key), result)
    exp.plots_dir.mkdir(parents=True, exist_ok=True)
    if task["type"] == "classification":
        plots.confusion(result, exp.plot_file(f"confusion_{key}.png"))
    elif task["type"] == "multilabel":
        plots.multilabel_bars(result, exp.plot_file(f"multilabel_{key}.png"))
    else:
        plots.ccc_traces(predictions, task["dims"], exp.plot_file(f"ccc_{key}.png"), key)
        if task["level"] == "frame":
            plots.recording_traces(predictions, task["dims"], exp.plot_file(f"traces_{key}"), key)
    if exp.history_file.is_file():
        plots.curves(json.loads(exp.history_file.read_text()), config["train"], exp.plot_file("curves.png"))
    return result


def corpus(meta: dict, utterances: int) -> dict:
    """What the scored data came from, from its ``meta.json``: name, synthetic or not, and a label."""
    name, synthetic = meta.get("corpus"), meta.get("synthetic")
    counts = meta.get("corpus_counts")
    total = counts.get("total", {}).get("total") if isinstance(counts, dict) else None
    total = total if isinstance(total, int) else utterances
    shown = CORPUS_NAMES.get(str(name), str(name))
    if not name:
        label = "corpus unknown (meta.json has no corpus)"
    elif synthetic is None and name != "csv":  # a CSV list is the user's corpus unless it is a mini one
        label = f"{shown}, or its synthetic mini corpus (meta.json does not say which)"
    elif synthetic:
        label = f"synthetic mini corpus (`serkit make-mini-corpus`, {total:,} utterances), not {shown}"
    else:
        label = f"{shown} ({total:,} utterances"
        if meta.get("published_match") is True:
            label += ", the published counts"
        elif meta.get("published_match") is False:
            label += ", not the published counts"
        label += ")"
    return {"name": name, "synthetic": synthetic, "utterances": total, "label": label}


def _protocol(trained, dataset: EmotionDataset, data_dir: Path, key: str) -> dict:
    meta = dataset.data.meta
    task = trained.task
    split = meta.get("protocol", {}).get("split") if isinstance(meta.get("protocol"), dict) else None
    protocol = {
        "data_dir": str(data_dir),
        "data_dir_resolved": str(Path(data_dir).resolve()),
        "split": split or f"{key}: {data_dir}",
        "corpus": corpus(meta, len(dataset.utts)),
        "utterances": len(dataset.utts),
        "level": task["level"],
        "folds": None,
        "checkpoint": str(trained.checkpoint_path),
        "checkpoint_epoch": trained.epoch,
        "selection": trained.selection,
    }
    if task["type"] == "classification":
        protocol["classes"] = list(task["classes"])
        protocol["class_map"] = {c: i for i, c in enumerate(task["classes"])}
        protocol["definitions"] = {k: metrics.DEFINITIONS[k] for k in ("wa", "ua", "f1", "confusion")}
    elif task["type"] == "multilabel":
        protocol["task"] = "multilabel"
        protocol["classes"] = list(task["classes"])
        protocol["targets"] = task["targets"]
        protocol["definitions"] = {k: metrics.DEFINITIONS[k] for k in ("wacc", "wf1")}
    else:
        protocol["dims"] = list(task["dims"])
        protocol["definitions"] = {k: metrics.DEFINITIONS[k] for k in ("ccc", "ccc_per_recording")}
    return protocol


def aggregate_folds(parent: Experiment, scores: list[dict]) -> dict:
    """The parent's ``scores/<key>.json``: mean ± sd of each scalar metric over the folds, their protocols.

    A metric that is null in some fold (a multilabel class without positives or negatives there)
    is null in the aggregate too."""
    keys = [k for k, v in scores[0]["metrics"].items() if v is None or isinstance(v, float)]
    per_key = {k: [s["metrics"].get(k) for s in scores] for k in keys}
    protocol = dict(scores[0]["protocol"])
    protocol.update(
        folds=[Path(s["exp"]).name for s in scores],
        fold_exps=[s["exp"] for s in scores],
        data_dir=[s["protocol"]["data_dir"] for s in scores],
        utterances=sum(s["protocol"]["utterances"] for s in scores),
        utterances_per_fold=[s["protocol"]["utterances"] for s in scores],
        checkpoint_epoch=[s["protocol"]["checkpoint_epoch"] for s in scores],
        split=f"{len(scores)} folds: " + ", ".join(str(s["protocol"]["split"]) for s in scores),
    )
    protocol.pop("checkpoint", None)
    protocol["definitions"] = {**protocol["definitions"], "sd": metrics.DEFINITIONS["sd"]}
    result = {
        "config": scores[0]["config"],
        "exp": str(parent.path),
        "set": scores[0]["set"],
        "metrics": {
            k: metrics.mean_sd(v) if all(isinstance(x, float) for x in v) else None
            for k, v in per_key.items()
        },
        "protocol": protocol,
    }
    _write_json(parent.score_file(result["set"]), result)
    return result


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)

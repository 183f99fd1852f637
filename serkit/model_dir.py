"""A trained model as something to apply to new audio: an exp dir, or the model dir ``serkit export`` writes.

:func:`open_model` reads either into one :class:`ModelSource`: the resolved config with every file it
reads as a path that exists now, the weights file, each frames stream's feature parameters (the
training store's header), the model that embeds word instances from audio (``word_frames`` with
``instances``), the longest input the model reads whole (:func:`max_duration`), and the training
record. :mod:`serkit.predict` needs nothing else.

A model dir (:func:`export_model`) is self-contained and holds no code:

- ``model.json``: ``format``, serkit version, the resolved config (files named relative to the dir),
  ``features``, ``max_duration`` (the longest input read whole), ``training`` (corpus, protocol,
  scores, checkpoint epoch);
- ``config.yaml``: the same config, to read;
- ``weights.pt``: ``{"model": state dict, "task", "input_dims", "normalization", "epoch", ...}``, read
  with ``torch.load(weights_only=True)``: tensors and plain values only;
- ``vectors/<stream>.bin``: each looked-up embedding table (word2vec binary);
- ``mapping/<stream>/``: an ``align-embeddings`` result (``mapping.npy``, ``normalization.npz``);
- ``embedder/<stream>/``: the ``train-speech2vec`` or ``train-pseudo-words`` dir that embeds words from audio;
- ``README.md``: the model card (what it was trained on, how, and how well it scored).

An exp dir's config names files relative to the directory it was trained in: the recipe dir, found as
the parent of the ``exp`` dir above the exp dir (``recipes/iemocap/exp/s2v_dual`` → ``recipes/iemocap``),
else the current directory.
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import serkit
from serkit.errors import SerkitError
from serkit.experiment import Experiment, load_checkpoint, load_weights
from serkit.store import FeatureStore

FORMAT = "serkit-model-1"
MANIFEST = "model.json"
WEIGHTS = "weights.pt"
WEIGHT_KEYS = ("model", "task", "input_dims", "normalization", "epoch", "best_epoch", "metric", "mode")
HEADER_KEYS = ("feature_type", "frame_shift", "frame_length", "sample_rate")


@dataclass
class ModelSource:
    """Everything :mod:`serkit.predict` reads of a trained model."""

    root: Path
    exported: bool
    config: dict  # resolved; every file it reads is a path that exists now
    weights: Path  # a checkpoint (best.pt) or a model dir's weights.pt
    features: dict[str, dict]  # frames stream → {"feature_type", "params", "frame_shift", ...}
    embedders: dict[str, Path] = field(default_factory=dict)  # word_frames stream → embed-words model dir
    max_duration: float | None = None  # seconds: the longest input read whole (:func:`max_duration`)
    training: dict = field(default_factory=dict)  # corpus, protocol, scores

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.root.name)

    def load_weights(self, device=None) -> dict:
        if self.exported:
            return load_weights(
                self.weights, "model weights", "export the model again", WEIGHT_KEYS[:4], device
            )
        return load_checkpoint(self.weights, device)


def open_model(path: str | Path) -> ModelSource:
    """An exported model dir (``model.json``) or a trained exp dir (``config.yaml``, its best checkpoint)."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return _open_export(path)
    exp = Experiment(path)
    if exp.is_trained():
        return _open_exp(exp)
    if exp.folds():
        raise SerkitError(
            f"a dir of {len(exp.folds())} fold models, not one model",
            path=path,
            hint=f"give one of them (e.g. {exp.folds()[0].path}); each fold's model saw different data",
        )
    raise SerkitError(
        "not a model: no model.json (serkit export) and no config.yaml (an exp dir)",
        path=path,
        hint="give an exp dir that serkit train wrote, or a dir that serkit export wrote",
    )


# --------------------------------------------------------------------------- exp dirs


def _base_dir(exp: Path) -> Path:
    """The dir the exp dir's config paths are relative to (module docstring)."""
    for parent in exp.resolve().parents:
        if parent.name == "exp":
            return parent.parent
    return Path.cwd()


def _open_exp(exp: Experiment) -> ModelSource:
    config = exp.read_config()  # a fresh dict: its paths are rewritten in place below
    base = _base_dir(exp.path)

    def at(value: str | None) -> str | None:
        if value is None:
            return None
        p = Path(value)
        return str(p if p.is_absolute() else base / p)

    sets = config["data"]["sets"]
    train_name = Path(sets["train"]).name if sets.get("train") else "train"
    features: dict[str, dict] = {}
    embedders: dict[str, Path] = {}
    for spec in config["data"]["streams"]:
        for key in ("store", "kv", "mapping", "instances", "stats_from"):
            if spec.get(key):
                spec[key] = at(spec[key])
        if spec["type"] == "frames":
            features[spec["name"]] = _header(spec["store"].replace("{set}", train_name))
        if spec["type"] == "word_frames" and spec.get("instances"):
            with _open_store(spec["instances"].replace("{set}", train_name)) as store:
                model_dir = store.params.get("model_dir")
            if not model_dir or not Path(model_dir).is_dir():
                raise SerkitError(
                    f"stream {spec['name']}: the word-instance store names no embedding model that exists "
                    f"({model_dir!r})",
                    path=store.path,
                    hint="run serkit embed-words again with the model dir present",
                )
            embedders[spec["name"]] = Path(model_dir)
    return ModelSource(
        root=exp.path,
        exported=False,
        config=config,
        weights=exp.checkpoint("best"),
        features=features,
        embedders=embedders,
        max_duration=max_duration(config, features),
        training=_training_record(exp),
    )


def _open_store(path: str) -> FeatureStore:
    if not Path(path).is_file():
        raise SerkitError(
            "the model's training feature store is not here: its feature parameters are read from it",
            path=path,
            hint="run where the model was trained, or serkit export the model there and use the model dir",
        )
    return FeatureStore(path)


def _header(store_path: str) -> dict:
    """What extracting new audio as this store was extracted needs: its type, parameters and frame grid."""
    with _open_store(store_path) as store:
        attrs = store.attrs
        return {"params": store.params, **{k: attrs.get(k) for k in HEADER_KEYS}}


def max_duration(config: dict, features: dict[str, dict]) -> float | None:
    """The longest input an utterance-level model reads whole, in seconds: the shortest span of the
    frames streams' ``max_frames`` (``(max_frames - 1) · shift + frame length``); None when no stream is
    cut (the model reads any length) or the model is frame-level (it reads whole recordings)."""
    if config["task"].get("level") == "frame":
        return None
    spans = []
    for spec in config["data"]["streams"]:
        header = features.get(spec["name"])
        if spec["type"] == "frames" and spec.get("max_frames") and header and header.get("frame_shift"):
            shift, length = (
                float(header["frame_shift"]),
                float(header.get("frame_length") or header["frame_shift"]),
            )
            spans.append((spec["max_frames"] - 1) * shift + length)
    return min(spans) if spans else None


def _training_record(exp: Experiment) -> dict:
    """Corpus, protocol and the scores of every scored set of the exp dir (``scores/*.json``)."""
    scores = exp.scores()
    record: dict = {"exp": str(exp.path), "scores": {}}
    for key, result in scores.items():
        metrics = {k: v for k, v in result["metrics"].items() if isinstance(v, float)}
        record["scores"][key] = {"metrics": metrics, "protocol": result.get("protocol", {})}
    env = exp.path / "env.txt"
    if env.is_file():
        record["env"] = env.read_text(encoding="utf-8")
    return record


# --------------------------------------------------------------------------- model dirs


def _open_export(root: Path) -> ModelSource:
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SerkitError(f"unreadable model manifest ({exc})", path=root / MANIFEST) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SerkitError(
            f"not a serkit model dir of format {FORMAT}",
            path=root / MANIFEST,
            hint="export the model again with this serkit",
        )
    config = manifest["config"]
    for spec in config["data"]["streams"]:
        for key in ("kv", "mapping"):
            if spec.get(key):
                spec[key] = str(root / spec[key])
    return ModelSource(
        root=root,
        exported=True,
        config=config,
        weights=root / WEIGHTS,
        features=manifest["features"],
        embedders={k: root / v for k, v in manifest.get("embedders", {}).items()},
        max_duration=manifest.get("max_duration"),
        training=manifest.get("training", {}),
    )


def export_model(model: str | Path, out: str | Path) -> Path:
    """Write the self-contained model dir of an exp dir (or copy a model dir) to ``out``."""
    import torch

    source = open_model(model)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise SerkitError(
            "exists and is not empty; refusing to write a model dir over it",
            path=out,
            hint="give a new dir, or remove this one",
        )
    work = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    try:
        work.mkdir(parents=True)
    except OSError as exc:
        raise SerkitError(f"cannot create the model dir ({exc.strerror})", path=out) from None
    checkpoint = source.load_weights()
    torch.save({k: checkpoint.get(k) for k in WEIGHT_KEYS}, work / WEIGHTS)
    config = copy.deepcopy(source.config)
    embedders: dict[str, str] = {}
    for spec in config["data"]["streams"]:
        name = spec["name"]
        if spec.get("kv"):
            spec["kv"] = _copy(Path(spec["kv"]), work, f"vectors/{name}.bin")
        if spec.get("mapping"):
            spec["mapping"] = _copy(Path(spec["mapping"]), work, f"mapping/{name}")
        for key in ("store", "instances", "stats_from"):
            if spec.get(key):
                spec[key] = f"(training: {Path(spec[key]).name})"
        if name in source.embedders:
            embedders[name] = _copy(source.embedders[name], work, f"embedder/{name}")
    config["data"]["sets"] = {k: None for k in config["data"]["sets"]}
    manifest = {
        "format": FORMAT,
        "serkit": serkit.__version__,
        "name": source.name,
        "config": config,
        "task": checkpoint["task"],
        "input_dims": checkpoint["input_dims"],
        "features": source.features,
        "embedders": embedders,
        "max_duration": source.max_duration,
        "training": {
            **source.training,
            "checkpoint_epoch": checkpoint.get("best_epoch") or checkpoint["epoch"],
        },
    }
    (work / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (work / "config.yaml").write_text(
        yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    (work / "README.md").write_text(model_card(manifest), encoding="utf-8")
    if out.exists():
        out.rmdir()
    work.rename(out)
    return out


def _copy(src: Path, root: Path, rel: str) -> str:
    """Copy a file or a dir of plain files into the model dir; return its path relative to the dir."""
    if not src.exists():
        raise SerkitError(
            "a file the model reads is missing", path=src, hint="rerun the stage that writes it"
        )
    dst = root / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.log", "log", "plots"))
    else:
        shutil.copy2(src, dst)
    return rel


def model_card(manifest: dict) -> str:
    """``README.md`` of a model dir: the model, its inputs, its training data and protocol, its scores."""
    config, task = manifest["config"], manifest["task"]
    lines = [
        f"# serkit model: {manifest['name']}",
        "",
        f"Exported by serkit {manifest['serkit']} (format {manifest['format']}).",
        "Apply it with `serkit predict THIS_DIR audio.wav ...` (no exp dir or recipe needed).",
        "",
        f"- model: `{config['model']['name']}`",
        f"- task: {task['type']}, {task.get('level', 'utterance')} level; "
        + (
            f"classes {', '.join(task['classes'])}"
            if task.get("classes")
            else f"dims {', '.join(task['dims'])}"
        ),
    ]
    for spec in config["data"]["streams"]:
        header = manifest["features"].get(spec["name"])
        what = f"{header['feature_type']} features" if header else spec["type"]
        if spec.get("kv"):
            what += f", vectors `{spec['kv']}`"
        lines.append(f"- input `{spec['name']}`: {what}, normalize {spec.get('normalize')}")
    if manifest.get("max_duration"):
        lines.append(
            f"- reads inputs of up to {manifest['max_duration']:.2f} s whole (longer ones are windowed)"
        )
    training = manifest.get("training", {})
    lines += ["", "## Training and scores", "", f"Trained in `{training.get('exp', '?')}`, "
              f"checkpoint of epoch {training.get('checkpoint_epoch')}.", ""]  # fmt: skip
    for key, score in sorted(training.get("scores", {}).items()):
        protocol = score.get("protocol", {})
        corpus = protocol.get("corpus", {}).get("label", "corpus unknown")
        shown = ", ".join(f"{k} {v:.4f}" for k, v in score["metrics"].items() if not k.startswith("loss"))
        lines.append(f"- set `{key}` ({protocol.get('utterances', '?')} utterances; {corpus}; "
                     f"split: {protocol.get('split', '?')}): {shown}")  # fmt: skip
    if not training.get("scores"):
        lines.append("- not scored before export (run `serkit score` on the exp dir first).")
    definitions = {}
    for score in training.get("scores", {}).values():
        definitions |= score.get("protocol", {}).get("definitions", {})
    if definitions:
        lines += ["", "Definitions: " + "; ".join(f"{k}: {v}" for k, v in definitions.items()) + "."]
    return "\n".join(lines) + "\n"

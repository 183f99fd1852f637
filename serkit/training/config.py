"""Training configs: load a YAML file and its bases, apply overrides and ``{fold}``, fill defaults.

``extends: base.yaml`` (or a list; relative to the file; bases may extend others) deep-merges
the file onto its bases: mappings merge key by key; a list whose items are all mappings with a
``name`` (``data.streams``) merges item by item by name, new names appended in order, and an
item ``{name: X, drop: true}`` removes X; any other list or value replaces the base's. A cycle
is an error. The resolved config (no ``extends``) is what an exp dir's ``config.yaml`` records.

``{fold}`` in any string becomes the fold of ``serkit train --fold NAME``; without a fold it is
removed with its ``/`` (``data/{fold}/train`` → ``data/train``).

A config has six sections; every key not given takes the default below
(:data:`DEFAULTS`), and an unknown key is an error (except under ``model``,
whose keys are the model's own hyper-parameters). Every value is checked for its type and range
(:data:`KINDS`, :data:`STREAM_KINDS`, and the model's annotations: :func:`serkit.models.hparam_kinds`)
when the config loads; a wrong one names its key, the file and line that set it, or the ``--set``::

    model:                      # registry name + the model's keyword arguments
      name: mean_pool
      hidden: [64]
      dropout: 0.2
    task:
      type: classification      # classification | regression | multilabel
      level: utterance          # utterance | frame (frame: targets from labels.h5, one per frame)
      classes: null             # default: meta.json "classes" (multilabel: "emotion_names") of train
      targets: null             # multilabel: data-dir file of `<utt> v1 .. vC` 0/1 rows (utt2presence)
      dims: null                # regression: labels.h5 dimension names to predict (default: all)
      frame_stream: null        # frame level: the stream whose frames the labels follow (default: first)
    data:
      sets: {train: data/train, dev: data/dev, test: data/test}
      chunk_frames: null        # frame level: train on consecutive chunks of this many frames
      streams:
        - {name: acoustic, type: frames, store: "feats/{set}_pyaa34.h5", max_frames: 200}
        - {name: words, type: words, kv: exp/emb/w2v.bin, text: text, max_words: 50}
        - {name: spans, type: word_spans, words: words, frames: acoustic}
    loss:
      type: null                # ce | ccc | bce (classification | regression | multilabel; the default)
      class_weights: null       # ce: null | balanced | [w per class]
      dim_weights: null         # ccc: [w per dimension] (default: equal, summing to 1)
      pos_weight: null          # bce: null | balanced (train negatives / positives per class) | [w per class]
    optim:
      name: adam                # adam | sgd
      lr: 0.001
      weight_decay: 0.0
      betas: [0.9, 0.999]       # adam
      momentum: 0.0             # sgd
    train:
      epochs: 20
      batch_size: 32            # global: split over the processes under torchrun
      patience: 5               # epochs without improvement before stopping (null: never stop early)
      metric: null              # dev_ua | dev_wa | dev_f1 | dev_loss | dev_ccc_mean | dev_ccc_<dim>
                                #   | dev_wacc_mean | dev_wf1_mean | dev_wacc_<class>
                                #   (default: dev_ua, dev_ccc_mean, dev_wacc_mean by task.type)
      mode: null                # max | min (the direction of ``metric``)
      grad_clip: null           # max gradient norm (null: no clipping)
      seed: 1
      num_workers: 0
      bucket: true              # batch utterances of similar length together
      device: auto              # auto | cpu | cuda
      amp: true                 # true: float16 on CUDA only | bf16: bfloat16 on CPU or CUDA | false
      deterministic: true

``multilabel`` (CMU-MOSEI's convention: each emotion present iff its intensity > 0) trains one
sigmoid output per class of ``task.classes`` with binary cross-entropy on logits on the 0/1 rows of
``task.targets``; an emotion counts as predicted present iff its logit > 0. Utterance level only.

Stream types: ``frames`` (``store[utt]``, frames × dims), ``words`` (a vector per word of ``text``
or ``text.asr`` from the ``kv`` file, word2vec binary), ``word_spans``: for each word of the
named ``words`` stream, the ``[first, stop)`` frame indices of the named ``frames`` stream that its
``words.ctm`` times cover (W×2, for hard alignment; oracle ``text`` only, utterance level only; see
:class:`serkit.training.streams.WordSpanStream`), and ``word_frames``: for each frame of the named
``frames`` stream, the vector of the ``words.ctm`` word on it (zeros between words), read from an
``embed-words`` store (``instances``, audio only, ``text`` unread) or looked up (``kv`` + ``text``),
optionally mapped by an ``align-embeddings`` dir (``mapping``; Tzirakis et al. 2021 §3, see
:class:`serkit.training.streams.WordFrameStream`). Each type's keys and defaults are in that module.

In a stream's ``store``, ``{set}`` is replaced by the data dir's base name
(``data/train`` → ``feats/train_pyaa34.h5``); a store without ``{set}`` serves every set
(likewise a ``word_frames`` stream's ``instances``).
Paths are relative to the directory the command runs in (the recipe dir).

A frames stream's ``normalize`` is ``null`` (as stored), ``utterance`` (each utterance's own
mean and deviation) or ``train`` (those of every frame of ``stats_from``, by default
``data.sets.train``: one z-normalisation for every set, fitted on training data only) or
``speaker`` (those of every frame of the utterance's speaker in the set read, through its
``utt2spk``: Kaldi's per-speaker CMVN, which needs no labels of the test set). A words
stream's ``normalize`` is ``null`` (the vectors as stored) or ``vocabulary`` (each dimension
z-normalised over the embedding file's vocabulary).

Changing only :data:`RESUME_SAFE` keys (epochs, patience, workers, device) keeps the
exp dir name and lets a relaunch resume; any other change in an existing exp dir is refused.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import yaml

from serkit import kinds
from serkit.errors import SerkitError
from serkit.training.streams import STREAM_TYPES

DEFAULTS: dict = {
    "name": None,
    "model": {"name": None},
    "task": {
        "type": "classification",
        "level": "utterance",
        "classes": None,
        "targets": None,
        "dims": None,
        "frame_stream": None,
    },
    "data": {"sets": {}, "streams": [], "chunk_frames": None},
    "loss": {"type": None, "class_weights": None, "dim_weights": None, "pos_weight": None},
    "optim": {"name": "adam", "lr": 1e-3, "weight_decay": 0.0, "betas": [0.9, 0.999], "momentum": 0.0},
    "train": {
        "epochs": 20,
        "batch_size": 32,
        "patience": 5,
        "metric": None,
        "mode": None,
        "grad_clip": None,
        "seed": 1,
        "num_workers": 0,
        "bucket": True,
        "device": "auto",
        "amp": True,
        "deterministic": True,
    },
}

TASK_DEFAULTS = {
    "classification": {"loss": "ce", "metric": "dev_ua"},
    "regression": {"loss": "ccc", "metric": "dev_ccc_mean"},
    "multilabel": {"loss": "bce", "metric": "dev_wacc_mean", "targets": "utt2presence"},
}
"""Per ``task.type``: the loss it trains with (the only one it takes), its default selection metric
and (multilabel) its default ``task.targets`` file."""

RESUME_SAFE = ("train.epochs", "train.patience", "train.num_workers", "train.device")
"""Keys whose change neither renames the exp dir nor blocks resuming it."""

CHOICES = {
    "task.type": ("classification", "regression", "multilabel"),
    "task.level": ("utterance", "frame"),
    "loss.type": ("ce", "ccc", "bce"),
    "optim.name": ("adam", "sgd"),
    "train.mode": ("max", "min"),
    "train.device": ("auto", "cpu", "cuda"),
    "train.amp": (True, False, "bf16"),
}

KINDS: dict[str, kinds.Kind] = {
    "name": kinds.string(null=True),
    "task.type": kinds.one_of(*CHOICES["task.type"]),
    "task.level": kinds.one_of(*CHOICES["task.level"]),
    "task.classes": kinds.strings(null=True),
    "task.targets": kinds.string(null=True),
    "task.dims": kinds.strings(null=True),
    "task.frame_stream": kinds.string(null=True),
    "data.sets": kinds.Kind(
        lambda v: isinstance(v, dict) and all(x is None or (isinstance(x, str) and x) for x in v.values()),
        "a mapping of set names to data dirs",
    ),
    "data.streams": kinds.Kind(lambda v: isinstance(v, list), "a list of streams"),
    "data.chunk_frames": kinds.integer(1, null=True),
    "loss.type": kinds.one_of(*CHOICES["loss.type"], null=True),
    "loss.class_weights": kinds.either(kinds.one_of("balanced"), kinds.numbers(0), null=True),
    "loss.dim_weights": kinds.numbers(0, null=True),
    "loss.pos_weight": kinds.either(kinds.one_of("balanced"), kinds.numbers(0), null=True),
    "optim.name": kinds.one_of(*CHOICES["optim.name"]),
    "optim.lr": kinds.number(0, low_open=True),
    "optim.weight_decay": kinds.number(0),
    "optim.betas": kinds.numbers(0, length=2, high=1, high_open=True),
    "optim.momentum": kinds.number(0),
    "train.epochs": kinds.integer(1),
    "train.batch_size": kinds.integer(1),
    "train.patience": kinds.integer(0, null=True),
    "train.metric": kinds.string(null=True),
    "train.mode": kinds.one_of(*CHOICES["train.mode"], null=True),
    "train.grad_clip": kinds.number(0, low_open=True, null=True),
    "train.seed": kinds.integer(0),
    "train.num_workers": kinds.integer(0),
    "train.bucket": kinds.boolean(),
    "train.device": kinds.one_of(*CHOICES["train.device"]),
    "train.amp": kinds.one_of(*CHOICES["train.amp"]),
    "train.deterministic": kinds.boolean(),
}
"""The type and range of every key of :data:`DEFAULTS` (``model`` keys: :func:`serkit.models.kinds`)."""

STREAM_KINDS: dict[str, kinds.Kind] = {
    "name": kinds.string(),
    "store": kinds.string(null=True),
    "words": kinds.string(null=True),
    "frames": kinds.string(null=True),
    "max_frames": kinds.integer(1, null=True),
    "max_words": kinds.integer(1, null=True),
    "normalize": kinds.string(null=True),
    "stats_from": kinds.string(null=True),
    "kv": kinds.string(null=True),
    "instances": kinds.string(null=True),
    "mapping": kinds.string(null=True),
    "frame_shift": kinds.number(0, low_open=True, null=True),
}
"""A stream key's type and range where its default does not say it (others: like their default)."""


class _Loader(yaml.SafeLoader):
    """YAML 1.1 as PyYAML reads it, except that ``5e-4`` is a float (not the string "5e-4")."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
        r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def read_yaml(text: str):
    """Parse YAML text with :class:`_Loader`."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects


def load(path: str | Path, overrides: list[str] | None = None, fold: str | None = None) -> dict:
    """Read a YAML config (its ``extends`` chain merged), apply overrides and ``{fold}``, resolve it."""
    path = Path(path)
    raw = read_extended(path)
    raw.setdefault("name", path.stem)
    for item in overrides or []:
        apply_override(raw, item)
    return resolve(substitute_fold(raw, fold), source=path, overrides=overrides)


def read_config_file(path: Path) -> dict:
    """One YAML file as a mapping (its ``extends`` not followed)."""
    if not path.is_file():
        raise SerkitError("config not found", path=path, hint="give a YAML file, e.g. conf/mean_pool.yaml")
    try:
        raw = read_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise SerkitError(
            f"invalid YAML: {exc}", path=path, line=None if line is None else line + 1
        ) from None
    if not isinstance(raw, dict):
        raise SerkitError("a config must be a YAML mapping", path=path)
    return raw


def read_extended(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    """The config at ``path`` deep-merged onto its ``extends`` bases (paths relative to the file).

    ``extends`` is a file or a list of files, merged in order; bases may extend others.
    """
    here = path.resolve()
    if here in chain:
        cycle = " → ".join(p.name for p in (*chain, here))
        raise SerkitError(f"extends cycle: {cycle}", path=path, hint="remove one of the extends")
    raw = read_config_file(path)
    bases = raw.pop("extends", None)
    if bases is None:
        return merge({}, raw, path)
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) and b for b in bases):
        raise SerkitError("extends must name a config file or a list of them", path=path)
    merged: dict = {}
    for base in bases:
        merged = merge(merged, read_extended(path.parent / base, (*chain, here)), path)
    return merge(merged, raw, path)


def merge(base, over, source: Path | None = None):
    """``over`` deep-merged onto ``base`` (neither changed); see the module docstring."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = copy.deepcopy(base)
        for key, value in over.items():
            out[key] = merge(base[key], value, source) if key in base else merge(None, value, source)
        return out
    named_base = base is None or (isinstance(base, list) and _named(base))
    if isinstance(over, list) and over and _named(over) and named_base:
        return _merge_named(base or [], over, source)
    return copy.deepcopy(over)


def _named(items: list) -> bool:
    return all(isinstance(item, dict) and item.get("name") for item in items)


def _merge_named(base: list[dict], over: list[dict], source: Path | None) -> list[dict]:
    out = [copy.deepcopy(item) for item in base]
    for item in over:
        names = [b["name"] for b in out]
        if item.get("drop"):
            if set(item) - {"name", "drop"}:
                raise SerkitError(f"item {item['name']!r}: drop takes no other key", path=source)
            if item["name"] not in names:
                raise SerkitError(
                    f"cannot drop {item['name']!r}: no such item in the base",
                    path=source,
                    hint=f"the base has {', '.join(names) or 'none'}",
                )
            del out[names.index(item["name"])]
        elif item["name"] in names:
            i = names.index(item["name"])
            out[i] = merge(out[i], item, source)
        else:
            out.append(merge(None, item, source))
    return out


FOLD = "{fold}"
NO_FOLD = ("", "-")
"""Fold names that mean the fixed split (``serkit protocol DATA_ROOT folds`` prints ``-``)."""


def fold_name(fold: str | None) -> str | None:
    """``fold`` checked, or None for the fixed split (None, "" or "-")."""
    if fold is None or fold in NO_FOLD:
        return None
    if not re.fullmatch(r"[A-Za-z0-9_+-]+", fold):
        raise SerkitError(f"bad fold name {fold!r}", hint="use letters, digits, _ + or -, e.g. fold1")
    return fold


def substitute_fold(raw, fold: str | None):
    """Every ``{fold}`` replaced by ``fold``; without one, removed with the ``/`` beside it."""
    fold = fold_name(fold)
    if isinstance(raw, dict):
        return {k: substitute_fold(v, fold) for k, v in raw.items()}
    if isinstance(raw, list):
        return [substitute_fold(v, fold) for v in raw]
    if not isinstance(raw, str) or FOLD not in raw:
        return raw
    if fold:
        return raw.replace(FOLD, fold)
    text = raw.replace(f"{FOLD}/", "").replace(f"/{FOLD}", "").replace(FOLD, "")
    return re.sub("/{2,}", "/", text)


def parse_override(item: str) -> tuple[str, object]:
    """``train.lr=0.01`` → (``"train.lr"``, 0.01); the value is read as YAML."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise SerkitError(f"bad override {item!r}", hint="write key=value, e.g. --set optim.lr=0.0005")
    try:
        value = read_yaml(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    return key.strip(), value


def apply_override(config: dict, item: str) -> None:
    """Set a dotted key in place; list items by index or by their ``name``.

    ``data.streams.0.max_frames=100`` and ``data.streams.acoustic.max_frames=100`` both set
    the ``max_frames`` of the stream named ``acoustic`` if it comes first.
    """
    key, value = parse_override(item)
    parts = key.split(".")
    node = config
    for i, part in enumerate(parts[:-1]):
        node = _child(node, part, key, create=True)
        if not isinstance(node, dict | list):
            raise SerkitError(f"cannot set {key!r}: {'.'.join(parts[: i + 1])} is not a section")
    last = parts[-1]
    if isinstance(node, list):
        index = _index(node, last, key)
        node[index] = value
    else:
        node[last] = value


def _child(node, part: str, key: str, create: bool):
    if isinstance(node, list):
        return node[_index(node, part, key)]
    if part not in node or node[part] is None:
        if not create:
            raise SerkitError(f"unknown key {key!r}")
        node[part] = {}
    return node[part]


def _index(node: list, part: str, key: str) -> int:
    named = [i for i, item in enumerate(node) if isinstance(item, dict) and item.get("name") == part]
    if named:
        return named[0]
    if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
        raise SerkitError(f"cannot set {key!r}: {part!r} is not an index of a list of {len(node)}")
    return int(part)


def resolve(raw: dict, source: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """Fill defaults, check keys, types, ranges and choices, and derive loss type and selection metric.

    A wrong value names its key and the file and line that gave it (found in ``source`` and its
    ``extends`` bases), or the ``overrides`` item (``--set key=value``) that did."""
    config = copy.deepcopy(DEFAULTS)
    for section, value in raw.items():
        if section not in config:
            raise SerkitError(
                f"unknown config section {section!r}", path=source, hint=f"sections: {', '.join(DEFAULTS)}"
            )
        if isinstance(config[section], dict):
            if not isinstance(value, dict):
                raise SerkitError(f"{section} must be a mapping", path=source)
            if section not in ("model",):
                _check_keys(section, value, DEFAULTS[section], source)
            config[section].update(copy.deepcopy(value))
        else:
            config[section] = value
    _check_kind("data.streams", config["data"]["streams"], KINDS["data.streams"], source, overrides)
    config["data"]["streams"] = [
        _resolve_stream(s, i, source) for i, s in enumerate(config["data"]["streams"])
    ]
    _check_kinds(config, source, overrides)
    if not config["model"].get("name"):
        raise SerkitError(
            "model.name is missing", path=source, hint="name a registered model, e.g. mean_pool"
        )
    if not config["data"]["streams"]:
        raise SerkitError("data.streams is empty", path=source, hint="declare at least one input stream")
    names = [s["name"] for s in config["data"]["streams"]]
    if len(set(names)) != len(names):
        raise SerkitError(f"stream names repeat: {names}", path=source)
    _check_stream_references(config["data"]["streams"], source)
    for needed in ("train", "dev"):
        if not config["data"]["sets"].get(needed):
            raise SerkitError(f"data.sets.{needed} is missing", path=source, hint="name its data dir")
    for stream in config["data"]["streams"]:
        if stream.get("normalize") == "train" and not stream.get("stats_from"):
            stream["stats_from"] = config["data"]["sets"]["train"]
    defaults = TASK_DEFAULTS.get(config["task"]["type"], TASK_DEFAULTS["classification"])
    config["loss"]["type"] = config["loss"]["type"] or defaults["loss"]
    config["train"]["metric"] = config["train"]["metric"] or defaults["metric"]
    if config["train"]["mode"] is None:
        config["train"]["mode"] = "min" if config["train"]["metric"].endswith("loss") else "max"
    for key, allowed in CHOICES.items():
        section, name = key.split(".")
        if config[section][name] not in allowed:
            raise SerkitError(
                f"{key} is {config[section][name]!r}",
                path=source,
                hint=f"use one of {', '.join(str(a).lower() for a in allowed)}",
            )
    _check_task_and_loss(config, source)
    return config


def _check_task_and_loss(config: dict, source) -> None:
    """The loss fits the task type; multilabel's level, targets file and ``loss.pos_weight``."""
    task, loss = config["task"], config["loss"]
    kind = task["type"]
    wanted = TASK_DEFAULTS[kind]["loss"]
    if loss["type"] != wanted:
        raise SerkitError(
            f"loss.type {loss['type']} does not fit task.type {kind}",
            path=source,
            hint=f"use loss.type {wanted} (or leave it null) for {kind}",
        )
    if loss["pos_weight"] is not None:
        setting = loss["pos_weight"]
        numbers = isinstance(setting, list) and all(
            isinstance(w, int | float) and not isinstance(w, bool) and w >= 0 for w in setting
        )
        if kind != "multilabel":
            raise SerkitError(
                "loss.pos_weight is for loss.type bce (task.type multilabel)",
                path=source,
                hint="remove loss.pos_weight, or use loss.class_weights for ce",
            )
        if setting != "balanced" and not (numbers and setting):
            raise SerkitError(
                f"loss.pos_weight is {setting!r}",
                path=source,
                hint="use null, balanced, or a list of non-negative numbers, one per class",
            )
    if kind != "multilabel":
        return
    if task["level"] != "utterance":
        raise SerkitError(
            f"task.level {task['level']} is not for task.type multilabel",
            path=source,
            hint="set task.level: utterance (multi-label targets are one 0/1 row per utterance)",
        )
    task["targets"] = task["targets"] or TASK_DEFAULTS["multilabel"]["targets"]
    targets = task["targets"]
    if not isinstance(targets, str) or "/" in targets or targets in (".", ".."):
        raise SerkitError(
            f"task.targets is {targets!r}",
            path=source,
            hint="name a file inside each data dir, e.g. utt2presence",
        )


def _check_kinds(config: dict, source, overrides) -> None:
    """Every value of ``config`` (defaults filled in) of its key's kind: :data:`KINDS`, the stream
    keys' (:data:`STREAM_KINDS`, else like their default) and the model's hyper-parameters'."""
    for key, kind in KINDS.items():
        section, _, name = key.partition(".")
        value = config[section][name] if name else config[section]
        _check_kind(key, value, kind, source, overrides)
    for stream in config["data"]["streams"]:
        defaults = STREAM_TYPES[stream["type"]].DEFAULTS
        for name, value in stream.items():
            kind = STREAM_KINDS.get(name) or kinds.like(defaults.get(name))
            if kind is not None:
                at = ("data", "streams", ("name", stream["name"]), name)
                _check_kind(f"data.streams.{stream['name']}.{name}", value, kind, source, overrides, at)
    model = config["model"]
    if isinstance(model.get("name"), str):
        from serkit import models

        for name, kind in models.hparam_kinds(model["name"]).items():
            if name in model:
                _check_kind(f"model.{name}", model[name], kind, source, overrides)


def _check_kind(key: str, value, kind: kinds.Kind, source, overrides, at: tuple | None = None) -> None:
    if kind.fits(value):
        return
    last = key.rsplit(".", 1)[-1]
    for item in overrides or []:
        set_key, set_value = parse_override(item)
        if set_key.rsplit(".", 1)[-1] == last and type(set_value) is type(value) and set_value == value:
            raise SerkitError(
                f"{key} is {value!r} (from --set {item}), not {kind.text}",
                path=source,
                hint=f"set {set_key} to {kind.text}",
            )
    path, line = locate(source, at or tuple(key.split("."))) if source else (None, None)
    raise SerkitError(
        f"{key} is {value!r}, not {kind.text}",
        path=path or source,
        line=line,
        hint=f"set {key} to {kind.text}",
    )


def locate(path: str | Path, keys: tuple) -> tuple[Path | None, int | None]:
    """The file (``path`` or one of its ``extends`` bases, the last one that sets it) and line of a
    key: a tuple of mapping keys, or ``("name", X)`` for the item of a list named X; (None, None)
    where no file sets it."""

    def find(file: Path, seen: tuple[Path, ...]) -> tuple[Path | None, int | None]:
        here = file.resolve()
        if here in seen or not file.is_file():
            return None, None
        try:
            root = yaml.compose(file.read_text(encoding="utf-8"), Loader=_Loader)
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            return None, None
        line = _node_line(root, keys)
        if line is not None:
            return file, line
        bases = _node_value(root, "extends")
        names = [bases] if isinstance(bases, str) else bases if isinstance(bases, list) else []
        for base in reversed(names):
            if isinstance(base, str):
                found = find(file.parent / base, (*seen, here))
                if found[0] is not None:
                    return found
        return None, None

    return find(Path(path), ())


def _node_value(node, key: str):
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                if isinstance(v, yaml.ScalarNode):
                    return v.value
                if isinstance(v, yaml.SequenceNode):
                    return [x.value for x in v.value if isinstance(x, yaml.ScalarNode)]
    return None


def _node_line(node, keys: tuple) -> int | None:
    """The 1-based line of the value at ``keys`` in a composed YAML node, or None."""
    for key in keys:
        if isinstance(key, tuple) and isinstance(node, yaml.SequenceNode):
            named = [item for item in node.value if _node_value(item, key[0]) == key[1]]
            node = named[0] if named else None
        elif isinstance(key, str) and isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
        else:
            node = None
        if node is None:
            return None
    return node.start_mark.line + 1


def _check_keys(section: str, value: dict, allowed: dict, source) -> None:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise SerkitError(
            f"unknown key {section}.{unknown[0]}", path=source, hint=f"{section} takes: {', '.join(allowed)}"
        )


def _resolve_stream(stream, index: int, source) -> dict:
    if not isinstance(stream, dict):
        raise SerkitError(f"data.streams[{index}] must be a mapping", path=source)
    kind = stream.get("type", "frames")
    if kind not in STREAM_TYPES:
        raise SerkitError(
            f"data.streams[{index}].type is {kind!r}",
            path=source,
            hint=f"use one of {', '.join(STREAM_TYPES)}",
        )
    schema = STREAM_TYPES[kind]
    _check_keys(f"data.streams[{index}]", stream, schema.DEFAULTS, source)
    out = {**schema.DEFAULTS, **stream}
    required = schema.REQUIRED
    if not out["name"] or not all(out[key] for key in required):
        needs = " and ".join(f"'{key}'" for key in ("name", *required))
        raise SerkitError(f"data.streams[{index}] needs {needs}", path=source)
    return out


def _check_stream_references(streams: list[dict], source) -> None:
    """A stream's references (``word_spans``: ``words``, ``frames``) name declared streams of their type."""
    kinds = {s["name"]: s["type"] for s in streams}
    for s in streams:
        for key, ref_type in STREAM_TYPES[s["type"]].REFERENCES.items():
            if kinds.get(s[key]) != ref_type:
                raise SerkitError(
                    f"stream {s['name']}: {key} is {s[key]!r}, not a declared {ref_type} stream",
                    path=source,
                    hint=f"name one of the {ref_type} streams of data.streams",
                )


def flatten(config: dict, prefix: str = "") -> dict:
    """``{"train": {"lr": 1}}`` → ``{"train.lr": 1}`` (lists of mappings by index)."""
    out: dict = {}
    for key, value in config.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, full + "."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out.update(flatten({str(i): v for i, v in enumerate(value)}, full + "."))
        else:
            out[full] = value
    return out


def differences(old: dict, new: dict, ignore: tuple[str, ...] = RESUME_SAFE) -> list[str]:
    """Dotted keys whose values differ between two resolved configs, ignoring ``ignore``."""
    a, b = flatten(old), flatten(new)
    return sorted(k for k in set(a) | set(b) if k not in ignore and a.get(k) != b.get(k))


def dump(config: dict) -> str:
    """The resolved config as YAML text (stable key order)."""
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=None, allow_unicode=True)

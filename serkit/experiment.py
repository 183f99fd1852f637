"""The experiment dir, and the one place that names, writes and reads it (DESIGN §3).

``exp/<config stem>[_<overrides>][/<fold>]/`` holds ``config.yaml`` (the resolved config),
``cmd.txt`` (one line per launch), ``env.txt`` (versions, git hash, device), ``train.log``,
``history.json``, ``checkpoints/{last,best}.pt``, ``scores/<key>.json`` and ``plots/``.
The embedding stages' out dirs get the same three records (:func:`write_records`).

:func:`choose_device` turns ``auto | cpu | cuda[:N]`` into a device once per command, and
:func:`load_trained` returns what applying a trained model needs: its resolved config, the model
with the best weights, the task (classes or dimensions), the normalisation statistics of its
streams and its embedding files.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

import serkit
from serkit import kinds
from serkit.errors import SerkitError
from serkit.tmpfiles import write_text_atomic
from serkit.training import config as configs

log = logging.getLogger("serkit")

CHECKPOINTS = ("last", "best")


class Experiment:
    """The paths of one exp dir and its records; creates nothing until asked."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Experiment({str(self.path)!r})"

    @property
    def config_file(self) -> Path:
        return self.path / "config.yaml"

    @property
    def log_file(self) -> Path:
        return self.path / "train.log"

    @property
    def history_file(self) -> Path:
        return self.path / "history.json"

    @property
    def plots_dir(self) -> Path:
        return self.path / "plots"

    def checkpoint(self, which: str = "best") -> Path:
        """``checkpoints/last.pt`` or ``checkpoints/best.pt``."""
        if which not in CHECKPOINTS:
            raise ValueError(f"checkpoint is last or best, not {which!r}")
        return self.path / "checkpoints" / f"{which}.pt"

    def score_file(self, key: str) -> Path:
        return self.path / "scores" / f"{key}.json"

    def plot_file(self, name: str) -> Path:
        return self.plots_dir / name

    def scores(self) -> dict[str, dict]:
        """Every ``scores/<key>.json`` of this dir, by key."""
        files = sorted((self.path / "scores").glob("*.json"))
        return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in files}

    def is_trained(self) -> bool:
        return self.config_file.is_file()

    def folds(self) -> list[Experiment]:
        """The ``fold*/`` exp dirs below this dir, in name order."""
        return [Experiment(p) for p in sorted(self.path.glob("fold*")) if (p / "config.yaml").is_file()]

    def read_config(self) -> dict:
        """The resolved config this dir was trained with."""
        if not self.config_file.is_file():
            raise SerkitError("not an exp dir (no config.yaml)", path=self.path, hint="train it first")
        return yaml.safe_load(self.config_file.read_text(encoding="utf-8"))

    def prepare(self, config: dict, command: str, device: str, world_size: int = 1) -> None:
        """Create the dir (refusing another config over a started run) and write its records."""
        if self.config_file.is_file() and self.checkpoint("last").is_file():
            changed = configs.differences(self.read_config(), config)
            if changed:
                raise SerkitError(
                    f"the exp dir was trained with another config ({', '.join(changed[:3])} differ)",
                    path=self.path,
                    hint="use another --exp, or delete the dir to start over; only "
                    + ", ".join(configs.RESUME_SAFE)
                    + " may change on a resume",
                )
        self.checkpoint("last").parent.mkdir(parents=True, exist_ok=True)
        if world_size > 1:
            command = (command or shlex.join(sys.argv)) + f"  # under torchrun, {world_size} processes"
        write_records(self.path, configs.dump(config), command, device=device, world_size=world_size)

    def log(self, line: str) -> None:
        """Append a time-stamped line to ``train.log``."""
        with open(self.log_file, "a", encoding="utf-8") as f:
            f.write(f"{datetime.datetime.now().isoformat(timespec='seconds')} {line}\n")


def default_dir(
    config_path: str | Path, overrides: list[str] | None = None, fold: str | None = None, root: str = "exp"
) -> Path:
    """``exp/<config stem>`` plus a suffix naming the overrides that change the experiment, then ``/<fold>``.

    ``--set optim.lr=0.01`` → ``exp/mean_pool_lr0.01``; overrides of ``RESUME_SAFE`` keys
    (epochs, patience, ...) add nothing, so a rerun with more epochs finds (and resumes) the same dir.
    """
    parts = [Path(config_path).stem]
    for item in overrides or []:
        key, value = configs.parse_override(item)
        if key in configs.RESUME_SAFE:
            continue
        text = re.sub(r"[^A-Za-z0-9.+-]+", "-", str(value)).strip("-")
        parts.append(f"{key.split('.')[-1]}{text}")
    exp = Path(root) / "_".join(parts)
    fold = configs.fold_name(fold)
    return exp / fold if fold else exp


def score_key(sets: dict, set_name: str) -> tuple[Path, str]:
    """The data dir of ``set_name`` (a ``data.sets`` key or a dir) and the key its scores are filed under.

    A set of the config, or a dir that is one, is keyed by its set name (``test``); any other
    dir by a slug of its path and a short hash of its resolved path (``/other/dir/test`` →
    ``other-dir-test-<8 hex>``), so that scoring it never overwrites the config's own scores, nor
    the scores of another dir whose path reads the same (``a/b-test`` and ``a-b/test``, or
    ``other/test`` from two working dirs).
    """
    if sets.get(set_name):
        return Path(sets[set_name]), set_name
    path = Path(set_name)
    if not path.is_dir():
        raise SerkitError(
            f"no set {set_name!r} in the config", hint=f"use one of {', '.join(sets)} or give a data dir"
        )
    for name, value in sets.items():
        if value and Path(value).resolve() == path.resolve():
            return path, name
    slug = re.sub(r"[^A-Za-z0-9_+-]+", "-", path.as_posix()).strip("-.") or "set"
    digest = hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:8]
    return path, f"{slug}-{digest}"


# --------------------------------------------------------------------------- records


def write_records(out_dir: str | Path, config: dict | str, command: str = "", **env) -> None:
    """``config.yaml`` (rewritten), ``cmd.txt`` (a line appended) and ``env.txt`` in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    write_text_atomic(out_dir / "config.yaml", text)  # a relaunch reads it to resume
    with open(out_dir / "cmd.txt", "a", encoding="utf-8") as f:
        f.write((command or shlex.join(sys.argv)) + "\n")
    write_text_atomic(out_dir / "env.txt", environment(**env))


def environment(**extra) -> str:
    """``env.txt``: date, host, versions, git hash and ``extra`` (device, ...); one ``key: value`` a line.

    CUDA is reported by a command that loaded torch; one that did not (Word2Vec, pseudo-words) is not
    made to import it (seconds) for the record: torch's installed version, CUDA "not checked".
    """
    torch = sys.modules.get("torch")
    unchecked = "not checked (the command does not use torch)"
    repo = Path(serkit.__file__).resolve().parents[1]
    git = _git(repo, "rev-parse", "HEAD") or "unknown (not a git checkout)"
    dirty = _git(repo, "status", "--porcelain", "--untracked-files=no")
    lines = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": platform.node(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "serkit": serkit.__version__,
        "git": git + (" (with uncommitted changes)" if dirty else ""),
        "torch": torch.__version__ if torch else _version("torch"),
        "cuda": (torch.version.cuda or "none") if torch else unchecked,
        "cuda_available": torch.cuda.is_available() if torch else unchecked,
        **{name: _version(name) for name in ("numpy", "scikit-learn", "gensim", "h5py", "typer", "rich")},
        **extra,
    }
    return "".join(f"{k}: {v}\n" for k, v in lines.items())


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


STAGE_KINDS: dict[str, kinds.Kind] = {
    "dim": kinds.integer(1),
    "window": kinds.integer(1),
    "min_count": kinds.integer(1),
    "epochs": kinds.integer(1),
    "seed": kinds.integer(0),
    "workers": kinds.integer(1),
    "batch_size": kinds.integer(1),
    "lr": kinds.number(0, low_open=True),
    "max_frames": kinds.integer(1),
    "threads": kinds.integer(0),
    "clusters": kinds.integer(0),
    "points": kinds.integer(1),
    "map_iterations": kinds.integer(0),
    "map_ridge": kinds.number(0),
    "n_epochs": kinds.integer(0),
    "epoch_size": kinds.integer(1),
    "n_refinement": kinds.integer(0),
    "dis_hid_dim": kinds.integer(1),
    "dictionary": kinds.string(null=True),
}
"""The range of the embedding stages' options (the others: of the type of their default)."""


def stage_kind(key: str, default) -> kinds.Kind:
    """The kind of an embedding stage's option ``key`` whose default is ``default``."""
    return (
        STAGE_KINDS.get(key)
        or kinds.like(str(default) if isinstance(default, Path) else default)
        or (kinds.Kind(lambda v: True, "any value"))
    )


def read_stage_config(path: str | Path, defaults: dict) -> dict:
    """An embedding stage's ``--config`` YAML: keys are the command's option names (with ``_``),
    each value of the kind of :func:`stage_kind` (a wrong one names its line); numbers of float
    options as floats, paths as :class:`~pathlib.Path`."""
    path = Path(path)
    raw = configs.read_config_file(path)
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise SerkitError(f"unknown key {unknown[0]!r}", path=path, hint=f"keys: {', '.join(defaults)}")
    out = {}
    for key, value in raw.items():
        kind, default = stage_kind(key, defaults[key]), defaults[key]
        if value is not None and not kind.fits(value):
            _, line = configs.locate(path, (key,))
            raise SerkitError(
                f"{key} is {value!r}, not {kind.text}", path=path, line=line, hint=f"set {key} to {kind.text}"
            )
        if isinstance(default, float) and value is not None:
            value = float(value)
        if isinstance(default, Path) or (key == "dictionary" and value is not None):
            value = Path(value)
        out[key] = value
    return out


def check_stage_option(key: str, value, default) -> None:
    """A command-line value of an embedding stage's option in its range (typer checked its type)."""
    kind = stage_kind(key, default)
    value = str(value) if isinstance(value, Path) else value
    if value is not None and not kind.fits(value):
        option = "--" + key.replace("_", "-")
        raise SerkitError(f"{option} is {value!r}, not {kind.text}", hint=f"give {option} {kind.text}")


# --------------------------------------------------------------------------- device


def choose_device(setting: str = "auto", local_rank: int = 0):
    """``auto`` → CUDA when visible (else the CPU, said in a log line); ``cuda`` without one is an error."""
    import torch

    setting = str(setting or "auto")
    if setting == "cpu":
        return torch.device("cpu")
    if setting == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        log.info("device auto: no CUDA device is visible, running on the CPU")
        return torch.device("cpu")
    if not re.fullmatch(r"cuda(:\d+)?", setting):
        raise SerkitError(f"device {setting!r}", hint="use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise SerkitError(
            f"device {setting} was asked for but no CUDA device is visible",
            hint="use device cpu (or auto), or run where a GPU is",
        )
    if ":" in setting:
        return torch.device(setting)
    return torch.device("cuda", local_rank % torch.cuda.device_count())


# --------------------------------------------------------------------------- checkpoints


def save_atomic(obj, path: Path) -> None:
    """``torch.save`` to a temporary name, then rename: a killed process leaves the old file whole."""
    import torch

    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_weights(path: str | Path, what: str, hint: str, keys: tuple[str, ...] = (), device=None) -> dict:
    """A torch file read with ``weights_only=True``: tensors and plain values only, so nothing in it
    can run code (DESIGN §3). Any failure is one :class:`SerkitError` line naming ``path``: a file
    that is not a torch file (or a damaged one) says so, one that holds Python objects says that;
    ``keys`` must be in the dict it holds."""
    import pickle
    import warnings

    import torch

    path = Path(path)
    if not path.is_file():
        raise SerkitError(f"{what} not found", path=path, hint=hint)
    damage = _not_a_torch_file(path)
    if damage:
        raise SerkitError(f"not a serkit {what}, or a damaged one ({damage})", path=path, hint=hint)
    try:
        with warnings.catch_warnings():  # torch warns of a pickle protocol it then refuses anyway
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            state = torch.load(path, map_location=device or "cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        if found:
            raise SerkitError(
                f"{what} holds Python objects ({found.group(1)}), not only tensors and plain values; "
                "serkit does not load them, they can run code",
                path=path,
                hint=hint,
            ) from None
        raise SerkitError(
            f"not a serkit {what}, or a damaged one (its contents do not unpickle)", path=path, hint=hint
        ) from None
    except Exception as exc:  # a damaged file raises many types
        reason = (str(exc).splitlines() or [""])[0][:200]
        message = f"not a serkit {what}, or a damaged one ({type(exc).__name__}: {reason})"
        raise SerkitError(message, path=path, hint=hint) from None
    missing = [k for k in keys if not isinstance(state, dict) or k not in state]
    if missing:
        raise SerkitError(f"not a serkit {what} (no {', '.join(missing)})", path=path, hint=hint)
    return state


def _not_a_torch_file(path: Path) -> str:
    """Why ``path`` is not a file of ``torch.save`` (a zip archive with one ``<name>/data.pkl``), or ""."""
    import zipfile

    if path.stat().st_size == 0:
        return "an empty file"
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return "not a torch file: truncated, or not written by torch.save"
    if not any(name.count("/") == 1 and name.endswith("/data.pkl") for name in names):
        return "a zip archive, but not a torch file"
    return ""


def load_checkpoint(path: Path, device=None) -> dict:
    """A training checkpoint, read by :func:`load_weights`."""
    return load_weights(path, "checkpoint", "train the model first, or delete it", ("model", "epoch"), device)


# --------------------------------------------------------------------------- trained models


@dataclass
class TrainedModel:
    """A trained model with everything needed to apply it to new data."""

    exp: Experiment
    config: dict
    model: object  # torch.nn.Module, in eval mode, on ``device``
    task: dict  # the config's task section with ``classes`` or ``dims`` filled in
    input_dims: dict[str, int]
    normalization: dict[str, dict]  # stream → {"normalize", and "mean"/"std" arrays when fitted on train}
    embeddings: dict[str, str]  # words stream → its embedding file (word2vec binary)
    checkpoint_path: Path
    epoch: int
    selection: dict  # {"metric", "mode", "on"}
    device: object  # torch.device


def build_model(config: dict, task: dict, input_dims: dict[str, int]):
    """The registered model of ``config["model"]`` for these inputs and this task."""
    from serkit import models

    hparams = {k: v for k, v in config["model"].items() if k != "name"}
    outputs = len(task["dims"]) if task["type"] == "regression" else len(task["classes"])
    if task["level"] == "frame":
        hparams["frame_stream"] = task.get("frame_stream") or config["data"]["streams"][0]["name"]
    return models.build(config["model"]["name"], input_dims, outputs, **hparams)


def load_trained(exp: str | Path | Experiment, device="auto") -> TrainedModel:
    """The best checkpoint of ``exp`` built into its model, with its config, task and streams' settings."""
    import torch

    exp = exp if isinstance(exp, Experiment) else Experiment(exp)
    config = exp.read_config()
    target = device if isinstance(device, torch.device) else choose_device(device)
    path = exp.checkpoint("best")
    checkpoint = load_checkpoint(path)
    task, input_dims = checkpoint["task"], checkpoint["input_dims"]
    model = build_model(config, task, input_dims)
    model.load_state_dict(checkpoint["model"])
    model.to(target).eval()
    saved = checkpoint.get("normalization") or {}
    normalization = {
        s["name"]: {"normalize": s.get("normalize")}
        | {k: v.numpy() for k, v in saved.get(s["name"], {}).items()}
        for s in config["data"]["streams"]
        if "normalize" in s
    }
    return TrainedModel(
        exp=exp,
        config=config,
        model=model,
        task=task,
        input_dims=input_dims,
        normalization=normalization,
        embeddings={s["name"]: s["kv"] for s in config["data"]["streams"] if s.get("kv")},
        checkpoint_path=path,
        epoch=checkpoint["epoch"] if checkpoint["best_epoch"] is None else checkpoint["best_epoch"],
        selection={"metric": checkpoint["metric"], "mode": checkpoint["mode"], "on": "dev"},
        device=target,
    )

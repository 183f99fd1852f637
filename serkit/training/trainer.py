"""The training loop every model shares; it fills an exp dir (:mod:`serkit.experiment`).

The exp dir gets ``config.yaml`` (resolved), ``cmd.txt``, ``env.txt``, ``train.log`` (one line
per epoch), ``history.json`` (per-epoch metrics, for the learning curves) and
``checkpoints/{last,best}.pt`` (with the normalisation statistics fitted on the training set).

Each epoch: one pass over the training batches (Adam or SGD, gradient-norm clipping,
AMP on CUDA), dev predictions and metrics, then ``best.pt`` (if the selection metric
improved in its declared direction) and ``last.pt``, both written atomically. Training
stops after ``train.epochs`` or after ``train.patience`` epochs without improvement.
A relaunch finds ``last.pt`` and resumes from it: model, optimizer, RNG state, best
value and patience counter, so the resumed run ends where an uninterrupted one would.
Under ``torchrun`` every rank trains on its share of each global batch (DDP), and rank 0
alone writes files and logs.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import nn
from torch.utils.data import DataLoader

from serkit.errors import SerkitError
from serkit.experiment import Experiment, build_model, default_dir, load_weights, save_atomic
from serkit.paths import writable_dir
from serkit.training import config as configs
from serkit.training import distributed, losses
from serkit.training.batching import BucketBatchSampler, Collator
from serkit.training.dataset import EmotionDataset, task_for
from serkit.training.evaluate import predict, score, to_device

log = logging.getLogger("serkit.train")


@dataclass
class Summary:
    """What a finished (or already finished) training run reports."""

    exp_dir: Path
    epochs_run: int
    best_epoch: int | None
    best_value: float | None
    metric: str
    stopped_early: bool
    resumed_from: int | None
    main_process: bool = True


def run(
    config_path: str | Path,
    exp_dir: str | Path | None = None,
    overrides: list[str] | None = None,
    command: str = "",
    fold: str | None = None,
) -> Summary:
    """``serkit train``: load and resolve the config, name the exp dir, train (or resume)."""
    config = configs.load(config_path, overrides, fold)
    exp = writable_dir(Path(exp_dir) if exp_dir else default_dir(config_path, overrides, fold), "exp dir")
    return train(config, exp, command)


def train(config: dict, exp_dir: str | Path, command: str = "") -> Summary:
    """Train ``config`` in ``exp_dir``, resuming from ``checkpoints/last.pt`` if it is there."""
    context = distributed.setup(config["train"]["device"])
    try:
        return Trainer(config, Path(exp_dir), context, command).fit()
    finally:
        distributed.cleanup(context)


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX tiles), as torch reports it."""
    checks = (
        getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    )
    return any(check() for check in checks if check is not None)


def amp_dtype(amp: bool | str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``train.amp``: true = float16 on CUDA (none on the CPU), bf16 = bfloat16
    on CUDA, or on a CPU with native bfloat16 (there the waveform CNN of paper 001 trains about 1.45×
    faster per step: ``bench/waveform_cnn.py``). A CPU without it emulates bfloat16 (slower than
    float32) and its oneDNN LSTM refuses bfloat16 altogether, so ``bf16`` is refused there."""
    if amp == "bf16":
        if device.type == "cpu" and not cpu_has_bf16():
            raise SerkitError(
                "train.amp is bf16, but this CPU has no native bfloat16 (AVX-512 BF16 or AMX): its LSTM "
                "kernels refuse bfloat16 and the rest would run slower than in float32",
                hint="set train.amp: false on this machine (recipes/sewa turns bf16 on only where "
                "/proc/cpuinfo lists avx512_bf16 or amx_bf16)",
            )
        return torch.bfloat16
    return torch.float16 if amp is True and device.type == "cuda" else None


def is_better(value: float, best: float | None, mode: str) -> bool:
    if best is None:
        return True
    return value > best if mode == "max" else value < best


class Trainer:
    """One training run in one exp dir; see the module docstring."""

    def __init__(self, config: dict, exp_dir: Path, context: distributed.Context, command: str) -> None:
        self.config, self.exp_dir, self.context = config, exp_dir, context
        self.exp = Experiment(exp_dir)
        self.train_cfg = config["train"]
        problem = None
        if context.is_main:
            try:
                self.exp.prepare(config, command, str(context.device), context.world_size)
            except SerkitError as err:
                problem = (err.message, err.path, err.line, err.hint)
        problem = distributed.broadcast(context, problem)  # every rank stops, none waits forever
        if problem is not None:
            message, path, line, hint = problem
            raise SerkitError(message, path=path, line=line, hint=hint)
        seed_everything(self.train_cfg["seed"], self.train_cfg["deterministic"])
        sets = config["data"]["sets"]
        self.task = task_for(config, sets["train"])
        streams = config["data"]["streams"]
        self.train_set = EmotionDataset(sets["train"], streams, self.task, config["data"]["chunk_frames"])
        self.dev_set = EmotionDataset(sets["dev"], streams, self.task)
        self.input_dims = self.train_set.input_dims
        if self.dev_set.input_dims != self.input_dims:
            raise SerkitError(
                f"dev inputs {self.dev_set.input_dims} differ from train inputs {self.input_dims}",
                path=sets["dev"],
                hint="extract the same features for both sets",
            )
        self.normalization = {
            s.name: {"mean": torch.from_numpy(s.mean), "std": torch.from_numpy(s.std)}
            for s in self.train_set.streams
            if getattr(s, "normalize", None) == "train"
        }
        self.model = build_model(config, self.task, self.input_dims).to(context.device)
        self.ddp_model: nn.Module = self.model
        if context.distributed:
            ids = [context.device] if context.device.type == "cuda" else None
            self.ddp_model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        labeled = self.task["type"] in ("classification", "multilabel")
        labels = list(self.train_set.targets.values()) if labeled else None
        self.loss_fn = losses.build(config, self.task, labels).to(context.device)
        self.optimizer = self._optimizer()
        self.amp_dtype = amp_dtype(self.train_cfg["amp"], context.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.metric, self.mode = self.train_cfg["metric"], self.train_cfg["mode"]
        self.state = {"epoch": 0, "best": None, "best_epoch": None, "bad_epochs": 0, "history": []}
        world = context.world_size
        self.sampler = BucketBatchSampler(
            [self.train_set.length(i) for i in range(len(self.train_set))],
            self.train_cfg["batch_size"],
            shuffle=True,
            bucket=self.train_cfg["bucket"],
            seed=self.train_cfg["seed"],
            rank=context.rank,
            world_size=world,
        )
        self.loader = DataLoader(
            self.train_set,
            batch_sampler=self.sampler,
            num_workers=self.train_cfg["num_workers"],
            collate_fn=Collator(self.train_set),
            pin_memory=context.device.type == "cuda",
            persistent_workers=self.train_cfg["num_workers"] > 0,
        )

    # ------------------------------------------------------------------ setup

    def _optimizer(self) -> torch.optim.Optimizer:
        optim = self.config["optim"]
        params = self.model.parameters()
        if optim["name"] == "sgd":
            return torch.optim.SGD(
                params, lr=optim["lr"], momentum=optim["momentum"], weight_decay=optim["weight_decay"]
            )
        return torch.optim.Adam(
            params, lr=optim["lr"], betas=tuple(optim["betas"]), weight_decay=optim["weight_decay"]
        )

    def _log(self, line: str) -> None:
        if not self.context.is_main:
            return
        log.info(line)
        self.exp.log(line)

    # ------------------------------------------------------------------ checkpoints

    def _checkpoint(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "task": self.task,
            "input_dims": self.input_dims,
            "metric": self.metric,
            "mode": self.mode,
            "normalization": self.normalization,
            **self.state,
        }

    def _resume(self) -> int | None:
        path = self.exp.checkpoint("last")
        if not path.is_file():
            return None
        ckpt = load_weights(
            path,
            "checkpoint",
            "delete it to train from the start (or restore it from a backup)",
            ("model", "optimizer", "rng", *self.state),
            self.context.device,
        )
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scaler is not None and ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["rng"].cpu())
        if ckpt.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in ckpt["cuda_rng"]])
        for key in self.state:
            self.state[key] = ckpt[key]
        return self.state["epoch"]

    def _save(self, improved: bool) -> None:
        checkpoint = self._checkpoint()
        if improved:
            save_atomic(checkpoint, self.exp.checkpoint("best"))
        save_atomic(checkpoint, self.exp.checkpoint("last"))
        history = self.exp.history_file
        history.with_name(".history.json.tmp").write_text(json.dumps(self.state["history"], indent=1))
        os.replace(history.with_name(".history.json.tmp"), history)

    # ------------------------------------------------------------------ the loop

    def _out_of_patience(self) -> bool:
        patience = self.train_cfg["patience"]
        return patience is not None and self.state["bad_epochs"] >= patience

    def fit(self) -> Summary:
        resumed = self._resume()
        if resumed is not None:
            self._log(f"resuming from epoch {resumed} ({self.exp.checkpoint('last')})")
        epochs = self.train_cfg["epochs"]
        stopped = self._out_of_patience()
        while self.state["epoch"] < epochs and not stopped:
            epoch = self.state["epoch"] + 1
            started = time.monotonic()
            train_loss = self._train_epoch(epoch)
            dev = score(
                predict(
                    self.model, self.dev_set, self.train_cfg["batch_size"], self.context.device, self.context
                ),
                self.task,
                self.loss_fn,
            )
            row = {"epoch": epoch, "train_loss": train_loss}
            row.update({f"dev_{k}": v for k, v in dev.items() if isinstance(v, float)})
            if self.metric not in row:
                raise SerkitError(
                    f"train.metric {self.metric!r} is not computed",
                    hint=f"choose one of {', '.join(k for k in row if k.startswith('dev_'))}",
                )
            value = row[self.metric]
            improved = is_better(value, self.state["best"], self.mode)
            if improved:
                self.state.update(best=value, best_epoch=epoch, bad_epochs=0)
            else:
                self.state["bad_epochs"] += 1
            self.state["epoch"] = epoch
            self.state["history"].append(row)
            shown = " ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "epoch")
            self._log(
                f"epoch {epoch}/{epochs} {shown} lr {self.optimizer.param_groups[0]['lr']:g} "
                f"time {time.monotonic() - started:.1f}s" + (" *best*" if improved else "")
            )
            if self.context.is_main:
                self._save(improved)
            distributed.barrier(self.context)
            stopped = self._out_of_patience()
            if stopped:
                self._log(
                    f"early stop: {self.metric} ({self.mode}) has not improved for "
                    f"{self.state['bad_epochs']} epochs; "
                    f"best {self.state['best']:.4f} at epoch {self.state['best_epoch']}"
                )
        if resumed is not None and resumed == self.state["epoch"]:
            self._log(f"nothing to do: training had finished at epoch {resumed}")
        return Summary(
            exp_dir=self.exp_dir,
            epochs_run=self.state["epoch"],
            best_epoch=self.state["best_epoch"],
            best_value=self.state["best"],
            metric=self.metric,
            stopped_early=stopped,
            resumed_from=resumed,
            main_process=self.context.is_main,
        )

    def _train_epoch(self, epoch: int) -> float:
        self.sampler.set_epoch(epoch)
        self.ddp_model.train()
        total, count = 0.0, 0
        clip = self.train_cfg["grad_clip"]
        device = self.context.device
        with _progress(self.context.is_main) as bar:
            task = bar.add_task(f"epoch {epoch}", total=len(self.loader), loss=float("nan"))
            for batch in self.loader:
                batch = to_device(batch, device)
                self.optimizer.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                    output = self.ddp_model(batch["inputs"], batch["masks"])
                loss = self.loss_fn(output.float(), batch["target"], batch.get("target_mask"))
                if self.scaler is not None:
                    self.scaler.scale(loss).backward()
                    self.scaler.unscale_(self.optimizer)
                else:
                    loss.backward()
                if clip:
                    nn.utils.clip_grad_norm_(self.model.parameters(), clip)
                if self.scaler is not None:
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                else:
                    self.optimizer.step()
                size = len(batch["utts"])
                total += float(loss.detach()) * size
                count += size
                bar.update(task, advance=1, loss=total / count)
        sums = distributed.all_gather(self.context, (total, count))
        return sum(s for s, _ in sums) / max(sum(c for _, c in sums), 1)


def _progress(enabled: bool) -> Progress:
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} batches"),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )

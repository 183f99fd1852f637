"""The trainer end to end, as a user runs it: a real data dir and store, ``python -m serkit train``.

A tiny mean-pool model solves a synthetic 4-class task (class = which feature dim is
raised); it converges, stops early, and a run killed with SIGKILL after a checkpoint
resumes and ends with exactly the history of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import run_serkit

from serkit import datadir
from serkit.errors import SerkitError
from serkit.store import StoreWriter
from serkit.training import trainer

CLASSES = ["ang", "hap", "neu", "sad"]
SETS = (("train", 64, 0), ("dev", 24, 1), ("test", 24, 2))


def make_set(root: Path, name: str, n: int, seed: int, dims: int = 8) -> None:
    """A data dir ``root/data/<name>`` (imbalanced: half the utterances are ang) and its store."""
    rng = np.random.default_rng(seed)
    meta = {
        "corpus": "iemocap",
        "synthetic": True,
        "classes": CLASSES,
        "protocol": {"split": f"synthetic {name}"},
    }
    data = datadir.DataDir(meta=meta)
    feats = {}
    for i in range(n):
        utt = f"{name}-{i:03d}"
        label = i % 4 if i % 3 else 0
        data.wav_scp[utt] = datadir.WavEntry(f"/nonexistent/{utt}.wav")
        data.utt2spk[utt] = f"spk{i % 2}"
        data.utt2emo[utt] = CLASSES[label]
        data.text[utt] = f"word{label} and word{label}"
        frames = rng.normal(size=(int(rng.integers(5, 30)), dims)).astype(np.float32)
        frames[:, label] += 1.5
        feats[utt] = frames
    datadir.save(data, root / "data" / name)
    store = root / "feats" / f"{name}_synth.h5"
    with StoreWriter(store, "synth", {}, frame_shift=0.01, frame_length=0.025, sample_rate=16000) as writer:
        for utt, frames in feats.items():
            writer.put(utt, frames)


TINY_CONFIG = {
    "model": {"name": "mean_pool", "hidden": [16], "dropout": 0.1},
    "data": {
        "sets": {"train": "data/train", "dev": "data/dev", "test": "data/test"},
        "streams": [
            {"name": "acoustic", "type": "frames", "store": "feats/{set}_synth.h5", "max_frames": 20}
        ],
    },
    "optim": {"name": "adam", "lr": 0.01},
    "train": {"epochs": 30, "batch_size": 8, "patience": 3, "grad_clip": 5.0, "seed": 3},
}


def make_task(root: Path, config: dict | None = None) -> Path:
    """A recipe-like dir: data/{train,dev,test}, feats/*.h5 and conf/tiny.yaml."""
    for name, n, seed in SETS:
        make_set(root, name, n, seed)
    (root / "conf").mkdir(parents=True, exist_ok=True)
    (root / "conf" / "tiny.yaml").write_text(yaml.safe_dump(config or TINY_CONFIG), encoding="utf-8")
    return root


def train_in_process(root: Path, exp: str, *overrides: str) -> trainer.Summary:
    """``serkit train`` without a new interpreter (paths are relative to the recipe dir)."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return trainer.run("conf/tiny.yaml", exp, list(overrides), command="test")
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def task(tmp_path_factory) -> Path:
    """The synthetic task with one uninterrupted reference run in exp/ref."""
    root = make_task(tmp_path_factory.mktemp("task"))
    train_in_process(root, "exp/ref")
    return root


def history(exp: Path) -> list[dict]:
    return json.loads((exp / "history.json").read_text())


def train_args(exp: str, *extra: str) -> list[str]:
    return ["train", "--config", "conf/tiny.yaml", "--exp", exp, *extra]


def test_converges_and_stops_early(task: Path) -> None:
    exp = task / "exp" / "ref"
    rows = history(exp)
    assert 3 < len(rows) < 30  # stopped early, well before 30 epochs
    assert max(r["dev_ua"] for r in rows) >= 0.9
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] / 2
    best = max(range(len(rows)), key=lambda i: rows[i]["dev_ua"])
    assert len(rows) - 1 - best == 3  # exactly `patience` epochs without improvement
    assert "early stop" in (exp / "train.log").read_text()
    best_ckpt = torch.load(exp / "checkpoints" / "best.pt", weights_only=True)
    assert best_ckpt["epoch"] == best + 1 and best_ckpt["best"] == rows[best]["dev_ua"]
    last_ckpt = torch.load(exp / "checkpoints" / "last.pt", weights_only=True)
    assert last_ckpt["epoch"] == len(rows)


def test_sigkill_then_relaunch_resumes_and_matches_an_uninterrupted_run(task: Path) -> None:
    exp = task / "exp" / "killed"
    command = [sys.executable, "-m", "serkit", *train_args("exp/killed")]
    process = subprocess.Popen(command, cwd=task, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (exp / "checkpoints" / "last.pt").is_file():
        assert process.poll() is None, "training ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    killed_at = torch.load(exp / "checkpoints" / "last.pt", weights_only=True)["epoch"]
    reference = history(task / "exp" / "ref")
    assert 1 <= killed_at < len(reference)

    resumed = run_serkit(*train_args("exp/killed"), cwd=task)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from epoch {killed_at}" in (exp / "train.log").read_text()
    rows = history(exp)
    assert len(rows) == len(reference)
    for ours, theirs in zip(rows, reference, strict=True):
        assert ours == pytest.approx(theirs, abs=1e-6)
    a = torch.load(exp / "checkpoints" / "best.pt", weights_only=True)["model"]
    b = torch.load(task / "exp" / "ref" / "checkpoints" / "best.pt", weights_only=True)["model"]
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)

    # The exp dir of DESIGN §3, one cmd.txt line per launch, a train.log line per epoch (an epoch
    # cut short by the kill after its line was written is logged again when it is rerun).
    for name in (
        "config.yaml",
        "cmd.txt",
        "env.txt",
        "train.log",
        "checkpoints/best.pt",
        "checkpoints/last.pt",
    ):
        assert (exp / name).is_file(), name
    assert (exp / "cmd.txt").read_text().splitlines() == ["serkit " + " ".join(train_args("exp/killed"))] * 2
    env = (exp / "env.txt").read_text()
    assert "torch: " in env and "git: " in env and "world_size: 1" in env
    epoch_lines = re.findall(r" epoch (\d+)/30 ", (exp / "train.log").read_text())
    assert sorted(set(map(int, epoch_lines))) == list(range(1, len(rows) + 1))
    resolved = yaml.safe_load((exp / "config.yaml").read_text())
    assert resolved["train"]["metric"] == "dev_ua" and resolved["train"]["mode"] == "max"


def test_more_patience_resumes_and_other_changes_are_refused(task: Path) -> None:
    shutil.copytree(task / "exp" / "ref", task / "exp" / "more")
    before = len(history(task / "exp" / "more"))
    summary = train_in_process(task, "exp/more", "train.patience=5")
    assert summary.resumed_from == before and len(history(task / "exp" / "more")) == before + 2
    with pytest.raises(SerkitError, match="optim.lr"):
        train_in_process(task, "exp/more", "optim.lr=0.1")


def test_a_fold_of_an_extending_config_trains_in_its_default_exp_dir(task: Path) -> None:
    (task / "data" / "fold1").mkdir(exist_ok=True)
    for name in ("train", "dev", "test"):
        if not (task / "data" / "fold1" / name).exists():
            os.symlink(task / "data" / name, task / "data" / "fold1" / name)
    sets = {s: f"data/{{fold}}/{s}" for s in ("train", "dev", "test")}
    row = {"extends": "tiny.yaml", "data": {"sets": sets}, "train": {"epochs": 1}}
    (task / "conf" / "row.yaml").write_text(yaml.safe_dump(row), encoding="utf-8")
    done = run_serkit(
        "train", "--config", "conf/row.yaml", "--fold", "fold1", "--set", "optim.lr=0.02", cwd=task
    )
    assert done.returncode == 0, done.stderr
    exp = task / "exp" / "row_lr0.02" / "fold1"
    resolved = yaml.safe_load((exp / "config.yaml").read_text())
    assert "extends" not in resolved and resolved["name"] == "row"
    assert resolved["data"]["sets"]["dev"] == "data/fold1/dev" and resolved["optim"]["lr"] == 0.02
    assert resolved["model"] == TINY_CONFIG["model"] and resolved["train"]["epochs"] == 1
    assert (exp / "checkpoints" / "best.pt").is_file() and (exp / "env.txt").is_file()


def test_bf16_is_refused_on_a_cpu_without_native_bfloat16(task: Path, monkeypatch) -> None:
    """Emulated bfloat16 is slower than float32 and oneDNN's LSTM refuses it: one line, exit 2."""
    native = trainer.cpu_has_bf16()  # this machine's CPU, asked before it is patched
    monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: False)
    with pytest.raises(SerkitError, match="no native bfloat16"):
        trainer.amp_dtype("bf16", torch.device("cpu"))
    assert trainer.amp_dtype("bf16", torch.device("cuda")) == torch.bfloat16
    assert trainer.amp_dtype(True, torch.device("cpu")) is None
    assert trainer.amp_dtype(True, torch.device("cuda")) == torch.float16
    if not native:  # this machine's CPU: the command fails as a user would see it
        monkeypatch.undo()
        done = run_serkit(*train_args("exp/bf16_refused", "--set", "train.amp=bf16"), cwd=task)
        assert done.returncode == 2 and "no native bfloat16" in done.stdout + done.stderr
        assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.skipif(
    not trainer.cpu_has_bf16(), reason="this CPU has no native bfloat16 (train.amp: bf16 is refused)"
)
def test_bf16_autocast_trains_on_the_cpu(task: Path) -> None:
    """``train.amp: bf16`` autocasts to bfloat16 on a CPU with native bfloat16."""
    assert trainer.amp_dtype("bf16", torch.device("cpu")) == torch.bfloat16
    summary = train_in_process(task, "exp/bf16", "train.amp=bf16", "train.device=cpu")
    rows = history(task / "exp" / "bf16")
    assert summary.best_value >= 0.9 and rows[-1]["train_loss"] < rows[0]["train_loss"] / 2
    reference = history(task / "exp" / "ref")
    assert [r["train_loss"] for r in rows[:2]] != [r["train_loss"] for r in reference[:2]]  # other arithmetic

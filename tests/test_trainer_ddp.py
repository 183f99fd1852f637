"""DDP on CPU: ``torchrun --nproc_per_node 2`` (gloo) trains to the metrics of one process."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_trainer import TINY_CONFIG, make_task, train_in_process


def test_two_gloo_processes_match_one_process(tmp_path: Path) -> None:
    config = copy.deepcopy(TINY_CONFIG)
    config["model"]["dropout"] = 0.0  # dropout masks would differ between ranks and one process
    config["train"].update(epochs=6, patience=None)
    root = make_task(tmp_path, config)
    train_in_process(root, "exp/one")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "serkit", "train", "--config", "conf/tiny.yaml", "--exp", "exp/two",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    one = json.loads((root / "exp" / "one" / "history.json").read_text())
    two = json.loads((root / "exp" / "two" / "history.json").read_text())
    assert len(one) == len(two) == 6
    for a, b in zip(one, two, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], abs=1e-4)
        assert b["dev_loss"] == pytest.approx(a["dev_loss"], abs=1e-4)
        assert b["dev_ua"] == pytest.approx(a["dev_ua"]) and b["dev_wa"] == pytest.approx(a["dev_wa"])
    # Rank 0 alone writes: one line per epoch in train.log, one env.txt naming both processes.
    log = (root / "exp" / "two" / "train.log").read_text()
    assert log.count(" epoch 1/6 ") == 1
    assert "world_size: 2" in (root / "exp" / "two" / "env.txt").read_text()
    assert yaml.safe_load((root / "exp" / "two" / "config.yaml").read_text())["train"]["batch_size"] == 8

"""``serkit.experiment``: exp-dir paths and names, score keys, records, the device chosen once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from serkit import experiment
from serkit.errors import SerkitError
from serkit.experiment import Experiment


def test_paths_of_an_exp_dir() -> None:
    exp = Experiment("exp/x/fold1")
    assert exp.checkpoint("best") == Path("exp/x/fold1/checkpoints/best.pt")
    assert exp.checkpoint("last").name == "last.pt" and exp.score_file("test").name == "test.json"
    assert exp.plot_file("curves.png") == Path("exp/x/fold1/plots/curves.png")
    with pytest.raises(ValueError):
        exp.checkpoint("first")


def test_scores_of_another_data_dir_never_take_a_config_sets_key(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for d in ("data/test", "other/dir/test"):
        Path(d).mkdir(parents=True)
    sets = {"train": "data/train", "dev": "data/dev", "test": "data/test"}
    assert experiment.score_key(sets, "test") == (Path("data/test"), "test")
    assert experiment.score_key(sets, "data/test") == (Path("data/test"), "test")
    path, key = experiment.score_key(sets, "other/dir/test")
    assert path == Path("other/dir/test") and key.startswith("other-dir-test-")
    assert experiment.score_key(sets, "other/dir/test") == (path, key)
    with pytest.raises(SerkitError, match="no set 'eval'"):
        experiment.score_key(sets, "eval")


def test_records_config_command_and_environment(tmp_path: Path) -> None:
    experiment.write_records(tmp_path / "out", {"dim": 50}, "serkit train-word2vec a b", device="cpu")
    experiment.write_records(tmp_path / "out", {"dim": 60}, "serkit train-word2vec a b --dim 60")
    assert (tmp_path / "out" / "config.yaml").read_text() == "dim: 60\n"
    assert len((tmp_path / "out" / "cmd.txt").read_text().splitlines()) == 2
    env = (tmp_path / "out" / "env.txt").read_text()
    assert "torch: " in env and "git: " in env


def test_a_records_write_that_dies_midway_leaves_the_old_config_whole(tmp_path: Path) -> None:
    """A relaunch reads config.yaml to resume a training: a write cut short (here the text cannot be
    encoded whole) leaves the previous file, never an empty or truncated one."""
    out = tmp_path / "out"
    experiment.write_records(out, {"dim": 50}, "first")
    with pytest.raises(UnicodeEncodeError):
        experiment.write_records(out, "dim: 60\nnote: \ud800\n", "second")
    assert (out / "config.yaml").read_text() == "dim: 50\n"
    assert sorted(f.name for f in out.iterdir()) == ["cmd.txt", "config.yaml", "env.txt"]  # no temporary


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_cuda_asked_for_without_a_gpu_is_an_error_and_auto_says_it_uses_the_cpu(caplog) -> None:
    with pytest.raises(SerkitError, match="device cuda was asked for but no CUDA device is visible"):
        experiment.choose_device("cuda")
    with caplog.at_level(logging.INFO, logger="serkit"):
        assert experiment.choose_device("auto") == torch.device("cpu")
    assert "no CUDA device is visible, running on the CPU" in caplog.text
    assert experiment.choose_device("cpu") == torch.device("cpu")
    with pytest.raises(SerkitError, match="use auto, cpu, cuda"):
        experiment.choose_device("tpu")

"""bin/parse_options.sh and bin/stage.sh, driven as a recipe would use them (bats-like)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import REPO

RECIPE = """#!/usr/bin/env bash
# A toy recipe.
# Usage: run.sh [options] ARG...
set -euo pipefail
stage=0
stop_stage=100
force_stage=
use_gpu=false
db_path=/corpora/demo
nj=4
. {repo}/bin/parse_options.sh
. {repo}/bin/stage.sh
done_dir=$PWD/exp/.done
echo "stage=$stage stop_stage=$stop_stage use_gpu=$use_gpu db_path=$db_path nj=$nj args=$*"
for n in 1 2 3; do
  if stage_begin $n "step $n"; then
    echo "ran $n" >> ran.txt
    stage_done $n
  fi
done
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "run.sh"
    if not script.exists():
        script.write_text(RECIPE.format(repo=REPO))
    return subprocess.run(
        ["bash", str(script), *args], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def test_options_set_variables_and_leave_positionals(tmp_path: Path) -> None:
    r = _run(tmp_path, "--stage", "2", "--db-path=/x y", "--use-gpu", "true", "a", "b")
    assert r.returncode == 0, r.stderr
    assert "stage=2 stop_stage=100 use_gpu=true db_path=/x y nj=4 args=a b" in r.stdout


def test_unknown_option_and_bad_boolean_are_errors(tmp_path: Path) -> None:
    r = _run(tmp_path, "--nope", "1")
    assert r.returncode != 0 and "unknown option --nope" in r.stderr
    r = _run(tmp_path, "--use-gpu", "yes")
    assert r.returncode != 0 and "boolean" in r.stderr and "'yes'" in r.stderr
    r = _run(tmp_path, "--nj")
    assert r.returncode != 0 and "needs a value" in r.stderr


def test_config_is_sourced_first_and_help_shows_defaults(tmp_path: Path) -> None:
    (tmp_path / "my.conf").write_text("nj=16\nuse_gpu=true\n")
    r = _run(tmp_path, "--nj", "2", "--config", "my.conf")
    assert "use_gpu=true" in r.stdout and "nj=2" in r.stdout  # command line wins over --config
    r = _run(tmp_path, "--help")
    assert r.returncode == 0
    assert "A toy recipe." in r.stderr and "Usage: run.sh" in r.stderr
    assert "--db-path" in r.stderr and "[/corpora/demo]" in r.stderr and "--use-gpu" in r.stderr


def test_stages_skip_when_done_and_rerun_from_stage(tmp_path: Path) -> None:
    assert _run(tmp_path).returncode == 0
    assert (tmp_path / "ran.txt").read_text().split("\n")[:-1] == ["ran 1", "ran 2", "ran 3"]
    r = _run(tmp_path)
    assert "already done" in r.stderr and "--force-stage 2" in r.stderr
    assert (tmp_path / "ran.txt").read_text().count("ran") == 3
    r = _run(tmp_path, "--stage", "2")
    assert (tmp_path / "ran.txt").read_text().split("\n")[3:-1] == ["ran 2", "ran 3"]
    assert "Stage 2: step 2" in r.stderr
    # Forcing stage 1 makes the later stages stale, so they run again too.
    _run(tmp_path, "--force-stage", "1")
    assert (tmp_path / "ran.txt").read_text().split("\n")[5:-1] == ["ran 1", "ran 2", "ran 3"]
    r = _run(tmp_path, "--stage", "1", "--stop-stage", "1")
    assert (tmp_path / "ran.txt").read_text().split("\n")[8:-1] == ["ran 1"]
    assert "Stage 2" not in r.stderr


def test_log_lines_carry_a_timestamp(tmp_path: Path) -> None:
    r = _run(tmp_path)
    line = next(x for x in r.stderr.splitlines() if "Stage 1" in x)
    assert line[:4].isdigit() and "T" in line[:20] and "(run.sh:" in line

"""bin/parse_options.sh and bin/stage.sh, driven as a recipe would use them (bats-like)."""

from __future__ import annotations

import os
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
db_path=/corpora/demo   # where the corpus is
nj=4
. {repo}/bin/parse_options.sh
. {repo}/bin/stage.sh
done_dir=$PWD/exp/.done
echo "stage=$stage stop_stage=$stop_stage use_gpu=$use_gpu db_path=$db_path nj=$nj args=$*"
for n in 1 2 3; do
  uses=
  [ $n = 2 ] && uses=db_path
  if stage_begin $n "step $n" $uses; then
    echo "ran $n stale=$stage_stale" >> ran.txt
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
    assert "where the corpus is" in r.stderr  # the declaration's comment


def test_recipe_help_lists_shared_and_own_options() -> None:
    r = subprocess.run(
        ["bash", "run.sh", "--help"], cwd=REPO / "recipes" / "TEMPLATE", capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    for option in ("--stage", "--mini-size", "--db", "--folds", "--ngpu", "--fast", "--seed", "--cmd"):
        assert f"  {option} " in r.stderr, option
    assert "--window" in r.stderr and "34-d feature window" in r.stderr
    assert "po-option-files" not in r.stderr


def _ran(tmp_path: Path) -> list[str]:
    return (tmp_path / "ran.txt").read_text().splitlines()


def test_stages_skip_when_done_and_rerun_from_stage(tmp_path: Path) -> None:
    assert _run(tmp_path).returncode == 0
    assert _ran(tmp_path) == ["ran 1 stale=false", "ran 2 stale=true", "ran 3 stale=true"]
    r = _run(tmp_path)
    assert "already done" in r.stderr and "--force-stage 2" in r.stderr
    assert len(_ran(tmp_path)) == 3
    r = _run(tmp_path, "--stage", "2")
    assert _ran(tmp_path)[3:] == ["ran 2 stale=true", "ran 3 stale=true"]
    assert "Stage 2: step 2" in r.stderr
    # Forcing stage 1 makes the later stages stale, so they run again too.
    _run(tmp_path, "--force-stage", "1")
    assert [x.split()[1] for x in _ran(tmp_path)[5:]] == ["1", "2", "3"]
    r = _run(tmp_path, "--stage", "1", "--stop-stage", "1")
    assert [x.split()[1] for x in _ran(tmp_path)[8:]] == ["1"]
    assert "Stage 2" not in r.stderr


def test_marker_records_options_and_a_changed_option_redoes_the_stage(tmp_path: Path) -> None:
    assert _run(tmp_path).returncode == 0
    assert "option db_path=/corpora/demo" in (tmp_path / "exp/.done/stage.2").read_text()
    r = _run(tmp_path, "--db-path", "/other")
    assert r.returncode == 0, r.stderr
    assert "Stage 1: step 1 — already done" in r.stderr
    assert "db_path: '/corpora/demo' -> '/other'" in r.stderr
    assert _ran(tmp_path)[3:] == ["ran 2 stale=true", "ran 3 stale=true"]
    # The same options again: nothing to do.
    _run(tmp_path, "--db-path", "/other")
    assert len(_ran(tmp_path)) == 5


def test_an_interrupted_stage_resumes_instead_of_starting_afresh(tmp_path: Path) -> None:
    assert _run(tmp_path, "--stop-stage", "2").returncode == 0
    # Stage 3 never finished: its next run is not stale (it may resume its own partial outputs).
    _run(tmp_path)
    assert _ran(tmp_path)[-1] == "ran 3 stale=true"  # stage 2 ran in the first call: 3's inputs are new
    (tmp_path / "exp/.done/stage.3").unlink()
    _run(tmp_path)
    assert _ran(tmp_path)[-1] == "ran 3 stale=false"


# Stage 1 makes out/a and out/b from $version, each only if it is not there yet (it resumes, as a
# training resumes from its checkpoint); DIE_AFTER=a kills the run (SIGKILL) once out/a is made.
RESUMING = """set -euo pipefail
version=1
. {repo}/bin/parse_options.sh
. {repo}/bin/stage.sh
done_dir=$PWD/exp/.done
if stage_begin 1 "make out" version; then
  for name in a b; do
    stage_fresh out/$name
    [ -f out/$name ] || {{ mkdir -p out; echo "$version" > out/$name; echo "$name" >> made.txt; }}
    [ "${{DIE_AFTER:-}}" = $name ] && kill -9 $$
  done
  stage_done 1
fi
"""


def _resuming(tmp_path: Path, *args: str, die_after: str = "") -> subprocess.CompletedProcess:
    script = tmp_path / "resuming.sh"
    script.write_text(RESUMING.format(repo=REPO))
    env = {**os.environ, "DIE_AFTER": die_after}
    return subprocess.run(["bash", str(script), *args], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_a_stale_stage_killed_halfway_removes_the_old_outputs_it_had_not_reached(tmp_path: Path) -> None:
    assert _resuming(tmp_path).returncode == 0
    # Redone with another version, killed once out/a is new: out/b is still the old version's.
    assert _resuming(tmp_path, "--version", "2", die_after="a").returncode == -9
    assert (tmp_path / "out/a").read_text() == "2\n" and (tmp_path / "out/b").read_text() == "1\n"
    again = _resuming(tmp_path, "--version", "2")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out/b").read_text() == "2\n"  # not resumed from the old version's
    assert (tmp_path / "made.txt").read_text().split() == ["a", "b", "a", "b"]  # the new out/a was kept
    assert not (tmp_path / "exp/.done/stage.1.stale").exists()
    assert "option version=2" in (tmp_path / "exp/.done/stage.1").read_text()


def test_log_lines_carry_a_timestamp(tmp_path: Path) -> None:
    r = _run(tmp_path)
    line = next(x for x in r.stderr.splitlines() if "Stage 1" in x)
    assert line[:4].isdigit() and "T" in line[:20] and "(run.sh:" in line


BACKGROUND = """set -euo pipefail
. {repo}/bin/stage.sh
. {repo}/bin/recipe.sh
job() {{ echo "job $1 threads=${{OMP_NUM_THREADS-}}"; [ "$1" != bad ]; }}
for name in {names}; do in_background 2 "logs/$name.log" job "$name"; done
wait_background && echo "all ok" || echo "failed"
in_background 1 unused.log job here
"""


def _background(tmp_path: Path, names: str) -> subprocess.CompletedProcess:
    script = tmp_path / "bg.sh"
    script.write_text(BACKGROUND.format(repo=REPO, names=names))
    return subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True, check=False)


def test_background_jobs_log_to_files_and_a_failure_is_reported(tmp_path: Path) -> None:
    r = _background(tmp_path, "a b c")
    assert r.returncode == 0, r.stderr
    assert "all ok" in r.stdout and "job here" in r.stdout  # one job at a time runs in the foreground
    for name in "abc":
        threads = (tmp_path / "logs" / f"{name}.log").read_text().split(f"job {name} threads=")[1]
        assert int(threads) >= 1  # nproc / 2 CPU threads each
    r = _background(tmp_path, "a bad c")
    assert "failed" in r.stdout and "all ok" not in r.stdout
    assert "failed with exit code 1; its log: logs/bad.log" in r.stderr

"""The job launcher: logs, failures naming their log, reruns of unfinished jobs only, Slurm."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from serkit import jobs
from serkit.errors import SerkitError

FAKE_SBATCH = """#!/usr/bin/env bash
# A stand-in for sbatch --wait --array=LIST[%N]: runs each array task in turn, like a tiny cluster.
array="" ; script=""
for arg in "$@"; do
  case $arg in
    --array=*) array=${arg#--array=}; array=${array%%%*} ;;
    --*) ;;
    *) script=$arg ;;
  esac
done
echo "$@" >> "$(dirname "$0")/sbatch.calls"
rc=0
for task in ${array//,/ }; do
  SLURM_ARRAY_TASK_ID=$task bash "$script" || rc=1
done
exit $rc
"""


def _job_template(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "work.sh"
    script.write_text(body)
    return ["bash", str(script), "JOB", str(tmp_path / "out.JOB")]


def test_local_jobs_log_command_and_status(tmp_path: Path) -> None:
    template = _job_template(tmp_path, 'echo "job $1"; echo done > "$2"\n')
    jobs.run_jobs(
        template, 3, tmp_path / "log", name="demo", done_check=lambda j: (tmp_path / f"out.{j}").exists()
    )
    for j in (1, 2, 3):
        log = (tmp_path / "log" / f"demo.{j}.log").read_text().splitlines()
        assert log[0].startswith("# bash ") and log[0].endswith(f"out.{j}")
        assert f"job {j}" in log
        assert log[-1].startswith("# Ended (code 0)")
    assert jobs.exit_status(tmp_path / "log" / "demo.2.log") == 0


def test_failure_names_the_log_and_rerun_only_redoes_it(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    counter.mkdir()
    # Job 2 kills itself with SIGKILL on its first run; every run leaves a mark.
    template = _job_template(
        tmp_path,
        'touch "$(dirname "$2")/runs/$1.$RANDOM$RANDOM"\n'
        'if [ "$1" = 2 ] && [ ! -e "$(dirname "$2")/second_try" ]; then kill -9 $$; fi\n'
        'echo ok > "$2"\n',
    )
    with pytest.raises(SerkitError, match="1 of 3 demo jobs failed") as err:
        jobs.run_jobs(template, 3, tmp_path / "log", name="demo")
    assert err.value.path.endswith("demo.2.log")
    assert jobs.exit_status(tmp_path / "log" / "demo.2.log") == 137
    (tmp_path / "second_try").touch()
    jobs.run_jobs(template, 3, tmp_path / "log", name="demo")
    runs = sorted(p.name.split(".")[0] for p in counter.iterdir())
    assert runs == ["1", "2", "2", "3"]


def test_unfinished_log_counts_as_not_done(tmp_path: Path) -> None:
    log = tmp_path / "x.1.log"
    log.write_text("# cmd\n# Started\nhalf way\n")
    assert jobs.exit_status(log) is None
    assert jobs.exit_status(tmp_path / "absent.log") is None


def test_bad_cmd_is_refused() -> None:
    with pytest.raises(SerkitError, match="unknown --cmd"):
        jobs.JobCommand.parse("queue.pl")
    assert jobs.JobCommand.parse("slurm -p gpu --mem 4G").options == ("-p", "gpu", "--mem", "4G")


def test_slurm_path_with_fake_sbatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    sbatch = bindir / "sbatch"
    sbatch.write_text(FAKE_SBATCH)
    sbatch.chmod(sbatch.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    template = _job_template(tmp_path, 'echo "task $1"; echo ok > "$2"\n')
    jobs.run_jobs(template, 2, tmp_path / "log", name="arr", cmd="slurm -p debug", max_parallel=1)
    calls = (bindir / "sbatch.calls").read_text()
    assert "--wait" in calls and "--array=1,2%1" in calls and "-p debug" in calls
    assert "task 2" in (tmp_path / "log" / "arr.2.log").read_text()
    # Everything is done: a rerun submits nothing.
    jobs.run_jobs(template, 2, tmp_path / "log", name="arr", cmd="slurm -p debug")
    assert (bindir / "sbatch.calls").read_text().count("\n") == 1


def test_slurm_without_sbatch_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SerkitError, match="sbatch is not on PATH"):
        jobs.run_jobs(["true"], 1, tmp_path / "log", cmd="slurm")


@pytest.fixture(scope="module")
def real_slurm(tmp_path_factory: pytest.TempPathFactory):
    from slurm_cluster import start

    cluster, why = start(tmp_path_factory.mktemp("slurm"))
    if cluster is None:
        pytest.skip(f"no real Slurm here: {why} (the fake-sbatch test covers the submission path)")
    yield cluster
    cluster.stop()


@pytest.mark.slurm
def test_slurm_path_with_a_real_cluster(tmp_path: Path, real_slurm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_CONF", str(real_slurm.conf))
    template = _job_template(
        tmp_path,
        'echo "task $1 on $SLURM_JOB_ID"\n'
        'if [ "$1" = 3 ] && [ ! -e "$(dirname "$2")/second_try" ]; then exit 3; fi\n'
        'echo ok > "$2"\n',
    )
    with pytest.raises(SerkitError, match="1 of 4 arr jobs failed") as err:
        jobs.run_jobs(template, 4, tmp_path / "log", name="arr", cmd="slurm")
    assert err.value.path.endswith("arr.3.log") and jobs.exit_status(tmp_path / "log" / "arr.3.log") == 3
    assert "on " in (tmp_path / "log" / "arr.1.log").read_text()
    first = (tmp_path / "log" / "arr.1.log").read_text()
    (tmp_path / "second_try").touch()
    jobs.run_jobs(template, 4, tmp_path / "log", name="arr", cmd="slurm")
    assert (tmp_path / "log" / "arr.1.log").read_text() == first  # finished jobs are not resubmitted
    assert all((tmp_path / f"out.{j}").exists() for j in range(1, 5))


def test_run_job_command_writes_one_log_and_passes_the_status(tmp_path: Path) -> None:
    from conftest import run_serkit

    log = tmp_path / "exp" / "log" / "train.log"
    failed = run_serkit("run-job", str(log), "--", "bash", "-c", "echo working; exit 3")
    assert failed.returncode == 2 and "train.log" in failed.stderr and "status 3" in failed.stderr
    marker = tmp_path / "ran"
    ok = run_serkit("run-job", str(log), "--", "bash", "-c", f"echo again >> {marker}")
    assert ok.returncode == 0 and jobs.exit_status(log) == 0
    assert "working" not in log.read_text()  # the failed run's log was replaced
    assert run_serkit("run-job", str(log), "--", "bash", "-c", f"echo again >> {marker}").returncode == 0
    assert marker.read_text() == "again\nagain\n"  # a relaunch runs again (the trainer resumes itself)


def test_cmd_help_names_the_sbatch_options() -> None:
    from conftest import run_serkit

    for command in ("run-job", "extract-features"):
        done = run_serkit(command, "--help")
        assert "'slurm' and any sbatch options" in " ".join(done.stdout.split()), done.stdout

"""One job launcher for the whole toolkit: ``--nj N --cmd local|slurm`` (Kaldi's run.pl / slurm.pl idea).

:func:`run_jobs` runs a command template N times, with the token ``JOB``
replaced by 1..N. Every job writes one log, ``<log_dir>/<name>.<n>.log`` (``<name>.log``
when there is one job), that starts with the command and ends with ``# Ended (code N)``. A job counts as done
when its log ends with code 0 and its optional ``done_check`` passes; a rerun
only runs the jobs that are not done. A failure names the failing job's log.

``--cmd local`` runs the jobs as subprocesses, at most ``max_parallel`` at once.
``--cmd slurm [sbatch options]`` submits the jobs that are not done as one
``sbatch --wait --array`` and waits for it; the extra words after ``slurm`` are
passed to sbatch (``--cmd "slurm -p gpu --mem 4G"``).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from serkit.errors import SerkitError

log = logging.getLogger(__name__)

END_MARK = "# Ended (code "

#: How a job starts Python: this interpreter, with ``-P`` (``sys.flags.safe_path``) so that the
#: job imports the installed serkit (or the one PYTHONPATH names), never a ``serkit/`` folder that
#: happens to be in the working directory.
PYTHON = (sys.executable, "-P")

_WRAPPER = """#!/usr/bin/env bash
# serkit job wrapper: one log per job, starting with the command and ending with its exit status.
JOB=${{SLURM_ARRAY_TASK_ID:-$1}}
log={log_dir}/{log_name}
cd {cwd}
case $JOB in
{cases}
*) echo "no such job: $JOB" >&2; exit 1 ;;
esac
{{ echo "# $cmd"; echo "# Started at $(date) on $(hostname)"; }} > "$log"
start=$(date +%s)
bash -c "$cmd" >> "$log" 2>&1 </dev/null
rc=$?
echo "# Accounting: time=$(( $(date +%s) - start )) s" >> "$log"
echo "{end_mark}$rc) at $(date)" >> "$log"
exit $rc
"""


@dataclass(frozen=True)
class JobCommand:
    """The launcher named by ``--cmd``: ``local`` or ``slurm`` plus sbatch options."""

    kind: str
    options: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> JobCommand:
        words = shlex.split(text)
        if not words or words[0] not in ("local", "slurm"):
            raise SerkitError(
                f"unknown --cmd {text!r}",
                hint="use 'local' or 'slurm' (optionally followed by sbatch options)",
            )
        if words[0] == "local" and len(words) > 1:
            raise SerkitError(f"--cmd local takes no options, got {text!r}", hint="use plain 'local'")
        return cls(words[0], tuple(words[1:]))


def job_log(log_dir: Path, name: str, job: int, nj: int = 2) -> Path:
    """``<name>.<job>.log``, or ``<name>.log`` for a single job."""
    return log_dir / (f"{name}.log" if nj == 1 else f"{name}.{job}.log")


def exit_status(log_file: Path) -> int | None:
    """The status recorded at the end of a job log, or None if the job never ended."""
    if not log_file.is_file():
        return None
    with open(log_file, "rb") as f:
        f.seek(max(0, log_file.stat().st_size - 512))
        tail = f.read().decode("utf-8", errors="replace").strip().splitlines()
    if not tail or not tail[-1].startswith(END_MARK):
        return None
    try:
        return int(tail[-1][len(END_MARK) :].split(")")[0])
    except ValueError:
        return None


def _command_for(template: Sequence[str], job: int) -> str:
    return shlex.join(arg.replace("JOB", str(job)) for arg in template)


def write_wrapper(template: Sequence[str], nj: int, log_dir: Path, name: str) -> Path:
    """The bash script every job runs, locally or under Slurm (one case per job)."""
    cases = "\n".join(f"{j}) cmd={shlex.quote(_command_for(template, j))} ;;" for j in range(1, nj + 1))
    script = log_dir / f"{name}.sh"
    script.write_text(
        _WRAPPER.format(
            log_dir=shlex.quote(str(log_dir.resolve())),
            log_name=f"{name}.log" if nj == 1 else f"{name}.$JOB.log",
            cwd=shlex.quote(os.getcwd()),
            cases=cases,
            end_mark=END_MARK,
        )
    )
    script.chmod(0o755)
    return script


def run_jobs(
    template: Sequence[str],
    nj: int,
    log_dir: str | Path,
    *,
    name: str = "job",
    cmd: str | JobCommand = "local",
    max_parallel: int | None = None,
    done_check: Callable[[int], bool] | None = None,
) -> None:
    """Run ``template`` for JOB = 1..nj; skip jobs already done; raise naming the first failed log."""
    check_nj(nj)
    launcher = cmd if isinstance(cmd, JobCommand) else JobCommand.parse(cmd)
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)

    def is_done(job: int) -> bool:
        return exit_status(job_log(log_dir, name, job, nj)) == 0 and (done_check is None or done_check(job))

    todo = [j for j in range(1, nj + 1) if not is_done(j)]
    if not todo:
        log.info("all %d %s jobs already done (logs in %s)", nj, name, log_dir)
        return
    if len(todo) < nj:
        log.info("rerunning %d of %d %s jobs that did not finish: %s", len(todo), nj, name, todo)
    script = write_wrapper(template, nj, log_dir, name)
    if launcher.kind == "local":
        _run_local(script, todo, max_parallel or nj)
    else:
        _run_slurm(script, todo, launcher.options, log_dir, name, nj, max_parallel)
    failed = [j for j in todo if not is_done(j)]
    if failed:
        first = job_log(log_dir, name, failed[0], nj)
        status = exit_status(first)
        why = "did not finish" if status is None else f"exited with status {status}"
        if status == 0:
            why = "ended without its output"
        raise SerkitError(
            f"{len(failed)} of {nj} {name} jobs failed (job {failed[0]} {why})",
            path=first,
            hint="read that log, fix the cause, and rerun the same command: finished jobs are kept",
        )


def _run_local(script: Path, jobs: list[int], max_parallel: int) -> None:
    pending = list(jobs)
    running: list[subprocess.Popen] = []
    try:
        while pending or running:
            while pending and len(running) < max_parallel:
                running.append(subprocess.Popen(["bash", str(script), str(pending.pop(0))]))
            time.sleep(0.05)
            running = [p for p in running if p.poll() is None]
    except BaseException:
        for p in running:
            p.terminate()
        raise


def _run_slurm(
    script: Path,
    jobs: list[int],
    options: tuple[str, ...],
    log_dir: Path,
    name: str,
    nj: int,
    max_parallel: int | None,
) -> None:
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise SerkitError(
            "--cmd slurm but sbatch is not on PATH", hint="run on a Slurm login node, or use --cmd local"
        )
    array = ",".join(str(j) for j in jobs)
    if max_parallel:
        array += f"%{max_parallel}"
    argv = [
        sbatch,
        "--wait",
        f"--array={array}",
        f"--job-name=serkit-{name}",
        f"--output={log_dir.resolve()}/{name}.%a.slurm.out",
        *options,
        str(script.resolve()),
    ]
    log.info("submitting %d jobs: %s", len(jobs), shlex.join(argv))
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0 and all(exit_status(job_log(log_dir, name, j, nj)) is None for j in jobs):
        raise SerkitError(
            f"sbatch failed (status {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}",
            hint="check the sbatch options given after 'slurm' in --cmd",
        )


def python_command(*args: str) -> list[str]:
    """``python -P -m serkit ARGS``, with this interpreter, for job templates (:data:`PYTHON`)."""
    return [*PYTHON, "-m", "serkit", *args]


def check_nj(nj: int) -> None:
    """Refuse a job count below 1."""
    if nj < 1:
        raise SerkitError(f"--nj must be 1 or more, got {nj}", hint="use --nj 1 for one process")

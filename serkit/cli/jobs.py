"""``serkit run-job``: run one command through the job launcher (Kaldi's ``$train_cmd log cmd``)."""

from __future__ import annotations

from pathlib import Path

import typer

from serkit import jobs
from serkit.cli.app import app, console
from serkit.errors import SerkitError


@app.command("run-job")
def run_job(
    log: Path = typer.Argument(..., help="The job's log file, e.g. exp/s2v_dual/log/train.log."),
    command: list[str] = typer.Argument(..., help="The command, after '--'."),
    cmd: str = typer.Option(
        "local", help="Job launcher: 'local', or 'slurm' and any sbatch options (e.g. 'slurm --gres gpu:1')."
    ),
) -> None:
    """Run COMMAND as one job (locally or under Slurm) with its output in LOG; exit 2 if it fails.

    The command always runs (a trainer resumes by itself); the log of an earlier run is replaced.

    Example: serkit run-job --cmd "slurm --gres gpu:1" exp/x/log/train.log -- serkit train -c conf/x.yaml
    """
    if log.suffix != ".log":
        raise SerkitError("the job's log file name must end with .log", path=log, hint="e.g. log/train.log")
    name = log.stem
    log.unlink(missing_ok=True)
    jobs.run_jobs(command, 1, log.parent, name=name, cmd=cmd)
    console.print(f"done: {log}", highlight=False)

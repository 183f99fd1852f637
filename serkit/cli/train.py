"""Commands on models: train, score, results.

The training and scoring libraries (torch, scikit-learn) are imported inside the
commands, so that every other ``serkit`` command starts without them.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from serkit.cli.app import app, console
from serkit.paths import writable_file


@app.command("train")
def train(
    config: Path = typer.Option(..., "--config", "-c", help="YAML config (recipes/<name>/conf/*.yaml)."),
    fold: str = typer.Option(None, help="Fold put for {fold} in the config; none or - is the fixed split."),
    exp: Path = typer.Option(None, help="Exp dir; default exp/CONFIG_NAME[_OVERRIDES]/FOLD."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override a config key: --set optim.lr=0.0005 (repeatable)."
    ),
) -> None:
    """Train a model, or resume its exp dir: config.yaml, cmd.txt, env.txt, train.log, checkpoints/.

    Run under torchrun for DDP (python -m torch.distributed.run --nproc_per_node N -m serkit train ...).

    Example: serkit train --config conf/mean_pool.yaml --fold fold1 --set train.epochs=30
    """
    from serkit.training import trainer

    command = "serkit " + shlex.join(sys.argv[1:])
    summary = trainer.run(config, exp, overrides, command, fold)
    if summary.main_process and summary.best_value is not None:
        console.print(
            f"{summary.exp_dir}: best {summary.metric} {summary.best_value:.4f} "
            f"at epoch {summary.best_epoch} "
            f"of {summary.epochs_run}" + (" (stopped early)" if summary.stopped_early else ""),
            highlight=False,
        )


@app.command("score")
def score(
    exp: Path = typer.Argument(..., help="An exp dir, or a dir of fold*/ exp dirs (mean ± sd)."),
    set_names: list[str] = typer.Option(
        ["test"], "--set", help="A data.sets key of the config, or a data dir; repeat it for several."
    ),
    device: str = typer.Option("auto", help="auto | cpu | cuda."),
) -> None:
    """Score the best checkpoint on sets: scores/<set>.json, a rich table, plots/.

    A data dir that is not one of the config's sets is filed under a slug of its path and a hash
    of its resolved path (scores/other-dir-test-<hash>.json), never over the config's own scores
    or another dir's; the scores record the data dir (protocol.data_dir, data_dir_resolved).

    Example: serkit score exp/mean_pool --set dev --set test
    """
    from rich.console import Console

    from serkit import results, scoring

    for set_name in set_names:
        result = scoring.score_exp(exp, set_name, device)
        Console().print(results.table(result))


@app.command("results")
def results_command(
    recipe_dir: Path = typer.Argument(..., help="A recipe dir with exp/ and paper.yaml."),
    out: Path = typer.Option(None, help="File to write; default RECIPE_DIR/RESULTS.md."),
) -> None:
    """Write RESULTS.md from the recipe's scored exp dirs, the corpus and the paper's figures beside ours.

    Example: serkit results recipes/iemocap --out recipes/iemocap/exp/RESULTS.md
    """
    from serkit import results

    writable_file(out or Path(recipe_dir) / "RESULTS.md", "results file")
    path = results.write_results(recipe_dir, out)
    console.print(f"wrote {path}", highlight=False)

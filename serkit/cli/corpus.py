"""Corpus commands: make-mini-corpus (the offline synthetic corpus in a real corpus's layout)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from serkit.cli.app import app, console


@app.command("make-mini-corpus")
def make_mini_corpus(
    out: Path = typer.Argument(..., help="Output directory: absent or empty (see --force)."),
    layout: str = typer.Option(
        "iemocap", "--layout", help="Real corpus layout to reproduce: iemocap, mosei or sewa."
    ),
    size: str = typer.Option("default", "--size", help="tiny (unit tests, seconds) or default (the demo)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; same seed and size give the same bytes."),
    nj: int = typer.Option(1, "--nj", help="Parallel worker processes (the output does not depend on it)."),
    force: bool = typer.Option(False, "--force", help="Replace an earlier mini corpus at OUT."),
) -> None:
    """Synthesise an emotional-speech corpus offline (espeak-ng) in the exact on-disk layout of a real one.

    OUT/manifest.jsonl holds the generation truth of every turn: speaker, emotion, intensity,
    lexical mode, text and word times.

    Example: serkit make-mini-corpus --layout iemocap --size tiny --nj 2 mini/iemocap
    """
    from serkit.corpora.mini import generate_mini_corpus

    with Progress(
        TextColumn(f"[bold]{layout}[/] {size}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("turns"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("generate", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = generate_mini_corpus(
            out, layout=layout, size=size, seed=seed, nj=nj, force=force, progress=advance
        )
    table = Table(
        title=f"mini corpus ({summary.layout}, {summary.size}, seed {summary.seed})", show_header=False
    )
    for name, value in (
        ("output", str(summary.out)),
        ("recordings", str(summary.n_recordings)),
        ("turns (labelled)", f"{summary.n_turns} ({summary.n_labelled})"),
        ("speech", f"{summary.speech_seconds / 60:.1f} min"),
        ("shards", str(summary.n_shards)),
        ("time", f"{summary.elapsed_seconds:.1f} s"),
    ):
        table.add_row(name, value)
    console.print(table)

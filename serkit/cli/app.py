"""The Typer application object and the error contract every command shares."""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from rich.logging import RichHandler

from serkit import __version__

console = Console(stderr=True)

app = typer.Typer(
    name="serkit",
    help="Speech emotion recognition recipes, Kaldi style: data dirs, HDF5 features, embeddings, models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

state = {"verbose": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"serkit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Debug logging; tracebacks for unexpected errors."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    state["verbose"] = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=verbose)],
        force=True,
    )

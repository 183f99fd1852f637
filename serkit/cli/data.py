"""Commands on data dirs and stores: validate-, subset-, combine-, split-data, protocol, store-info."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from serkit import datadir, store, validate
from serkit import protocol as protocols
from serkit.cli.app import app, console
from serkit.errors import SerkitError
from serkit.paths import writable_dir


@app.command("validate-data")
def validate_data(
    data_dir: Path = typer.Argument(..., help="The data dir to check."),
    no_audio: bool = typer.Option(False, "--no-audio", help="Skip opening the audio files."),
    min_duration: float = typer.Option(0.1, help="Shortest acceptable utterance, seconds."),
    allow_pipes: bool = typer.Option(False, help="Accept 'utt command |' lines in wav.scp."),
) -> None:
    """Check a data dir; print every problem with file:line and the fix (exit 2 if any).

    Everything Kaldi's utils/validate_data_dir.sh --no-feats checks, and serkit's own rules.

    Example: serkit validate-data data/train
    """
    problems = validate.validate(
        data_dir, check_audio=not no_audio, min_duration=min_duration, allow_pipes=allow_pipes
    )
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        colour = "red" if p.severity == "error" else "yellow"
        console.print(f"[{colour}]{p.severity}:[/] {p.format()}", highlight=False, soft_wrap=True)
    if errors:
        console.print(f"{len(errors)} problem(s) in {data_dir}: fix them and validate again", highlight=False)
        raise typer.Exit(2)
    count = len(datadir.load(data_dir, allow_pipes=allow_pipes))
    console.print(f"[green]ok:[/] {data_dir} ({count} utterances)", highlight=False)


@app.command("subset-data")
def subset_data(
    src: Path = typer.Argument(..., help="Source data dir."),
    out: Path = typer.Argument(..., help="Output data dir."),
    utt_list: Path = typer.Option(None, help="File with one utterance id per line."),
    spk_list: Path = typer.Option(None, help="File with one speaker id per line."),
    sessions: str = typer.Option(None, help="Comma-separated sessions to keep (needs utt2sess)."),
) -> None:
    """Keep the utterances of a list, of some speakers, or of some sessions.

    Example: serkit subset-data data/all data/ses5 --sessions Ses05
    """
    chosen = [x for x in (utt_list, spk_list, sessions) if x is not None]
    if len(chosen) != 1:
        raise SerkitError("give exactly one of --utt-list, --spk-list, --sessions")
    writable_dir(out, "data dir")
    data = datadir.load(src)
    if utt_list is not None:
        part = datadir.subset(data, _read_list(utt_list))
    elif spk_list is not None:
        part = datadir.split_by(data, "spk", _read_list(spk_list))
    else:
        part = datadir.split_by(data, "sess", sessions.split(","))
    datadir.save(part, out)
    datadir.copy_labels(data, out)
    console.print(f"wrote {out} ({len(part)} of {len(data)} utterances)", highlight=False)


@app.command("combine-data")
def combine_data(
    out: Path = typer.Argument(..., help="Output data dir."),
    sources: list[Path] = typer.Argument(..., help="Data dirs to join."),
) -> None:
    """Join data dirs with disjoint utterance ids.

    Example: serkit combine-data data/train data/ses1 data/ses2 data/ses3 data/ses4
    """
    writable_dir(out, "data dir")
    combined = datadir.combine(datadir.load(s) for s in sources)
    datadir.save(combined, out)
    console.print(f"wrote {out} ({len(combined)} utterances from {len(sources)} dirs)", highlight=False)


@app.command("split-data")
def split_data(
    src: Path = typer.Argument(..., help="Source data dir."),
    parts: int = typer.Argument(..., help="Number of parts."),
) -> None:
    """Split into N contiguous parts SRC/splitN/1..N (as Kaldi's split_data.sh).

    Example: serkit split-data data/train 4
    """
    writable_dir(src / f"split{parts}", "split dir")
    data = datadir.load(src)
    for number, part in enumerate(datadir.split_even(data, parts), start=1):
        datadir.save(part, src / f"split{parts}" / str(number))
    console.print(f"wrote {src}/split{parts}/1..{parts}", highlight=False)


class ProtocolKey(StrEnum):
    folds = "folds"
    score = "score"
    sets = "sets"
    train = "train"
    dev = "dev"


@app.command("protocol")
def protocol(
    data_root: Path = typer.Argument(..., help="The folder prepare-data wrote (e.g. data/)."),
    key: ProtocolKey = typer.Argument(..., help="What to print."),
) -> None:
    """Print one line of the protocol in the meta.json of the sets under DATA_ROOT (for shell loops).

    folds: '-' (one fixed split) or 'fold1 fold2 ...'; score: the sets each fold is scored on
    ('test', 'dev test'); sets: 'train dev test'; train / dev: the training and model-selection set.

    Example: serkit protocol data folds
    """
    value = protocols.lookup(data_root, key.value)
    typer.echo(protocols.as_words(value))


def _read_list(path: Path) -> list[str]:
    """Ids of a list file, or of a pipe such as bash's ``<(awk ...)`` or ``/dev/stdin``."""
    if not path.exists() or path.is_dir():
        raise SerkitError("list file not found", path=path, hint="one id per line")
    return [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@app.command("store-info")
def store_info(store_path: Path = typer.Argument(..., help="An HDF5 feature store.")) -> None:
    """Show a feature store: utterances, frames, dims, and every extractor attribute.

    Example: serkit store-info feats/train_pyaa34.h5
    """
    info = store.describe(store_path)
    table = Table(title=str(store_path), show_header=True)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("utterances", str(info["utterances"]))
    table.add_row("frames", f"{info['frames']} (per utterance {info['min_frames']}–{info['max_frames']})")
    table.add_row("dims", ", ".join(map(str, info["dims"])))
    for key, value in store.distinct_attrs(info).items():
        if key == "params":
            continue
        if isinstance(value, list) and len(value) > 8:
            value = ", ".join(map(str, value[:8])) + f", … ({len(value)} in all)"
        table.add_row(key, str(value))
    from rich.console import Console

    Console().print(table)

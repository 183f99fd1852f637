"""Commands that apply trained models: predict (new audio, no labels) and export (a self-contained dir)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from serkit.cli.app import app, console
from serkit.paths import writable_dir, writable_file


@app.command("predict")
def predict_command(
    model: Path = typer.Argument(..., help="An exp dir (serkit train) or a model dir (serkit export)."),
    inputs: list[Path] = typer.Argument(..., help="Audio files, folders of them, or one data dir."),
    out: Path = typer.Option(
        None, help="Write the predictions: FILE.csv (frame models add FILE.frames.csv) or FILE.json."
    ),
    speaker: str = typer.Option(None, help="One speaker for every file (per-speaker normalisation)."),
    utt2spk: Path = typer.Option(None, help="'ID SPEAKER' lines; ID = file name without extension."),
    transcripts: Path = typer.Option(None, help="'ID words...' lines for models that read words (else ASR)."),
    plot: Path = typer.Option(None, help="Frame models: a PNG of each input's predicted trace in this dir."),
    device: str = typer.Option("auto", help="auto | cpu | cuda[:N]."),
    batch_size: int = typer.Option(0, help="Utterances per batch; 0: the model's training batch size."),
    nj: int = typer.Option(1, help="Parallel processes for ASR and forced alignment."),
    work_dir: Path = typer.Option(None, help="Keep the data dir and features made for the inputs here."),
) -> None:
    """The emotion of each input with the model's own pipeline (features, normalisation, words).

    Exit status 2 when some input could not be predicted (each is named); the others are still predicted.

    Example: serkit predict recipes/iemocap/exp/s2v_dual my_recordings/ --speaker me --out emotions.csv
    """
    from serkit import predict
    from serkit.errors import SerkitError

    if out is not None and out.suffix.lower() not in (".csv", ".json"):
        raise SerkitError("--out must end in .csv or .json", path=out)
    if out is not None:
        writable_file(out, "predictions file")
    for path, what in ((plot, "plot dir"), (work_dir, "work dir")):
        if path is not None:
            writable_dir(path, what)
    result = predict.predict(
        model, inputs, speaker=speaker, utt2spk=utt2spk, transcripts=transcripts, device=device,
        batch_size=batch_size or None, nj=nj, work_dir=work_dir,
    )  # fmt: skip
    for note in result.notes:
        console.print(f"[dim]{note}[/]", highlight=False)
    records = predict.summary(result)
    if records:  # the table on stdout; the files (--out) have the sources and words too
        shown = [k for k in records[0] if k not in ("source", "words")]
        table = Table(title=f"{result.model}: {len(records)} inputs")
        for column in shown:
            table.add_column(column)
        for record in records:
            table.add_row(
                *(f"{v:.3f}" if isinstance(v, float) else str(v) for v in (record[k] for k in shown))
            )
        Console().print(table)
    if out is not None:
        for path in predict.write(result, out):
            console.print(f"wrote {path}", highlight=False)
    if plot is not None:
        console.print(f"wrote {len(predict.plot(result, plot))} trace plots in {plot}", highlight=False)
    if result.failed:
        first = next(iter(result.failed))
        raise SerkitError(
            f"{len(result.failed)} of {len(result.failed) + len(records)} inputs not predicted "
            f"(e.g. {first}: {result.failed[first]}); the others are above",
            hint="fix or remove those files",
        )


@app.command("export")
def export_command(
    exp: Path = typer.Argument(..., help="A trained exp dir (or a model dir to copy)."),
    out_dir: Path = typer.Argument(..., help="The model dir to write (new or empty)."),
) -> None:
    """A self-contained model dir: weights, config, feature parameters, normalisation, word vectors, card.

    `serkit predict OUT_DIR audio.wav` works from it on another machine, with no exp dir or recipe.

    Example: serkit export recipes/iemocap/exp/s2v_dual models/s2v_dual
    """
    from serkit.model_dir import export_model

    writable_dir(out_dir, "model dir")

    path = export_model(exp, out_dir)
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    console.print(f"wrote {path} ({size / 1e6:.1f} MB)", highlight=False)

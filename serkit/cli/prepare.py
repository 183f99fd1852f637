"""Data preparation commands: prepare-data iemocap|mosei|sewa|csv, transcribe, align-words."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from serkit.cli.app import app, console
from serkit.corpora.prepared import CountTable, PrepareResult, check_replaceable
from serkit.errors import SerkitError
from serkit.paths import writable_dir, writable_file


@contextmanager
def _progress(label: str, unit: str) -> Iterator:
    """A rich progress bar on stderr; yields the ``progress(done, total)`` callback the library takes."""
    with Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


prepare_app = typer.Typer(
    name="prepare-data",
    help="Turn a corpus as distributed into Kaldi data dirs with meta.json (one command per corpus).\n\n"
    "Example: serkit prepare-data iemocap /corpora/IEMOCAP_full_release data",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(prepare_app, name="prepare-data")

OUT_HELP = "Where to write the data dirs (e.g. data/)."


@prepare_app.command("iemocap")
def prepare_iemocap(
    src: Path = typer.Argument(..., help="The IEMOCAP_full_release folder (or the folder holding it)."),
    out: Path = typer.Argument(..., help=OUT_HELP),
    class_map: str = typer.Option("4-class", help="4-class, 6-class or all."),
    folds: str = typer.Option("none", help="none (test = --test-sessions) or loso (OUT/fold1..5)."),
    test_sessions: str = typer.Option("5", help="Comma-separated test sessions (with --folds none)."),
    dev_fraction: float = typer.Option(0.1, help="Fraction of each training session's dialogs for dev."),
) -> None:
    """IEMOCAP → OUT/{train,dev,test}, or OUT/fold1..5/{train,dev,test} with --folds loso.

    Example: serkit prepare-data iemocap /corpora/IEMOCAP_full_release data --folds loso
    """
    from serkit.corpora import iemocap

    writable_dir(out)
    check_replaceable(out)

    with _progress("prepare iemocap", "files") as progress:
        result = iemocap.prepare(
            src,
            out,
            class_map=class_map,
            folds=folds,
            test_sessions=_sessions(test_sessions),
            dev_fraction=dev_fraction,
            progress=progress,
        )
    _print_result(result)


@prepare_app.command("mosei")
def prepare_mosei(
    src: Path = typer.Argument(..., help="The CMU-MOSEI folder (the .csd files and Raw/)."),
    out: Path = typer.Argument(..., help=OUT_HELP),
    folds: str = typer.Option("standard", help="standard (the SDK folds) or a file of 'video set' lines."),
    tie_rule: str = typer.Option(
        "first", help="Top-1 ties go to the 'first' emotion in column order, or 'drop'."
    ),
    all_zero: str = typer.Option("drop", help="Segments with no emotion: 'drop' or 'neutral'."),
    text_source: str = typer.Option("auto", help="auto, transcript or words."),
    labels_csd: Path = typer.Option(None, help="The labels .csd (default: found under SRC)."),
    words_csd: Path = typer.Option(None, help="The timestamped words .csd (default: found under SRC)."),
) -> None:
    """CMU-MOSEI → OUT/{train,dev,test} from the SDK folds (valid → dev), cuts in segments.

    Example: serkit prepare-data mosei /corpora/CMU-MOSEI data --all-zero neutral
    """
    from serkit.corpora import mosei

    writable_dir(out)
    check_replaceable(out)

    with _progress("prepare mosei", "videos") as progress:
        result = mosei.prepare(
            src,
            out,
            folds=folds,
            tie_rule=tie_rule,
            all_zero=all_zero,
            text_source=text_source,
            labels_csd=labels_csd,
            words_csd=words_csd,
            progress=progress,
        )
    _print_result(result)


@prepare_app.command("sewa")
def prepare_sewa(
    src: Path = typer.Argument(..., help="The AVEC2017_SEWA folder (audio/, labels/, turns/, ...)."),
    out: Path = typer.Argument(..., help=OUT_HELP),
    word_times: str = typer.Option("auto", help="auto (corpus word times where present) or equal-split."),
) -> None:
    """SEWA (AVEC 2017) → OUT/{train,dev,test} from the Train/Devel/Test partitions, labels.h5.

    Example: serkit prepare-data sewa /corpora/AVEC2017_SEWA data
    """
    from serkit.corpora import sewa

    writable_dir(out)
    check_replaceable(out)

    with _progress("prepare sewa", "recordings") as progress:
        result = sewa.prepare(src, out, word_times=word_times, progress=progress)
    _print_result(result)


@prepare_app.command("csv")
def prepare_csv(
    src: Path = typer.Argument(..., help="The CSV listing the corpus, one row per utterance (header row)."),
    out: Path = typer.Argument(..., help=OUT_HELP),
    split: str = typer.Option(
        "auto",
        help="column (the partition column), speaker, loso (a fold per session); auto: column if it exists.",
    ),
    test_speakers: str = typer.Option(None, help="--split speaker: comma-separated test speakers."),
    test_fraction: float = typer.Option(
        0.2, help="--split speaker without --test-speakers: share of speakers."
    ),
    dev_fraction: float = typer.Option(0.1, help="speaker/loso: share of each training group's recordings."),
    classes: str = typer.Option(None, help="Keep these labels, e.g. ang,hap,neu,sad (default: every label)."),
    merge: str = typer.Option(None, help="Rename labels first, e.g. exc:hap."),
    label_rate: float = typer.Option(
        None, help="Frames per second of the 'labels' files (default: their step)."
    ),
    ctm: Path = typer.Option(
        None, help="Word times (Kaldi CTM) keyed by the CSV's utterance ids → words.ctm."
    ),
    skip_bad_audio: bool = typer.Option(
        False, "--skip-bad-audio", help="Skip and count rows whose audio is missing or unreadable."
    ),
) -> None:
    """A corpus listed in a CSV → OUT/{train,dev,test}, or OUT/fold<N>/{train,dev,test} with --split loso.

    Columns: path (required), utt, start, end, speaker, label, labels, text, gender, session, partition.

    Example: serkit prepare-data csv corpus.csv data --classes ang,hap,neu,sad --merge exc:hap
    """
    from serkit.corpora import csvlist

    writable_dir(out)
    check_replaceable(out)

    with _progress("prepare csv", "rows") as progress:
        result = csvlist.prepare(
            src,
            out,
            split=split,
            test_speakers=csvlist.parse_list(test_speakers),
            test_fraction=test_fraction,
            dev_fraction=dev_fraction,
            classes=csvlist.parse_list(classes),
            merge=csvlist.parse_merge(merge),
            label_rate=label_rate,
            ctm=ctm,
            skip_bad_audio=skip_bad_audio,
            progress=progress,
        )
    _print_result(result)


def _sessions(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise SerkitError(
            f"--test-sessions {text!r} is not a list of numbers", hint="e.g. --test-sessions 5"
        ) from None


def _print_result(result: PrepareResult) -> None:
    table = Table(title=f"{result.corpus}: data dirs in {result.out}")
    for column in ("set", "utterances", "speakers", "classes"):
        table.add_column(column, justify="left" if column in ("set", "classes") else "right")
    for s in result.sets:
        classes = ", ".join(f"{c} {n:,}" for c, n in s.class_counts.items()) or "—"
        table.add_row(s.name, f"{s.utterances:,}", f"{s.speakers:,}", classes)
    console.print(table)
    for counts in result.tables:
        console.print(_count_table(counts))
    for note in result.notes:
        colour = "green" if note.startswith("counts match") else "yellow"
        console.print(f"[{colour}]note:[/] {note}", highlight=False, soft_wrap=True)


def _count_table(counts: CountTable) -> Table:
    table = Table(
        title=counts.title + (" (published in brackets where different)" if counts.published else "")
    )
    table.add_column("")
    for column in counts.columns:
        table.add_column(column, justify="right")
    rows = list(counts.rows)
    rows += [r for r in (counts.published or {}) if r not in counts.rows]
    for row in rows:
        cells = []
        for column in counts.columns:
            mine = counts.rows.get(row, {}).get(column, 0)
            theirs = (counts.published or {}).get(row, {}).get(column)
            cell = f"{mine:,}"
            if theirs is not None and theirs != mine:
                cell += f" [red]({theirs:,})[/]"
            cells.append(cell)
        table.add_row(row, *cells)
    return table


@app.command("transcribe")
def transcribe(
    data_dir: Path = typer.Argument(..., help="The data dir to transcribe (writes DATA_DIR/text.asr)."),
    lm: str = typer.Option(
        "generic",
        "--lm",
        help="'generic' (bundled en-us LM), an ARPA/binary LM, or a text file of sentences.",
    ),
    import_file: Path = typer.Option(
        None, "--import", help="Use these 'utt words ...' ASR transcripts instead of decoding."
    ),
    subset: bool = typer.Option(
        False,
        "--subset",
        help="With --import: the file may cover more utterances (e.g. data/all/text.asr); take this dir's.",
    ),
    fast: bool = typer.Option(
        False, "--fast", help="Reduced pocketsphinx search: about 2x faster, more errors."
    ),
    nj: int = typer.Option(1, "--nj", help="Parallel decoder processes."),
) -> None:
    """Write text.asr with offline English ASR (pocketsphinx), and report the WER against text.

    Example: serkit transcribe data/test --lm data/train/lm.txt --nj 2
    """
    from serkit.text import asr

    writable_file(data_dir / "text.asr", "transcripts file")
    if import_file is not None:
        report = asr.import_transcripts(data_dir, import_file, subset=subset)
    elif subset:
        raise SerkitError("--subset only applies with --import FILE", hint="give the transcripts to take")
    else:
        with _progress("transcribe", "utterances") as progress:
            report = asr.transcribe(data_dir, lm=lm, fast=fast, nj=nj, progress=progress)
    table = Table(title=f"text.asr for {data_dir}", show_header=False)
    table.add_row("source", report.source)
    table.add_row("utterances", f"{report.utterances:,}")
    if report.missing:
        table.add_row("without hypothesis", f"{len(report.missing):,} (empty text.asr lines)")
    if report.audio_seconds:
        speed = report.audio_seconds / max(report.elapsed_seconds, 1e-9)
        table.add_row(
            "audio / time",
            f"{report.audio_seconds:.1f} s in {report.elapsed_seconds:.1f} s ({speed:.1f}x RT)",
        )
    if report.wer is not None:
        w = report.wer
        table.add_row(
            "WER against text",
            f"{100 * w.rate:.1f}% ({w.errors:,} errors / {w.ref_words:,} words: "
            f"{w.substitutions} sub, {w.deletions} del, {w.insertions} ins)",
        )
    else:
        table.add_row("WER", "no text in the data dir")
    console.print(table)


@app.command("align-words")
def align_words(
    data_dir: Path = typer.Argument(
        ..., help="The data dir whose text to align (writes DATA_DIR/words.ctm)."
    ),
    nj: int = typer.Option(1, "--nj", help="Parallel aligner processes."),
    compare_with: Path = typer.Option(
        None,
        help="Reference word times (a words.ctm, or a mini corpus manifest.jsonl, whose ids lack the "
        "'<speaker>-' prefix): report the error.",
    ),
) -> None:
    """Write words.ctm by pocketsphinx forced alignment of text (English; audio dithered first).

    An existing words.ctm is replaced; copy it first to compare (--compare-with).

    Example: serkit align-words data/test --compare-with mini/iemocap/manifest.jsonl
    """
    from serkit import datadir
    from serkit.text import align

    writable_file(data_dir / "words.ctm", "word times file")
    reference = align.read_reference(compare_with) if compare_with is not None else None
    if compare_with is not None and compare_with.resolve() == (data_dir / "words.ctm").resolve():
        raise SerkitError(
            "--compare-with is the file being replaced", path=compare_with, hint="copy it elsewhere first"
        )
    with _progress("align", "utterances") as progress:
        report = align.align_data_dir(data_dir, nj=nj, progress=progress)
    table = Table(title=f"words.ctm for {data_dir}", show_header=False)
    table.add_row(
        "aligned", f"{report.aligned:,} utterances, {report.words:,} words in {report.elapsed_seconds:.1f} s"
    )
    table.add_row(
        "failed", f"{len(report.failed):,}" + (f" (e.g. {report.failed[0]})" if report.failed else "")
    )
    table.add_row("no known words", f"{len(report.no_words):,}")
    oov = sum(report.oov.values())
    table.add_row(
        "OOV words left out", f"{oov:,}" + (f" (e.g. {', '.join(list(report.oov)[:5])})" if oov else "")
    )
    if reference is not None:
        aligned = datadir.load(data_dir)
        error = align.compare_alignments(
            datadir.by_utterance(aligned, reference), aligned.words_ctm
        ).summary()
        table.add_row(
            "vs reference",
            f"mean boundary error {error['mean_boundary_error_ms']:.1f} ms (median "
            f"{error['median_boundary_error_ms']:.1f}, p90 {error['p90_boundary_error_ms']:.1f}; "
            f"{error['words']:,} words, {100 * error['within_50ms']:.0f}% within 50 ms)",
        )
    console.print(table)

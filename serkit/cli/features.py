"""``serkit extract-features``: one feature type for a data dir into one HDF5 store."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from serkit import store
from serkit.cli.app import app, console
from serkit.features.extract import extract_features
from serkit.paths import writable_file


@app.command("extract-features")
def extract_features_command(
    data_dir: Path = typer.Argument(..., help="Data dir (wav.scp; words.ctm for word-mfcc)."),
    out: Path = typer.Argument(..., help="Output store, e.g. feats/train_pyaa34.h5."),
    feature_type: str = typer.Option("pyaa34", "--type", help="pyaa34 | spectrogram | waveform | word-mfcc."),
    window: float = typer.Option(0.02, help="pyaa34: window length, seconds."),
    step: float = typer.Option(0.01, help="pyaa34: step, seconds."),
    deltas: bool = typer.Option(False, "--deltas", help="pyaa34: append the 34 deltas (68 dims)."),
    flavor: str = typer.Option("pyaa", help="pyaa34: 'pyaa' (bit-faithful, default) or 'corrected'."),
    backend: str = typer.Option("serkit", help="pyaa34: 'serkit' or 'pyaudioanalysis' (the original, slow)."),
    sample_rate: int = typer.Option(
        None, help="pyaa34: the store's rate, other rates resampled to it (default: most files' rate)."
    ),
    frames: int = typer.Option(200, help="spectrogram: fixed number of frames (0: the natural length)."),
    nj: int = typer.Option(1, help="Number of parallel jobs (at most one per utterance)."),
    cmd: str = typer.Option(
        "local", help="Job launcher: 'local', or 'slurm' and any sbatch options (e.g. 'slurm --gres gpu:1')."
    ),
    allow_pipes: bool = typer.Option(False, help="Accept 'utt command |' lines in wav.scp."),
) -> None:
    """Extract features for every utterance of DATA_DIR into the store OUT.

    Example: serkit extract-features data/train feats/train.h5 --type pyaa34 --window 0.1 --step 0.1 --nj 2
    """
    if feature_type == "pyaa34":
        options = {"window": window, "step": step, "deltas": deltas, "flavor": flavor, "backend": backend}
        if sample_rate is not None:
            options["sample_rate"] = sample_rate
    elif feature_type == "spectrogram":
        options = {"frames": frames}
    else:
        options = {}
    writable_file(out, "feature store")
    start = time.perf_counter()
    extract_features(data_dir, out, feature_type, options, nj=nj, cmd=cmd, allow_pipes=allow_pipes)
    elapsed = time.perf_counter() - start
    info = store.describe(out)
    audio_s = info["frames"] * (info["attrs"].get("frame_shift") or 0)
    speed = f", {audio_s / elapsed:.0f}× real time" if audio_s else ""
    console.print(
        f"wrote {out}: {info['utterances']} utterances, {info['frames']} frames × {info['dims']} dims "
        f"in {elapsed:.1f} s{speed}",
        highlight=False,
    )

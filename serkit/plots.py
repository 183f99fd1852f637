"""PNG plots of a scored exp dir: confusion matrix, per-class multi-label bars, CCC traces, learning
curves (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path, dpi: int) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    _pyplot().close(fig)


def confusion(result: dict, path: Path) -> Path:
    """Row-normalised confusion matrix with counts, titled with WA / UA and the protocol."""
    plt = _pyplot()
    classes = result["protocol"]["classes"]
    counts = np.asarray(result["metrics"]["confusion"], dtype=float)
    rates = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 * len(classes) + 2.5, 1.1 * len(classes) + 2))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            colour = "white" if rates[i, j] > 0.5 else "black"
            ax.text(
                j, i, f"{int(counts[i, j])}\n{100 * rates[i, j]:.0f}%", ha="center", va="center", color=colour
            )
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    m = result["metrics"]
    ax.set_title(
        f"{result['config']} — {result['set']} ({m['utterances']} utts)\n"
        f"WA {100 * m['wa']:.2f}  UA {100 * m['ua']:.2f}  macro-F1 {100 * m['f1']:.2f}",
        fontsize=9,
    )
    _save(fig, path, 110)
    return path


def multilabel_bars(result: dict, path: Path) -> Path:
    """Per-class weighted accuracy and weighted F1 (%) as paired bars, titled with their means; a class
    whose reference lacks positives or negatives gets no bars and "n/a"."""
    plt = _pyplot()
    classes = result["protocol"]["classes"]
    m = result["metrics"]
    x = np.arange(len(classes))
    fig, ax = plt.subplots(figsize=(1.1 * len(classes) + 3, 3.8))
    for offset, key, colour in ((-0.2, "wacc", "tab:blue"), (0.2, "wf1", "tab:orange")):
        values = [_scalar(m.get(f"{key}_{c}")) for c in classes]
        shown = [100 * v if v is not None else 0.0 for v in values]
        ax.bar(x + offset, shown, width=0.4, color=colour, label=key)
        for i, v in enumerate(values):
            text = f"{100 * v:.1f}" if v is not None else "n/a"
            ax.text(x[i] + offset, shown[i] + 1, text, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, classes)
    ax.set_ylim(0, 125)
    ax.set_ylabel("%")
    ax.legend(fontsize=8, loc="upper right", ncol=2)
    means = [_scalar(m.get(k)) for k in ("wacc_mean", "wf1_mean")]
    wacc, wf1 = (f"{100 * v:.2f}" if v is not None else "n/a" for v in means)
    ax.set_title(
        f"{result['config']} — {result['set']} ({_scalar(m.get('utterances'))} utts)\n"
        f"mean wacc {wacc}  mean wf1 {wf1} (present iff logit > 0)",
        fontsize=9,
    )
    _save(fig, path, 110)
    return path


def _scalar(value):
    """A metric's value, or its mean for a fold aggregate ({mean, sd, values})."""
    return value["mean"] if isinstance(value, dict) else value


def ccc_traces(predictions, dims: list[str], path: Path, label: str, recordings: int = 3) -> Path:
    """Predicted vs reference traces of the first recordings, one panel per dimension."""
    plt = _pyplot()
    chosen = predictions[:recordings]
    fig, axes = plt.subplots(len(dims), 1, figsize=(9, 2.2 * len(dims)), squeeze=False)
    for d, name in enumerate(dims):
        ax = axes[d, 0]
        offset = 0
        for p in chosen:
            out, ref = np.atleast_2d(p.output), np.atleast_2d(p.target)
            x = np.arange(offset, offset + len(ref))
            ax.plot(x, ref[:, d], color="black", lw=1)
            ax.plot(x, out[:, d], color="tab:orange", lw=1)
            offset += len(ref) + 5
        ax.set_ylabel(name)
    axes[0, 0].legend(["reference", "predicted"], fontsize=8, loc="upper right")
    axes[0, 0].set_title(f"{label}: first {len(chosen)} recordings (frames)", fontsize=9)
    _save(fig, path, 100)
    return path


def recording_traces(predictions, dims: list[str], out_dir: Path, label: str) -> list[Path]:
    """One PNG per recording (frame-level regression): reference and prediction of every dimension
    over its label frames, each panel titled with the recording's CCC; ``out_dir/<utterance>.png``."""
    from serkit.metrics import ccc

    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for p in predictions:
        out, ref = np.atleast_2d(p.output), np.atleast_2d(p.target)
        frames = np.arange(len(ref))
        fig, axes = plt.subplots(len(dims), 1, figsize=(9, 1.9 * len(dims)), sharex=True, squeeze=False)
        for d, name in enumerate(dims):
            ax = axes[d, 0]
            ax.plot(frames, ref[:, d], color="black", lw=1, label="reference")
            ax.plot(frames, out[: len(ref), d], color="tab:orange", lw=1, label="predicted")
            ax.set_ylabel(name)
            ax.set_title(f"{name}: CCC {ccc(out[: len(ref), d], ref[:, d]):.3f}", fontsize=8, loc="right")
        axes[0, 0].legend(fontsize=8, loc="upper left")
        axes[0, 0].set_title(f"{label}: {p.utt}", fontsize=9, loc="left")
        axes[-1, 0].set_xlabel("label frame")
        path = out_dir / f"{str(p.utt).replace('/', '_')}.png"
        _save(fig, path, 80)
        written.append(path)
    return written


def predicted_trace(values: np.ndarray, shift: float, dims: list[str], path: Path, title: str) -> Path:
    """One PNG of a recording's predicted values (frames × dims) over time (``serkit predict --plot``)."""
    plt = _pyplot()
    values = np.atleast_2d(values)
    seconds = np.arange(len(values)) * shift
    fig, axes = plt.subplots(len(dims), 1, figsize=(9, 1.9 * len(dims)), sharex=True, squeeze=False)
    for d, name in enumerate(dims):
        axes[d, 0].plot(seconds, values[:, d], color="tab:orange", lw=1)
        axes[d, 0].set_ylabel(name)
    axes[0, 0].set_title(title, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(fig, path, 80)
    return path


def curves(history: list[dict], train_cfg: dict, path: Path) -> Path:
    """Losses (train, dev) and the selection metric per epoch, best epoch marked."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(epochs, [h["train_loss"] for h in history], label="train loss")
    if all("dev_loss" in h for h in history):
        left.plot(epochs, [h["dev_loss"] for h in history], label="dev loss")
    left.set_xlabel("epoch")
    left.legend()
    metric, mode = train_cfg["metric"], train_cfg["mode"]
    values = [h.get(metric, float("nan")) for h in history]
    right.plot(epochs, values, marker="o", ms=3)
    if values:
        best = int(np.nanargmax(values) if mode == "max" else np.nanargmin(values))
        right.axvline(epochs[best], color="grey", ls="--", lw=1)
    right.set_xlabel("epoch")
    right.set_title(f"{metric} ({mode}); dashed = best", fontsize=9)
    _save(fig, path, 100)
    return path

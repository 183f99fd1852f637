"""Speech2Vec (Chung & Glass, Interspeech 2018): word embeddings learnt from the audio of word
segments with a sequence-to-sequence skip-gram (or CBOW) objective (``methods.md`` §C).

Model (§2.1-2.2 of the paper): a single-layer bidirectional LSTM encoder reads one word's MFCC
frames; its last hidden states (forward at the last real frame, backward at the first, padding
never read) concatenated are the embedding z. A single-layer LSTM decoder, conditioned on z at every
step, regenerates the MFCC of each neighbouring word within ``window`` (skip-gram; one shared
decoder for every context position), or the centre word from the sum of its neighbours' encodings
(CBOW). The loss is the squared error summed over the real frames of the generated segment (padding
masked) and averaged over segments. A word's vector is the mean of its instances' embeddings (§2.3).

Decisions no source settles (``methods.md`` §H.14), for the recipe README:

- Encoder hidden size = dim / 2 per direction, z = [h_fwd; h_bwd] (as my-yy/s2v_rc, "referring to
  the official code"); decoder hidden size = dim.
- The decoder's input at every step is z alone (no teacher forcing, zero initial state): it must
  regenerate a neighbour from the centre word only. Teacher forcing lets an LSTM predict the next
  MFCC frame from the previous one and ignore z.
- Optimiser: Adam, lr 1e-3 (default), so that a small corpus trains in minutes on a CPU; the
  paper's plain SGD (lr 1e-3, no momentum, 500 epochs) is ``optimizer="sgd"``.
- One batch = ``batch_size`` centre instances with all their neighbours (skip-gram: each centre is
  encoded once per batch, each (centre, neighbour) pair is one decoded segment). No sub-sampling of
  frequent words. Word vectors are plain means (not the L2-normalised means of s2v_rc).
- Input normalisation, segment truncation (64 frames) and neighbours: :mod:`word_instances`.

Training checkpoints after every epoch (``OUT_DIR/checkpoint.pt``); relaunching with the same
settings resumes, and changing only ``epochs`` extends a finished run.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from serkit.embeddings.word_instances import MAX_FRAMES, WordInstances, load_word_instances
from serkit.errors import SerkitError
from serkit.experiment import choose_device, load_weights, write_records
from serkit.lstm import bidirectional

MODEL_FILE = "s2v.pt"
CHECKPOINT_FILE = "checkpoint.pt"
VECTORS_FILE = "s2v.bin"  # word2vec binary (serkit.text.embeddings_io)
CURVE_FILE = "curve.tsv"
RESUME_SAFE = ("epochs", "device", "threads")  # settings that may change when a run resumes


@dataclass
class Speech2VecConfig:
    """Training settings (the paper's where it states them: window 3, skip-gram, 50-d)."""

    dim: int = 50
    window: int = 3
    mode: str = "skipgram"  # or "cbow"
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"  # or "sgd" (the paper's, without momentum)
    max_frames: int = MAX_FRAMES
    min_count: int = 1
    seed: int = 0
    device: str = "auto"
    threads: int = 1  # CPU threads, each computing a part of every batch (0: cpu_workers decides)

    def check(self) -> None:
        if self.dim < 2 or self.dim % 2:
            raise SerkitError(f"--dim {self.dim} must be even (two LSTM directions of dim/2)")
        if self.mode not in ("skipgram", "cbow"):
            raise SerkitError(f"unknown mode {self.mode!r}", hint="use skipgram or cbow")
        if self.optimizer not in ("adam", "sgd"):
            raise SerkitError(f"unknown optimizer {self.optimizer!r}", hint="use adam or sgd")
        if self.window < 1 or self.epochs < 0 or self.batch_size < 1 or self.max_frames < 1:
            raise SerkitError("--window, --batch-size and --max-frames must be ≥ 1, --epochs ≥ 0")


class Speech2Vec(nn.Module):
    """BiLSTM encoder + LSTM decoder conditioned on the embedding (Chung & Glass 2018 §2.1, Fig. 1)."""

    def __init__(self, n_mfcc: int = 13, dim: int = 50) -> None:
        super().__init__()
        self.n_mfcc, self.dim = n_mfcc, dim
        self.encoder = nn.LSTM(n_mfcc, dim // 2, batch_first=True, bidirectional=True)
        self.decoder = nn.LSTM(dim, dim, batch_first=True)
        self.output = nn.Linear(dim, n_mfcc)

    def encode(self, frames: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embeddings (batch × dim) of zero-padded segments (batch × time × n_mfcc): the final states
        of the bidirectional encoder, padding never read (:func:`serkit.lstm.bidirectional`)."""
        return bidirectional(self.encoder, frames, lengths, outputs=False)[1]

    def decode(self, z: torch.Tensor, steps: int) -> torch.Tensor:
        """Generated segments (batch × steps × n_mfcc), z fed at every step from a zero state."""
        out, _ = self.decoder(z[:, None, :].expand(-1, steps, -1).contiguous())
        return self.output(out)


def masked_squared_error(pred: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Σ over real frames and dims of (pred − target)², averaged over segments (targets of length 0
    are no segments). ``pred`` broadcasts against ``target`` (… × time × n_mfcc); ``lengths`` is
    ``target``'s shape without its last two axes."""
    mask = torch.arange(target.shape[-2], device=target.device) < lengths[..., None]
    return ((pred - target) ** 2 * mask[..., None]).sum() / int((lengths > 0).sum())


def _tensor(batch: tuple[np.ndarray, np.ndarray], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    frames, lengths = batch
    return torch.from_numpy(frames).to(device), torch.from_numpy(lengths).to(device)


def batch_loss(
    model: Speech2Vec,
    data: WordInstances,
    centres: np.ndarray,
    neighbours: np.ndarray,
    mode: str,
    device: torch.device,
) -> tuple[torch.Tensor, int]:
    """Loss of one batch of centre instances and the number of generated segments."""
    context = neighbours[centres]
    valid = context >= 0
    if mode == "skipgram":
        frames, lengths = _tensor(data.batch(centres), device)
        z = model.encode(frames, lengths)
        # The decoder's input is z alone from a zero state, so the segment it generates for a
        # neighbour is the first frames of the one it generates for any other neighbour of the same
        # centre: each centre is decoded once, as long as its longest neighbour, and compared with
        # all its neighbours (centres × 2·window × time × n_mfcc; length 0 where there is none).
        # The squared error of one generated segment p against its k neighbours t_k (zero past
        # their lengths, mask m_k) is Σ_k m_k (p − t_k)² = p²·Σ_k m_k − 2p·Σ_k t_k + Σ_k t_k²: the
        # sums over neighbours are taken once from the data, and the generated segment meets them
        # once rather than once per neighbour.
        target, target_len = data.batch(context)
        steps = target.shape[-2]
        count = (np.arange(steps) < target_len[..., None]).sum(axis=1, dtype=np.float32)[..., None]
        summed = torch.from_numpy(target.sum(axis=1)).to(device)
        squares = float(np.square(target, dtype=np.float64).sum())
        pred = model.decode(z, steps)
        error = (pred * (pred * torch.from_numpy(count).to(device) - 2 * summed)).sum() + squares
        segments = int(valid.sum())
        return error / segments, segments
    # CBOW: the summed encodings of the neighbours generate the centre
    rows, cols = np.nonzero(valid)
    frames, lengths = _tensor(data.batch(context[rows, cols]), device)
    encoded = model.encode(frames, lengths)
    z = torch.zeros(len(centres), model.dim, device=device).index_add_(
        0, torch.from_numpy(rows).to(device), encoded
    )
    target, target_len = _tensor(data.batch(centres), device)
    pred = model.decode(z, target.shape[-2])
    return masked_squared_error(pred, target, target_len), len(centres)


#: With ``threads: 0``, the fewest centres a thread's part of a batch has: one LSTM step per row costs
#: 1.2x as much at 16 rows as at 64, and 1.6x at 8 (50 → 50 LSTM, forward and backward, one core).
MIN_PART_CENTRES = 16


@functools.cache
def _threads(workers: int) -> ThreadPoolExecutor:
    """One pool of ``workers`` threads for the process (idle between batches)."""
    return ThreadPoolExecutor(workers, thread_name_prefix="speech2vec")


def batch_gradients(
    model: Speech2Vec,
    data: WordInstances,
    centres: np.ndarray,
    neighbours: np.ndarray,
    mode: str,
    device: torch.device,
    workers: int = 1,
) -> tuple[float, int]:
    """The gradients of :func:`batch_loss`, left in each parameter's ``.grad``; returns the loss and
    the number of generated segments.

    With ``workers`` > 1 (CPU), the centres are cut into that many contiguous parts and one thread
    per part computes the part's loss and gradients (each thread with one intra-op thread: the
    operations of one small batch hardly gain from a second thread; two parts on two cores do).
    The batch's loss is Σ part sums / Σ part segments, so each part's gradient is weighed by its
    segments and the parts' gradients are added in part order: the batch's gradients to float
    rounding, the same from run to run whichever thread ends first.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    workers = min(workers, len(centres))
    if workers < 2:
        loss, segments = batch_loss(model, data, centres, neighbours, mode, device)
        grads = list(torch.autograd.grad(loss, params))
        value = float(loss.detach())
    else:

        def part(ids: np.ndarray) -> tuple[float, int, tuple[torch.Tensor, ...]]:
            loss, n = batch_loss(model, data, ids, neighbours, mode, device)
            return float(loss.detach()) * n, n, torch.autograd.grad(loss * n, params)

        first, *rest = np.array_split(centres, workers)
        others = [_threads(workers - 1).submit(part, ids) for ids in rest]  # the first part: here
        parts = [part(first)] + [future.result() for future in others]
        segments = sum(n for _, n, _ in parts)
        value = sum(total for total, _, _ in parts) / segments
        grads = list(parts[0][2])
        for _, _, part_grads in parts[1:]:
            grads = [g + h for g, h in zip(grads, part_grads, strict=True)]
        grads = [g / segments for g in grads]
    for param, grad in zip(params, grads, strict=True):
        param.grad = grad
    return value, segments


def batch_loss_reference(
    model: Speech2Vec, data: WordInstances, centres: np.ndarray, neighbours: np.ndarray, mode: str
) -> torch.Tensor:
    """:func:`batch_loss` computed as the paper states it (CPU): the packed bidirectional encoder,
    and one decoded segment per (centre, neighbour) pair. Slow; tests and ``bench/speech2vec.py``
    hold the fast computation to it."""
    from torch.nn.utils.rnn import pack_padded_sequence

    def encode(ids: np.ndarray) -> torch.Tensor:
        frames, lengths = map(torch.from_numpy, data.batch(ids))
        packed = pack_padded_sequence(frames, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = model.encoder(packed)
        return torch.cat([h[0], h[1]], dim=1)

    def error(z: torch.Tensor, ids: np.ndarray) -> torch.Tensor:
        target, lengths = map(torch.from_numpy, data.batch(ids))
        pred = model.decode(z, target.shape[1])
        mask = torch.arange(target.shape[1])[None, :] < lengths[:, None]
        return ((pred - target) ** 2 * mask[:, :, None]).sum() / len(ids)

    rows, cols = np.nonzero(neighbours[centres] >= 0)
    pairs = neighbours[centres][rows, cols]
    if mode == "skipgram":
        return error(encode(centres)[torch.from_numpy(rows)], pairs)
    z = torch.zeros(len(centres), model.dim).index_add_(0, torch.from_numpy(rows), encode(pairs))
    return error(z, centres)


@torch.no_grad()
def embed_instances(
    model: Speech2Vec, data: WordInstances, device: torch.device | None = None, batch_size: int = 512
) -> np.ndarray:
    """The encoder's embedding of every instance (instances × dim, float32)."""
    device = device or next(model.parameters()).device
    model.eval()
    out = np.empty((len(data), model.dim), dtype=np.float32)
    order = np.argsort(data.lengths, kind="stable")  # similar lengths together: less padding
    for start in range(0, len(order), batch_size):
        ids = order[start : start + batch_size]
        out[ids] = model.encode(*_tensor(data.batch(ids), device)).cpu().numpy()
    return out


def word_vectors(words: list[str], embeddings: np.ndarray, vocabulary: list[str]) -> np.ndarray:
    """Mean embedding of each vocabulary word over its instances (Chung & Glass 2018 §2.3)."""
    index = {w: i for i, w in enumerate(vocabulary)}
    sums = np.zeros((len(vocabulary), embeddings.shape[1]), dtype=np.float64)
    counts = np.zeros(len(vocabulary))
    for word, vector in zip(words, embeddings, strict=True):
        i = index.get(word)
        if i is not None:
            sums[i] += vector
            counts[i] += 1
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)


@dataclass
class TrainResult:
    out_dir: Path
    curve: list[dict]
    vocabulary: list[str]
    resumed_from: int


Progress = Callable[[int, int, int, int, float], None]  # epoch, epochs, batch, batches, loss


def _make_optimizer(model: nn.Module, config: Speech2VecConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.0)
    return torch.optim.Adam(model.parameters(), lr=config.lr)


def _settings(config: Speech2VecConfig, data_dir, store_path) -> dict:
    return {
        **{k: v for k, v in asdict(config).items() if k not in RESUME_SAFE},
        "data_dir": str(Path(data_dir).resolve()),
        "store": str(Path(store_path).resolve()),
    }


def train_speech2vec(
    data_dir: str | Path,
    store_path: str | Path,
    out_dir: str | Path,
    config: Speech2VecConfig | None = None,
    progress: Progress | None = None,
    options: dict | None = None,
    command: str = "",
) -> TrainResult:
    """Train Speech2Vec on the word instances of ``data_dir`` and write ``out_dir``.

    Writes ``checkpoint.pt`` (each epoch), ``s2v.pt`` (the model with its normalisation statistics),
    ``curve.tsv`` (+ ``curve.png``) and ``s2v.bin`` (one vector per word, the mean
    over its instances), and the records ``config.yaml`` (``options``, the command's settings;
    default: ``config``), ``cmd.txt`` and ``env.txt``. Resumes from ``checkpoint.pt`` when the
    settings match.
    """
    config = config or Speech2VecConfig()
    config.check()
    out_dir = Path(out_dir)
    device = choose_device(config.device)
    write_records(out_dir, options if options is not None else asdict(config), command, device=device)
    threads = torch.get_num_threads()
    # On a GPU, `threads` is torch's intra-op thread count.
    workers = cpu_workers(config, threads) if device.type == "cpu" else 1
    torch.set_num_threads(1 if workers > 1 else config.threads or threads)
    try:
        return _train(data_dir, store_path, out_dir, config, device, progress, workers)
    finally:
        torch.set_num_threads(threads)


def cpu_workers(config: Speech2VecConfig, cores: int) -> int:
    """How many threads compute the parts of each batch on the CPU (:func:`batch_gradients`):
    ``threads``, or with ``threads: 0`` one per core while each part keeps MIN_PART_CENTRES."""
    return config.threads or min(cores, max(1, config.batch_size // MIN_PART_CENTRES))


def _train(
    data_dir, store_path, out_dir: Path, config: Speech2VecConfig, device, progress, workers: int
) -> TrainResult:
    data = load_word_instances(data_dir, store_path, max_frames=config.max_frames)
    vocabulary = data.vocabulary(config.min_count)
    keep = np.isin(np.asarray(data.words, dtype=object), np.asarray(vocabulary, dtype=object))
    neighbours = data.neighbours(config.window, keep)
    centres_all = np.flatnonzero(keep & (neighbours >= 0).any(axis=1))
    if len(centres_all) == 0:
        raise SerkitError("no word has a neighbour: every utterance has one word", path=data_dir)

    torch.manual_seed(config.seed)
    model = Speech2Vec(data.n_mfcc, config.dim).to(device)
    optimizer = _make_optimizer(model, config)
    settings = _settings(config, data_dir, store_path)
    curve: list[dict] = []
    start_epoch = 0
    checkpoint_path = out_dir / CHECKPOINT_FILE
    if checkpoint_path.is_file():
        state = load_weights(
            checkpoint_path,
            "Speech2Vec checkpoint",
            "use another OUT_DIR, or delete it to start again",
            ("model", "optimizer", "epoch", "curve", "settings"),
            device,
        )
        if state["settings"] != settings:
            changed = sorted(k for k in settings if state["settings"].get(k) != settings[k])
            raise SerkitError(
                f"{out_dir} holds a run with other settings ({', '.join(changed)})",
                path=checkpoint_path,
                hint="use another OUT_DIR, or delete it to start again",
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        curve, start_epoch = state["curve"], state["epoch"]

    batches = math.ceil(len(centres_all) / config.batch_size)
    for epoch in range(start_epoch, config.epochs):
        model.train()
        order = np.random.default_rng([config.seed, epoch]).permutation(centres_all)
        began, total, segments = time.perf_counter(), 0.0, 0
        for b in range(batches):
            centres = order[b * config.batch_size : (b + 1) * config.batch_size]
            loss, n = batch_gradients(model, data, centres, neighbours, config.mode, device, workers)
            optimizer.step()
            total += loss * n
            segments += n
            if progress is not None:
                progress(epoch, config.epochs, b + 1, batches, total / segments)
        seconds = time.perf_counter() - began
        curve.append(
            {
                "epoch": epoch + 1,
                "loss": total / segments,
                "loss_per_frame_dim": total / segments / max(1.0, float(np.mean(data.lengths))) / data.n_mfcc,
                "seconds": seconds,
                "instances_per_s": len(centres_all) / seconds,
            }
        )
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch + 1,
                "curve": curve,
                "settings": settings,
            },
            checkpoint_path.with_suffix(".tmp"),
        )
        checkpoint_path.with_suffix(".tmp").replace(checkpoint_path)

    save_model(model, data, config, out_dir / MODEL_FILE)
    write_curve(curve, out_dir)
    embeddings = embed_instances(model, data, device)
    from serkit.text.embeddings_io import save_vectors
    from serkit.text.word_vectors import WordVectors

    save_vectors(
        WordVectors(vocabulary, word_vectors(data.words, embeddings, vocabulary)),
        out_dir / VECTORS_FILE,
    )
    return TrainResult(out_dir, curve, vocabulary, start_epoch)


def save_model(model: Speech2Vec, data: WordInstances, config: Speech2VecConfig, path: Path) -> None:
    torch.save(
        {
            "model": {k: v.cpu() for k, v in model.state_dict().items()},
            "config": asdict(config),
            "n_mfcc": data.n_mfcc,
            "mean": data.mean.tolist(),
            "var": data.var.tolist(),
        },
        path,
    )


def load_model(model_dir: str | Path, device: str = "auto") -> tuple[Speech2Vec, dict]:
    """The trained model of ``model_dir`` (``s2v.pt``) and its saved metadata."""
    path = Path(model_dir) / MODEL_FILE
    state = load_weights(
        path,
        "Speech2Vec model",
        "run serkit train-speech2vec first",
        ("model", "config", "n_mfcc", "mean", "var"),
    )
    names = {f.name for f in fields(Speech2VecConfig)}
    try:
        config = Speech2VecConfig(**{k: v for k, v in state["config"].items() if k in names})
        model = Speech2Vec(state["n_mfcc"], config.dim)
        model.load_state_dict(state["model"])
    except Exception as exc:  # wrong shapes or settings: a file of another model
        reason = (str(exc).splitlines() or [""])[0][:200]
        raise SerkitError(f"not a Speech2Vec model ({type(exc).__name__}: {reason})", path=path) from None
    return model.to(choose_device(device)), {**state, "config": config}


def write_curve(curve: list[dict], out_dir: Path) -> None:
    """``curve.tsv`` (one row per epoch) and ``curve.png`` (loss against epoch)."""
    if not curve:
        return
    keys = list(curve[0])
    lines = ["\t".join(keys)] + ["\t".join(f"{row[k]:.6g}" for k in keys) for row in curve]
    (out_dir / CURVE_FILE).write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([r["epoch"] for r in curve], [r["loss"] for r in curve], marker="o", ms=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("squared error per segment")
    ax.set_title("Speech2Vec training loss")
    fig.tight_layout()
    fig.savefig(out_dir / "curve.png", dpi=100)
    plt.close(fig)


def embed_words(
    model_dir: str | Path, data_dir: str | Path, store_path: str | Path, out: str | Path, device: str = "auto"
) -> int:
    """``serkit embed-words``: one encoder vector per word instance → store ``/<utt>`` = words × dim.

    Frames are normalised with the training statistics saved in the model. Returns the instance count.
    """
    from serkit.embeddings.word_instances import write_instance_store

    model, state = load_model(model_dir, device)
    config: Speech2VecConfig = state["config"]
    data = load_word_instances(
        data_dir,
        store_path,
        max_frames=config.max_frames,
        stats=(np.asarray(state["mean"]), np.asarray(state["var"])),
    )
    embeddings = embed_instances(model, data)
    params = {"model_dir": str(Path(model_dir).resolve()), "dim": config.dim, "max_frames": config.max_frames}
    return write_instance_store(out, data_dir, data, embeddings, "speech2vec", params, "s2v")

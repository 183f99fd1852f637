"""Checks shared by the paper-model tests: padding invariance, learning a tiny batch, and a tiny
IEMOCAP-like recipe dir (data dirs with text, text.asr and words.ctm, a feature store, an embedding
``.bin``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from serkit import datadir, models
from serkit.store import StoreWriter
from serkit.training import config as configs
from serkit.training import trainer

CLASSES = ["ang", "hap", "neu", "sad"]
VOCAB = ["angry", "happy", "calm", "sad", "the", "a", "was", "it"]


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Tiny models on a shared 2-core machine: one intra-op thread is faster and never oversubscribes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def random_batch(dims: dict[str, int], lengths: dict[str, list[int]], seed: int = 0):
    """Inputs B×T×D of random values and masks True on the first ``lengths[name][b]`` steps."""
    generator = torch.Generator().manual_seed(seed)
    inputs, masks = {}, {}
    for name, dim in dims.items():
        width = max(lengths[name])
        inputs[name] = torch.randn(len(lengths[name]), width, dim, generator=generator)
        masks[name] = torch.arange(width)[None, :] < torch.tensor(lengths[name])[:, None]
        inputs[name] = inputs[name] * masks[name][..., None]
    return inputs, masks


def with_garbage_padding(inputs: dict, masks: dict, extra: dict[str, int], seed: int = 1):
    """The batch with ``extra[name]`` more padded steps per stream, filled with large random values."""
    generator = torch.Generator().manual_seed(seed)
    padded_inputs, padded_masks = {}, {}
    for name, x in inputs.items():
        batch, width, dim = x.shape
        garbage = 100 * torch.randn(batch, extra.get(name, 0), dim, generator=generator)
        padded_inputs[name] = torch.cat([x, garbage], dim=1)
        padded_masks[name] = torch.cat(
            [masks[name], torch.zeros(batch, extra.get(name, 0), dtype=torch.bool)], 1
        )
    return padded_inputs, padded_masks


def assert_padding_invariant(model: nn.Module, inputs: dict, masks: dict, extra: dict[str, int]) -> None:
    model.eval()
    with torch.no_grad():
        plain = model(inputs, masks)
        padded = model(*with_garbage_padding(inputs, masks, extra))
    assert torch.isfinite(plain).all()
    torch.testing.assert_close(padded, plain, atol=1e-6, rtol=0)


def eval_loss(model: nn.Module, inputs: dict, masks: dict, targets: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float(nn.functional.cross_entropy(model(inputs, masks), targets))


def train_steps(model: nn.Module, inputs: dict, masks: dict, targets: torch.Tensor, steps: int = 25):
    """Loss (eval mode) before and after ``steps`` Adam steps on one batch."""
    before = eval_loss(model, inputs, masks, targets)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs, masks), targets).backward()
        optimizer.step()
    return before, eval_loss(model, inputs, masks, targets)


def write_kv(path: Path, dim: int, seed: int = 0) -> Path:
    """An embedding file (word2vec binary) of :data:`VOCAB` with random ``dim``-d vectors."""
    from serkit.text.embeddings_io import save_vectors
    from serkit.text.word_vectors import WordVectors

    vectors = np.random.default_rng(seed).normal(size=(len(VOCAB), dim)).astype(np.float32)
    return save_vectors(WordVectors(VOCAB, vectors), path)


def make_set(root: Path, name: str, n: int, seed: int, frame_shift: float, frame_length: float) -> None:
    """``root/data/<name>`` and ``root/feats/<name>_pyaa34.h5``: the class shows in one word (its
    ``words.ctm`` frames carry a raised feature) and, in the ``text``, also by that word's choice."""
    rng = np.random.default_rng(seed)
    data = datadir.DataDir(meta={"corpus": "synthetic", "classes": CLASSES})
    feats = {}
    for i in range(n):
        utt, label = f"{name}-{i:03d}", i % 4
        words = ["the", "a", "was", "it"][: int(rng.integers(2, 5))]
        position = int(rng.integers(0, len(words) + 1))
        words.insert(position, VOCAB[label])
        ctm, start = [], 0.05
        for word in words:
            duration = round(float(rng.uniform(0.1, 0.3)), 2)
            ctm.append(datadir.CtmWord(round(start, 2), duration, word))
            start += duration + 0.02
        frames = int((start + 0.05 - frame_length) / frame_shift) + 1
        x = rng.normal(size=(frames, 34)).astype(np.float32)
        emotional = ctm[position]
        first = int(emotional.start / frame_shift)
        x[first : int(emotional.end / frame_shift), label] += 2.0
        feats[utt] = x
        data.wav_scp[utt] = datadir.WavEntry(f"/nonexistent/{utt}.wav")
        data.utt2spk[utt] = f"spk{i % 2}"
        data.utt2emo[utt] = CLASSES[label]
        data.text[utt] = " ".join(words)
        data.text_asr[utt] = " ".join(w for w in words if w != "the")  # an ASR that drops "the"
        data.words_ctm[utt] = ctm
    datadir.save(data, root / "data" / name)
    store = root / "feats" / f"{name}_pyaa34.h5"
    with StoreWriter(
        store, "pyaa34", {}, frame_shift=frame_shift, frame_length=frame_length, sample_rate=16000
    ) as writer:
        for utt, x in feats.items():
            writer.put(utt, x)


def make_recipe(root: Path, frame_shift: float, frame_length: float, kv_dims: dict[str, int]) -> Path:
    """data/{train,dev,test}, feats/*_pyaa34.h5 and exp/emb/<name>.bin for each of ``kv_dims``."""
    for name, n, seed in (("train", 32, 0), ("dev", 12, 1), ("test", 12, 2)):
        make_set(root, name, n, seed, frame_shift, frame_length)
    for i, (name, dim) in enumerate(kv_dims.items()):
        write_kv(root / "exp" / "emb" / f"{name}.bin", dim, seed=i)
    return root


def train_in(root: Path, raw_config: dict, exp: str) -> trainer.Summary:
    """``serkit train`` of ``raw_config`` with paths relative to ``root`` (a recipe dir)."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return trainer.train(configs.resolve(raw_config), Path(exp), command="test")
    finally:
        os.chdir(cwd)


def recipe_configs(recipe: str) -> dict[str, dict]:
    """The table-row configs a recipe ships (``recipes/<recipe>/conf/*.yaml`` but its ``base*.yaml``),
    by file name, their ``extends`` merged."""
    conf = Path(__file__).resolve().parents[1] / "recipes" / recipe / "conf"
    rows = [path for path in sorted(conf.glob("*.yaml")) if not path.name.startswith("base")]
    return {path.name: configs.read_extended(path) for path in rows}


def build_from_config(raw: dict, stream_dims: dict[str, int]) -> nn.Module:
    """Resolve a config and build its model for inputs of ``stream_dims`` (by stream type)."""
    config = configs.resolve(raw)
    dims = {s["name"]: stream_dims[s["type"]] for s in config["data"]["streams"]}
    return models.build(
        config["model"]["name"], dims, 4, **{k: v for k, v in config["model"].items() if k != "name"}
    )

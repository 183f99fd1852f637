"""No file serkit reads can run code (DESIGN §3): a crafted pickle, whose unpickling creates a marker
file, is handed to every command that loads an embedding or a model file. Each command fails with
one line naming the file and exit code 2, and the marker is never created.

Three payloads: a raw pickle (protocol 5, first byte 0x80), a protocol-0 pickle (no magic byte) and
the same object saved by ``torch.save`` (a zip holding ``data.pkl``). Commands run in-process
(``serkit.cli.main``) to keep the module fast; one case also runs as a fresh process.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import make_data_dir, run_serkit
from test_embeddings_speech2vec import write_word_mfcc_store
from test_trainer import TINY_CONFIG, make_task

from serkit.cli import app as cli_app
from serkit.cli import main
from serkit.text.embeddings_io import save_vectors
from serkit.text.word_vectors import WordVectors
from serkit.training import trainer


class Payload:
    """Unpickling it opens ``marker`` for writing, i.e. creates it: arbitrary code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_payload(path: Path, kind: str, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "pickle":
        path.write_bytes(pickle.dumps(Payload(marker), protocol=5))
    elif kind == "pickle-0":
        path.write_bytes(pickle.dumps(Payload(marker), protocol=0))
    elif kind == "torch-zip":
        torch.save(Payload(marker), path)
    elif kind == "npz-object":  # numpy's container with a pickled object array inside
        with path.open("wb") as f:
            np.savez(f, mean=np.array([Payload(marker)], dtype=object))
    else:
        raise ValueError(kind)
    return path


@pytest.mark.parametrize("kind", ["pickle", "pickle-0", "torch-zip", "npz-object"])
def test_the_payloads_are_live(tmp_path: Path, kind: str) -> None:
    """Loaded the unsafe way, each payload does create its marker: the refusals below mean something."""
    marker = tmp_path / "ran"
    path = write_payload(tmp_path / "payload", kind, marker)
    if kind == "torch-zip":
        torch.load(path, weights_only=False)
    elif kind == "npz-object":
        np.load(path, allow_pickle=True)["mean"]
    else:
        pickle.loads(path.read_bytes())
    assert marker.exists()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """A word-mfcc corpus (Speech2Vec, pseudo-words), two good embedding files, and a recipe-like
    task with a model trained for one epoch (train, score)."""
    root = tmp_path_factory.mktemp("world")
    data = make_data_dir(root / "corpus", n=8)
    store = write_word_mfcc_store(data, root / "corpus" / "wmfcc.h5")
    rng = np.random.default_rng(0)
    good = {}
    for name in ("src", "tgt"):
        vectors = rng.standard_normal((3, 8)).astype(np.float32)
        kv = WordVectors(["hello", "there", "world"], vectors)
        good[name] = save_vectors(kv, root / f"{name}.bin")
    task = make_task(root / "task", {**TINY_CONFIG, "train": {**TINY_CONFIG["train"], "epochs": 1}})
    cwd = os.getcwd()
    os.chdir(task)  # a config's paths are relative to the recipe dir
    try:
        trainer.run("conf/tiny.yaml", "exp/ref", [], command="test")
    finally:
        os.chdir(cwd)
    return {"root": root, "data": data, "store": store, "good": good, "task": task}


def _commands() -> set[str]:
    return {command.name for command in cli_app.registered_commands}


def _spaces(world, poison: Path, side: str) -> list[str]:
    """SRC TGT with the payload on ``side``."""
    pair = (poison, world["good"]["tgt"]) if side == "src" else (world["good"]["src"], poison)
    return [str(p) for p in pair]


def _trained_exp(world, tmp: Path) -> Path:
    exp = tmp / "exp"
    shutil.copytree(world["task"] / "exp" / "ref", exp)
    return exp


def _import(world, tmp: Path, name: str) -> tuple[Path, list[str]]:
    return tmp / name, ["import-embeddings", str(tmp / name), str(tmp / "out.bin")]


def _export(world, tmp: Path) -> tuple[Path, list[str]]:
    return tmp / "w2v.bin", ["export-embeddings", str(tmp / "w2v.bin"), str(tmp / "w2v.vec")]


def _align(world, tmp: Path, side: str) -> tuple[Path, list[str]]:
    poison = tmp / f"{side}.bin"
    return poison, ["align-embeddings", *_spaces(world, poison, side), str(tmp / "align"), "--supervised"]


def _eval(world, tmp: Path, side: str) -> tuple[Path, list[str]]:
    poison = tmp / f"{side}.bin"
    return poison, ["eval-embeddings", *_spaces(world, poison, side), "--out", str(tmp / "eval.json")]


def _embed_words(world, tmp: Path, model_file: str) -> tuple[Path, list[str]]:
    poison = tmp / "model" / model_file
    paths = (poison.parent, world["data"], world["store"], tmp / "e.h5")
    return poison, ["embed-words", *map(str, paths)]


def _speech2vec_resume(world, tmp: Path) -> tuple[Path, list[str]]:
    poison = tmp / "s2v" / "checkpoint.pt"
    options = ["--epochs", "1", "--dim", "8", "--device", "cpu"]
    return poison, ["train-speech2vec", str(world["data"]), str(world["store"]), str(poison.parent), *options]


def _train_with_words(world, tmp: Path) -> tuple[Path, list[str]]:
    poison, conf = tmp / "w2v.bin", tmp / "words.yaml"
    config = json.loads(json.dumps(TINY_CONFIG))
    config["train"].update(epochs=1, device="cpu")
    config["data"]["streams"].append({"name": "words", "type": "words", "kv": str(poison)})
    conf.write_text(yaml.safe_dump(config))
    return poison, ["train", "--config", str(conf), "--exp", str(tmp / "exp_words")]


def _train_resume(world, tmp: Path) -> tuple[Path, list[str]]:
    exp = _trained_exp(world, tmp)
    args = ["train", "--config", "conf/tiny.yaml", "--exp", str(exp)]
    return exp / "checkpoints" / "last.pt", [*args, "--set", "train.epochs=2", "--set", "train.device=cpu"]


def _score(world, tmp: Path) -> tuple[Path, list[str]]:
    exp = _trained_exp(world, tmp)
    return exp / "checkpoints" / "best.pt", ["score", str(exp), "--device", "cpu"]


# case → (the file the payload is written to, the command line); ``tmp`` is the case's own folder
CASES = {
    "import-embeddings": lambda w, tmp: _import(w, tmp, "vectors.bin"),
    "import-embeddings (text name)": lambda w, tmp: _import(w, tmp, "vectors.txt"),
    "export-embeddings": _export,
    "align-embeddings src": lambda w, tmp: _align(w, tmp, "src"),
    "align-embeddings tgt": lambda w, tmp: _align(w, tmp, "tgt"),
    "eval-embeddings src": lambda w, tmp: _eval(w, tmp, "src"),
    "eval-embeddings tgt": lambda w, tmp: _eval(w, tmp, "tgt"),
    "embed-words (Speech2Vec s2v.pt)": lambda w, tmp: _embed_words(w, tmp, "s2v.pt"),
    "train-speech2vec resume (checkpoint.pt)": _speech2vec_resume,
    "train (words stream kv)": _train_with_words,
    "train resume (last.pt)": _train_resume,
    "score (best.pt)": _score,
    "embed-words (pseudo-word model)": lambda w, tmp: _embed_words(w, tmp, "pw_model.npz"),
}
NEEDS = {"eval-embeddings": "eval-embeddings", "pseudo-word": "train-pseudo-words"}
PAYLOADS = {"embed-words (pseudo-word model)": ["pickle", "npz-object"]}


def _cases():
    for name in CASES:
        for kind in PAYLOADS.get(name, ["pickle", "pickle-0", "torch-zip"]):
            yield pytest.param(name, kind, id=f"{name}-{kind}")


def _one_line(out: str, err: str) -> str:
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in out + err
    return lines[0]


@pytest.mark.parametrize(("name", "kind"), list(_cases()))
def test_a_crafted_pickle_is_refused_and_never_runs(world, tmp_path, monkeypatch, capsys, name, kind) -> None:
    for needle, command in NEEDS.items():
        if needle in name and command not in _commands():
            pytest.skip(f"serkit has no {command} command")
    monkeypatch.chdir(world["task"])
    marker = tmp_path / "payload-ran"
    poison, args = CASES[name](world, tmp_path)
    if name == "embed-words (pseudo-word model)":
        from serkit.embeddings import pseudo_words

        poison.parent.mkdir(parents=True, exist_ok=True)
        info = {"format": pseudo_words.FORMAT, "config": {}}
        (poison.parent / pseudo_words.MODEL_INFO).write_text(json.dumps(info))
    write_payload(poison, kind, marker)
    code = main(args)
    captured = capsys.readouterr()
    line = _one_line(captured.out, captured.err)
    assert code == 2, line
    assert line.startswith("error:") and poison.name in line, line
    assert not marker.exists(), f"{name}: the payload ran"


def test_a_user_sees_one_line_and_how_to_convert_a_trusted_gensim_file(world, tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    poison = write_payload(tmp_path / "w2v.kv", "pickle", marker)
    result = run_serkit("align-embeddings", str(poison), str(world["good"]["tgt"]), str(tmp_path / "align"))
    line = _one_line(result.stdout, result.stderr)
    assert result.returncode == 2 and "w2v.kv: is a pickle (gensim .kv)" in line, line
    assert "save_word2vec_format" in line and not marker.exists()
    assert not (tmp_path / "align").exists()  # refused before anything is written
    model = write_payload(tmp_path / "s2v" / "s2v.pt", "pickle", marker)  # torch warns of protocol 5
    out = tmp_path / "x.h5"
    result = run_serkit("embed-words", str(model.parent), str(world["data"]), str(world["store"]), str(out))
    line = _one_line(result.stdout, result.stderr)
    assert result.returncode == 2 and "s2v.pt" in line and not marker.exists(), line

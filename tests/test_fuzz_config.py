"""Fuzz cases of configs, output paths, checkpoints and embedding files: each bad input is one
``error:`` line naming the file (and line), exit 2, and every file that existed is unchanged.

The commands run in-process through :func:`serkit.cli.main` (the console script's entry point),
to keep the module fast; a few run as a fresh ``python -m serkit`` process as a user would.
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import make_data_dir, run_serkit, write_wav
from fuzzing import assert_one_clear_line, assert_unchanged, snapshot
from test_embeddings_speech2vec import write_word_mfcc_store
from test_trainer import TINY_CONFIG, make_task

from serkit import datadir
from serkit.cli import main
from serkit.embeddings.pseudo_words import PseudoWordConfig, train_pseudo_words
from serkit.text.word2vec import train_word2vec
from serkit.training import config as configs


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A recipe-like dir: the synthetic task (data/, feats/, conf/tiny.yaml), a data dir with audio
    and words (corpus/data), its word-mfcc store, a Word2Vec and a pseudo-word dir, a CSV corpus list."""
    root = make_task(tmp_path_factory.mktemp("fuzz_config"))
    corpus = make_data_dir(root / "corpus", n=4)
    write_word_mfcc_store(corpus, root / "wmfcc.h5")
    train_word2vec([corpus], root / "w2v", dim=4, min_count=1, epochs=1)
    settings = PseudoWordConfig(dim=4, epochs=1, map_iterations=0)
    train_pseudo_words(corpus, root / "wmfcc.h5", root / "pw", settings, {}, "test")
    rows = ["path,label,speaker"] + [
        f"{write_wav(root / 'audio' / f'a{i}.wav', 1.0, seed=i)},{'ang' if i % 2 else 'hap'},s{i % 2}"
        for i in range(4)
    ]
    (root / "list.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "regular").write_text("a file, not a directory\n", encoding="utf-8")
    return root


def cli(capsys, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``serkit ARGS`` in ``cwd`` through the console script's entry point, in this process."""
    before = os.getcwd()
    os.chdir(cwd)
    try:
        code = main(list(args))
    finally:
        os.chdir(before)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out.out, out.err)


def write_config(root: Path, name: str, text: str) -> Path:
    path = root / "conf" / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- wrong config values

BASE = yaml.safe_dump(TINY_CONFIG, sort_keys=False)

WRONG_VALUES = {  # config text after the base's, the key, and what the line says must be there
    "optim lr type": ("optim:\n  lr: fast\n", "optim.lr", "a number > 0"),
    "optim lr range": ("optim:\n  lr: 0\n", "optim.lr", "a number > 0"),
    "optim betas": ("optim:\n  betas: [0.9, 2]\n", "optim.betas", "a list of 2 numbers"),
    "train epochs type": ("train:\n  epochs: twenty\n", "train.epochs", "an integer >= 1"),
    "train epochs range": ("train:\n  epochs: 0\n", "train.epochs", "an integer >= 1"),
    "train batch_size": ("train:\n  batch_size: -2\n", "train.batch_size", "an integer >= 1"),
    "train patience": ("train:\n  patience: 1.5\n", "train.patience", "an integer >= 0"),
    "train bucket": ("train:\n  bucket: 1\n", "train.bucket", "true or false"),
    "train amp": ("train:\n  amp: 1\n", "train.amp", "one of true, false, bf16"),
    "model dropout type": ("model:\n  dropout: high\n", "model.dropout", "a number in [0, 1)"),
    "model dropout range": ("model:\n  dropout: 1.0\n", "model.dropout", "a number in [0, 1)"),
    "model lstm_hidden": ("model:\n  lstm_hidden: 0\n", "model.lstm_hidden", "an integer >= 1"),
    "loss class_weights": ("loss:\n  class_weights: heavy\n", "loss.class_weights", "balanced"),
    "loss class_weights range": ("loss:\n  class_weights: [1, -1, 1, 1]\n", "loss.class_weights", ">= 0"),
    "task classes": ("task:\n  classes: 4\n", "task.classes", "a list of strings"),
    "task type": ("task:\n  type: 3\n", "task.type", "one of classification"),
    "data chunk_frames": ("data:\n  chunk_frames: 0\n", "data.chunk_frames", "an integer >= 1"),
    "stream max_frames type": (
        "data:\n  streams:\n    - name: acoustic\n      max_frames: many\n",
        "data.streams.acoustic.max_frames",
        "an integer >= 1",
    ),
    "stream max_frames range": (
        "data:\n  streams:\n    - name: acoustic\n      max_frames: -1\n",
        "data.streams.acoustic.max_frames",
        "an integer >= 1",
    ),
    "stream turn_split": (
        "data:\n  streams:\n    - name: acoustic\n      turn_split: maybe\n",
        "data.streams.acoustic.turn_split",
        "true or false",
    ),
}


@pytest.mark.parametrize("case", list(WRONG_VALUES))
def test_a_wrong_config_value_names_its_key_file_and_line(root: Path, capsys, case: str) -> None:
    text, key, expected = WRONG_VALUES[case]
    write_config(root, "base.yaml", BASE)
    config = write_config(root, "bad.yaml", "extends: base.yaml\n" + text)
    line = text.splitlines().index(
        next(x for x in text.splitlines() if x.strip().startswith(key.split(".")[-1]))
    )
    before = snapshot(root / "conf", root / "data")
    done = cli(capsys, "train", "--config", "conf/bad.yaml", "--exp", "exp/bad", cwd=root)
    said = assert_one_clear_line(done, config.relative_to(root), line=line + 2, says=key)
    assert expected in said and not (root / "exp" / "bad").exists()
    assert_unchanged(before)


OVERRIDES = {
    "train.epochs=abc": "an integer >= 1",
    "train.epochs=0": "an integer >= 1",
    "optim.lr=-1": "a number > 0",
    "model.dropout=2": "a number in [0, 1)",
    "data.streams.acoustic.max_frames=0": "an integer >= 1",
    "train.deterministic=sometimes": "true or false",
}


@pytest.mark.parametrize("item", list(OVERRIDES))
def test_a_wrong_set_value_names_the_override(root: Path, capsys, item: str) -> None:
    done = cli(capsys, "train", "--config", "conf/tiny.yaml", "--exp", "exp/over", "--set", item, cwd=root)
    said = assert_one_clear_line(done, "conf/tiny.yaml", says=f"--set {item}")
    assert OVERRIDES[item] in said and not (root / "exp" / "over").exists()


STAGE_VALUES = {  # command, its option values in a --config, the key and what must be there
    "w2v epochs type": ("train-word2vec", "epochs: twenty\n", "epochs", "an integer >= 1"),
    "w2v dim range": ("train-word2vec", "window: 3\ndim: 0\n", "dim", "an integer >= 1"),
    "w2v sg type": ("train-word2vec", "sg: 1\n", "sg", "true or false"),
    "s2v lr type": ("train-speech2vec", "lr: fast\n", "lr", "a number > 0"),
    "s2v batch_size range": ("train-speech2vec", "batch_size: 0\n", "batch_size", "an integer >= 1"),
    "pw map_ridge range": ("train-pseudo-words", "map_ridge: -1\n", "map_ridge", "a number >= 0"),
    "pw clusters type": ("train-pseudo-words", "clusters: many\n", "clusters", "an integer >= 0"),
    "align n_epochs range": ("align-embeddings", "n_epochs: -1\n", "n_epochs", "an integer >= 0"),
    "align epoch_size type": ("align-embeddings", "epoch_size: big\n", "epoch_size", "an integer >= 1"),
}


def stage_args(root: Path, command: str, out: str) -> list[str]:
    return {
        "train-word2vec": ["corpus/data", out],
        "train-speech2vec": ["corpus/data", "wmfcc.h5", out],
        "train-pseudo-words": ["corpus/data", "wmfcc.h5", out],
        "align-embeddings": ["pw/pw.bin", "w2v/w2v.bin", out],
    }[command]


@pytest.mark.parametrize("case", list(STAGE_VALUES))
def test_a_wrong_embedding_stage_value_names_its_key_file_and_line(root: Path, capsys, case: str) -> None:
    command, text, key, expected = STAGE_VALUES[case]
    config = root / "conf" / "stage.yaml"
    config.write_text(text, encoding="utf-8")
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith(key))
    done = cli(capsys, command, *stage_args(root, command, "exp/stage"), "--config", str(config), cwd=root)
    said = assert_one_clear_line(done, config, line=line, says=f"{key} is")
    assert expected in said and not (root / "exp" / "stage").exists()


def test_a_wrong_embedding_option_on_the_command_line(root: Path, capsys) -> None:
    done = cli(capsys, "train-word2vec", "corpus/data", "exp/w", "--dim", "0", cwd=root)
    assert_one_clear_line(done, "--dim", says="an integer >= 1")


# --------------------------------------------------------------------------- unwritable outputs

WRITERS = {  # command → its arguments with OUT where the unwritable path goes
    "prepare-data": ["prepare-data", "csv", "list.csv", "OUT"],
    "extract-features": ["extract-features", "corpus/data", "OUT"],
    "train": ["train", "--config", "conf/tiny.yaml", "--exp", "OUT"],
    "train-word2vec": ["train-word2vec", "corpus/data", "OUT", "--min-count", "1"],
    "train-speech2vec": ["train-speech2vec", "corpus/data", "wmfcc.h5", "OUT", "--epochs", "1"],
    "train-pseudo-words": ["train-pseudo-words", "corpus/data", "wmfcc.h5", "OUT"],
    "align-embeddings": ["align-embeddings", "pw/pw.bin", "w2v/w2v.bin", "OUT"],
    "embed-words": ["embed-words", "pw", "corpus/data", "wmfcc.h5", "OUT"],
    "eval-embeddings": ["eval-embeddings", "pw/pw.bin", "w2v/w2v.bin", "--out", "OUT"],
    "import-embeddings": ["import-embeddings", "w2v/w2v.bin", "OUT", "--format", "word2vec-bin"],
    "export-embeddings": ["export-embeddings", "w2v/w2v.bin", "OUT"],
    "export": ["export", "exp/none", "OUT"],
    "predict": ["predict", "exp/none", "audio/a0.wav", "--out", "OUT.csv"],
    "subset-data": ["subset-data", "corpus/data", "OUT", "--sessions", "sess0"],
    "combine-data": ["combine-data", "OUT", "corpus/data"],
    "make-mini-corpus": ["make-mini-corpus", "OUT"],
    "results": ["results", ".", "--out", "OUT"],
}
UNWRITABLE = {"sys": "/sys/serkit-fuzz/out", "under a file": "regular/out", "proc": "/proc/serkit-fuzz"}


@pytest.mark.parametrize("where", list(UNWRITABLE))
@pytest.mark.parametrize("command", list(WRITERS))
def test_an_unwritable_output_is_one_line_before_any_work(
    root: Path, capsys, command: str, where: str
) -> None:
    out = UNWRITABLE[where]
    args = [a.replace("OUT", out) for a in WRITERS[command]]
    named = next(a for a in args if a.startswith(out))
    before = snapshot(root)
    done = cli(capsys, *args, cwd=root)
    assert_one_clear_line(done, named, says="cannot")
    assert_unchanged(before)
    assert not (root / "regular").is_dir()


def test_an_unwritable_output_in_a_fresh_process(root: Path) -> None:
    done = run_serkit("train-word2vec", "corpus/data", "/sys/serkit-fuzz", cwd=root)
    assert_one_clear_line(done, "/sys/serkit-fuzz", says="cannot write the output directory")


def test_an_os_error_on_a_named_file_is_one_line(root: Path, capsys, monkeypatch) -> None:
    """Where no check came first, the CLI still turns an OSError naming a file into one line."""
    from serkit.cli import embeddings

    monkeypatch.setattr(embeddings, "writable_file", lambda path, what="": path)
    done = cli(capsys, "export-embeddings", "w2v/w2v.bin", "/sys/serkit-fuzz.vec", cwd=root)
    assert_one_clear_line(done, "/sys/", says="cannot write or read it")


# --------------------------------------------------------------------------- damaged checkpoints


def garbage(kind: str, real: Path) -> bytes:
    if kind == "random bytes":
        return np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    if kind == "text":
        return b"model: not really\nepoch: 3\n"
    if kind == "empty":
        return b""
    if kind == "truncated":
        data = real.read_bytes()
        return data[: len(data) // 2]
    path = real.with_name("other.zip")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes/readme.txt", "hello")
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.fixture(scope="module")
def exp_dirs(root: Path) -> dict[str, Path]:
    """An exp dir per kind of garbage: the task's resolved config, a damaged best.pt and last.pt."""
    config = configs.load(root / "conf" / "tiny.yaml")
    real = root / "real.pt"
    torch.save({"model": {"w": torch.zeros(64, 64)}, "epoch": 1}, real)
    dirs = {}
    for kind in ("random bytes", "text", "empty", "truncated", "zip"):
        exp = root / "exp" / kind.replace(" ", "_")
        (exp / "checkpoints").mkdir(parents=True)
        (exp / "config.yaml").write_text(configs.dump(config), encoding="utf-8")
        for which in ("best", "last"):
            (exp / "checkpoints" / f"{which}.pt").write_bytes(garbage(kind, real))
        dirs[kind] = exp
    return dirs


CHECKPOINT_READERS = {
    "score": lambda exp: ["score", str(exp), "--set", "dev"],
    "predict": lambda exp: ["predict", str(exp), "audio/a0.wav"],
    "export": lambda exp: ["export", str(exp), str(exp) + "_exported"],
    "train (resume)": lambda exp: ["train", "--config", "conf/tiny.yaml", "--exp", str(exp)],
}


@pytest.mark.parametrize("kind", ["random bytes", "text", "empty", "truncated", "zip"])
@pytest.mark.parametrize("command", list(CHECKPOINT_READERS))
def test_a_damaged_checkpoint_is_named_and_no_torch_advice(
    root: Path, exp_dirs, capsys, command: str, kind: str
) -> None:
    exp = exp_dirs[kind]
    before = snapshot(exp)
    done = cli(capsys, *CHECKPOINT_READERS[command](exp.relative_to(root)), cwd=root)
    which = "last" if command.startswith("train") else "best"
    said = assert_one_clear_line(done, exp.relative_to(root) / "checkpoints" / f"{which}.pt")
    assert "not a serkit checkpoint, or a damaged one" in said and "delete" in said
    assert "weights_only" not in said and "Python objects" not in said
    assert not (root / "exp" / f"{exp.name}_exported").exists()
    assert_unchanged(before)


def test_a_checkpoint_of_python_objects_says_so(root: Path, exp_dirs, capsys) -> None:
    exp = root / "exp" / "objects"
    (exp / "checkpoints").mkdir(parents=True)
    (exp / "config.yaml").write_bytes((exp_dirs["text"] / "config.yaml").read_bytes())
    torch.save({"model": {}, "epoch": 1, "f": len}, exp / "checkpoints" / "best.pt")
    done = cli(capsys, "score", "exp/objects", "--set", "dev", cwd=root)
    said = assert_one_clear_line(done, "exp/objects/checkpoints/best.pt", says="holds Python objects")
    assert "weights_only" not in said


# --------------------------------------------------------------------------- damaged embedding files


def damaged_embedding(kind: str, good: bytes) -> bytes:
    header, rest = good.split(b"\n", 1)
    return {
        "truncated mid-vector": good[: len(good) - 7],
        "header larger than content": b"40 4\n" + rest,
        "non-UTF-8 word": good.replace(b"world", b"w\xffrld"),
        "empty": b"",
        "text file": b"3 4\nhello 1 2 3 4\n",
    }[kind]


DAMAGE = ["truncated mid-vector", "header larger than content", "non-UTF-8 word", "empty", "text file"]
EMBEDDING_READERS = {
    "train": lambda bad: ["train", "--config", "conf/words.yaml", "--exp", "exp/words"],
    "align-embeddings": lambda bad: ["align-embeddings", bad, "w2v/w2v.bin", "exp/aligned"],
    "eval-embeddings": lambda bad: ["eval-embeddings", "w2v/w2v.bin", bad, "--out", "exp/eval.json"],
}


@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.parametrize("command", list(EMBEDDING_READERS))
def test_a_damaged_embedding_file_is_named(root: Path, capsys, command: str, kind: str) -> None:
    bad = root / "emb" / "bad.bin"
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(damaged_embedding(kind, (root / "w2v" / "w2v.bin").read_bytes()))
    config = {**TINY_CONFIG, "data": {**TINY_CONFIG["data"]}}
    config["data"]["streams"] = [
        *TINY_CONFIG["data"]["streams"],
        {"name": "words", "type": "words", "kv": "emb/bad.bin", "max_words": 5},
    ]
    write_config(root, "words.yaml", yaml.safe_dump(config))
    before = snapshot(root / "emb", root / "w2v")
    done = cli(capsys, *EMBEDDING_READERS[command]("emb/bad.bin"), cwd=root)
    said = assert_one_clear_line(done, "emb/bad.bin")
    where = {
        "truncated mid-vector": "word 3",
        "header larger than content": "of the 40",
        "non-UTF-8 word": "word",
    }
    assert where.get(kind, "") in said
    assert_unchanged(before)


NUMPY_DAMAGE = {
    "truncated": lambda good: good[: len(good) // 2],
    "garbage": lambda good: b"garbage " * 20,
    "empty": lambda good: b"",
}


@pytest.fixture(scope="module")
def word_times(root: Path) -> None:
    """words.ctm in the task's data dirs (their text's first word on the first 50 ms)."""
    for name in ("train", "dev", "test"):
        data = datadir.load(root / "data" / name)
        for utt in data.utts:
            data.words_ctm[utt] = [datadir.CtmWord(0.0, 0.05, data.text[utt].split()[0])]
        datadir.save(data, root / "data" / name)


@pytest.mark.parametrize("damage", list(NUMPY_DAMAGE))
@pytest.mark.parametrize("name", ["mapping.npy", "normalization.npz"])
def test_a_damaged_alignment_file_is_named(root: Path, word_times, capsys, name: str, damage: str) -> None:
    aligned = root / "exp" / f"align_{name}_{damage}"
    aligned.mkdir(parents=True)
    np.save(aligned / "mapping.npy", np.eye(4, dtype=np.float32))
    np.savez(aligned / "normalization.npz", normalize=np.array("renorm"), src_means=np.zeros(4, np.float32))
    (aligned / name).write_bytes(NUMPY_DAMAGE[damage]((aligned / name).read_bytes()))
    config = {**TINY_CONFIG, "data": {**TINY_CONFIG["data"]}}
    config["data"]["streams"] = [
        *TINY_CONFIG["data"]["streams"],
        {
            "name": "wf",
            "type": "word_frames",
            "frames": "acoustic",
            "kv": "w2v/w2v.bin",
            "mapping": str(aligned),
        },
    ]
    write_config(root, "mapped.yaml", yaml.safe_dump(config))
    before = snapshot(aligned)
    done = cli(capsys, "train", "--config", "conf/mapped.yaml", "--exp", f"exp/mapped_{damage}", cwd=root)
    said = assert_one_clear_line(done, aligned / name)
    assert "allow_pickle" not in said and "trust" not in said
    assert_unchanged(before)


@pytest.mark.parametrize("damage", list(NUMPY_DAMAGE))
def test_a_damaged_pseudo_word_model_is_named(root: Path, capsys, damage: str) -> None:
    model = root / "exp" / f"pw_{damage}"
    model.mkdir(parents=True)
    for path in (root / "pw").iterdir():
        (model / path.name).write_bytes(path.read_bytes())
    (model / "pw_model.npz").write_bytes(NUMPY_DAMAGE[damage]((model / "pw_model.npz").read_bytes()))
    before = snapshot(model)
    done = cli(capsys, "embed-words", str(model), "corpus/data", "wmfcc.h5", "exp/pw_out.h5", cwd=root)
    said = assert_one_clear_line(done, model / "pw_model.npz")
    assert "allow_pickle" not in said and not (root / "exp" / "pw_out.h5").exists()
    assert_unchanged(before)


SPEECH2VEC_READERS = {
    "embed-words": (["embed-words", "MODEL", "corpus/data", "wmfcc.h5", "exp/s2v_out.h5"], "s2v.pt"),
    "train-speech2vec (resume)": (["train-speech2vec", "corpus/data", "wmfcc.h5", "MODEL"], "checkpoint.pt"),
}


@pytest.mark.parametrize("kind", ["random bytes", "truncated"])
@pytest.mark.parametrize("command", list(SPEECH2VEC_READERS))
def test_a_damaged_speech2vec_file_is_named(root: Path, capsys, command: str, kind: str) -> None:
    model = root / "exp" / f"s2v_{command.split()[0]}_{kind.replace(' ', '_')}"
    model.mkdir(parents=True)
    real = root / "real_s2v.pt"
    torch.save({"model": {"w": torch.zeros(64, 64)}, "epoch": 1}, real)
    args, name = SPEECH2VEC_READERS[command]
    (model / name).write_bytes(garbage(kind, real))
    before = snapshot(model)
    done = cli(capsys, *[str(model) if a == "MODEL" else a for a in args], cwd=root)
    said = assert_one_clear_line(done, model / name, says="or a damaged one")
    assert "weights_only" not in said and not (root / "exp" / "s2v_out.h5").exists()
    assert_unchanged(before)

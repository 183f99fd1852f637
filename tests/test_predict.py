"""``serkit predict`` and ``serkit export`` on a small real pipeline: wavs → pyaa34 → a trained model.

The recipe tests (test_recipes.py) apply the recipes' own models (IEMOCAP's s2v_dual with its
Speech2Vec vectors, SEWA's frame models); here every input path and failure is checked quickly.
"""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import make_data_dir, run_serkit, write_wav
from test_trainer import train_in_process

from serkit import datadir, metrics, scoring
from serkit.features.extract import extract_features
from serkit.model_dir import open_model
from serkit.text.embeddings_io import save_vectors
from serkit.text.word_vectors import WordVectors

CONFIG = {
    "model": {"name": "mean_pool", "hidden": [16]},
    "data": {
        "sets": {"train": "data/train", "dev": "data/dev", "test": "data/test"},
        "streams": [
            {"name": "acoustic", "type": "frames", "store": "feats/all_pyaa34.h5", "max_frames": 200,
             "normalize": "speaker"},
            {"name": "words", "type": "words", "kv": "exp/emb/w2v.bin", "text": "text"},
        ],
    },
    "task": {"classes": ["ang", "hap", "neu", "sad"]},
    "optim": {"name": "adam", "lr": 0.01},
    "train": {"epochs": 3, "batch_size": 4, "seed": 1},
}  # fmt: skip


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    """A recipe-like dir: 24 one-second utterances of 3 speakers, features, vectors, exp/tiny trained."""
    root = tmp_path_factory.mktemp("predict")
    every = datadir.load(make_data_dir(root / "corpus", n=24, seconds=1.0, speakers=3))
    for name, utts in (("train", every.utts[:14]), ("dev", every.utts[14:18]), ("test", every.utts[18:])):
        datadir.save(datadir.subset(every, utts), root / "data" / name)
    datadir.save(every, root / "data" / "all")
    extract_features(root / "data" / "all", root / "feats" / "all_pyaa34.h5", "pyaa34",
                     {"window": 0.05, "step": 0.025})  # fmt: skip
    rng = np.random.default_rng(0)
    vectors = WordVectors(["hello", "there", "world"], rng.normal(size=(3, 8)).astype(np.float32))
    save_vectors(vectors, root / "exp" / "emb" / "w2v.bin")
    (root / "conf").mkdir()
    (root / "conf" / "tiny.yaml").write_text(yaml.safe_dump(CONFIG))
    train_in_process(root, "exp/tiny")
    with contextlib.chdir(root):
        scoring.score_exp("exp/tiny", "test")
    return root


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _test_files(recipe: Path) -> list[str]:
    data = datadir.load(recipe / "data" / "test")
    return [data.wav_scp[u].path for u in data.utts]


def test_predict_on_wav_files_gives_the_predictions_score_gave(recipe: Path, tmp_path: Path) -> None:
    """Same features, speaker statistics and words as `serkit score`: the same confusion matrix."""
    test = recipe / "data" / "test"
    out = tmp_path / "p.csv"
    done = run_serkit("predict", str(recipe / "exp" / "tiny"), *_test_files(recipe), "--utt2spk",
                      str(test / "utt2spk"), "--transcripts", str(test / "text"), "--out", str(out),
                      cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(out)
    assert len(rows) == 6 and {r["windows"] for r in rows} == {"1"}
    assert "words: the given transcripts" in done.stderr
    for row in rows:
        probs = [float(row[f"p_{c}"]) for c in CONFIG["task"]["classes"]]
        assert sum(probs) == pytest.approx(1.0, abs=1e-5)
        assert row["label"] == CONFIG["task"]["classes"][int(np.argmax(probs))]
        assert row["words"] == "hello there world"
    data = datadir.load(test)
    by_name = {Path(data.wav_scp[u].path).stem: u for u in data.utts}
    reference = [data.utt2emo[by_name[r["utt"]]] for r in rows]
    scored = json.loads((recipe / "exp" / "tiny" / "scores" / "test.json").read_text())["metrics"]
    mine = metrics.classification_metrics(
        [CONFIG["task"]["classes"].index(x) for x in reference],
        [CONFIG["task"]["classes"].index(r["label"]) for r in rows],
        CONFIG["task"]["classes"],
    )
    assert mine["confusion"] == scored["confusion"] and mine["ua"] == scored["ua"]


def test_a_data_dir_input_and_an_exported_model_elsewhere_give_the_same(recipe: Path, tmp_path: Path) -> None:
    direct = tmp_path / "direct.json"
    done = run_serkit("predict", str(recipe / "exp" / "tiny"), str(recipe / "data" / "test"),
                      "--out", str(direct), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    model = tmp_path / "shared" / "tiny_model"
    done = run_serkit("export", str(recipe / "exp" / "tiny"), str(model), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.name for p in model.iterdir()} == {
        "model.json",
        "config.yaml",
        "weights.pt",
        "vectors",
        "README.md",
    }
    card = (model / "README.md").read_text()
    assert "ang, hap, neu, sad" in card and "set `test` (6 utterances" in card
    assert "ua: unweighted accuracy = mean per-class recall" in card
    # The recipe dir is gone: the model dir alone must do.
    moved = tmp_path / "elsewhere"
    shutil.copytree(recipe / "data" / "test", moved / "test")
    shutil.copytree(recipe / "corpus" / "wav", moved / "wav")
    scp = (moved / "test" / "wav.scp").read_text().replace(str(recipe / "corpus" / "wav"), str(moved / "wav"))
    (moved / "test" / "wav.scp").write_text(scp)
    hidden = recipe.with_name(recipe.name + "_hidden")
    recipe.rename(hidden)
    try:
        again = tmp_path / "exported.json"
        done = run_serkit("predict", str(model), str(moved / "test"), "--out", str(again), cwd=moved)
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        hidden.rename(recipe)
    first, second = json.loads(direct.read_text()), json.loads(again.read_text())
    assert [p["label"] for p in first["predictions"]] == [p["label"] for p in second["predictions"]]
    for a, b in zip(first["predictions"], second["predictions"], strict=True):
        assert a["p_ang"] == pytest.approx(b["p_ang"], abs=1e-6)


def test_a_corrupt_file_among_good_ones_is_named_and_the_others_predicted(
    recipe: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i, path in enumerate(_test_files(recipe)[:3]):
        shutil.copy(path, folder / f"good{i}.wav")
    (folder / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    (folder / "empty.wav").write_bytes(b"")
    out = tmp_path / "p.csv"
    done = run_serkit("predict", str(recipe / "exp" / "tiny"), str(folder), "--speaker", "me",
                      "--transcripts", str(recipe / "data" / "test" / "text"), "--out", str(out))  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "2 of 5 inputs not predicted" in done.stderr and "broken.wav" in done.stderr
    assert sorted(r["utt"] for r in _rows(out)) == ["good0", "good1", "good2"]


def test_a_long_input_is_cut_into_windows_not_truncated(recipe: Path, tmp_path: Path) -> None:
    longest = open_model(recipe / "exp" / "tiny").max_duration
    assert longest == pytest.approx(199 * 0.025 + 0.05)  # 200 frames of 50 ms every 25 ms
    wav = write_wav(tmp_path / "long.wav", 3.5 * longest, seed=5)
    text = tmp_path / "text"
    text.write_text("long hello there world\n")
    out = tmp_path / "p.json"
    done = run_serkit("predict", str(recipe / "exp" / "tiny"), str(wav), "--out", str(out),
                      "--work-dir", str(tmp_path / "work"), "--transcripts", str(text))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = json.loads(out.read_text())["predictions"]
    assert row["windows"] == 4 and row["duration"] == pytest.approx(3.5 * longest, abs=2e-3)
    assert "cut into windows" in done.stderr
    work = datadir.load(tmp_path / "work" / "data")
    assert len(work.utts) == 4 and all(work.wav_scp[u].recording == "long" for u in work.utts)


def test_bad_models_and_outputs_are_one_line_errors(recipe: Path, tmp_path: Path) -> None:
    wav = _test_files(recipe)[0]
    cases = [
        (("predict", str(tmp_path), wav), "not a model"),
        (("predict", str(recipe / "exp" / "tiny"), wav, "--out", str(tmp_path / "p.txt")), ".csv or .json"),
        (("export", str(recipe / "exp" / "tiny"), str(recipe / "conf")), "not empty"),
    ]
    for args, message in cases:
        done = run_serkit(*args)
        assert done.returncode == 2, (args, done.stdout + done.stderr)
        assert message in done.stderr and "Traceback" not in done.stdout + done.stderr, args

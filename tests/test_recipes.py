"""The recipes end to end on the tiny mini corpus with --fast true (what CI runs).

Each run happens in a copy of the recipe dir, so the repository stays clean. The checks are
the files every stage must leave and that every metric is a number in its range; the numbers
themselves mean nothing after two epochs on 50 utterances.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_serkit

from serkit import audio, datadir, metrics

STAGE_FILES = {
    "iemocap": [
        "mini/iemocap/manifest.jsonl",
        "data/train/wav.scp", "data/dev/utt2emo", "data/test/text", "data/all/words.ctm",
        "feats/all_pyaa34.h5", "feats/all_word-mfcc.h5",
        "exp/emb/w2v/w2v.bin", "exp/emb/s2v/s2v.bin",
        "exp/emb/w2v/config.yaml", "exp/emb/s2v/config.yaml",
        "exp/emb/pw/pw.bin", "exp/emb/pw/pw_model.npz", "exp/emb/w2v_ref/w2v.bin",
        "exp/emb/align_s2v/diagnostics.json", "exp/emb/align_pw/diagnostics.json",
        "exp/emb/align_w2v_ref/diagnostics.json",
    ],
    "iemocap_align": [
        "mini/iemocap/manifest.jsonl",
        "data/train/text.asr", "data/test/text.asr", "data/all/text.asr",
        "feats/all_pyaa34.h5", "exp/emb/glove.bin",
    ],
    "TEMPLATE": [
        "mini/iemocap/manifest.jsonl", "data/train/wav.scp", "data/all/meta.json", "feats/all_pyaa34.h5",
    ],
    "sewa": [
        "mini/sewa/manifest.jsonl", "data/train/labels.h5", "data/dev/words.ctm", "feats/all_waveform.h5",
        "feats/all_word-mfcc.h5", "exp/emb/w2v/w2v.bin", "exp/emb/s2v/s2v.bin", "exp/emb/pw/pw.bin",
        "exp/emb/align_s2v/normalization.npz", "feats/test_s2v_words.h5", "feats/dev_pw_words.h5",
        "exp/emb/align_pw/diagnostics.json",
    ],
    "mosei": [
        "mini/mosei/manifest.jsonl", "data/train/utt2presence", "data/top1/dev/utt2emo", "data/all/text",
        "feats/all_spectrogram.h5", "exp/emb/glove.bin",
    ],
}  # fmt: skip
# Each kind of SEWA row once (one model of each registry name, both test-time paths, both speech spaces);
# test_recipe_configs builds every row's model.
SEWA_CI_CONFIGS = [
    "paralinguistic",
    "w2v_only",
    "concat",
    "attention",
    "attention_lookup",
    "attention_code",
    "pw_attention",
]
# Both MOSEI protocols, the paper's two rows and the fused row (test_models_conv_attention builds each model).
MOSEI_CI_CONFIGS = ["top1_concat", "top1_attention", "ml_attention_fused"]
CI_CONFIGS = {"sewa": SEWA_CI_CONFIGS, "mosei": MOSEI_CI_CONFIGS}
CLASSIFICATION_PLOTS = ("plots/curves.png", "plots/confusion_test.png")
MULTILABEL_PLOTS = ("plots/curves.png", "plots/multilabel_dev.png", "plots/multilabel_test.png")
REGRESSION_PLOTS = ("plots/curves.png", "plots/ccc_dev.png", "plots/ccc_test.png")


def _copy_recipe(name: str, where: Path) -> Path:
    recipe = where / name
    shutil.copytree(
        REPO / "recipes" / name,
        recipe,
        symlinks=False,
        ignore=shutil.ignore_patterns("data", "exp", "feats", "mini", "RESULTS.md"),
    )
    return recipe


# How CI runs a recipe: the tiny mini corpus, a handful of epochs, one thread per process.
TINY_FAST = ("--mini", "true", "--mini-size", "tiny", "--fast", "true")


def recipe_env() -> dict[str, str]:
    """The environment of a recipe run in a copy of its dir (path.sh finds serkit through SERKIT_ROOT)."""
    return {**os.environ, "SERKIT_ROOT": str(REPO), "OMP_NUM_THREADS": "1"}


def _run(recipe: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "run.sh", *TINY_FAST, *options],
        cwd=recipe,
        env=recipe_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )


def _configs(recipe: Path) -> list[str]:
    text = (recipe / "run.sh").read_text()
    line = next(x for x in text.splitlines() if x.startswith("configs="))
    return shlex.split(line.split("=", 1)[1], comments=True)[0].split()


def _check_scores(recipe: Path, config: str, score_file: str = "scores/test.json") -> dict:
    scores = json.loads((recipe / "exp" / config / score_file).read_text())
    return scores


def _predict(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    done = run_serkit("predict", *args, cwd=recipe)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _check_predict_iemocap(recipe: Path, tmp_path: Path) -> None:
    """s2v_dual on the test set's wav files (speakers and transcripts given): the labels `serkit score`
    scored, UA and confusion matrix equal; the same from the exported model dir in another directory."""
    test = datadir.load(recipe / "data" / "test")
    files = [str(recipe / test.wav_scp[u].path) for u in test.utts]
    given = ("--utt2spk", "data/test/utt2spk", "--transcripts", "data/test/text")
    _predict(recipe, "exp/s2v_dual", *files, *given, "--out", str(tmp_path / "exp.csv"))
    with open(tmp_path / "exp.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_stem = {Path(test.wav_scp[u].path).stem: u for u in test.utts}
    classes = json.loads((recipe / "exp" / "s2v_dual" / "scores" / "test.json").read_text())
    scored, classes = classes["metrics"], classes["protocol"]["classes"]
    mine = metrics.classification_metrics(
        [classes.index(test.utt2emo[by_stem[r["utt"]]]) for r in rows],
        [classes.index(r["label"]) for r in rows],
        classes,
    )
    assert len(rows) == len(test.utts) and mine["confusion"] == scored["confusion"]
    assert mine["ua"] == pytest.approx(scored["ua"], abs=1e-12)
    done = run_serkit("export", "exp/s2v_dual", str(tmp_path / "model"), cwd=recipe)
    assert done.returncode == 0, done.stdout + done.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    given = ("--utt2spk", str(recipe / "data/test/utt2spk"), "--transcripts", str(recipe / "data/test/text"))
    _predict(elsewhere, str(tmp_path / "model"), *files, *given, "--out", "model.csv")
    with open(elsewhere / "model.csv", newline="", encoding="utf-8") as f:
        assert [r["label"] for r in csv.DictReader(f)] == [r["label"] for r in rows]


def _check_predict_sewa(recipe: Path, tmp_path: Path) -> None:
    """Per-frame traces for a wav with no labels; on the test data dir, the CCC `serkit score` gave."""
    test = datadir.load(recipe / "data" / "test")
    wav = recipe / test.wav_scp[test.utts[0]].path
    lone = tmp_path / "call.wav"
    shutil.copy(wav, lone)  # no data dir, no labels, no transcript
    _predict(
        recipe, "exp/paralinguistic", str(lone), "--out", str(tmp_path / "p.csv"), "--plot", str(tmp_path)
    )
    with open(tmp_path / "p.frames.csv", newline="", encoding="utf-8") as f:
        frames = list(csv.DictReader(f))
    _, seconds = audio.audio_info(datadir.WavEntry(str(lone)))
    assert len(frames) == math.ceil(round(seconds / 0.1, 6)) and set(frames[0]) == {
        "utt", "time", "arousal", "valence", "liking"}  # fmt: skip
    assert (tmp_path / "call.png").read_bytes()[:4] == b"\x89PNG"
    _predict(recipe, "exp/attention", "data/test", "--out", str(tmp_path / "attention.json"))
    predicted = json.loads((tmp_path / "attention.json").read_text())["predictions"]
    labels, _, names = datadir.read_labels(recipe / "data" / "test" / "labels.h5", test.utts)
    outputs = {p["utt"]: np.asarray(p["frames"]) for p in predicted}
    scored = json.loads((recipe / "exp" / "attention" / "scores" / "test.json").read_text())["metrics"]
    dims = ["arousal", "valence", "liking"]
    columns = [names.index(d) for d in dims]
    mine = metrics.continuous_metrics(outputs, {u: labels[u][:, columns] for u in outputs}, dims)
    assert mine["ccc_mean"] == pytest.approx(scored["ccc_mean"], abs=1e-4)


def _check_predict_mosei(recipe: Path, tmp_path: Path) -> None:
    """Both protocols' models on their test data dirs: the confusion matrix (multi-label: the per-emotion
    accuracies) `serkit score` gave, with the spectrogram statistics saved with the weights."""
    _predict(recipe, "exp/top1_attention", "data/top1/test", "--out", str(tmp_path / "top1.json"))
    test = datadir.load(recipe / "data" / "top1" / "test")
    scored = json.loads((recipe / "exp" / "top1_attention" / "scores" / "test.json").read_text())
    classes = scored["protocol"]["classes"]
    rows = json.loads((tmp_path / "top1.json").read_text())["predictions"]
    mine = metrics.classification_metrics(
        [classes.index(test.utt2emo[r["utt"]]) for r in rows],
        [classes.index(r["label"]) for r in rows],
        classes,
    )
    assert mine["confusion"] == scored["metrics"]["confusion"]
    _predict(recipe, "exp/ml_attention_fused", "data/test", "--out", str(tmp_path / "ml.json"))
    scored = json.loads((recipe / "exp" / "ml_attention_fused" / "scores" / "test.json").read_text())
    classes = scored["protocol"]["classes"]
    present = datadir.read_binary_rows(recipe / "data" / "test" / "utt2presence", classes)
    rows = json.loads((tmp_path / "ml.json").read_text())["predictions"]
    for i, name in enumerate(classes):
        predicted = np.array([name in r["label"].split("+") for r in rows])
        reference = np.array([present[r["utt"]][i] == 1 for r in rows])
        assert np.mean(predicted == reference) == pytest.approx(scored["metrics"][f"acc_{name}"], abs=1e-9)


PREDICT_CHECKS = {
    "iemocap": _check_predict_iemocap,
    "sewa": _check_predict_sewa,
    "mosei": _check_predict_mosei,
}


@pytest.mark.parametrize("name", ["iemocap", "iemocap_align", "TEMPLATE", "sewa", "mosei"])
def test_recipe_runs_end_to_end_on_the_tiny_mini_corpus(tmp_path: Path, name: str) -> None:
    recipe = _copy_recipe(name, tmp_path)
    configs = CI_CONFIGS.get(name) or _configs(recipe)
    result = _run(recipe, "--configs", " ".join(configs))
    assert result.returncode == 0, result.stderr[-3000:]
    for stage in range(7):
        assert f"Stage {stage}:" in result.stderr or f"Skip stage {stage}:" in result.stderr, stage
    for path in STAGE_FILES[name]:
        assert (recipe / path).exists(), path
    for config in configs:
        exp = recipe / "exp" / config
        plots = REGRESSION_PLOTS if name == "sewa" else CLASSIFICATION_PLOTS
        plots = MULTILABEL_PLOTS if config.startswith("ml_") else plots
        for path in ("config.yaml", "cmd.txt", "env.txt", "train.log", "checkpoints/best.pt", *plots):
            assert (exp / path).exists(), (config, path)
        if name == "sewa":  # continuous dimensions, scored on dev and test (the mini corpus has test labels)
            for set_name in ("dev", "test"):
                scores = _check_scores(recipe, config, f"scores/{set_name}.json")
                for dim in ("arousal", "valence", "liking", "mean"):
                    assert -1.0 <= scores["metrics"][f"ccc_{dim}"] <= 1.0, (config, set_name, dim)
                assert scores["protocol"]["dims"] == ["arousal", "valence", "liking"]
                recordings = (recipe / "data" / set_name / "utt2spk").read_text().split("\n")[:-1]
                for utt in (line.split()[0] for line in recordings):  # a trace plot per scored recording
                    assert (exp / "plots" / f"traces_{set_name}" / f"{utt}.png").exists(), (config, utt)
            continue
        if config.startswith("ml_"):  # mosei's multi-label protocol: six present/absent problems
            for set_name in ("dev", "test"):
                metrics = _check_scores(recipe, config, f"scores/{set_name}.json")["metrics"]
                assert 0.0 <= metrics["wacc_mean"] <= 1.0 and 0.0 <= metrics["wf1_mean"] <= 1.0, config
                assert set(metrics["per_class"]) == {"happy", "sad", "anger", "surprise", "disgust", "fear"}
            continue
        scores = _check_scores(recipe, config)
        metrics = scores["metrics"]
        for metric in ("wa", "ua", "f1"):
            assert 0.0 <= metrics[metric] <= 1.0, (config, metric, metrics[metric])
        assert scores["protocol"]["utterances"] > 0 and scores["protocol"]["classes"]
    results = (recipe / "exp" / "RESULTS.md").read_text()
    for config in configs:
        assert f"`{config}`" in results
    assert "paper" in results.lower()
    assert "synthetic mini corpus" in results
    assert not (recipe / "RESULTS.md").exists()  # a run writes exp/RESULTS.md, never the tracked file

    if name == "mosei":  # both protocols, each its own table, from one data preparation
        assert "multi-label happy/sad/anger/surprise/disgust/fear" in results
        assert "classes hap/sad/ang/sur/dis/fea" in results and "88.89" in results
        top1 = set((recipe / "data" / "top1" / "train" / "utt2spk").read_text().split("\n")[:-1])
        every = set((recipe / "data" / "train" / "utt2spk").read_text().split("\n")[:-1])
        assert top1 < every  # the single-label sets leave out the segments with no emotion
    if name in PREDICT_CHECKS:
        PREDICT_CHECKS[name](recipe, tmp_path)
    if name == "iemocap":
        assert "Embedding spaces" in results and "pseudo-word skip-gram" in results
        # Rerunning from stage 3 keeps stages 0-2: their outputs are not rewritten.
        before = {p: (recipe / p).stat().st_mtime_ns for p in STAGE_FILES[name][:7]}
        again = _run(recipe, "--stage", "3", "--stop-stage", "3")
        assert again.returncode == 0, again.stderr[-3000:]
        assert (
            "Stage 3:" in again.stderr and "Stage 2:" not in again.stderr and "Stage 0:" not in again.stderr
        )
        assert {p: (recipe / p).stat().st_mtime_ns for p in before} == before


def test_loso_folds_are_aggregated(tmp_path: Path) -> None:
    recipe = _copy_recipe("iemocap", tmp_path)
    result = _run(recipe, "--folds", "loso", "--configs", "s2v_acoustic s2v_dual", "--eval-spaces", "false")
    assert result.returncode == 0, result.stderr[-3000:]
    for config in ("s2v_acoustic", "s2v_dual"):
        assert sorted(p.name for p in (recipe / "exp" / config).glob("fold*")) == [
            f"fold{k}" for k in range(1, 6)
        ]
        folds = json.loads((recipe / "exp" / config / "scores" / "test.json").read_text())
        text = json.dumps(folds)
        assert "mean" in text and "sd" in text
    assert "±" in (recipe / "exp" / "RESULTS.md").read_text()


def test_a_changed_option_redoes_its_stage_and_those_after_it(tmp_path: Path) -> None:
    """The tiny --fast run, then the default corpus: stage 0 is redone, saying which option changed."""
    recipe = _copy_recipe("TEMPLATE", tmp_path)
    first = _run(recipe)
    assert first.returncode == 0, first.stderr[-3000:]
    tiny = json.loads((recipe / "data/all/meta.json").read_text())["num_utterances"]
    env = {**os.environ, "SERKIT_ROOT": str(REPO), "OMP_NUM_THREADS": "1"}
    again = subprocess.run(
        ["bash", "run.sh", "--mini", "true", "--stop-stage", "1"],
        cwd=recipe, env=env, capture_output=True, text=True, check=False, timeout=1200,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert "mini_size: 'tiny' -> 'default'" in again.stderr
    assert "Stage 1: data dirs" in again.stderr and "already done" not in again.stderr
    assert json.loads((recipe / "data/all/meta.json").read_text())["num_utterances"] > tiny
    # The training of the tiny run is stale now: stage 5's marker is gone.
    assert not (recipe / "exp/.done/stage.5").exists() and (recipe / "exp/.done/stage.5.stale").exists()

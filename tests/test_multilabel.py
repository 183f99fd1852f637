"""``task.type: multilabel`` (CMU-MOSEI protocol 2: each emotion present iff its intensity > 0):
config defaults and mistakes, ``utt2presence`` reading errors (file:line), BCE with ``pos_weight``,
weighted accuracy / weighted F1 against hand computations, a tiny train + score + results run, and
``per_class: true`` tables after classification tables."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from sklearn.metrics import f1_score
from test_trainer import TINY_CONFIG, train_in_process
from test_trainer_parts import write_store

from serkit import datadir, metrics, results, scoring
from serkit.errors import SerkitError
from serkit.store import StoreWriter
from serkit.training import config as configs
from serkit.training.dataset import EmotionDataset, task_for
from serkit.training.losses import BCE, build, pos_weights
from serkit.training.streams import FrameStream

EMOTIONS = ["happy", "sad", "anger"]
PNG = b"\x89PNG"
BASE = {
    "model": {"name": "mean_pool"},
    "task": {"type": "multilabel"},
    "data": {
        "sets": {"train": "data/train", "dev": "data/dev"},
        "streams": [{"name": "acoustic", "store": "feats/{set}.h5"}],
    },
}


def resolve(**sections) -> dict:
    raw = copy.deepcopy(BASE)
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return configs.resolve(raw, source="c.yaml")


# --------------------------------------------------------------------------- config


def test_multilabel_defaults_bce_wacc_mean_and_utt2presence() -> None:
    config = resolve()
    assert config["loss"]["type"] == "bce" and config["loss"]["pos_weight"] is None
    assert (config["train"]["metric"], config["train"]["mode"]) == ("dev_wacc_mean", "max")
    assert config["task"]["targets"] == "utt2presence" and config["task"]["classes"] is None
    assert resolve(loss={"pos_weight": "balanced"})["loss"]["pos_weight"] == "balanced"
    assert resolve(loss={"pos_weight": [1, 2.5, 3]})["loss"]["pos_weight"] == [1, 2.5, 3]
    assert resolve(task={"targets": "utt2mine"})["task"]["targets"] == "utt2mine"
    classification = resolve(task={"type": "classification"})
    assert classification["task"]["targets"] is None and classification["loss"]["type"] == "ce"


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"task": {"level": "frame"}}, "task.level frame is not for task.type multilabel"),
        ({"loss": {"type": "ce"}}, "loss.type ce does not fit task.type multilabel"),
        ({"loss": {"type": "ccc"}}, "loss.type ccc does not fit task.type multilabel"),
        ({"task": {"type": "classification"}, "loss": {"type": "bce"}}, "loss.type bce does not fit"),
        ({"task": {"type": "regression"}, "loss": {"type": "bce"}}, "loss.type bce does not fit"),
        ({"loss": {"pos_weight": "inverse"}}, "loss.pos_weight is 'inverse'"),
        ({"loss": {"pos_weight": [1, -2]}}, "loss.pos_weight is"),
        ({"task": {"type": "classification"}, "loss": {"pos_weight": "balanced"}}, "for loss.type bce"),
        ({"task": {"targets": "../utt2presence"}}, "task.targets"),
        ({"task": {"type": "ordinal"}}, "task.type is 'ordinal'"),
    ],
)
def test_multilabel_config_mistakes_name_the_file_and_the_fix(sections: dict, message: str) -> None:
    with pytest.raises(SerkitError, match=message) as err:
        resolve(**sections)
    assert err.value.path == "c.yaml" and err.value.hint


# --------------------------------------------------------------------------- data


def make_dir(root: Path, rows: dict[str, str], meta: dict | None = None) -> Path:
    """A data dir of ``rows`` (utt → the utt2presence values as written) and a store ``root/<name>.h5``."""
    data = datadir.DataDir(meta={"corpus": "mosei", "emotion_names": EMOTIONS} if meta is None else meta)
    for utt in rows:
        data.wav_scp[utt] = datadir.WavEntry(f"/x/{utt}.wav")
    path = datadir.save(data, root / "data" / "train")
    lines = [f"{utt} {values}\n" for utt, values in rows.items()]
    (path / "utt2presence").write_text("".join(lines), encoding="utf-8")
    write_store(root / "train.h5", {u: np.zeros((3, 2)) for u in rows})
    return path


def dataset(root: Path, path: Path, **task) -> EmotionDataset:
    streams = [FrameStream.DEFAULTS | {"name": "a", "store": str(root / "{set}.h5")}]
    task = {"type": "multilabel", "level": "utterance", "classes": EMOTIONS, "targets": "utt2presence"} | task
    return EmotionDataset(path, streams, task)


def test_targets_are_float_rows_and_classes_come_from_emotion_names(tmp_path: Path) -> None:
    path = make_dir(tmp_path, {"u1": "1 0 1", "u2": "0 0 0"})
    task = task_for(resolve(), path)
    assert task["classes"] == EMOTIONS and task["targets"] == "utt2presence"
    data = dataset(tmp_path, path)
    assert data[0]["target"].dtype == np.float32 and data[0]["target"].tolist() == [1.0, 0.0, 1.0]
    assert data[1]["target"].tolist() == [0.0, 0.0, 0.0]
    assert task_for(resolve(task={"classes": ["a", "b", "c"]}), path)["classes"] == ["a", "b", "c"]
    bare = make_dir(tmp_path / "bare", {"u1": "1 0 1"}, meta={"corpus": "mosei"})
    with pytest.raises(SerkitError, match="no emotion_names") as err:
        task_for(resolve(), bare)
    assert err.value.hint.startswith("set task.classes") and err.value.path.endswith("meta.json")


@pytest.mark.parametrize(
    ("rows", "message", "line"),
    [
        (
            {"u1": "1 0 1", "u2": "1 0"},
            "expected an id and 3 values \\(happy sad anger\\), found 3 fields",
            2,
        ),
        ({"u1": "1 0 1", "u2": "1 0 1 1"}, "found 5 fields", 2),
        ({"u1": "1 0 2", "u2": "1 0 1"}, "value '2' of 'u1' is not 0 or 1", 1),
        ({"u1": "1 0 1", "u2": "0.5 0 1"}, "value '0.5' of 'u2' is not 0 or 1", 2),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path: Path, rows: dict, message: str, line: int) -> None:
    path = make_dir(tmp_path, rows)
    with pytest.raises(SerkitError, match=message) as err:
        dataset(tmp_path, path)
    assert err.value.path == str(path / "utt2presence") and err.value.line == line and err.value.hint


def test_a_missing_utterance_or_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = make_dir(tmp_path, {"u1": "1 0 1", "u2": "0 1 0"})
    (path / "utt2presence").write_text("u1 1 0 1\n", encoding="utf-8")
    with pytest.raises(SerkitError, match="1 utterances of the data dir have no row \\(e.g. 'u2'\\)") as err:
        dataset(tmp_path, path)
    assert err.value.path == str(path / "utt2presence") and "write a row" in err.value.hint
    with pytest.raises(SerkitError, match="targets file utt2other not found") as err:
        dataset(tmp_path, path, targets="utt2other")
    assert err.value.path == str(path / "utt2other") and "prepare-data mosei" in err.value.hint


# --------------------------------------------------------------------------- loss


def test_bce_is_mean_binary_cross_entropy_with_positive_weights() -> None:
    logits = torch.tensor([[2.0, -1.0], [0.0, 3.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # By hand: -[w·y·log σ(x) + (1 - y)·log(1 - σ(x))], mean over the 4 entries; weights (2, 0.5).
    s = torch.sigmoid(logits)
    by_hand = -(
        2.0 * torch.log(s[0, 0]) + torch.log(1 - s[0, 1]) + torch.log(1 - s[1, 0]) + 0.5 * torch.log(s[1, 1])
    )
    weighted = BCE(torch.tensor([2.0, 0.5]))
    assert float(weighted(logits, target)) == pytest.approx(float(by_hand) / 4, rel=1e-6)
    mask = torch.ones(2, 5, dtype=torch.bool)  # accepted and ignored
    assert float(weighted(logits.half(), target, mask)) == pytest.approx(float(by_hand) / 4, rel=1e-2)
    plain = BCE()
    assert float(plain(torch.zeros(3, 2), torch.ones(3, 2))) == pytest.approx(np.log(2))


def test_balanced_pos_weight_is_negatives_over_positives_and_needs_a_positive() -> None:
    rows = [np.array(r, dtype=np.float32) for r in ([1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 0, 1])]
    # happy 1 positive / 3 negatives → 3; sad 1 / 3 → 3; anger 4 / 0 → 0.
    assert pos_weights("balanced", rows, EMOTIONS).tolist() == [3.0, 3.0, 0.0]
    assert pos_weights(None, rows, EMOTIONS) is None
    assert pos_weights([1, 2, 3], rows, EMOTIONS).tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(SerkitError, match="loss.pos_weight is \\[1, 2\\]"):
        pos_weights([1, 2], rows, EMOTIONS)
    none_sad = [r * np.array([1, 0, 1], dtype=np.float32) for r in rows]
    with pytest.raises(SerkitError, match="class 'sad' has no positive training example") as err:
        pos_weights("balanced", none_sad, EMOTIONS)
    assert "loss.pos_weight" in err.value.hint
    config = resolve(loss={"pos_weight": "balanced"})
    task = {**config["task"], "classes": EMOTIONS}
    loss = build(config, task, rows)
    assert isinstance(loss, BCE) and loss.loss.pos_weight.tolist() == [3.0, 3.0, 0.0]


# --------------------------------------------------------------------------- metrics


def test_weighted_accuracy_and_weighted_f1_by_hand() -> None:
    # 10 utterances.
    # happy: reference 1 1 1 1 0 0 0 0 0 0 (P = 4, N = 6), predicted 1 1 1 0 1 0 0 0 0 0
    #   → TP = 3, FN = 1, FP = 1, TN = 5.
    #   wacc = (TP·N/P + TN) / (2N) = (3·6/4 + 5) / 12 = 9.5 / 12 = 0.791666…
    #   F1(present) = 2·3 / (2·3 + 1 + 1) = 6/8 = 0.75; F1(absent) = 2·5 / (2·5 + 1 + 1) = 10/12
    #   wf1 = (P·0.75 + N·10/12) / 10 = (3 + 5) / 10 = 0.8; acc = (3 + 5) / 10 = 0.8.
    # sad: reference all 0 (P = 0): wacc and wf1 undefined (None), left out of the means; acc = 9/10.
    # anger: reference 1 1 1 1 1 0 0 0 0 0 (P = N = 5), everything predicted present
    #   → TP = 5, FP = 5, TN = FN = 0: wacc = (5·5/5 + 0) / 10 = 0.5;
    #   F1(present) = 10 / 15 = 2/3, F1(absent) = 0: wf1 = (5·2/3 + 0) / 10 = 1/3.
    # means over happy and anger: wacc (0.791666… + 0.5) / 2 = 0.6458333…, wf1 (0.8 + 1/3) / 2 = 0.5666…
    happy_ref, happy_pred = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    sad_ref, sad_pred = [0] * 10, [0] * 9 + [1]
    anger_ref, anger_pred = [1] * 5 + [0] * 5, [1] * 10
    reference = np.array([happy_ref, sad_ref, anger_ref]).T
    predicted = np.array([happy_pred, sad_pred, anger_pred]).T
    m = metrics.multilabel_metrics(reference, predicted, EMOTIONS)
    assert m["wacc_happy"] == pytest.approx(9.5 / 12) and m["wacc_happy"] == pytest.approx(0.7916666)
    assert m["wf1_happy"] == pytest.approx(0.8) and m["acc_happy"] == pytest.approx(0.8)
    assert m["wacc_sad"] is None and m["wf1_sad"] is None and m["acc_sad"] == pytest.approx(0.9)
    assert m["wacc_anger"] == pytest.approx(0.5) and m["wf1_anger"] == pytest.approx(1 / 3)
    assert m["wacc_mean"] == pytest.approx((9.5 / 12 + 0.5) / 2)
    assert m["wf1_mean"] == pytest.approx((0.8 + 1 / 3) / 2)
    for ref, pred, name in ((happy_ref, happy_pred, "happy"), (anger_ref, anger_pred, "anger")):
        assert m[f"wf1_{name}"] == pytest.approx(f1_score(ref, pred, average="weighted"))  # the definition
    assert m["per_class"]["happy"] == {
        "positives": 4, "negatives": 6, "tp": 3, "tn": 5, "fp": 1, "fn": 1,
        "precision": 0.75, "recall": 0.75, "f1": 0.75,
    }  # fmt: skip
    assert m["per_class"]["sad"]["fp"] == 1 and m["per_class"]["sad"]["recall"] == 0.0
    assert m["utterances"] == 10
    assert all(isinstance(v, float) for k, v in m.items() if k.startswith(("wacc", "wf1", "acc")) and v)
    assert "(TP·N/P + TN) / (2N)" in metrics.DEFINITIONS["wacc"] and "Tong" in metrics.DEFINITIONS["wacc"]
    assert "average='weighted'" in metrics.DEFINITIONS["wf1"]
    assert "left out" in metrics.DEFINITIONS["wacc"]
    none = metrics.multilabel_metrics(np.zeros((3, 3)), np.zeros((3, 3)), EMOTIONS)
    assert none["wacc_mean"] is None and none["wf1_mean"] is None
    with pytest.raises(ValueError, match="0/1"):
        metrics.multilabel_metrics(np.full((2, 3), 2), np.zeros((2, 3)), EMOTIONS)
    with pytest.raises(ValueError, match="N × 3"):
        metrics.multilabel_metrics(np.zeros((2, 2)), np.zeros((2, 2)), EMOTIONS)


# --------------------------------------------------------------------------- end to end


def make_multilabel_set(root: Path, name: str, n: int, seed: int) -> None:
    """``root/data/<name>`` with utt2presence (emotion c present → feature dim c raised) and its store."""
    rng = np.random.default_rng(seed)
    meta = {
        "corpus": "mosei",
        "synthetic": True,
        "classes": ["hap", "sad", "ang"],
        "emotion_names": EMOTIONS,
        "protocol": {"split": f"synthetic {name}"},
    }
    data = datadir.DataDir(meta=meta)
    feats, rows = {}, {}
    for i in range(n):
        utt = f"{name}-{i:03d}"
        present = [(i >> c) & 1 for c in range(len(EMOTIONS))]  # every pattern, so both kinds per class
        data.wav_scp[utt] = datadir.WavEntry(f"/nonexistent/{utt}.wav")
        data.utt2spk[utt] = f"spk{i % 2}"
        data.utt2emo[utt] = meta["classes"][i % 3]
        frames = rng.normal(size=(int(rng.integers(5, 20)), 6)).astype(np.float32)
        frames[:, : len(EMOTIONS)] += 2.0 * np.array(present, dtype=np.float32)
        feats[utt], rows[utt] = frames, " ".join(map(str, present))
    path = datadir.save(data, root / "data" / name)
    text = "".join(f"{u} {rows[u]}\n" for u in datadir.sorted_ids(rows))
    (path / "utt2presence").write_text(text, encoding="utf-8")
    store = root / "feats" / f"{name}_synth.h5"
    with StoreWriter(store, "synth", {}, frame_shift=0.01, frame_length=0.025, sample_rate=16000) as writer:
        for utt, frames in feats.items():
            writer.put(utt, frames)


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mosei")
    for name, n, seed in (("train", 64, 0), ("dev", 24, 1), ("test", 24, 2)):
        make_multilabel_set(root, name, n, seed)
    config = copy.deepcopy(TINY_CONFIG)
    config["task"] = {"type": "multilabel"}
    config["loss"] = {"pos_weight": "balanced"}
    config["train"].update(epochs=8, patience=None)
    (root / "conf").mkdir()
    (root / "conf" / "tiny.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    summary = train_in_process(root, "exp/tiny")
    assert summary.metric == "dev_wacc_mean" and summary.best_value > 0.8
    with contextlib.chdir(root):
        scoring.score_exp("exp/tiny", "test")
    return root


def test_a_mean_pool_model_trains_on_bce_and_scores_wacc_and_wf1(recipe: Path) -> None:
    exp = recipe / "exp" / "tiny"
    history = json.loads((exp / "history.json").read_text())
    assert {"dev_wacc_mean", "dev_wf1_mean", "dev_wacc_happy", "dev_acc_anger", "dev_loss"} <= set(history[0])
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    result = json.loads((exp / "scores" / "test.json").read_text())
    protocol = result["protocol"]
    assert protocol["task"] == "multilabel" and protocol["classes"] == EMOTIONS
    assert protocol["targets"] == "utt2presence" and "class_map" not in protocol
    assert set(protocol["definitions"]) == {"wacc", "wf1"}
    assert protocol["selection"] == {"metric": "dev_wacc_mean", "mode": "max", "on": "dev"}
    m = result["metrics"]
    assert m["utterances"] == 24 and m["wacc_mean"] > 0.8 and m["wf1_mean"] > 0.8
    assert m["wacc_mean"] == pytest.approx(np.mean([m[f"wacc_{c}"] for c in EMOTIONS]))
    assert all(m["per_class"][c]["positives"] == 12 for c in EMOTIONS)  # every 3-bit pattern 3 times
    assert (exp / "plots" / "multilabel_test.png").read_bytes()[:4] == PNG
    assert (exp / "plots" / "curves.png").read_bytes()[:4] == PNG
    table = results.table(result)
    assert table.row_count == len([k for k, v in m.items() if isinstance(v, float)]) + len(EMOTIONS)


def test_multilabel_and_classification_scores_of_a_set_get_separate_tables(recipe: Path, monkeypatch) -> None:
    monkeypatch.chdir(recipe)
    multilabel = json.loads(Path("exp/tiny/scores/test.json").read_text())
    # A classification score of the same set, split and corpus (only the task type differs).
    other = copy.deepcopy(multilabel)
    other["config"], other["exp"] = "single", "exp/single"
    other["protocol"].pop("task")
    other["protocol"].pop("targets")
    other["protocol"]["definitions"] = {k: metrics.DEFINITIONS[k] for k in ("wa", "ua", "f1")}
    other["metrics"] = metrics.classification_metrics([0, 1, 2, 0], [0, 1, 1, 0], EMOTIONS)
    Path("exp/single/scores").mkdir(parents=True)
    Path("exp/single/scores/test.json").write_text(json.dumps(other))
    Path("paper.yaml").write_text(yaml.safe_dump({"rows": {"tiny": {"test": {"wacc_mean": 82.5}}}}))
    try:
        text = results.results_markdown(Path("."))
    finally:
        Path("paper.yaml").unlink()
    tables = [line for line in text.splitlines() if line.startswith("| config")]
    assert tables == [  # exp/single before exp/tiny
        "| config | WA | UA | F1 | training | paper row | corpus | exp |",
        "| config | wacc_mean | paper wacc_mean | wf1_mean | wacc_happy | wacc_sad | wacc_anger "
        "| training | paper row | corpus | exp |",
    ]
    m = multilabel["metrics"]
    row = (
        f"| `tiny` | {100 * m['wacc_mean']:.2f} | 82.5 | {100 * m['wf1_mean']:.2f} | "
        f"{100 * m['wacc_happy']:.2f} | {100 * m['wacc_sad']:.2f} | {100 * m['wacc_anger']:.2f} |"
    )
    assert row in text
    protocols = [line for line in text.splitlines() if line.startswith("Protocol: ")]
    assert any(
        "; multi-label happy/sad/anger, present iff > 0 in utt2presence; 24 utterances" in p
        for p in protocols
    )
    assert any("; classes happy/sad/anger; 24 utterances" in p for p in protocols)
    assert "(TP·N/P + TN) / (2N)" in text
    assert "Per class" not in text  # per_class is off by default


def test_a_class_null_in_one_fold_is_null_in_the_aggregate(tmp_path: Path) -> None:
    fold = {"config": "c", "exp": "x", "set": "test", "protocol": {
        "data_dir": "d", "utterances": 4, "checkpoint_epoch": 1, "split": "s", "definitions": {},
    }}  # fmt: skip
    scores = []
    for i, sad in enumerate((0.6, None)):
        scores.append(
            {**fold, "exp": f"exp/cv/fold{i + 1}", "metrics": {"wacc_mean": 0.7 + i / 10, "wacc_sad": sad}}
        )
    parent = scoring.Experiment(tmp_path / "exp" / "cv")
    result = scoring.aggregate_folds(parent, scores)
    assert result["metrics"]["wacc_sad"] is None
    assert result["metrics"]["wacc_mean"]["mean"] == pytest.approx(0.75)
    assert results._value_text("wacc_mean", result["metrics"]["wacc_mean"]) == "75.00 ± 7.07"


# --------------------------------------------------------------------------- per_class: true


def test_per_class_tables_and_confusion_matrices_follow_classification_tables(tmp_path: Path) -> None:
    def score(exp: Path, config: str, reference, predicted, folds=None) -> dict:
        result = {
            "config": config,
            "exp": str(exp),
            "set": "test",
            "metrics": metrics.classification_metrics(reference, predicted, ["neu", "ang"]),
            "protocol": {
                "split": "s", "utterances": len(reference), "classes": ["neu", "ang"], "folds": folds,
                "data_dir": "d",
                "selection": {"metric": "dev_ua", "mode": "max"}, "definitions": {}, "checkpoint_epoch": 1,
            },
        }  # fmt: skip
        exp.joinpath("scores").mkdir(parents=True)
        exp.joinpath("scores", "test.json").write_text(json.dumps(result))
        return result

    # one: 6 neu, 2 ang; everything predicted neu → neu P 75 R 100, ang P 0 R 0.
    score(tmp_path / "exp" / "one", "one", [0] * 6 + [1] * 2, [0] * 8)
    # two folds of 4: fold1 perfect (neu 2, ang 2); fold2 neu 3 ang 1, the ang predicted neu
    # → neu P (100 + 75) / 2 = 87.5, R 100; ang P (100 + 0) / 2 = 50, R (100 + 0) / 2 = 50; n neu 5, ang 3.
    f1 = score(tmp_path / "exp" / "cv" / "fold1", "cv", [0, 0, 1, 1], [0, 0, 1, 1])
    f2 = score(tmp_path / "exp" / "cv" / "fold2", "cv", [0, 0, 0, 1], [0, 0, 0, 0])
    parent = scoring.Experiment(tmp_path / "exp" / "cv")
    scoring.aggregate_folds(parent, [f1, f2])
    (tmp_path / "paper.yaml").write_text("per_class: true\nrows: {}\n")
    text = results.results_markdown(tmp_path)
    lines = text.splitlines()
    assert "| config | neu P / R (n=6) | ang P / R (n=2) |" in lines
    assert "| `one` | 75.0 / 100.0 | 0.0 / 0.0 |" in lines
    # confusion matrices inline (rows reference, columns predicted); a fold aggregate's summed over folds
    at = lines.index("Confusion, test, `one` (rows: reference, columns: predicted):")
    assert lines[at + 2 : at + 6] == [
        "| | neu | ang |",
        "|---|---|---|",
        "| neu | 6 | 0 |",
        "| ang | 2 | 0 |",
    ]
    assert "Plot: `exp/one/plots/confusion_test.png`." in lines
    assert "| config | neu P / R (n=5) | ang P / R (n=3) |" in lines
    assert "| `cv` | 87.5 / 100.0 | 50.0 / 50.0 |" in lines
    at = lines.index("Confusion, test, `cv` (rows: reference, columns: predicted; summed over 2 folds):")
    assert lines[at + 4 : at + 6] == ["| neu | 5 | 0 |", "| ang | 1 | 2 |"]
    assert "Plot: `exp/cv/fold1/plots/confusion_test.png`, `exp/cv/fold2/plots/confusion_test.png`." in lines
    # each per-class table comes right after its protocol's table
    first_table = lines.index("| config | WA | UA | F1 | training | paper row | corpus | exp |")
    assert lines.index("| config | neu P / R (n=6) | ang P / R (n=2) |") > first_table
    (tmp_path / "paper.yaml").write_text("per_class: yes please\nrows: {}\n")
    with pytest.raises(SerkitError, match="per_class is 'yes please'"):
        results.results_markdown(tmp_path)

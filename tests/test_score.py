"""``serkit score`` (scores/<set>.json with its protocol, table, plots), folds, ``serkit results``."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import run_serkit
from test_trainer import CLASSES, TINY_CONFIG, make_task, train_in_process

from serkit import datadir, metrics, results, scoring
from serkit.errors import SerkitError
from serkit.experiment import load_trained
from serkit.store import StoreWriter

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    config = copy.deepcopy(TINY_CONFIG)
    config["train"].update(epochs=8, patience=None)
    config["data"]["streams"][0]["normalize"] = "train"  # statistics the trained model must carry
    root = make_task(tmp_path_factory.mktemp("recipe"), config)
    train_in_process(root, "exp/tiny")
    return root


def test_score_writes_json_with_protocol_a_table_and_plots(recipe: Path) -> None:
    done = run_serkit("score", "exp/tiny", "--set", "test", cwd=recipe)
    assert done.returncode == 0, done.stderr
    exp = recipe / "exp" / "tiny"
    result = json.loads((exp / "scores" / "test.json").read_text())
    protocol = result["protocol"]
    assert protocol["data_dir"] == "data/test" and protocol["utterances"] == 24
    assert protocol["classes"] == CLASSES and protocol["class_map"] == {c: i for i, c in enumerate(CLASSES)}
    assert protocol["split"] == "synthetic test" and protocol["folds"] is None
    assert protocol["corpus"] == {
        "name": "iemocap",
        "synthetic": True,
        "utterances": 24,
        "label": "synthetic mini corpus (`serkit make-mini-corpus`, 24 utterances), not IEMOCAP",
    }
    assert protocol["checkpoint"].endswith("best.pt") and 1 <= protocol["checkpoint_epoch"] <= 8
    assert "mean per-class recall" in protocol["definitions"]["ua"]
    m = result["metrics"]
    assert set(m) >= {"wa", "ua", "f1", "per_class", "confusion"}
    confusion = np.array(m["confusion"])
    assert confusion.sum() == 24 and m["wa"] == pytest.approx(np.trace(confusion) / 24)
    assert m["ua"] == pytest.approx(np.mean(np.diag(confusion) / confusion.sum(1)))
    for line in (
        "wa",
        "ua",
        "f1",
        "ang/hap/neu/sad",
        "24 utterances",
        "mean per-class recall",
        "not IEMOCAP",
    ):
        assert line in " ".join(done.stdout.split()), line
    assert (exp / "plots" / "confusion_test.png").read_bytes()[:4] == PNG
    assert (exp / "plots" / "curves.png").read_bytes()[:4] == PNG


def test_score_a_data_dir_and_reject_an_unknown_set(recipe: Path, monkeypatch) -> None:
    monkeypatch.chdir(recipe)
    result = scoring.score_exp("exp/tiny", "data/dev")
    assert result["set"] == "dev" and result["protocol"]["utterances"] == 24
    shutil.copytree("data/test", "other/place/test")
    elsewhere = scoring.score_exp("exp/tiny", "other/place/test")
    key = elsewhere["set"]
    assert key.startswith("other-place-test-") and Path(f"exp/tiny/scores/{key}.json").is_file()
    assert elsewhere["protocol"]["data_dir_resolved"] == str(Path("other/place/test").resolve())
    assert json.loads(Path("exp/tiny/scores/dev.json").read_text())["set"] == "dev"  # not overwritten
    shutil.rmtree("other")
    os.remove(f"exp/tiny/scores/{key}.json")
    with pytest.raises(SerkitError, match="no set 'eval'"):
        scoring.score_exp("exp/tiny", "eval")


def test_folds_are_aggregated_as_mean_and_sd(recipe: Path, monkeypatch) -> None:
    monkeypatch.chdir(recipe)
    for fold, test_set in (("fold1", "data/test"), ("fold2", "data/dev")):
        shutil.copytree("exp/tiny", f"exp/cv/{fold}", ignore=shutil.ignore_patterns("scores", "plots"))
        config = yaml.safe_load(Path(f"exp/cv/{fold}/config.yaml").read_text())
        config["data"]["sets"]["test"] = test_set
        Path(f"exp/cv/{fold}/config.yaml").write_text(yaml.safe_dump(config))
    result = scoring.score_exp("exp/cv", "test")
    folds = [json.loads(Path(f"exp/cv/{f}/scores/test.json").read_text()) for f in ("fold1", "fold2")]
    for key in ("wa", "ua", "f1"):
        assert result["metrics"][key] == metrics.mean_sd([f["metrics"][key] for f in folds])
    assert result["protocol"]["folds"] == ["fold1", "fold2"] and result["protocol"]["utterances"] == 48
    assert json.loads(Path("exp/cv/scores/test.json").read_text()) == json.loads(json.dumps(result))
    assert "2 folds (mean ± sd)" in results.protocol_line(result)


def test_results_tables_per_protocol_with_the_papers_figures(recipe: Path, monkeypatch) -> None:
    monkeypatch.chdir(recipe)
    if not Path("exp/tiny/scores/test.json").is_file():
        scoring.score_exp("exp/tiny", "test")
    if not Path("exp/cv/scores/test.json").is_file():
        pytest.skip("needs the folds test")
    folds_split = json.loads(Path("exp/cv/scores/test.json").read_text())["protocol"]["split"]
    paper = {
        "paper": "A synthetic paper",
        "rows": {
            "tiny": {"label": "Table 1, mean pool", "test": {"ua": 68.49, "wa": 70.1}},
            "dual": {"label": "Table 2, dual BiLSTM", "test": {"ua": 71.0}},
        },
    }
    Path("paper.yaml").write_text(yaml.safe_dump(paper))
    Path("RESULTS.md").write_text(
        f"# Mine\n\nhand notes\n\n{results.BEGIN}\nold\n{results.END}\n\nmore notes\n"
    )
    assert results.write_results(".") == Path("RESULTS.md")
    text = Path("RESULTS.md").read_text()
    assert text.startswith("# Mine\n\nhand notes") and text.rstrip().endswith("more notes")
    assert "\nold\n" not in text
    tables = [line for line in text.splitlines() if line.startswith("| config")]
    # Single splits first (dev, scored as a data dir above; test), then the 2-fold protocol.
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert [h.split(" (")[0] for h in headings[:3]] == [
        "### dev: synthetic dev",
        "### test: synthetic test",
        f"### test: {folds_split}",
    ]
    mini = "synthetic mini corpus (`serkit make-mini-corpus`, 24 utterances), not IEMOCAP"
    assert f"Corpus: {mini}." in text
    protocols = [line for line in text.splitlines() if line.startswith("Protocol: ")]
    assert len(protocols) == 3 and all(line.startswith(f"Protocol: {mini};") for line in protocols)
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows and all(f"| {mini} |" in row for row in rows)
    header = "| config | WA | paper WA | UA | paper UA | F1 | training | paper row | corpus | exp |"
    assert tables[1] == tables[2] == header
    assert (
        tables[0] == "| config | WA | UA | F1 | training | paper row | corpus | exp |"
    )  # the paper gives no dev figures
    tiny = json.loads(Path("exp/tiny/scores/test.json").read_text())["metrics"]
    row = f"| `tiny` | {100 * tiny['wa']:.2f} | 70.1 | {100 * tiny['ua']:.2f} | 68.49 |"
    assert results.write_results(".", "exp/RESULTS.md") == Path("exp/RESULTS.md")
    assert Path("exp/RESULTS.md").read_text() == text  # the same scores give the committed file
    assert row in text and "`exp/tiny` |" in text
    assert "± " in text and "`exp/cv` |" in text and "`exp/cv/fold1`" not in text
    assert "- `dual`: Table 2, dual BiLSTM" in text
    assert "24 utterances" in text and "mean per-class recall" in text


def test_a_results_write_that_dies_midway_leaves_the_old_file_whole(tmp_path: Path, monkeypatch) -> None:
    """exp/RESULTS.md is the next run's template: a write cut short (here the text cannot be encoded
    whole) leaves the previous file, never a truncated one."""
    monkeypatch.chdir(tmp_path)
    Path("exp").mkdir()
    old = f"# Results: mine\n\n{results.BEGIN}\nold\n{results.END}\n"
    Path("exp/RESULTS.md").write_text(old)
    monkeypatch.setattr(results, "results_markdown", lambda recipe_dir: "new \ud800")
    with pytest.raises(UnicodeEncodeError):
        results.write_results(".", "exp/RESULTS.md")
    assert Path("exp/RESULTS.md").read_text() == old


def test_frame_level_regression_trains_on_ccc_and_scores_traces(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name, count in (("train", 12), ("dev", 4), ("test", 4)):
        data = datadir.DataDir(meta={"corpus": "sewa", "synthetic": True})
        feats, labels = {}, {}
        for i in range(count):
            utt = f"{name}{i:02d}"
            data.wav_scp[utt] = datadir.WavEntry(f"/x/{utt}.wav")
            frames = rng.normal(size=(int(rng.integers(30, 60)), 4)).astype(np.float32)
            feats[utt] = frames
            labels[utt] = np.stack([frames[:, 0] + 0.3 * frames[:, 1], np.tanh(frames[:, 2])], 1)
        path = datadir.save(data, tmp_path / "data" / name)
        datadir.write_labels(path / "labels.h5", labels, 10.0, ["arousal", "valence"])
        with StoreWriter(tmp_path / "feats" / f"{name}.h5", "t", {}, frame_shift=0.1, frame_length=0.1,
                         sample_rate=16000) as writer:  # fmt: skip
            for utt, frames in feats.items():
                writer.put(utt, frames)
    config = {
        "model": {"name": "mean_pool", "hidden": [16]},
        "task": {"type": "regression", "level": "frame"},
        "data": {
            "sets": {"train": "data/train", "dev": "data/dev", "test": "data/test"},
            "chunk_frames": 20,
            "streams": [{"name": "acoustic", "store": "feats/{set}.h5"}],
        },
        "loss": {"dim_weights": [1.0, 0.5]},
        "optim": {"lr": 0.01},
        "train": {"epochs": 8, "batch_size": 4, "patience": 5},
    }
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "tiny.yaml").write_text(yaml.safe_dump(config))
    summary = train_in_process(tmp_path, "exp/ccc")
    assert summary.metric == "dev_ccc_mean" and summary.best_value > 0.7
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = scoring.score_exp("exp/ccc", "test")
        results.write_results(".")
    finally:
        os.chdir(cwd)
    m = result["metrics"]
    assert m["ccc_mean"] == pytest.approx((m["ccc_arousal"] + m["ccc_valence"]) / 2)
    assert m["ccc_per_recording_arousal"] != m["ccc_arousal"] and m["utterances"] == 4
    assert result["protocol"]["dims"] == ["arousal", "valence"] and result["protocol"]["level"] == "frame"
    assert (tmp_path / "exp" / "ccc" / "plots" / "ccc_test.png").read_bytes()[:4] == PNG
    traces = sorted(p.name for p in (tmp_path / "exp" / "ccc" / "plots" / "traces_test").iterdir())
    assert traces == [f"{u}.png" for u in datadir.load(tmp_path / "data" / "test").utts]  # one a recording
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| config | ccc_arousal | ccc_valence | ccc_mean | training | paper row | corpus | exp |" in text
    epoch = result["protocol"]["checkpoint_epoch"]
    assert f"| adam 0.01, batch 4 × 20 frames, 8 epochs (epoch {epoch} scored) |" in text
    config_file = tmp_path / "exp" / "ccc" / "config.yaml"
    trained = yaml.safe_load(config_file.read_text())
    trained["optim"].update(name="sgd", momentum=0.9)  # a momentum is part of how the row trained
    config_file.write_text(yaml.safe_dump(trained))
    assert results.training_summary(tmp_path / "exp" / "ccc", result).startswith(
        "sgd 0.01 (momentum 0.9), batch 4"
    )
    for amp, device, said in [("bf16", "cpu", ", bfloat16 autocast"), (True, "cuda", ", float16 autocast")]:
        trained["train"].update(amp=amp, device=device)  # a precision other than float32 is said
        config_file.write_text(yaml.safe_dump(trained))
        summary = results.training_summary(config_file.parent, result)
        assert f"8 epochs{said} (epoch {epoch} scored)" in summary


def test_the_corpus_label_says_what_the_meta_json_says_and_nothing_more() -> None:
    assert scoring.corpus({}, 10)["label"] == "corpus unknown (meta.json has no corpus)"
    assert "does not say which" in scoring.corpus({"corpus": "mosei"}, 10)["label"]
    own = scoring.corpus({"corpus": "csv", "synthetic": None}, 10)["label"]  # prepare-data csv, real audio
    assert own == "a corpus listed in a CSV (prepare-data csv) (10 utterances)"
    counts = {"total": {"total": 812}}
    mini = scoring.corpus({"corpus": "sewa", "synthetic": True, "corpus_counts": counts}, 10)
    assert mini["label"] == "synthetic mini corpus (`serkit make-mini-corpus`, 812 utterances), not SEWA"
    meta = {"corpus": "iemocap", "synthetic": False, "corpus_counts": {"total": {"total": 5531}}}
    real = scoring.corpus({**meta, "published_match": True}, 1241)
    assert real == {
        "name": "iemocap",
        "synthetic": False,
        "utterances": 5531,
        "label": "IEMOCAP (5,531 utterances, the published counts)",
    }


def test_a_trained_model_loads_with_what_applying_it_needs(recipe: Path, monkeypatch) -> None:
    monkeypatch.chdir(recipe)
    trained = load_trained("exp/tiny", "cpu")
    assert trained.task["classes"] == CLASSES and not trained.model.training
    assert trained.config["name"] == "tiny" and trained.input_dims == {"acoustic": 8}
    assert trained.checkpoint_path == Path("exp/tiny/checkpoints/best.pt") and trained.epoch >= 1
    acoustic = trained.normalization["acoustic"]
    assert acoustic["normalize"] == "train" and acoustic["mean"].shape == acoustic["std"].shape == (8,)
    assert trained.embeddings == {}  # no words stream


def test_results_table_of_embedding_spaces_mean_and_sd_over_folds(tmp_path: Path) -> None:
    """``exp/emb/[fold/]align_<name>/diagnostics.json`` → one row per space, named by paper.yaml."""
    for fold, p1 in (("fold1", 0.2), ("fold2", 0.4)):
        for name, spearman in (("align_pw", 0.9), ("align_s2v", 0.1)):
            out = tmp_path / "exp" / "emb" / fold / name
            out.mkdir(parents=True)
            diag = {"shared_words": 125, "chance_p_at_1": 0.008, "p_at_1": p1, "spearman_cosine": spearman}
            (out / "diagnostics.json").write_text(json.dumps(diag))
    lines = results.embedding_markdown(tmp_path, {"pw": "pseudo-word skip-gram"})
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| space")]
    assert rows[0].startswith("| pseudo-word skip-gram | 125 | — | 0.008 | 0.300 ± 0.141 | — |")
    assert rows[1].startswith("| `align_s2v` | 125 | — | 0.008 | 0.300 ± 0.141 |") and "| 0.100 |" in rows[1]
    assert rows[0].endswith("| 2 | `exp/emb/[fold/]align_pw` |")
    assert results.embedding_markdown(tmp_path / "nothing", {}) == []

"""Embedding diagnostics: known answers for space and instance diagnostics, align-embeddings'
metrics, and the eval-embeddings command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_data_dir, run_serkit
from scipy.stats import spearmanr

from serkit.cli import main
from serkit.embeddings import alignment as al
from serkit.embeddings import diagnostics as dg
from serkit.errors import SerkitError
from serkit.store import StoreWriter
from serkit.text import embeddings_io as eio
from serkit.text.word_vectors import WordVectors


def glove(n: int = 300) -> tuple[list[str], np.ndarray]:
    """GloVe 6B 50-d's ``n`` most frequent words (punctuation tokens dropped)."""
    kv = eio.read_embeddings(eio.GLOVE6B50, limit=int(1.3 * n))
    return list(kv.index_to_key[:n]), np.asarray(kv.vectors[:n])


def rotation(dim: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return q


def test_spearman_matches_scipy_with_ties() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(500), rng.standard_normal(500)
    a[:200] = np.round(a[:200])
    b = b + a
    assert dg.spearman(a, b) == pytest.approx(spearmanr(a, b)[0], abs=1e-12)
    assert dg.spearman(np.ones(10), b[:10]) is None


def test_identical_spaces_score_one_and_chance_is_one_over_shared() -> None:
    x = np.random.default_rng(0).standard_normal((300, 50))
    words = [f"w{i}" for i in range(300)]
    d = dg.space_diagnostics(words, x, words, x)
    assert d["shared_words"] == 300 and d["chance_p_at_1"] == pytest.approx(1 / 300)
    assert d["spearman_cosine"] == pytest.approx(1.0) and d["spearman_pairs"] == 300 * 299 // 2
    assert d["supervised_p_at_1"] == pytest.approx(1.0)
    # on real geometry CSLS may prefer a near twin with fewer close neighbours ("3" → "2": cosine 0.986)
    words, x = glove(300)
    d = dg.space_diagnostics(words, x, words, x)
    assert d["spearman_cosine"] == pytest.approx(1.0) and d["supervised_p_at_1"] >= 0.99
    # the target lacks 50 of the words and has 20 of its own (centred on other means, retrieved among)
    tgt_words = words[50:] + [f"extra{i}" for i in range(20)]
    tgt = np.concatenate([x[50:], np.random.default_rng(1).standard_normal((20, 50))])
    d = dg.space_diagnostics(words, x, tgt_words, tgt)
    assert d["shared_words"] == 250 and d["chance_p_at_1"] == pytest.approx(1 / 250)
    assert d["spearman_cosine"] == pytest.approx(1.0) and d["supervised_p_at_1"] >= 0.98


def test_a_random_rotation_keeps_everything_but_the_vectors() -> None:
    x = np.random.default_rng(1).standard_normal((300, 50))
    words = [f"w{i}" for i in range(300)]
    order = np.random.default_rng(2).permutation(300)
    rotated = (x @ rotation(50, 3).T)[order]
    d = dg.space_diagnostics(words, x, [words[i] for i in order], rotated, seed=4)
    assert d["spearman_cosine"] == pytest.approx(1.0, abs=1e-6)
    assert d["supervised_p_at_1"] == pytest.approx(1.0)
    words, x = glove(300)
    rotated = (x @ rotation(50, 3).T)[order]
    d = dg.space_diagnostics(words, x, [words[i] for i in order], rotated, seed=4)
    assert d["spearman_cosine"] == pytest.approx(1.0, abs=1e-6) and d["supervised_p_at_1"] >= 0.99
    # noise lowers both, and the seed fixes the halves
    noisy = rotated + 0.5 * x.std() * np.random.default_rng(5).standard_normal(rotated.shape)
    first = dg.space_diagnostics(words, x, [words[i] for i in order], noisy, seed=4)
    assert first == dg.space_diagnostics(words, x, [words[i] for i in order], noisy, seed=4)
    assert 0.3 < first["spearman_cosine"] < 0.99 and first["supervised_p_at_1"] < 1.0


def test_independent_random_spaces_are_near_chance() -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(400)]
    d = dg.space_diagnostics(words, rng.standard_normal((400, 50)), words, rng.standard_normal((400, 50)))
    assert abs(d["spearman_cosine"]) < 0.02
    assert d["supervised_p_at_1"] <= 4 * d["chance_p_at_1"]


def test_what_cannot_be_computed_is_none() -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    d = dg.space_diagnostics(words, rng.standard_normal((30, 8)), words, rng.standard_normal((30, 5)))
    assert d["spearman_cosine"] is not None and d["supervised_p_at_1"] is None  # dimensions differ
    d = dg.space_diagnostics(["a", "b", "c"], np.eye(3), ["x", "y"], np.eye(2, 3))
    assert d == {
        "shared_words": 0,
        "chance_p_at_1": None,
        "spearman_cosine": None,
        "spearman_pairs": 0,
        "supervised_p_at_1": None,
    }


def test_many_shared_words_sample_the_pairs(monkeypatch) -> None:
    words, x = glove(300)
    noisy = x + 0.5 * x.std() * np.random.default_rng(1).standard_normal(x.shape)
    exact = dg.space_diagnostics(words, x, words, noisy)["spearman_cosine"]
    monkeypatch.setattr(dg, "MAX_PAIRS", 20_000)
    sampled = dg.space_diagnostics(words, x, words, noisy)
    assert sampled["spearman_pairs"] == 20_000
    assert sampled["spearman_cosine"] == pytest.approx(exact, abs=0.02)


def _instances(seed: int = 0, n: int = 400, types: int = 30, speakers: int = 4, spread: float = 1.0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, types, n)
    ids[0] = types  # a word said once: never a query
    centres = rng.standard_normal((types + 1, 16))
    spk = rng.integers(0, speakers, n)
    accents = rng.standard_normal((speakers, 16))
    x = centres[ids] + spread * rng.standard_normal((n, 16)) + 0.8 * accents[spk]
    return [f"w{i}" for i in ids], x, [f"s{i}" for i in spk]


def _brute_force(words, x, speakers):
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = u @ u.T
    w, s = np.asarray(words), np.asarray(speakers)
    same = w[:, None] == w[None, :]
    upper = np.triu(np.ones_like(same), k=1)
    np.fill_diagonal(sims, -np.inf)
    queries = [i for i in range(len(w)) if same[i].sum() > 1]
    other = [i for i in queries if (same[i] & (s != s[i])).any()]
    masked = np.where(s[None, :] != s[:, None], sims, -np.inf)
    return {
        "same_word_cosine": (u @ u.T)[same & upper].mean(),
        "different_word_cosine": (u @ u.T)[~same & upper].mean(),
        "same_word_p_at_1": np.mean([w[sims[i].argmax()] == w[i] for i in queries]),
        "same_word_p_at_1_other_speaker": np.mean([w[masked[i].argmax()] == w[i] for i in other]),
        "queries": len(queries),
        "queries_other_speaker": len(other),
    }


def test_instance_diagnostics_match_a_brute_force_count() -> None:
    words, x, speakers = _instances()
    d = dg.instance_diagnostics(words, x, speakers)
    expected = _brute_force(words, x, speakers)
    for key, value in expected.items():
        assert d[key] == pytest.approx(value, abs=1e-6), key
    assert (d["instances"], d["word_types"], d["speakers"], d["sampled_queries"]) == (400, 31, 4, False)
    # the speakers' accents help retrieval within a speaker: across speakers it is harder
    assert d["same_word_p_at_1_other_speaker"] < d["same_word_p_at_1"]
    assert d["same_word_cosine"] > d["different_word_cosine"]
    assert "speakers" not in dg.instance_diagnostics(words, x)


def test_instance_queries_are_a_seeded_sample_when_many() -> None:
    words, x, speakers = _instances(n=600, spread=2.0)
    full = dg.instance_diagnostics(words, x, speakers)
    d = dg.instance_diagnostics(words, x, speakers, seed=3, max_queries=300)
    assert d["sampled_queries"] is True and d["queries"] == 300
    assert d == dg.instance_diagnostics(words, x, speakers, seed=3, max_queries=300)
    assert d["same_word_cosine"] == full["same_word_cosine"]  # exact, never sampled
    assert d["same_word_p_at_1"] == pytest.approx(full["same_word_p_at_1"], abs=0.1)
    with pytest.raises(SerkitError, match="3 words but vectors"):
        dg.instance_diagnostics(["a", "b", "c"], np.ones((2, 4)))


def test_align_metrics_hold_the_space_diagnostics() -> None:
    words, x = glove(200)
    config = al.AlignConfig(supervised=True, n_refinement=1)
    metrics = al.align(x @ rotation(50, 1).T, x, words, words, config).metrics
    assert metrics["shared_words"] == 200 and metrics["chance_p_at_1"] == pytest.approx(1 / 200)
    assert metrics["spearman_cosine"] == pytest.approx(1.0, abs=1e-6)
    assert metrics["supervised_p_at_1"] >= 0.99 and metrics["p_at_1"] >= 0.99


def _write_store(path: Path, utts: list[str], rows: dict[str, tuple[list[str], np.ndarray]]) -> Path:
    with StoreWriter(path, "speech2vec", {}, frame_shift=None, frame_length=None, sample_rate=None) as w:
        for utt in utts:
            words, x = rows[utt]
            w.put(utt, x, {"words": words} if words is not None else {})
    return path


def test_eval_embeddings_command(tmp_path: Path) -> None:
    words, x = glove(300)
    eio.save_vectors(WordVectors(words, x @ rotation(50, 2).T), tmp_path / "src.bin")
    eio.save_vectors(WordVectors(words[20:], x[20:]), tmp_path / "tgt.bin")
    align_dir = tmp_path / "align"
    align_dir.mkdir()
    (align_dir / "metrics.json").write_text(
        json.dumps({"p_at_1": 0.5, "p_at_5": 0.75, "mean_cosine": 0.4, "init": "similarity", "x": 1})
    )
    data = make_data_dir(tmp_path, n=4)
    utts = sorted(u.split()[0] for u in (data / "utt2spk").read_text().splitlines())
    rng = np.random.default_rng(0)
    rows = {u: (["hello", "there", "world"], rng.standard_normal((3, 8))) for u in utts}
    rows[utts[0]] = ([], np.zeros((0, 8)))  # an utterance without words
    rows[utts[1]] = (["hello"], rng.standard_normal((1, 8)))
    store = _write_store(tmp_path / "inst.h5", utts, rows)
    out = tmp_path / "eval" / "diag.json"
    args = ["eval-embeddings", str(tmp_path / "src.bin"), str(tmp_path / "tgt.bin"), "--out", str(out)]
    more = ["--aligned", str(align_dir), "--instances", str(store), "--data", str(data)]
    result = run_serkit(*args, *more)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["shared_words"] == 280 and report["supervised_p_at_1"] >= 0.98
    assert report["spearman_cosine"] == pytest.approx(1.0, abs=1e-6)
    assert (report["p_at_1"], report["p_at_5"], report["init"]) == (0.5, 0.75, "similarity")
    assert "x" not in report and report["aligned"] == str(align_dir)
    assert (report["instances"], report["word_types"], report["speakers"]) == (7, 3, 2)
    assert report["queries"] == 7 and report["sampled_queries"] is False  # every word said twice or more
    assert "same_word_p_at_1_other_speaker" in report
    assert "supervised_p_at_1" in result.stderr and "same_word_p_at_1" in result.stderr  # the table
    assert not list(out.parent.glob(".*tmp*"))


def test_eval_embeddings_errors_are_one_line(tmp_path: Path, capsys) -> None:
    words, x = glove(50)
    src, other = tmp_path / "src.bin", tmp_path / "other.bin"
    eio.save_vectors(WordVectors(words, x), src)
    eio.save_vectors(WordVectors([w + "_" for w in words], x), other)
    out = str(tmp_path / "d.json")
    result = run_serkit("eval-embeddings", str(tmp_path / "missing.bin"), str(src), "--out", out)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "missing.bin" in lines[0]

    def fails(*args: str) -> str:
        capsys.readouterr()
        assert main(["eval-embeddings", str(src), *args, "--out", out]) == 2
        err = capsys.readouterr().err
        assert err.count("error:") == 1 and "Traceback" not in err
        return err

    assert "share no word" in fails(str(other))
    assert "no metrics.json" in fails(str(src), "--aligned", str(tmp_path))
    assert "--data goes with --instances" in fails(str(src), "--data", str(tmp_path))
    store = _write_store(tmp_path / "bad.h5", ["u1"], {"u1": (None, np.ones((2, 4)))})
    assert "no 'words' attribute" in fails(str(src), "--instances", str(store))
    data = make_data_dir(tmp_path, n=2)
    rows = {"u1": (["a", "b"], np.ones((2, 4)))}
    store = _write_store(tmp_path / "other.h5", ["u1"], rows)
    assert "not in utt2spk" in fails(str(src), "--instances", str(store), "--data", str(data))
    assert not (tmp_path / "d.json").exists()

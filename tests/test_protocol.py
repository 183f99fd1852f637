"""``serkit protocol DATA_ROOT folds|score|sets``: what the recipes loop over, read from meta.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_serkit
from fixtures.corpus_iemocap import build_iemocap
from fixtures.corpus_sewa import build_sewa

from serkit import protocol
from serkit.cli import main
from serkit.corpora import iemocap, sewa
from serkit.errors import SerkitError


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_iemocap(tmp_path_factory.mktemp("iemocap"))


def _print(capsys, *args: str) -> str:
    assert main(["protocol", *args]) == 0
    return capsys.readouterr().out


def test_fixed_split_and_loso_folds(corpus: Path, tmp_path: Path, capsys) -> None:
    iemocap.prepare(corpus, tmp_path / "fixed")
    assert _print(capsys, str(tmp_path / "fixed"), "folds") == "-\n"
    assert _print(capsys, str(tmp_path / "fixed"), "score") == "test\n"
    assert _print(capsys, str(tmp_path / "fixed"), "sets") == "train dev test\n"
    iemocap.prepare(corpus, tmp_path / "loso", folds="loso")
    assert _print(capsys, str(tmp_path / "loso"), "folds") == "fold1 fold2 fold3 fold4 fold5\n"
    assert _print(capsys, str(tmp_path / "loso"), "dev") == "dev\n"


def test_sewa_scores_dev_and_test_only_with_test_labels(tmp_path: Path, capsys) -> None:
    sewa.prepare(build_sewa(tmp_path / "a"), tmp_path / "with")
    sewa.prepare(build_sewa(tmp_path / "b", test_labels=False), tmp_path / "without")
    assert _print(capsys, str(tmp_path / "with"), "score") == "dev test\n"
    assert _print(capsys, str(tmp_path / "without"), "score") == "dev\n"


def test_missing_old_or_disagreeing_meta_is_one_line(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_serkit("protocol", str(tmp_path / "empty"), "folds")
    assert result.returncode == 2 and "no data dir with a meta.json" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    iemocap.prepare(corpus, tmp_path / "data")
    meta = tmp_path / "data" / "dev" / "meta.json"
    content = json.loads(meta.read_text())
    meta.write_text(json.dumps({**content, "protocol": {**content["protocol"], "score": ["dev"]}}))
    with pytest.raises(SerkitError, match="protocol 'score' is") as caught:
        protocol.lookup(tmp_path / "data", "score")
    assert "prepare-data" in caught.value.hint
    meta.write_text(json.dumps({**content, "protocol": {"class_map": "4-class"}}))
    with pytest.raises(SerkitError, match="older serkit"):
        protocol.lookup(tmp_path / "data", "folds")

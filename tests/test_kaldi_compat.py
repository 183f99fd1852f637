"""Kaldi's own validate_data_dir.sh and lhotse's Kaldi import accept every data dir serkit writes.

``tests/kaldi/utils/`` holds Kaldi's scripts unchanged (Apache-2.0, see their headers and
``tests/kaldi/COPYING``). The dirs: the three tiny mini corpora, and the real-layout fixtures whose
speakers interleave (IEMOCAP sessions with ``Ses0NF_`` and ``Ses0NM_`` dialogs; MOSEI videos ``25522``
and ``255224`` in one set), each through prepare-data, combine-data, subset-data and split-data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fixtures.corpus_iemocap import build_iemocap
from fixtures.corpus_mosei import build_mosei
from fixtures.corpus_sewa import build_sewa

from serkit import audio, datadir, validate
from serkit.cli import main

KALDI = Path(__file__).parent / "kaldi"
SETS = ("train", "dev", "test")

pytestmark = pytest.mark.skipif(shutil.which("perl") is None, reason="Kaldi's scripts need perl")


def _locale_shim(folder: Path) -> Path:
    """A ``locale`` that lists glibc's ``C.utf8`` as ``C.UTF-8``, the name Kaldi's script looks for.

    Without it the script falls back to en_US.UTF-8, which this machine lacks, and then counts every
    non-ASCII letter (SEWA's German umlauts) as non-printable.
    """
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "locale"
    shim.write_text('#!/bin/sh\ncommand -p locale "$@" | sed "s/^C\\.utf8$/C.UTF-8/"\n')
    shim.chmod(0o755)
    return folder


def kaldi_validate(data_dir: Path, shim: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "utils/validate_data_dir.sh", "--no-feats", str(data_dir)],
        cwd=KALDI,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"},
        check=False,
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    """Every data dir serkit writes for the six corpora: ``{name: path}``."""
    root = tmp_path_factory.mktemp("kaldi")
    corpora = {
        "fixture-iemocap": ("iemocap", build_iemocap(root / "src-iemocap"), []),
        "fixture-mosei": ("mosei", build_mosei(root / "src-mosei"), []),
        "fixture-sewa": ("sewa", build_sewa(root / "src-sewa", test_labels=False), []),
    }
    for layout in ("iemocap", "mosei", "sewa"):
        src = root / f"mini-{layout}"
        assert main(["make-mini-corpus", "--layout", layout, "--size", "tiny", "--nj", "2", str(src)]) == 0
        extra = ["--folds", str(src / "folds.txt")] if layout == "mosei" else []
        corpora[f"mini-{layout}"] = (layout, src, extra)
    dirs = {}
    for name, (layout, src, extra) in corpora.items():
        out = root / name
        assert main(["prepare-data", layout, str(src), str(out), *extra]) == 0, name
        parts = [str(out / s) for s in SETS if (out / s).is_dir()]
        assert main(["combine-data", str(out / "all"), *parts]) == 0
        assert main(["split-data", str(out / "all"), "2"]) == 0
        first_speaker = next(iter(datadir.load(out / "all").spk2utt()))
        (root / f"{name}.spk").write_text(first_speaker + "\n")
        assert (
            main(["subset-data", str(out / "all"), str(out / "one"), "--spk-list", str(root / f"{name}.spk")])
            == 0
        )
        for sub in [*SETS, "all", "all/split2/1", "all/split2/2", "one"]:
            if (out / sub).is_dir():
                dirs[f"{name}/{sub}"] = out / sub
    assert (
        main(["prepare-data", "iemocap", str(root / "mini-iemocap"), str(root / "loso"), "--folds", "loso"])
        == 0
    )
    for fold in sorted((root / "loso").iterdir()):
        for s in SETS:
            dirs[f"mini-iemocap-loso/{fold.name}/{s}"] = fold / s
    return dirs


def test_kaldi_validate_data_dir_accepts_every_dir(written: dict[str, Path], tmp_path: Path) -> None:
    shim = _locale_shim(tmp_path / "bin")
    assert len(written) > 40
    segmented = [name for name, path in written.items() if (path / "segments").is_file()]
    assert any(name.startswith("fixture-mosei") for name in segmented)
    assert any(name.startswith("mini-mosei") for name in segmented)
    for name, path in written.items():
        result = kaldi_validate(path, shim)
        assert result.returncode == 0 and "Successfully validated" in result.stdout, (name, result.stdout)
        assert [p.format() for p in validate.validate(path) if p.severity == "error"] == [], name


def test_the_real_layouts_interleave_speakers(written: dict[str, Path]) -> None:
    iemocap = datadir.load(written["fixture-iemocap/test"])
    dialogs = {utt.split("-", 1)[1][:6] for utt in iemocap.utts}
    assert dialogs == {"Ses05F", "Ses05M"} and set(iemocap.utt2spk.values()) == {"Ses05F", "Ses05M"}
    mosei = datadir.load(written["fixture-mosei/train"])
    assert {"25522", "255224"} <= set(mosei.utt2spk.values())


def test_kaldi_rejects_the_old_ids(written: dict[str, Path], tmp_path: Path) -> None:
    """The control: the same IEMOCAP dir with the ids of serkit before (dialog first) fails both checks."""
    old = Path(shutil.copytree(written["fixture-iemocap/test"], tmp_path / "old"))
    for name in (
        "wav.scp",
        "utt2spk",
        "utt2sess",
        "utt2emo",
        "utt2dur",
        "reco2dur",
        "text",
        "words.ctm",
        "utt2vad",
    ):
        rows = [line.split(" ", 1) for line in (old / name).read_text().splitlines()]
        rows = sorted(([utt.split("-", 1)[1], rest] for utt, rest in rows), key=lambda r: r[0].encode())
        (old / name).write_text("".join(f"{u} {rest}\n" for u, rest in rows))
    spk2utt = [line.split() for line in (old / "spk2utt").read_text().splitlines()]
    (old / "spk2utt").write_text(
        "".join(f"{s} {' '.join(u.split('-', 1)[1] for u in us)}\n" for s, *us in spk2utt)
    )
    result = kaldi_validate(old, _locale_shim(tmp_path / "bin"))
    assert result.returncode != 0 or "Successfully" not in result.stdout
    assert "not in sorted order when sorted first on speaker-id" in result.stdout
    problems = "\n".join(p.format() for p in validate.validate(old))
    assert "not sorted by speaker" in problems and "does not begin with 'Ses05" in problems


def test_lhotse_kaldi_import_gives_the_audio_durations(written: dict[str, Path], tmp_path: Path) -> None:
    lhotse = pytest.importorskip(
        "lhotse.kaldi", reason="lhotse is not installed (make install puts it in, without touching torch)"
    )
    from lhotse import CutSet

    for name in ("fixture-mosei/train", "fixture-mosei/test", "mini-mosei/all"):
        path = written[name]
        data = datadir.load(path)
        recordings, supervisions, _ = lhotse.load_kaldi_data_dir(path, sampling_rate=data.meta["sample_rate"])
        cuts = CutSet.from_manifests(recordings=recordings, supervisions=supervisions).trim_to_supervisions(
            keep_overlapping=False
        )
        assert sorted(c.supervisions[0].id for c in cuts) == data.utts, name
        for cut in cuts:
            utt = cut.supervisions[0].id
            samples, rate = audio.read_audio(data.wav_scp[utt])
            assert rate == cut.sampling_rate
            assert cut.num_samples == len(samples), (name, utt)
            assert cut.duration == pytest.approx(data.utt2dur[utt], abs=1 / rate)
            assert cut.load_audio().shape[-1] == len(samples), (name, utt)
        for rec in recordings:
            assert rec.num_samples == audio.read_audio(rec.sources[0].source)[0].shape[0], (name, rec.id)

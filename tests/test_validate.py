"""validate-data reports every planted problem with file:line and a fix."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_serkit

from serkit import validate


def test_clean_data_dir_validates(data_dir: Path) -> None:
    assert [p for p in validate.validate(data_dir) if p.severity == "error"] == []
    result = run_serkit("validate-data", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "ok:" in result.stderr


def _replace_line(path: Path, number: int, new: str | None) -> None:
    lines = path.read_text().splitlines()
    if new is None:
        del lines[number - 1]
    else:
        lines[number - 1] = new
    path.write_text("\n".join(lines) + "\n")


def test_six_planted_errors_are_all_reported(data_dir: Path) -> None:
    utts = [line.split()[0] for line in (data_dir / "wav.scp").read_text().splitlines()]
    # 1. an unknown label (utt2emo line 2)
    _replace_line(data_dir / "utt2emo", 2, f"{utts[1]} bored")
    # 2. a missing audio file (wav.scp line 3)
    _replace_line(data_dir / "wav.scp", 3, f"{utts[2]} {data_dir}/nowhere.wav")
    # 3. an utterance without a speaker (utt2spk line 4 removed)
    _replace_line(data_dir / "utt2spk", 4, None)
    # 4. a ctm word past the end of its utterance (words.ctm line 1)
    _replace_line(data_dir / "words.ctm", 1, f"{utts[0]} 1 0.10 9.00 hello")
    # 5. a duplicated id in text (line 6 repeats line 5's id)
    lines = (data_dir / "text").read_text().splitlines()
    lines[5] = lines[4].split()[0] + " again"
    (data_dir / "text").write_text("\n".join(lines) + "\n")
    # 6. a non-UTF-8 byte in utt2sess (line 1)
    raw = (data_dir / "utt2sess").read_bytes().split(b"\n")
    raw[0] = raw[0] + b"\xff"
    (data_dir / "utt2sess").write_bytes(b"\n".join(raw))

    problems = [p for p in validate.validate(data_dir) if p.severity == "error"]
    found = {(Path(p.path).name, p.line, p.message.split(" ")[0]) for p in problems}
    report = "\n".join(p.format() for p in problems)
    assert ("utt2emo", 2, "label") in found, report
    assert any(
        name == "wav.scp" and line == 3 and "not found" in m
        for name, line, m in ((Path(p.path).name, p.line, p.message) for p in problems)
    ), report
    assert any(Path(p.path).name == "wav.scp" and p.line == 4 and "utt2spk" in p.message for p in problems), (
        report
    )
    assert any(
        Path(p.path).name == "words.ctm" and p.line == 1 and "ends at" in p.message for p in problems
    ), report
    assert any(Path(p.path).name == "text" and p.line == 6 and "duplicate" in p.message for p in problems), (
        report
    )
    assert any(Path(p.path).name == "utt2sess" and p.line == 1 and "UTF-8" in p.message for p in problems), (
        report
    )
    assert all(p.hint for p in problems)

    result = run_serkit("validate-data", str(data_dir))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for where in ("utt2emo:2", "wav.scp:3", "wav.scp:4", "words.ctm:1", "text:6", "utt2sess:1"):
        assert where in result.stderr, (where, result.stderr)


def test_spk2utt_mismatch_and_short_audio(data_dir: Path) -> None:
    lines = (data_dir / "spk2utt").read_text().splitlines()
    lines[0] = " ".join(lines[0].split()[:-1])
    (data_dir / "spk2utt").write_text("\n".join(lines) + "\n")
    problems = validate.validate(data_dir, min_duration=1.3)
    assert any("spk2utt" in p.path and p.line == 1 for p in problems)
    short = [p for p in problems if "shorter than" in p.message]
    assert len(short) == 3  # durations 1.0, 1.1, 1.2 s


def test_missing_alignment_is_a_warning_only(data_dir: Path) -> None:
    first = (data_dir / "words.ctm").read_text().splitlines()[0].split()[0]
    keep = [line for line in (data_dir / "words.ctm").read_text().splitlines() if not line.startswith(first)]
    (data_dir / "words.ctm").write_text("\n".join(keep) + "\n")
    problems = validate.validate(data_dir)
    assert [p.severity for p in problems] == ["warning"]


def _rename_speaker(data_dir: Path, old: str, new: str) -> None:
    """Rename a speaker in utt2spk, spk2utt and spk2gender, leaving the utterance ids alone."""
    lines = [line.split() for line in (data_dir / "utt2spk").read_text().splitlines()]
    (data_dir / "utt2spk").write_text("".join(f"{u} {new if s == old else s}\n" for u, s in lines))
    for name in ("spk2utt", "spk2gender"):
        rows = [line.split(" ", 1) for line in (data_dir / name).read_text().splitlines()]
        (data_dir / name).write_text("".join(f"{new if k == old else k} {rest}\n" for k, rest in rows))


def _messages(path: Path) -> list[str]:
    return [p.format() for p in validate.validate(path) if p.severity == "error"]


def test_kaldi_speaker_sort_rule_and_the_prefix_rule(data_dir: Path) -> None:
    # the old IEMOCAP ids: the dialog first, so Ses05F_..._M000 (speaker Ses05M) sorts before Ses05M_..._F000
    _rename_speaker(data_dir, "spk0", "zz")
    problems = _messages(data_dir)
    assert any("utt2spk:4: not sorted by speaker" in p and "prefixes of utterance ids" in p for p in problems)
    assert any("utt2spk:1: utterance id 'spk0-utt000' does not begin with 'zz-'" in p for p in problems)


def test_kaldi_file_rules(data_dir: Path) -> None:
    utts = [line.split()[0] for line in (data_dir / "utt2spk").read_text().splitlines()]
    _replace_line(data_dir / "spk2gender", 1, "spk0 x")
    _replace_line(data_dir / "text", 2, f"{utts[1]} hello <s> there")
    _replace_line(data_dir / "text", 3, f"{utts[2]} hello\u00a0there")
    _replace_line(data_dir / "utt2dur", 4, f"{utts[3]} 9.5")
    _replace_line(data_dir / "reco2dur", 5, None)
    (data_dir / "utt2sess").write_bytes((data_dir / "utt2sess").read_bytes().rstrip(b"\n"))
    meta = json.loads((data_dir / "meta.json").read_text())
    (data_dir / "meta.json").write_text(json.dumps({**meta, "sample_rate": 8000}))
    problems = "\n".join(_messages(data_dir))
    assert "spk2gender:1: value 'x' is not one of ['f', 'm']" in problems
    assert "text:2: the line holds the reserved symbol '<s>'" in problems
    assert "text:3: the line holds a white-space character" in problems
    assert f"utt2dur:4: {utts[3]}: utt2dur says 9.5 s" in problems
    assert f"reco2dur: utterance '{utts[4]}' has no line" in problems
    assert "utt2sess:6: the last line has no newline" in problems
    assert "audio is 16000 Hz, meta.json says sample_rate 8000" in problems


def test_segments_wav_scp_and_reco2dur_must_agree(data_dir: Path) -> None:
    lines = (data_dir / "wav.scp").read_text().splitlines()
    utts = [line.split()[0] for line in lines]
    (data_dir / "wav.scp").write_text("".join(f"r{k} {line.split()[1]}\n" for k, line in enumerate(lines)))
    (data_dir / "segments").write_text("".join(f"{u} r{k} 0 0.5\n" for k, u in enumerate(utts[:-1])))
    (data_dir / "reco2dur").write_text("".join(f"r{k} 1\n" for k in range(len(utts))))
    problems = "\n".join(_messages(data_dir))
    assert f"segments: id {utts[-1]!r} has no record in utt2spk" not in problems
    assert f"utt2spk:6: id {utts[-1]!r} is not in segments" in problems
    assert "wav.scp:6: recording 'r5' is used by no segment" in problems
    assert "reco2dur:6: recording 'r5' is not in the data dir" in problems
    assert "reco2dur:1: r0: reco2dur says 1.0 s, the audio is 1.000000 s" not in problems
    assert "reco2dur:2: r1: reco2dur says 1.0 s" in problems


def test_bad_ids_and_old_cut_lines(tmp_path: Path, data_dir: Path) -> None:
    utts = [line.split()[0] for line in (data_dir / "utt2spk").read_text().splitlines()]
    _rename_speaker(data_dir, "spk1", "..")
    problems = "\n".join(_messages(data_dir))
    assert "utt2spk:4: speaker id '..' is '.' or '..'" in problems
    old = tmp_path / "old"
    old.mkdir()
    (old / "wav.scp").write_text(f"{utts[0]} /a.wav 0.5 1.5\n")
    result = run_serkit("validate-data", str(old))
    assert result.returncode == 2 and "wav.scp:1" in result.stderr and "older serkit" in result.stderr

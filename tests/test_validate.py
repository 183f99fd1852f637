"""validate-data reports every planted problem with file:line and a fix."""

from __future__ import annotations

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

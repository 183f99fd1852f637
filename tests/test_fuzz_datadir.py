"""Bad data dirs and corpora: one clear line naming the file and the line, exit 2, nothing changed.

Every data-dir file ``validate-data`` reads gets malformed lines (too few or too many fields,
non-numeric, negative or reversed times, duplicate or unsorted ids, non-UTF-8 bytes, unknown
labels or ids, ids that cannot be ids); ``prepare-data`` gets corpora in the wrong layout and an
OUT holding the user's own files; ``score`` keys of data dirs whose paths read alike.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import make_data_dir, run_serkit, write_wav
from fixtures.corpus_iemocap import build_iemocap
from fuzzing import assert_one_clear_line, assert_unchanged, snapshot

from serkit import datadir, experiment

Edit = Callable[[Path], None]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def set_line(name: str, number: int, new: Callable[[str], str]) -> Edit:
    def edit(root: Path) -> None:
        lines = _lines(root / name)
        lines[number - 1] = new(lines[number - 1])
        _write(root / name, lines)

    return edit


def insert_line(name: str, number: int, text: str) -> Edit:
    def edit(root: Path) -> None:
        lines = _lines(root / name)
        lines.insert(number - 1, text)
        _write(root / name, lines)

    return edit


def swap_lines(name: str, first: int) -> Edit:
    def edit(root: Path) -> None:
        lines = _lines(root / name)
        lines[first - 1], lines[first] = lines[first], lines[first - 1]
        _write(root / name, lines)

    return edit


def bad_byte(name: str, number: int) -> Edit:
    def edit(root: Path) -> None:
        raw = (root / name).read_bytes().split(b"\n")
        raw[number - 1] += b" caf\xe9"
        (root / name).write_bytes(b"\n".join(raw))

    return edit


def rename_everywhere(pattern: str, new: str) -> Edit:
    """Rename an id in every text file of the dir (as a corpus with such an id would write it)."""

    def edit(root: Path) -> None:
        for path in root.iterdir():
            if path.name in datadir.DATA_DIR_FILES and path.name not in ("meta.json", "labels.h5"):
                path.write_text(re.sub(pattern, new, path.read_text(encoding="utf-8")), encoding="utf-8")

    return edit


def sub(name: str, number: int, old: str, new: str) -> Edit:
    return set_line(name, number, lambda line: line.replace(old, new))


def value(name: str, number: int, new: str) -> Edit:
    return set_line(name, number, lambda line: f"{line.split()[0]} {new}")


def both(*edits: Edit) -> Edit:
    def edit(root: Path) -> None:
        for one in edits:
            one(root)

    return edit


def fields(*keep: int, extra: str = "") -> Callable[[str], str]:
    def change(line: str) -> str:
        parts = line.split()
        return " ".join([parts[i] for i in keep] + ([extra] if extra else []))

    return change


def space_in_id(line: str) -> str:
    return line.replace("spk0-utt000", "spk0 utt000", 1)


U0 = r"(?<!/)spk0-utt000(?!\.wav)"  # the first utterance of every file (not its audio's name)
S0 = r"\bspk0\b(?!-)"  # speaker spk0 (not the prefix of its utterance ids)

#: A new utterance of spk0 in utt2spk and spk2utt, without audio.
NEW_UTT = both(
    insert_line("utt2spk", 3, "spk0-utt009 spk0"), sub("spk2utt", 1, "utt002", "utt002 spk0-utt009")
)
# (case id, edit, file, line, words of the message)
CASES = [
    ("wav.scp too few fields", set_line("wav.scp", 1, fields(0)), "wav.scp", 1, "no audio path"),
    ("wav.scp id with space", set_line("wav.scp", 1, space_in_id), "wav.scp", 1, "an id with white space"),
    ("wav.scp unsorted", swap_lines("wav.scp", 1), "wav.scp", 2, "not sorted"),
    ("wav.scp duplicate", set_line("wav.scp", 2, lambda _: "spk0-utt000 x.wav"), "wav.scp", 2, "duplicate"),
    ("wav.scp not UTF-8", bad_byte("wav.scp", 1), "wav.scp", 1, "UTF-8"),
    ("utt2spk too few fields", set_line("utt2spk", 1, fields(0)), "utt2spk", 1, "expected 2 fields"),
    ("utt2spk too many", set_line("utt2spk", 1, fields(0, 1, extra="x")), "utt2spk", 1, "expected 2 fields"),
    ("utt2spk id with space", set_line("utt2spk", 1, space_in_id), "utt2spk", 1, "expected 2 fields"),
    ("utt2spk duplicate", set_line("utt2spk", 2, lambda _: "spk0-utt000 spk0"), "utt2spk", 2, "duplicate"),
    ("utt2spk unknown utt", NEW_UTT, "utt2spk", 3, "not in wav.scp"),
    ("spk2utt no utterances", set_line("spk2utt", 1, fields(0)), "spk2utt", 1, "without utterances"),
    ("spk2utt wrong list", set_line("spk2utt", 1, fields(0, 1)), "spk2utt", 1, "other utterances"),
    ("spk2utt unsorted", swap_lines("spk2utt", 1), "spk2utt", 2, "not sorted"),
    ("text not UTF-8", bad_byte("text", 2), "text", 2, "UTF-8"),
    ("text duplicate", set_line("text", 2, lambda _: "spk0-utt000 again"), "text", 2, "duplicate"),
    ("text reserved word", set_line("text", 1, lambda s: s + " <s>"), "text", 1, "reserved"),
    ("utt2emo unknown label", value("utt2emo", 2, "bored"), "utt2emo", 2, "label"),
    ("utt2emo unknown utt", insert_line("utt2emo", 3, "spk0-utt009 ang"), "utt2emo", 3, "not in wav.scp"),
    ("utt2emo too many", set_line("utt2emo", 1, lambda s: s + " sad"), "utt2emo", 1, "expected 2 fields"),
    ("utt2sess too few", set_line("utt2sess", 1, fields(0)), "utt2sess", 1, "expected 2 fields"),
    ("ctm too few fields", set_line("words.ctm", 1, fields(0, 1, 2)), "words.ctm", 1, "expected 5 fields"),
    ("ctm non-numeric", sub("words.ctm", 1, " 0.100 ", " 0.1s "), "words.ctm", 1, "bad times"),
    ("ctm negative", sub("words.ctm", 1, " 0.100 ", " -0.100 "), "words.ctm", 1, None),
    ("ctm unsorted", swap_lines("words.ctm", 1), "words.ctm", 2, "not sorted"),
    ("ctm past the end", sub("words.ctm", 3, " 0.300 ", " 3.000 "), "words.ctm", 3, "ends at"),
    ("ctm unknown utt", insert_line("words.ctm", 7, "spk0-utt009 1 0 1 hi"), "words.ctm", 7, "not in the"),
    ("utt2dur non-numeric", value("utt2dur", 1, "long"), "utt2dur", 1, "duration"),
    ("utt2dur negative", value("utt2dur", 1, "-1"), "utt2dur", 1, "duration"),
    ("utt2dur too few", set_line("utt2dur", 1, fields(0)), "utt2dur", 1, "expected 2 fields"),
    ("reco2dur zero", value("reco2dur", 1, "0"), "reco2dur", 1, "duration"),
    ("spk2gender unknown value", value("spk2gender", 1, "x"), "spk2gender", 1, "value"),
    ("spk2gender unknown speaker", insert_line("spk2gender", 3, "spk9 f"), "spk2gender", 3, "not in utt2spk"),
    ("utterance id '.'", rename_everywhere(U0, "."), "wav.scp", 1, "utterance id '.'"),
    ("utterance id '..'", rename_everywhere(U0, ".."), "wav.scp", 1, "utterance id '..'"),
    ("utterance id 'a/b'", rename_everywhere(U0, "a/b"), "wav.scp", 1, "utterance id 'a/b'"),
    ("speaker id '.'", rename_everywhere(S0, "."), "utt2spk", 1, "speaker id '.'"),
    ("speaker id 'a/b'", rename_everywhere(S0, "a/b"), "utt2spk", 1, "speaker id 'a/b'"),
]  # fmt: skip
#: Cases also run with the audio read (the rest only with --no-audio: their problem is in the text).
WITH_AUDIO = {
    "wav.scp id with space",
    "ctm past the end",
    "utterance id 'a/b'",
    "speaker id '.'",
    "text not UTF-8",
}


@pytest.fixture(scope="module")
def whole_files(tmp_path_factory) -> Path:
    return make_data_dir(tmp_path_factory.mktemp("base"), n=4, seconds=1.0, speakers=2)


@pytest.fixture(scope="module")
def cuts(tmp_path_factory) -> Path:
    """Four cuts of two 2-second recordings (``segments``)."""
    root = tmp_path_factory.mktemp("cuts")
    data = datadir.DataDir(meta={"corpus": "test", "classes": ["ang", "hap"]})
    for r in range(2):
        wav = write_wav(root / "wav" / f"rec{r}.wav", 2.0, seed=r)
        for c in range(2):
            utt = f"spk{r}-rec{r}-{c}"
            data.wav_scp[utt] = datadir.WavEntry(
                str(wav), start=c * 1.0, end=c * 1.0 + 0.9, recording=f"rec{r}"
            )
            data.utt2spk[utt] = f"spk{r}"
            data.utt2emo[utt] = "ang"
    return datadir.save(data, root / "data")


def _validate(base: Path, tmp_path: Path, edit: Edit, no_audio: bool):
    root = tmp_path / "data"
    shutil.copytree(base, root)
    edit(root)
    before = snapshot(root)
    done = run_serkit("validate-data", str(root), *(["--no-audio"] if no_audio else []))
    assert_unchanged(before)
    return root, done


@pytest.mark.parametrize(
    ("edit", "name", "line", "says", "no_audio"),
    [
        pytest.param(edit, name, line, says, no_audio, id=f"{case}{'' if no_audio else ' (audio)'}")
        for case, edit, name, line, says in CASES
        for no_audio in ((True, False) if case in WITH_AUDIO else (True,))
    ],
)
def test_a_malformed_line_is_one_line_naming_it(
    whole_files, tmp_path, edit, name, line, says, no_audio
) -> None:
    root, done = _validate(whole_files, tmp_path, edit, no_audio)
    assert_one_clear_line(done, root / name, line, says)


SEGMENT_CASES = [
    ("too few fields", set_line("segments", 1, fields(0, 1, 2)), 1, "expected 4 fields"),
    ("non-numeric time", set_line("segments", 1, fields(0, 1, 2, 1)), 1, "unparsable"),
    ("reversed", set_line("segments", 2, fields(0, 1, 3, 2)), 2, "bad cut"),
    ("negative start", sub("segments", 1, " 0.000 ", " -0.500 "), 1, "bad cut"),
    ("unknown recording", sub("segments", 1, " rec0 ", " rec7 "), 1, "not in wav.scp"),
    ("unsorted", swap_lines("segments", 1), 2, "not sorted"),
    ("end past reco2dur", sub("segments", 2, " 1.900", " 2.600"), 2, "outside"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "line", "says", "no_audio"),
    [
        pytest.param(*case[1:], no_audio, id=f"{case[0]}{'' if no_audio else ' (audio)'}")
        for case in SEGMENT_CASES
        for no_audio in ((True, False) if case[3] == "outside" else (True,))
    ],
)
def test_a_malformed_segment_is_one_line_naming_it(cuts, tmp_path, edit, line, says, no_audio) -> None:
    root, done = _validate(cuts, tmp_path, edit, no_audio)
    assert_one_clear_line(done, root / "segments", line, says)


def test_an_id_with_a_space_is_not_blamed_on_the_path(whole_files, tmp_path) -> None:
    root, done = _validate(whole_files, tmp_path, set_line("wav.scp", 1, space_in_id), True)
    text = assert_one_clear_line(done, root / "wav.scp", 1, "'spk0 utt000'")
    assert "symlink" not in text.split("—")[0]


# --------------------------------------------------------------------------- prepare-data


@pytest.fixture(scope="module")
def iemocap_corpus(tmp_path_factory) -> Path:
    return build_iemocap(tmp_path_factory.mktemp("iemocap")).parent


@pytest.mark.parametrize(
    ("corpus", "layout", "says"),
    [("iemocap", "empty", "Session"), ("sewa", "iemocap", "audio/"), ("mosei", "iemocap", ".csd")],
)
def test_a_corpus_in_the_wrong_layout_is_one_line(iemocap_corpus, tmp_path, corpus, layout, says) -> None:
    src = tmp_path / "empty" if layout == "empty" else iemocap_corpus
    src.mkdir(exist_ok=True)
    done = run_serkit("prepare-data", corpus, str(src), str(tmp_path / "out"))
    assert_one_clear_line(done, src, says=says)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("set_name", ["train", "test"])
def test_prepare_data_keeps_the_users_files(iemocap_corpus, tmp_path, set_name) -> None:
    """A user's file in any set dir refuses the run before any set is rewritten."""
    out = tmp_path / "data"
    assert run_serkit("prepare-data", "iemocap", str(iemocap_corpus), str(out)).returncode == 0
    (out / "notes.txt").write_text("mine, beside the sets\n")
    assert run_serkit("prepare-data", "iemocap", str(iemocap_corpus), str(out)).returncode == 0
    assert (out / "notes.txt").read_text() == "mine, beside the sets\n"
    (out / set_name / "mynotes").write_text("mine, inside a set\n")
    before = snapshot(out)
    written = {p: p.stat().st_mtime_ns for p in before}
    done = run_serkit("prepare-data", "iemocap", str(iemocap_corpus), str(out))
    assert_one_clear_line(done, out / set_name, says="mynotes")
    assert_unchanged(before)
    assert {p: p.stat().st_mtime_ns for p in before} == written  # not even rewritten alike


# --------------------------------------------------------------------------- score keys


def test_score_keys_of_dirs_whose_paths_read_alike_differ(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for d in ("data/test", "a/b-test", "a-b/test", "x/test", "y/test"):
        Path(d).mkdir(parents=True)
    sets = {"train": "data/train", "test": "data/test"}
    keys = {d: experiment.score_key(sets, d)[1] for d in ("test", "a/b-test", "a-b/test", "x/test", "y/test")}
    assert keys["test"] == "test"
    assert len(set(keys.values())) == len(keys), keys
    assert experiment.score_key(sets, str(tmp_path / "x/test"))[1] != "test"


def test_make_mini_corpus_force_keeps_the_users_files(tmp_path) -> None:
    out = tmp_path / "mini"
    out.mkdir()
    (out / "manifest.jsonl").write_text('{"layout": "iemocap", "files": {"wav": "Session1/a.wav"}}\n')
    (out / "Session1").mkdir()
    (out / "Session1" / "a.wav").write_bytes(b"an earlier corpus' file")
    (out / "mynotes").write_text("mine\n")
    before = snapshot(out)
    done = run_serkit("make-mini-corpus", "--layout", "iemocap", "--size", "tiny", "--force", str(out))
    assert_one_clear_line(done, out, says="mynotes")
    assert_unchanged(before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini"]  # no staging dir left

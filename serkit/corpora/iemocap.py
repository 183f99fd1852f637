"""IEMOCAP (``IEMOCAP_full_release``) → Kaldi-style data dirs (``datasets.md`` §1).

Decisions (a recipe README repeats them):

* **Utterances** are the consensus summary lines ``[start - end] <TAB> utt <TAB> code <TAB> [V, A, D]``
  of ``Session<N>/dialog/EmoEvaluation/<dialog>.txt`` only; the per-rater sub-folders (``Categorical/``,
  ``Attribute/``, ``Self-evaluation/``) and macOS ``._*`` files are never read.
* **Ids**: session = the two digits after ``Ses``; dialog = the id without its last ``_`` field;
  speaker gender = first letter of the last field (``F000``/``M012``), never a fixed character position;
  speaker = session + gender (``Ses01M``); ``utt2sess`` = ``Ses01``; ``spk2gender`` from the gender.
  The data dir's utterance id is ``<speaker>-<corpus id>`` (``Ses05F-Ses05M_script01_1b_F000``), so that
  every file sorts the same by utterance and by speaker (Kaldi's rule).
* **Class maps** (``--class-map``): ``4-class`` (ang, hap + exc → hap, neu, sad; 5,531 utterances on the
  full release), ``6-class`` (ang, exc, fru, hap, neu, sad kept apart; 7,380), ``all`` (the 11 consensus
  codes, xxx included; 10,039). Counts per class and session are compared with the published ones.
* **V/A/D**: the consensus means go to ``utt2vad`` (``utt valence activation dominance``, 1–5 scale,
  EmoEvaluation order); validate-data ignores the file, ``subset-data`` does not carry it along.
* **Text**: ``dialog/transcriptions/<dialog>.txt`` lines ``utt [sss.ssss-eee.eeee]: text``, normalised by
  :mod:`serkit.text.normalize` (``[LAUGHTER]`` → ``<laughter>``). Id-less lines (``M: Yeah.``) and
  transcript-only ``XX`` ids are skipped and counted; a labelled utterance without a line gets an
  empty transcript (counted).
* **words.ctm** from ``sentences/ForcedAlignment/<dialog>/<utt>.wdseg`` (Sphinx-3 ``s3align``): start =
  SFrm × 10 ms, end = (EFrm + 1) × 10 ms; ``<s>``, ``</s>``, ``<sil>`` and ``++NOISE++`` rows dropped,
  ``(n)`` variant suffixes stripped, words normalised as the text. A missing ``.wdseg`` is counted
  (2 on the real release), not fatal.
* **Audio**: ``sentences/wav/<dialog>/<utt>.wav`` (16 kHz), whole files in ``wav.scp``; ``utt2dur``,
  ``reco2dur`` and ``meta.json["sample_rate"]`` from their headers. A labelled utterance without its wav
  is skipped and counted.
* **Sets**: test = ``--test-sessions`` (default 5), train = the other sessions minus dev; dev = in each
  training session the ``round(dev_fraction × dialogs)`` dialogs (at least one when the session has two
  or more) with the smallest SHA-1 of the dialog id — whole dialogs, the same ones in every fold, never
  from a test session. ``--folds loso`` writes ``fold<N>/{train,dev,test}`` with session N as test.
  ``meta.json["protocol"]`` names the folds and scores each on ``test``.
* **Bad input**: a malformed summary line, unparsable time, unknown code or malformed ``.wdseg`` row stops
  with ``file:line`` and the fix; only the junk the real release has (above) is skipped.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from serkit.corpora.prepared import (
    CountTable,
    PrepareResult,
    SkipLog,
    clear_data_dir,
    count_by,
    is_mini_corpus,
    protocol,
    write_set,
)
from serkit.datadir import CtmWord, DataDir, WavEntry
from serkit.errors import SerkitError
from serkit.text.normalize import normalize, tokenize

CORPUS = "iemocap"
CODES = ("neu", "hap", "exc", "sad", "ang", "fru", "sur", "fea", "dis", "oth", "xxx")
CLASS_MAPS: dict[str, dict[str, str]] = {
    "4-class": {"ang": "ang", "hap": "hap", "exc": "hap", "neu": "neu", "sad": "sad"},
    "6-class": {c: c for c in ("ang", "exc", "fru", "hap", "neu", "sad")},
    "all": {c: c for c in CODES},
}
FOLD_MODES = ("none", "loso")

#: Utterances per consensus code and session (1..5) of the full release (datasets.md §1.3).
PUBLISHED_CODE_COUNTS: dict[str, tuple[int, int, int, int, int]] = {
    "xxx": (415, 436, 572, 564, 520),
    "fru": (280, 325, 382, 481, 381),
    "neu": (384, 362, 320, 258, 384),
    "ang": (229, 137, 240, 327, 170),
    "sad": (194, 197, 305, 143, 245),
    "exc": (143, 210, 151, 238, 299),
    "hap": (135, 117, 135, 65, 143),
    "sur": (25, 17, 28, 19, 18),
    "fea": (12, 9, 2, 7, 10),
    "oth": (1, 1, 0, 1, 0),
    "dis": (1, 0, 1, 0, 0),
}

UTT_ID = re.compile(r"^Ses(\d{2})[FM]_\S+_([FM])\d{3}$")
SUMMARY_LINE = re.compile(r"^\[\s*(\S+?)\s*-\s*(\S+?)\s*\]\s+(\S+)\s+(\S+)\s+\[([^\]]*)\]\s*$")
TRANSCRIPT_LINE = re.compile(r"^(\S+)\s+\[\s*([^\]-]+?)\s*-\s*([^\]]+?)\s*\]:\s?(.*)$")
SESSION_DIR = re.compile(r"^Session(\d+)$")
WDSEG_FRAME = 0.01

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Utterance:
    """One consensus-labelled utterance of an EmoEvaluation file."""

    utt: str
    session: int
    dialog: str
    gender: str  # "f" | "m", from the last id field
    code: str
    vad: tuple[float, float, float]

    @property
    def speaker(self) -> str:
        return f"Ses{self.session:02d}{self.gender.upper()}"

    @property
    def session_id(self) -> str:
        return f"Ses{self.session:02d}"

    @property
    def data_id(self) -> str:
        """The data dir's utterance id: the speaker, ``-``, the corpus id."""
        return f"{self.speaker}-{self.utt}"


@dataclass
class Scan:
    """Everything read from the corpus, before class mapping and splitting."""

    root: Path
    sessions: list[int]
    utterances: list[Utterance] = field(default_factory=list)
    wavs: dict[str, Path] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    ctm: dict[str, list[CtmWord]] = field(default_factory=dict)
    missing_wdseg: list[str] = field(default_factory=list)
    skips: SkipLog = field(default_factory=SkipLog)


# --------------------------------------------------------------------------- locating the corpus


def find_root(src: str | Path) -> Path:
    """The ``IEMOCAP_full_release`` folder: ``src`` itself, or ``src/IEMOCAP_full_release``."""
    src = Path(src)
    if not src.is_dir():
        raise SerkitError("IEMOCAP folder not found", path=src, hint="give the IEMOCAP_full_release folder")
    if not _session_dirs(src) and _session_dirs(src / "IEMOCAP_full_release"):
        return src / "IEMOCAP_full_release"
    return src


def _session_dirs(root: Path) -> dict[int, Path]:
    if not root.is_dir():
        return {}
    found = {}
    for child in root.iterdir():
        match = SESSION_DIR.match(child.name)
        if match and child.is_dir():
            found[int(match.group(1))] = child
    return dict(sorted(found.items()))


def _required_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise SerkitError(
            f"expected the {what} folder here, but it does not exist",
            path=path,
            hint="point SRC at an unpacked IEMOCAP_full_release",
        )
    return path


# --------------------------------------------------------------------------- parsers


def _read_lines(path: Path) -> list[str]:
    """Lines of a corpus text file; bytes that are not UTF-8 are replaced (the corpus is not clean)."""
    return path.read_bytes().decode("utf-8", errors="replace").splitlines()


def _float(text: str, path: Path, line: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise SerkitError(
            f"unparsable {what} {text!r}",
            path=path,
            line=line,
            hint="times and values are decimal numbers, e.g. 6.2901",
        )
    return value


def read_evaluation(path: Path, session: int) -> list[Utterance]:
    """The consensus summary lines of one ``EmoEvaluation/<dialog>.txt`` file."""
    out = []
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.startswith("["):
            continue  # header, blank lines, C-/A- rater lines
        match = SUMMARY_LINE.match(line)
        if match is None:
            fields = len([f for f in line.split("\t") if f.strip()])
            raise SerkitError(
                f"malformed summary line ({fields} tab-separated fields)",
                path=path,
                line=number,
                hint="expected '[start - end]<TAB>utterance<TAB>code<TAB>[V, A, D]'",
            )
        start_s, end_s, utt, code, vad_s = match.groups()
        start = _float(start_s, path, number, "start time")
        end = _float(end_s, path, number, "end time")
        if end <= start:
            raise SerkitError(
                f"end time {end} is not after start time {start}",
                path=path,
                line=number,
                hint="fix the interval",
            )
        if code not in CODES:
            raise SerkitError(
                f"unknown emotion code {code!r}",
                path=path,
                line=number,
                hint=f"IEMOCAP codes are {', '.join(CODES)}",
            )
        id_match = UTT_ID.match(utt)
        if id_match is None:
            raise SerkitError(
                f"malformed utterance id {utt!r}",
                path=path,
                line=number,
                hint="expected Ses<SS><F|M>_<dialog>_<F|M><NNN>, e.g. Ses01F_impro01_M000",
            )
        if int(id_match.group(1)) != session:
            raise SerkitError(
                f"utterance {utt} is filed under Session{session}",
                path=path,
                line=number,
                hint="move the file to its session's folder",
            )
        dialog = utt.rsplit("_", 1)[0]
        if dialog != path.stem:
            raise SerkitError(
                f"utterance {utt} does not belong to dialog {path.stem}",
                path=path,
                line=number,
                hint="each EmoEvaluation file lists the utterances of its own dialog",
            )
        values = [v.strip() for v in vad_s.split(",")]
        if len(values) != 3:
            raise SerkitError(
                f"expected 3 values [V, A, D], found {len(values)}",
                path=path,
                line=number,
                hint="write [valence, activation, dominance]",
            )
        vad = tuple(_float(v, path, number, "V/A/D value") for v in values)
        out.append(Utterance(utt, session, dialog, id_match.group(2).lower(), code, vad))
    return out


def read_transcription(path: Path, skips: SkipLog) -> dict[str, str]:
    """``utt → normalised text`` of one transcription file; id-less and ``XX`` lines are skipped."""
    out: dict[str, str] = {}
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        match = TRANSCRIPT_LINE.match(line)
        first = line.split(maxsplit=1)[0]
        if match is None:
            if first.startswith("Ses") and "_" in first:
                raise SerkitError(
                    "malformed transcription line",
                    path=path,
                    line=number,
                    hint="expected 'utt [sss.ssss-eee.eeee]: text'",
                )
            skips.add("transcription line without an utterance id", f"{path.name}:{number}")
            continue
        utt, start_s, end_s, text = match.groups()
        _float(start_s, path, number, "start time")
        _float(end_s, path, number, "end time")
        if UTT_ID.match(utt) is None:
            skips.add("transcript-only utterance id (XX)", utt)
            continue
        out[utt] = normalize(text)
    return out


def wdseg_word(token: str) -> list[str]:
    """The normalised words of one ``.wdseg`` token; [] for silence, sentence and noise tokens."""
    if token.startswith("<") or (token.startswith("++") and token.endswith("++")):
        return []
    if token.endswith(")") and "(" in token:
        base, _, variant = token[:-1].rpartition("(")
        if variant.isdigit():
            token = base
    return tokenize(token)


def read_wdseg(path: Path) -> list[CtmWord]:
    """Word times of one Sphinx-3 ``.wdseg`` file (seconds, relative to the utterance)."""
    words: list[CtmWord] = []
    for number, line in enumerate(_read_lines(path), start=1):
        fields = line.split()
        if not fields or fields[0] == "SFrm" or line.strip().startswith("Total score"):
            continue
        if len(fields) != 4:
            raise SerkitError(
                f"expected 4 fields 'SFrm EFrm SegAScr Word', found {len(fields)}",
                path=path,
                line=number,
                hint="re-extract the file from the corpus archive",
            )
        try:
            first, last, _ = (int(f) for f in fields[:3])
        except ValueError:
            raise SerkitError(
                f"unparsable frame numbers {fields[0]!r} {fields[1]!r}",
                path=path,
                line=number,
                hint="start and end frames are integers",
            ) from None
        if last < first:
            raise SerkitError(
                f"end frame {last} before start frame {first}",
                path=path,
                line=number,
                hint="re-extract the file from the corpus archive",
            )
        pieces = wdseg_word(fields[3])
        start, end = first * WDSEG_FRAME, (last + 1) * WDSEG_FRAME
        step = (end - start) / max(len(pieces), 1)
        for k, word in enumerate(pieces):
            words.append(CtmWord(round(start + k * step, 3), round(step, 3), word))
    return words


# --------------------------------------------------------------------------- scanning


def scan(src: str | Path, progress: ProgressCallback | None = None) -> Scan:
    """Read labels, transcripts, word segmentations and wav paths of every session."""
    root = find_root(src)
    sessions = _session_dirs(root)
    if not sessions:
        raise SerkitError(
            "no Session<N> folders found",
            path=root,
            hint=f"expected {root}/Session1 ... {root}/Session5 (the IEMOCAP_full_release folder)",
        )
    result = Scan(root, list(sessions))
    files = []
    for session, folder in sessions.items():
        emo_dir = _required_dir(folder / "dialog" / "EmoEvaluation", "EmoEvaluation")
        _required_dir(folder / "dialog" / "transcriptions", "transcriptions")
        _required_dir(folder / "sentences" / "wav", "sentence wav")
        for path in sorted(emo_dir.glob("*.txt")):
            if path.name.startswith("._"):
                result.skips.add("macOS AppleDouble file", str(path.relative_to(root)))
            elif path.is_file():
                files.append((session, folder, path))
    seen: dict[str, str] = {}
    for done, (session, folder, path) in enumerate(files, start=1):
        utterances = read_evaluation(path, session)
        dialog = path.stem
        transcript = folder / "dialog" / "transcriptions" / f"{dialog}.txt"
        texts = read_transcription(transcript, result.skips) if transcript.is_file() else {}
        if not transcript.is_file():
            result.skips.add("dialog without transcription file", dialog)
        for utt in utterances:
            if utt.utt in seen:
                raise SerkitError(
                    f"utterance {utt.utt} is listed twice (also in {seen[utt.utt]})",
                    path=path,
                    hint="keep one summary line per utterance",
                )
            seen[utt.utt] = path.name
            wav = folder / "sentences" / "wav" / dialog / f"{utt.utt}.wav"
            if not wav.is_file():
                result.skips.add("labelled utterance without its sentence wav", utt.utt)
                continue
            result.utterances.append(utt)
            result.wavs[utt.utt] = wav.resolve()
            if utt.utt in texts:
                result.text[utt.utt] = texts[utt.utt]
            else:
                result.skips.add("labelled utterance without a transcription line (empty text)", utt.utt)
                result.text[utt.utt] = ""
            wdseg = folder / "sentences" / "ForcedAlignment" / dialog / f"{utt.utt}.wdseg"
            if wdseg.is_file():
                result.ctm[utt.utt] = read_wdseg(wdseg)
            else:
                result.missing_wdseg.append(utt.utt)
        for utt in set(texts) - {u.utt for u in utterances}:
            result.skips.add("transcribed utterance without a consensus label", utt)
        if progress is not None:
            progress(done, len(files))
    return result


# --------------------------------------------------------------------------- splits and sets


def dev_dialogs(dialogs: dict[int, set[str]], fraction: float) -> set[str]:
    """The dev dialogs of each session: the ``round(fraction × n)`` (≥ 1 if n ≥ 2) smallest SHA-1 ids."""
    chosen: set[str] = set()
    for names in dialogs.values():
        n = len(names)
        k = round(fraction * n)
        if fraction > 0 and n >= 2:
            k = max(k, 1)
        k = min(k, n - 1) if n >= 2 else 0
        ranked = sorted(names, key=lambda d: hashlib.sha1(d.encode("utf-8")).hexdigest())
        chosen.update(ranked[:k])
    return chosen


def published_counts(mapping: dict[str, str], sessions: tuple[int, ...] = (1, 2, 3, 4, 5)) -> dict[str, dict]:
    """Published utterances per session and class under ``mapping``, for ``sessions``, plus ``total``."""
    table: dict[str, Counter] = {}
    for code, per_session in PUBLISHED_CODE_COUNTS.items():
        if code not in mapping:
            continue
        for session in sessions:
            if 1 <= session <= len(per_session):
                table.setdefault(f"Ses{session:02d}", Counter())[mapping[code]] += per_session[session - 1]
    return _with_totals({s: dict(c) for s, c in table.items()})


def _with_totals(rows: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    out = {r: {**cells, "total": sum(cells.values())} for r, cells in sorted(rows.items())}
    total: Counter = Counter()
    for cells in rows.values():
        total.update(cells)
    out["total"] = {**dict(total), "total": sum(total.values())}
    return out


def _differences(ours: dict[str, dict[str, int]], published: dict[str, dict[str, int]]) -> list[str]:
    diffs = []
    for row, cells in published.items():
        for column, n in cells.items():
            mine = ours.get(row, {}).get(column, 0)
            if mine != n:
                diffs.append(f"{row}/{column}: {mine} (published {n})")
    return diffs


def _data_dir(utterances: list[Utterance], found: Scan, mapping: dict[str, str], meta: dict) -> DataDir:
    data = DataDir(meta=meta)
    for u in utterances:
        utt = u.data_id
        data.wav_scp[utt] = WavEntry(str(found.wavs[u.utt]))
        data.utt2spk[utt] = u.speaker
        data.utt2sess[utt] = u.session_id
        data.utt2gender[utt] = u.gender
        data.utt2emo[utt] = mapping[u.code]
        data.text[utt] = found.text[u.utt]
        if found.ctm.get(u.utt):
            data.words_ctm[utt] = found.ctm[u.utt]
    return data


def _plans(folds: str, test_sessions: tuple[int, ...], found: Scan) -> list[tuple[str, tuple[int, ...]]]:
    """``(folder prefix, test sessions)`` of each split to write."""
    if folds == "loso":
        return [(f"fold{s}", (s,)) for s in found.sessions]
    missing = sorted(set(test_sessions) - set(found.sessions))
    if missing:
        raise SerkitError(
            f"test session(s) {missing} not found (sessions present: {found.sessions})",
            path=found.root,
            hint="pass --test-sessions with sessions that exist",
        )
    return [("", tuple(sorted(test_sessions)))]


def split(
    found: Scan, kept: list[Utterance], tests: tuple[int, ...], dev_fraction: float
) -> tuple[dict[str, list[Utterance]], list[int], set[str]]:
    """``({train, dev, test}: utterances)``, the training sessions and the dev dialogs for ``tests``."""
    dialogs: dict[int, set[str]] = {}
    for u in found.utterances:
        dialogs.setdefault(u.session, set()).add(u.dialog)
    train_sessions = [s for s in found.sessions if s not in tests]
    dev = dev_dialogs({s: dialogs.get(s, set()) for s in train_sessions}, dev_fraction)
    members = {
        "train": [u for u in kept if u.session in train_sessions and u.dialog not in dev],
        "dev": [u for u in kept if u.dialog in dev],
        "test": [u for u in kept if u.session in tests],
    }
    return members, train_sessions, dev


def _published_note(ours: dict, published: dict, differences: list[str], class_map: str) -> str:
    total = published["total"]["total"]
    if not differences:
        return f"counts match the published full release ({total:,} for {class_map})"
    cells = sum(len(c) for c in published.values())
    return (
        f"counts differ from the published full release: {ours['total']['total']:,} {class_map} "
        f"utterances found, {total:,} published; {len(differences)} of {cells} session/class "
        "cells differ (table above; meta.json 'published_differences')"
    )


def prepare(
    src: str | Path,
    out: str | Path,
    *,
    class_map: str = "4-class",
    folds: str = "none",
    test_sessions: tuple[int, ...] = (5,),
    dev_fraction: float = 0.1,
    progress: ProgressCallback | None = None,
) -> PrepareResult:
    """Write ``out/{train,dev,test}`` (or ``out/fold<N>/...`` with ``folds='loso'``); see the module doc."""
    if class_map not in CLASS_MAPS:
        raise SerkitError(f"unknown class map {class_map!r}", hint=f"use one of {', '.join(CLASS_MAPS)}")
    if folds not in FOLD_MODES:
        raise SerkitError(f"unknown fold mode {folds!r} for IEMOCAP", hint="use 'none' or 'loso'")
    if not 0 <= dev_fraction < 1:
        raise SerkitError(f"--dev-fraction must be in [0, 1), got {dev_fraction}")
    mapping = CLASS_MAPS[class_map]
    classes = sorted(set(mapping.values()))
    found = scan(src, progress)
    out = Path(out)
    kept = [u for u in found.utterances if u.code in mapping]
    dropped = Counter(u.code for u in found.utterances if u.code not in mapping)

    ours = _with_totals(count_by({u.utt: u.session_id for u in kept}, {u.utt: mapping[u.code] for u in kept}))
    published = published_counts(mapping, tuple(found.sessions))
    differences = _differences(ours, published)

    plans = _plans(folds, test_sessions, found)

    result = PrepareResult(CORPUS, out, classes=classes)
    data_ids = {u.utt: u.data_id for u in found.utterances}
    fold_names = [prefix for prefix, _ in plans if prefix]
    corpus_meta = {
        "corpus_counts": ours,
        "published_counts": published,
        "published_match": not differences,
        "published_differences": differences,
        "dropped_codes": dict(sorted(dropped.items())),
        "missing_wdseg": sorted(data_ids[u] for u in found.missing_wdseg),
        "skipped": found.skips.as_meta(),
        "sessions_found": found.sessions,
        "source": str(found.root),
    }
    synthetic = is_mini_corpus(found.root, CORPUS)
    for prefix, tests in plans:
        members, train_sessions, dev = split(found, kept, tests, dev_fraction)
        rule = (
            f"test = session(s) {list(tests)}; train = sessions {train_sessions} minus dev; dev = in each "
            f"training session the round({dev_fraction} × dialogs) dialogs (>= 1 when >= 2 dialogs) with "
            f"the smallest sha1(dialog id)"
        )
        fold_protocol = protocol(
            class_map=class_map,
            split=rule,
            folds=fold_names,
            sets=[name for name, utterances in members.items() if utterances],
            score=["test"],
            mapping=dict(sorted(mapping.items())),
            dev_fraction=dev_fraction,
            fold_mode=folds,
            test_sessions=list(tests),
            train_sessions=train_sessions,
            dev_dialogs=sorted(dev),
            fold=prefix or None,
        )
        for name, utterances in members.items():
            set_name = f"{prefix}/{name}" if prefix else name
            if not utterances:
                if name == "dev":
                    clear_data_dir(out / prefix / name)  # no stale dev set from an earlier run
                    result.notes.append(
                        f"{set_name}: no dev dialogs (dev fraction {dev_fraction}); not written"
                    )
                    continue
                raise SerkitError(
                    f"no {class_map} utterances for {set_name} (sessions present: {found.sessions})",
                    path=found.root,
                    hint="check --test-sessions / --folds against the sessions of the corpus",
                )
            meta = {
                "corpus": CORPUS,
                "synthetic": synthetic,
                "set": set_name,
                "classes": classes,
                "protocol": fold_protocol,
                "session_counts": _with_totals(
                    count_by(
                        {u.utt: u.session_id for u in utterances},
                        {u.utt: mapping[u.code] for u in utterances},
                    )
                ),
                "files": {"utt2vad": "valence activation dominance: EmoEvaluation consensus means (1-5)"},
                **corpus_meta,
            }
            data = _data_dir(utterances, found, mapping, meta)
            vad = {u.data_id: " ".join(f"{v:.4f}" for v in u.vad) for u in utterances}
            path = out / prefix / name if prefix else out / name
            result.sets.append(write_set(data, path, {"utt2vad": vad}))

    result.tables.append(
        CountTable(
            f"IEMOCAP {class_map}: utterances per session and class", [*classes, "total"], ours, published
        )
    )
    result.notes.append(_published_note(ours, published, differences, class_map))
    if found.missing_wdseg:
        result.notes.append(f"{len(found.missing_wdseg)} utterance(s) without .wdseg (no words.ctm lines)")
    result.notes += found.skips.notes()
    return result

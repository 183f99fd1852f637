"""A corpus serkit has no reader for, listed in a CSV file (``prepare-data csv``) → Kaldi-style data dirs.

Decisions (the README's "Your own corpus" repeats them):

* **The list** is UTF-8 CSV (stdlib :mod:`csv`, a BOM is accepted) with a header row and one row per
  utterance. Columns: ``path`` (required), ``utt``, ``start``, ``end``, ``speaker``, ``label``,
  ``labels``, ``text``, ``gender``, ``session``, ``partition``. Any other column is an error: a
  misspelt ``lable`` would otherwise be ignored and the corpus silently unlabelled. Blank lines are
  skipped; every error names ``LIST.csv:line``.
* **Audio** ``path``: absolute, or relative to the CSV's folder. A missing or unreadable file stops the
  run (the list is the user's own, there is no known junk to skip, and a wrong base folder must not
  pass as a smaller corpus); ``--skip-bad-audio`` skips such rows and counts them instead. ``utt2dur``,
  ``reco2dur`` and the sample rate come from the headers, as for IEMOCAP.
* **Cuts**: ``start`` and ``end`` (seconds, both or neither, ``0 <= start < end <=`` the file's length)
  make the row a cut of its file: ``wav.scp`` then names recordings (the file stem; the path relative
  to the CSV's folder, ``/`` → ``_``, where two files share a stem) and ``segments`` holds the cuts.
* **Ids**: ``utt`` defaults to the file stem, plus ``-<start in ms>`` for a cut; ids must be valid Kaldi
  ids and unique. ``speaker`` defaults to the utterance itself (Kaldi's rule for unknown speakers).
  As for IEMOCAP, the data dir's id is ``<speaker>-<utt>`` unless ``utt`` already begins with
  ``<speaker>-``, so every file sorts the same by utterance and by speaker;
  :func:`serkit.datadir.by_utterance` still finds an utterance by its CSV id.
* **Categorical labels** ``label``: ``--merge exc:hap`` renames first, ``--classes ang,hap,neu,sad``
  then keeps those classes; rows with another label, or none, are skipped and counted
  (``meta.json["dropped_labels"]``), as IEMOCAP drops the codes outside its class map.
* **Continuous labels** ``labels``: a per-recording CSV with a ``time`` column (seconds, frame i at
  i / rate from 0) and one column per dimension → ``labels.h5`` as for SEWA (``/<utt>`` float32
  frames × dims, attributes ``frame_rate`` and ``names``). The rate is ``--label-rate`` or the step of
  the first file; every file must have the same dimensions. A cut gets the frames of its interval.
* **Text** is normalised by :mod:`serkit.text.normalize`. ``gender`` is ``m``/``f`` (one per speaker),
  ``session`` goes to ``utt2sess``, ``partition`` is ``train``/``dev``/``test``.
* **words.ctm** from ``--ctm FILE`` (Kaldi CTM, times relative to the utterance), keyed by the CSV's
  ids or the data dir's; words normalised as the text; lines of utterances not kept are counted.
* **Sets** (``--split``): ``column`` = the ``partition`` column (the default when it exists);
  ``speaker`` = test speakers from ``--test-speakers``, else the ``round(test_fraction × speakers)``
  with the smallest SHA-1 of the speaker id (the default without a partition column); ``loso`` = one
  fold per session, ``OUT/fold<N>/{train,dev,test}`` (``N`` = the session's trailing number when every
  session has a distinct one, as IEMOCAP's ``fold1``..``fold5``, else the session id). Dev for
  ``speaker``/``loso`` is picked as IEMOCAP picks dev dialogs: in each training speaker (``loso``:
  session) the ``round(dev_fraction × recordings)`` recordings (>= 1 when there are two or more) with
  the smallest SHA-1 of the recording id. A fold is scored on ``test`` (``dev`` when it has no test).
* **meta.json**: ``corpus`` = ``csv``; ``synthetic`` = true when every audio file lies in a serkit mini
  corpus (a ``manifest.jsonl`` above it), else null (a CSV does not say whether its audio is real).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serkit import audio, datadir
from serkit.corpora.iemocap import dev_dialogs
from serkit.corpora.prepared import CountTable, PrepareResult, SkipLog, clear_data_dir, protocol, write_set
from serkit.datadir import CtmWord, DataDir, WavEntry, bad_id, sorted_ids
from serkit.errors import SerkitError
from serkit.text.normalize import normalize, tokenize

CORPUS = "csv"
COLUMNS = (
    "utt",
    "path",
    "start",
    "end",
    "speaker",
    "label",
    "labels",
    "text",
    "gender",
    "session",
    "partition",
)
PARTITIONS = ("train", "dev", "test")
SPLITS = ("auto", "column", "speaker", "loso")
GRID_TOLERANCE = 0.005  # seconds a label row's time may be off its frame (as for SEWA)
END_TOLERANCE = 0.01  # seconds a cut may run past the end of its file (rounded times)

ProgressCallback = Callable[[int, int], None]


@dataclass
class Row:
    """One kept utterance of the list."""

    line: int
    csv_id: str
    utt: str
    speaker: str
    wav: Path
    duration: float
    start: float | None = None
    end: float | None = None
    recording: str | None = None
    label: str | None = None
    labels: Path | None = None
    text: str | None = None
    gender: str | None = None
    session: str | None = None
    partition: str | None = None


@dataclass
class Listing:
    """Everything read from the list, before splitting."""

    path: Path
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    skips: SkipLog = field(default_factory=SkipLog)
    dropped: Counter = field(default_factory=Counter)
    sample_rates: set[int] = field(default_factory=set)


# --------------------------------------------------------------------------- options


def parse_list(text: str | None) -> list[str]:
    """``"a,b , c"`` → ``["a", "b", "c"]``."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def parse_merge(text: str | None) -> dict[str, str]:
    """``--merge exc:hap,sur:oth`` → ``{"exc": "hap", "sur": "oth"}``."""
    out = {}
    for item in parse_list(text):
        source, sep, target = (s.strip() for s in item.partition(":"))
        if not sep or not source or not target:
            raise SerkitError(f"--merge item {item!r} is not 'label:class'", hint="e.g. --merge exc:hap")
        out[source] = target
    return out


# --------------------------------------------------------------------------- reading the list


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SerkitError(
            f"cannot read the list ({exc.strerror})", path=path, hint="check the path"
        ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SerkitError(
            f"not UTF-8 (byte {exc.start})", path=path, line=line, hint="re-encode the file as UTF-8"
        ) from None


def _header(cells: list[str], path: Path) -> list[str]:
    names = [c.strip() for c in cells]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise SerkitError(
            f"unknown column {unknown[0]!r}",
            path=path,
            line=1,
            hint=f"the columns are {', '.join(COLUMNS)} (fix the spelling or drop the column)",
        )
    twice = [n for n in names if names.count(n) > 1]
    if twice:
        raise SerkitError(f"column {twice[0]!r} appears twice", path=path, line=1, hint="keep one")
    if "path" not in names:
        raise SerkitError(
            "no 'path' column in the header",
            path=path,
            line=1,
            hint="the first row names the columns, e.g. 'utt,path,speaker,label'",
        )
    return names


def _time(text: str, fail: Callable[[str, str], SerkitError], what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise fail(f"{what} {text!r} is not a number of seconds >= 0", "write e.g. 1.25")
    return value


def _mini_corpus_root(folder: Path, cache: dict[Path, bool]) -> bool:
    """Whether ``folder`` or a folder above it holds a serkit mini corpus ``manifest.jsonl``."""
    if folder not in cache:
        manifest = folder / "manifest.jsonl"
        found = False
        if manifest.is_file():
            with open(manifest, encoding="utf-8", errors="replace") as f:
                try:
                    record = json.loads(f.readline())
                except ValueError:
                    record = None
            found = isinstance(record, dict) and "layout" in record
        cache[folder] = found or (folder.parent != folder and _mini_corpus_root(folder.parent, cache))
    return cache[folder]


class _RowReader:
    """Turns the cells of one CSV row into a :class:`Row` (or None when the row is skipped)."""

    def __init__(self, listing: Listing, merge: dict[str, str], classes: list[str], skip_bad_audio: bool):
        self.listing = listing
        self.merge = merge
        self.classes = set(classes)
        self.skip_bad_audio = skip_bad_audio
        self.audio: dict[Path, tuple[int, float] | str] = {}
        self.ids: dict[str, int] = {}
        self.genders: dict[str, tuple[str, int]] = {}

    def read(self, line: int, cells: dict[str, str]) -> Row | None:
        path = self.listing.path

        def fail(message: str, hint: str) -> SerkitError:
            return SerkitError(message, path=path, line=line, hint=hint)

        wav, duration = self._audio(cells["path"], fail, line)
        if wav is None:
            return None
        start_s, end_s = cells.get("start", ""), cells.get("end", "")
        start = end = None
        if start_s or end_s:
            if not (start_s and end_s):
                raise fail(
                    "a cut needs both 'start' and 'end'", "give both times, or neither for the whole file"
                )
            start, end = _time(start_s, fail, "start"), _time(end_s, fail, "end")
            if end <= start:
                raise fail(f"end {end} is not after start {start}", "fix the interval")
            if end > duration + END_TOLERANCE:
                raise fail(f"end {end} is after the end of {wav} ({duration:.3f} s)", "fix the interval")
        csv_id = cells.get("utt") or (wav.stem if start is None else f"{wav.stem}-{round(start * 1000)}")
        speaker = cells.get("speaker") or None
        for kind, name in (("utterance", csv_id), ("speaker", speaker)):
            why = bad_id(name) if name is not None else None
            if why:
                raise fail(f"{kind} id {name!r} {why}", "ids need no white space or '/' (Kaldi)")
        utt = csv_id if speaker is None or csv_id.startswith(f"{speaker}-") else f"{speaker}-{csv_id}"
        if utt in self.ids:
            raise fail(
                f"duplicate utterance id {utt!r} (first at line {self.ids[utt]})",
                "give each row its own 'utt'",
            )
        self.ids[utt] = line
        row = Row(line, csv_id, utt, speaker or utt, wav, duration, start, end)
        row.text = normalize(cells["text"]) if "text" in cells else None
        row.gender = self._gender(cells.get("gender", ""), row.speaker, line, fail)
        row.session = cells.get("session") or None
        if row.session is not None and bad_id(row.session):
            raise fail(f"session {row.session!r} {bad_id(row.session)}", "sessions are ids: no white space")
        partition = cells.get("partition", "").lower() or None
        if partition is not None and partition not in PARTITIONS:
            raise fail(
                f"partition {cells['partition']!r} is not train, dev or test", "use train, dev or test"
            )
        row.partition = partition
        if cells.get("labels"):
            row.labels = (
                Path(cells["labels"])
                if Path(cells["labels"]).is_absolute()
                else path.parent / cells["labels"]
            )
            if not row.labels.is_file():
                raise fail(f"label file {row.labels} not found", "relative paths are from the CSV's folder")
        if "label" in cells:
            return self._label(row, cells["label"], fail)
        return row

    def _audio(self, cell: str, fail, line: int) -> tuple[Path | None, float]:
        if not cell:
            raise fail("empty 'path'", "give the audio file of the row")
        wav = Path(cell) if Path(cell).is_absolute() else self.listing.path.parent / cell
        if wav not in self.audio:
            try:
                if not wav.is_file():
                    raise SerkitError("missing")
                self.audio[wav] = audio.audio_info(WavEntry(str(wav)))
            except SerkitError as err:
                self.audio[wav] = err.message
        info = self.audio[wav]
        if isinstance(info, str):
            if self.skip_bad_audio:
                why = "missing" if info == "missing" else "unreadable"
                self.listing.skips.add(f"row whose audio file is {why} (skipped)", f"{line}: {wav}")
                return None, 0.0
            raise fail(
                f"audio file {wav}: {info}",
                "fix the path (relative paths are from the CSV's folder), or pass --skip-bad-audio to skip "
                "and count such rows",
            )
        self.listing.sample_rates.add(info[0])
        return wav.resolve(), info[1]

    def _gender(self, cell: str, speaker: str, line: int, fail) -> str | None:
        gender = cell.lower() or None
        if gender is None:
            return None
        if gender not in datadir.GENDERS:
            raise fail(f"gender {cell!r} is not m or f", "write m, f, or leave the cell empty")
        known, first = self.genders.setdefault(speaker, (gender, line))
        if known != gender:
            raise fail(
                f"speaker {speaker!r} is {gender} here, {known} at line {first}",
                "give each speaker one gender",
            )
        return gender

    def _label(self, row: Row, cell: str, fail) -> Row | None:
        label = cell.strip()
        if not label:
            self.listing.dropped["(no label)"] += 1
            return None
        if bad_id(label):
            raise fail(f"label {label!r} {bad_id(label)}", "labels are single words, e.g. ang")
        label = self.merge.get(label, label)
        if self.classes and label not in self.classes:
            self.listing.dropped[label] += 1
            return None
        row.label = label
        return row


def read_list(
    path: str | Path,
    *,
    merge: dict[str, str] | None = None,
    classes: list[str] | None = None,
    skip_bad_audio: bool = False,
    progress: ProgressCallback | None = None,
) -> Listing:
    """Read and check every row of the list (see the module doc)."""
    path = Path(path)
    if not path.is_file():
        raise SerkitError("list not found", path=path, hint="give the CSV file that lists the corpus")
    reader = csv.reader(io.StringIO(_decode(path), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise SerkitError("empty list", path=path, hint="the first row names the columns")
        listing = Listing(path, _header(header, path))
        rows = _RowReader(listing, merge or {}, classes or [], skip_bad_audio)
        records = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    except csv.Error as exc:
        raise SerkitError(
            f"malformed CSV ({exc})", path=path, line=reader.line_num, hint="fix the quoting"
        ) from None
    if not records:
        raise SerkitError("no rows after the header", path=path, hint="one row per utterance")
    for done, (line, cells) in enumerate(records, start=1):
        if len(cells) != len(listing.columns):
            raise SerkitError(
                f"{len(cells)} fields, the header has {len(listing.columns)}",
                path=path,
                line=line,
                hint="quote fields that hold commas",
            )
        row = rows.read(line, {n: c.strip() for n, c in zip(listing.columns, cells, strict=True)})
        if row is not None:
            listing.rows.append(row)
        if progress is not None and (done % 100 == 0 or done == len(records)):
            progress(done, len(records))
    if not listing.rows:
        raise SerkitError(
            "no row is left (see the skipped audio and the dropped labels)",
            path=path,
            hint="check the paths, --classes and --merge",
        )
    _recordings(listing)
    _check_order(listing)
    return listing


def _recordings(listing: Listing) -> None:
    """Recording ids of the cuts: the file stem, or the path (``/`` → ``_``) where two files share a stem."""
    cut_wavs = {r.wav for r in listing.rows if r.start is not None}
    stems = Counter(w.stem for w in cut_wavs)
    base = listing.path.parent.resolve()
    for row in listing.rows:
        if row.start is None:
            continue
        name = row.wav.stem
        if stems[name] > 1:
            where = row.wav.relative_to(base) if row.wav.is_relative_to(base) else row.wav
            name = str(where.with_suffix("")).strip("/").replace("/", "_")
        if bad_id(name):
            raise SerkitError(
                f"recording id {name!r} (from the file name) {bad_id(name)}",
                path=listing.path,
                line=row.line,
                hint="rename the audio file: no white space",
            )
        row.recording = name


def _check_order(listing: Listing) -> None:
    """Kaldi's rule: sorted by utterance, the speakers are sorted too (``<speaker>-`` ids make it so)."""
    by_utt = {r.utt: r for r in listing.rows}
    previous: Row | None = None
    for utt in sorted_ids(by_utt):
        row = by_utt[utt]
        if previous is not None and datadir.byte_key(row.speaker) < datadir.byte_key(previous.speaker):
            raise SerkitError(
                f"utterance {row.utt!r} of speaker {row.speaker!r} sorts after {previous.utt!r} of speaker "
                f"{previous.speaker!r}",
                path=listing.path,
                line=row.line,
                hint="a speaker id may not be another's prefix plus '-'; rename one speaker",
            )
        previous = row


# --------------------------------------------------------------------------- continuous labels


def read_label_file(path: Path, rate: float | None, listed_at: str) -> tuple[list[str], np.ndarray, float]:
    """``(dimension names, frames × dims, frame rate)`` of one label CSV: ``time`` and the dimensions.

    Errors name the label file's line and, in the hint, the list's row that names the file.
    """

    def bad(message: str, line: int | None, hint: str) -> SerkitError:
        return SerkitError(message, path=path, line=line, hint=f"{hint} (the file is listed at {listed_at})")

    try:
        text = _decode(path)
    except SerkitError as err:
        raise bad(err.message, err.line, err.hint or "") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [c.strip() for c in next(reader, [])]
    if "time" not in header or len(header) < 2 or len(set(header)) != len(header) or "" in header:
        raise bad("header is not 'time' and one named column per dimension", 1, "e.g. 'time,arousal,valence'")
    names = [n for n in header if n != "time"]
    times, rows = [], []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        line = reader.line_num
        if len(cells) != len(header):
            raise bad(f"{len(cells)} fields, the header has {len(header)}", line, "one value per column")
        try:
            values = [float(c) for c in cells]
        except ValueError:
            values = [math.nan]
        if not all(math.isfinite(v) for v in values):
            raise bad("a time or value is not a number", line, "write decimal numbers, e.g. 0.25")
        record = dict(zip(header, values, strict=True))
        times.append((line, record["time"]))
        rows.append([record[n] for n in names])
    if not rows:
        raise bad("no label rows", None, "one row per frame")
    if rate is None:
        if len(times) < 2 or times[1][1] <= times[0][1]:
            raise bad("cannot tell the frame rate from the first two rows", times[0][0], "pass --label-rate")
        rate = round(1.0 / (times[1][1] - times[0][1]), 3)
    for k, (line, t) in enumerate(times):
        if abs(t - k / rate) > GRID_TOLERANCE:
            raise bad(
                f"time {t} is not frame {k} of a {rate:g} Hz grid starting at 0",
                line,
                "label rows are contiguous frames from time 0 (or fix --label-rate)",
            )
    return names, np.asarray(rows, dtype=np.float32), rate


def _frame_labels(
    listing: Listing, rate: float | None
) -> tuple[dict[str, np.ndarray], float | None, list[str]]:
    """``{utt: frames × dims}`` (a cut's frames of its interval), the frame rate and the dimension names."""
    files: dict[Path, np.ndarray] = {}
    names: list[str] | None = None
    out = {}
    for row in listing.rows:
        if row.labels is None:
            continue
        where = f"{listing.path.name}:{row.line}"
        if row.labels not in files:
            found, frames, rate = read_label_file(row.labels, rate, where)
            if names is not None and found != names:
                raise SerkitError(
                    f"dimensions {found} differ from {names} of the first label file",
                    path=row.labels,
                    line=1,
                    hint=f"every label file has the same columns (listed at {where})",
                )
            names, files[row.labels] = found, frames
        frames = files[row.labels]
        if row.start is not None:
            frames = frames[round(row.start * rate) : round(row.end * rate)]
        if not len(frames):
            raise SerkitError(
                f"no label frames for {row.start}-{row.end} s in {row.labels}",
                path=listing.path,
                line=row.line,
                hint="the label file ends before the cut",
            )
        out[row.utt] = frames
    return out, rate, names or []


# --------------------------------------------------------------------------- words.ctm


def read_words(path: Path, listing: Listing) -> dict[str, list[CtmWord]]:
    """``--ctm``: word times keyed by the CSV's ids or the data dir's, words normalised as the text."""
    ids = {r.csv_id: r.utt for r in listing.rows} | {r.utt: r.utt for r in listing.rows}
    out: dict[str, list[CtmWord]] = {}
    for key, words in datadir.read_ctm(Path(path)).items():
        utt = ids.get(key)
        if utt is None:
            listing.skips.add("words.ctm utterance not in the kept rows (its lines skipped)", key)
            continue
        for w in words:
            pieces = tokenize(w.word)
            step = w.dur / max(len(pieces), 1)
            out.setdefault(utt, []).extend(
                CtmWord(round(w.start + k * step, 3), round(step, 3), p) for k, p in enumerate(pieces)
            )
    return out


# --------------------------------------------------------------------------- splits


def _fold_names(sessions: list[str]) -> dict[str, str]:
    """``fold<N>``: N = each session's trailing number when they are all distinct, else the session id."""
    numbers = {s: re.search(r"(\d+)$", s) for s in sessions}
    if all(numbers.values()) and len({int(m.group(1)) for m in numbers.values()}) == len(sessions):
        return {s: f"fold{int(numbers[s].group(1))}" for s in sessions}
    return {s: f"fold{s}" for s in sessions}


def _dev(train: list[Row], group: Callable[[Row], str], fraction: float) -> set[str]:
    """Dev recordings: in each group, IEMOCAP's rule on the recordings (:func:`iemocap.dev_dialogs`)."""
    groups: dict[str, set[str]] = {}
    for row in train:
        groups.setdefault(group(row), set()).add(row.recording or row.utt)
    return dev_dialogs(groups, fraction)


@dataclass
class Plan:
    """One fold to write: its folder prefix, sets and the protocol entries that describe it."""

    prefix: str
    members: dict[str, list[Row]]
    rule: str
    extra: dict = field(default_factory=dict)


def _need(listing: Listing, column: str, split: str) -> None:
    if column not in listing.columns:
        raise SerkitError(
            f"--split {split} needs a '{column}' column",
            path=listing.path,
            line=1,
            hint=f"add '{column}' or choose another --split",
        )
    missing = next((r for r in listing.rows if getattr(r, column) is None), None)
    if missing is not None:
        raise SerkitError(
            f"empty '{column}' (--split {split} needs it in every row)",
            path=listing.path,
            line=missing.line,
            hint=f"fill in the {column}",
        )


def plans(
    listing: Listing,
    split: str,
    *,
    test_speakers: list[str],
    test_fraction: float,
    dev_fraction: float,
) -> list[Plan]:
    """The folds to write under ``split`` (see the module doc)."""
    rows = listing.rows
    if split == "column":
        _need(listing, "partition", split)
        members = {p: [r for r in rows if r.partition == p] for p in PARTITIONS}
        return [Plan("", members, "the partition column of the list")]
    if split == "speaker":
        speakers = sorted_ids({r.speaker for r in rows})
        if test_speakers:
            unknown = sorted(set(test_speakers) - set(speakers))
            if unknown:
                raise SerkitError(
                    f"--test-speakers {unknown[0]!r} is not a speaker of the list",
                    path=listing.path,
                    hint=f"speakers: {', '.join(speakers[:10])}{' ...' if len(speakers) > 10 else ''}",
                )
            tests, how = set(test_speakers), f"test = speakers {sorted(test_speakers)}"
        else:
            tests = dev_dialogs({"all": set(speakers)}, test_fraction)
            how = f"test = the round({test_fraction} × speakers) speakers with the smallest sha1(speaker id)"
        train = [r for r in rows if r.speaker not in tests]
        dev = _dev(train, lambda r: r.speaker, dev_fraction)
        members = {
            "train": [r for r in train if (r.recording or r.utt) not in dev],
            "dev": [r for r in train if (r.recording or r.utt) in dev],
            "test": [r for r in rows if r.speaker in tests],
        }
        rule = (
            f"{how}; dev = in each training speaker the round({dev_fraction} × recordings) recordings "
            "(>= 1 when >= 2) with the smallest sha1(recording id); train = the rest"
        )
        return [Plan("", members, rule, {"test_speakers": sorted_ids(tests)})]
    _need(listing, "session", split)
    sessions = sorted_ids({r.session for r in rows})
    if len(sessions) < 2:
        raise SerkitError(
            f"--split loso needs two or more sessions, the list has {len(sessions)}",
            path=listing.path,
            hint="use --split speaker or column",
        )
    folds = _fold_names(sessions)
    out = []
    for session in sessions:
        train = [r for r in rows if r.session != session]
        dev = _dev(train, lambda r: r.session, dev_fraction)
        members = {
            "train": [r for r in train if (r.recording or r.utt) not in dev],
            "dev": [r for r in train if (r.recording or r.utt) in dev],
            "test": [r for r in rows if r.session == session],
        }
        rule = (
            f"test = session {session}; dev = in each training session the round({dev_fraction} × "
            "recordings) recordings (>= 1 when >= 2) with the smallest sha1(recording id); train = the rest"
        )
        out.append(Plan(folds[session], members, rule, {"test_sessions": [session]}))
    return out


# --------------------------------------------------------------------------- preparation


def _data_dir(rows: list[Row], words: dict[str, list[CtmWord]], meta: dict, with_text: bool) -> DataDir:
    data = DataDir(meta=meta)
    for r in rows:
        if r.start is None:
            data.wav_scp[r.utt] = WavEntry(str(r.wav))
        else:
            data.wav_scp[r.utt] = WavEntry(str(r.wav), start=r.start, end=r.end, recording=r.recording)
        data.utt2spk[r.utt] = r.speaker
        if r.session is not None:
            data.utt2sess[r.utt] = r.session
        if r.gender is not None:
            data.utt2gender[r.utt] = r.gender
        if r.label is not None:
            data.utt2emo[r.utt] = r.label
        if with_text:
            data.text[r.utt] = r.text or ""
        if words.get(r.utt):
            data.words_ctm[r.utt] = words[r.utt]
    return data


def prepare(
    src: str | Path,
    out: str | Path,
    *,
    split: str = "auto",
    test_speakers: list[str] | None = None,
    test_fraction: float = 0.2,
    dev_fraction: float = 0.1,
    classes: list[str] | None = None,
    merge: dict[str, str] | None = None,
    label_rate: float | None = None,
    ctm: str | Path | None = None,
    skip_bad_audio: bool = False,
    progress: ProgressCallback | None = None,
) -> PrepareResult:
    """Write ``out/{train,dev,test}`` (``out/fold<N>/...`` with ``split='loso'``) from the list ``src``."""
    if split not in SPLITS:
        raise SerkitError(f"unknown --split {split!r}", path=src, hint=f"use one of {', '.join(SPLITS)}")
    for name, value in (("--dev-fraction", dev_fraction), ("--test-fraction", test_fraction)):
        if not 0 <= value < 1:
            raise SerkitError(f"{name} must be in [0, 1), got {value}")
    if label_rate is not None and label_rate <= 0:
        raise SerkitError(f"--label-rate must be > 0, got {label_rate}")
    merge = merge or {}
    classes = list(classes or [])
    lost = sorted({t for t in merge.values() if classes and t not in classes})
    if lost:
        raise SerkitError(f"--merge maps onto {lost[0]!r}, which --classes drops", hint="add it to --classes")
    listing = read_list(src, merge=merge, classes=classes, skip_bad_audio=skip_bad_audio, progress=progress)
    if split == "auto":
        split = "column" if "partition" in listing.columns else "speaker"
    if classes and "label" not in listing.columns:
        raise SerkitError(
            "--classes needs a 'label' column", path=listing.path, line=1, hint="add the labels"
        )
    if test_speakers and split != "speaker":
        raise SerkitError(f"--test-speakers applies to --split speaker, not {split}", path=listing.path)
    if "label" in listing.columns and not classes:
        classes = sorted({r.label for r in listing.rows})
    words = read_words(Path(ctm), listing) if ctm is not None else {}
    labels, rate, names = _frame_labels(listing, label_rate)
    folds = plans(
        listing,
        split,
        test_speakers=test_speakers or [],
        test_fraction=test_fraction,
        dev_fraction=dev_fraction,
    )
    out = Path(out)
    mini: dict[Path, bool] = {}
    synthetic = (
        True if all(_mini_corpus_root(w.parent, mini) for w in {r.wav for r in listing.rows}) else None
    )
    class_map = ",".join(classes) if classes else None
    if class_map and merge:
        class_map += "; " + ",".join(f"{a}->{b}" for a, b in sorted(merge.items()))
    label_counts = Counter(r.label for r in listing.rows if r.label is not None)
    common = {
        "corpus": CORPUS,
        "synthetic": synthetic,
        "source": str(listing.path.resolve()),
        "skipped": listing.skips.as_meta(),
        "dropped_labels": dict(sorted(listing.dropped.items())),
        "corpus_counts": {"total": {**dict(sorted(label_counts.items())), "total": len(listing.rows)}},
        "words_ctm": str(Path(ctm).resolve()) if ctm is not None else None,
    }
    if classes:
        common["classes"] = classes
    if labels:
        common |= {
            "label_names": names,
            "label_rate_hz": rate,
            "files": {"labels.h5": f"frames x {names} at {rate:g} Hz"},
        }
    result = PrepareResult(CORPUS, out, classes=classes)
    fold_names = [p.prefix for p in folds if p.prefix]
    for plan in folds:
        written = [name for name, rows in plan.members.items() if rows]
        if "train" not in written:
            raise SerkitError(
                f"no training rows{' in ' + plan.prefix if plan.prefix else ''} under --split {split}",
                path=listing.path,
                hint="check the partition column / the test speakers",
            )
        block = protocol(
            class_map=class_map,
            split=plan.rule,
            folds=fold_names,
            sets=written,
            score=["test"] if "test" in written else ["dev"],
            split_mode=split,
            mapping=dict(sorted(merge.items())),
            dev_fraction=dev_fraction,
            fold=plan.prefix or None,
            **plan.extra,
        )
        for name, rows in plan.members.items():
            set_name = f"{plan.prefix}/{name}" if plan.prefix else name
            path = out / plan.prefix / name if plan.prefix else out / name
            if not rows:
                clear_data_dir(path)  # no stale set of an earlier run
                result.notes.append(f"{set_name}: no rows; not written")
                continue
            meta = {**common, "set": set_name, "protocol": block}
            data = _data_dir(rows, words, meta, "text" in listing.columns)
            result.sets.append(write_set(data, path))
            mine = {r.utt: labels[r.utt] for r in rows if r.utt in labels}
            if mine:
                datadir.write_labels(path / "labels.h5", mine, rate, names)
    if listing.sample_rates and len(listing.sample_rates) > 1:
        result.notes.append(f"several sample rates: {sorted(listing.sample_rates)}")
    if listing.dropped:
        dropped = ", ".join(f"{k} {n:,}" for k, n in sorted(listing.dropped.items()))
        result.notes.append(f"rows dropped by label: {dropped}")
    if labels and len(labels) < len(listing.rows):
        result.notes.append(
            f"{len(listing.rows) - len(labels):,} row(s) without a label file (no labels.h5 entry)"
        )
    if ctm is not None:
        result.notes.append(f"words.ctm for {len(words):,} of {len(listing.rows):,} utterances from {ctm}")
    if "session" in listing.columns and classes:
        rows = {}
        for r in listing.rows:
            cells = rows.setdefault(r.session or "-", Counter())
            cells[r.label] += 1
            cells["total"] += 1
        result.tables.append(
            CountTable(
                "utterances per session and class",
                [*classes, "total"],
                {s: dict(rows[s]) for s in sorted(rows)},
            )
        )
    result.notes += listing.skips.notes()
    return result

"""Kaldi data directories (DESIGN §3): read, write, subset, combine, split.

A data dir is a folder of plain UTF-8 text files, one record a line, sorted by
id in byte order (``LC_ALL=C``), that Kaldi's ``utils/validate_data_dir.sh`` and
``lhotse kaldi import`` accept:

``wav.scp``     ``utt path`` (whole files), or ``recording path`` when ``segments`` exists;
                ``id command |`` only with ``allow_pipes``
``segments``    ``utt recording start end`` (seconds): cuts of longer recordings
``utt2spk``     ``utt speaker`` (``spk2utt`` is always derived from it); ids begin with ``speaker-``
``spk2gender``  ``speaker m|f`` where known      ``utt2sess``  ``utt session``
``utt2dur``     ``utt seconds``                  ``reco2dur``  ``recording seconds``
``text``        ``utt word word ...``            ``text.asr``  same, from ASR
``words.ctm``   ``utt channel start dur word`` (seconds, relative to the utterance)
``utt2emo``     ``utt label``
``utt2presence`` ``utt 0|1 ...``: multi-label targets, a column per emotion (:func:`read_binary_rows`)
``labels.h5``   frame-level continuous labels (``/<utt>`` frames × dims)
``meta.json``   corpus, synthetic, sample rate, protocol, counts, serkit version

In memory :class:`DataDir` keeps ``wav_scp`` as utterance → :class:`WavEntry` (a cut
carries its ``start``/``end`` and ``recording``) and gender per utterance. :func:`load`
raises a :class:`SerkitError` on the first malformed line (``file:line`` and the fix),
while :mod:`serkit.validate` collects every problem.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from serkit import __version__
from serkit.errors import SerkitError

UTT_MAPS = ("utt2spk", "utt2sess", "utt2emo")
TEXT_FILES = ("text", "text.asr")
#: Every file name serkit writes into a data dir (:func:`save`, the corpora's extra files, the
#: aligner's ``words.ctm``); anything else there is the user's and is never deleted.
DATA_DIR_FILES = (
    "wav.scp", "segments", "utt2spk", "spk2utt", "spk2gender", "utt2gender", "utt2sess", "utt2emo",
    "utt2dur", "reco2dur", *TEXT_FILES, "words.ctm", "meta.json", "labels.h5", "turns", "utt2vad",
    "utt2intensity", "utt2presence",
)  # fmt: skip
GENDERS = ("f", "m")
REGENERATE = "regenerate it with serkit prepare-data (this serkit keeps cuts in 'segments')"


def byte_key(s: str) -> bytes:
    """Sort key giving ``LC_ALL=C`` order."""
    return s.encode("utf-8")


def sorted_ids(ids: Iterable[str]) -> list[str]:
    return sorted(ids, key=byte_key)


def bad_id(name: str) -> str | None:
    """Why ``name`` cannot be an utterance, speaker or recording id (None if it can).

    Kaldi's tables take any token without white space or control characters; serkit's HDF5 stores
    also name a group after each id, which ``/``, ``.`` and ``..`` cannot be. A leading ``-`` is
    fine (Kaldi and lhotse accept it).
    """
    if not name:
        return "is empty"
    if any(c.isspace() for c in name):
        return "holds white space"
    if not name.isprintable():
        return "holds a control character"
    if "/" in name:
        return "holds '/'"
    if name in (".", ".."):
        return "is '.' or '..'"
    return None


@dataclass(frozen=True)
class WavEntry:
    """The audio of one utterance: a file, a cut of a recording (``start``/``end`` in s), or a pipe."""

    path: str
    start: float | None = None
    end: float | None = None
    is_pipe: bool = False
    recording: str | None = None

    def source(self) -> str:
        """The ``wav.scp`` value: the path, or the command followed by ``|``."""
        return f"{self.path} |" if self.is_pipe else self.path

    def to_field(self) -> str:
        """One-line description: the source, and the cut times for a cut."""
        if self.start is None:
            return self.source()
        return f"{self.source()} {_fmt_time(self.start)} {_fmt_time(self.end)}"


@dataclass(frozen=True)
class CtmWord:
    """One ``words.ctm`` record (times relative to the utterance start)."""

    start: float
    dur: float
    word: str
    channel: str = "1"

    @property
    def end(self) -> float:
        return self.start + self.dur


@dataclass
class DataDir:
    """The parsed content of a data dir. Missing optional files are empty dicts."""

    wav_scp: dict[str, WavEntry] = field(default_factory=dict)
    utt2spk: dict[str, str] = field(default_factory=dict)
    utt2sess: dict[str, str] = field(default_factory=dict)
    utt2gender: dict[str, str] = field(default_factory=dict)
    utt2emo: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    text_asr: dict[str, str] = field(default_factory=dict)
    words_ctm: dict[str, list[CtmWord]] = field(default_factory=dict)
    utt2dur: dict[str, float] = field(default_factory=dict)
    reco2dur: dict[str, float] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def utts(self) -> list[str]:
        return sorted_ids(self.wav_scp)

    def recording(self, utt: str) -> str:
        """The recording id of an utterance (the utterance itself for a whole file)."""
        return self.wav_scp[utt].recording or utt

    @property
    def has_segments(self) -> bool:
        return any(e.start is not None for e in self.wav_scp.values())

    def spk2utt(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for utt in sorted_ids(self.utt2spk):
            out.setdefault(self.utt2spk[utt], []).append(utt)
        return {spk: out[spk] for spk in sorted_ids(out)}

    def spk2gender(self) -> dict[str, str]:
        """Gender per speaker, from ``utt2gender`` (a speaker with two genders is an error)."""
        out: dict[str, str] = {}
        for utt in sorted_ids(self.utt2gender):
            spk = self.utt2spk.get(utt)
            if spk is None:
                continue
            if out.setdefault(spk, self.utt2gender[utt]) != self.utt2gender[utt]:
                raise SerkitError(
                    f"speaker {spk!r} has utterances of both genders (e.g. {utt!r})",
                    path=self.path,
                    hint="fix utt2spk or the gender of the utterance",
                )
        return out

    def labels_h5(self) -> Path | None:
        if self.path is None:
            return None
        p = self.path / "labels.h5"
        return p if p.exists() else None

    def __len__(self) -> int:
        return len(self.wav_scp)


# --------------------------------------------------------------------------- parsing

ErrorSink = Callable[[SerkitError], None]


def _raise(err: SerkitError) -> None:
    raise err


def _fmt_time(t: float | None) -> str:
    return f"{t:.3f}" if t is not None else ""


def fmt_duration(seconds: float) -> str:
    """Seconds with enough digits to give the exact sample count at any common rate."""
    return f"{seconds:.6f}".rstrip("0").rstrip(".")


def _parse_time(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def iter_lines(path: Path, on_error: ErrorSink = _raise) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` of a UTF-8 text file, reporting bad bytes and blank lines."""
    chunks = path.read_bytes().split(b"\n")
    if chunks[-1] == b"":
        chunks.pop()  # the final newline
    for number, chunk in enumerate(chunks, start=1):
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            on_error(
                SerkitError(
                    f"not UTF-8 (byte {exc.start})",
                    path=path,
                    line=number,
                    hint="re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                )
            )
            continue
        line = line.rstrip("\r")
        if not line.strip():
            on_error(SerkitError("empty line", path=path, line=number, hint="delete the empty line"))
            continue
        yield number, line


def check_order(path: Path, records: list[tuple[int, str]], on_error: ErrorSink, unique: bool = True) -> None:
    seen: dict[str, int] = {}
    previous: str | None = None
    for number, key in records:
        if unique and key in seen:
            on_error(
                SerkitError(
                    f"duplicate id {key!r} (first at line {seen[key]})",
                    path=path,
                    line=number,
                    hint="keep one record per id",
                )
            )
            continue
        seen.setdefault(key, number)
        if previous is not None and byte_key(key) < byte_key(previous):
            on_error(
                SerkitError(
                    f"not sorted: {key!r} comes after {previous!r}",
                    path=path,
                    line=number,
                    hint=f"sort it with: LC_ALL=C sort -k1,1 -s -o {path} {path}",
                )
            )
        previous = key


def read_map(
    path: Path, on_error: ErrorSink = _raise, allowed: Iterable[str] | None = None
) -> dict[str, str]:
    """Read a two-column ``key value`` file (utt2spk, utt2emo, spk2gender, ...)."""
    allowed_set = set(allowed) if allowed is not None else None
    out: dict[str, str] = {}
    keys: list[tuple[int, str]] = []
    for number, line in iter_lines(path, on_error):
        fields = line.split()
        if len(fields) != 2:
            on_error(
                SerkitError(
                    f"expected 2 fields 'id value', found {len(fields)}",
                    path=path,
                    line=number,
                    hint="one id and one value per line, separated by a space",
                )
            )
            continue
        key, value = fields
        if allowed_set is not None and value not in allowed_set:
            on_error(
                SerkitError(
                    f"value {value!r} is not one of {sorted(allowed_set)}",
                    path=path,
                    line=number,
                    hint="fix the value",
                )
            )
            continue
        keys.append((number, key))
        out.setdefault(key, value)
    check_order(path, keys, on_error)
    return out


def read_durations(path: Path, on_error: ErrorSink = _raise) -> dict[str, float]:
    """Read ``utt2dur`` / ``reco2dur``: ``id seconds`` with seconds > 0."""
    out: dict[str, float] = {}
    for key, value in read_map(path, on_error).items():
        seconds = _parse_time(value)
        if seconds is None or seconds <= 0:
            on_error(
                SerkitError(
                    f"duration {value!r} of {key!r} is not a positive number of seconds",
                    path=path,
                    line=_line_of(path, key),
                    hint="rerun prepare-data (durations come from the audio headers)",
                )
            )
            continue
        out[key] = seconds
    return out


def read_turns(path: Path, on_error: ErrorSink = _raise) -> dict[str, list[tuple[float, float]]]:
    """Read ``turns`` (SEWA): ``utt start end`` lines, the subject's speaking turns in seconds."""
    out: dict[str, list[tuple[float, float]]] = {}
    for number, line in iter_lines(path, on_error):
        fields = line.split()
        times = [_parse_time(f) for f in fields[1:]] if len(fields) == 3 else []
        if len(times) != 2 or None in times or times[0] > times[1]:
            on_error(
                SerkitError(
                    f"turn line {line!r} is not 'utt start end' with start <= end (seconds)",
                    path=path,
                    line=number,
                    hint="fix the line, or rerun prepare-data",
                )
            )
            continue
        out.setdefault(fields[0], []).append((times[0], times[1]))
    return out


def read_binary_rows(path: Path, names: list[str], on_error: ErrorSink = _raise) -> dict[str, np.ndarray]:
    """Read ``utt v1 .. vC`` rows of 0/1 values, one per name of ``names`` (``utt2presence``), as float32."""
    out: dict[str, np.ndarray] = {}
    keys: list[tuple[int, str]] = []
    for number, line in iter_lines(path, on_error):
        fields = line.split()
        if len(fields) != len(names) + 1:
            on_error(
                SerkitError(
                    f"expected an id and {len(names)} values ({' '.join(names)}), found {len(fields)} fields",
                    path=path,
                    line=number,
                    hint="write one 0/1 per class of task.classes, or set task.classes to the file's columns",
                )
            )
            continue
        bad = [v for v in fields[1:] if v not in ("0", "1")]
        if bad:
            on_error(
                SerkitError(
                    f"value {bad[0]!r} of {fields[0]!r} is not 0 or 1",
                    path=path,
                    line=number,
                    hint="write 1 where the class is present and 0 where it is not (rerun prepare-data)",
                )
            )
            continue
        keys.append((number, fields[0]))
        out.setdefault(fields[0], np.array([float(v) for v in fields[1:]], dtype=np.float32))
    check_order(path, keys, on_error)
    return out


def _line_of(path: Path, key: str) -> int | None:
    for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        if raw.split(maxsplit=1)[:1] == [key.encode("utf-8")]:
            return number
    return None


def read_text(path: Path, on_error: ErrorSink = _raise) -> dict[str, str]:
    """Read ``text`` / ``text.asr``: ``utt word word ...`` (an id alone is an empty transcript)."""
    out: dict[str, str] = {}
    keys: list[tuple[int, str]] = []
    for number, line in iter_lines(path, on_error):
        key, _, words = line.strip().partition(" ")
        keys.append((number, key))
        out.setdefault(key, " ".join(words.split()))
    check_order(path, keys, on_error)
    return out


def read_scp(path: Path, on_error: ErrorSink = _raise, allow_pipes: bool = False) -> dict[str, WavEntry]:
    """Read ``wav.scp`` as it is on disk: ``id path`` or ``id command |`` (id = utterance or recording)."""
    out: dict[str, WavEntry] = {}
    keys: list[tuple[int, str]] = []
    for number, line in iter_lines(path, on_error):
        key, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if not rest:
            on_error(
                SerkitError("no audio path after the id", path=path, line=number, hint="write 'utt path'")
            )
            continue
        if rest.endswith("|"):
            if not allow_pipes:
                on_error(
                    SerkitError(
                        "piped command in wav.scp",
                        path=path,
                        line=number,
                        hint="convert the audio to files, or pass --allow-pipes if you trust the command",
                    )
                )
                continue
            entry = WavEntry(rest[:-1].strip(), is_pipe=True)
        else:
            fields = rest.split()
            if len(fields) == 3 and all(_parse_time(f) is not None for f in fields[1:]):
                on_error(
                    SerkitError(
                        "cut 'id path start end' in wav.scp: the data dir was written by an older serkit",
                        path=path,
                        line=number,
                        hint=REGENERATE,
                    )
                )
                continue
            if len(fields) != 1:
                on_error(_scp_fields_error(path, number, key, fields))
                continue
            entry = WavEntry(fields[0])
        keys.append((number, key))
        out.setdefault(key, entry)
    check_order(path, keys, on_error)
    return out


def _scp_fields_error(path: Path, number: int, key: str, fields: list[str]) -> SerkitError:
    """A ``wav.scp`` line of more than two fields: a path with spaces if that file exists, else an id."""
    found = f"expected 2 fields 'id path', found {len(fields) + 1}"
    if Path(" ".join(fields)).exists():
        return SerkitError(
            f"{found}: the path {' '.join(fields)!r} holds spaces",
            path=path,
            line=number,
            hint="paths may not contain spaces; use a symlink",
        )
    guess = " ".join([key, *fields[:-1]])
    return SerkitError(
        f"{found}: is {guess!r} an id with white space?",
        path=path,
        line=number,
        hint="ids hold no white space (join the parts, e.g. with '_'); a path with spaces needs a symlink",
    )


def read_segments(
    path: Path, recordings: dict[str, WavEntry], on_error: ErrorSink = _raise
) -> dict[str, WavEntry]:
    """Read ``segments`` (``utt recording start end``) into utterance → cut of its recording."""
    out: dict[str, WavEntry] = {}
    keys: list[tuple[int, str]] = []
    for number, line in iter_lines(path, on_error):
        fields = line.split()
        if len(fields) != 4:
            on_error(
                SerkitError(
                    f"expected 4 fields 'utt recording start end', found {len(fields)}",
                    path=path,
                    line=number,
                    hint="one cut per line, times in seconds",
                )
            )
            continue
        utt, reco, start_s, end_s = fields
        start, end = _parse_time(start_s), _parse_time(end_s)
        if start is None or end is None:
            on_error(
                SerkitError(
                    f"unparsable cut times {start_s!r} {end_s!r}",
                    path=path,
                    line=number,
                    hint="write 'utt recording start end' with times in seconds",
                )
            )
            continue
        if start < 0 or end <= start:
            on_error(
                SerkitError(
                    f"bad cut: start {start} end {end}",
                    path=path,
                    line=number,
                    hint="need 0 <= start < end (seconds)",
                )
            )
            continue
        source = recordings.get(reco)
        if source is None:
            on_error(
                SerkitError(
                    f"recording {reco!r} is not in wav.scp",
                    path=path,
                    line=number,
                    hint="add the recording to wav.scp or drop the cut",
                )
            )
            continue
        keys.append((number, utt))
        out.setdefault(utt, replace(source, start=start, end=end, recording=reco))
    check_order(path, keys, on_error)
    return out


def read_wav_scp(path: Path, on_error: ErrorSink = _raise, allow_pipes: bool = False) -> dict[str, WavEntry]:
    """Utterance → audio of the data dir holding ``path`` (its ``wav.scp``), through ``segments`` if any."""
    table = read_scp(path, on_error, allow_pipes=allow_pipes)
    segments = path.with_name("segments")
    if segments.is_file():
        return read_segments(segments, table, on_error)
    return table


def read_ctm(path: Path, on_error: ErrorSink = _raise) -> dict[str, list[CtmWord]]:
    """Read ``words.ctm``: ``utt channel start dur word [confidence]``."""
    out: dict[str, list[CtmWord]] = {}
    previous: tuple[bytes, float] | None = None
    for number, line in iter_lines(path, on_error):
        fields = line.split()
        if len(fields) not in (5, 6):
            on_error(
                SerkitError(
                    f"expected 5 fields 'utt channel start dur word', found {len(fields)}",
                    path=path,
                    line=number,
                    hint="write one word per line",
                )
            )
            continue
        utt, channel, start_s, dur_s, word = fields[:5]
        start, dur = _parse_time(start_s), _parse_time(dur_s)
        if start is None or dur is None or start < 0 or dur < 0:
            on_error(
                SerkitError(
                    f"bad times start={start_s!r} dur={dur_s!r}",
                    path=path,
                    line=number,
                    hint="times are non-negative seconds",
                )
            )
            continue
        key = (byte_key(utt), start)
        if previous is not None and key < previous:
            on_error(
                SerkitError(
                    f"not sorted by utterance then start time at {utt!r} {start_s}",
                    path=path,
                    line=number,
                    hint=f"sort it with: LC_ALL=C sort -k1,1 -k3,3g -o {path} {path}",
                )
            )
        previous = key
        out.setdefault(utt, []).append(CtmWord(start, dur, word, channel))
    return out


def read_spk2utt(path: Path, on_error: ErrorSink = _raise) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    keys: list[tuple[int, str]] = []
    for number, line in iter_lines(path, on_error):
        fields = line.split()
        if len(fields) < 2:
            on_error(
                SerkitError("speaker without utterances", path=path, line=number, hint="regenerate spk2utt")
            )
            continue
        keys.append((number, fields[0]))
        out.setdefault(fields[0], fields[1:])
    check_order(path, keys, on_error)
    return out


def read_meta(path: Path, on_error: ErrorSink = _raise) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        on_error(
            SerkitError(f"not valid UTF-8 JSON: {exc}", path=path, line=line, hint="fix or regenerate it")
        )
        return {}
    if not isinstance(meta, dict):
        on_error(SerkitError("meta.json must hold a JSON object", path=path, hint="regenerate it"))
        return {}
    return meta


def load(
    path: str | Path,
    on_error: ErrorSink = _raise,
    allow_pipes: bool = False,
    files: Iterable[str] | None = None,
) -> DataDir:
    """Parse a data dir. ``wav.scp`` is required; every other file is optional.

    ``files`` names the optional files to parse besides ``wav.scp`` and ``meta.json`` (None: all of
    them), for a command that uses only those (``words.ctm`` of a large corpus takes seconds).
    """
    root = Path(path)
    wanted = None if files is None else set(files)

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    if not root.is_dir():
        raise SerkitError("data dir not found", path=root, hint="run the data preparation stage first")
    wav = root / "wav.scp"
    if not wav.is_file():
        raise SerkitError("no wav.scp in the data dir", path=root, hint="a data dir needs at least wav.scp")
    data = DataDir(path=root)
    data.wav_scp = read_wav_scp(wav, on_error, allow_pipes=allow_pipes)
    for name in UTT_MAPS:
        f = root / name
        if want(name) and f.is_file():
            setattr(data, name, read_map(f, on_error))
    if want("spk2gender") and (root / "spk2gender").is_file():
        genders = read_map(root / "spk2gender", on_error, GENDERS)
        data.utt2gender = {u: genders[s] for u, s in data.utt2spk.items() if s in genders}
    elif want("utt2gender") and (root / "utt2gender").is_file():  # an older serkit's file
        data.utt2gender = read_map(root / "utt2gender", on_error, GENDERS)
    for name in ("utt2dur", "reco2dur"):
        if want(name) and (root / name).is_file():
            setattr(data, name, read_durations(root / name, on_error))
    for name in TEXT_FILES:
        f = root / name
        if want(name) and f.is_file():
            setattr(data, name.replace(".", "_"), read_text(f, on_error))
    if want("words.ctm") and (root / "words.ctm").is_file():
        data.words_ctm = read_ctm(root / "words.ctm", on_error)
    if (root / "meta.json").is_file():
        data.meta = read_meta(root / "meta.json", on_error)
    return data


def by_utterance(data: DataDir, records: dict[str, object]) -> dict[str, object]:
    """``records`` keyed by utterance id, accepting the corpus' own ids (the id without ``speaker-``)."""
    corpus_ids = {}
    for utt, spk in data.utt2spk.items():
        if utt.startswith(spk + "-"):
            corpus_ids[utt[len(spk) + 1 :]] = utt
    out = {}
    for key, value in records.items():
        utt = key if key in data.wav_scp else corpus_ids.get(key)
        if utt is not None:
            out[utt] = value
    return out


# --------------------------------------------------------------------------- audio facts


def measure(data: DataDir) -> None:
    """Fill ``reco2dur`` and ``meta['sample_rate']`` from the audio headers (each file once).

    ``utt2dur`` follows from these and the cut times when the dir is saved (:func:`_durations`).
    """
    from serkit import audio

    facts: dict[str, tuple[int, float]] = {}
    for utt in data.utts:
        entry = data.wav_scp[utt]
        whole = WavEntry(entry.path, is_pipe=entry.is_pipe)
        if whole.source() not in facts:
            facts[whole.source()] = audio.audio_info(whole)
        data.reco2dur[data.recording(utt)] = facts[whole.source()][1]
    rates = sorted({rate for rate, _ in facts.values()})
    data.meta["sample_rate"] = rates[0] if len(rates) == 1 else None
    if len(rates) > 1:
        data.meta["sample_rates"] = rates


def _durations(data: DataDir) -> tuple[dict[str, float], dict[str, float]] | None:
    """``(utt2dur, reco2dur)`` from memory, cut times or audio headers; None if some audio is unreadable."""
    from serkit import audio

    utt2dur: dict[str, float] = {}
    reco2dur: dict[str, float] = {}
    try:
        for utt in data.utts:
            entry = data.wav_scp[utt]
            reco = data.recording(utt)
            if reco not in reco2dur:
                known = data.reco2dur.get(reco)
                if known is None and entry.start is None:
                    known = data.utt2dur.get(utt)
                if known is None:
                    known = audio.audio_info(WavEntry(entry.path, is_pipe=entry.is_pipe))[1]
                reco2dur[reco] = known
            if utt in data.utt2dur:
                utt2dur[utt] = data.utt2dur[utt]
            elif entry.start is not None:
                utt2dur[utt] = round(entry.end - entry.start, 6)
            else:
                utt2dur[utt] = reco2dur[reco]
    except SerkitError:
        return None
    return utt2dur, reco2dur


# --------------------------------------------------------------------------- writing


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")
    os.replace(tmp, path)


def _map_lines(mapping: dict[str, str]) -> Iterator[str]:
    for key in sorted_ids(mapping):
        yield f"{key} {mapping[key]}"


def _check_ids(data: DataDir) -> None:
    for kind, ids in (
        ("utterance", data.wav_scp),
        ("speaker", set(data.utt2spk.values())),
        ("recording", {e.recording for e in data.wav_scp.values() if e.recording}),
    ):
        for name in ids:
            why = bad_id(name)
            if why:
                raise SerkitError(
                    f"invalid {kind} id {name!r}: it {why}",
                    path=data.path,
                    hint="ids must be non-empty, without white space or '/', and not '.' or '..'",
                )


def _scp_and_segments(data: DataDir, utt2dur: dict[str, float] | None) -> tuple[list[str], list[str]]:
    """The ``wav.scp`` and ``segments`` lines (no segments when no utterance is a cut)."""
    if not data.has_segments:
        return [f"{u} {data.wav_scp[u].source()}" for u in data.utts], []
    sources: dict[str, str] = {}
    segments = []
    for utt in data.utts:
        entry = data.wav_scp[utt]
        reco = data.recording(utt)
        if sources.setdefault(reco, entry.source()) != entry.source():
            raise SerkitError(
                f"recording {reco!r} names two sources ({sources[reco]} and {entry.source()})",
                path=data.path,
                hint="give each recording one path",
            )
        if entry.start is not None:
            start, end = entry.start, entry.end
        elif utt2dur is not None:
            start, end = 0.0, utt2dur[utt]
        else:
            raise SerkitError(
                f"{utt}: a whole-file utterance among cuts needs its duration, and the audio is unreadable",
                path=entry.path,
                hint="check the path",
            )
        segments.append(f"{utt} {reco} {_fmt_time(start)} {_fmt_time(end)}")
    return [f"{r} {sources[r]}" for r in sorted_ids(sources)], segments


def save(data: DataDir, path: str | Path, meta_extra: dict | None = None) -> Path:
    """Write every non-empty part of ``data`` in byte order, derive ``spk2utt``, write ``meta.json``.

    ``utt2dur``/``reco2dur`` come from memory, the cut times or the audio headers; they are left out
    only when some audio cannot be read.
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    _check_ids(data)
    durations = _durations(data)
    scp, segments = _scp_and_segments(data, durations[0] if durations else None)
    _write_lines(root / "wav.scp", scp)
    files: dict[str, list[str]] = {"segments": segments}
    for name in UTT_MAPS:
        files[name] = list(_map_lines(getattr(data, name)))
    files["spk2utt"] = [f"{s} {' '.join(us)}" for s, us in data.spk2utt().items()]
    files["spk2gender"] = list(_map_lines(data.spk2gender()))
    if durations is not None:
        for name, table in zip(("utt2dur", "reco2dur"), durations, strict=True):
            files[name] = [f"{k} {fmt_duration(table[k])}" for k in sorted_ids(table)]
    for name in dict.fromkeys((*files, "utt2dur", "reco2dur", "utt2gender")):
        lines = files.get(name)
        if lines:
            _write_lines(root / name, lines)
        elif (root / name).exists():
            (root / name).unlink()  # nothing to say, or an earlier format's file
    for name in TEXT_FILES:
        mapping = getattr(data, name.replace(".", "_"))
        if mapping:
            _write_lines(root / name, (f"{u} {mapping[u]}".rstrip() for u in sorted_ids(mapping)))
    if data.words_ctm:
        _write_lines(root / "words.ctm", _ctm_lines(data.words_ctm))
    meta = dict(data.meta)
    meta.update(meta_extra or {})
    meta["num_utterances"] = len(data)
    if data.utt2spk:
        meta["num_speakers"] = len(set(data.utt2spk.values()))
    if data.utt2emo:
        counts: dict[str, int] = {}
        for label in data.utt2emo.values():
            counts[label] = counts.get(label, 0) + 1
        meta["class_counts"] = {k: counts[k] for k in sorted(counts)}
    meta["serkit_version"] = __version__
    tmp = root / ".meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, root / "meta.json")
    data.path = root
    return root


def _ctm_lines(ctm: dict[str, list[CtmWord]]) -> Iterator[str]:
    for utt in sorted_ids(ctm):
        for w in sorted(ctm[utt], key=lambda w: w.start):
            yield f"{utt} {w.channel} {_fmt_time(w.start)} {_fmt_time(w.dur)} {w.word}"


# --------------------------------------------------------------------------- subsets, splits

PER_ID_FIELDS = ("wav_scp", *UTT_MAPS, "utt2gender", "text", "text_asr", "words_ctm", "utt2dur", "reco2dur")
#: meta.json keys a combined dir keeps even where its parts disagree (the first part's value).
SHARED_META = ("corpus", "protocol", "classes")


def subset(data: DataDir, utts: Iterable[str]) -> DataDir:
    """The records of ``utts`` only, and the recordings they use (ids not in ``data`` are an error)."""
    keep = set(utts)
    missing = keep - set(data.wav_scp)
    if missing:
        example = sorted_ids(missing)[0]
        raise SerkitError(
            f"{len(missing)} requested ids are not in the data dir (e.g. {example!r})",
            path=data.path,
            hint="check the id list",
        )

    def pick(mapping: dict) -> dict:
        return {k: v for k, v in mapping.items() if k in keep}

    recordings = {data.recording(u) for u in keep}
    return replace(
        data,
        wav_scp=pick(data.wav_scp),
        utt2spk=pick(data.utt2spk),
        utt2sess=pick(data.utt2sess),
        utt2gender=pick(data.utt2gender),
        utt2emo=pick(data.utt2emo),
        text=pick(data.text),
        text_asr=pick(data.text_asr),
        words_ctm=pick(data.words_ctm),
        utt2dur=pick(data.utt2dur),
        reco2dur={r: d for r, d in data.reco2dur.items() if r in recordings},
        meta=dict(data.meta),
        path=None,
    )


def combine(parts: Iterable[DataDir]) -> DataDir:
    """Union of data dirs; an id present in two parts is an error. ``meta.json`` keys the parts share stay."""
    out = DataDir()
    metas = []
    for part in parts:
        clash = set(part.wav_scp) & set(out.wav_scp)
        if clash:
            raise SerkitError(
                f"id {sorted_ids(clash)[0]!r} is in more than one data dir",
                path=part.path,
                hint="ids must be unique across the combined dirs",
            )
        for name in PER_ID_FIELDS:
            getattr(out, name).update(getattr(part, name))
        metas.append(part.meta)
    out.meta = _shared_meta(metas)
    return out


def _shared_meta(metas: list[dict]) -> dict:
    if not metas:
        return {}
    first = metas[0]
    meta = {k: v for k, v in first.items() if all(m.get(k) == v for m in metas[1:])}
    for key in SHARED_META:
        if key in first and key not in meta:
            meta[key] = first[key]
    if any("synthetic" in m for m in metas):
        meta["synthetic"] = any(m.get("synthetic") for m in metas)
    if any("sample_rate" in m for m in metas) and "sample_rate" not in meta:
        meta["sample_rate"] = None
    sets = [m["set"] for m in metas if "set" in m]
    if len(sets) > 1 and "set" not in meta:
        meta["combined_sets"] = sets
    return meta


def split_by(data: DataDir, key: str, values: Iterable[str]) -> DataDir:
    """The utterances whose speaker (``key='spk'``) or session (``key='sess'``) is in ``values``."""
    mapping = {"spk": data.utt2spk, "sess": data.utt2sess}.get(key)
    if mapping is None:
        raise SerkitError(f"unknown split key {key!r}", hint="use 'spk' or 'sess'")
    if not mapping:
        raise SerkitError(f"the data dir has no utt2{key}", path=data.path, hint=f"write utt2{key} first")
    wanted = set(values)
    return subset(data, [u for u in data.utts if mapping.get(u) in wanted])


def split_even(data: DataDir, parts: int) -> list[DataDir]:
    """Split into ``parts`` contiguous chunks of (nearly) equal utterance counts, as Kaldi's split_data."""
    if parts < 1:
        raise SerkitError(f"cannot split into {parts} parts", hint="use --nj 1 or more")
    utts = data.utts
    if parts > len(utts):
        raise SerkitError(
            f"cannot split {len(utts)} utterances into {parts} jobs",
            path=data.path,
            hint=f"use --nj {max(1, len(utts))} or fewer",
        )
    bounds = split_bounds(len(utts), parts)
    return [subset(data, utts[bounds[i] : bounds[i + 1]]) for i in range(parts)]


def split_bounds(count: int, parts: int) -> list[int]:
    """Where :func:`split_even` cuts ``count`` utterances into ``parts``: part n (from 1) is
    ``[bounds[n - 1], bounds[n])``."""
    return [round(i * count / parts) for i in range(parts + 1)]


def write_labels(
    path: str | Path, labels: dict[str, np.ndarray], frame_rate: float, names: list[str]
) -> Path:
    """Write ``labels.h5``: ``/<utt>`` float32 frames × dims, root attrs ``frame_rate`` and ``names``."""
    import h5py

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with h5py.File(tmp, "w") as f:
        f.attrs["frame_rate"] = float(frame_rate)
        f.attrs["names"] = list(names)
        for utt in sorted_ids(labels):
            array = np.asarray(labels[utt], dtype=np.float32)
            if array.ndim != 2 or array.shape[1] != len(names):
                raise ValueError(f"{utt}: labels must be frames × {len(names)}, got {array.shape}")
            f.create_dataset(utt, data=array, track_times=False)
    os.replace(tmp, path)
    return path


def read_labels(path: str | Path, utts: Iterable[str] | None = None) -> tuple[dict, float, list[str]]:
    """Read ``labels.h5`` → (``{utt: frames × dims}``, frame rate, dimension names)."""
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            frame_rate = float(f.attrs["frame_rate"])
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in f.attrs["names"]]
            keys = list(f) if utts is None else [u for u in utts if u in f]
            return {u: f[u][()] for u in keys}, frame_rate, names
    except (OSError, KeyError) as exc:
        raise SerkitError(f"unreadable labels.h5 ({exc})", path=path, hint="rerun prepare-data") from None


def copy_labels(src: DataDir, dst: Path) -> None:
    """Write ``dst/labels.h5`` holding the frame labels of ``src`` for the utterances of ``dst``."""
    labels_file = src.labels_h5()
    if labels_file is None:
        return
    keep = read_wav_scp(dst / "wav.scp", allow_pipes=True)
    labels, frame_rate, names = read_labels(labels_file, keep)
    write_labels(dst / "labels.h5", labels, frame_rate, names)

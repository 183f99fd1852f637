"""``serkit validate-data``: every problem of a data dir, each with file:line and a fix.

Checks what Kaldi's ``utils/validate_data_dir.sh --no-feats`` checks — UTF-8 lines ending in a
newline, sorted unique ids, ``utt2spk`` sorted by speaker as well (speaker ids prefix utterance ids),
``spk2utt`` = ``utt2spk``, the same utterances in every per-utterance file (``segments``, ``text``,
``utt2dur``, ``feats.scp``, ...), ``segments`` ↔ ``wav.scp`` ↔ ``reco2dur`` recordings, ``spk2gender``
m/f per speaker, printable ``text`` without ``<s>``/``</s>``/``#0``, no ``~`` paths — plus serkit's
own rules: ids without ``/``, white space, control characters, ``.`` or ``..`` (they name HDF5
groups); labels inside the class map; durations and sample rate matching the audio headers; audio
readable and long enough; ``words.ctm`` words inside their utterance; ``labels.h5`` shaped as
DESIGN §3 says.

A file with a malformed line is not compared with the others (its ids are incomplete, and every
comparison would repeat the one problem). Without the audio (``--no-audio``) the lengths come from
``utt2dur`` and ``reco2dur``: a ``words.ctm`` word may end :data:`CTM_END_TOLERANCE_S` past
``utt2dur``, a cut in ``segments`` :data:`serkit.audio.CUT_END_TOLERANCE_S` past ``reco2dur``
(what reading the cut allows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from serkit import audio, datadir
from serkit.errors import SerkitError

#: How far a ctm word may run past the end of its audio (rounding of 10 ms frames).
CTM_END_TOLERANCE_S = 0.02
#: How far utt2dur / reco2dur may differ from the audio (they are written with 6 decimals).
DURATION_TOLERANCE_S = 0.002
#: Problems of one kind reported line by line before the rest are counted in one line.
MAX_REPORTED = 20
ID_RULE = "ids hold no white space, '/' or control character and are not '.' or '..'; rename it"
#: Kaldi's optional per-utterance, per-speaker and per-recording files.
UTT_FILES = ("feats.scp", "vad.scp", "utt2lang", "utt2uniq", "utt2num_frames", "utt2warp")
SPK_FILES = ("cmvn.scp", "spk2warp")
ILLEGAL_WORDS = ("<s>", "</s>", "#0")
TEXT_WHITESPACE = ("\t", " ")
KALDI_FILES = (
    "wav.scp", "segments", "utt2spk", "spk2utt", "spk2gender", "utt2sess", "utt2emo", "utt2dur",
    "reco2dur", "text", "text.asr", "words.ctm", "reco2file_and_channel", *UTT_FILES, *SPK_FILES,
)  # fmt: skip


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    message: str
    hint: str
    severity: str = "error"  # or "warning"

    def format(self) -> str:
        return SerkitError(self.message, path=self.path, line=self.line, hint=self.hint).format()


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def __call__(self, err: SerkitError) -> None:
        self.problems.append(Problem(err.path or "", err.line, err.message, err.hint or ""))

    def add(self, path: Path, line: int | None, message: str, hint: str, severity: str = "error") -> None:
        self.problems.append(Problem(str(path), line, message, hint, severity))

    def add_many(self, path: Path, items: list[tuple[int | None, str]], hint: str) -> None:
        """One problem per ``(line, message)``, the ones past :data:`MAX_REPORTED` counted in one."""
        for line, message in items[:MAX_REPORTED]:
            self.add(path, line, message, hint)
        if len(items) > MAX_REPORTED:
            self.add(path, None, f"... and {len(items) - MAX_REPORTED} more lines like these", hint)


def _first_lines(path: Path) -> dict[str, int]:
    """id → line number of its first record (for pointing at cross-file problems)."""
    index: dict[str, int] = {}
    if not path.is_file():
        return index
    for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        fields = raw.decode("utf-8", errors="replace").split(maxsplit=1)
        if fields:
            index.setdefault(fields[0], number)
    return index


def validate(
    path: str | Path, *, check_audio: bool = True, min_duration: float = 0.1, allow_pipes: bool = False
) -> list[Problem]:
    """All problems of the data dir at ``path`` (errors and warnings), in file order."""
    root = Path(path)
    sink = _Collector()
    try:
        data = datadir.load(root, on_error=sink, allow_pipes=allow_pipes)
    except SerkitError as err:
        sink(err)
        return sink.problems
    utts = set(data.wav_scp)
    utt_file = root / ("segments" if (root / "segments").is_file() else "wav.scp")
    utt_lines = _first_lines(utt_file)
    for name in UTT_FILES:
        if (root / name).is_file():
            _keys(sink, root / name)
    broken = {Path(p.path).name for p in sink.problems}
    if "wav.scp" in broken:
        broken.add(utt_file.name)
    _check_newlines(sink, root)

    _check_ids(sink, root, data, utt_file, utt_lines)
    if not (root / "utt2spk").is_file():
        sink.add(root / "utt2spk", None, "utt2spk is missing", "write one 'utt speaker' line per utterance")
    elif not (root / "spk2utt").is_file():
        sink.add(
            root / "spk2utt", None, "spk2utt is missing", "write it with serkit (or utt2spk_to_spk2utt.pl)"
        )
    if not (root / "text").is_file():
        hint = "Kaldi's validate_data_dir.sh needs --no-text then"
        sink.add(root / "text", None, "text is missing", hint, severity="warning")
    per_utt = {
        "utt2spk": set(data.utt2spk),
        "utt2sess": set(data.utt2sess),
        "utt2emo": set(data.utt2emo),
        "utt2dur": set(data.utt2dur),
        "text": set(data.text),
        "text.asr": set(data.text_asr),
    }
    for name in UTT_FILES:
        if (root / name).is_file():
            per_utt[name] = _keys(lambda err: None, root / name)
    for name, ids in per_utt.items():
        if (root / name).is_file() and not {name, utt_file.name} & broken:
            _check_same_ids(sink, root / name, ids, utts, utt_file, utt_lines)
    if "utt2spk" not in broken:
        _check_speaker_order(sink, root, data)
        _check_spk2utt(sink, root, data)
        _check_speaker_files(sink, root, data, broken)
    if utt_file.name not in broken:
        _check_recordings(sink, root, data, broken)
    _check_text(sink, root)
    _check_labels(sink, root, data)
    if check_audio:
        durations = _check_audio(sink, root, data, utt_file, utt_lines, min_duration)
    else:
        durations = dict(data.utt2dur)
        _check_cuts(sink, root, data, utt_file, utt_lines)
    _check_ctm(sink, root, data, utts, durations, check_ids=utt_file.name not in broken)
    _check_labels_h5(sink, root, utts)
    return sink.problems


def _check_newlines(sink: _Collector, root: Path) -> None:
    for name in KALDI_FILES:
        path = root / name
        if path.is_file() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            lines = path.read_bytes().count(b"\n") + 1
            sink.add(path, lines, "the last line has no newline", f"append one: echo >> {path}")


def _keys(sink: _Collector, path: Path) -> set[str]:
    records = [(n, line.split()[0]) for n, line in datadir.iter_lines(path, sink)]
    datadir.check_order(path, records, sink)
    return {key for _, key in records}


def _check_ids(
    sink: _Collector, root: Path, data: datadir.DataDir, utt_file: Path, utt_lines: dict[str, int]
) -> None:
    bad = []
    for utt in data.utts:
        why = datadir.bad_id(utt)
        if why:
            bad.append((utt_lines.get(utt), f"utterance id {utt!r} {why}"))
    sink.add_many(utt_file, bad, ID_RULE)
    spk_lines = _first_lines(root / "utt2spk")
    bad, unprefixed, bad_speakers = [], [], set()
    for utt in datadir.sorted_ids(data.utt2spk):
        spk = data.utt2spk[utt]
        why = datadir.bad_id(spk)
        if why:
            if spk not in bad_speakers:
                bad.append((spk_lines.get(utt), f"speaker id {spk!r} {why}"))
            bad_speakers.add(spk)
        elif utt != spk and not utt.startswith(spk + "-") and not datadir.bad_id(utt):
            unprefixed.append((spk_lines.get(utt), f"utterance id {utt!r} does not begin with '{spk}-'"))
    sink.add_many(root / "utt2spk", bad, ID_RULE)
    sink.add_many(
        root / "utt2spk",
        unprefixed,
        "utterance ids begin with their speaker id and '-' (rerun prepare-data)",
    )
    if (root / "segments").is_file():
        reco_lines = _first_lines(root / "wav.scp")
        bad = []
        for reco in datadir.sorted_ids({data.recording(u) for u in data.utts}):
            why = datadir.bad_id(reco)
            if why:
                bad.append((reco_lines.get(reco), f"recording id {reco!r} {why}"))
        sink.add_many(root / "wav.scp", bad, "rename the recording in wav.scp and segments")


def _check_same_ids(
    sink: _Collector, path: Path, ids: set[str], utts: set[str], utt_file: Path, utt_lines: dict[str, int]
) -> None:
    lines = _first_lines(path)
    sink.add_many(
        path,
        [(lines.get(u), f"id {u!r} is not in {utt_file.name}") for u in datadir.sorted_ids(ids - utts)],
        f"remove the line or add the audio to {utt_file.name}",
    )
    sink.add_many(
        utt_file,
        [
            (utt_lines.get(u), f"id {u!r} has no record in {path.name}")
            for u in datadir.sorted_ids(utts - ids)
        ],
        f"add a line for it to {path.name}, or remove it from {utt_file.name}",
    )


def _check_speaker_order(sink: _Collector, root: Path, data: datadir.DataDir) -> None:
    """Kaldi's rule: utt2spk sorted by utterance is sorted by speaker too (``sort -k2 -C``)."""
    lines = _first_lines(root / "utt2spk")
    out_of_order = []
    previous = None
    for utt in datadir.sorted_ids(data.utt2spk):
        spk = data.utt2spk[utt]
        if previous is not None and datadir.byte_key(spk) < datadir.byte_key(previous[1]):
            out_of_order.append(
                (
                    lines.get(utt),
                    f"not sorted by speaker: {utt!r} ({spk}) comes after {previous[0]!r} ({previous[1]})",
                )
            )
        previous = (utt, spk)
    sink.add_many(
        root / "utt2spk",
        out_of_order,
        "make speaker ids prefixes of utterance ids ('<speaker>-...'), as prepare-data does",
    )


def _check_spk2utt(sink: _Collector, root: Path, data: datadir.DataDir) -> None:
    path = root / "spk2utt"
    if not path.is_file() or not data.utt2spk:
        return
    parse_errors = _Collector()
    given = datadir.read_spk2utt(path, on_error=parse_errors)
    if parse_errors.problems:
        sink.problems.extend(parse_errors.problems)
        return
    expected = data.spk2utt()
    lines = _first_lines(path)
    fix = "regenerate spk2utt from utt2spk (serkit writes it for you; or utils/utt2spk_to_spk2utt.pl)"
    for spk in datadir.sorted_ids(set(given) | set(expected)):
        mine, theirs = given.get(spk, []), expected.get(spk, [])
        if sorted(mine) != sorted(theirs):
            sink.add(
                path, lines.get(spk), f"speaker {spk!r} lists other utterances than utt2spk gives it", fix
            )
        elif mine != theirs:
            sink.add(path, lines.get(spk), f"the utterances of speaker {spk!r} are not sorted", fix)


def _check_speaker_files(sink: _Collector, root: Path, data: datadir.DataDir, broken: set[str]) -> None:
    speakers = set(data.utt2spk.values())
    files = {}
    for name in SPK_FILES:
        if (root / name).is_file():
            parse_errors = _Collector()
            files[name] = _keys(parse_errors, root / name)
            sink.problems.extend(parse_errors.problems)
            if parse_errors.problems:
                broken.add(name)
    if (root / "spk2gender").is_file():
        files["spk2gender"] = set(datadir.read_map(root / "spk2gender", lambda err: None))
    for name, ids in files.items():
        if name in broken:
            continue
        lines = _first_lines(root / name)
        sink.add_many(
            root / name,
            [(lines.get(s), f"speaker {s!r} is not in utt2spk") for s in datadir.sorted_ids(ids - speakers)],
            "remove the line",
        )
        sink.add_many(
            root / name,
            [(None, f"speaker {s!r} has no line") for s in datadir.sorted_ids(speakers - ids)],
            f"add a line for every speaker of utt2spk to {name}",
        )


def _check_recordings(sink: _Collector, root: Path, data: datadir.DataDir, broken: set[str]) -> None:
    """``segments`` uses every ``wav.scp`` recording; ``reco2dur`` and ``reco2file_and_channel`` list them."""
    segmented = (root / "segments").is_file()
    used = {data.recording(u) for u in data.utts} if segmented else set(data.wav_scp)
    table = datadir.read_scp(root / "wav.scp", lambda err: None, allow_pipes=True)
    lines = _first_lines(root / "wav.scp")
    tilde = [
        (lines.get(r), f"the path of {r!r} begins with '~'") for r, e in table.items() if e.path[:1] == "~"
    ]
    sink.add_many(root / "wav.scp", tilde, "write the full path (nothing expands '~' there)")
    if segmented:
        unused = datadir.sorted_ids(set(table) - used)
        sink.add_many(
            root / "wav.scp",
            [(lines.get(r), f"recording {r!r} is used by no segment") for r in unused],
            "remove the line (subset-data and combine-data keep only the recordings in use)",
        )
    for name in ("reco2dur", "reco2file_and_channel"):
        if not (root / name).is_file() or name in broken:
            continue
        ids = set(data.reco2dur) if name == "reco2dur" else _reco2file_and_channel(sink, root / name)
        lines = _first_lines(root / name)
        kind = "recording" if segmented else "utterance"
        sink.add_many(
            root / name,
            [(lines.get(r), f"{kind} {r!r} is not in the data dir") for r in datadir.sorted_ids(ids - used)],
            "remove the line",
        )
        sink.add_many(
            root / name,
            [(None, f"{kind} {r!r} has no line") for r in datadir.sorted_ids(used - ids)],
            f"add a line for it (rerun prepare-data to rewrite {name})",
        )
    if not (root / "reco2dur").is_file() or not (root / "utt2dur").is_file():
        sink.add(
            root, None, "utt2dur or reco2dur is missing", "rerun prepare-data (it writes both)", "warning"
        )


def _reco2file_and_channel(sink: _Collector, path: Path) -> set[str]:
    ids = set()
    for number, line in datadir.iter_lines(path, sink):
        fields = line.split()
        if len(fields) != 3 or fields[2] not in ("A", "B", "1"):
            sink.add(path, number, "expected 'recording file channel' with channel A or B", "fix the line")
        ids.add(fields[0])
    return ids


def _check_text(sink: _Collector, root: Path) -> None:
    """Kaldi's text rules: printable characters, plain white space, no ``<s>``, ``</s>``, ``#0``."""
    for name in ("text", "text.asr"):
        path = root / name
        if not path.is_file():
            continue
        bad = []
        for number, line in datadir.iter_lines(path, lambda err: None):
            if "\r" in line or any(c.isspace() and c not in TEXT_WHITESPACE for c in line):
                bad.append((number, "a white-space character other than space or tab"))
            elif any(not (c.isprintable() or c in TEXT_WHITESPACE) for c in line):
                bad.append((number, "a non-printable character"))
            illegal = sorted(set(line.split()[1:]) & set(ILLEGAL_WORDS))
            if illegal:
                bad.append((number, f"the reserved symbol {illegal[0]!r}"))
        sink.add_many(
            path, [(n, f"the line holds {what}") for n, what in bad], "remove it from the transcript"
        )


def _check_labels(sink: _Collector, root: Path, data: datadir.DataDir) -> None:
    classes = data.meta.get("classes")
    if not data.utt2emo or not classes:
        return
    lines = _first_lines(root / "utt2emo")
    allowed = set(classes)
    for utt in datadir.sorted_ids(data.utt2emo):
        label = data.utt2emo[utt]
        if label not in allowed:
            sink.add(
                root / "utt2emo",
                lines.get(utt),
                f"label {label!r} is not in the class map {sorted(allowed)} of meta.json",
                "map it to a known class or drop the utterance (prepare-data --class-map)",
            )


def _check_audio(
    sink: _Collector,
    root: Path,
    data: datadir.DataDir,
    utt_file: Path,
    utt_lines: dict[str, int],
    min_duration: float,
) -> dict[str, float]:
    """Open each recording once: readable, the meta.json sample rate, reco2dur, cuts, utt2dur, length."""
    wav_lines = _first_lines(root / "wav.scp")
    rate_expected = data.meta.get("sample_rate")
    facts: dict[str, tuple[int, float] | None] = {}
    durations: dict[str, float] = {}
    for utt in data.utts:
        entry = data.wav_scp[utt]
        reco = data.recording(utt)
        if reco not in facts:
            facts[reco] = _recording_facts(sink, root, data, reco, entry, wav_lines.get(reco), rate_expected)
        if facts[reco] is None:
            continue
        file_duration = facts[reco][1]
        duration = file_duration
        if entry.start is not None:
            if entry.start >= file_duration or entry.end > file_duration + audio.CUT_END_TOLERANCE_S:
                sink.add(
                    utt_file,
                    utt_lines.get(utt),
                    f"{utt}: cut {entry.start}-{entry.end} s lies outside {reco} ({file_duration:.3f} s)",
                    "fix the cut times",
                )
                continue
            duration = min(entry.end, file_duration) - entry.start
        written = data.utt2dur.get(utt)
        if written is not None and abs(written - duration) > DURATION_TOLERANCE_S:
            sink.add(
                root / "utt2dur",
                _first_lines(root / "utt2dur").get(utt),
                f"{utt}: utt2dur says {written} s, the audio is {duration:.6f} s",
                "rerun prepare-data to rewrite utt2dur",
            )
        if duration < min_duration:
            sink.add(
                utt_file,
                utt_lines.get(utt),
                f"{utt}: audio is {duration:.3f} s, shorter than {min_duration} s",
                "drop the utterance, or lower --min-duration",
            )
        durations[utt] = duration
    return durations


def _check_cuts(
    sink: _Collector, root: Path, data: datadir.DataDir, utt_file: Path, utt_lines: dict[str, int]
) -> None:
    """Without the audio: each cut of ``segments`` inside its recording's ``reco2dur``."""
    for utt in data.utts:
        entry = data.wav_scp[utt]
        written = data.reco2dur.get(data.recording(utt))
        if entry.start is None or written is None:
            continue
        if entry.start >= written or entry.end > written + audio.CUT_END_TOLERANCE_S:
            sink.add(
                utt_file,
                utt_lines.get(utt),
                f"{utt}: cut {entry.start}-{entry.end} s lies outside {data.recording(utt)} "
                f"({written} s in reco2dur)",
                "fix the cut times (or reco2dur, if it is the one that is wrong)",
            )


def _recording_facts(
    sink: _Collector,
    root: Path,
    data: datadir.DataDir,
    reco: str,
    entry: datadir.WavEntry,
    line: int | None,
    rate_expected: object,
) -> tuple[int, float] | None:
    try:
        rate, seconds = audio.audio_info(datadir.WavEntry(entry.path, is_pipe=entry.is_pipe))
    except SerkitError as err:
        sink.add(root / "wav.scp", line, f"{reco}: {err.message} ({entry.path})", err.hint or "")
        return None
    if isinstance(rate_expected, int) and rate != rate_expected:
        sink.add(
            root / "wav.scp",
            line,
            f"{reco}: audio is {rate} Hz, meta.json says sample_rate {rate_expected}",
            "rerun prepare-data",
        )
    written = data.reco2dur.get(reco)
    if written is not None and abs(written - seconds) > DURATION_TOLERANCE_S:
        sink.add(
            root / "reco2dur",
            _first_lines(root / "reco2dur").get(reco),
            f"{reco}: reco2dur says {written} s, the audio is {seconds:.6f} s",
            "rerun prepare-data to rewrite reco2dur",
        )
    return rate, seconds


def _check_ctm(
    sink: _Collector,
    root: Path,
    data: datadir.DataDir,
    utts: set[str],
    durations: dict[str, float],
    check_ids: bool = True,
) -> None:
    """Words inside their utterance (``durations``: from the audio, or ``utt2dur``), of known ids."""
    path = root / "words.ctm"
    if not path.is_file():
        return
    for line, text in datadir.iter_lines(path, on_error=lambda err: None):
        fields = text.split()
        if len(fields) < 5:
            continue  # reported by the parser
        utt, word = fields[0], fields[4]
        if utt not in utts:
            if check_ids:
                sink.add(path, line, f"id {utt!r} is not in the data dir", "drop its ctm lines")
            continue
        try:
            end = float(fields[2]) + float(fields[3])
        except ValueError:
            continue  # reported by the parser
        limit = durations.get(utt)
        if limit is not None and end > limit + CTM_END_TOLERANCE_S:
            sink.add(
                path,
                line,
                f"word {word!r} ends at {end:.3f} s, after the end of {utt} ({limit:.3f} s)",
                "ctm times are relative to the utterance start; fix or re-align",
            )
    missing = utts - set(data.words_ctm)
    if missing:
        sink.add(
            path,
            None,
            f"{len(missing)} utterances have no word alignment (e.g. {datadir.sorted_ids(missing)[0]})",
            "fine if the corpus lacks them; recipes that need words skip those utterances",
            severity="warning",
        )


def _check_labels_h5(sink: _Collector, root: Path, utts: set[str]) -> None:
    path = root / "labels.h5"
    if not path.is_file():
        return
    import h5py

    try:
        with h5py.File(path, "r") as f:
            for key in ("frame_rate", "names"):
                if key not in f.attrs:
                    sink.add(
                        path, None, f"labels.h5 has no root attribute {key!r}", "rewrite it with prepare-data"
                    )
            for utt in f:
                if utt not in utts:
                    sink.add(path, None, f"/{utt} is not in the data dir", "drop it or add the audio")
                elif f[utt].ndim != 2:
                    sink.add(path, None, f"/{utt} is not frames × dims", "rewrite it with prepare-data")
    except OSError as exc:
        sink.add(path, None, f"unreadable HDF5 ({exc})", "rewrite it with prepare-data")

"""``serkit validate-data``: every problem of a data dir, each with file:line and a fix.

Checks: UTF-8, one record a line, no duplicate ids, byte-order sorting, the
same ids in every per-utterance file, ``spk2utt`` ↔ ``utt2spk``, labels inside
the class map of ``meta.json``, ``words.ctm`` words inside their utterance,
audio readable and long enough, ``labels.h5`` shaped as DESIGN §3 says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from serkit import audio, datadir
from serkit.errors import SerkitError

#: How far a ctm word may run past the end of its audio (rounding of 10 ms frames).
CTM_END_TOLERANCE_S = 0.02


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


def _first_lines(path: Path) -> dict[str, int]:
    """id → line number of its first record (for pointing at cross-file problems)."""
    index: dict[str, int] = {}
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
    wav_lines = _first_lines(root / "wav.scp")

    if not data.utt2spk:
        sink.add(root / "utt2spk", None, "utt2spk is missing", "write one 'utt speaker' line per utterance")
    for name, mapping in (
        ("utt2spk", data.utt2spk),
        ("utt2sess", data.utt2sess),
        ("utt2gender", data.utt2gender),
        ("utt2emo", data.utt2emo),
        ("text", data.text),
        ("text.asr", data.text_asr),
    ):
        if not (root / name).is_file():
            continue
        _check_same_ids(sink, root / name, set(mapping), utts, wav_lines)
    _check_spk2utt(sink, root, data)
    _check_labels(sink, root, data)
    durations = _check_audio(sink, root, data, wav_lines, min_duration) if check_audio else {}
    _check_ctm(sink, root, data, utts, durations)
    _check_labels_h5(sink, root, utts)
    return sink.problems


def _check_same_ids(
    sink: _Collector, path: Path, ids: set[str], utts: set[str], wav_lines: dict[str, int]
) -> None:
    lines = _first_lines(path)
    for utt in datadir.sorted_ids(ids - utts):
        sink.add(
            path,
            lines.get(utt),
            f"id {utt!r} is not in wav.scp",
            "remove the line or add the audio to wav.scp",
        )
    for utt in datadir.sorted_ids(utts - ids):
        sink.add(
            path.parent / "wav.scp",
            wav_lines.get(utt),
            f"id {utt!r} has no record in {path.name}",
            f"add a line for it to {path.name}, or remove it from wav.scp",
        )


def _check_spk2utt(sink: _Collector, root: Path, data: datadir.DataDir) -> None:
    path = root / "spk2utt"
    if not path.is_file() or not data.utt2spk:
        return
    given = datadir.read_spk2utt(path, on_error=sink)
    expected = data.spk2utt()
    lines = _first_lines(path)
    for spk in datadir.sorted_ids(set(given) | set(expected)):
        if sorted(given.get(spk, [])) != sorted(expected.get(spk, [])):
            sink.add(
                path,
                lines.get(spk),
                f"speaker {spk!r} lists other utterances than utt2spk gives it",
                "regenerate spk2utt from utt2spk (serkit writes it for you; or utils/utt2spk_to_spk2utt.pl)",
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
    sink: _Collector, root: Path, data: datadir.DataDir, wav_lines: dict[str, int], min_duration: float
) -> dict[str, float]:
    durations: dict[str, float] = {}
    for utt in data.utts:
        entry = data.wav_scp[utt]
        try:
            rate, duration = audio.audio_info(entry)
        except SerkitError as err:
            sink.add(
                root / "wav.scp", wav_lines.get(utt), f"{utt}: {err.message} ({entry.path})", err.hint or ""
            )
            continue
        if entry.start is not None:
            file_duration = audio.audio_info(datadir.WavEntry(entry.path))[1]
            if entry.start >= file_duration or entry.end > file_duration + audio.CUT_END_TOLERANCE_S:
                sink.add(
                    root / "wav.scp",
                    wav_lines.get(utt),
                    f"{utt}: cut {entry.start}-{entry.end} s lies outside {entry.path} "
                    f"({file_duration:.3f} s)",
                    "fix the cut times",
                )
                continue
        if duration < min_duration:
            sink.add(
                root / "wav.scp",
                wav_lines.get(utt),
                f"{utt}: audio is {duration:.3f} s, shorter than {min_duration} s",
                "drop the utterance, or lower --min-duration",
            )
        durations[utt] = duration
    return durations


def _check_ctm(
    sink: _Collector, root: Path, data: datadir.DataDir, utts: set[str], durations: dict[str, float]
) -> None:
    path = root / "words.ctm"
    if not path.is_file():
        return
    for line, text in datadir.iter_lines(path, on_error=lambda err: None):
        fields = text.split()
        if len(fields) < 5:
            continue  # reported by the parser
        utt, word = fields[0], fields[4]
        if utt not in utts:
            sink.add(path, line, f"id {utt!r} is not in wav.scp", "drop its ctm lines")
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
                    sink.add(path, None, f"/{utt} is not in wav.scp", "drop it or add the audio")
                elif f[utt].ndim != 2:
                    sink.add(path, None, f"/{utt} is not frames × dims", "rewrite it with prepare-data")
    except OSError as exc:
        sink.add(path, None, f"unreadable HDF5 ({exc})", "rewrite it with prepare-data")

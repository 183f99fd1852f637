"""Kaldi-style data directories (DESIGN §3): read, write, subset, combine, split.

A data dir is a folder of plain UTF-8 text files, one record a line, sorted by
utterance id in byte order (``LC_ALL=C``):

``wav.scp``     ``utt path`` or ``utt path start end`` (seconds), or ``utt cmd |`` (``allow_pipes``)
``utt2spk``     ``utt speaker`` (``spk2utt`` is always derived from it)
``utt2sess``    ``utt session``            ``utt2gender``  ``utt m|f``
``text``        ``utt word word ...``      ``text.asr``    same, from ASR
``words.ctm``   ``utt channel start dur word`` (seconds, relative to the utterance)
``utt2emo``     ``utt label``
``labels.h5``   frame-level continuous labels (``/<utt>`` frames × dims)
``meta.json``   corpus, protocol (class map, split rule), counts, serkit version

:class:`DataDir` holds the parsed files in memory; :func:`load` raises a
:class:`SerkitError` on the first malformed line (``file:line`` and the fix),
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

UTT_MAPS = ("utt2spk", "utt2sess", "utt2gender", "utt2emo")
TEXT_FILES = ("text", "text.asr")
GENDERS = ("f", "m")


def byte_key(s: str) -> bytes:
    """Sort key giving ``LC_ALL=C`` order."""
    return s.encode("utf-8")


def sorted_ids(ids: Iterable[str]) -> list[str]:
    return sorted(ids, key=byte_key)


@dataclass(frozen=True)
class WavEntry:
    """One ``wav.scp`` record: a file, a cut of one (``start``/``end`` in s), or a pipe."""

    path: str
    start: float | None = None
    end: float | None = None
    is_pipe: bool = False

    def to_field(self) -> str:
        if self.start is None:
            return self.path
        return f"{self.path} {_fmt_time(self.start)} {_fmt_time(self.end)}"


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
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def utts(self) -> list[str]:
        return sorted_ids(self.wav_scp)

    def spk2utt(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for utt in sorted_ids(self.utt2spk):
            out.setdefault(self.utt2spk[utt], []).append(utt)
        return {spk: out[spk] for spk in sorted_ids(out)}

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


def _check_order(
    path: Path, records: list[tuple[int, str]], on_error: ErrorSink, unique: bool = True
) -> None:
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
    """Read a two-column ``key value`` file (utt2spk, utt2emo, ...)."""
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
    _check_order(path, keys, on_error)
    return out


def read_text(path: Path, on_error: ErrorSink = _raise) -> dict[str, str]:
    """Read ``text`` / ``text.asr``: ``utt word word ...`` (an id alone is an empty transcript)."""
    out: dict[str, str] = {}
    keys: list[tuple[int, str]] = []
    for number, line in iter_lines(path, on_error):
        key, _, words = line.strip().partition(" ")
        keys.append((number, key))
        out.setdefault(key, " ".join(words.split()))
    _check_order(path, keys, on_error)
    return out


def read_wav_scp(path: Path, on_error: ErrorSink = _raise, allow_pipes: bool = False) -> dict[str, WavEntry]:
    """Read ``wav.scp``: ``utt path``, ``utt path start end`` or ``utt command |``."""
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
            if len(fields) == 1:
                entry = WavEntry(fields[0])
            elif len(fields) == 3:
                start, end = _parse_time(fields[1]), _parse_time(fields[2])
                if start is None or end is None:
                    on_error(
                        SerkitError(
                            f"unparsable cut times {fields[1]!r} {fields[2]!r}",
                            path=path,
                            line=number,
                            hint="write 'utt path start end' with times in seconds",
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
                entry = WavEntry(fields[0], start, end)
            else:
                on_error(
                    SerkitError(
                        f"expected 'utt path' or 'utt path start end', found {len(fields) + 1} fields",
                        path=path,
                        line=number,
                        hint="paths may not contain spaces; use a symlink",
                    )
                )
                continue
        keys.append((number, key))
        out.setdefault(key, entry)
    _check_order(path, keys, on_error)
    return out


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
    _check_order(path, keys, on_error)
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


def load(path: str | Path, on_error: ErrorSink = _raise, allow_pipes: bool = False) -> DataDir:
    """Parse a data dir. ``wav.scp`` is required; every other file is optional."""
    root = Path(path)
    if not root.is_dir():
        raise SerkitError("data dir not found", path=root, hint="run the data preparation stage first")
    wav = root / "wav.scp"
    if not wav.is_file():
        raise SerkitError("no wav.scp in the data dir", path=root, hint="a data dir needs at least wav.scp")
    data = DataDir(path=root)
    data.wav_scp = read_wav_scp(wav, on_error, allow_pipes=allow_pipes)
    for name in UTT_MAPS:
        f = root / name
        if f.is_file():
            setattr(data, name, read_map(f, on_error, GENDERS if name == "utt2gender" else None))
    for name in TEXT_FILES:
        f = root / name
        if f.is_file():
            setattr(data, name.replace(".", "_"), read_text(f, on_error))
    if (root / "words.ctm").is_file():
        data.words_ctm = read_ctm(root / "words.ctm", on_error)
    if (root / "meta.json").is_file():
        data.meta = read_meta(root / "meta.json", on_error)
    return data


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


def _check_id(utt: str) -> None:
    if not utt or any(c.isspace() for c in utt) or "/" in utt:
        raise SerkitError(
            f"invalid utterance id {utt!r}", hint="ids must be non-empty, without white space or '/'"
        )


def save(data: DataDir, path: str | Path, meta_extra: dict | None = None) -> Path:
    """Write every non-empty part of ``data`` in byte order, derive ``spk2utt``, write ``meta.json``."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for utt in data.wav_scp:
        _check_id(utt)
    _write_lines(root / "wav.scp", (f"{u} {data.wav_scp[u].to_field()}" for u in data.utts))
    for name in UTT_MAPS:
        mapping = getattr(data, name)
        if mapping:
            _write_lines(root / name, _map_lines(mapping))
        elif (root / name).exists():
            (root / name).unlink()
    if data.utt2spk:
        _write_lines(root / "spk2utt", (f"{s} {' '.join(us)}" for s, us in data.spk2utt().items()))
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


def subset(data: DataDir, utts: Iterable[str]) -> DataDir:
    """The records of ``utts`` only (ids not in ``data`` are an error)."""
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
        meta=dict(data.meta),
        path=None,
    )


def combine(parts: Iterable[DataDir]) -> DataDir:
    """Union of data dirs; an id present in two parts is an error."""
    out = DataDir()
    for part in parts:
        clash = set(part.wav_scp) & set(out.wav_scp)
        if clash:
            raise SerkitError(
                f"id {sorted_ids(clash)[0]!r} is in more than one data dir",
                path=part.path,
                hint="ids must be unique across the combined dirs",
            )
        for name in ("wav_scp", *UTT_MAPS, "text", "text_asr", "words_ctm"):
            getattr(out, name).update(getattr(part, name))
        if not out.meta:
            out.meta = dict(part.meta)
    return out


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
    bounds = [round(i * len(utts) / parts) for i in range(parts + 1)]
    return [subset(data, utts[bounds[i] : bounds[i + 1]]) for i in range(parts)]


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

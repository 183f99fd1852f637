"""CMU-MOSEI (SDK ``.csd`` files + the raw ``CMU_MOSEI.zip`` tree) → Kaldi-style data dirs (datasets.md §2).

Decisions (a recipe README repeats them):

* **Files**: the labels ``.csd`` (``CMU_MOSEI_Labels.csd``; also ``CMU_MOSEI_All_Labels.csd`` and the
  legacy six-column ``CMU_MOSEI_LabelsEmotions.csd``) and ``CMU_MOSEI_TimestampedWords.csd`` are looked for
  in SRC, SRC/labels, SRC/language(s) (and the same under CMU_MOSEI/ or CMU-MOSEI/), or given with
  ``--labels-csd``/``--words-csd``. Each ``.csd`` must hold exactly one top-level group (its name is read,
  not assumed). The raw tree is ``SRC/Raw``, ``SRC/CMU_MOSEI/Raw`` or SRC itself (s3prl's ``mv Raw``).
* **Utterances**: one per label row. Id = ``<video>-<row>`` with the row index in the labels ``.csd``
  zero-padded to 3 digits (the SDK calls it ``<video>[row]``); ids are strings everywhere (numeric ids and
  ids starting with ``-`` or containing ``__`` stay as they are). Speaker and ``utt2sess`` = the video id
  (MOSEI has no speaker labels), so the speaker prefixes the id (Kaldi's sort rule). No ``spk2gender``.
* **Audio**: ``wav.scp`` lists ``Raw/Audio/Full/WAV_16000/<video>.wav`` by video, ``segments`` the cuts:
  a negative start is clamped to 0, an end past the file to its length (rounded down to the ms); a cut
  shorter than 0.1 s after that is dropped. All counted. ``reco2dur``, ``utt2dur`` and the sample rate
  come from the headers.
* **Labels** (column order ``sentiment, happy, sad, anger, surprise, disgust, fear``, from the file's
  ``dimension names`` where present): ``utt2intensity`` keeps the raw values (``utt sentiment happy ...``;
  no clamping of the > 3 AMT values); ``utt2presence`` the official multi-label target, 1 where an
  emotion > 0 (``utt happy sad anger surprise disgust fear``); ``utt2emo`` the single label of Lee et al.
  (top-1 emotion): codes hap, sad, ang, sur, dis, fea. ``--tie-rule first`` (default) gives a tie to the
  first emotion in column order (numpy argmax), ``drop`` drops tied rows; ``--all-zero drop`` (default)
  drops rows with no emotion, ``neutral`` labels them ``neu`` — use ``--all-zero neutral`` to keep every
  label row (e.g. for multi-label training on ``utt2presence``).
* **Text**: the segmented transcript line whose (start, end) equals the label row's (within 1 ms), parsed
  by stripping ``<video>___`` and splitting the rest into 4 at ``___`` (ids and text may contain ``__``
  and ``_____``); with ``--text-source auto`` the words ``.csd`` (``sp`` dropped) fills in rows without a
  matching line. Normalised by :mod:`serkit.text.normalize`.
* **words.ctm**: words of the words ``.csd`` whose midpoint lies in the cut, times relative to the cut.
* **Sets**: ``--folds standard`` uses the SDK folds (:mod:`serkit.corpora.mosei_folds`; valid → ``dev``), or
  a file of ``<video> <train|valid|dev|test>`` lines. Labelled videos in no fold and fold videos without
  labels or audio are counted and listed in ``meta.json``. The protocol scores on ``dev`` (the paper's
  "validation") and ``test``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serkit import audio
from serkit.corpora.mosei_folds import STANDARD_FOLDS
from serkit.corpora.prepared import (
    CountTable,
    PrepareResult,
    SkipLog,
    clear_data_dir,
    is_mini_corpus,
    protocol,
    write_set,
)
from serkit.datadir import CtmWord, DataDir, WavEntry
from serkit.errors import SerkitError
from serkit.text.normalize import normalize, tokenize

CORPUS = "mosei"
EMOTIONS = ("happy", "sad", "anger", "surprise", "disgust", "fear")
EMOTION_CODES = {
    "happy": "hap",
    "sad": "sad",
    "anger": "ang",
    "surprise": "sur",
    "disgust": "dis",
    "fear": "fea",
}
NEUTRAL = "neu"
LABEL_COLUMNS = ("sentiment", *EMOTIONS)
NAME_SYNONYMS = {"happiness": "happy", "sadness": "sad", "angry": "anger", "disgusted": "disgust"}
LABEL_FILES = ("CMU_MOSEI_Labels.csd", "CMU_MOSEI_All_Labels.csd", "CMU_MOSEI_LabelsEmotions.csd")
WORD_FILES = ("CMU_MOSEI_TimestampedWords.csd",)
CSD_FOLDERS = ("", "labels", "language", "languages")
TOP_FOLDERS = ("", "CMU_MOSEI", "CMU-MOSEI")
RAW_FOLDERS = ("Raw", "CMU_MOSEI/Raw", "CMU-MOSEI/Raw", "")
AUDIO_PATH = Path("Audio/Full/WAV_16000")
TRANSCRIPT_PATH = Path("Transcript/Segmented/Combined")
SILENCE = "sp"
TIME_MATCH_S = 1e-3
MIN_SEGMENT_S = 0.1
SET_NAMES = {"train": "train", "valid": "dev", "dev": "dev", "test": "test"}
TIE_RULES = ("first", "drop")
ALL_ZERO_RULES = ("drop", "neutral")
TEXT_SOURCES = ("auto", "transcript", "words")
#: Label rows per standard fold in the current labels .csd (datasets.md §2.5).
PUBLISHED_FOLD_ROWS = {"train": 16327, "dev": 1871, "test": 4662}

ProgressCallback = Callable[[int, int], None]


@dataclass
class ComputationalSequence:
    """One ``.csd`` file: its root group name, metadata and ``video → (features, intervals)``."""

    path: Path
    root: str
    metadata: dict
    data: dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class TranscriptLine:
    segment: int
    start: float
    end: float
    text: str


# --------------------------------------------------------------------------- readers


def _metadata_value(dataset) -> object:
    value = dataset[()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return str(value)


def read_csd(path: Path) -> ComputationalSequence:
    """Read an SDK computational sequence (HDF5: one top-level group with ``data/`` and ``metadata/``)."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise SerkitError(
            f"not a readable .csd (HDF5) file: {exc}", path=path, hint="re-download it"
        ) from None
    with handle:
        roots = list(handle.keys())
        if len(roots) != 1:
            raise SerkitError(
                f"expected exactly one top-level group, found {roots}",
                path=path,
                hint="give the SDK's .csd file as downloaded",
            )
        group = handle[roots[0]]
        if "data" not in group:
            raise SerkitError(
                f"no '{roots[0]}/data' group", path=path, hint="give the SDK's .csd file as downloaded"
            )
        metadata = {k: _metadata_value(v) for k, v in group.get("metadata", {}).items()}
        data = {}
        for video in group["data"]:
            entry = group["data"][video]
            features, intervals = entry["features"][()], entry["intervals"][()]
            if (
                intervals.ndim != 2
                or intervals.shape[1] != 2
                or features.ndim < 2
                or len(features) != len(intervals)
            ):
                raise SerkitError(
                    f"/{roots[0]}/data/{video}: features {features.shape} and intervals {intervals.shape} "
                    "do not match",
                    path=path,
                    hint="intervals must be (n, 2) and features (n, d) with the same n",
                )
            data[str(video)] = (features, intervals.astype(np.float64))
    return ComputationalSequence(path, roots[0], metadata, data)


def label_columns(labels: ComputationalSequence) -> tuple[str, ...]:
    """Column names of the labels ``.csd``: its ``dimension names`` if usable, else by column count."""
    width = next((f.shape[1] for f, _ in labels.data.values()), len(LABEL_COLUMNS))
    named = labels.metadata.get("dimension names")
    if isinstance(named, list) and len(named) == width:
        names = tuple(NAME_SYNONYMS.get(str(n).strip().lower(), str(n).strip().lower()) for n in named)
        if set(EMOTIONS) <= set(names):
            return names
    if width == len(LABEL_COLUMNS):
        return LABEL_COLUMNS
    if width == len(EMOTIONS):
        return EMOTIONS
    raise SerkitError(
        f"cannot tell the label columns: {width} columns and no usable 'dimension names'",
        path=labels.path,
        hint="expected 7 columns [sentiment, happy, sad, anger, surprise, disgust, fear]",
    )


def read_transcript(path: Path) -> list[TranscriptLine]:
    """Lines ``<video>___<segment>___<start>___<end>___<text>`` of one segmented transcript."""
    prefix = f"{path.stem}___"
    out = []
    for number, line in enumerate(path.read_bytes().decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        if not line.startswith(prefix):
            raise SerkitError(
                f"line does not start with '{prefix}'",
                path=path,
                line=number,
                hint="lines are <video>___<segment>___<start>___<end>___<text>",
            )
        fields = line[len(prefix) :].split("___", 3)
        if len(fields) != 4:
            raise SerkitError(
                f"expected 5 '___'-separated fields, found {len(fields) + 1}",
                path=path,
                line=number,
                hint="lines are <video>___<segment>___<start>___<end>___<text>",
            )
        segment, start, end, text = fields
        try:
            out.append(TranscriptLine(int(segment), float(start), float(end), text.strip()))
        except ValueError:
            raise SerkitError(
                f"unparsable segment number or times {segment!r} {start!r} {end!r}",
                path=path,
                line=number,
                hint="segment is an integer, start and end are seconds",
            ) from None
    return out


def read_fold_file(path: Path) -> dict[str, str]:
    """``video → train|dev|test`` from ``<video> <train|valid|dev|test>`` lines (``#`` comments)."""
    if not path.is_file():
        raise SerkitError(
            "fold file not found", path=path, hint="give 'standard' or a file of '<video> <set>' lines"
        )
    folds: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in SET_NAMES:
            raise SerkitError(
                f"expected '<video> <train|valid|dev|test>', found {line.strip()!r}",
                path=path,
                line=number,
                hint="one video id and its set per line",
            )
        video, name = fields
        if video in folds and folds[video] != SET_NAMES[name]:
            raise SerkitError(
                f"video {video!r} is in two sets",
                path=path,
                line=number,
                hint="each video belongs to one set",
            )
        folds[video] = SET_NAMES[name]
    return folds


def standard_folds() -> dict[str, str]:
    """``video → train|dev|test`` of the SDK's standard folds."""
    return {video: SET_NAMES[name] for name, videos in STANDARD_FOLDS.items() for video in videos}


# --------------------------------------------------------------------------- single and multi label


def top1(emotions: np.ndarray, tie_rule: str = "first", all_zero: str = "drop") -> tuple[str | None, str]:
    """``(code, why)`` of the single-label target; code None when the row is dropped (``why`` says why)."""
    top = float(np.max(emotions))
    if top <= 0:
        return (NEUTRAL, "") if all_zero == "neutral" else (None, "no emotion present (all six are 0)")
    winners = np.flatnonzero(np.isclose(emotions, top, rtol=0, atol=1e-6))
    if len(winners) > 1 and tie_rule == "drop":
        return None, "tied top emotions"
    return EMOTION_CODES[EMOTIONS[int(winners[0])]], ""


def _fmt(value: float) -> str:
    return f"{value:.6f}" if math.isfinite(value) else "nan"


# --------------------------------------------------------------------------- locating files


def _find_file(src: Path, names: tuple[str, ...]) -> Path | None:
    for top in TOP_FOLDERS:
        for folder in CSD_FOLDERS:
            for name in names:
                candidate = src / top / folder / name
                if candidate.is_file():
                    return candidate
    return None


def _find_raw(src: Path) -> Path:
    for folder in RAW_FOLDERS:
        if (src / folder / AUDIO_PATH).is_dir():
            return src / folder
    raise SerkitError(
        "no CMU-MOSEI audio folder found",
        path=src / "Raw" / AUDIO_PATH,
        hint="expected SRC/Raw/Audio/Full/WAV_16000 (unzip CMU_MOSEI.zip into SRC)",
    )


# --------------------------------------------------------------------------- preparation


def _words_in(words: ComputationalSequence | None, video: str, start: float, end: float) -> list[CtmWord]:
    if words is None or video not in words.data:
        return []
    features, intervals = words.data[video]
    out = []
    for raw, (w_start, w_end) in zip(features[:, 0], intervals, strict=True):
        token = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        if token == SILENCE or not start <= (w_start + w_end) / 2 <= end:
            continue
        pieces = tokenize(token)
        w_start, w_end = max(w_start, start) - start, min(w_end, end) - start
        step = max(w_end - w_start, 0.0) / max(len(pieces), 1)
        for k, piece in enumerate(pieces):
            out.append(CtmWord(round(w_start + k * step, 3), round(step, 3), piece))
    return sorted(out, key=lambda w: w.start)


def _match(lines: list[TranscriptLine], start: float, end: float) -> TranscriptLine | None:
    best = None
    for line in lines:
        gap = max(abs(line.start - start), abs(line.end - end))
        if gap <= TIME_MATCH_S and (best is None or gap < best[0]):
            best = (gap, line)
    return best[1] if best else None


@dataclass
class Sources:
    """Where the corpus' parts are: labels and words ``.csd`` files, audio and transcript folders."""

    labels: Path
    words: Path | None
    audio: Path
    transcripts: Path


def locate(
    src: Path, labels_csd: str | Path | None, words_csd: str | Path | None, text_source: str
) -> Sources:
    """Find the ``.csd`` files and the raw tree under ``src`` (or take the given files)."""
    if not src.is_dir():
        raise SerkitError(
            "CMU-MOSEI folder not found", path=src, hint="give the folder holding the .csd files and Raw/"
        )
    labels = Path(labels_csd) if labels_csd else _find_file(src, LABEL_FILES)
    if labels is None or not labels.is_file():
        raise SerkitError(
            "labels .csd not found",
            path=labels or src / "labels" / LABEL_FILES[0],
            hint="expected SRC/labels/CMU_MOSEI_Labels.csd, or pass --labels-csd FILE",
        )
    if words_csd and not Path(words_csd).is_file():
        raise SerkitError("words .csd not found", path=words_csd, hint="check --words-csd")
    words = Path(words_csd) if words_csd else _find_file(src, WORD_FILES)
    raw = _find_raw(src)
    transcripts = raw / TRANSCRIPT_PATH
    if text_source == "transcript" and not transcripts.is_dir():
        raise SerkitError(
            "segmented transcripts not found",
            path=transcripts,
            hint="unzip the transcripts, or use --text-source words",
        )
    if text_source == "words" and words is None:
        raise SerkitError(
            "words .csd not found", path=src / "language" / WORD_FILES[0], hint="pass --words-csd"
        )
    return Sources(labels, words, raw / AUDIO_PATH, transcripts)


@dataclass
class _Segments:
    """Label rows turned into utterances of the three sets, with what was skipped or repaired."""

    emotion_index: list[int]
    words: ComputationalSequence | None
    tie_rule: str
    all_zero: str
    text_source: str
    skips: SkipLog = field(default_factory=SkipLog)
    sets: dict[str, DataDir] = field(default_factory=lambda: {n: DataDir() for n in ("train", "dev", "test")})
    intensity: dict[str, str] = field(default_factory=dict)
    presence: dict[str, str] = field(default_factory=dict)
    text_from: Counter = field(default_factory=Counter)

    def add_video(self, video: str, data: DataDir, features, intervals, wav: Path, script: list) -> None:
        duration = audio.audio_info(WavEntry(str(wav)))[1]
        last_ms = math.floor(duration * 1000) / 1000
        for row, (values, (start, end)) in enumerate(zip(features, intervals, strict=True)):
            utt = f"{video}-{row:03d}"
            emotions = np.asarray([float(values[i]) for i in self.emotion_index])
            code, why = top1(emotions, self.tie_rule, self.all_zero)
            if code is None:
                self.skips.add(f"{why} (row dropped)", utt)
                continue
            cut_start, cut_end = max(float(start), 0.0), min(float(end), duration)
            if start < 0:
                self.skips.add("negative start clamped to 0 (kept)", utt)
            if end > duration:
                self.skips.add("end past the audio clamped to its length (kept)", utt)
            if cut_end - cut_start < MIN_SEGMENT_S:
                self.skips.add(f"cut shorter than {MIN_SEGMENT_S} s after clamping", utt)
                continue
            ctm = _words_in(self.words, video, cut_start, cut_end)
            data.text[utt] = self._text(utt, _match(script, float(start), float(end)), ctm)
            data.wav_scp[utt] = WavEntry(
                str(wav.resolve()), round(cut_start, 3), min(round(cut_end, 3), last_ms), recording=video
            )
            data.reco2dur[video] = duration
            data.utt2spk[utt] = video
            data.utt2sess[utt] = video
            data.utt2emo[utt] = code
            if ctm:
                data.words_ctm[utt] = ctm
            self.intensity[utt] = " ".join(_fmt(float(v)) for v in values)
            self.presence[utt] = " ".join("1" if v > 0 else "0" for v in emotions)

    def _text(self, utt: str, line: TranscriptLine | None, ctm: list[CtmWord]) -> str:
        if line is not None:
            self.text_from["transcript"] += 1
            return normalize(line.text)
        if self.text_source != "transcript" and ctm:
            self.text_from["words .csd"] += 1
            return " ".join(w.word for w in ctm)
        self.text_from["none"] += 1
        self.skips.add("label row without text (empty transcript)", utt)
        return ""


def prepare(
    src: str | Path,
    out: str | Path,
    *,
    folds: str = "standard",
    tie_rule: str = "first",
    all_zero: str = "drop",
    text_source: str = "auto",
    labels_csd: str | Path | None = None,
    words_csd: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> PrepareResult:
    """Write ``out/{train,dev,test}`` from the labels ``.csd`` and the raw tree; see the module doc."""
    for value, allowed, flag in (
        (tie_rule, TIE_RULES, "--tie-rule"),
        (all_zero, ALL_ZERO_RULES, "--all-zero"),
        (text_source, TEXT_SOURCES, "--text-source"),
    ):
        if value not in allowed:
            raise SerkitError(f"{flag} {value!r} is not one of {', '.join(allowed)}")
    src, out = Path(src), Path(out)
    where = locate(src, labels_csd, words_csd, text_source)
    labels = read_csd(where.labels)
    columns = label_columns(labels)
    words = read_csd(where.words) if where.words is not None else None
    fold_of = standard_folds() if folds == "standard" else read_fold_file(Path(folds))
    segments = _Segments([columns.index(e) for e in EMOTIONS], words, tie_rule, all_zero, text_source)
    skips = segments.skips
    fold_rows: Counter = Counter()
    videos = sorted(labels.data, key=lambda v: v.encode("utf-8"))
    for done, video in enumerate(videos, start=1):
        if progress is not None:
            progress(done, len(videos))
        features, intervals = labels.data[video]
        name = fold_of.get(video)
        if name is None:
            skips.add("labelled video in no fold (rows dropped)", video, len(features))
            continue
        fold_rows[name] += len(features)
        wav = where.audio / f"{video}.wav"
        if not wav.is_file():
            skips.add("labelled video without audio (rows dropped)", video, len(features))
            continue
        script_path = where.transcripts / f"{video}.txt"
        script = []
        if text_source != "words":
            if script_path.is_file():
                script = read_transcript(script_path)
            else:
                skips.add("video without segmented transcript", video)
        segments.add_video(video, segments.sets[name], features, intervals, wav, script)
    for video, name in sorted(fold_of.items()):
        if video not in labels.data:
            skips.add(f"{name} fold video without labels", video)
    sets, text_from = segments.sets, segments.text_from

    classes = [EMOTION_CODES[e] for e in EMOTIONS] + ([NEUTRAL] if all_zero == "neutral" else [])
    result = PrepareResult(CORPUS, out, classes=classes)
    standard = folds == "standard"
    mapping = {**EMOTION_CODES, **({"none": NEUTRAL} if all_zero == "neutral" else {})}
    block = protocol(
        class_map=mapping,
        split="SDK standard folds (valid -> dev)" if standard else f"fold file {folds}",
        folds=[],
        sets=[name for name, data in sets.items() if data.wav_scp],
        score=["dev", "test"],
        single_label=f"top-1 of the six emotion intensities; ties: {tie_rule}; all-zero rows: {all_zero}",
        multi_label="utt2presence: 1 where intensity > 0",
        utterance_id="<video>-<row>, row = index of the label row in the labels .csd (SDK <video>[row])",
        text_source=text_source,
        label_file=str(where.labels),
        label_columns=list(columns),
        words_file=str(where.words) if where.words else None,
    )
    common = {
        "corpus": CORPUS,
        "synthetic": is_mini_corpus(src, CORPUS),
        "classes": classes,
        "protocol": block,
        "emotion_names": list(EMOTIONS),
        "intensity_names": list(columns),
        "files": {
            "utt2intensity": f"raw label values: {' '.join(columns)}",
            "utt2presence": f"1 if the emotion's intensity > 0: {' '.join(EMOTIONS)}",
        },
        "label_rows_per_fold": dict(fold_rows),
        "text_from": dict(text_from),
        "skipped": skips.as_meta(),
        "source": str(src),
        # segments per set and in all: what RESULTS.md's corpus label counts
        "corpus_counts": {
            **{name: {"total": len(data)} for name, data in sets.items()},
            "total": {"total": sum(len(data) for data in sets.values())},
        },
    }
    if not any(sets.values()):
        raise SerkitError(
            "no label row is in a fold with audio",
            path=where.labels,
            hint="check --folds and the Raw/Audio/Full/WAV_16000 folder",
        )
    for name, data in sets.items():
        if not data.wav_scp:
            clear_data_dir(out / name)
            result.notes.append(f"{name}: no utterances; not written")
            continue
        data.meta = {**common, "set": name}
        result.sets.append(
            write_set(
                data, out / name, {"utt2intensity": segments.intensity, "utt2presence": segments.presence}
            )
        )
    rows = {name: {"label rows": fold_rows[name], "utterances": len(sets[name])} for name in sets}
    published = {n: {"label rows": c} for n, c in PUBLISHED_FOLD_ROWS.items()} if standard else None
    result.tables.append(
        CountTable(
            "CMU-MOSEI label rows per fold and utterances written",
            ["label rows", "utterances"],
            rows,
            published,
        )
    )
    if standard:
        if all(fold_rows[n] == c for n, c in PUBLISHED_FOLD_ROWS.items()):
            result.notes.append(
                "counts match the published label rows per standard fold (16,327 / 1,871 / 4,662)"
            )
        else:
            result.notes.append(
                "label rows per fold differ from the published 16,327 / 1,871 / 4,662: "
                f"{fold_rows['train']:,} / {fold_rows['dev']:,} / {fold_rows['test']:,}"
            )
    result.notes.append(f"text from: {', '.join(f'{k} {v:,}' for k, v in sorted(text_from.items()))}")
    result.notes += skips.notes()
    return result

"""SEWA as packaged for AVEC 2017 (``AVEC2017_SEWA``) → Kaldi-style data dirs (``datasets.md`` §3).

Decisions (a recipe README repeats them):

* **Utterances** are whole recordings ``audio/<Part>_<NN>.wav`` (``Train``, ``Devel``, ``Test``; AVEC
  2018's ``<Part>_DE_<NN>`` accepted), because the labels cover the whole recording. Sets: Train →
  ``train``, Devel → ``dev``, Test → ``test``; ``utt2sess`` = the partition, speaker = the recording =
  the utterance id (the package has no subject ids); whole files in ``wav.scp``; ``utt2dur``,
  ``reco2dur`` and the sample rate from the headers. macOS ``._*`` files and other names in ``audio/``
  are skipped and counted.
* **Labels** ``labels/<name>.csv`` (``name;time;arousal;valence;liking``, 10 Hz, name quoted or not,
  optional header line starting with ``name``) → ``labels.h5``: ``/<utt>`` float32 frames × 3, root
  attributes ``frame_rate`` = 10 and ``names`` = arousal, valence, liking (DESIGN §3). Row i must have
  time i/10. Test labels may be missing (the challenge withheld them): that set then has no (or a
  partial) ``labels.h5``, the protocol scores on ``dev`` only (``[dev, test]`` when every test recording
  has its labels), and the run says so; a missing Train or Devel label file is an error.
* **Turns** ``turns/<name>.csv`` (``start;end``) → ``turns``: ``utt start end`` lines, one per turn.
* **Text** ``transcriptions/<name>.csv`` (``start;end;'text'``, UTF-8, the text may contain ``;``) →
  ``text``: the recording's turns in time order, normalised by :mod:`serkit.text.normalize`. Whole-row
  ``<filler>`` turns are dropped (counted); non-verbal tags (``<laughter>``) stay as tokens.
* **words.ctm**: the corpus' own word times where it has them — only the synthetic mini corpus does, in
  ``SRC/manifest.jsonl`` — otherwise (``--word-times equal-split``, and always on the real package) each
  turn's duration is split equally among its tokens, tags included (the authors' fallback). Which one
  was used is in ``meta.json["protocol"]["word_times"]``.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serkit import audio
from serkit.corpora.prepared import CountTable, PrepareResult, SkipLog, is_mini_corpus, protocol, write_set
from serkit.datadir import CtmWord, DataDir, WavEntry, sorted_ids
from serkit.errors import SerkitError
from serkit.text.normalize import is_tag, tokenize

CORPUS = "sewa"
PARTITIONS = {"Train": "train", "Devel": "dev", "Test": "test"}
RECORDING = re.compile(r"^(Train|Devel|Test)_(?:DE_)?\d{2}$")
LABEL_NAMES = ("arousal", "valence", "liking")
LABEL_RATE = 10.0
FOLDERS = ("audio", "labels", "turns", "transcriptions")
FILLER = "<filler>"
MANIFEST = "manifest.jsonl"
WORD_TIME_MODES = ("auto", "equal-split")
EQUAL_SPLIT = "equal split of each turn's duration among its tokens (the authors' fallback)"
MANIFEST_TIMES = "corpus word times (mini corpus manifest.jsonl)"

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    tokens: tuple[str, ...]


@dataclass
class Recording:
    name: str
    partition: str
    wav: Path
    duration: float
    labels: np.ndarray | None = None
    turns: list[tuple[float, float]] = field(default_factory=list)
    transcript: list[Turn] = field(default_factory=list)


# --------------------------------------------------------------------------- readers


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SerkitError(
            f"not UTF-8 (byte {exc.start})", path=path, hint="re-encode the file as UTF-8"
        ) from None
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _number(text: str, path: Path, line: int, what: str) -> float:
    try:
        return float(text.strip().strip("'\""))
    except ValueError:
        raise SerkitError(
            f"unparsable {what} {text!r}", path=path, line=line, hint="use decimal numbers"
        ) from None


def read_labels(path: Path, name: str) -> np.ndarray:
    """``frames × 3`` (arousal, valence, liking) of one label file; row i must have time i/10."""
    rows = []
    for number, line in _lines(path):
        fields = line.split(";")
        if not rows and fields[0].strip().strip("'\"").lower() == "name":
            continue  # header
        if len(fields) != 5:
            raise SerkitError(
                f"expected 5 ';'-separated fields, found {len(fields)}",
                path=path,
                line=number,
                hint="rows are 'name';time;arousal;valence;liking",
            )
        given = fields[0].strip().strip("'\"")
        if given != name:
            raise SerkitError(
                f"row names recording {given!r}, the file is {name}",
                path=path,
                line=number,
                hint="each label file holds its own recording",
            )
        time = _number(fields[1], path, number, "time")
        if abs(time - len(rows) / LABEL_RATE) > 0.005:
            raise SerkitError(
                f"time {time} is not frame {len(rows)} of a 10 Hz grid starting at 0",
                path=path,
                line=number,
                hint="labels must be contiguous at 0.1 s steps",
            )
        rows.append([_number(f, path, number, "label value") for f in fields[2:]])
    if not rows:
        raise SerkitError("no label rows", path=path, hint="the file is empty")
    return np.asarray(rows, dtype=np.float32)


def read_turns(path: Path) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of the subject's turns."""
    turns = []
    for number, line in _lines(path):
        fields = line.split(";")
        if len(fields) != 2:
            raise SerkitError(
                f"expected 'start;end', found {len(fields)} fields",
                path=path,
                line=number,
                hint="one turn per line: start;end in seconds",
            )
        start, end = (_number(f, path, number, "time") for f in fields)
        if end < start:
            raise SerkitError(
                f"turn ends ({end}) before it starts ({start})", path=path, line=number, hint="fix the turn"
            )
        turns.append((start, end))
    return turns


def read_transcription(path: Path, skips: SkipLog) -> list[Turn]:
    """Turns ``start;end;'text'`` (text may contain ``;``); ``<filler>`` rows are dropped and counted."""
    turns = []
    for number, line in _lines(path):
        fields = line.split(";")
        if len(fields) < 3:
            raise SerkitError(
                f"expected 'start;end;text', found {len(fields)} fields",
                path=path,
                line=number,
                hint="one turn per line: start;end;'text'",
            )
        if number == 1 and not re.match(r"^\s*[-+]?\d", fields[0]):
            continue  # header
        start, end = (_number(f, path, number, "time") for f in fields[:2])
        text = ";".join(fields[2:]).strip()
        if len(text) >= 2 and text[0] == text[-1] == "'":
            text = text[1:-1]
        if text.strip() == FILLER:
            skips.add("<filler> transcription row", f"{path.name}:{number}")
            continue
        tokens = tuple(tokenize(text))
        if not tokens:
            skips.add("transcription row without words", f"{path.name}:{number}")
            continue
        turns.append(Turn(start, end, tokens))
    return sorted(turns, key=lambda t: t.start)


def read_manifest_words(root: Path) -> dict[tuple[str, float, float], list[tuple[str, float, float]]]:
    """Mini corpus only: ``(recording, start, end) → [(word, start, end)]`` in recording time."""
    path = root / MANIFEST
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("layout") != CORPUS or "interval" not in record:
            continue
        offset = float(record["offset"])
        key = (
            record["recording"],
            round(float(record["interval"][0]), 2),
            round(float(record["interval"][1]), 2),
        )
        out[key] = [
            (w["word"], offset + float(w["start"]), offset + float(w["end"])) for w in record["words"]
        ]
    return out


# --------------------------------------------------------------------------- word times


def equal_split(turn: Turn) -> list[CtmWord]:
    """Each token of the turn gets an equal share of its duration."""
    step = (turn.end - turn.start) / len(turn.tokens)
    return [CtmWord(round(turn.start + k * step, 3), round(step, 3), t) for k, t in enumerate(turn.tokens)]


def corpus_times(turn: Turn, words: list[tuple[str, float, float]]) -> list[CtmWord] | None:
    """The turn's tokens with the corpus' word times, or None if the words do not line up."""
    timed = [(piece, start, end) for word, start, end in words for piece in tokenize(word)]
    spoken = [t for t in turn.tokens if not is_tag(t)]
    if [p for p, _, _ in timed] != spoken:
        return None
    out, it = [], iter(timed)
    for token in turn.tokens:
        if is_tag(token):
            continue  # a tag has no time of its own in the manifest
        _, start, end = next(it)
        out.append(CtmWord(round(start, 3), round(end - start, 3), token))
    return out


# --------------------------------------------------------------------------- preparation


def find_root(src: str | Path) -> Path:
    src = Path(src)
    if not src.is_dir():
        raise SerkitError("SEWA folder not found", path=src, hint="give the AVEC2017_SEWA folder")
    if not (src / "audio").is_dir() and (src / "AVEC2017_SEWA" / "audio").is_dir():
        return src / "AVEC2017_SEWA"
    for folder in FOLDERS:
        if not (src / folder).is_dir():
            raise SerkitError(
                f"expected the {folder}/ folder here, but it does not exist",
                path=src / folder,
                hint="point SRC at AVEC2017_SEWA (audio/, labels/, turns/, transcriptions/)",
            )
    return src


def _write_labels(path: Path, labels: dict[str, np.ndarray]) -> None:
    import h5py

    tmp = path.with_name(f".{path.name}.tmp")
    with h5py.File(tmp, "w") as f:
        f.attrs["frame_rate"] = LABEL_RATE
        f.attrs["names"] = list(LABEL_NAMES)
        for utt in sorted(labels):
            f.create_dataset(utt, data=labels[utt].astype(np.float32))
    os.replace(tmp, path)


def _read_recordings(
    root: Path, wavs: list[Path], skips: SkipLog, progress: ProgressCallback | None
) -> list[Recording]:
    """Audio length, labels, turns and transcript of every recording."""
    recordings: list[Recording] = []
    for done, wav in enumerate(wavs, start=1):
        name = wav.stem
        partition = name.split("_", 1)[0]
        rec = Recording(name, partition, wav.resolve(), audio.audio_info(WavEntry(str(wav)))[1])
        label_file = root / "labels" / f"{name}.csv"
        if label_file.is_file():
            rec.labels = read_labels(label_file, name)
        elif partition == "Test":
            skips.add("test recording without labels (withheld)", name)
        else:
            raise SerkitError(
                f"no labels for {partition} recording {name}",
                path=label_file,
                hint="Train and Devel recordings need their label file",
            )
        turns_file = root / "turns" / f"{name}.csv"
        if turns_file.is_file():
            rec.turns = read_turns(turns_file)
        else:
            skips.add("recording without turns file", name)
        script = root / "transcriptions" / f"{name}.csv"
        if script.is_file():
            rec.transcript = read_transcription(script, skips)
        else:
            skips.add("recording without transcription file", name)
        recordings.append(rec)
        if progress is not None:
            progress(done, len(wavs))
    return recordings


def _word_time_method(timing: Counter) -> str:
    if not timing["corpus"]:
        return EQUAL_SPLIT
    if not timing["equal split"]:
        return MANIFEST_TIMES
    return f"{MANIFEST_TIMES}; {EQUAL_SPLIT} for {timing['equal split']} turns"


def prepare(
    src: str | Path, out: str | Path, *, word_times: str = "auto", progress: ProgressCallback | None = None
) -> PrepareResult:
    """Write ``out/{train,dev,test}`` with ``labels.h5``, ``turns``, ``text``, ``words.ctm`` (module doc)."""
    if word_times not in WORD_TIME_MODES:
        raise SerkitError(f"--word-times {word_times!r} is not one of {', '.join(WORD_TIME_MODES)}")
    root = find_root(src)
    out = Path(out)
    skips = SkipLog()
    wavs = []
    for path in sorted((root / "audio").iterdir()):
        if path.name.startswith("._"):
            skips.add("macOS AppleDouble file", path.name)
        elif path.suffix.lower() != ".wav" or not RECORDING.match(path.stem):
            skips.add("audio/ entry not named <Part>_<NN>.wav", path.name)
        else:
            wavs.append(path)
    if not wavs:
        raise SerkitError(
            "no <Part>_<NN>.wav recordings",
            path=root / "audio",
            hint="expected audio/Train_01.wav, audio/Devel_01.wav, ...",
        )
    manifest = read_manifest_words(root) if word_times == "auto" else {}
    recordings = _read_recordings(root, wavs, skips, progress)

    timing: Counter = Counter()
    sets = {name: DataDir() for name in PARTITIONS.values()}
    labels: dict[str, dict[str, np.ndarray]] = {name: {} for name in sets}
    turns: dict[str, list[tuple[float, float]]] = {}
    for rec in recordings:
        data = sets[PARTITIONS[rec.partition]]
        utt = rec.name
        data.wav_scp[utt] = WavEntry(str(rec.wav))
        data.utt2spk[utt] = utt
        data.utt2sess[utt] = rec.partition
        data.text[utt] = " ".join(t for turn in rec.transcript for t in turn.tokens)
        ctm: list[CtmWord] = []
        for turn in rec.transcript:
            words = manifest.get((utt, round(turn.start, 2), round(turn.end, 2)))
            timed = corpus_times(turn, words) if words is not None else None
            if timed is None and words is not None:
                skips.add("turn whose corpus word times do not match its text (equal split used)", utt)
            timing["corpus" if timed is not None else "equal split"] += 1
            ctm += timed if timed is not None else equal_split(turn)
        ctm = [w for w in ctm if w.start < rec.duration]
        ctm = [CtmWord(w.start, round(min(w.dur, rec.duration - w.start), 3), w.word) for w in ctm]
        if ctm:
            data.words_ctm[utt] = ctm
        if rec.labels is not None:
            labels[PARTITIONS[rec.partition]][utt] = rec.labels
        if rec.turns:
            turns[utt] = rec.turns

    method = _word_time_method(timing)
    result = PrepareResult(CORPUS, out)
    written = [name for name, data in sets.items() if data.wav_scp]
    test_labelled = bool(sets["test"].wav_scp) and set(labels["test"]) == set(sets["test"].wav_scp)
    block = protocol(
        class_map=None,
        split="AVEC 2017 partitions: Train -> train, Devel -> dev, Test -> test",
        folds=[],
        sets=written,
        score=["dev", "test"] if test_labelled else ["dev"],
        partitions={p: s for p, s in PARTITIONS.items()},
        utterance="one utterance per recording (labels cover the whole recording)",
        labels=f"labels.h5: /<utt> frames x {len(LABEL_NAMES)} float32 at {LABEL_RATE:g} Hz",
        word_times=method,
    )
    if sets["test"].wav_scp and not test_labelled:
        missing = len(sets["test"]) - len(labels["test"])
        result.notes.append(
            f"test: {missing} of {len(sets['test'])} recordings have no labels (withheld by AVEC 2017); "
            "the protocol scores on dev only"
        )
    common = {
        "corpus": CORPUS,
        "synthetic": is_mini_corpus(root, CORPUS),
        "protocol": block,
        "label_names": list(LABEL_NAMES),
        "label_rate_hz": LABEL_RATE,
        "files": {
            "turns": "utt start end: the subject's speaking turns (seconds)",
            "labels.h5": "see protocol",
        },
        "skipped": skips.as_meta(),
        "source": str(root),
        # recordings per set and in all: what RESULTS.md's corpus label counts (one utterance each)
        "corpus_counts": {
            **{name: {"total": len(data.wav_scp)} for name, data in sets.items()},
            "total": {"total": sum(len(data.wav_scp) for data in sets.values())},
        },
    }
    counts = {}
    for name, data in sets.items():
        if not data.wav_scp:
            continue
        withheld = sorted(u for u in data.wav_scp if u not in labels[name])
        data.meta = {**common, "set": name, "recordings_without_labels": withheld}
        summary = write_set(data, out / name)
        if labels[name]:
            _write_labels(out / name / "labels.h5", labels[name])
        mine = {u: turns[u] for u in data.wav_scp if u in turns}
        if mine:
            _write_turns(out / name / "turns", mine)
        result.sets.append(summary)
        counts[name] = {
            "recordings": len(data),
            "labelled": len(labels[name]),
            "label frames": int(sum(len(v) for v in labels[name].values())),
            "turns": sum(len(r.turns) for r in recordings if r.name in data.wav_scp),
            "words": sum(len(v) for v in data.words_ctm.values()),
        }
    result.tables.append(
        CountTable(
            "SEWA (AVEC 2017) recordings and labels per set",
            ["recordings", "labelled", "label frames", "turns", "words"],
            counts,
        )
    )
    result.notes.append(f"word times: {method}")
    result.notes += skips.notes()
    return result


def _write_turns(path: Path, turns: dict[str, list[tuple[float, float]]]) -> None:
    """``utt start end`` lines, several per utterance, in byte order of the id, then by time."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for utt in sorted_ids(turns):
            for start, end in sorted(turns[utt]):
                f.write(f"{utt} {start:.3f} {end:.3f}\n")

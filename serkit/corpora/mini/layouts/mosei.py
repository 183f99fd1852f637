"""CMU-MOSEI layout: the raw archive's ``Raw/`` tree plus the SDK's ``.csd`` files and standard folds.

Written at the corpus root, as the SDK downloads them::

    Raw/Audio/Full/WAV_16000/<vid>.wav                  one speaker per video, several segments
    Raw/Transcript/Segmented/Combined/<vid>.txt         vid___seg___start___end___text
    CMU_MOSEI_Labels.csd                                root "All Labels", rows [sentiment, happy, sad,
                                                        anger, surprise, disgust, fear] in steps of 1/3
    CMU_MOSEI_TimestampedWords.csd                      root "words", byte strings, "sp" silences
    folds.txt                                           "<video> <train|valid|test>" lines (the synthetic
                                                        ids are not in the SDK's standard folds)

Gotchas reproduced: ids with ``__``, a leading ``-`` and numeric ids; label rows not time-sorted;
overlapping neighbouring intervals; one negative start; one video with long-float times; trailing spaces.
"""

from __future__ import annotations

import json
import string
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from serkit.corpora.mini.lexicon import ENGLISH
from serkit.corpora.mini.manifest import turn_record
from serkit.corpora.mini.mixing import mix, place_turns
from serkit.corpora.mini.plan import (
    CorpusPlan,
    RecordingPlan,
    derive_rng,
    derive_seed,
    draw_intensity,
    draw_noise_floor,
    make_turn,
)
from serkit.corpora.mini.profiles import EMOTIONS
from serkit.corpora.mini.render import RenderedTurn
from serkit.corpora.mini.voices import Speaker, sample_speaker
from serkit.corpora.mini.wavfile import write_wav

NAME = "mosei"
SAMPLE_RATE = 16000
LABEL_NAMES = ("sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear")
LABELS_FILE = "CMU_MOSEI_Labels.csd"
WORDS_FILE = "CMU_MOSEI_TimestampedWords.csd"
FOLDS_FILE = "folds.txt"
AUDIO_DIR = "Raw/Audio/Full/WAV_16000"
TRANSCRIPT_DIR = "Raw/Transcript/Segmented/Combined"
NEGATIVE_START = -0.4576
FOLDS = ("train", "valid", "test")


@dataclass(frozen=True)
class MoseiSize:
    """Videos, speakers, segments per video (min, max) and the fixed shard count."""

    n_videos: int
    n_speakers: int
    segments: tuple[int, int]
    n_shards: int


SIZES = {"tiny": MoseiSize(6, 6, (3, 5), 4), "default": MoseiSize(120, 24, (5, 10), 16)}

_ALNUM = string.ascii_letters + string.digits
_ID_CHARS = _ALNUM + "-_"


def video_ids(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct YouTube-like ids: the first has a leading ``-``, the second ``__``, the next two and
    about one in seven of the rest are numeric (4-6 digits)."""

    def youtube(length: int = 11) -> str:
        return "".join(_ID_CHARS[int(i)] for i in rng.integers(len(_ID_CHARS), size=length))

    def alnum() -> str:
        return _ALNUM[int(rng.integers(len(_ALNUM)))]

    ids: list[str] = []
    while len(ids) < n:
        k = len(ids)
        if k == 0:
            candidate = "-" + youtube(10)
        elif k == 1:
            candidate = youtube(3) + alnum() + "__" + alnum() + youtube(4)
        elif k in (2, 3) or rng.random() < 0.14:
            candidate = (
                str(int(rng.integers(1000, 1_000_000))) if k != 3 else str(int(rng.integers(1000, 10000)))
            )
        else:
            candidate = youtube()
        if candidate not in ids:
            ids.append(candidate)
    return ids


def annotate(emotion: str, intensity: float, rng: np.random.Generator) -> list[float]:
    """Mean of three annotators' integer scores: sentiment in [-3, 3], six emotions in [0, 3]."""
    level = 0.3 if emotion == "neu" else intensity
    sentiment_mean = {
        "neu": 0.2,
        "hap": 0.8 + 1.6 * level,
        "ang": -(0.8 + 1.6 * level),
        "sad": -(0.6 + 1.4 * level),
    }[emotion]
    main = {"hap": 1, "sad": 2, "ang": 3}.get(emotion)
    side = {"hap": {4: 0.2}, "ang": {5: 0.3}, "sad": {6: 0.1}, "neu": {1: 0.1}}[emotion]
    totals = [0] * 7
    for _ in range(3):
        totals[0] += int(np.clip(round(rng.normal(sentiment_mean, 0.8)), -3, 3))
        for k in range(1, 7):
            if k == main:
                totals[k] += int(np.clip(round(rng.normal(0.7 + 1.8 * level, 0.7)), 0, 3))
            else:
                totals[k] += int(rng.random() < side.get(k, 0.03))
    return [t / 3 for t in totals]


def plan(seed: int, size: str) -> CorpusPlan:
    """Plan videos (one speaker each), their segments, label rows and the speaker-disjoint folds."""
    config = SIZES[size]
    rng = derive_rng(seed, NAME, size, "speakers")
    speakers = {}
    for index in range(config.n_speakers):
        sid = f"mosei_spk{index:02d}"
        speakers[sid] = sample_speaker(sid, "FM"[index % 2], "en", f"srkmos{index:02d}", rng)
    speaker_ids = [str(s) for s in rng.permutation(sorted(speakers))]
    n_valid = max(1, round(0.1 * len(speaker_ids)))
    n_test = max(1, round(0.2 * len(speaker_ids)))
    fold_of = {
        sid: "valid" if i < n_valid else "test" if i < n_valid + n_test else "train"
        for i, sid in enumerate(speaker_ids)
    }
    ids = video_ids(config.n_videos, rng)
    owners = [speaker_ids[i % len(speaker_ids)] for i in range(config.n_videos)]
    owners = [str(s) for s in rng.permutation(owners)]
    recordings = []
    for index, (vid, owner) in enumerate(zip(ids, owners, strict=True)):
        rng = derive_rng(seed, NAME, size, vid)
        n_segments = int(rng.integers(config.segments[0], config.segments[1] + 1))
        recordings.append(_plan_video(vid, index, speakers[owner], fold_of[owner], n_segments, rng))
    return CorpusPlan(NAME, size, seed, config.n_shards, speakers, tuple(recordings))


def _plan_video(
    vid: str, index: int, speaker: Speaker, fold: str, n_segments: int, rng: np.random.Generator
) -> RecordingPlan:
    """One video: segments around a dominant emotion, their annotations, and the gotchas of video 0 and 4."""
    noise = draw_noise_floor(rng)
    dominant = str(rng.choice(EMOTIONS))
    turns = []
    for k in range(n_segments):
        emotion = dominant if rng.random() < 0.5 else str(rng.choice(EMOTIONS))
        intensity = draw_intensity(emotion, rng)
        gap = 0.0 if k == 0 else rng.uniform(-0.5, -0.1) if rng.random() < 0.4 else rng.uniform(0.1, 1.5)
        turn = make_turn(
            f"{vid}_{k}",
            speaker,
            emotion,
            intensity,
            ENGLISH,
            rng,
            label=None,
            gap_before=gap,
            noise_dbfs=noise,
        )
        labels = annotate(emotion, intensity, rng)
        turns.append(replace(turn, info={"labels": labels, "trailing_space": bool(rng.random() < 0.3)}))
    order = list(range(n_segments))
    if index % 2 == 0 and n_segments > 1:  # label rows not time-sorted in every other video
        while order == sorted(order):
            order = [int(i) for i in rng.permutation(n_segments)]
    return RecordingPlan(
        name=vid,
        turns=tuple(turns),
        lead_in=0.0 if index == 0 else round(float(rng.uniform(0.0, 3.0)), 4),
        tail=round(float(rng.uniform(0.5, 3.0)), 4),
        noise_dbfs=noise,
        seed=derive_seed(rng),
        info={"fold": fold, "row_order": order, "negative_start": index == 0, "long_floats": index == 4},
    )


def _interval(start_sample: int, end_sample: int, long_floats: bool) -> tuple[float, float]:
    if long_floats:  # a video annotated on a 22,050 Hz grid: times like 0.81950113379
        return tuple(round(round(s / SAMPLE_RATE * 22050) / 22050, 11) for s in (start_sample, end_sample))
    return round(start_sample / SAMPLE_RATE, 3), round(end_sample / SAMPLE_RATE, 3)


def write_recording(
    root: Path, recording: RecordingPlan, rendered: list[RenderedTurn], speakers: dict[str, Speaker]
) -> list[dict]:
    """Write one video's full wav and segmented transcript; return its segments' manifest records."""
    vid = recording.name
    offsets, total = place_turns(recording, rendered)
    wav = root / AUDIO_DIR / f"{vid}.wav"
    write_wav(wav, mix(recording, rendered, offsets, total), SAMPLE_RATE)
    lines, records = [], []
    transcript = root / TRANSCRIPT_DIR / f"{vid}.txt"
    for k, (item, offset) in enumerate(zip(rendered, offsets, strict=True)):
        start, end = _interval(offset, offset + item.n_samples, recording.info["long_floats"])
        if k == 0 and recording.info["negative_start"]:
            start = NEGATIVE_START
        text = item.turn.sentence.text + (" " if item.turn.info["trailing_space"] else "")
        lines.append(f"{vid}___{k}___{start!r}___{end!r}___{text}")
        files = {
            "recording_wav": wav.relative_to(root).as_posix(),
            "transcript": transcript.relative_to(root).as_posix(),
        }
        records.append(
            turn_record(
                NAME,
                vid,
                item,
                speakers[item.turn.speaker_id],
                offset,
                files,
                segment=k,
                interval=[start, end],
                labels=item.turn.info["labels"],
                fold=recording.info["fold"],
            )
        )
    transcript.parent.mkdir(parents=True, exist_ok=True)
    transcript.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    return records


def _metadata(root_name: str, description: str, dimensions: list[str], seed: int) -> dict:
    return {
        "root name": root_name,
        "computational sequence description": description,
        "dimension names": dimensions,
        "computational sequence version": "1.0",
        "alignment compatible": True,
        "dataset name": "CMU-MOSEI (serkit mini corpus, synthetic)",
        "dataset version": "1.0",
        "creator": "serkit make-mini-corpus",
        "contact": "",
        "featureset bib citation": "",
        "dataset bib citation": "",
        "uuid": str(uuid.UUID(bytes=derive_rng(seed, NAME, root_name).bytes(16), version=4)),
        "md5": None,
    }


def write_csd(
    path: Path, root_name: str, data: dict[str, tuple[np.ndarray, np.ndarray]], metadata: dict
) -> None:
    """Write a computational sequence (SDK structure) without timestamps, so the bytes are reproducible."""
    import h5py

    with h5py.File(path, "w", libver="earliest") as f:
        top = f.create_group(root_name)
        group = top.create_group("data")
        for vid in sorted(data):
            features, intervals = data[vid]
            entry = group.create_group(vid)
            entry.create_dataset("features", data=features, track_times=False)
            entry.create_dataset("intervals", data=intervals, track_times=False)
        meta = top.create_group("metadata")
        for key, value in metadata.items():
            dataset = meta.create_dataset(key, (1,), dtype=h5py.string_dtype(), track_times=False)
            dataset[0] = json.dumps(value)


def _word_rows(segments: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """A video's words in video time, with ``sp`` for every silence between them."""
    rows: list[tuple[bytes, float, float]] = []
    cursor = 0.0
    for record in sorted(segments, key=lambda r: r["segment"]):
        for word in record["words"]:
            start, end = record["offset"] + word["start"], record["offset"] + word["end"]
            if start - cursor > 0.01:
                rows.append((b"sp", round(cursor, 3), round(start, 3)))
            rows.append((word["word"].encode("ascii"), round(start, 3), round(end, 3)))
            cursor = max(cursor, end)
    features = np.array([[w] for w, _, _ in rows], dtype="S")
    intervals = np.array([[s, e] for _, s, e in rows], dtype=np.float64)
    return features, intervals


def finish(root: Path, plan: CorpusPlan, records: list[dict]) -> None:
    """Write the two ``.csd`` files and the standard fold lists from all videos' records."""
    by_video: dict[str, list[dict]] = {}
    for record in records:
        by_video.setdefault(record["recording"], []).append(record)
    labels, words = {}, {}
    for recording in plan.recordings:
        segments = sorted(by_video[recording.name], key=lambda r: r["segment"])
        rows = [segments[i] for i in recording.info["row_order"]]
        labels[recording.name] = (
            np.array([r["labels"] for r in rows], dtype=np.float64),
            np.array([r["interval"] for r in rows], dtype=np.float64),
        )
        words[recording.name] = _word_rows(segments)
    write_csd(
        root / LABELS_FILE,
        "All Labels",
        labels,
        _metadata("All Labels", "Sentiment and emotion labels", list(LABEL_NAMES), plan.seed),
    )
    write_csd(root / WORDS_FILE, "words", words, _metadata("words", "Word timestamps", ["words"], plan.seed))
    lines = ["# serkit mini corpus: <video> <train|valid|test>, speaker-disjoint"]
    lines += [f"{r.name} {fold}" for fold in FOLDS for r in plan.recordings if r.info["fold"] == fold]
    (root / FOLDS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")

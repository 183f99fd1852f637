"""SEWA as packaged for AVEC 2017: dyadic German recordings with 10 Hz arousal/valence/liking labels.

Written at the corpus root::

    audio/<Part>_<NN>.wav            subject + partner (heard through the call: band-limited), 44.1 kHz mono
    labels/<Part>_<NN>.csv           'name';time;arousal;valence;liking  (no header, 10 Hz)
    turns/<Part>_<NN>.csv            start;end of the subject's turns
    transcriptions/<Part>_<NN>.csv   start;end;'text' of the subject's turns (German, may contain ;)

The sample rate of the real audio is not documented (datasets.md 3.5); 44.1 kHz is an assumption chosen
so that readers exercise their resampling path. Labels follow the subject's generated emotion timeline,
smoothed and delayed like human continuous annotation; they cover partner turns too. Each recording
has one ``<filler>`` transcription row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serkit.corpora.mini.lexicon import GERMAN, compose, filler
from serkit.corpora.mini.manifest import turn_record
from serkit.corpora.mini.mixing import mix, place_turns
from serkit.corpora.mini.plan import (
    CorpusPlan,
    RecordingPlan,
    TurnPlan,
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

NAME = "sewa"
SAMPLE_RATE = 44100
LABEL_RATE = 10
PARTITIONS = ("Train", "Devel", "Test")
AROUSAL_VALENCE = {"neu": (0.0, 0.05), "hap": (0.35, 0.45), "ang": (0.45, -0.4), "sad": (-0.35, -0.35)}
"""Arousal/valence target of each acted emotion at intensity 1."""

SMOOTHING_S = 1.0
DECAY_S = 4.0
ANNOTATION_DELAY_S = 1.0
PARTNER_VOLUME = 0.6


@dataclass(frozen=True)
class SewaSize:
    """Recordings per partition, subject turns per recording (min, max), speakers and the shard count."""

    recordings: dict[str, int]
    subject_turns: tuple[int, int]
    n_speakers: int
    n_shards: int


SIZES = {
    "tiny": SewaSize({"Train": 2, "Devel": 1, "Test": 1}, (6, 8), 8, 4),
    "default": SewaSize({"Train": 12, "Devel": 5, "Test": 5}, (14, 20), 32, 16),
}


def _subject_pools(speaker_ids: list[str], counts: dict[str, int]) -> dict[str, list[str]]:
    """Disjoint subject lists per partition (a subject is recorded once, in one partition)."""
    pools, start = {}, 0
    for part in PARTITIONS:
        pools[part] = speaker_ids[start : start + counts[part]]
        start += counts[part]
    return pools


def _semicolon_sentence(emotion: str, rng: np.random.Generator):
    for _ in range(100):
        sentence = compose(GERMAN, emotion, rng)
        if ";" in sentence.text:
            return sentence
    raise RuntimeError("the German lexicon has no frame with ';'")


def plan(seed: int, size: str) -> CorpusPlan:
    """Plan the recordings: subject/partner pairs, alternating turns and the subject's emotion timeline."""
    config = SIZES[size]
    rng = derive_rng(seed, NAME, size, "speakers")
    speakers = {}
    for index in range(config.n_speakers):
        sid = f"sewa_spk{index:02d}"
        speakers[sid] = sample_speaker(sid, "FM"[index % 2], "de", f"srksew{index:02d}", rng)
    order = [str(s) for s in rng.permutation(sorted(speakers))]
    pools = _subject_pools(order, config.recordings)
    recordings = []
    for part in PARTITIONS:
        for number in range(1, config.recordings[part] + 1):
            name = f"{part}_{number:02d}"
            rng = derive_rng(seed, NAME, size, name)
            subject = speakers[pools[part][number - 1]]
            partner = speakers[str(rng.choice([s for s in order if s != subject.speaker_id]))]
            n_subject = int(rng.integers(config.subject_turns[0], config.subject_turns[1] + 1))
            recordings.append(_plan_recording(name, part, subject, partner, n_subject, number == 1, rng))
    return CorpusPlan(NAME, size, seed, config.n_shards, speakers, tuple(recordings))


def _plan_recording(
    name: str,
    partition: str,
    subject: Speaker,
    partner: Speaker,
    n_subject: int,
    semicolon_first: bool,
    rng: np.random.Generator,
) -> RecordingPlan:
    """One dyadic recording: subject turns (one a filler) in a persistent mood, and the partner's replies."""
    noise = draw_noise_floor(rng)
    filler_at = int(rng.integers(1, n_subject))
    emotion = str(rng.choice(EMOTIONS))
    turns: list[TurnPlan] = []
    role, said = ("subject" if rng.random() < 0.6 else "partner"), 0
    while said < n_subject:
        gap = rng.uniform(-0.3, 0.0) if rng.random() < 0.15 else rng.uniform(0.2, 1.0)
        turn_id = f"{name}_{len(turns):03d}"
        common = {"label": None, "gap_before": gap, "noise_dbfs": noise}
        if role == "partner":
            mood = "neu" if rng.random() < 0.6 else str(rng.choice(EMOTIONS))
            turns.append(
                make_turn(
                    turn_id,
                    partner,
                    mood,
                    0.0 if mood == "neu" else 0.5,
                    GERMAN,
                    rng,
                    labelled=False,
                    telephone=True,
                    volume_scale=PARTNER_VOLUME,
                    info={"role": "partner", "filler": False},
                    **common,
                )
            )
            role = "subject" if rng.random() < 0.85 else "partner"
            continue
        if said == filler_at:
            turns.append(
                make_turn(
                    turn_id,
                    subject,
                    "neu",
                    0.0,
                    GERMAN,
                    rng,
                    labelled=False,
                    sentence=filler(GERMAN),
                    info={"role": "subject", "filler": True},
                    **common,
                )
            )
        else:
            if rng.random() > 0.6:
                emotion = str(rng.choice(EMOTIONS))
            intensity = draw_intensity(emotion, rng)
            sentence = _semicolon_sentence(emotion, rng) if semicolon_first and said == 0 else None
            turns.append(
                make_turn(
                    turn_id,
                    subject,
                    emotion,
                    intensity,
                    GERMAN,
                    rng,
                    sentence=sentence,
                    info={"role": "subject", "filler": False},
                    **common,
                )
            )
        said += 1
        role = "partner" if rng.random() < 0.7 else "subject"
    return RecordingPlan(
        name=name,
        turns=tuple(turns),
        lead_in=round(float(rng.uniform(0.5, 2.0)), 4),
        tail=round(float(rng.uniform(0.5, 2.0)), 4),
        noise_dbfs=noise,
        seed=derive_seed(rng),
        info={
            "partition": partition,
            "baseline": [round(float(v), 4) for v in rng.normal(0.0, 0.05, size=3)],
        },
    )


def _speech_span(item: RenderedTurn, offset: int) -> tuple[float, float]:
    """Start and end (s, recording time) of the spoken part of a turn, with 50 ms margins."""
    base = offset / SAMPLE_RATE
    if not item.words:
        return base + item.turn.lead, base + item.duration - item.turn.trail
    return base + max(item.words[0].start - 0.05, 0.0), base + min(item.words[-1].end + 0.05, item.duration)


def label_trajectories(
    recording: RecordingPlan, spans: list[tuple[float, float, str, float]], duration: float
) -> np.ndarray:
    """Arousal, valence, liking at 10 Hz (frames x 3) from the subject's (start, end, emotion, intensity)."""
    n = int(np.floor(duration * LABEL_RATE)) + 1
    times = np.arange(n) / LABEL_RATE
    baseline = np.array(recording.info["baseline"][:2])
    target = np.tile(baseline, (n, 1))
    held, last_end = baseline.copy(), None
    for i, t in enumerate(times):
        active = [(e, k) for s, end, e, k in spans if s <= t <= end]
        if active:
            emotion, intensity = active[-1]
            level = intensity if emotion != "neu" else 0.3
            held = baseline + level * np.array(AROUSAL_VALENCE[emotion])
            target[i], last_end = held, t
        elif last_end is not None:
            target[i] = baseline + (held - baseline) * np.exp(-(t - last_end) / DECAY_S)
    smoothed = np.empty_like(target)
    alpha = 1.0 / (SMOOTHING_S * LABEL_RATE)
    state = target[0]
    for i in range(n):
        state = state + alpha * (target[i] - state)
        smoothed[i] = state
    delay = int(round(ANNOTATION_DELAY_S * LABEL_RATE))
    delayed = np.vstack([np.repeat(smoothed[:1], delay, axis=0), smoothed])[:n]
    rng = derive_rng(recording.seed, "annotation")
    wander = np.cumsum(rng.normal(0.0, 0.004, size=(n, 3)), axis=0)
    arousal, valence = delayed[:, 0] + wander[:, 0], delayed[:, 1] + wander[:, 1]
    liking = 0.6 * valence + 0.1 * arousal + recording.info["baseline"][2] + wander[:, 2]
    return np.column_stack([arousal, valence, liking])


def write_recording(
    root: Path, recording: RecordingPlan, rendered: list[RenderedTurn], speakers: dict[str, Speaker]
) -> list[dict]:
    """Write one recording's audio, labels, turns and transcription; return all its turns' records."""
    name = recording.name
    offsets, total = place_turns(recording, rendered)
    wav = root / "audio" / f"{name}.wav"
    write_wav(wav, mix(recording, rendered, offsets, total), SAMPLE_RATE)
    files = {"recording_wav": wav.relative_to(root).as_posix()}
    records, turn_rows, transcript_rows, spans = [], [], [], []
    for item, offset in zip(rendered, offsets, strict=True):
        turn = item.turn
        start, end = _speech_span(item, offset)
        if turn.info["role"] == "subject":
            if turn.info["filler"]:
                transcript_rows.append(f"{start:.2f};{end:.2f};'<filler>'")
            else:
                turn_rows.append(f"{start:.2f};{end:.2f}")
                transcript_rows.append(f"{start:.2f};{end:.2f};'{turn.sentence.text}'")
                spans.append((start, end, turn.emotion, turn.intensity))
        records.append(
            turn_record(
                NAME,
                name,
                item,
                speakers[turn.speaker_id],
                offset,
                files,
                partition=recording.info["partition"],
                role=turn.info["role"],
                interval=[round(start, 2), round(end, 2)],
            )
        )
    values = label_trajectories(recording, spans, total / SAMPLE_RATE)
    label_rows = [
        f"'{name}';{i / LABEL_RATE:.6f};{a:.6f};{v:.6f};{lk:.6f}" for i, (a, v, lk) in enumerate(values)
    ]
    for folder, rows in (("labels", label_rows), ("turns", turn_rows), ("transcriptions", transcript_rows)):
        path = root / folder / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(rows) + "\n", encoding="utf-8", newline="\n")
    return records


def finish(root: Path, plan: CorpusPlan, records: list[dict]) -> None:
    """Nothing corpus-wide: every SEWA file belongs to one recording."""

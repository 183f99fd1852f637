"""IEMOCAP_full_release layout: Session1..5, dialogs, EmoEvaluation, transcriptions, wavs, .wdseg.

Two speakers per session (F and M, both in every dialog); dialog names from the real release, the odd ones
(``Ses03M_impro05a``, ``Ses05M_script01_1b``) always included. Labels are neu, hap, exc, ang, sad plus fru
and xxx (dropped by the 4-class protocol). Gotchas reproduced: an ``XX`` transcript-only turn, an id-less
transcript line, a ``Categorical/`` sub-folder, one utterance without ``.wdseg``, ``WORD(n)`` variants.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from serkit.corpora.mini.lexicon import ENGLISH, vocabulary
from serkit.corpora.mini.manifest import turn_record
from serkit.corpora.mini.mixing import mix, place_turns
from serkit.corpora.mini.plan import (
    CorpusPlan,
    RecordingPlan,
    TurnPlan,
    derive_rng,
    derive_seed,
    draw_noise_floor,
    make_turn,
    quota,
)
from serkit.corpora.mini.profiles import EMOTIONS, INTENSITIES
from serkit.corpora.mini.render import RenderedTurn
from serkit.corpora.mini.voices import Speaker, sample_speaker
from serkit.corpora.mini.wavfile import write_wav
from serkit.corpora.mini.word_times import WordTime
from serkit.corpora.mini.wordlists import pronunciation_counts

NAME = "iemocap"
SAMPLE_RATE = 16000
SESSIONS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class IemocapSize:
    """Dialogs per session, labelled turns per dialog and the fixed shard count."""

    dialogs_per_session: int
    turns_per_dialog: int
    n_shards: int


SIZES = {"tiny": IemocapSize(2, 6, 4), "default": IemocapSize(8, 25, 16)}

LABEL_FRACTIONS = {"neu": 0.21, "hap": 0.09, "exc": 0.12, "ang": 0.21, "sad": 0.21, "fru": 0.08, "xxx": 0.08}
"""Consensus labels of the labelled turns; fru and xxx are outside the 4-class protocol."""

CATEGORY = {
    "neu": "Neutral",
    "hap": "Happiness",
    "exc": "Excited",
    "ang": "Anger",
    "sad": "Sadness",
    "fru": "Frustration",
}
CONFUSABLE = {
    "neu": ("Frustration", "Sadness", "Happiness"),
    "hap": ("Excited", "Neutral", "Surprise"),
    "exc": ("Happiness", "Surprise", "Neutral"),
    "ang": ("Frustration", "Disgust", "Other"),
    "sad": ("Neutral", "Frustration", "Fear"),
    "fru": ("Anger", "Neutral", "Sadness"),
}
VAD_BASE = {
    "neu": (3, 2, 3),
    "hap": (4, 3, 3),
    "exc": (4, 4, 3),
    "ang": (2, 4, 4),
    "sad": (2, 2, 2),
    "fru": (2, 3, 3),
}
COMMENTS = ("curious", "mildly annoyed", "tired", "sarcastic", "polite", "disbelief")
EVALUATORS = ("E1", "E2", "E3", "E4", "E6")
HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
IDLESS_LINE = "M: Yeah."
XX_PREFIX = "[LAUGHTER], "


def dialog_pool(session: int) -> list[str]:
    """All real dialog names of ``session``, odd ones first, then impro and script dialogs interleaved."""
    ss = f"Ses{session:02d}"
    impros = [f"impro{n:02d}" for n in range(1, 8 if session == 1 else 9)]
    scripts = [
        "script01_1",
        "script01_2",
        "script01_3",
        "script02_1",
        "script02_2",
        "script03_1",
        "script03_2",
    ]
    odd = {3: ["Ses03M_impro05a"], 5: ["Ses05M_script01_1b"]}.get(session, [])
    extra_m = {3: ["Ses03M_impro05b", "Ses03M_impro08a", "Ses03M_impro08b"]}.get(session, [])
    missing = {"Ses03M_impro05", "Ses03M_impro08"}
    pool: list[str] = list(odd)
    for i in range(max(len(impros), len(scripts))):
        for side, kinds in (("F", impros), ("M", scripts), ("M", impros), ("F", scripts)):
            if i < len(kinds):
                name = f"{ss}{side}_{kinds[i]}"
                if name not in missing and name not in pool:
                    pool.append(name)
    return pool + [n for n in extra_m if n not in pool]


def _acted(label: str, rng: np.random.Generator) -> tuple[str, float]:
    """The rendered profile and intensity behind a consensus label."""
    if label == "neu":
        return "neu", 0.0
    if label == "hap":
        return "hap", float(rng.choice([0.5, 0.75]))
    if label == "exc":
        return "hap", float(rng.choice([0.75, 1.0]))
    if label in ("ang", "sad"):
        return label, float(rng.choice(INTENSITIES))
    if label == "fru":
        return "ang", 0.5
    emotion = str(rng.choice(EMOTIONS))
    return emotion, 0.0 if emotion == "neu" else 0.5


def _evaluation(label: str, emotion: str, raters: list[str], a_raters: list[str], rng) -> dict:
    """C- and A- rater lines and the V/A/D means behind a consensus ``label``."""
    c_lines = []
    if label == "xxx":
        pool = [CATEGORY[emotion], *CONFUSABLE[emotion]]
        for rater, category in zip(raters, rng.permutation(pool)[: len(raters)], strict=True):
            c_lines.append((rater, [str(category)], "()"))
    else:
        agree = set(rng.permutation(len(raters))[: len(raters) // 2 + 1].tolist())
        for i, rater in enumerate(raters):
            if i in agree:
                cats = [CATEGORY[label]]
                if rng.random() < 0.15:
                    cats.append(str(rng.choice(CONFUSABLE[label])))
            else:
                cats = [str(rng.choice(CONFUSABLE[label]))] if rng.random() < 0.9 else []
            comment = f"({rng.choice(COMMENTS)})" if rng.random() < 0.15 else "()"
            c_lines.append((rater, cats, comment))
    base = VAD_BASE[label] if label in VAD_BASE else VAD_BASE[emotion]
    a_lines, scores = [], []
    for rater in a_raters:
        vad = [int(np.clip(b + round(rng.normal(0, 0.6)), 1, 5)) for b in base]
        scores.append(vad)
        comment = f"({rng.choice(COMMENTS)})" if rng.random() < 0.1 else "()"
        a_lines.append((rater, vad, comment))
    means = [round(float(np.mean([s[k] for s in scores])), 4) for k in range(3)]
    return {"c_lines": c_lines, "a_lines": a_lines, "vad": means}


def _wdseg_tokens(words: tuple[str, ...], counts: dict[str, int], rng: np.random.Generator) -> list[str]:
    """Upper-case tokens with Sphinx pronunciation-variant suffixes ``(n)`` where cmudict has variants."""
    tokens = []
    for word in words:
        n = counts.get(word, 0)
        suffix = f"({int(rng.integers(2, n + 1))})" if n > 1 and rng.random() < 0.3 else ""
        tokens.append(word.upper() + suffix)
    return tokens


def plan(seed: int, size: str) -> CorpusPlan:
    """Plan the sessions, speakers, dialogs and turns of an IEMOCAP-layout corpus."""
    config = SIZES[size]
    rng = derive_rng(seed, NAME, size, "speakers")
    speakers = {}
    for index, (session, gender) in enumerate((s, g) for s in SESSIONS for g in "FM"):
        sid = f"Ses{session:02d}{gender}"
        speakers[sid] = sample_speaker(sid, gender, "en", f"srkiem{index:02d}", rng)
    variants = pronunciation_counts(vocabulary(ENGLISH))
    rng = derive_rng(seed, NAME, size, "labels")
    n_labelled = len(SESSIONS) * config.dialogs_per_session * config.turns_per_dialog
    labels = iter([str(x) for x in rng.permutation(quota(LABEL_FRACTIONS, n_labelled))])
    recordings = []
    for session in SESSIONS:
        for index, dialog in enumerate(dialog_pool(session)[: config.dialogs_per_session]):
            rng = derive_rng(seed, NAME, size, dialog)
            recordings.append(
                _plan_dialog(dialog, session, index, config.turns_per_dialog, speakers, labels, variants, rng)
            )
    return CorpusPlan(NAME, size, seed, config.n_shards, speakers, tuple(recordings))


def _plan_dialog(
    dialog: str,
    session: int,
    index: int,
    n_turns: int,
    speakers: dict[str, Speaker],
    labels: Iterator[str],
    variants: dict[str, int],
    rng: np.random.Generator,
) -> RecordingPlan:
    """One dialog: raters, alternating F/M turns with their labels, and the gotchas of its session."""
    raters = sorted(rng.choice(EVALUATORS, size=3, replace=False).tolist())
    if rng.random() < 0.5:
        raters.append(f"{rng.choice(['F', 'M'])}{int(rng.integers(1, 3))}")
    a_raters = raters[: 2 + int(rng.integers(0, 2))]
    noise = draw_noise_floor(rng)
    gotchas = session == 3 and index == 0  # the XX turn and the utterance without .wdseg
    gender = str(rng.choice(["F", "M"]))
    counters = {"F": 0, "M": 0}
    turns: list[TurnPlan] = []
    for position in range(n_turns):
        if position and rng.random() < 0.85:
            gender = "M" if gender == "F" else "F"
        label = next(labels)
        emotion, intensity = _acted(label, rng)
        utt = f"{dialog}_{gender}{counters[gender]:03d}"
        counters[gender] += 1
        gap = rng.uniform(-0.35, 0.0) if rng.random() < 0.2 else rng.uniform(0.05, 0.8)
        speaker = speakers[f"Ses{session:02d}{gender}"]
        turn = make_turn(
            utt, speaker, emotion, intensity, ENGLISH, rng, label=label, gap_before=gap, noise_dbfs=noise
        )
        info = _evaluation(label, emotion, raters, a_raters, rng)
        info["wdseg"] = not (gotchas and position == 1)
        info["wdseg_tokens"] = _wdseg_tokens(turn.sentence.words, variants, rng)
        turns.append(replace(turn, info={**turn.info, **info}))
    if gotchas:
        xx = make_turn(
            f"{dialog}_MXX0",
            speakers[f"Ses{session:02d}M"],
            "neu",
            0.0,
            ENGLISH,
            rng,
            label=None,
            labelled=False,
            gap_before=0.3,
            noise_dbfs=noise,
            info={"transcript_prefix": XX_PREFIX},
        )
        turns.insert(min(3, len(turns)), xx)
    return RecordingPlan(
        name=dialog,
        turns=tuple(turns),
        lead_in=round(float(rng.uniform(1.0, 6.0)), 4),
        tail=round(float(rng.uniform(0.5, 2.0)), 4),
        noise_dbfs=noise,
        seed=derive_seed(rng),
        info={
            "session": session,
            "raters": raters,
            "idless_after": 1 if (session == 1 and index == 0) else None,
        },
    )


def wdseg_text(
    words: tuple[WordTime, ...], tokens: list[str], duration: float, rng: np.random.Generator
) -> str:
    """A Sphinx-3 ``s3align`` word segmentation (10 ms frames, inclusive end frames) of one utterance."""
    last_frame = int(duration * 100) - 1
    rows: list[tuple[int, int, str]] = []
    cursor = 0
    for word, token in zip(words, tokens, strict=True):
        start = max(round(word.start * 100), cursor)
        end = max(min(round(word.end * 100) - 1, last_frame - 1), start)
        if rows and rows[-1][2] not in ("<s>", "<sil>") and start - cursor < 3:
            rows[-1] = (rows[-1][0], start - 1, rows[-1][2])
        elif start > cursor:
            rows.append((cursor, start - 1, "<s>" if not rows else "<sil>"))
        rows.append((start, end, token))
        cursor = end + 1
    rows.append((cursor, max(cursor, last_frame), "</s>"))
    lines = [f"\t{'SFrm':>5} {'EFrm':>5} {'SegAScr':>10} Word"]
    total = 0
    for start, end, token in rows:
        per_frame = rng.uniform(300, 2500) if token.startswith("<") else rng.uniform(2000, 60000)
        score = -int(per_frame * (end - start + 1))
        total += score
        lines.append(f"\t{start:5d} {end:5d} {score:10d} {token}")
    lines.append(f" Total score: {total:11d}")
    return "\n".join(lines) + "\n"


def _emo_block(start: float, end: float, turn: TurnPlan) -> str:
    info = turn.info
    v, a, d = info["vad"]
    lines = [f"[{start:.4f} - {end:.4f}]\t{turn.turn_id}\t{turn.label}\t[{v:.4f}, {a:.4f}, {d:.4f}]"]
    for rater, cats, comment in info["c_lines"]:
        lines.append(f"C-{rater}:\t{''.join(c + '; ' for c in cats).rstrip(' ') or ';'}\t{comment}")
    for rater, (val, act, dom), comment in info["a_lines"]:
        lines.append(f"A-{rater}:\tval {val}; act {act}; dom  {dom};\t{comment}")
    return "\n".join(lines) + "\n"


def _categorical_line(turn: TurnPlan, rater_index: int) -> str:
    cats = turn.info["c_lines"][rater_index][1] or ["Other"]
    named = ["Neutral state" if c == "Neutral" else c for c in cats]
    return f"{turn.turn_id} :{'; :'.join(named)}; ()"


def write_recording(
    root: Path, recording: RecordingPlan, rendered: list[RenderedTurn], speakers: dict[str, Speaker]
) -> list[dict]:
    """Write one dialog: its wav, sentence wavs, .wdseg files, transcription and EmoEvaluation files."""
    session_dir = root / f"Session{recording.info['session']}"
    dialog = recording.name
    offsets, total = place_turns(recording, rendered)
    dialog_wav = session_dir / "dialog" / "wav" / f"{dialog}.wav"
    write_wav(dialog_wav, mix(recording, rendered, offsets, total), SAMPLE_RATE)
    transcript, blocks, records = [], [], []
    categorical: dict[int, list[str]] = {0: [], 1: []}
    for item, offset in zip(rendered, offsets, strict=True):
        turn = item.turn
        start, end = offset / SAMPLE_RATE, (offset + item.n_samples) / SAMPLE_RATE
        text = turn.info.get("transcript_prefix", "") + turn.sentence.text
        transcript.append(f"{turn.turn_id} [{start:08.4f}-{end:08.4f}]: {text}")
        files: dict[str, str | None] = {"wav": None, "wdseg": None}
        if turn.labelled:
            wav = session_dir / "sentences" / "wav" / dialog / f"{turn.turn_id}.wav"
            write_wav(wav, item.pcm, SAMPLE_RATE)
            files["wav"] = wav.relative_to(root).as_posix()
            if turn.info["wdseg"]:
                wdseg = session_dir / "sentences" / "ForcedAlignment" / dialog / f"{turn.turn_id}.wdseg"
                wdseg.parent.mkdir(parents=True, exist_ok=True)
                text_rng = derive_rng(turn.seed, "wdseg")
                wdseg.write_text(
                    wdseg_text(item.words, turn.info["wdseg_tokens"], item.duration, text_rng),
                    encoding="ascii",
                )
                files["wdseg"] = wdseg.relative_to(root).as_posix()
            blocks.append(_emo_block(start, end, turn))
            for k in categorical:
                categorical[k].append(_categorical_line(turn, k))
        files["recording_wav"] = dialog_wav.relative_to(root).as_posix()
        records.append(
            turn_record(
                NAME,
                dialog,
                item,
                speakers[turn.speaker_id],
                offset,
                files,
                session=recording.info["session"],
            )
        )
    if recording.info["idless_after"] is not None:
        transcript.insert(recording.info["idless_after"] + 1, IDLESS_LINE)
    _write_text(session_dir / "dialog" / "transcriptions" / f"{dialog}.txt", "\n".join(transcript) + "\n")
    _write_text(
        session_dir / "dialog" / "EmoEvaluation" / f"{dialog}.txt", HEADER + "\n\n" + "\n".join(blocks)
    )
    for k, lines in categorical.items():
        path = session_dir / "dialog" / "EmoEvaluation" / "Categorical" / f"{dialog}_e{k + 1}_cat.txt"
        _write_text(path, "\n".join(lines) + "\n")
    return records


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def finish(root: Path, plan: CorpusPlan, records: list[dict]) -> None:
    """Nothing corpus-wide: every IEMOCAP file belongs to one dialog."""

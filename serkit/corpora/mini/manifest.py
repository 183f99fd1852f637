"""``manifest.jsonl``: the generation truth of every synthesised turn, one JSON object a line.

It sits at the top of the generated corpus (``OUT/manifest.jsonl``), where none of the three real layouts
has a file a reader would pick up. Common keys: ``utt``, ``layout``, ``recording``, ``speaker``,
``gender``, ``labelled`` (false for turns the corpus gives no label: IEMOCAP ``XX`` turns, SEWA partner
turns and fillers), ``emotion`` (acted profile), ``label`` (the corpus label), ``intensity``,
``lex_mode``, ``lex_emo``, ``text``, ``words`` (``word``, ``start``, ``end``, ``merged``; seconds from the
start of the turn's audio), ``offset`` and ``duration`` (seconds in the recording), ``sample_rate``,
``voice``, ``prosody``, ``effects``, ``files`` (paths relative to the corpus root) and layout extras.
"""

from __future__ import annotations

import json
from pathlib import Path

from serkit.corpora.mini.render import RenderedTurn
from serkit.corpora.mini.voices import Speaker

MANIFEST_NAME = "manifest.jsonl"


def _round(value: float, digits: int = 6) -> float:
    return round(float(value), digits)


def turn_record(
    layout: str,
    recording: str,
    rendered: RenderedTurn,
    speaker: Speaker,
    offset_samples: int,
    files: dict[str, str | None],
    **extra: object,
) -> dict:
    """The manifest record of one rendered turn placed at ``offset_samples`` in its recording."""
    turn = rendered.turn
    record = {
        "utt": turn.turn_id,
        "layout": layout,
        "recording": recording,
        "speaker": speaker.speaker_id,
        "gender": speaker.gender,
        "labelled": turn.labelled,
        "emotion": turn.emotion,
        "label": turn.label,
        "intensity": turn.intensity,
        "lex_mode": turn.sentence.lex_mode,
        "lex_emo": turn.sentence.lex_emo,
        "text": turn.sentence.text,
        "words": [
            {"word": w.word, "start": _round(w.start), "end": _round(w.end), "merged": w.merged}
            for w in rendered.words
        ],
        "offset": _round(offset_samples / rendered.sample_rate),
        "duration": _round(rendered.duration),
        "sample_rate": rendered.sample_rate,
        "voice": rendered.voice,
        "prosody": {
            "rate": turn.prosody.rate,
            "pitch": turn.prosody.pitch,
            "range": turn.prosody.range,
            "volume": turn.prosody.volume,
        },
        "effects": {
            "lowpass_hz": turn.effects.lowpass_hz,
            "saturation": turn.effects.saturation,
            "brightness_db": turn.effects.brightness_db,
            "telephone": turn.telephone,
        },
        "files": files,
    }
    record.update(extra)
    return record


def write_manifest(path: Path, records: list[dict]) -> None:
    """Write ``records`` as JSON lines (sorted keys, UTF-8), in the given order."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")


def read_manifest(path: Path) -> list[dict]:
    """Read a ``manifest.jsonl`` back into a list of records."""
    with path.open(encoding="utf-8") as src:
        return [json.loads(line) for line in src if line.strip()]

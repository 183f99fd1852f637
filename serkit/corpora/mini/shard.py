"""One shard of the corpus: a fixed list of recordings rendered in a fixed order by a fresh process.

libespeak-ng's output depends on everything the process synthesised before, so reproducibility needs the
same recordings, in the same order, in a process that has synthesised nothing else. The shard count is
fixed per size, not per ``--nj``; ``--nj`` only decides how many shards run at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from serkit.corpora.mini.layouts import get_layout
from serkit.corpora.mini.plan import RecordingPlan
from serkit.corpora.mini.render import render_turn
from serkit.corpora.mini.synth import Espeak
from serkit.corpora.mini.voices import Speaker


@dataclass(frozen=True)
class ShardJob:
    """What a worker needs: layout, output root, espeak data dir, speakers and its recordings."""

    index: int
    layout: str
    root: str
    espeak_data: str
    speakers: dict[str, Speaker]
    recordings: tuple[RecordingPlan, ...]


def run_shard(job: ShardJob) -> tuple[int, list[dict]]:
    """Render and write the shard's recordings; return its index and its manifest records in order."""
    layout = get_layout(job.layout)
    engine = Espeak(job.espeak_data)
    records: list[dict] = []
    for recording in job.recordings:
        rendered = [
            render_turn(engine, turn, job.speakers[turn.speaker_id], layout.SAMPLE_RATE)
            for turn in recording.turns
        ]
        records.extend(layout.write_recording(Path(job.root), recording, rendered, job.speakers))
    return job.index, records

"""One module per real corpus layout; each plans a corpus and writes it exactly as the real one lies on disk.

A layout module provides ``SAMPLE_RATE``, ``SIZES`` (size name -> shard count and dimensions),
``plan(seed, size) -> CorpusPlan``, ``write_recording(root, recording, rendered, speakers) -> records``
(run inside a shard worker, once per recording) and ``finish(root, plan, records)`` (run once in the
parent, for the corpus-level files).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol, cast

from serkit.corpora.mini.plan import CorpusPlan, RecordingPlan
from serkit.corpora.mini.render import RenderedTurn
from serkit.corpora.mini.voices import Speaker

LAYOUT_NAMES: tuple[str, ...] = ("iemocap", "mosei", "sewa")
SIZE_NAMES: tuple[str, ...] = ("tiny", "default")


class Layout(Protocol):
    """What every layout module provides (see the package docstring)."""

    SAMPLE_RATE: int
    SIZES: dict

    def plan(self, seed: int, size: str) -> CorpusPlan: ...

    def write_recording(
        self, root: Path, recording: RecordingPlan, rendered: list[RenderedTurn], speakers: dict[str, Speaker]
    ) -> list[dict]: ...

    def finish(self, root: Path, plan: CorpusPlan, records: list[dict]) -> None: ...


def get_layout(name: str) -> Layout:
    """The layout module called ``name`` (one of :data:`LAYOUT_NAMES`)."""
    if name not in LAYOUT_NAMES:
        raise KeyError(name)
    return cast(Layout, importlib.import_module(f"serkit.corpora.mini.layouts.{name}"))

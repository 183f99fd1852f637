"""A recipe killed (SIGKILL) at a random point of each of its stages 1-6, then rerun, ends with the
figures of an uninterrupted run: each stage resumes or redoes its work from what the kill left.

The uninterrupted run (the reference) times its stages. A second copy of the recipe is launched once
per stage s, killed, process group and all, a random time after its ``Stage s:`` banner (drawn
uniformly below the reference's duration of stage s, from ``random.Random(seed)``: the seed and the
kill points are printed, ``KILL_SEED`` replays them), then run to the end. The scores of every config
and ``exp/RESULTS.md`` must equal the reference's.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_recipes import CI_CONFIGS, TINY_FAST, _copy_recipe, recipe_env

pytestmark = pytest.mark.slow

# iemocap: both modalities (s2v_dual), the acoustic row alone, and the pseudo-word speech space.
CONFIGS = {**CI_CONFIGS, "iemocap": ["s2v_acoustic", "s2v_dual", "pw_dual"]}
STAGES = range(1, 7)
TIMEOUT = 1800  # seconds, one launch


class Launch:
    """``bash run.sh`` in its own process group, its stderr in a file read as it grows."""

    def __init__(self, recipe: Path, options: list[str], log: Path) -> None:
        self.log = log
        self.started = time.monotonic()
        with open(log, "w") as err:
            self.process = subprocess.Popen(
                ["bash", "run.sh", *TINY_FAST, *options],
                cwd=recipe,
                env=recipe_env(),
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        self.banners: dict[int, float] = {}  # stage → when its banner appeared

    def _scan(self) -> None:
        now = time.monotonic()
        for banner in re.finditer(r"\) Stage (\d+): (.*)", self.log.read_text(errors="replace")):
            if not re.search(r" — (already done|done before) ", banner.group(2)):
                self.banners.setdefault(int(banner.group(1)), now)

    def wait_banner(self, stage: int | None) -> float | None:
        """When stage ``stage``'s banner appeared; None if the run ended first (stage None: the end)."""
        deadline = self.started + TIMEOUT
        while time.monotonic() < deadline:
            self._scan()
            if stage in self.banners:
                return self.banners[stage]
            if self.process.poll() is not None:
                self._scan()
                return self.banners.get(stage)
            time.sleep(0.02)
        self.kill()
        raise TimeoutError(f"no 'Stage {stage}:' after {TIMEOUT} s; log {self.log}")

    def kill(self) -> bool:
        """SIGKILL the whole process group; False if the run had already ended."""
        ended = self.process.poll() is not None
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        return not ended

    def finish(self) -> int:
        """Wait for the end (noting the banners as they come); the exit code."""
        self.wait_banner(None)
        return self.process.wait()


def _stage_durations(launch: Launch, end: float) -> dict[int, float]:
    times = sorted((t, s) for s, t in launch.banners.items())
    ends = [t for t, _ in times[1:]] + [end]
    return {s: e - t for (t, s), e in zip(times, ends, strict=True)}


def _scores(recipe: Path, configs: list[str]) -> dict[str, dict]:
    """Every scores/*.json of every config, their metrics (and what they were computed on)."""
    found = {}
    for config in configs:
        for path in sorted((recipe / "exp" / config).rglob("scores/*.json")):
            scores = json.loads(path.read_text())
            found[str(path.relative_to(recipe))] = {
                k: scores[k] for k in ("metrics", "protocol") if k in scores
            }
    return found


def _results(recipe: Path) -> str:
    """exp/RESULTS.md: its figures, and nothing that differs from run to run (no timings, no paths
    outside the recipe dir, whose name both runs share)."""
    return (recipe / "exp" / "RESULTS.md").read_text()


@pytest.mark.parametrize("name", ["iemocap", "sewa", "mosei"])
def test_a_recipe_killed_in_every_stage_ends_as_an_uninterrupted_run(tmp_path: Path, name: str) -> None:
    seed = int(os.environ.get("KILL_SEED") or random.SystemRandom().randrange(10**6))
    print(f"\n{name}: KILL_SEED={seed}")
    began = time.monotonic()
    options = ["--configs", " ".join(CONFIGS[name])]

    reference = _copy_recipe(name, tmp_path / "reference")
    run = Launch(reference, options, tmp_path / "reference.log")
    assert run.finish() == 0, run.log.read_text()[-3000:]
    durations = _stage_durations(run, time.monotonic())
    print(f"reference: {time.monotonic() - began:.0f} s; stages " + ", ".join(
        f"{s}: {d:.1f} s" for s, d in sorted(durations.items())))  # fmt: skip

    chosen = random.Random(seed)
    recipe = _copy_recipe(name, tmp_path / "killed")
    kills = []
    for stage in STAGES:
        if stage not in durations:  # a stage this recipe skips (mosei has no stage 4)
            print(f"stage {stage}: not run by the recipe")
            continue
        after = chosen.uniform(0, durations[stage])
        if (recipe / "exp" / ".done" / f"stage.{stage}").exists():  # an earlier launch got past it
            kills.append((stage, None, False, True))
            print(f"stage {stage}: done before its launch (an earlier launch got past it)")
            continue
        launch = Launch(recipe, options, tmp_path / f"kill{stage}.log")
        banner = launch.wait_banner(stage)
        assert banner is not None, f"no 'Stage {stage}:' banner:\n" + launch.log.read_text()[-3000:]
        time.sleep(max(0.0, banner + after - time.monotonic()))
        killed = launch.kill()
        done = (recipe / "exp" / ".done" / f"stage.{stage}").exists()
        kills.append((stage, round(after, 2), killed, done))
        note = "killed" if killed else "had already ended"
        print(f"stage {stage}: {note} {after:.2f} s after its banner" + (" (stage done)" if done else ""))
    last = Launch(recipe, options, tmp_path / "final.log")
    assert last.finish() == 0, last.log.read_text()[-3000:]
    print(f"{name}: {time.monotonic() - began:.0f} s in all; kills (stage, s, killed, done): {kills}")

    assert _scores(recipe, CONFIGS[name]) == _scores(reference, CONFIGS[name]), (seed, kills)
    assert _results(recipe) == _results(reference), (seed, kills)

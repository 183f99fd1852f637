"""The serkit command line: help for every command, version, the error contract."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_serkit

from serkit import __version__
from serkit.cli import app, main


def _commands() -> list[str]:
    """Every command as typed: ``name``, or ``group name`` for a sub-app's commands (prepare-data iemocap)."""
    names = [c.name for c in app.registered_commands]
    for group in app.registered_groups:
        names += [f"{group.name} {c.name}" for c in group.typer_instance.registered_commands]
    return sorted(names)


def _groups() -> list[str]:
    return sorted(g.name for g in app.registered_groups)


def test_help_lists_every_command_with_one_line() -> None:
    result = run_serkit("--help")
    assert result.returncode == 0
    for name in [*_commands(), *_groups()]:
        assert name.split()[0] in result.stdout, name
    commands = list(app.registered_commands)
    for group in app.registered_groups:
        commands += group.typer_instance.registered_commands
    for command in commands:
        assert command.callback.__doc__ and command.callback.__doc__.strip().splitlines()[0], command.name


def test_every_command_help_has_an_example() -> None:
    assert "prepare-data iemocap" in _commands() and "prepare-data sewa" in _commands()
    for name in [*_commands(), *_groups()]:
        result = run_serkit(*name.split(), "--help")
        assert result.returncode == 0, name
        assert "Example: serkit " + name in " ".join(result.stdout.split()), name


def test_prepare_data_commands_take_only_their_own_options() -> None:
    mosei = " ".join(run_serkit("prepare-data", "mosei", "--help").stdout.split())
    sewa = " ".join(run_serkit("prepare-data", "sewa", "--help").stdout.split())
    assert "--tie-rule" in mosei and "--class-map" not in mosei and "--word-times" not in mosei
    assert "--word-times" in sewa and "--folds" not in sewa and "--tie-rule" not in sewa


def test_version() -> None:
    result = run_serkit("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"serkit {__version__}"


def test_user_error_is_one_red_line_with_exit_2(tmp_path: Path) -> None:
    result = run_serkit("store-info", str(tmp_path / "missing.h5"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "missing.h5" in lines[0] and "run the feature extraction stage" in lines[0]
    assert main(["store-info", str(tmp_path / "missing.h5")]) == 2


def test_unexpected_error_shows_traceback_only_with_verbose(tmp_path, monkeypatch, capsys) -> None:
    import pytest

    from serkit import store

    def broken(path):
        raise RuntimeError("boom")

    monkeypatch.setattr(store, "describe", broken)
    assert main(["store-info", str(tmp_path / "x.h5")]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "--verbose" in err and "Traceback" not in err
    with pytest.raises(RuntimeError, match="boom"):
        main(["--verbose", "store-info", str(tmp_path / "x.h5")])


def test_subset_data_reads_its_list_from_a_pipe(data_dir: Path, tmp_path: Path) -> None:
    """`--utt-list <(awk ...)` as a recipe writes it: bash hands over a pipe, not a file."""
    utts = sorted(line.split()[0] for line in (data_dir / "utt2spk").read_text().splitlines())[:2]
    out = tmp_path / "two"
    ids = " ".join(utts)
    script = f'py="$1"; shift; "$py" -m serkit subset-data "$@" --utt-list <(printf "%s\\n" {ids})'
    done = subprocess.run(
        ["bash", "-c", script, "-", sys.executable, str(data_dir), str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert sorted(line.split()[0] for line in (out / "utt2spk").read_text().splitlines()) == utts
    missing = run_serkit("subset-data", str(data_dir), str(out), "--utt-list", str(tmp_path / "nope.list"))
    assert missing.returncode == 2 and "list file not found" in missing.stderr


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_idle_openmp_threads_sleep_unless_the_user_says_otherwise(given, expected) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    code = "import os, serkit.cli; print(os.environ['OMP_WAIT_POLICY'])"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == expected

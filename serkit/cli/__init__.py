"""The ``serkit`` command line: thin Typer commands over the library.

Each module below registers its commands on :data:`serkit.cli.app.app`; this
package is the only place that imports them all. Nothing imports ``serkit.cli``.
"""

from __future__ import annotations

import os
import sys

# Idle OpenMP threads (torch's intra-op pool) sleep instead of spinning, unless the user says
# otherwise: on a machine whose cores are busy (parallel jobs, two trainings side by side) spinning
# threads of one process starve the others' (measured: Speech2Vec on 2 threads beside other work,
# 38 word instances/s spinning, 417 sleeping). Set before anything loads the OpenMP runtime; jobs
# and torchrun workers inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from serkit.cli import corpus as _corpus  # noqa: F401
from serkit.cli import data as _data  # noqa: F401  (registers commands)
from serkit.cli import embeddings as _embeddings  # noqa: F401
from serkit.cli import features as _features  # noqa: F401
from serkit.cli import jobs as _jobs  # noqa: F401
from serkit.cli import predict as _predict  # noqa: F401
from serkit.cli import prepare as _prepare  # noqa: F401
from serkit.cli import train as _train  # noqa: F401
from serkit.cli.app import app, console, state
from serkit.errors import SerkitError, from_os_error


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script: SerkitError → one red line, exit 2."""
    try:
        app(args=argv, prog_name="serkit")
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except SerkitError as err:
        console.print(f"[bold red]error:[/] {err.format()}", highlight=False, soft_wrap=True)
        return 2
    except OSError as err:
        known = from_os_error(err)
        if known is None:
            return _internal(err)
        console.print(f"[bold red]error:[/] {known.format()}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        return 130
    except Exception as err:  # unexpected: a bug
        return _internal(err)
    return 0


def _internal(err: Exception) -> int:
    """An unexpected exception (a bug): one line, exit 1; with ``--verbose`` its traceback."""
    if state["verbose"]:
        raise err
    console.print(
        f"[bold red]internal error:[/] {type(err).__name__}: {err} (rerun with --verbose for the traceback)",
        highlight=False,
        soft_wrap=True,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())

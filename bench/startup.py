"""Start-up cost of the serkit commands a recipe runs: for each, the seconds its process spends
importing modules (``python -X importtime``, summed over the top-level imports, the lazy ones inside
the command included) and its wall time, best of N, on a recipe workspace's real inputs.

Run it in a recipe directory that has run once (``bash run.sh --mini true --mini-size tiny --fast
true``); outputs go to a temporary directory, the workspace is only read. ``--pythonpath`` picks the
serkit tree to time, so two trees compare on the same machine in one sitting:

    cd recipes/iemocap && python ../../bench/startup.py --repeat 3 --pythonpath OLD_TREE NEW_TREE
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "protocol": "protocol data sets",
    "validate-data": "validate-data data/train",
    "extract-features pyaa34": "extract-features data/dev {out}/dev.h5 --type pyaa34 --window 0.1 --step 0.1",
    "train-word2vec": "train-word2vec data/train {out}/w2v --config conf/emb/w2v.yaml --dim 50",
    "train-speech2vec (1 epoch)": "train-speech2vec data/train feats/all_word-mfcc.h5 {out}/s2v "
    "--config conf/emb/s2v.yaml --dim 50 --epochs 1",
    "train-pseudo-words": "train-pseudo-words data/train feats/all_word-mfcc.h5 {out}/pw "
    "--config conf/emb/pw.yaml --dim 50",
    "align-embeddings": "align-embeddings exp/emb/pw/pw.bin exp/emb/w2v/w2v.bin {out}/align "
    "--config conf/emb/align.yaml",
    "embed-words (pw)": "embed-words exp/emb/pw data/train feats/all_word-mfcc.h5 {out}/pw.h5",
    "embed-words (s2v)": "embed-words exp/emb/s2v data/train feats/all_word-mfcc.h5 {out}/s2v.h5",
    "eval-embeddings": "eval-embeddings exp/emb/pw/pw.bin exp/emb/w2v/w2v.bin --aligned exp/emb/align_pw "
    "--instances exp/emb/pw/train_words.h5 --data data/train --out {out}/diagnostics.json",
    "export-embeddings": "export-embeddings exp/emb/w2v/w2v.bin {out}/w2v.vec",
    "train (s2v_word_emb, 1 epoch)": "train --config conf/s2v_word_emb.yaml --exp {out}/exp "
    "--set train.seed=1 --set train.device=cpu --set train.epochs=1",
    "results": "results . --out {out}/RESULTS.md",
}
"""Each command as the recipe runs it (recipes/iemocap/run.sh, bin/recipe.sh), writing under {out}."""


def import_seconds(stderr: str) -> float:
    """The summed cumulative time of the top-level imports in ``-X importtime`` output."""
    total = 0
    for line in stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            _, cumulative, name = line[len("import time:") :].split("|")
            if not name.startswith("  "):  # one space follows the bar; deeper imports are indented
                total += int(cumulative)
    return total / 1e6


def run_once(command: str, pythonpath: str, out: Path) -> tuple[float, float, bool]:
    """(import seconds, wall seconds, succeeded) of one ``python -m serkit`` run."""
    env = {**os.environ, "PYTHONPATH": pythonpath, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-X", "importtime", "-m", "serkit", *command.format(out=out).split()]
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    return import_seconds(done.stderr), time.perf_counter() - began, done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pythonpath", nargs="+", required=True, help="serkit trees to time")
    parser.add_argument("--only", nargs="*", help="command names (keys of COMMANDS)")
    options = parser.parse_args()
    names = options.only or list(COMMANDS)
    print(f"load average {os.getloadavg()[0]:.1f}; best of {options.repeat}; import s / wall s per tree")
    print("| command | " + " | ".join(f"{p}: import s | wall s" for p in options.pythonpath) + " |")
    for name in names:
        cells = []
        for path in options.pythonpath:
            best_import = best_wall = float("inf")
            ok = True
            for _ in range(options.repeat):
                with tempfile.TemporaryDirectory() as out:
                    seconds, wall, success = run_once(COMMANDS[name], path, Path(out))
                ok &= success
                best_import, best_wall = min(best_import, seconds), min(best_wall, wall)
            cells.append(f"{best_import:.2f} | {best_wall:.2f}{'' if ok else ' (failed)'}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

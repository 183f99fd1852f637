"""A real one-node Slurm cluster for tests, started from Debian's packages (../shared/slurm_local.md).

:func:`start` needs root and the slurm-wlm and munge packages (``.ci/run`` installs them); it
returns None with the reason when it cannot run, so the caller can fall back and say why.
The configuration lives in the test's own folder and is named by ``SLURM_CONF``, so no system
file is touched; the caller sets ``SLURM_CONF`` for the commands that talk to the cluster.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SLURM_CONF = """ClusterName=serkit-test
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/d
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
ReturnToService=2
NodeName={host} CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class Cluster:
    state: Path
    pids: list[int]

    @property
    def conf(self) -> Path:
        return self.state / "slurm.conf"

    def stop(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
        end = time.time() + 15
        while time.time() < end and any(Path(f"/proc/{pid}").exists() for pid in self.pids):
            time.sleep(0.2)


def _pid(path: Path, timeout: float = 10) -> int | None:
    end = time.time() + timeout
    while time.time() < end:
        if path.is_file() and path.read_text().strip():
            return int(path.read_text().strip())
        time.sleep(0.2)
    return None


def start(state: Path) -> tuple[Cluster | None, str]:
    """Start munged, slurmctld and slurmd; wait for the node to be idle."""
    if os.geteuid() != 0:
        return None, "not root: a real Slurm needs root to start its daemons"
    missing = [b for b in ("slurmctld", "slurmd", "sbatch", "sinfo", "munged") if shutil.which(b) is None]
    if missing:
        return (
            None,
            f"Slurm packages not installed (missing {', '.join(missing)}; .ci/run installs slurm-wlm)",
        )
    if subprocess.run(["pgrep", "-x", "slurmctld"], capture_output=True).returncode == 0:
        return None, "a slurmctld is already running on this machine; not touching it"
    host = socket.gethostname().split(".")[0]
    state.mkdir(parents=True, exist_ok=True)
    (state / "ctld").mkdir(exist_ok=True)
    (state / "d").mkdir(exist_ok=True)
    mem = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.8)
    conf = state / "slurm.conf"
    conf.write_text(SLURM_CONF.format(host=host, state=state, cpus=os.cpu_count(), mem=mem))
    pids: list[int] = []
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(os.urandom(1024))
        shutil.chown(key, "munge", "munge")
        key.chmod(0o400)
    for d in ("/run/munge", "/var/log/munge", "/var/lib/munge"):
        Path(d).mkdir(parents=True, exist_ok=True)
        shutil.chown(d, "munge", "munge")
    if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode != 0:
        subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=False, capture_output=True)
        munge_pid = _pid(Path("/run/munge/munged.pid"))
        if munge_pid:
            pids.append(munge_pid)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    for daemon, pidfile in (("slurmctld", "slurmctld.pid"), ("slurmd", "slurmd.pid")):
        proc = subprocess.run([daemon], capture_output=True, text=True, check=False, env=env)
        pid = _pid(state / pidfile)
        if proc.returncode != 0 or pid is None:
            Cluster(state, pids).stop()
            return None, f"{daemon} did not start: {proc.stderr.strip()[-300:]}"
        pids.insert(0, pid)
    cluster = Cluster(state, pids)
    end = time.time() + 30
    while time.time() < end:
        out = subprocess.run(
            ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=env
        ).stdout.strip()
        if out == "idle":
            return cluster, ""
        time.sleep(0.5)
    cluster.stop()
    return None, f"the Slurm node never became idle (sinfo says {out!r})"

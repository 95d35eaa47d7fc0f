"""A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd on loopback, every file
(config, key, sockets, state, logs) in one temporary directory, stopped by their pids.

Needs Debian's slurmctld, slurmd, slurm-client and munge (``make slurm``, which .ci/run runs).
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PROGRAMS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")
NODE = "node1"
START_TIMEOUT_S = 60.0


class ClusterUnavailable(Exception):
    """Slurm is not installed, or the cluster did not come up; the message says why."""


@dataclass
class SlurmCluster:
    """A running cluster; ``env`` is the environment clients (sbatch, slurm.pl) need."""

    root: Path
    env: dict[str, str]
    pid_files: list[Path] = field(default_factory=list)

    def stop(self) -> None:
        """Cancel every job, then SIGTERM each daemon by its pid file and each job step daemon
        (slurmstepd) of this cluster, and SIGKILL any still alive after 10 s."""
        subprocess.run(["scancel", f"--user={getpass.getuser()}"], env=self.env, capture_output=True, timeout=30)
        pids = self._step_daemons()
        for pid_file in self.pid_files:
            try:
                pids.append(int(pid_file.read_text().split()[0]))
            except (OSError, ValueError, IndexError):
                continue
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in pids:
            _signal(pid, signal.SIGKILL)

    def _step_daemons(self) -> list[int]:
        """The pids of slurmstepd processes started by this cluster (their environment names its config)."""
        marker = f"SLURM_CONF={self.env['SLURM_CONF']}".encode()
        pids = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and (proc / "comm").read_text().strip() == "slurmstepd":
                    if marker in (proc / "environ").read_bytes().split(b"\0"):
                        pids.append(int(proc.name))
            except OSError:
                continue
        return pids

    def job_record(self, name: str) -> str:
        """Slurm's records (``scontrol --oneliner show job``) of the jobs called ``name``, a line each."""
        jobs = subprocess.run(["scontrol", "--oneliner", "show", "job"], env=self.env, capture_output=True, text=True)
        return "\n".join(line for line in jobs.stdout.splitlines() if f"JobName={name} " in line)

    def log_tails(self) -> str:
        """The end of each daemon's log, for failure messages."""
        return "\n".join(f"{log.name}: {log.read_text()[-1500:]}" for log in sorted((self.root / "log").glob("*.log")))


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (a killed orphan may wait a moment for its reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _config(root: Path, user: str) -> str:
    # CPUs and memory are declared above this machine's (config_overrides) so that tests can run
    # several single-CPU tasks at once and ask for --mem.
    return f"""ClusterName=diffsvtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
AuthInfo=socket={root}/munge/socket
CredType=cred/munge
SlurmUser={user}
SlurmdUser={user}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=100
SchedulerType=sched/builtin
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0
SlurmdParameters=config_overrides
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
KillWait=5
NodeName={NODE} NodeAddr=127.0.0.1 CPUs=8 RealMemory=16000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise ClusterUnavailable(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")


def start(root: Path) -> SlurmCluster:
    """Start munged, slurmctld and slurmd under ``root`` and wait until the node is idle."""
    missing = [program for program in PROGRAMS if shutil.which(program) is None]
    if missing:
        raise ClusterUnavailable(f"Slurm is not installed ({', '.join(missing)} missing; run 'make slurm')")
    for sub in ("munge", "state", "spool", "log"):
        (root / sub).mkdir(parents=True)
    (root / "munge").chmod(0o700)
    config = root / "slurm.conf"
    config.write_text(_config(root, getpass.getuser()))
    env = dict(os.environ, SLURM_CONF=str(config))
    cluster = SlurmCluster(root, env, [root / "munge" / "munged.pid", root / "slurmctld.pid", root / "slurmd.pid"])
    munge = root / "munge"
    try:
        _run(["mungekey", "--create", f"--keyfile={munge}/munge.key"], env)
        _run(
            [
                "munged",
                "--force",
                f"--socket={munge}/socket",
                f"--key-file={munge}/munge.key",
                f"--pid-file={munge}/munged.pid",
                f"--log-file={root}/log/munged.log",
                f"--seed-file={munge}/munged.seed",
            ],
            env,
        )
        _run(["slurmctld", "-f", str(config)], env)
        _run(["slurmd", "-f", str(config), "-N", NODE], env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            state = subprocess.run(["sinfo", "--noheader", "--format=%T"], env=env, capture_output=True, text=True)
            if state.stdout.strip() == "idle":
                return cluster
            if time.monotonic() > deadline:
                raise ClusterUnavailable(
                    f"the node did not become idle in {START_TIMEOUT_S:.0f} s (sinfo: "
                    f"{state.stdout.strip() or state.stderr.strip()})"
                )
            time.sleep(0.5)
    except ClusterUnavailable as err:
        cluster.stop()
        raise ClusterUnavailable(f"{err}\n{cluster.log_tails()}") from None

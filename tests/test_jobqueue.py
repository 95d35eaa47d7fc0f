"""The job runners of cmd.sh, driven as recipes drive them: utils/run.pl on this machine, utils/slurm.pl
against a real single-node Slurm cluster and utils/queue.pl against a fake grid engine (tests/fake_sge).
One set of tests shows the three alike (logs, failures, awkward arguments, interruption); the rest covers
what only the cluster runners do (site configs, lost tasks, refused submissions, torchrun in a job).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from slurm_cluster import SlurmCluster, alive, free_port

UTILS = Path(__file__).resolve().parents[1] / "utils"


class Scheduler:
    """One backend under test: its script, environment, and how to ask what the scheduler still holds."""

    def __init__(self, script: str, env: dict[str, str]) -> None:
        self.script = script
        self.env = env

    def run(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(UTILS / self.script), *args], cwd=cwd, env=env or self.env, capture_output=True, text=True, timeout=120
        )

    def popen(self, cwd: Path, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [str(UTILS / self.script), *args], cwd=cwd, env=self.env, stderr=subprocess.PIPE, text=True
        )

    def queued(self) -> str:
        """What the scheduler lists as pending or running (empty when nothing, and always for run.pl)."""
        if self.script == "run.pl":
            return ""
        if self.script == "slurm.pl":
            command = ["squeue", "--noheader", "--array"]
        else:
            command = ["qstat", "-g", "d"]
        listing = subprocess.run(command, env=self.env, capture_output=True, text=True, check=True).stdout
        return "\n".join(line for line in listing.splitlines()[(0 if self.script == "slurm.pl" else 2) :])


def _scheduler(request: pytest.FixtureRequest) -> Scheduler:
    if request.param == "local":
        return Scheduler("run.pl", dict(os.environ))
    if request.param == "slurm":
        cluster: SlurmCluster = request.getfixturevalue("slurm_cluster")
        return Scheduler("slurm.pl", cluster.env)
    return Scheduler("queue.pl", request.getfixturevalue("fake_sge"))


@pytest.fixture(params=["local", "slurm", "sge"])
def runner(request: pytest.FixtureRequest) -> Scheduler:
    """Each runner of cmd.sh in turn."""
    return _scheduler(request)


@pytest.fixture(params=["slurm", "sge"])
def scheduler(request: pytest.FixtureRequest) -> Scheduler:
    """Each cluster runner in turn."""
    return _scheduler(request)


def framed(log: Path) -> list[str]:
    """The command's output in a log, after checking run.pl's frame: command, host, start, end, status."""
    lines = log.read_text().splitlines()
    assert re.fullmatch(r"# Started at .+ on \S+", lines[1]) and lines[2] == "#"
    assert re.fullmatch(r"# Accounting: time=\d+ threads=\d+", lines[-2])
    assert re.fullmatch(r"# Ended \(code \d+(; signal \d+)?\) at .+, elapsed time \d+ seconds", lines[-1])
    return lines[3:-2]


def test_array_of_jobs_all_succeed_with_run_pl_logs(tmp_path: Path, runner: Scheduler) -> None:
    result = runner.run(tmp_path, "JOB=1:3", "exp/log/echo.JOB.log", "echo", "job", "JOB")
    assert result.returncode == 0, result.stderr
    for job in (1, 2, 3):
        log = tmp_path / f"exp/log/echo.{job}.log"
        assert log.read_text().splitlines()[0] == f"# echo job {job}"
        assert log.read_text().splitlines()[1].endswith(f" on {socket.gethostname()}")
        assert framed(log) == [f"job {job}"]
        assert "# Ended (code 0) at " in log.read_text()
    # Nothing of the submission is left behind once every job succeeded.
    assert sorted(path.name for path in (tmp_path / "exp/log").iterdir()) == [f"echo.{j}.log" for j in (1, 2, 3)]


def test_failed_jobs_give_nonzero_status_and_are_named(tmp_path: Path, runner: Scheduler) -> None:
    script = "echo out; echo err >&2; exit $((JOB % 2))"
    result = runner.run(tmp_path, "JOB=1:4", "log/f.JOB.log", "bash", "-c", script)
    assert result.returncode == 1
    failed = [line for line in result.stderr.splitlines() if " failed, log is in " in line]
    assert failed == [f"{runner.script}: 2 / 4 failed, log is in log/f.{job}.log" for job in (1, 3)]
    assert framed(tmp_path / "log/f.1.log") == ["out", "err"]
    assert "# Ended (code 1) at " in (tmp_path / "log/f.3.log").read_text()
    assert "# Ended (code 0) at " in (tmp_path / "log/f.2.log").read_text()
    if runner.script == "run.pl":
        return
    # A cluster runner's files of the submission stay for diagnosis: each task's exit status among them.
    statuses = {path.name.split(".")[-2]: path.read_text() for path in (tmp_path / "log/q").glob("*.status")}
    assert statuses == {"1": "1\n", "2": "0\n", "3": "1\n", "4": "0\n"}


def test_paths_with_spaces_and_quotes_and_awkward_arguments_survive(tmp_path: Path, runner: Scheduler) -> None:
    workdir = tmp_path / "work dir with 'single' and \"double\" quotes"
    workdir.mkdir()
    awkward = ["with space", "it's", 'say "hi"', "$HOME", "cost $5 `date`", "back\\slash", "#hash", "", "a\tb"]
    result = runner.run(workdir, "JOB=2", "log dir/it's JOB.log", "printf", "%s\\n", *awkward)
    assert result.returncode == 0, result.stderr
    assert framed(workdir / "log dir/it's 2.log") == awkward
    result = runner.run(workdir, "log dir/p.log", "echo", "hello", "|", "tr", "a-z", "A-Z", ">", "up per.txt")
    assert result.returncode == 0, result.stderr
    assert (workdir / "up per.txt").read_text() == "HELLO\n"


def test_options_reach_the_scheduler(tmp_path: Path, scheduler: Scheduler) -> None:
    options = ["--num-threads", "2", "--mem", "2G", "--time", "1:00:00", "--max-jobs-run", "1"]
    # Each job appends "start N" and "end N"; one at a time, every start is followed by its own end.
    script = "echo start JOB >> events; sleep 0.2; echo end JOB >> events; env"
    result = scheduler.run(tmp_path, *options, "JOB=1:3", "log/o.JOB.log", "bash", "-c", script)
    assert result.returncode == 0, result.stderr
    events = (tmp_path / "events").read_text().split("\n")[:-1]
    if scheduler.script == "slurm.pl":
        assert events == [f"{kind} {job}" for job in (1, 2, 3) for kind in ("start", "end")]
        env = framed(tmp_path / "log/o.2.log")
        assert {"SLURM_CPUS_PER_TASK=2", "SLURM_MEM_PER_NODE=2048", "SLURM_ARRAY_TASK_ID=2"} <= set(env)
    else:
        [submission] = [json.loads(line) for line in (Path(scheduler.env["FAKE_SGE_DIR"]) / "submissions.jsonl").open()]
        args = " ".join(submission["args"])
        assert args.startswith("-V -cwd -S /bin/bash -j y ")
        for flags in ("-pe smp 2", "-l mem_free=2G,ram_free=2G", "-l h_rt=1:00:00", "-t 1-3", "-tc 1", "-N o"):
            assert flags in args
    assert "threads=2" in (tmp_path / "log/o.1.log").read_text()


def test_site_config_sets_command_and_defaults(tmp_path: Path, scheduler: Scheduler) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    if scheduler.script == "slurm.pl":
        command = "command sbatch --export=ALL --partition=debug --comment='diffsv test'"
        name = "slurm.conf"
    else:
        command = "command qsub -V -cwd -S /bin/bash -j y -q all.q"
        name = "queue.conf"
    flag = "--cpus-per-task=$0" if scheduler.script == "slurm.pl" else "-pe smp $0"
    (conf / name).write_text(f"{command}  # the site's queue\noption num_threads=* {flag}\ndefault num_threads=3\n")
    result = scheduler.run(tmp_path, "log/d.log", "bash", "-c", "env")
    assert result.returncode == 0, result.stderr
    assert "threads=3" in (tmp_path / "log/d.log").read_text()
    if scheduler.script == "slurm.pl":
        assert "SLURM_CPUS_PER_TASK=3" in framed(tmp_path / "log/d.log")
    else:
        [submission] = [json.loads(line) for line in (Path(scheduler.env["FAKE_SGE_DIR"]) / "submissions.jsonl").open()]
        assert "-q all.q -pe smp 3 " in " ".join(submission["args"])


@pytest.mark.parametrize(
    "config, args, message",
    [
        ("command submit\nqueue all\n", [], "conf/site.conf:2: unknown directive 'queue'"),
        ("command submit\noption gpus=* -g $0\n", [], "conf/site.conf:2: unknown option 'gpus'"),
        ("command submit\noption gpu\n", [], "conf/site.conf:2: expected 'option NAME=VALUE'"),
        ("command submit\ndefault num_threads=lots\n", [], "conf/site.conf:2: invalid default 'lots'"),
        ("option gpu=* -g $0\n", [], "conf/site.conf: no 'command' line"),
        ("command submit\noption gpu=0\n", ["--gpu", "2"], "conf/site.conf has no 'option gpu=2' or 'option gpu=*'"),
        (None, ["--num-nodes", "2"], "no 'option num_nodes=2'"),
    ],
)
def test_site_config_errors_name_the_file_and_line(
    tmp_path: Path, fake_sge: dict[str, str], config: str | None, args: list[str], message: str
) -> None:
    if config is not None:
        (tmp_path / "conf").mkdir()
        (tmp_path / "conf/site.conf").write_text(config)
        args = ["--config", "conf/site.conf", *args]
    result = Scheduler("queue.pl", fake_sge).run(tmp_path, *args, "log/x.log", "true")
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.startswith("queue.pl: ")
    assert not (tmp_path / "log").exists()
    assert not (Path(fake_sge["FAKE_SGE_DIR"]) / "submissions.jsonl").exists()


def test_refused_submission_is_an_error_naming_the_scheduler(tmp_path: Path, slurm_cluster: SlurmCluster) -> None:
    # The test cluster has no GPUs (no GRES), so Slurm refuses the job at submission.
    result = Scheduler("slurm.pl", slurm_cluster.env).run(tmp_path, "--gpu", "1", "log/g.log", "true")
    assert result.returncode == 1
    assert re.search(r"slurm.pl: sbatch .* failed \(exit \d+\): .*gres", result.stderr, re.IGNORECASE), result.stderr


def test_local_runner_refuses_several_nodes(tmp_path: Path) -> None:
    result = Scheduler("run.pl", dict(os.environ)).run(tmp_path, "--num-nodes", "2", "log/n.log", "true")
    assert result.returncode == 2
    assert "run.pl: runs jobs on this machine only, not on 2 nodes" in result.stderr


def test_lost_task_fails_named(tmp_path: Path, scheduler: Scheduler) -> None:
    # Job 2 kills its task runner outright (as a node failure or SIGKILL would): no exit status is ever written.
    env = dict(scheduler.env, DIFFSV_LOST_TASK_GRACE_S="1")
    script = "[ JOB = 2 ] && kill -9 $PPID; sleep 1; echo done"
    result = scheduler.run(tmp_path, "JOB=1:2", "log/l.JOB.log", "bash", "-c", script, env=env)
    assert result.returncode == 1
    assert "job 2 (task 2 of " in result.stderr and "left the queue without an exit status" in result.stderr
    assert f"{scheduler.script}: 1 / 2 failed, log is in log/l.2.log" in result.stderr
    assert framed(tmp_path / "log/l.1.log") == ["done"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interruption_stops_every_job(tmp_path: Path, runner: Scheduler, signum: signal.Signals) -> None:
    # Two jobs run at once; the third (held back by --max-jobs-run, which the fake qsub ignores) never starts.
    (tmp_path / "pids").mkdir()
    script = "sleep 60 & echo $! > pids/JOB.tmp && mv pids/JOB.tmp pids/JOB; wait"
    jobs = "JOB=1:2" if runner.script == "queue.pl" else "JOB=1:3"
    process = runner.popen(tmp_path, "--max-jobs-run", "2", jobs, "log/k.JOB.log", "bash", "-c", script)
    try:
        pid_files = [tmp_path / "pids/1", tmp_path / "pids/2"]
        deadline = time.monotonic() + 60
        while not all(path.exists() for path in pid_files):
            assert time.monotonic() < deadline and process.poll() is None, "jobs did not start"
            time.sleep(0.1)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 128 + signum
    assert "interrupted" in stderr
    sleepers = [int(path.read_text()) for path in pid_files]
    deadline = time.monotonic() + 30
    while (any(alive(pid) for pid in sleepers) or runner.queued()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in sleepers)
    assert runner.queued() == ""
    assert not (tmp_path / "log/k.3.log").exists()
    for job in (1, 2):  # each log is complete (a job's status depends on which of its processes Slurm signals first)
        assert framed(tmp_path / f"log/k.{job}.log") == []


# ---- torchrun inside a job (utils/torchrun.sh) ----------------------------------------------------

VENV_BIN = UTILS.parent / "tools" / "venv" / "bin"
# Every process adds its rank + 1 across the group and reports what it saw.
DDP_SCRIPT = """
import os
import torch
import torch.distributed as dist
dist.init_process_group("gloo")
total = torch.tensor([dist.get_rank() + 1.0])
dist.all_reduce(total)
line = f"rank {dist.get_rank()} of {dist.get_world_size()} on node {os.environ['GROUP_RANK']}: sum {total.item():g}"
os.write(1, (line + "\\n").encode())  # one write: the two processes share the log
dist.destroy_process_group()
"""


def _ddp_lines(log: Path) -> list[str]:
    return sorted(line for line in log.read_text().splitlines() if line.startswith("rank "))


def test_torchrun_runs_inside_a_slurm_job(tmp_path: Path, slurm_cluster: SlurmCluster) -> None:
    (tmp_path / "ddp.py").write_text(DDP_SCRIPT)
    env = dict(slurm_cluster.env, PATH=f"{VENV_BIN}:{slurm_cluster.env['PATH']}")
    torchrun = [
        str(UTILS / "torchrun.sh"),
        "--nnodes",
        "1",
        "--nproc-per-node",
        "2",
        "--master-port",
        str(free_port()),
    ]
    result = Scheduler("slurm.pl", env).run(tmp_path, "--num-threads", "2", "log/ddp.log", *torchrun, "ddp.py")
    assert result.returncode == 0, result.stderr + (tmp_path / "log/ddp.log").read_text()
    assert _ddp_lines(tmp_path / "log/ddp.log") == [f"rank {rank} of 2 on node 0: sum 3" for rank in (0, 1)]


def test_torchrun_spans_the_nodes_of_a_slurm_allocation(tmp_path: Path) -> None:
    # A two-node allocation as Slurm describes it to the batch script; srun and scontrol are stand-ins
    # (tests/fake_slurm) because the test cluster has one node. torchrun itself is real.
    (tmp_path / "ddp.py").write_text(DDP_SCRIPT)
    fakes = Path(__file__).resolve().parent / "fake_slurm"
    env = dict(
        os.environ,
        PATH=f"{fakes}:{VENV_BIN}:{os.environ['PATH']}",
        SLURM_JOB_NUM_NODES="2",
        SLURM_JOB_NODELIST="localhost,node2",
        SLURM_CPUS_PER_TASK="2",
        FAKE_SLURM_LOG=str(tmp_path / "srun.log"),
    )
    command = [str(UTILS / "torchrun.sh"), "--nnodes", "2", "--nproc-per-node", "1"]
    command += ["--master-port", str(free_port()), "ddp.py"]
    with open(tmp_path / "out.log", "w") as out:
        done = subprocess.run(command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=120)
    assert done.returncode == 0, (tmp_path / "out.log").read_text()
    assert _ddp_lines(tmp_path / "out.log") == [f"rank {rank} of 2 on node {rank}: sum 3" for rank in (0, 1)]
    [srun] = (tmp_path / "srun.log").read_text().splitlines()
    assert srun.startswith("--nodes=2 --ntasks=2 --ntasks-per-node=1 --cpus-per-task=2 ")


def test_recipe_asks_slurm_for_the_training_nodes(tmp_path: Path, slurm_cluster: SlurmCluster) -> None:
    # run.sh --num-nodes 2 makes training one $cuda_cmd job over two nodes running utils/torchrun.sh. The
    # one-node test cluster holds it pending; Ctrl-C (SIGINT to the recipe's process group) cancels it.
    recipe = UTILS.parent / "egs" / "voxceleb_diffsv"
    env = dict(slurm_cluster.env, cmd_backend="slurm", PATH=f"{VENV_BIN}:{slurm_cluster.env['PATH']}")
    for name in ("train", "musan_noise_train", "musan_speech_train", "musan_music_train", "rirs"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "wav.scp").touch()  # never read: the job stays pending
    command = ["bash", "run.sh", "--stage", "3", "--stop-stage", "3", "--num-nodes", "2"]
    command += ["--data", str(tmp_path / "data"), "--exp", str(tmp_path)]
    run = subprocess.Popen(command, cwd=recipe, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (job := slurm_cluster.job_record("train_pretrain")):
            assert time.monotonic() < deadline and run.poll() is None, "no training job was submitted"
            time.sleep(0.2)
        assert "NumNodes=2" in job and "JobState=PENDING" in job
        [spec] = (tmp_path / "diffsv/log/q").glob("train_pretrain.*.json")
        args = json.loads(spec.read_text())["args"]
        assert args[:6] == ["utils/torchrun.sh", "--nnodes", "2", "--nproc-per-node", "1", "--master-port"]
        assert args[7:13] == ["-m", "diffsv.bin.train", "--device", "cpu", "--phase", "pretrain"]  # --ngpu 0
        os.killpg(run.pid, signal.SIGINT)
        _, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode != 0
    assert "slurm.pl: cancelled job " in stderr
    assert "JobState=CANCELLED" in slurm_cluster.job_record("train_pretrain")

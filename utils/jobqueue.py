#!/usr/bin/env python3
"""Slurm and grid-engine backends of the job runner (slurm.pl, queue.pl), Kaldi style; stdlib only.

One call submits one array job (``sbatch --array`` / ``qsub -t``) whose task i runs job i of the batch
on a compute node through this file's task runner (``jobqueue.py task SPEC i``), which frames the log
exactly as run.pl does and then writes the job's exit status to a file. The caller waits for every
status file, asks the scheduler now and then which tasks it still holds (a task it no longer holds
that left no status was killed or lost with its node: it fails, named), and cancels the array when it
gets SIGINT or SIGTERM. Like Kaldi's queue.pl this assumes the working directory is on a filesystem
the nodes share. Per call, under ``<log dir>/q/`` (kept when a job fails, removed otherwise):

    <name>.<id>.json          the batch           <name>.<id>.<i>.out     the scheduler's output of task i
    <name>.<id>.sh            the job script      <name>.<id>.<i>.status  the exit status of job i

Site options (partition, account, GRES names, extra flags) come from a Kaldi-format config,
``conf/slurm.conf`` or ``conf/queue.conf`` unless ``--config`` names another (built-in defaults below
when neither exists)::

    command sbatch --export=ALL          # the submit command and the flags every job gets
    option gpu=0                         # --gpu 0 adds nothing
    option gpu=* --gres=gpu:$0           # any other --gpu N adds this, $0 replaced by N
    default num_threads=2                # the value used when the caller gives no --num-threads

Options are jobrunner.OPTIONS' ``dest`` names; ``--max-jobs-run`` is the array's own throttle.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import ClassVar

from jobrunner import (
    EXIT_FAILED,
    EXIT_USAGE,
    OPTIONS,
    STOP_SIGNALS,
    Backend,
    BackendError,
    Batch,
    Interrupted,
    JobOptions,
    JobResult,
    LocalBackend,
    UsageError,
    quote_arg,
    synchronous_signals,
)

# Seconds between looks for status files, and between asking the scheduler which tasks it holds.
STATUS_POLL_S = 0.5
SCHEDULER_POLL_S = 5.0
# How long a scheduler query or cancellation may take before it counts as unanswered.
SCHEDULER_TIMEOUT_S = 60.0
# How long a task the scheduler no longer holds may take to show its status file (shared filesystems
# cache directory listings) before it counts as lost; the environment variable overrides it.
LOST_TASK_GRACE_ENV = "DIFFSV_LOST_TASK_GRACE_S"
LOST_TASK_GRACE_S = 60.0

# The options a site config maps onto scheduler flags (max_jobs_run is the array throttle instead).
_MAPPED = tuple(option.dest for option in OPTIONS if option.dest != "max_jobs_run")
_OPTIONS_BY_DEST = {option.dest: option for option in OPTIONS}
_DEFAULTS = {each.name: each.default for each in fields(JobOptions)}


@dataclass
class SiteConfig:
    """A parsed Kaldi-format queue config: the submit command and the flags of each option value."""

    path: str
    command: list[str]
    # (dest, value) -> flags, where value "*" matches any value and "$0" in a flag is replaced by it.
    flags: dict[tuple[str, str], list[str]]
    defaults: dict[str, str]

    @classmethod
    def parse(cls, text: str, path: str) -> SiteConfig:
        """Parse a config; ``UsageError``-ready messages name ``path`` and the line."""
        command: list[str] = []
        flags: dict[tuple[str, str], list[str]] = {}
        defaults: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{path}:{number}"
            try:
                words = shlex.split(line, comments=True)
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
            if not words:
                continue
            keyword = words[0]
            if keyword == "command":
                if len(words) < 2:
                    raise ValueError(f"{where}: 'command' needs the submit program")
                command = words[1:]
                continue
            if keyword not in ("option", "default"):
                raise ValueError(f"{where}: unknown directive '{keyword}' (expected command, option or default)")
            dest, has_value, value = words[1].partition("=") if len(words) > 1 else ("", "", "")
            if not has_value or not value:
                raise ValueError(f"{where}: expected '{keyword} NAME=VALUE', got '{line.strip()}'")
            if dest not in _MAPPED:
                raise ValueError(f"{where}: unknown option '{dest}' (known: {', '.join(_MAPPED)})")
            if keyword == "option":
                flags[(dest, value)] = words[2:]
            elif len(words) > 2 or value == "*":
                raise ValueError(f"{where}: expected 'default {dest}=VALUE', got '{line.strip()}'")
            else:
                try:
                    _OPTIONS_BY_DEST[dest].parse(value)
                except ValueError as err:
                    raise ValueError(f"{where}: invalid default '{value}' for {dest}: {err}") from None
                defaults[dest] = value
        if not command:
            raise ValueError(f"{path}: no 'command' line (e.g. 'command sbatch --export=ALL')")
        return cls(path, command, flags, defaults)

    def apply_defaults(self, batch: Batch) -> None:
        """Set every option the caller did not give to the config's ``default`` value, if it has one."""
        for dest, value in self.defaults.items():
            if dest not in batch.given:
                setattr(batch.options, dest, _OPTIONS_BY_DEST[dest].parse(value))

    def resource_flags(self, batch: Batch) -> list[str]:
        """The flags for the options the caller gave or the config defaults (others add nothing, as in
        Kaldi); ``ValueError`` for a value the config cannot map."""
        result: list[str] = []
        for dest in _MAPPED:
            if dest not in batch.given and dest not in self.defaults:
                continue
            value = getattr(batch.options, dest)
            text = str(value)
            mapped = self.flags.get((dest, text))
            if mapped is None and (dest, "*") in self.flags:
                mapped = [flag.replace("$0", text) for flag in self.flags[(dest, "*")]]
            if mapped is None:
                if value == _DEFAULTS[dest]:
                    continue
                flag = _OPTIONS_BY_DEST[dest].flag
                raise ValueError(
                    f"{self.path} has no 'option {dest}={text}' or 'option {dest}=*' line for {flag} {text}"
                )
            result += mapped
        return result


class QueueBackend(Backend):
    """Submits a batch as one array job to a scheduler and waits for it; a subclass per scheduler."""

    # Where the site config is looked for, and the config used when that file does not exist.
    config_file: ClassVar[str]
    default_config: ClassVar[str]
    # The environment variable holding the array task index in the job, and how the scheduler writes
    # that index in an output path.
    task_variable: ClassVar[str]
    output_index: ClassVar[str]
    # The submit command prints the job id followed by this and more (or the id alone).
    job_id_end: ClassVar[str]

    def __init__(self, config: SiteConfig) -> None:
        self.config = config

    @classmethod
    def create(cls, config: str | None) -> Backend:
        """Load ``config`` (or ``config_file`` when it exists, else the built-in default)."""
        path = config or cls.config_file
        try:
            with open(path) as file:
                text = file.read()
        except FileNotFoundError:
            if config is not None:
                raise UsageError(f"config file {config} not found", cls.script) from None
            path, text = f"<{cls.script} default config>", cls.default_config
        except OSError as err:
            raise UsageError(f"cannot read config file {path}: {err}", cls.script) from None
        try:
            return cls(SiteConfig.parse(text, path))
        except ValueError as err:
            raise UsageError(str(err), cls.script) from None

    @abstractmethod
    def submit_flags(self, name: str, batch: Batch, output: str) -> list[str]:
        """Flags naming the job, making it an array over the batch's indices, and sending the
        scheduler's output of task i to ``output`` with i in the scheduler's own placeholder."""

    @abstractmethod
    def status_command(self, job_id: str) -> list[str]:
        """The command listing the array's tasks that the scheduler still holds."""

    @abstractmethod
    def parse_active_tasks(self, job_id: str, done: subprocess.CompletedProcess) -> set[int] | None:
        """The task indices in ``status_command``'s output; None when the scheduler did not answer."""

    @abstractmethod
    def cancel_command(self, job_id: str) -> list[str]:
        """The command cancelling every task of the array that is still pending or running."""

    def active_tasks(self, job_id: str) -> set[int] | None:
        """The array tasks the scheduler still holds (pending or running); None when it did not answer."""
        done = _ask_scheduler(self.status_command(job_id))
        return None if done is None else self.parse_active_tasks(job_id, done)

    def cancel(self, job_id: str) -> None:
        """Cancel the array, saying so; warn when the scheduler could not be told."""
        command = self.cancel_command(job_id)
        done = _ask_scheduler(command)
        if done is None or done.returncode != 0:
            reason = "no answer" if done is None else done.stderr.strip()
            print(
                f"{self.script}: '{shlex.join(command)}' failed ({reason}): cancel job {job_id} by hand",
                file=sys.stderr,
            )
        else:
            print(f"{self.script}: cancelled job {job_id}", file=sys.stderr)

    def run(self, batch: Batch) -> list[JobResult]:
        """Submit, wait for every task's status and return the results; cancel on SIGINT/SIGTERM."""
        try:
            self.config.apply_defaults(batch)
            resources = self.config.resource_flags(batch)
        except ValueError as err:
            raise UsageError(str(err), self.script) from None
        jobs = list(batch.jobs())
        try:
            files = _QueueFiles.create(batch, jobs[0].log)
            files.write_spec(batch)
            files.write_script(self.task_variable)
        except OSError as err:
            raise BackendError(f"cannot write the job script: {err}") from None
        output = files.output(self.output_index)
        command = [*self.config.command, *resources, *self.submit_flags(files.name, batch, output), files.script]
        job_id = self._submit(command)
        statuses = self._wait(job_id, [job.index for job in jobs], files)
        results = [JobResult(job, statuses[job.index]) for job in jobs]
        if all(result.status == 0 for result in results):
            files.remove([job.index for job in jobs])
        else:
            for result in results:
                if result.status != 0 and _non_empty_file(files.output_of(result.job.index)):
                    print(
                        f"{self.script}: the scheduler's output of job {result.job.index} is in "
                        f"{files.output_of(result.job.index)}",
                        file=sys.stderr,
                    )
        return results

    def _submit(self, command: Sequence[str]) -> str:
        """Run the submit command; ``BackendError`` naming it when it fails."""
        try:
            done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        except OSError as err:
            raise BackendError(f"cannot run {command[0]}: {err}") from None
        if done.returncode != 0:
            raise BackendError(
                f"{shlex.join(command)} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
            )
        job_id = done.stdout.strip().split(self.job_id_end)[0]
        if not job_id.isdigit():
            raise BackendError(f"no job id in the output of {command[0]}: {done.stdout.strip()!r}")
        return job_id

    def _wait(self, job_id: str, indices: list[int], files: _QueueFiles) -> dict[int, int]:
        """Each task's exit status, once every task has one (a lost task counts as failed)."""
        grace = float(os.environ.get(LOST_TASK_GRACE_ENV, LOST_TASK_GRACE_S))
        statuses: dict[int, int] = {}
        missing_since: dict[int, float] = {}
        next_check = time.monotonic() + SCHEDULER_POLL_S
        with synchronous_signals(STOP_SIGNALS):
            while len(statuses) < len(indices):
                received = signal.sigtimedwait(STOP_SIGNALS, STATUS_POLL_S)
                if received is not None:
                    self.cancel(job_id)
                    raise Interrupted(received.si_signo)
                statuses.update(files.read_statuses(set(indices) - set(statuses)))
                now = time.monotonic()
                if now < next_check:
                    continue
                next_check = now + SCHEDULER_POLL_S
                active = self.active_tasks(job_id)
                if active is None:
                    continue
                for index in set(indices) - set(statuses):
                    if index in active:
                        missing_since.pop(index, None)
                        continue
                    since = missing_since.setdefault(index, now)
                    next_check = min(next_check, since + grace)
                    if now - since >= grace:
                        print(
                            f"{self.script}: job {index} (task {index} of {job_id}) left the queue without an "
                            f"exit status: killed by the scheduler, or its node failed",
                            file=sys.stderr,
                        )
                        statuses[index] = EXIT_FAILED
        return statuses


def _ask_scheduler(command: list[str]) -> subprocess.CompletedProcess | None:
    """Run a scheduler query or cancellation; None when it cannot run or hangs (controller down)."""
    try:
        return subprocess.run(
            command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=SCHEDULER_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def status_path(prefix: str, index: int) -> str:
    """Where the task runner of job ``index`` of a submission writes its exit status."""
    return f"{prefix}.{index}.status"


def _non_empty_file(path: str) -> bool:
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


@dataclass(frozen=True)
class _QueueFiles:
    """The files of one submission under ``<log dir>/q/``: ``<prefix>.json``, ``.sh``, ``.<i>.out``, ``.<i>.status``."""

    directory: str
    name: str
    prefix: str

    @classmethod
    def create(cls, batch: Batch, first_log: str) -> _QueueFiles:
        """Reserve a unique prefix in the q/ directory beside the first job's log."""
        directory = os.path.join(os.path.dirname(first_log), "q")
        os.makedirs(directory, exist_ok=True)
        name = os.path.basename(batch.log_template).removesuffix(".log")
        if batch.var is not None:
            name = name.replace(f".{batch.var}", "").replace(batch.var, "")
        name = re.sub(r"[^\w.-]", "_", name) or "job"
        handle, spec = tempfile.mkstemp(prefix=f"{name}.", suffix=".json", dir=directory)
        os.close(handle)
        return cls(directory, name, spec.removesuffix(".json"))

    @property
    def spec(self) -> str:
        return f"{self.prefix}.json"

    @property
    def script(self) -> str:
        return f"{self.prefix}.sh"

    def output(self, placeholder: str) -> str:
        return f"{self.prefix}.{placeholder}.out"

    def output_of(self, index: int) -> str:
        return self.output(str(index))

    def status_of(self, index: int) -> str:
        return status_path(self.prefix, index)

    def write_spec(self, batch: Batch) -> None:
        """The batch as the task runner needs it (relative paths are relative to this directory)."""
        spec = {
            "cwd": os.getcwd(),
            "log_template": batch.log_template,
            "args": batch.args,
            "var": batch.var,
            "num_threads": batch.options.num_threads,
            "prefix": self.prefix,
        }
        with open(self.spec, "w") as file:
            json.dump(spec, file)

    def write_script(self, task_variable: str) -> None:
        """The job script: run task ``$<task_variable>`` with this Python and this file."""
        runner = os.path.abspath(__file__)
        lines = [
            "#!/bin/bash",
            f"# Array job of {self.name}; task i runs job i of {self.spec} (see {runner}).",
            f"cd {quote_arg(os.getcwd())} || exit 1",
            f'exec {quote_arg(sys.executable)} {quote_arg(runner)} task {quote_arg(self.spec)} "${task_variable}"',
        ]
        with open(self.script, "w") as file:
            file.write("\n".join(lines) + "\n")
        os.chmod(self.script, 0o755)

    def read_statuses(self, indices: set[int]) -> dict[int, int]:
        """The statuses written so far among ``indices`` (one directory listing per call)."""
        present = set(os.listdir(self.directory))
        statuses = {}
        for index in indices:
            path = self.status_of(index)
            if os.path.basename(path) in present:
                with open(path) as file:
                    statuses[index] = int(file.read().strip() or EXIT_FAILED)
        return statuses

    def remove(self, indices: list[int]) -> None:
        """Delete this submission's files, and q/ when nothing else is in it."""
        paths = [self.spec, self.script] + [path for i in indices for path in (self.output_of(i), self.status_of(i))]
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        with contextlib.suppress(OSError):  # not empty: another submission's files are there
            os.rmdir(self.directory)


class SlurmBackend(QueueBackend):
    """Slurm: ``sbatch --array``, ``squeue`` to see which tasks are left, ``scancel`` on interruption."""

    name = "slurm"
    script = "slurm.pl"
    config_file = "conf/slurm.conf"
    task_variable = "SLURM_ARRAY_TASK_ID"
    output_index = "%a"
    job_id_end = ";"  # sbatch --parsable: "<id>" or "<id>;<cluster>"
    default_config = """
command sbatch --export=ALL --ntasks-per-node=1
option num_threads=* --cpus-per-task=$0
option mem=* --mem=$0
option time=* --time=$0
option gpu=0
option gpu=* --gres=gpu:$0
option num_nodes=* --nodes=$0
"""

    def submit_flags(self, name: str, batch: Batch, output: str) -> list[str]:
        array = f"{batch.start}-{batch.end}"
        if batch.options.max_jobs_run:
            array += f"%{batch.options.max_jobs_run}"
        return ["--parsable", f"--job-name={name}", f"--array={array}", f"--output={output}"]

    def status_command(self, job_id: str) -> list[str]:
        return ["squeue", "--noheader", "--array", f"--jobs={job_id}", "--format=%K"]

    def parse_active_tasks(self, job_id: str, done: subprocess.CompletedProcess) -> set[int] | None:
        if done.returncode != 0:
            # A job that left squeue's memory altogether is an error to squeue, but not a failure to reach it.
            return set() if "Invalid job id" in done.stderr else None
        return {int(word) for word in done.stdout.split() if word.isdigit()}

    def cancel_command(self, job_id: str) -> list[str]:
        return ["scancel", job_id]


class GridEngineBackend(QueueBackend):
    """(Sun/Son of/Univa) grid engine: ``qsub -t``, ``qstat -g d`` per task, ``qdel`` on interruption."""

    name = "sge"
    script = "queue.pl"
    config_file = "conf/queue.conf"
    task_variable = "SGE_TASK_ID"
    output_index = "$TASK_ID"
    job_id_end = "."  # qsub -terse: "<id>.<first>-<last>:<step>" for an array job
    default_config = """
command qsub -V -cwd -S /bin/bash -j y
option num_threads=1
option num_threads=* -pe smp $0
option mem=* -l mem_free=$0,ram_free=$0
option time=* -l h_rt=$0
option gpu=0
option gpu=* -l gpu=$0
"""

    def submit_flags(self, name: str, batch: Batch, output: str) -> list[str]:
        flags = ["-terse", "-N", name, "-t", f"{batch.start}-{batch.end}", "-o", output]
        if batch.options.max_jobs_run:
            flags += ["-tc", str(batch.options.max_jobs_run)]
        return flags

    def status_command(self, job_id: str) -> list[str]:
        return ["qstat", "-g", "d"]

    def parse_active_tasks(self, job_id: str, done: subprocess.CompletedProcess) -> set[int] | None:
        if done.returncode != 0:
            return None
        tasks = set()
        for line in done.stdout.splitlines():
            words = line.split()
            if words and words[0] == job_id and words[-1].isdigit():
                tasks.add(int(words[-1]))
        return tasks

    def cancel_command(self, job_id: str) -> list[str]:
        return ["qdel", job_id]


def run_task(spec_path: str, index_text: str) -> int:
    """Run job ``index`` of a submitted batch on this node as run.pl would; write its exit status."""
    with open(spec_path) as file:
        spec = json.load(file)
    os.chdir(spec["cwd"])
    index = int(index_text)
    batch = Batch(spec["log_template"], spec["args"], spec["var"], index, index, JobOptions(spec["num_threads"]))
    try:
        [result] = LocalBackend().run(batch)
        status = result.status
    except Interrupted as err:
        status = 128 + err.signum
    path = status_path(spec["prefix"], index)
    with open(f"{path}.tmp", "w") as file:
        file.write(f"{status}\n")
    os.replace(f"{path}.tmp", path)
    return status


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "task" or not sys.argv[3].isdigit():
        print(
            f"usage: {sys.argv[0]} task SPEC INDEX (run by the job scripts of slurm.pl and queue.pl)", file=sys.stderr
        )
        sys.exit(EXIT_USAGE)
    sys.exit(run_task(sys.argv[2], sys.argv[3]))

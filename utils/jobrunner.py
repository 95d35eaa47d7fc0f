#!/usr/bin/env python3
"""Kaldi-style job batches and the local backend behind utils/run.pl (stdlib only, so any python3 runs it).

A batch is what ``run.pl [options] [JOB=1:N] LOG command args...`` asks for (parsed by jobcli.py): the
command is run through ``bash -c`` once per index of ``JOB=1:N`` (any variable name, e.g. ``TASK=1:4``;
``JOB=3`` runs index 3 only; no range runs one job), every occurrence of the variable name in LOG and in
the arguments replaced by the index, as Kaldi's run.pl does. Each job's stdout and stderr go to its log
(parent directories created), framed as Kaldi frames them:

    # <command line>
    # Started at <date> on <host>
    #
    <output>
    # Accounting: time=<seconds> threads=<--num-threads>
    # Ended (code <status>) at <date>, elapsed time <seconds> seconds

where a job killed by signal N ends ``(code 128+N; signal N)``. Options (see ``OPTIONS``) form a table
keyed by ``Option.dest`` so that every ``Backend`` maps the same request onto its own scheduler:
``LocalBackend`` here runs jobs on this machine; jobqueue.py submits them to Slurm or grid engine.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar

EXIT_FAILED = 1
EXIT_USAGE = 2
# Grace period between SIGTERM and SIGKILL for jobs killed on interruption.
KILL_GRACE_S = 3.0


class UsageError(Exception):
    """A malformed command line: ``(message, script)``, reported on stderr with exit status 2."""


class BackendError(Exception):
    """A backend could not run the batch at all (e.g. the scheduler refused it); reported with exit status 1."""


class Interrupted(Exception):
    """Raised by a backend that stopped its jobs because the runner got SIGINT or SIGTERM."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("not an integer") from None


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _non_empty(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


@dataclass(frozen=True)
class Option:
    """One run.pl option. Backends translate ``dest`` (not the flag) into scheduler requests."""

    flag: str
    dest: str
    parse: Callable[[str], object]
    help: str


OPTIONS: tuple[Option, ...] = (
    Option("--num-threads", "num_threads", _positive_int, "CPU threads per job (recorded in the log)"),
    Option("--gpu", "gpu", _non_negative_int, "GPUs per job (local: each job its own, by CUDA_VISIBLE_DEVICES)"),
    Option("--mem", "mem", _non_empty, "memory per job, e.g. 4G (ignored by the local backend)"),
    Option("--time", "time", _non_empty, "wall-clock limit per job, e.g. 2:00:00 (ignored by the local backend)"),
    Option("--max-jobs-run", "max_jobs_run", _positive_int, "jobs run at once (local default: number of CPUs)"),
    Option("--num-nodes", "num_nodes", _positive_int, "nodes per job, for multi-node training (Slurm only)"),
)


@dataclass
class JobOptions:
    """Resources requested for every job of a batch; field names are the ``Option.dest`` keys."""

    num_threads: int = 1
    gpu: int = 0
    mem: str | None = None
    time: str | None = None
    max_jobs_run: int | None = None
    num_nodes: int = 1


@dataclass(frozen=True)
class Job:
    """One job of a batch, with the job variable already substituted."""

    index: int
    log: str
    command: str


@dataclass
class Batch:
    """What run.pl was asked to run: a range of job indices, a log template and a command."""

    log_template: str
    args: list[str]
    var: str | None = None
    start: int = 1
    end: int = 1
    options: JobOptions = field(default_factory=JobOptions)
    # The ``Option.dest`` of every option given on the command line (a site config may default the rest).
    given: set[str] = field(default_factory=set)

    def jobs(self) -> Iterator[Job]:
        """Yield the jobs in index order, substituting the variable name literally as Kaldi does."""
        for index in range(self.start, self.end + 1):
            args, log = self.args, self.log_template
            if self.var is not None:
                args = [arg.replace(self.var, str(index)) for arg in args]
                log = log.replace(self.var, str(index))
            yield Job(index, log, join_command(args))


@dataclass(frozen=True)
class JobResult:
    """How a job ended: its exit status as bash reports it (128 + N when killed by signal N)."""

    job: Job
    status: int


# An argument is passed to bash verbatim (Kaldi's rule for arguments without whitespace) unless it
# holds characters whose meaning bash would change: whitespace, quotes, backslash, `$`, backquote,
# or a leading `#`. Bare `|`, `>`, `&&`, `2>/dev/null` (written `\|` etc. by the caller) therefore
# stay shell syntax, as Kaldi recipes rely on, while paths with spaces, quotes or `$` survive.
_NEEDS_QUOTING = re.compile(r"""[\s'"\\$`]|^#|^$""")


def quote_arg(arg: str) -> str:
    """Quote one argument for bash only when bash would otherwise alter it (see ``_NEEDS_QUOTING``)."""
    if not _NEEDS_QUOTING.search(arg):
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def join_command(args: Sequence[str]) -> str:
    """Join arguments into the command line given to ``bash -c`` and written to the log header."""
    return " ".join(quote_arg(arg) for arg in args)


def _date() -> str:
    """The current time in the format of date(1), which Kaldi's logs use."""
    return time.strftime("%a %b %e %H:%M:%S %Z %Y")


def log_header(job: Job) -> str:
    """The lines opening a job's log, before the command's output."""
    return f"# {job.command}\n# Started at {_date()} on {socket.gethostname()}\n#\n"


def log_footer(status: int, elapsed_s: float, num_threads: int) -> str:
    """The lines closing a job's log; a signal death reads ``code 128+N; signal N``."""
    seconds = int(round(elapsed_s))
    ended = f"code {status}"
    if status > 128:
        ended += f"; signal {status - 128}"
    return (
        f"# Accounting: time={seconds} threads={num_threads}\n"
        f"# Ended ({ended}) at {_date()}, elapsed time {seconds} seconds\n"
    )


def visible_gpus() -> list[str] | None:
    """The GPUs jobs may be given: CUDA_VISIBLE_DEVICES's list when it is set, else nvidia-smi's indices;
    None when neither says (no NVIDIA driver): jobs then run as they are, as Kaldi's run.pl runs them."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return [gpu.strip() for gpu in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if gpu.strip()]
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return listed.stdout.split()


def default_parallelism() -> int:
    """The CPUs this process may use, the default limit on jobs run at once."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not available on macOS
        return os.cpu_count() or 1


class Backend(ABC):
    """Runs the jobs of a batch somewhere; a subclass per place (this machine, Slurm, grid engine)."""

    name: ClassVar[str]
    # The script users put in cmd.sh for this backend, used to prefix messages as Kaldi's do.
    script: ClassVar[str]

    @classmethod
    def create(cls, config: str | None) -> Backend:
        """The backend for a run; ``config`` is the ``--config`` file of the queue backends."""
        if config is not None:
            raise UsageError("takes no --config (it runs jobs on this machine)", cls.script)
        return cls()

    @abstractmethod
    def run(self, batch: Batch) -> list[JobResult]:
        """Run every job of ``batch`` to completion and return their results."""


@dataclass
class _Running:
    """A started job and when it started, for the accounting line."""

    job: Job
    process: subprocess.Popen
    started: float
    gpus: list[str]


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _no_op(signum: int, frame: object) -> None:
    """Handler for signals that stay blocked and are taken with sigwait(); see ``synchronous_signals``."""


@contextmanager
def synchronous_signals(signums: Sequence[signal.Signals]) -> Iterator[set[signal.Signals]]:
    """Block ``signums`` so that they are taken only by sigwait()/sigtimedwait(); yield the original mask.

    A signal then can never strike while a job is half-started or half-reaped, and one arriving between
    checks stays pending rather than being lost. No-op handlers are installed because BSD kernels discard
    a blocked signal whose disposition is to ignore it (SIGCHLD by default, SIGINT in background jobs).
    """
    handlers = {signum: signal.signal(signum, _no_op) for signum in signums}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    try:
        yield mask
    finally:
        # Unblock first so that signals still pending reach the no-op handlers, not the originals.
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


class LocalBackend(Backend):
    """Runs jobs on this machine as bash processes, at most ``--max-jobs-run`` at once.

    With ``--gpu N`` each job is given N GPUs of its own (``CUDA_VISIBLE_DEVICES``, so that its ``cuda``
    device is its first), and no more jobs run at once than the visible GPUs allow: otherwise every job of
    ``--embed-gpus 4`` would run on GPU 0.
    """

    name = "local"
    script = "run.pl"

    def run(self, batch: Batch) -> list[JobResult]:
        """Start jobs as slots free up; on SIGINT/SIGTERM kill the running ones and raise ``Interrupted``.

        SIGCHLD, SIGINT and SIGTERM are taken synchronously (``synchronous_signals``).
        """
        if batch.options.num_nodes > 1:
            raise UsageError(
                f"runs jobs on this machine only, not on {batch.options.num_nodes} nodes "
                "(set a Slurm backend in cmd.sh, or run on each node with torchrun's --node-rank)",
                self.script,
            )
        limit = batch.options.max_jobs_run or default_parallelism()
        per_job = batch.options.gpu
        gpus = visible_gpus() if per_job else None
        if gpus is not None:
            if len(gpus) < per_job:
                raise BackendError(f"--gpu {per_job} per job, but {len(gpus)} GPU(s) are visible ({','.join(gpus)})")
            limit = min(limit, len(gpus) // per_job)
        free = deque(gpus or [])
        pending = deque(batch.jobs())
        running: list[_Running] = []
        results: list[JobResult] = []
        watched = (signal.SIGCHLD, *STOP_SIGNALS)
        with synchronous_signals(watched) as mask:
            while pending or running:
                while pending and len(running) < limit:
                    job = pending.popleft()
                    assigned = [free.popleft() for _ in range(per_job)] if gpus is not None else []
                    started = self._start(job, mask, assigned)
                    if started is None:
                        free.extend(assigned)
                        results.append(JobResult(job, EXIT_FAILED))
                    else:
                        running.append(started)
                finished = [each for each in running if each.process.poll() is not None]
                if running and not finished:
                    signum = signal.sigwait(watched)
                    if signum in STOP_SIGNALS:
                        self._kill(running, batch.options)
                        raise Interrupted(signum)
                for each in finished:
                    running.remove(each)
                    free.extend(each.gpus)
                    results.append(self._finish(each, batch.options))
        return results

    def _start(self, job: Job, mask: set[signal.Signals], gpus: list[str]) -> _Running | None:
        """Write the log header and start the job in its own process group (None if the log fails).

        ``mask`` is the runner's original signal mask, restored in the job so that it can be stopped;
        ``gpus`` (when any) become the job's CUDA_VISIBLE_DEVICES.
        """
        environment = dict(os.environ, CUDA_VISIBLE_DEVICES=",".join(gpus)) if gpus else None
        try:
            os.makedirs(os.path.dirname(job.log) or ".", exist_ok=True)
            with open(job.log, "w") as log:
                log.write(log_header(job))
            with open(job.log, "a") as log:
                # A new session gives the job its own process group, so killpg() reaches its pipeline
                # and a Ctrl-C at the terminal reaches only the runner, which then stops the jobs.
                process = subprocess.Popen(
                    ["bash", "-c", job.command],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, mask),
                    env=environment,
                )
        except OSError as err:
            print(f"{self.script}: cannot run job {job.index} with log {job.log}: {err}", file=sys.stderr)
            return None
        return _Running(job, process, time.monotonic(), gpus)

    def _finish(self, running: _Running, options: JobOptions) -> JobResult:
        """Append the log footer for a job that has ended."""
        code = running.process.returncode
        status = 128 - code if code < 0 else code
        try:
            with open(running.job.log, "a") as log:
                log.write(log_footer(status, time.monotonic() - running.started, options.num_threads))
        except OSError as err:
            print(f"{self.script}: cannot finish log {running.job.log}: {err}", file=sys.stderr)
            status = status or EXIT_FAILED
        return JobResult(running.job, status)

    def _kill(self, running: list[_Running], options: JobOptions) -> None:
        """Terminate the process groups of running jobs, SIGKILL those that outlive the grace period."""
        for each in running:
            _signal_group(each.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE_S
        for each in running:
            try:
                each.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(each.process.pid, signal.SIGKILL)
                each.process.wait()
            self._finish(each, options)


def _signal_group(pgid: int, signum: int) -> None:
    """Signal a job's process group, which may already be gone."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass

#!/usr/bin/env python3
"""The command line of utils/run.pl, slurm.pl and queue.pl (stdlib only, so any python3 runs it).

    run.pl   [options] [JOB=1:N] LOG command args...      jobs on this machine (jobrunner.LocalBackend)
    slurm.pl [options] [JOB=1:N] LOG command args...      one Slurm array job (jobqueue.SlurmBackend)
    queue.pl [options] [JOB=1:N] LOG command args...      one grid-engine array job (jobqueue.GridEngineBackend)

Each wrapper passes ``--backend NAME`` first; the batch, log format and options are jobrunner.py's.

Exit status: 0 when every job succeeds, 1 when any fails (each failed log is named on stderr) or the
scheduler refused the batch, 2 for a usage error (including a bad site config), 128 + signal number when
interrupted by SIGINT or SIGTERM (running jobs are killed, submitted arrays cancelled).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from jobqueue import GridEngineBackend, SlurmBackend
from jobrunner import (
    EXIT_FAILED,
    EXIT_USAGE,
    OPTIONS,
    Backend,
    BackendError,
    Batch,
    Interrupted,
    JobResult,
    LocalBackend,
    UsageError,
)

BACKENDS: dict[str, type[Backend]] = {
    backend.name: backend for backend in (LocalBackend, SlurmBackend, GridEngineBackend)
}
_OPTIONS_BY_FLAG = {option.flag: option for option in OPTIONS}

# JOB=1:20 or JOB=3; the name follows Kaldi (a shell-variable-like word).
_RANGE = re.compile(r"([A-Za-z_]\w*)=(\d+)(?::(\d+))?")


def usage(script: str) -> str:
    """The help text, built from the option table."""
    lines = [f"usage: {script} [options] [JOB=1:N] LOG command args...", "options:"]
    lines += [f"  {option.flag} VALUE".ljust(24) + option.help for option in OPTIONS]
    lines.append("  --config FILE".ljust(24) + "site config of slurm.pl/queue.pl [conf/slurm.conf, conf/queue.conf]")
    lines.append("  --backend NAME".ljust(24) + f"where jobs run: {', '.join(BACKENDS)} (set by the wrapper script)")
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> tuple[type[Backend], str | None, Batch | None]:
    """Parse the arguments; options and the job range may come in any order before LOG.

    Returns the backend class, the ``--config`` file and the batch (None when help was asked for).
    Raises ``UsageError`` (carrying the script name to report under) for anything malformed, including
    options no backend knows, so typos never pass silently.
    """
    args = list(argv)
    backend: type[Backend] = LocalBackend
    config: str | None = None
    batch = Batch(log_template="", args=[])
    while args and (args[0].startswith("-") or (batch.var is None and _RANGE.fullmatch(args[0]))):
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            return backend, config, None
        match = _RANGE.fullmatch(arg)
        if match:
            batch.var, batch.start = match.group(1), int(match.group(2))
            batch.end = int(match.group(3) or match.group(2))
            if not 1 <= batch.start <= batch.end:
                raise UsageError(f"invalid job range {arg}: need 1 <= start <= end", backend.script)
            continue
        flag, has_value, value = arg.partition("=")
        if not has_value:
            if not args:
                raise UsageError(f"option {flag} needs a value", backend.script)
            value = args.pop(0)
        if flag == "--backend":
            if value not in BACKENDS:
                raise UsageError(f"unknown backend '{value}' (known: {', '.join(BACKENDS)})", backend.script)
            backend = BACKENDS[value]
            continue
        if flag == "--config":
            config = value
            continue
        option = _OPTIONS_BY_FLAG.get(flag)
        if option is None:
            raise UsageError(f"unknown option {flag}", backend.script)
        try:
            setattr(batch.options, option.dest, option.parse(value))
        except ValueError as err:
            raise UsageError(f"invalid value '{value}' for {flag}: {err}", backend.script) from None
        batch.given.add(option.dest)
    if len(args) < 2:
        raise UsageError("need a log file and a command", backend.script)
    batch.log_template, batch.args = args[0], args[1:]
    if batch.var is not None and batch.end > batch.start and batch.var not in batch.log_template:
        raise UsageError(
            f"{batch.end - batch.start + 1} jobs would share the log file {batch.log_template} "
            f"(put {batch.var} in its name)",
            backend.script,
        )
    return backend, config, batch


def report(script: str, batch: Batch, results: Sequence[JobResult]) -> int:
    """Name every failed log on stderr, as Kaldi's run.pl names its one; return the exit status."""
    failed = sorted((result for result in results if result.status != 0), key=lambda result: result.job.index)
    for result in failed:
        print(f"{script}: {len(failed)} / {len(results)} failed, log is in {result.job.log}", file=sys.stderr)
    if failed and batch.var is None and "JOB" in batch.log_template:
        print(f"{script}: probably you forgot to put JOB=1:$nj in your script.", file=sys.stderr)
    return EXIT_FAILED if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status described in the module docstring."""
    try:
        backend_class, config, batch = parse_args(sys.argv[1:] if argv is None else argv)
        if batch is None:
            print(usage(backend_class.script))
            return 0
        backend = backend_class.create(config)
        results = backend.run(batch)
    except UsageError as err:
        message, script = err.args
        print(f"{script}: {message} (see {script} --help)", file=sys.stderr)
        return EXIT_USAGE
    except BackendError as err:
        print(f"{backend.script}: {err}", file=sys.stderr)
        return EXIT_FAILED
    except Interrupted as err:
        print(f"{backend.script}: interrupted by {err}; its jobs were stopped", file=sys.stderr)
        return 128 + err.signum
    return report(backend.script, batch, results)


if __name__ == "__main__":
    sys.exit(main())

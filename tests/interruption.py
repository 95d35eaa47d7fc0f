"""Interrupting a recipe stage the way users and clusters do: Ctrl-C or a scheduler's SIGTERM to the whole
stage, or SIGKILL (an out-of-memory kill, a lost node) to one of its workers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def interrupt(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    when: Callable[[], bool] | float,
    worker: str | None = None,
    signum: int | None = None,
    timeout: float = 300,
) -> int | None:
    """Run ``command`` in its own session and interrupt it once ``when()`` holds (or ``when`` seconds have
    passed): ``signum`` (SIGKILL by default) to the processes whose command line matches the regular
    expression ``worker``, or without one, ``signum`` (SIGTERM by default) to the whole session. Returns the
    command's exit status, or None if it ended by itself first."""
    run = subprocess.Popen(
        command, cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    start = time.monotonic()
    try:
        while run.poll() is None and not (when() if callable(when) else time.monotonic() - start >= when):
            assert time.monotonic() - start < timeout, f"{command}: not interrupted within {timeout} s"
            time.sleep(0.02)
        if run.poll() is not None:
            return None
        if worker is None:
            os.killpg(run.pid, signum or signal.SIGTERM)
        else:
            subprocess.run(["pkill", f"-{signum or signal.SIGKILL}", "-f", worker], check=True)
        return run.wait(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()

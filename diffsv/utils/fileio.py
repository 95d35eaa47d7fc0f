"""Atomic writes: an output exists under its final name only once it is complete.

A temporary name carries the writer's host and process id, so that a later run can tell the leftovers of a
killed writer (SIGKILL, a lost node) from the files of writers still at work, and remove only those.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

# A full disk or quota, or a file too large: errors of writing, whichever file they name.
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _tmp_sibling(path: Path, directory: bool = False) -> Path:
    """A unique temporary name beside ``path``, with the permissions a plain create would give it
    (mkstemp/mkdtemp make 0600/0700, which would leave outputs unreadable to a group)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.tmp.{socket.gethostname()}.{os.getpid()}."
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
        os.chmod(tmp, 0o777 & ~_umask())
        return tmp
    fd, name = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


_TEMPORARY = re.compile(r"^\..+\.tmp\.(?P<host>.+)\.(?P<pid>\d+)\.[^.]+$")


def _running(pid: int) -> bool:
    """Whether process ``pid`` is alive. A killed process that nobody has reaped yet (an orphan waits for
    PID 1, which may reap only every second or two) still answers kill(pid, 0), but writes nothing more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (not Linux), or the process is gone
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"  # the state follows the parenthesised command name


def remove_stale_temporaries(directory: str | Path, recursive: bool = True) -> list[Path]:
    """Remove the temporary files and directories under ``directory`` that writers on this host left when
    they were killed; those of running writers, and of other hosts (unknowable), stay. Stages call this
    once as they start, on their output directories; each removal is reported on stderr."""
    removed = []
    for root, dirs, files in os.walk(directory):
        for name in [*files, *dirs]:
            match = _TEMPORARY.match(name)
            if not match or match["host"] != socket.gethostname() or _running(int(match["pid"])):
                continue
            path = Path(root, name)
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile by a concurrent sweep
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            removed.append(path)
            print(f"removed {path}: left by process {match['pid']}, killed while writing", file=sys.stderr)
        dirs[:] = [d for d in dirs if recursive and not _TEMPORARY.match(d)]
    return removed


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    tmp = _tmp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        # A failed write (a full disk, for one) names no file or the temporary one: name the output.
        # Errors naming another file (an input that cannot be read) pass unchanged.
        if err.errno not in _FULL and err.filename not in (None, str(tmp)):
            raise
        message = f"cannot write {path}: {err.strerror or err}"
        raise (OSError(err.errno, message) if err.errno else OSError(message)) from err
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file for writing that replaces ``path`` when closed without error."""
    with atomic_path(path) as tmp:
        kwargs = {} if "b" in mode else {"encoding": encoding}
        with open(tmp, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Build a directory under a temporary name; it replaces ``path`` only when the block succeeds.

    An existing ``path`` is kept until the new one is complete, so a failed re-run loses nothing.
    """
    path = Path(path)
    tmp = _tmp_sibling(path, directory=True)
    try:
        yield tmp
        if path.exists():
            old = _tmp_sibling(path, directory=True)
            os.rmdir(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def save_png(figure: Any, path: str | Path, dpi: int = 110) -> None:
    """Save a matplotlib figure as a PNG, atomically."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)

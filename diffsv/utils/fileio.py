"""Atomic writes: an output exists under its final name only once it is complete."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
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
    prefix = f".{path.name}.tmp."
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
        os.chmod(tmp, 0o777 & ~_umask())
        return tmp
    fd, name = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


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

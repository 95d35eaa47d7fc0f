"""Atomic writes leave either the complete new output or the old one, with ordinary permissions; a full
disk is an error naming the output."""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import kaldiio
import numpy as np
import pytest

from diffsv.utils.fileio import atomic_directory, atomic_open, remove_stale_temporaries


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "scores"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("partial")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["scores"]


def test_outputs_get_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_open(tmp_path / "f") as handle:
            handle.write("x")
        with atomic_directory(tmp_path / "d") as tmp:
            (tmp / "inner").write_text("y")
    finally:
        os.umask(old)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_directory_replaced_only_when_complete(tmp_path):
    target = tmp_path / "data"
    with atomic_directory(target) as tmp:
        (tmp / "wav.scp").write_text("a a.wav\n")
    with pytest.raises(ValueError), atomic_directory(target) as tmp:
        (tmp / "wav.scp").write_text("b b.wav\n")
        raise ValueError("bad input")
    assert (target / "wav.scp").read_text() == "a a.wav\n"
    assert sorted(os.listdir(tmp_path)) == ["data"]


# A write larger than RLIMIT_FSIZE fails with EFBIG, as a full disk fails with ENOSPC: a real failed write
# in a child process (SIGXFSZ ignored so that the write returns the error instead of killing the process).
def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def _run_with_small_disk(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, preexec_fn=_limit_file_size, timeout=120
    )


@pytest.mark.parametrize(
    "code",
    [
        "from diffsv.utils.fileio import atomic_open\nwith atomic_open('out') as h: h.write('x' * 100_000)",
        "import numpy as np\nfrom diffsv.data.audio import write_audio\n"
        "write_audio('out', np.random.rand(80_000) - 0.5, 16_000)",
        "import torch\nfrom diffsv.training.checkpoint import save_checkpoint\n"
        "save_checkpoint('out', torch.zeros(50_000))",
    ],
    ids=["text", "audio", "checkpoint"],
)
def test_a_full_disk_is_an_error_naming_the_output_and_leaves_nothing(tmp_path: Path, code: str) -> None:
    (tmp_path / "out").write_text("previous\n")
    result = _run_with_small_disk(code, tmp_path)
    assert result.returncode != 0
    assert re.search(r"OSError: .*(cannot write out|out: cannot write)", result.stderr), result.stderr[-2000:]
    assert sorted(os.listdir(tmp_path)) == ["out"] and (tmp_path / "out").read_text() == "previous\n"


def test_a_stage_on_a_full_disk_exits_1_naming_the_file(tmp_path: Path) -> None:
    # compute_mean's mean of 3000-dimensional embeddings (24 kB) does not fit under the 4 kB limit.
    kaldiio.save_ark(str(tmp_path / "x.ark"), {"u1": np.ones(3000, dtype=np.float32)}, scp=str(tmp_path / "x.scp"))
    code = "import sys\nfrom diffsv.bin.compute_mean import main\nsys.exit(main(['x.scp', 'mean.npy']))"
    result = _run_with_small_disk(code, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("compute_mean: ") and "cannot write mean.npy: " in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["x.ark", "x.scp"]


def test_leftovers_of_killed_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    killed_while_writing = (
        "import os, signal\nfrom diffsv.utils.fileio import atomic_directory, atomic_open\n"
        "with atomic_open('scores/clean.score') as h, atomic_directory('export') as d:\n"
        "    h.write('partial'); h.flush(); (d / 'model.onnx').write_text('partial')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)"
    )
    result = subprocess.run([sys.executable, "-c", killed_while_writing], cwd=tmp_path, timeout=60)
    assert result.returncode == -signal.SIGKILL
    (tmp_path / "scores" / "noise_0.score").write_text("complete\n")
    leftovers = sorted(p.name for p in tmp_path.rglob(".*.tmp.*") if p.parent.name != "export")
    assert len(leftovers) == 2 and not (tmp_path / "scores" / "clean.score").exists()
    other_host = tmp_path / "scores" / ".music_0.score.tmp.some-other-node.4242.abc123"
    other_host.write_text("maybe still being written")
    with atomic_open(tmp_path / "scores" / "babble_0.score") as handle:  # a writer still at work
        handle.write("in progress")
        removed = remove_stale_temporaries(tmp_path)
        assert sorted(p.name for p in removed) == leftovers
        assert sorted(os.listdir(tmp_path)) == ["scores"]
        live = [p.name for p in (tmp_path / "scores").iterdir() if p.name.startswith(".babble_0.score.tmp.")]
        assert len(live) == 1 and other_host.exists() and (tmp_path / "scores" / "noise_0.score").exists()
    assert (tmp_path / "scores" / "babble_0.score").read_text() == "in progress"
    assert remove_stale_temporaries(tmp_path) == []


def test_leftovers_of_a_killed_writer_not_yet_reaped_are_removed(tmp_path: Path) -> None:
    """A writer SIGTERMed with its stage is orphaned and, until PID 1 reaps it, a zombie that still answers
    kill(pid, 0): the next run of the stage, started at once, removes its leftovers all the same."""
    (tmp_path / "writer.py").write_text(
        "import os, socket, time\n"
        "open(f'.out.tmp.{socket.gethostname()}.{os.getpid()}.abc', 'w').write('partial')\n"
        "time.sleep(60)\n"
    )
    stage = f"{sys.executable} writer.py & echo $! > writer.pid; wait"
    run = subprocess.Popen(["bash", "-c", stage], cwd=tmp_path, start_new_session=True)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".out.tmp.*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    writer = int((tmp_path / "writer.pid").read_text())
    os.killpg(run.pid, signal.SIGTERM)  # the stage and its writer, as a scheduler does
    run.wait(timeout=30)

    def state() -> str | None:
        try:
            return Path(f"/proc/{writer}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except FileNotFoundError:
            return None

    while state() not in (None, "Z") and time.monotonic() < deadline:  # dead, reaped or not
        time.sleep(0.01)
    assert [p.name for p in remove_stale_temporaries(tmp_path)] == [f".out.tmp.{socket.gethostname()}.{writer}.abc"]

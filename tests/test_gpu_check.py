"""bench/gpu_check.py's machinery, which a lent GPU's minutes depend on: a part over its time box is killed
and reported while the next part still runs, a failing part's own error is its row, every row is on disk
as it comes, and no CUDA for ``--device cuda`` is a non-zero exit that leaves its row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from gpu_check import Report, run_time_boxed  # noqa: E402 (bench/ is not a package)


def _part(code: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        f"import sys, time\nprint('ROW {json.dumps({'what': 'w', 'value': 'v', 'note': ''})}', flush=True)\n{code}",
    ]


def test_a_part_over_its_time_box_is_killed_and_its_rows_kept() -> None:
    rows, status, _ = run_time_boxed(_part("time.sleep(60)"), limit=1.0)
    assert rows == [{"what": "w", "value": "v", "note": ""}] and status == "timed out after 1 s"


def test_a_failing_part_reports_its_own_last_error_line() -> None:
    rows, status, tail = run_time_boxed(_part("raise MemoryError('CUDA out of memory | 2 GiB')"), limit=30.0)
    assert len(rows) == 1 and status == "failed (code 1)" and tail == "MemoryError: CUDA out of memory / 2 GiB"
    assert run_time_boxed(_part("pass"), limit=30.0)[1] == "ok"


def test_every_row_is_on_disk_as_it_comes(tmp_path: Path) -> None:
    report = Report(tmp_path, "header")
    assert json.loads((tmp_path / "gpu_check.json").read_text()) == []
    report.add({"part": "p", "what": "w", "value": "v", "note": "n", "seconds": 1.0})
    assert json.loads((tmp_path / "gpu_check.json").read_text())[0]["value"] == "v"
    assert (tmp_path / "gpu_check.txt").read_text().splitlines()[-1] == "| p | w | v | n | 1 |"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is here: the whole check would run")
def test_no_cuda_is_a_non_zero_exit_that_leaves_its_row(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "gpu_check.py"), "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 3, done.stderr
    assert json.loads((tmp_path / "gpu_check.json").read_text())[0]["value"] == "none"

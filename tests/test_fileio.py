"""Atomic writes leave either the complete new output or the old one, with ordinary permissions."""

from __future__ import annotations

import os

import pytest

from diffsv.utils.fileio import atomic_directory, atomic_open


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

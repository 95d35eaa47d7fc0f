"""Time one m4a conversion job (diffsv.bin.convert_audio convert): m4a files per second per job, and real time.

Makes K AAC m4a files with ffmpeg (16 kHz mono, as VoxCeleb2's; speech-like tones, lengths drawn like
VoxCeleb2's: at least 4 s, mean 7.8 s, a tail to 20 s) in a <speaker>/<video>/<n>.m4a tree, plans their
conversion as one job and runs it in this process, with the default batch of files per ffmpeg process and
with one file per process. The baseline, measured in the same run on the same files, is plain decoding with
no checks and no output, one ffmpeg process per file (``ffmpeg -i x.m4a -f null -``), so that the cost of
writing and checking (and the saving of batching) shows. CPU seconds are this process's and its children's.
On a shared machine the wall times move with the load, which is printed.

    tools/venv/bin/python bench/conversion_speed.py [--files 200] [--format flac|wav]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile
from voxceleb_tree import VOX2, draw_seconds

from diffsv.data import m4a_conversion
from diffsv.data.m4a_decoding import BATCH, FORMATS

SAMPLE_RATE = 16000


def speech_like(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Voiced syllables: harmonics of a wandering pitch under a 4 Hz envelope, with breath noise."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 120 + 40 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)), 0, None)
    return (0.1 * voiced * envelope + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


def make_m4a_tree(root: Path, count: int, seed: int) -> float:
    """``count`` m4a files under ``root`` (10 per video, 5 videos per speaker), encoded 32 per ffmpeg
    process; their total length in seconds."""
    rng = np.random.default_rng(seed)
    seconds = draw_seconds(rng, count, VOX2["mean_seconds"])
    scratch = root.parent / "speech"
    scratch.mkdir()
    for start in range(0, count, 32):
        inputs, outputs = [], []
        for k, index in enumerate(range(start, min(start + 32, count))):
            wav = scratch / f"{index}.wav"
            soundfile.write(str(wav), speech_like(rng, seconds[index]), SAMPLE_RATE, subtype="PCM_16")
            m4a = root / f"id{index // 50:05d}" / f"video{index // 10 % 5}" / f"{index % 10 + 1:05d}.m4a"
            m4a.parent.mkdir(parents=True, exist_ok=True)
            inputs += ["-i", str(wav)]
            outputs += ["-map", f"{k}:a", "-c:a", "aac", str(m4a)]
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, *outputs], check=True)
    return float(seconds.sum())


def cpu_seconds() -> float:
    """User and system CPU of this process and its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of ``work()``."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    work()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def decode_each(paths: list[Path]) -> None:
    for path in paths:
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)


def convert(source: Path, dest: Path, work: Path, fmt: str, batch: int) -> None:
    """Plan and run one conversion job; every file must come out."""
    jobs = m4a_conversion.plan(source, dest, work, 1, fmt).jobs
    assert jobs == 1
    m4a_conversion.convert_job(work, 1, batch)
    m4a_conversion.finish(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200, help="m4a files made and converted")
    parser.add_argument("--format", choices=tuple(FORMATS), default="flac")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="conversion_speed.") as tmp:
        root = Path(tmp)
        source = root / "aac"
        audio = make_m4a_tree(source, args.files, args.seed)
        paths = sorted(source.rglob("*.m4a"))
        print(f"{len(paths)} m4a files, {audio / 3600:.2f} h of audio (mean {audio / len(paths):.1f} s), "
              f"{sum(p.stat().st_size for p in paths) / 2**20:.1f} MB; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores")  # fmt: skip
        rows = [("baseline: ffmpeg -f null, a process per file", *timed(lambda: decode_each(paths)))]
        for batch in (BATCH, 1):
            name = f"convert job, {batch} file{'s' if batch > 1 else ''} per ffmpeg ({args.format}, checked)"
            dest, work = root / f"out{batch}", root / f"work{batch}"
            rows.append((name, *timed(lambda b=batch, d=dest, w=work: convert(source, d, w, args.format, b))))
        base_wall, base_cpu = rows[0][1], rows[0][2]
        print(f"{'':52s} {'wall s':>7} {'files/s':>8} {'x real time':>12} {'CPU ms/file':>12} {'vs baseline':>12}")
        for name, wall, cpu in rows:
            print(
                f"{name:52s} {wall:7.1f} {len(paths) / wall:8.1f} {audio / wall:12.0f} "
                f"{1000 * cpu / len(paths):12.1f} {base_wall / wall:11.2f}x"
            )
        print(f"(vs baseline: the baseline's wall time over this row's; its CPU: {1000 * base_cpu / len(paths):.1f} "
              f"ms a file)")  # fmt: skip
        print(f"projected for VoxCeleb2 dev ({VOX2['files']:,} files), one job at the first convert row's rate: "
              f"{VOX2['files'] / (len(paths) / rows[1][1]) / 3600:.1f} h")  # fmt: skip


if __name__ == "__main__":
    main()

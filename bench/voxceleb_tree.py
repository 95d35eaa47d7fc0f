"""Made VoxCeleb trees at full size, for the scale benchmarks: VoxCeleb2 dev (converted layout) and VoxCeleb1
with its three cleaned trial lists.

Each file is a WAV whose header declares its length and whose size matches it, but sparse: the samples
are a hole, so a million files take a few GB of disk, and everything that reads only headers (stage 1,
validation) sees the corpus a real one would be. Lengths are drawn like VoxCeleb's (at least 4 s, mean
about 7.8 s for VoxCeleb2 and 8.2 s for VoxCeleb1, a long tail to 20 s); speakers, videos per speaker and
files per video in VoxCeleb2 dev's proportions (5,994 speakers, 145,569 videos, 1,092,009 files). The trial
lists have the published sizes (37,611 / 579,818 / 550,894 trials), targets and non-targets half and half,
-O over 40 test speakers and -E/-H over all 1,251.

    tools/venv/bin/python bench/voxceleb_tree.py --root /tmp/voxceleb_scale [--vox2-files 1092009]
"""

from __future__ import annotations

import argparse
import struct
import time
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
VOX2 = {"speakers": 5_994, "videos": 145_569, "files": 1_092_009, "mean_seconds": 7.8}
VOX1 = {"speakers": 1_251, "test_speakers": 40, "videos": 22_496, "files": 153_516, "mean_seconds": 8.2}
LISTS = {"veri_test2.txt": 37_611, "list_test_all2.txt": 579_818, "list_test_hard2.txt": 550_894}


def wav_header(frames: int) -> bytes:
    data = 2 * frames
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, SAMPLE_RATE, 2 * SAMPLE_RATE, 2, 16)
        + b"data"
        + struct.pack("<I", data)
    )


def draw_seconds(rng: np.random.Generator, count: int, mean: float) -> np.ndarray:
    """At least 4 s, exponential tail to the mean, cut at 20 s (VoxCeleb's segments are 4 s or longer)."""
    return np.minimum(4.0 + rng.exponential(mean - 4.0, count), 20.0)


def split_counts(rng: np.random.Generator, total: int, parts: int) -> np.ndarray:
    """``parts`` positive counts summing to ``total``, unevenly (a Dirichlet draw)."""
    return 1 + rng.multinomial(total - parts, rng.dirichlet(np.full(parts, 2.0)))


def make_speaker_tree(
    directory: Path, speaker_ids: list[str], videos: int, files: int, mean: float, rng: np.random.Generator
) -> list[str]:
    """Sparse WAVs ``<spk>/<video>/<nnnnn>.wav``; returns their relative paths."""
    per_speaker_videos = split_counts(rng, videos, len(speaker_ids))
    video_files = split_counts(rng, files, videos)
    seconds = draw_seconds(rng, files, mean)
    relatives, made, video = [], 0, 0
    for speaker, count in zip(speaker_ids, per_speaker_videos, strict=True):
        for _ in range(count):
            name = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"), 11))
            folder = directory / speaker / name
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(1, video_files[video] + 1):
                frames = int(seconds[made] * SAMPLE_RATE)
                path = folder / f"{n:05d}.wav"
                with open(path, "wb") as handle:
                    handle.write(wav_header(frames))
                    handle.truncate(44 + 2 * frames)
                relatives.append(f"{speaker}/{name}/{n:05d}.wav")
                made += 1
            video += 1
    return relatives


def write_list(path: Path, relatives: list[str], speakers: list[str], count: int, rng: np.random.Generator) -> None:
    """``label path1 path2`` lines over the files of ``speakers``: half same-speaker pairs, no pair twice."""
    by_speaker: dict[str, list[str]] = {}
    for relative in relatives:
        by_speaker.setdefault(relative.split("/", 1)[0], []).append(relative)
    pools = [by_speaker[s] for s in speakers]
    pairs: set[tuple[str, str]] = set()
    lines = []
    while len(lines) < count:
        first = pools[rng.integers(len(pools))]
        target = len(lines) % 2 == 0
        second = first if target else pools[rng.integers(len(pools))]
        a, b = first[rng.integers(len(first))], second[rng.integers(len(second))]
        if a == b or (a, b) in pairs or (not target and second is first):
            continue
        pairs.add((a, b))
        lines.append(f"{int(target)} {a} {b}\n")
    path.write_text("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--vox2-files", type=int, default=VOX2["files"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    scale = args.vox2_files / VOX2["files"]
    start = time.perf_counter()
    vox2_speakers = [f"id{n:05d}" for n in range(1, VOX2["speakers"] + 1)][: max(2, round(VOX2["speakers"] * scale))]
    vox2 = make_speaker_tree(
        args.root / "VoxCeleb2" / "dev" / "wav",
        vox2_speakers,
        max(len(vox2_speakers), round(VOX2["videos"] * scale)),
        args.vox2_files,
        VOX2["mean_seconds"],
        rng,
    )
    vox1_speakers = [f"id{n:05d}" for n in range(10_001, 10_001 + VOX1["speakers"])]
    vox1 = make_speaker_tree(
        args.root / "VoxCeleb1" / "wav",
        vox1_speakers,
        max(len(vox1_speakers), round(VOX1["videos"] * scale)),
        max(4 * len(vox1_speakers), round(VOX1["files"] * scale)),
        VOX1["mean_seconds"],
        rng,
    )
    test_speakers = vox1_speakers[269 : 269 + VOX1["test_speakers"]]  # VoxCeleb1's: id10270 .. id10309
    for name, count in LISTS.items():
        speakers = test_speakers if name == "veri_test2.txt" else vox1_speakers
        write_list(args.root / "VoxCeleb1" / name, vox1, speakers, max(20, round(count * scale)), rng)
    seconds = time.perf_counter() - start
    print(f"made {len(vox2):,} VoxCeleb2 and {len(vox1):,} VoxCeleb1 files under {args.root} in {seconds:.0f} s")


if __name__ == "__main__":
    main()

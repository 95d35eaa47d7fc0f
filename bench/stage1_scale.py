"""Stage 0 and stage 1 of egs/voxceleb_diffsv at full size: VoxCeleb2 dev (1,092,009 files) trained on, VoxCeleb1
tested with -O, -E and -H, on a tree made by bench/voxceleb_tree.py.

Runs the commands the recipe's stages run, one at a time as the recipe does (stage 0's check_corpora; stage
1's prepare_data, then validate_data_dir --no-wav on each directory it wrote: prepare_data probed the audio),
and prints each one's wall time and
peak resident memory (its own maximum RSS), then the stage totals. The goal (issue 32): stage 1 under 5
minutes and 2 GB on a 2-core machine. The files are sparse, so only headers and sizes are read, as a real
stage 1 reads them; a cold disk or a network file system adds its latency to each file.

    tools/venv/bin/python bench/voxceleb_tree.py --root /tmp/voxceleb_scale
    tools/venv/bin/python bench/stage1_scale.py --root /tmp/voxceleb_scale [--data /tmp/voxceleb_scale/data]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measured(command: list[str]) -> tuple[float, float]:
    """Run ``command`` (it must succeed); its wall seconds and its own peak RSS in MB."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.execvp(command[0], command)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed ({os.waitstatus_to_exitcode(status)}): {' '.join(command)}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True, help="the made tree (bench/voxceleb_tree.py)")
    parser.add_argument("--data", type=Path, help="data directories written here [ROOT/data]")
    args = parser.parse_args()
    data = args.data or args.root / "data"
    shutil.rmtree(data, ignore_errors=True)
    python = sys.executable
    vox1 = args.root / "VoxCeleb1"
    corpora = [
        "--voxceleb1-root", str(vox1), "--trials-list", str(vox1 / "veri_test2.txt"),
        "--vox1-e-list", str(vox1 / "list_test_all2.txt"), "--vox1-h-list", str(vox1 / "list_test_hard2.txt"),
        "--voxceleb2-root", str(args.root / "VoxCeleb2"), "--train-set", "voxceleb2",
    ]  # fmt: skip
    rows = [("stage 0: check_corpora", *measured([python, "-m", "diffsv.bin.check_corpora", *corpora]))]
    stage1 = [("prepare_data", *measured([python, "-m", "diffsv.bin.prepare_data", *corpora, "--data", str(data)]))]
    for directory in sorted(p for p in data.iterdir() if (p / "wav.scp").is_file()):
        validate = [str(REPO / "utils" / "validate_data_dir.sh"), "--no-wav", str(directory)]
        stage1.append((f"validate_data_dir {directory.name}", *measured(validate)))
    print(f"{'command':<40} {'wall s':>8} {'peak RSS MB':>12}")
    for name, seconds, rss in rows + [(f"stage 1: {n}", s, r) for n, s, r in stage1]:
        print(f"{name:<40} {seconds:>8.1f} {rss:>12.0f}")
    total = sum(s for _, s, _ in stage1)
    peak = max(r for _, _, r in stage1)
    utterances = sum(1 for _ in open(data / "train" / "utt2spk", encoding="utf-8"))
    print(f"stage 1: {total:.1f} s ({total / 60:.2f} min), peak RSS {peak:.0f} MB; train: {utterances:,} utterances")
    print(f"goal (under 300 s and 2,048 MB): {'met' if total < 300 and peak < 2048 else 'NOT met'}")


if __name__ == "__main__":
    main()

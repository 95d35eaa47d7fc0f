"""Time the training augmentation's pitch shift: diffsv's phase vocoder against torchaudio's, in one run.

    tools/venv/bin/python bench/pitch_shift.py [--crops 40] [--repeats 3] [--seconds 2.03] [--threads 1]

The pitch shift is most of a data-loading worker's time (bench/data_loading.py); diffsv's vocoder takes
each input frame's magnitude and phase once. For each of the reference's four ratios the script shifts the
same random crops with either vocoder, alternating them ``--repeats`` times (the best time of each counts, so
that a busy machine penalises neither), checks that the shifted crops are identical, and prints the time
per crop of each and their ratio (baseline: ``torchaudio.functional.phase_vocoder``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
import torchaudio.functional

from diffsv.data import augment

SAMPLE_RATE = 16_000


def shift_all(crops: list[np.ndarray], ratio: object, vocoder: Callable) -> tuple[float, list[np.ndarray]]:
    """Seconds per crop of ``augment.pitch_shift`` with ``vocoder`` in place, and the shifted crops."""
    original = augment.phase_vocoder
    augment.phase_vocoder = vocoder
    try:
        augment.pitch_shift(crops[0], ratio, SAMPLE_RATE)  # warm-up
        start = time.perf_counter()
        shifted = [augment.pitch_shift(crop, ratio, SAMPLE_RATE) for crop in crops]
        return (time.perf_counter() - start) / len(crops), shifted
    finally:
        augment.phase_vocoder = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crops", type=int, default=40, help="crops shifted per ratio and vocoder")
    parser.add_argument("--repeats", type=int, default=3, help="alternations of the two; the best time counts")
    parser.add_argument("--seconds", type=float, default=2.03, help="crop length (the recipe's 2 s crop)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a loader worker has one)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    crops = [rng.standard_normal(int(args.seconds * SAMPLE_RATE)).astype(np.float32) for _ in range(args.crops)]
    print(f"{args.crops} crops of {args.seconds} s, {args.threads} torch thread(s); ms per crop")
    print("| ratio | torchaudio's vocoder | diffsv's vocoder | speed-up | identical |")
    print("|---|---|---|---|---|")
    for ratio in augment.fast_pitch_ratios(SAMPLE_RATE, (-4.0, 4.0)):
        baseline = ours = float("inf")
        for _ in range(args.repeats):
            seconds, expected = shift_all(crops, ratio, torchaudio.functional.phase_vocoder)
            baseline = min(baseline, seconds)
            seconds, got = shift_all(crops, ratio, augment.phase_vocoder)
            ours = min(ours, seconds)
        identical = all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))
        print(f"| {ratio} | {1e3 * baseline:.1f} | {1e3 * ours:.1f} | {baseline / ours:.2f}x | {identical} |")


if __name__ == "__main__":
    main()

"""Fit a score calibration to an experiment's stage-5 scores and store it in the experiment.

    python -m diffsv.bin.calibrate --exp exp/diffsv --data data --sets "babble_0 music_10 noise_20" \\
        [--quality duration] [--target-prior 0.05]

Fits one logistic-regression calibration (diffsv.calibration) to the trials of every named condition
together (the conditions of ``data/eval_sets.json``; their scores ``exp/<name>/scores/<condition>.score``)
and writes ``exp/<name>/calibration.json`` atomically; ``diffsv.load_model`` and ``diffsv verify`` then
report log-likelihood ratios and decide at a target prior. ``--quality duration`` adds the durations of
both sides of each trial (the sets' utt2dur). Recipe stage 5 runs this with ``--calibrate-sets``.
Errors name the file and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffsv.calibration import DEFAULT_TARGET_PRIOR, QUALITY_MEASURES, calibrate, experiment_trial_sets
from diffsv.experiment import Experiment
from diffsv.utils.argtypes import probability


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp", type=Path, required=True, help="experiment directory scored by stage 5")
    parser.add_argument("--data", type=Path, required=True, help="the recipe's data directory (eval_sets.json)")
    parser.add_argument("--sets", required=True, help="conditions to fit on, spaces or commas: 'babble_0 music_10'")
    parser.add_argument("--quality", choices=("none", *QUALITY_MEASURES), default="none", help="quality measure")
    parser.add_argument(
        "--target-prior", type=probability, default=DEFAULT_TARGET_PRIOR, help="prior the fit weighs trials to"
    )
    args = parser.parse_args(argv)
    conditions = args.sets.replace(",", " ").split()
    if not conditions:
        parser.error("--sets names no condition")
    exp = Experiment(args.exp)
    quality = None if args.quality == "none" else args.quality
    try:
        sets, digest = experiment_trial_sets(exp, args.data, conditions)
        result = calibrate(sets, exp.calibration_file, quality, args.target_prior, digest)
    except (ValueError, OSError) as exc:
        print(f"calibrate: {exc}", file=sys.stderr)
        return 1
    print(f"calibrate: wrote {exp.calibration_file}: {result.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

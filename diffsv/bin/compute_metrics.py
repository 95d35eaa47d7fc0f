"""EER and minDCF of a score file against its Kaldi trial list.

    python -m diffsv.bin.compute_metrics --trials data/test/trials --scores exp/x/scores/test.score \\
        [--json exp/x/scores/test.metrics.json]

Prints the EER in percent and the normalised minDCF at p_target 0.01 and 0.05 (C_miss = C_fa = 1) and
at the Diff-SV reference's setting (p_target 0.01, C_miss 10, C_fa 1). Every trial must be scored;
--json writes the same figures (the EER as a fraction) atomically. Errors exit with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from diffsv.data.kaldi_dir import read_trials
from diffsv.metrics import DCF_OPERATING_POINTS, verification_metrics
from diffsv.scoring import read_scores, scores_for_trials
from diffsv.utils.fileio import atomic_open


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=Path, required=True, help="Kaldi trials: utt1 utt2 target|nontarget")
    parser.add_argument("--scores", type=Path, required=True, help="score file: utt1 utt2 score")
    parser.add_argument("--json", type=Path, help="also write the metrics to this JSON file")
    args = parser.parse_args(argv)
    try:
        trials = read_trials(args.trials)
        scores = scores_for_trials(trials, read_scores(args.scores), str(args.scores))
        metrics = verification_metrics(scores, trials.labels)
        if args.json:
            with atomic_open(args.json) as handle:
                json.dump(metrics, handle, indent=2)
                handle.write("\n")
    except (ValueError, OSError) as exc:
        print(f"compute_metrics: {exc}", file=sys.stderr)
        return 1
    n_target = int(trials.labels.sum())
    print(f"{args.scores}: {len(trials)} trials ({n_target} target, {len(trials) - n_target} non-target)")
    print(f"EER = {100 * metrics['eer']:.3f} %")
    for point in DCF_OPERATING_POINTS:
        print(f"minDCF {point.name} ({point.description}) = {metrics[point.key]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Evaluation report of an experiment: results.json, RESULTS.md (next to the paper's Diff-SV) and figures.

    python -m diffsv.bin.make_results --exp exp/diffsv --scores-dir exp/diffsv/scores --trials data/test/trials \\
        [--trials-for voices_dev=data/voices_dev/trials ...] [--compare exp/baseline]

``--scores-dir`` holds ``<condition>.score`` files: clean, babble_0 ... babble_20, music_*, noise_*,
nonspeech_*, voices_dev, voices_eval, or any other condition; all of them are reported. The test conditions share
``--trials``; VOiCES conditions need their own through ``--trials-for``. ``--compare`` adds another
experiment's scores (``<compare>/scores`` unless ``--compare-scores-dir``) side by side with the
relative change. Writes ``<exp>/results.json``, ``<exp>/RESULTS.md`` and ``<exp>/figures/`` (DET curves
and score histograms), each only when complete.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffsv.experiment import Experiment
from diffsv.results import find_score_files, write_report


def parse_trials_for(values: list[str]) -> dict[str, Path]:
    mapping = {}
    for value in values:
        condition, sep, path = value.partition("=")
        if not sep or not condition or not path:
            raise ValueError(f"--trials-for expects CONDITION=PATH, got {value!r}")
        mapping[condition] = Path(path)
    return mapping


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp", type=Path, required=True, help="experiment directory; the report is written here")
    parser.add_argument("--scores-dir", type=Path, help="directory of <condition>.score files (default EXP/scores)")
    parser.add_argument("--trials", type=Path, help="trial list shared by clean and the noisy test conditions")
    parser.add_argument(
        "--trials-for", action="append", default=[], metavar="CONDITION=PATH", help="a condition's own trials"
    )
    parser.add_argument("--compare", type=Path, help="another experiment to show side by side (e.g. exp/baseline)")
    parser.add_argument("--compare-scores-dir", type=Path, help="its score files (default COMPARE/scores)")
    parser.add_argument(
        "--no-paper", action="store_true", help="leave out the paper's EERs (for corpora other than VoxCeleb1)"
    )
    args = parser.parse_args(argv)
    try:
        trials_for = parse_trials_for(args.trials_for)
        files = find_score_files(args.scores_dir or args.exp / "scores", args.trials, trials_for)
        compare = None
        if args.compare:
            compare_dir = args.compare_scores_dir or Experiment(args.compare).scores_dir
            compare = (args.compare, find_score_files(compare_dir, args.trials, trials_for))
        conditions, figures = write_report(Experiment(args.exp), files, compare, not args.no_paper)
    except (ValueError, OSError) as exc:
        print(f"make_results: {exc}", file=sys.stderr)
        return 1
    print(f"make_results: {conditions} conditions -> {args.exp}/RESULTS.md, results.json, figures/ ({figures})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

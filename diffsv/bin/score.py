"""Score a trial list by cosine similarity of Kaldi x-vectors (segment-averaged, optionally AS-normed).

    python -m diffsv.bin.score --trials data/test/trials \\
        --embeddings exp/x/embeddings/test/xvector.scp [--mean exp/x/embeddings/train/mean.npy] \\
        [--asnorm-cohort exp/x/embeddings/train/xvector.scp --asnorm-top-n 300] \\
        --output exp/x/scores/test.score

Each xvector.scp entry is an (S, D) matrix of segment embeddings or a (D,) vector; a trial scores the
mean of its S_a x S_b cosine similarities. Writes ``utt1 utt2 score`` lines in trial order; the output
appears only when complete. Errors name the file and line and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffsv.scoring import embedding_table, load_embeddings, load_mean, read_trials, score_trials, write_scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=Path, required=True, help="Kaldi trials: utt1 utt2 [target|nontarget]")
    parser.add_argument("--embeddings", type=Path, required=True, help="xvector.scp of the trials' utterances")
    parser.add_argument("--mean", type=Path, help="mean embedding (.npy) subtracted before length normalisation")
    parser.add_argument("--asnorm-cohort", type=Path, help="xvector.scp of the AS-norm cohort (e.g. training set)")
    parser.add_argument("--asnorm-top-n", type=int, default=300, help="cohort scores kept per utterance (300)")
    parser.add_argument("--output", type=Path, required=True, help="score file to write")
    args = parser.parse_args(argv)
    try:
        trials = read_trials(args.trials)
        mean = load_mean(args.mean) if args.mean else None
        table = embedding_table(load_embeddings(args.embeddings), str(args.embeddings), mean)
        cohort = None
        if args.asnorm_cohort:
            cohort = embedding_table(load_embeddings(args.asnorm_cohort), str(args.asnorm_cohort), mean)
        scores = score_trials(trials, table, cohort, args.asnorm_top_n)
        write_scores(args.output, trials, scores)
    except (ValueError, OSError) as exc:
        print(f"score: {exc}", file=sys.stderr)
        return 1
    norm = f", AS-norm top {args.asnorm_top_n} of {len(cohort)} cohort" if cohort else ""
    print(f"score: wrote {len(trials)} scores to {args.output}{norm}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

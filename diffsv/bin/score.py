"""Score trial lists by cosine similarity of Kaldi x-vectors (segment-averaged, optionally AS-normed).

    python -m diffsv.bin.score --trials data/test/trials \\
        --embeddings exp/x/embeddings/test/xvector.scp --output exp/x/scores/clean.score \\
        [--trials ... --embeddings ... --output ...] ... [--mean exp/x/embeddings/cohort/mean.npy] \\
        [--asnorm-cohort exp/x/embeddings/cohort/xvector.scp --asnorm-top-n 300]

``--trials``/``--embeddings``/``--output`` may be repeated, in that order, to score several test
conditions in one process against one loaded cohort.

Each xvector.scp entry is an (S, D) matrix of segment embeddings or a (D,) vector; a trial scores the
mean of its S_a x S_b cosine similarities. Writes ``utt1 utt2 score`` lines in trial order; the output
appears only when complete. ``scoring.json`` beside the outputs records the mean and cohort used.
Errors name the file and line and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffsv.data.kaldi_dir import read_trials
from diffsv.scoring import (
    embedding_table,
    load_embeddings,
    load_mean,
    score_trials,
    write_scores,
    write_scoring_record,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--trials", type=Path, action="append", required=True, help="Kaldi trials: utt1 utt2 [target|nontarget]"
    )
    parser.add_argument(
        "--embeddings", type=Path, action="append", required=True, help="xvector.scp of the trials' utterances"
    )
    parser.add_argument("--mean", type=Path, help="mean embedding (.npy) subtracted before length normalisation")
    parser.add_argument("--asnorm-cohort", type=Path, help="xvector.scp of the AS-norm cohort (e.g. training set)")
    parser.add_argument("--asnorm-top-n", type=int, default=300, help="cohort scores kept per utterance (300)")
    parser.add_argument(
        "--output", type=Path, action="append", required=True, help="score file to write; one per --trials"
    )
    args = parser.parse_args(argv)
    if not len(args.trials) == len(args.embeddings) == len(args.output):
        parser.error("give one --embeddings and one --output per --trials")
    try:
        mean = load_mean(args.mean) if args.mean else None
        cohort = None
        if args.asnorm_cohort:
            cohort = embedding_table(load_embeddings(args.asnorm_cohort), str(args.asnorm_cohort), mean)
        norm = f", AS-norm top {args.asnorm_top_n} of {len(cohort)} cohort" if cohort else ""
        for trials_file, embeddings, output in zip(args.trials, args.embeddings, args.output, strict=True):
            trials = read_trials(trials_file, labelled=None)
            table = embedding_table(load_embeddings(embeddings), str(embeddings), mean)
            write_scores(output, trials, score_trials(trials, table, cohort, args.asnorm_top_n))
            print(f"score: wrote {len(trials)} scores to {output}{norm}")
        for directory in {output.parent for output in args.output}:
            write_scoring_record(directory, args.mean, args.asnorm_cohort, args.asnorm_top_n)
    except (ValueError, OSError) as exc:
        print(f"score: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

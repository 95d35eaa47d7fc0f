"""Time scoring the evaluation protocol: 37,720 trials x 21 conditions, 4 x 128 segment embeddings per utterance.

For each condition, random embeddings of the 4,874 test utterances are scored with diffsv.scoring: plain
cosine (4 x 4 segment averaging) and AS-norm against a cohort of training embeddings (top-N). The
baseline, measured in the same run, is a straightforward per-trial loop -- normalise both utterances'
segments, average the 4 x 4 cosine matrix and, for AS-norm, score both sides against the whole cohort
and take their top-N statistics -- timed on a subset of trials and extrapolated to the full protocol.
File reading and writing are not timed. The loop computes in the embeddings' float32, diffsv.scoring in
float64, hence score differences of float32 rounding size.

    tools/venv/bin/python bench/scoring_speed.py [--conditions 21] [--baseline-trials 3000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from diffsv.data.kaldi_dir import Trial, TrialList
from diffsv.scoring import embedding_table, score_trials

UTTERANCES, TRIALS, SEGMENTS, DIM = 4_874, 37_720, 4, 128


def random_trials(rng: np.random.Generator, names: list[str]) -> TrialList:
    enrol = rng.integers(0, len(names), TRIALS)
    test = (enrol + rng.integers(1, len(names), TRIALS)) % len(names)
    pairs = [Trial(names[a], names[b], None) for a, b in zip(enrol, test, strict=True)]
    return TrialList(Path("<random>"), pairs, list(range(1, TRIALS + 1)))


def unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def baseline_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((unit_rows(a) @ unit_rows(b).T).mean())


def baseline_asnorm(a: np.ndarray, b: np.ndarray, cohort_unit: np.ndarray, top_n: int) -> float:
    score = baseline_cosine(a, b)
    normalised = 0.0
    for side in (a, b):
        top = np.sort((unit_rows(side) @ cohort_unit.T).mean(axis=0))[::-1][:top_n]
        normalised += (score - top.mean()) / top.std()
    return 0.5 * normalised


def report(name: str, ours: float, loop: float, loop_trials: int) -> None:
    print(
        f"  {name:22s} diffsv.scoring {ours:6.2f} s   per-trial loop {loop:7.1f} s "
        f"(extrapolated from {loop_trials:,} trials)   speed-up {loop / ours:.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conditions", type=int, default=21, help="test conditions (clean + 20 noisy)")
    parser.add_argument("--cohort", type=int, default=1_000, help="AS-norm cohort size")
    parser.add_argument("--top-n", type=int, default=300, help="AS-norm top-N")
    parser.add_argument("--baseline-trials", type=int, default=3_000, help="trials timed for the per-trial loop")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    names = [f"utt{i:05d}" for i in range(UTTERANCES)]
    trials = random_trials(rng, names)
    cohort = {f"cohort{i:05d}": rng.standard_normal(DIM).astype(np.float32) for i in range(args.cohort)}
    total_trials = TRIALS * args.conditions
    print(
        f"scoring {TRIALS:,} trials x {args.conditions} conditions ({total_trials:,} trials), {UTTERANCES:,} "
        f"utterances of {SEGMENTS} x {DIM} segment embeddings; AS-norm cohort {args.cohort:,}, top {args.top_n}"
    )

    cosine_seconds = asnorm_seconds = 0.0
    for _ in range(args.conditions):
        embeddings = {name: rng.standard_normal((SEGMENTS, DIM)).astype(np.float32) for name in names}
        start = time.perf_counter()
        cosine = score_trials(trials, embedding_table(embeddings, "<random>"))
        cosine_seconds += time.perf_counter() - start
        start = time.perf_counter()
        table, cohort_table = embedding_table(embeddings, "<random>"), embedding_table(cohort, "<cohort>")
        asnorm = score_trials(trials, table, cohort_table, args.top_n)
        asnorm_seconds += time.perf_counter() - start

    # The baseline on the last condition's first trials; it must give the same scores.
    subset = range(min(args.baseline_trials, TRIALS))
    asnorm_subset = range(max(1, len(subset) // 10))
    cohort_unit = unit_rows(np.stack(list(cohort.values())).astype(np.float64))
    start = time.perf_counter()
    loop_cosine = [baseline_cosine(embeddings[trials.enrol[i]], embeddings[trials.test[i]]) for i in subset]
    loop_cosine_seconds = (time.perf_counter() - start) * total_trials / len(subset)
    start = time.perf_counter()
    loop_asnorm = [
        baseline_asnorm(embeddings[trials.enrol[i]], embeddings[trials.test[i]], cohort_unit, args.top_n)
        for i in asnorm_subset
    ]
    loop_asnorm_seconds = (time.perf_counter() - start) * total_trials / len(asnorm_subset)
    cosine_error = np.abs(cosine[: len(subset)] - loop_cosine).max()
    asnorm_error = np.abs(asnorm[: len(asnorm_subset)] - loop_asnorm).max()

    report("cosine, 4x4 averaging", cosine_seconds, loop_cosine_seconds, len(subset))
    report(f"AS-norm, top {args.top_n}", asnorm_seconds, loop_asnorm_seconds, len(asnorm_subset))
    print(f"  largest score difference from the loop: cosine {cosine_error:.1e}, AS-norm {asnorm_error:.1e}")


if __name__ == "__main__":
    main()

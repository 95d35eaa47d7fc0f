"""Score calibration on a trained experiment's noisy conditions: fitted on half of them, measured on the rest.

    tools/venv/bin/python bench/calibration.py --data egs/mini_diffsv/data \
        --exp egs/mini_diffsv/exp/baseline --exp egs/mini_diffsv/exp/diffsv [--split noise|snr]

It reads only stage 5's score files, trial lists and utt2dur. Split ``noise`` (the default) fits on every
SNR of babble and music and measures on every SNR of noise and nonspeech, so the held-out conditions are
noise types the calibration never saw; split ``snr`` fits on 0/10/20 dB of every noise and measures on
5/15 dB. On the held-out trials, pooled, each experiment gets one row per system:

    raw, EER threshold   the scores decided at the clean set's EER threshold from results.json (what verify
                         does without a calibration); its Cllr takes score - threshold as the LLR, the LLR
                         a fixed threshold implies
    calibrated on clean  a calibration fitted on the clean set alone (the data the EER threshold comes from)
    calibrated on ...    fitted on the fit conditions, the score alone
    + duration           the same with the duration quality measure (diffsv.calibration)
    floor                min Cllr (PAV) and minDCF of the held-out scores: the best any monotonic map reaches

with Cllr, the actual DCF at p_target 0.05 and 0.01 (C_miss = C_fa = 1) and the share of trials accepted at
0.05. Every calibration is fitted at diffsv.calibration.DEFAULT_TARGET_PRIOR. (The held-out conditions share
one trial list, so the pooled Cllr is also their mean Cllr.)
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from diffsv.calibration import TrialSet, bayes_threshold, calibrate, cllr, experiment_trial_sets, min_cllr
from diffsv.experiment import Experiment, read_record
from diffsv.metrics import EER_THRESHOLD_KEY, dcf_at_threshold, min_dcf
from diffsv.protocol import CLEAN

NOISES = ("babble", "music", "noise", "nonspeech")
SNRS = (0, 5, 10, 15, 20)
#: Each split: what its fit half is called in the table, the conditions fitted on, the conditions held out.
SPLITS = {
    "noise": (
        "babble, music",
        [f"{n}_{s}" for n in NOISES[:2] for s in SNRS],
        [f"{n}_{s}" for n in NOISES[2:] for s in SNRS],
    ),
    "snr": (
        "0/10/20 dB",
        [f"{n}_{s}" for n in NOISES for s in (0, 10, 20)],
        [f"{n}_{s}" for n in NOISES for s in (5, 15)],
    ),
}
PRIORS = (0.05, 0.01)


def row(name: str, llrs: list[np.ndarray], labels: list[np.ndarray], decide: float | None = None) -> str:
    """A table row: pooled Cllr, the actual DCF at each prior and the share of trials accepted at the first;
    ``decide`` is a fixed threshold on the LLRs at every prior instead of Bayes' rule."""
    llr, target = np.concatenate(llrs), np.concatenate(labels)
    thresholds = [bayes_threshold(p) if decide is None else decide for p in PRIORS]
    costs = [dcf_at_threshold(llr, target, t, p) for t, p in zip(thresholds, PRIORS, strict=True)]
    accepted = 100 * np.mean(llr >= thresholds[0])
    return f"| {name} | {cllr(llr, target):.3f} | {costs[0]:.3f} | {costs[1]:.3f} | {accepted:.1f} % |"


def study(exp: Experiment, data: Path, split: str, scratch: Path) -> list[str]:
    fit_name, fit_on, held_out = SPLITS[split]
    fit_sets, _ = experiment_trial_sets(exp, data, fit_on)
    test_sets, _ = experiment_trial_sets(exp, data, held_out)
    (clean_set,), _ = experiment_trial_sets(exp, data, [CLEAN])
    test = [trial_set.read("duration") for trial_set in test_sets]
    scores, labels = [t[0] for t in test], [t[1] for t in test]
    threshold = read_record(exp.results_json)[CLEAN][EER_THRESHOLD_KEY]
    lines = [row("raw, EER threshold", [s - threshold for s in scores], labels, decide=0.0)]
    fits: list[tuple[str, Sequence[TrialSet], str | None]] = [
        ("calibrated on clean", [clean_set], None),
        (f"calibrated on {fit_name}", fit_sets, None),
        ("+ duration", fit_sets, "duration"),
    ]
    for label, sets, quality in fits:
        calibration = calibrate(sets, scratch / "calibration.json", quality)
        lines.append(row(label, [calibration.llr(t[0], t[2]) for t in test], labels))
    all_scores, all_labels = np.concatenate(scores), np.concatenate(labels)
    floor = [min_dcf(all_scores, all_labels, p) for p in PRIORS]
    lines.append(f"| floor | {min_cllr(all_scores, all_labels):.3f} | {floor[0]:.3f} | {floor[1]:.3f} | |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp", type=Path, action="append", required=True, help="experiment scored by stage 5")
    parser.add_argument("--data", type=Path, required=True, help="the recipe's data directory (eval_sets.json)")
    parser.add_argument("--split", choices=SPLITS, default="noise")
    args = parser.parse_args()
    _, fit_on, held_out = SPLITS[args.split]
    print(f"fit on {', '.join(fit_on)}; held out: {', '.join(held_out)}\n")
    print(f"| system | Cllr | actual DCF {PRIORS[0]} | actual DCF {PRIORS[1]} | accepted at {PRIORS[0]} |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for exp_dir in args.exp:
            print(f"| **{exp_dir.name}** | | | | |")
            for line in study(Experiment(exp_dir), args.data, args.split, Path(scratch)):
                print(line)


if __name__ == "__main__":
    main()

"""Score calibration: scores (and, optionally, the durations of both sides) to log-likelihood ratios.

Why. A cosine score has no meaning of its own: the threshold that separates speakers on one corpus (the
clean test set's EER point) does not carry over to other recordings, noises or priors. A calibrated
system outputs a log-likelihood ratio, ``LLR = log p(score | same speaker) / p(score | different
speakers)``, which Bayes' rule decides at any stated target prior and costs: accept when
``LLR >= log(C_fa (1 - p) / (C_miss p))`` (:func:`bayes_threshold`).

The model is BOSARIS's and WeSpeaker's linear calibration, ``LLR = w . x + b``, where ``x`` is the score
and, optionally, quality measures. It is fitted by minimising the prior-weighted cross-entropy

    C(w, b) = [p / N_tar sum_tar log(1 + e^-(LLR + logit p))
               + (1 - p) / N_non sum_non log(1 + e^(LLR + logit p))] / log 2

which weighs targets and non-targets as if the target prior were ``p``, whatever their proportion in the
trial list (at ``p = 0.5`` it is Cllr itself). L-BFGS starts from zero on standardised features, so a fit
is deterministic. The default ``p`` is :data:`DEFAULT_TARGET_PRIOR`, the prior ``verify`` decides at, so
the fit is most accurate where its LLRs are used.

Quality measure ``duration`` (as in the quality-measure functions, QMF, of WeSpeaker and the VoxSRC
systems): the shorter and the longer of the two sides' log-durations. Shorter and longer rather than
enrolment and test, so that the LLR of a pair does not depend on which recording is called the enrolment;
the shorter side is the one that bounds the speaker evidence in a trial.

Metrics: Cllr (the cost of LLRs over all operating points: 0 perfect, 1 no better than saying nothing),
min Cllr (the Cllr after the best monotonic recalibration, by pool-adjacent-violators: what the scores
could reach) and the actual DCF (the normalised cost of the Bayes decisions the LLRs make at one prior;
minDCF, :mod:`diffsv.metrics`, is its floor).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from diffsv.data.eval_sets import read_eval_sets
from diffsv.data.kaldi_dir import read_trials, read_utt2dur
from diffsv.experiment import Experiment, read_record
from diffsv.metrics import check_operating_point, dcf_at_threshold, validate_scores
from diffsv.scoring import read_scores, scores_for_trials
from diffsv.utils.fileio import atomic_open

#: The target prior ``verify`` decides at when a calibration is present, and the prior a fit weighs trials
#: to by default: VoxSRC's primary operating point (one of :data:`diffsv.metrics.DCF_OPERATING_POINTS`).
DEFAULT_TARGET_PRIOR = 0.05

#: The features of each quality measure (None: the score alone), in the order of ``Calibration.weights``.
FEATURES: dict[str | None, tuple[str, ...]] = {
    None: ("score",),
    "duration": ("score", "min_log_duration", "max_log_duration"),
}
QUALITY_MEASURES = tuple(name for name in FEATURES if name is not None)


def bayes_threshold(p_target: float, c_miss: float = 1.0, c_fa: float = 1.0) -> float:
    """The LLR at and above which accepting costs less than rejecting: ``log(C_fa (1 - p) / (C_miss p))``."""
    check_operating_point(p_target, c_miss, c_fa)
    return math.log(c_fa * (1.0 - p_target) / (c_miss * p_target))


def cllr(llrs: ArrayLike, labels: ArrayLike) -> float:
    """Log-likelihood-ratio cost in bits: the mean cross-entropy of targets and of non-targets at prior 0.5."""
    llrs, labels = validate_scores(llrs, labels)
    cost = np.logaddexp(0.0, -llrs[labels]).mean() + np.logaddexp(0.0, llrs[~labels]).mean()
    return float(cost / (2.0 * math.log(2.0)))


def min_cllr(scores: ArrayLike, labels: ArrayLike) -> float:
    """Cllr after the optimal monotonic map of the scores to LLRs (PAV on the distinct scores): the floor
    that any calibration of these scores can reach on these trials."""
    from scipy.optimize import isotonic_regression  # here, not above: the inference API does not load scipy

    scores, labels = validate_scores(scores, labels)
    _, inverse = np.unique(scores, return_inverse=True)
    counts = np.bincount(inverse)
    posterior = isotonic_regression(np.bincount(inverse, weights=labels) / counts, weights=counts).x
    with np.errstate(divide="ignore"):  # blocks of only one class: infinite LLRs, each costing nothing
        log_odds = np.log(posterior) - np.log1p(-posterior)
    return cllr(log_odds[inverse] - math.log(labels.sum() / (~labels).sum()), labels)


def actual_dcf(llrs: ArrayLike, labels: ArrayLike, p_target: float, c_miss: float = 1.0, c_fa: float = 1.0) -> float:
    """Normalised cost of deciding each trial by Bayes' rule from its LLR (:func:`bayes_threshold`)."""
    return dcf_at_threshold(llrs, labels, bayes_threshold(p_target, c_miss, c_fa), p_target, c_miss, c_fa)


def features(scores: ArrayLike, durations: ArrayLike | None, quality: str | None) -> np.ndarray:
    """The (trials, features) matrix a calibration weighs: the score, then the quality measure's features
    from ``durations``, (trials, 2) seconds of each trial's two sides."""
    if quality not in FEATURES:
        raise ValueError(f"unknown quality measure {quality!r}; choose one of {', '.join(QUALITY_MEASURES)}")
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {scores.shape}")
    if quality is None:
        return scores[:, None]
    if durations is None:
        raise ValueError("the duration quality measure needs the durations of both sides of every trial")
    durations = np.asarray(durations, dtype=np.float64)
    if durations.shape != (scores.size, 2):
        raise ValueError(f"durations must have shape ({scores.size}, 2), one pair per score, got {durations.shape}")
    if not (np.isfinite(durations) & (durations > 0)).all():
        raise ValueError("durations must be positive and finite")
    logs = np.log(durations)
    return np.column_stack([scores, logs.min(axis=1), logs.max(axis=1)])


@dataclass(frozen=True)
class Calibration:
    """``LLR = weights . features(scores, durations, quality) + bias``, fitted at prior ``p_target`` on
    ``trials`` trials of the sets ``trained_on``; ``model_sha256`` is the model file whose scores they were,
    when known (an experiment's stage-5 scores), so that a calibration is never applied to another model."""

    weights: tuple[float, ...]
    bias: float
    quality: str | None
    p_target: float
    trained_on: tuple[str, ...]
    trials: int
    model_sha256: str | None = None

    def llr(self, scores: ArrayLike, durations: ArrayLike | None = None) -> np.ndarray:
        """The LLR of each score; ``durations`` ((trials, 2) seconds) when the calibration uses them."""
        return features(scores, durations, self.quality) @ np.asarray(self.weights) + self.bias

    def describe(self) -> str:
        """One line: the map, and what it was fitted on."""
        terms = " ".join(f"{w:+.4g} {name}" for w, name in zip(self.weights, FEATURES[self.quality], strict=True))
        return (
            f"LLR = {terms} {self.bias:+.4g}, fitted at target prior {self.p_target:g} on {self.trials} trials "
            f"of {', '.join(self.trained_on)}"
        )

    def to_json(self, path: str | Path) -> None:
        """Write the calibration as a JSON record, atomically."""
        record = {
            "weights": dict(zip(FEATURES[self.quality], self.weights, strict=True)),
            "bias": self.bias,
            "quality": self.quality,
            "p_target": self.p_target,
            "trained_on": list(self.trained_on),
            "trials": self.trials,
            "model_sha256": self.model_sha256,
        }
        with atomic_open(path) as handle:
            json.dump(record, handle, indent=1)

    @staticmethod
    def from_json(path: str | Path) -> Calibration:
        """Read a calibration written by :meth:`to_json`; ValueError naming the file for anything else."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such calibration file")
        record = read_record(path)
        try:
            return _from_record(record)
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"no '{exc.args[0]}'" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"{path}: not a calibration ({problem}); fit it again with 'diffsv calibrate'") from None


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _from_record(record: dict) -> Calibration:
    quality = record["quality"]
    if quality not in FEATURES:
        raise ValueError(f"unknown quality measure {quality!r}")
    weights = record["weights"]
    if not isinstance(weights, dict) or tuple(weights) != FEATURES[quality]:
        raise ValueError(f"weights must be an object of {', '.join(FEATURES[quality])}, in that order")
    p_target = _number(record["p_target"], "p_target")
    check_operating_point(p_target)
    trained_on, trials, digest = record["trained_on"], record["trials"], record["model_sha256"]
    if not isinstance(trained_on, list) or not all(isinstance(name, str) for name in trained_on):
        raise ValueError("trained_on must be a list of names")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    if digest is not None and not isinstance(digest, str):
        raise ValueError(f"model_sha256 must be a string or null, got {digest!r}")
    return Calibration(
        tuple(_number(w, f"the weight of {name}") for name, w in weights.items()),
        _number(record["bias"], "bias"),
        quality,
        p_target,
        tuple(trained_on),
        trials,
        digest,
    )


def fit(
    scores: ArrayLike,
    labels: ArrayLike,
    durations: ArrayLike | None = None,
    *,
    quality: str | None = None,
    p_target: float = DEFAULT_TARGET_PRIOR,
    trained_on: Sequence[str] = (),
    model_sha256: str | None = None,
) -> Calibration:
    """Fit the prior-weighted logistic regression of the module docstring to labelled scores."""
    from scipy.optimize import minimize  # here, not above: the inference API does not load scipy
    from scipy.special import expit

    scores, labels = validate_scores(scores, labels)
    check_operating_point(p_target)
    x = features(scores, durations, quality)
    constant = np.ptp(x, axis=0) == 0
    if constant.any():
        name = FEATURES[quality][int(np.argmax(constant))]
        raise ValueError(f"every trial has the same {name}: nothing to fit it to")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    z = (x - mean) / scale
    weight = np.where(labels, p_target / labels.sum(), (1.0 - p_target) / (~labels).sum()) / math.log(2.0)
    sign = np.where(labels, -1.0, 1.0)  # a target costs log(1 + e^-y), a non-target log(1 + e^y)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        margin = sign * (z @ theta[:-1] + theta[-1])
        slope = weight * sign * expit(margin)
        return float(weight @ np.logaddexp(0.0, margin)), np.append(z.T @ slope, slope.sum())

    result = minimize(objective, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B")
    if not result.success:
        raise ValueError(f"the calibration did not converge on {scores.size} trials: {result.message}")
    w = result.x[:-1] / scale
    if w[0] <= 0:
        raise ValueError(f"higher scores do not mean the same speaker more often in these {scores.size} trials")
    # The model's output is the log posterior odds at p_target: the LLR plus logit(p_target).
    bias = result.x[-1] - w @ mean - math.log(p_target / (1.0 - p_target))
    return Calibration(
        tuple(w.tolist()), float(bias), quality, p_target, tuple(trained_on), int(scores.size), model_sha256
    )


@dataclass(frozen=True)
class TrialSet:
    """A labelled trial list scored by the system to calibrate: its score file (``utt1 utt2 score``), its
    trials (``utt1 utt2 target|nontarget``) and, for the duration quality measure, its utterances' utt2dur."""

    name: str
    scores: Path
    trials: Path
    utt2dur: Path | None = None

    def read(self, quality: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Scores, labels and (with a quality measure) (trials, 2) durations, in trial order."""
        trials = read_trials(self.trials)
        scores = scores_for_trials(trials, read_scores(self.scores), str(self.scores))
        if quality is None:
            return scores, trials.labels, None
        if self.utt2dur is None:
            raise ValueError(f"{self.name}: the {quality} quality measure needs the utterances' utt2dur")
        table = read_utt2dur(self.utt2dur)
        durations = np.empty((len(trials), 2))
        for i, pair in enumerate(zip(trials.enrol, trials.test, strict=True)):
            for side, utt in enumerate(pair):
                if utt not in table:
                    raise ValueError(f"{self.utt2dur}: no duration for '{utt}' of {trials.where(i)}")
                durations[i, side] = table[utt]
        return scores, trials.labels, durations


def calibrate(
    sets: Sequence[TrialSet],
    output: Path,
    quality: str | None = None,
    p_target: float = DEFAULT_TARGET_PRIOR,
    model_sha256: str | None = None,
) -> Calibration:
    """Fit one calibration to the trials of every set together and write it to ``output`` (atomically).

    What ``diffsv calibrate`` (explicit files) and ``diffsv.bin.calibrate`` (an experiment's stage-5
    scores, :func:`experiment_trial_sets`) both run.
    """
    if not sets:
        raise ValueError("no trial sets to calibrate on")
    parts = [trial_set.read(quality) for trial_set in sets]
    durations = None if quality is None else np.concatenate([part[2] for part in parts])
    calibration = fit(
        np.concatenate([part[0] for part in parts]),
        np.concatenate([part[1] for part in parts]),
        durations,
        quality=quality,
        p_target=p_target,
        trained_on=[trial_set.name for trial_set in sets],
        model_sha256=model_sha256,
    )
    calibration.to_json(output)
    return calibration


def experiment_trial_sets(exp: Experiment, data_root: Path, conditions: Sequence[str]) -> tuple[list[TrialSet], str]:
    """The stage-5 score files of ``conditions`` with their trial lists and utt2dur (from the sets listed in
    ``data_root/eval_sets.json``), and the digest of the model file that scored them."""
    if not conditions:
        raise ValueError("no conditions to calibrate on")
    if read_record(exp.scoring_record).get("asnorm_cohort"):
        raise ValueError(
            f"{exp.scoring_record}: stage 5 scored with AS-norm, which verify does not apply; a calibration of "
            "these scores would not fit the scores verify computes (re-run stage 5 with --score-norm none or mean)"
        )
    listed = {s.condition: s for s in read_eval_sets(data_root)}
    sets, digests = [], {}
    for condition in conditions:
        if condition not in listed:
            raise ValueError(
                f"{data_root}/eval_sets.json: no set '{condition}'; the listed ones are {', '.join(listed)}"
            )
        found = listed[condition]
        score_file = exp.score_file(condition)
        if not score_file.is_file():
            raise FileNotFoundError(f"{score_file}: not found: run stage 5 first")
        record = exp.embedding_record(found.name)
        digest = read_record(record).get("model_sha256")
        if digest is None:
            raise FileNotFoundError(f"{record}: no record of the model that embedded '{condition}': run stage 5 first")
        digests.setdefault(digest, condition)
        sets.append(TrialSet(condition, score_file, found.trials, found.data / "utt2dur"))
    if len(digests) > 1:
        raise ValueError(
            f"{exp.embeddings_dir}: {' and '.join(digests.values())} were embedded by different model files "
            "(embedding.json): re-run stage 5"
        )
    return sets, next(iter(digests))

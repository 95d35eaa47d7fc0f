"""Verification metrics: DET curve, EER and minimum detection cost, exact for tied scores.

Operating points. Trials are accepted when their score is strictly above a threshold, and thresholds
lie only between distinct score values, so a block of tied scores is always accepted or rejected as a
whole (no result depends on how a sort happens to order ties). With ``U`` distinct scores there are
``U + 1`` operating points, from "accept everything" (P_miss = 0, P_fa = 1) to "reject everything"
(P_miss = 1, P_fa = 0).

EER. The ROC definition used by sklearn's ``roc_curve`` + interpolation and WeSpeaker: the operating
points are joined by straight lines and the EER is the error rate where that curve crosses
P_miss = P_fa. When an operating point lies exactly on the diagonal, the EER is its error rate. A
tie block holding targets and non-targets is a diagonal segment of the curve, so it is interpolated,
never resolved in one direction. (Kaldi's ``compute-eer`` instead reports the miss rate at a target
score near the crossing, without interpolating, so its figure can differ slightly.)

minDCF. ``min over operating points of C_miss p P_miss + C_fa (1 - p) P_fa``, normalised by the cost of
the better trivial system, ``min(C_miss p, C_fa (1 - p))``, so that 1.0 means "no better than always
accepting or always rejecting".
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

#: results.json's key, beside the metrics, for the score threshold at each condition's EER point (what
#: ``diffsv.load_model(...).verify`` decides with by default).
EER_THRESHOLD_KEY = "eer_threshold"


@dataclass(frozen=True)
class DcfOperatingPoint:
    """One minDCF setting; ``key`` is its name in results files (``min_dcf_<name>``)."""

    name: str
    p_target: float
    c_miss: float
    c_fa: float

    @property
    def key(self) -> str:
        return f"min_dcf_{self.name}"

    @property
    def description(self) -> str:
        return f"p_target={self.p_target:g}, C_miss={self.c_miss:g}, C_fa={self.c_fa:g}"


#: The minDCF settings reported everywhere: VoxSRC's two (C_miss = C_fa = 1) and the one the Diff-SV
#: authors' code computes (p_target 0.01, C_miss 10, C_fa 1; diffsv_spec.md section 7).
DCF_OPERATING_POINTS: tuple[DcfOperatingPoint, ...] = (
    DcfOperatingPoint("0.01", p_target=0.01, c_miss=1.0, c_fa=1.0),
    DcfOperatingPoint("0.05", p_target=0.05, c_miss=1.0, c_fa=1.0),
    DcfOperatingPoint("reference", p_target=0.01, c_miss=10.0, c_fa=1.0),
)

#: Keys of :func:`verification_metrics` and of every results file, in report order.
METRIC_KEYS: tuple[str, ...] = ("eer", *(point.key for point in DCF_OPERATING_POINTS))


def validate_scores(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Scores as float64 and labels as bool, both 1-D; ValueError for anything the metrics cannot use."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 1 or labels.ndim != 1:
        raise ValueError(f"scores and labels must be 1-D, got shapes {scores.shape} and {labels.shape}")
    if scores.shape != labels.shape:
        raise ValueError(f"length mismatch: {scores.size} scores but {labels.size} labels")
    if scores.size == 0:
        raise ValueError("no trials: scores and labels are empty")
    if np.isnan(scores).any():
        raise ValueError(f"{int(np.isnan(scores).sum())} of {scores.size} scores are NaN")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 1 (target) or 0 (non-target)")
    labels = labels.astype(bool)
    n_target = int(labels.sum())
    if n_target == 0:
        raise ValueError(f"no target trials among {labels.size}: EER and minDCF are undefined")
    if n_target == labels.size:
        raise ValueError(f"no non-target trials among {labels.size}: EER and minDCF are undefined")
    return scores, labels


def det_curve(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(p_fa, p_miss)`` at every operating point, thresholds ascending (see the module docstring).

    One sort and two cumulative sums: O(n log n) for n trials.
    """
    scores, labels = validate_scores(scores, labels)
    order = np.argsort(scores, kind="stable")
    scores, labels = scores[order], labels[order]
    block_ends = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    targets_rejected = np.cumsum(labels)[block_ends]
    nontargets_rejected = block_ends + 1 - targets_rejected
    n_target, n_nontarget = targets_rejected[-1], nontargets_rejected[-1]
    p_miss = np.concatenate(([0], targets_rejected)) / n_target
    p_fa = (n_nontarget - np.concatenate(([0], nontargets_rejected))) / n_nontarget
    return p_fa, p_miss


def _crossing(p_fa: np.ndarray, p_miss: np.ndarray) -> tuple[int, int, float]:
    """Points j, k around where P_miss = P_fa and the fraction t of the way from j to k (j = k if exact)."""
    # p_miss - p_fa rises from -1 to 1 and never falls, so the first point at or above 0 ends the crossing segment.
    diff = p_miss - p_fa
    k = int(np.argmax(diff >= 0))
    if diff[k] == 0:
        return k, k, 0.0
    return k - 1, k, float(-diff[k - 1] / (diff[k] - diff[k - 1]))


def _interpolate(values: np.ndarray, crossing: tuple[int, int, float]) -> float:
    j, k, t = crossing
    return float(values[j] + t * (values[k] - values[j]))


def _eer_from_curve(p_fa: np.ndarray, p_miss: np.ndarray) -> float:
    return _interpolate(p_miss, _crossing(p_fa, p_miss))


def eer_threshold(scores: ArrayLike, labels: ArrayLike) -> float:
    """The score threshold at the EER point: accepting ``score >= threshold`` misses as often as it falsely accepts.

    Operating point k of :func:`det_curve` accepts the scores from the k-th distinct score up, so its
    threshold is that score (the last point, which accepts nothing, takes the highest score); the EER's
    threshold is interpolated between the two points around the crossing as the EER is.
    """
    p_fa, p_miss = det_curve(scores, labels)
    levels = np.unique(np.asarray(scores, dtype=np.float64))
    return _interpolate(np.append(levels, levels[-1]), _crossing(p_fa, p_miss))


def check_operating_point(p_target: float, c_miss: float = 1.0, c_fa: float = 1.0) -> None:
    """ValueError unless the prior is in (0, 1) and both costs are positive."""
    if not 0.0 < p_target < 1.0:
        raise ValueError(f"p_target must be in (0, 1), got {p_target}")
    if c_miss <= 0 or c_fa <= 0:
        raise ValueError(f"costs must be positive, got C_miss={c_miss}, C_fa={c_fa}")


def normalized_cost(p_miss: ArrayLike, p_fa: ArrayLike, p_target: float, c_miss: float, c_fa: float) -> np.ndarray:
    """``C_miss p P_miss + C_fa (1 - p) P_fa`` over the cost of the better trivial system (accept all or none)."""
    check_operating_point(p_target, c_miss, c_fa)
    cost = c_miss * p_target * np.asarray(p_miss) + c_fa * (1.0 - p_target) * np.asarray(p_fa)
    return cost / min(c_miss * p_target, c_fa * (1.0 - p_target))


def _min_dcf_from_curve(p_fa: np.ndarray, p_miss: np.ndarray, p_target: float, c_miss: float, c_fa: float) -> float:
    return float(normalized_cost(p_miss, p_fa, p_target, c_miss, c_fa).min())


def eer(scores: ArrayLike, labels: ArrayLike) -> float:
    """Equal error rate as a fraction in [0, 1] (ROC crossing with interpolation; module docstring)."""
    return _eer_from_curve(*det_curve(scores, labels))


def min_dcf(scores: ArrayLike, labels: ArrayLike, p_target: float, c_miss: float = 1.0, c_fa: float = 1.0) -> float:
    """Normalised minimum detection cost: the best threshold's cost over ``min(C_miss p, C_fa (1 - p))``."""
    return _min_dcf_from_curve(*det_curve(scores, labels), p_target, c_miss, c_fa)


def dcf_at_threshold(
    scores: ArrayLike, labels: ArrayLike, threshold: float, p_target: float, c_miss: float = 1.0, c_fa: float = 1.0
) -> float:
    """Normalised detection cost of one fixed decision rule, accepting ``score >= threshold`` (as
    ``diffsv.load_model(...).verify`` does): what a threshold chosen beforehand actually costs, where minDCF
    is the cost of the best threshold chosen afterwards."""
    scores, labels = validate_scores(scores, labels)
    accepted = scores >= threshold
    return float(normalized_cost(np.mean(~accepted[labels]), np.mean(accepted[~labels]), p_target, c_miss, c_fa))


def verification_metrics(scores: ArrayLike, labels: ArrayLike) -> dict[str, float]:
    """EER and every minDCF of :data:`DCF_OPERATING_POINTS` from one DET curve, keyed by :data:`METRIC_KEYS`."""
    p_fa, p_miss = det_curve(scores, labels)
    result = {"eer": _eer_from_curve(p_fa, p_miss)}
    for point in DCF_OPERATING_POINTS:
        result[point.key] = _min_dcf_from_curve(p_fa, p_miss, point.p_target, point.c_miss, point.c_fa)
    return result


def cluster_bootstrap(clusters: Sequence[Hashable], resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Trial indices of ``resamples`` bootstrap replicates, each drawing whole clusters with replacement.

    The trials of one speaker share that speaker's recordings, so they are not independent and resampling
    single trials understates the spread; with ``clusters`` the speaker of each trial, every replicate
    redraws speakers and keeps each one's trials together (a speaker drawn twice counts twice).
    """
    names, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    if len(names) < 2:
        raise ValueError(f"a cluster bootstrap needs at least 2 clusters, got {len(names)}")
    members = [np.flatnonzero(inverse == k) for k in range(len(names))]
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        yield np.concatenate([members[k] for k in rng.integers(0, len(names), len(names))])


def percentile_interval(values: ArrayLike, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` interval of bootstrap replicates (the percentile method)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    low, high = np.quantile(np.asarray(values, dtype=np.float64), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)

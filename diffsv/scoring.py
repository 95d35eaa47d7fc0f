"""Cosine scoring of trial lists, with segment averaging, mean subtraction and AS-norm; trial/score files.

Segment averaging. An utterance's embedding may be several segment embeddings, shape (S, D); a trial's
score is the mean of the S_a x S_b cosine similarities (the reference scores 4 x 4 segments). Since
``mean_ij <a_i/|a_i|, b_j/|b_j|> = <mean_i a_i/|a_i|, mean_j b_j/|b_j|>``, every utterance is reduced once
to the mean of its length-normalised segments and a trial costs one dot product, exactly the same score.
With S = 1 this is plain cosine similarity.

Mean subtraction. An optional mean vector (from training embeddings) is subtracted from every segment
before length normalisation, for test and cohort embeddings alike.

AS-norm (adaptive symmetric score normalisation). Each utterance of the trials is scored, as above,
against every cohort embedding; the mean and (population) standard deviation of its ``top_n`` highest
cohort scores normalise the trial: ``0.5 ((s - mu_e) / sd_e + (s - mu_t) / sd_t)``. The statistics are
computed once per utterance, not per trial.

File formats (Kaldi): trials ``utt1 utt2 target|nontarget``, read by
:func:`diffsv.data.kaldi_dir.read_trials` (the label column may be absent in a list that is only scored);
score files ``utt1 utt2 score`` (a fourth WeSpeaker-style label column is ignored on reading);
embeddings a ``xvector.scp`` of (S, D) matrices or (D,) vectors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import kaldiio
import numpy as np
from numpy.typing import ArrayLike
from tqdm import tqdm

from diffsv.data.kaldi_dir import TrialList
from diffsv.experiment import SCORING_RECORD
from diffsv.registry import Registry
from diffsv.utils.fileio import atomic_open

# Cohort scores are computed for this many (utterance, cohort) pairs at a time, bounding memory
# (2**24 float64 = 128 MiB) even with the whole training set as the cohort.
_COHORT_BLOCK = 2**24


class ScoringError(ValueError):
    """A trials, score or embedding file is unusable; the message names the file (and line)."""


@dataclass(frozen=True)
class ScoreNorm:
    """A score normalisation of stage 5 (``--score-norm``): what it takes from a cohort of training embeddings."""

    subtract_mean: bool
    asnorm: bool

    @property
    def needs_cohort(self) -> bool:
        return self.subtract_mean or self.asnorm


SCORE_NORMS: Registry[ScoreNorm] = Registry("score normalisation")
SCORE_NORMS.add("none", ScoreNorm(subtract_mean=False, asnorm=False))  # the reference's
SCORE_NORMS.add("mean", ScoreNorm(subtract_mean=True, asnorm=False))
SCORE_NORMS.add("asnorm", ScoreNorm(subtract_mean=True, asnorm=True))


@dataclass(frozen=True)
class EmbeddingTable:
    """One row per utterance: the mean of its length-normalised (mean-subtracted) segment embeddings."""

    source: str
    index: dict[str, int]
    vectors: np.ndarray  # (U, D) float64

    def __len__(self) -> int:
        return len(self.index)


def read_scores(path: str | Path) -> dict[tuple[str, str], float]:
    """Read a score file ``utt1 utt2 score [label]`` into ``{(utt1, utt2): score}``."""
    scores: dict[tuple[str, str], float] = {}
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) not in (3, 4):
                raise ScoringError(f"{path}:{lineno}: expected 'utt1 utt2 score', got {line.strip()!r}")
            try:
                score = float(fields[2])
            except ValueError:
                raise ScoringError(f"{path}:{lineno}: score {fields[2]!r} is not a number") from None
            if np.isnan(score):
                raise ScoringError(f"{path}:{lineno}: score is NaN")
            pair = (fields[0], fields[1])
            if pair in scores:
                raise ScoringError(f"{path}:{lineno}: trial '{pair[0]} {pair[1]}' is scored twice")
            scores[pair] = score
    return scores


def scores_for_trials(trials: TrialList, scores: Mapping[tuple[str, str], float], source: str) -> np.ndarray:
    """The score of every trial, in trial order; an unscored trial is an error naming it."""
    missing = [i for i, pair in enumerate(zip(trials.enrol, trials.test, strict=True)) if pair not in scores]
    if missing:
        i = missing[0]
        raise ScoringError(
            f"{source}: no score for trial '{trials.enrol[i]} {trials.test[i]}' ({trials.where(i)}); "
            f"{len(missing)} of {len(trials)} trials are unscored"
        )
    return np.array([scores[pair] for pair in zip(trials.enrol, trials.test, strict=True)], dtype=np.float64)


def write_scores(path: str | Path, trials: TrialList, scores: ArrayLike) -> None:
    """Write ``utt1 utt2 score`` lines in trial order, atomically."""
    with atomic_open(path) as handle:
        for enrol, test, score in zip(trials.enrol, trials.test, np.asarray(scores).tolist(), strict=True):
            handle.write(f"{enrol} {test} {score:.8f}\n")


def load_embeddings(scp: str | Path) -> dict[str, np.ndarray]:
    """Read every entry of a Kaldi ``xvector.scp``; unreadable entries and repeated keys are errors."""
    embeddings: dict[str, np.ndarray] = {}
    try:
        entries: Iterable[tuple[str, np.ndarray]] = kaldiio.load_scp_sequential(str(scp))
        for key, value in tqdm(entries, desc=f"reading {scp}", unit=" utt", disable=None, leave=False):
            if key in embeddings:
                raise ScoringError(f"{scp}: utterance '{key}' appears twice")
            embeddings[key] = np.asarray(value)
    except ScoringError:
        raise
    except Exception as exc:  # kaldiio raises many types for malformed scp lines or arks
        raise ScoringError(f"{scp}: cannot read embeddings (after {len(embeddings)} entries): {exc}") from exc
    if not embeddings:
        raise ScoringError(f"{scp}: no embeddings")
    return embeddings


def mean_embedding(embeddings: Mapping[str, ArrayLike], source: str) -> np.ndarray:
    """The mean of every segment of every utterance (for mean subtraction)."""
    arrays = [np.asarray(e, dtype=np.float64) for e in embeddings.values()]
    dims = {a.shape[-1] for a in arrays}
    if len(dims) != 1:
        raise ScoringError(f"{source}: embeddings of different dimensions {sorted(dims)}")
    dim = dims.pop()
    return np.concatenate([a.reshape(-1, dim) for a in arrays]).mean(axis=0)


def save_mean(path: Path, mean: np.ndarray) -> None:
    with atomic_open(path, "wb") as handle:
        np.save(handle, mean)


def write_scoring_record(directory: Path, mean: Path | None, asnorm_cohort: Path | None, top_n: int) -> None:
    """scoring.json beside score files: how they were normalised (``diffsv.load_model`` reads it)."""
    record = {
        "mean": str(mean.resolve()) if mean else None,
        "asnorm_cohort": str(asnorm_cohort.resolve()) if asnorm_cohort else None,
        "asnorm_top_n": top_n if asnorm_cohort else None,
    }
    with atomic_open(directory / SCORING_RECORD, "w") as handle:
        json.dump(record, handle, indent=2)


def load_mean(path: str | Path) -> np.ndarray:
    """Read a mean embedding saved with ``numpy.save``: a finite (D,) vector."""
    try:
        mean = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ScoringError(f"{path}: not a numpy .npy array: {exc}") from exc
    if mean.ndim != 1 or not np.issubdtype(mean.dtype, np.number) or not np.isfinite(mean).all():
        raise ScoringError(f"{path}: the mean must be a finite 1-D numeric vector, got shape {mean.shape}")
    return mean.astype(np.float64)


def embedding_table(embeddings: Mapping[str, ArrayLike], source: str, mean: np.ndarray | None = None) -> EmbeddingTable:
    """Reduce every utterance to the mean of its length-normalised segments (module docstring)."""
    names = list(embeddings)
    if not names:
        raise ScoringError(f"{source}: no embeddings")
    arrays = [np.asarray(embeddings[name]) for name in names]
    dim = arrays[0].shape[-1] if arrays[0].ndim else 0
    for name, array in zip(names, arrays, strict=True):
        if array.ndim not in (1, 2) or array.shape[-1] != dim or array.size == 0:
            raise ScoringError(
                f"{source}: embedding of '{name}' has shape {array.shape}; expected (D,) or (S, D) with D = {dim}"
            )
    if mean is not None and mean.shape != (dim,):
        raise ScoringError(f"{source}: the mean has shape {mean.shape} but the embeddings have dimension {dim}")
    segments = np.array([1 if array.ndim == 1 else array.shape[0] for array in arrays])
    vectors = np.empty((len(names), dim), dtype=np.float64)
    for count in np.unique(segments):
        rows = np.flatnonzero(segments == count)
        stack = np.stack([arrays[i].reshape(count, dim) for i in rows]).astype(np.float64)
        if mean is not None:
            stack -= mean
        norms = np.linalg.norm(stack, axis=-1, keepdims=True)
        bad = ~(np.isfinite(stack).all(axis=(1, 2)) & (norms > 0).all(axis=(1, 2)))
        if bad.any():
            name = names[rows[np.argmax(bad)]]
            raise ScoringError(f"{source}: embedding of '{name}' has a zero-length or non-finite segment")
        vectors[rows] = (stack / norms).mean(axis=1)
    return EmbeddingTable(source, {name: i for i, name in enumerate(names)}, vectors)


def trial_indices(trials: TrialList, table: EmbeddingTable) -> tuple[np.ndarray, np.ndarray]:
    """Row of each trial's two utterances in ``table``; an unknown utterance names the trials line."""
    enrol = np.fromiter((table.index.get(u, -1) for u in trials.enrol), dtype=np.int64, count=len(trials))
    test = np.fromiter((table.index.get(u, -1) for u in trials.test), dtype=np.int64, count=len(trials))
    unknown = (enrol < 0) | (test < 0)
    if unknown.any():
        i = int(np.argmax(unknown))
        utt = trials.enrol[i] if enrol[i] < 0 else trials.test[i]
        raise ScoringError(
            f"{trials.where(i)}: utterance '{utt}' has no embedding in {table.source} "
            f"({int(unknown.sum())} of {len(trials)} trials affected)"
        )
    return enrol, test


def cohort_statistics(vectors: np.ndarray, cohort: EmbeddingTable, top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation of each row's ``top_n`` highest scores against the cohort."""
    size = len(cohort)
    if not 1 <= top_n <= size:
        raise ScoringError(f"{cohort.source}: AS-norm top-N must be in 1..{size} (the cohort size), got {top_n}")
    mu = np.empty(len(vectors))
    sd = np.empty(len(vectors))
    step = max(1, _COHORT_BLOCK // size)
    for start in range(0, len(vectors), step):
        block = vectors[start : start + step] @ cohort.vectors.T
        top = np.partition(block, size - top_n, axis=1)[:, size - top_n :]
        mu[start : start + step] = top.mean(axis=1)
        sd[start : start + step] = top.std(axis=1)
    return mu, sd


def score_trials(
    trials: TrialList, table: EmbeddingTable, cohort: EmbeddingTable | None = None, top_n: int = 300
) -> np.ndarray:
    """Segment-averaged cosine score of every trial, AS-normalised against ``cohort`` when one is given."""
    enrol, test = trial_indices(trials, table)
    scores = np.einsum("ij,ij->i", table.vectors[enrol], table.vectors[test])
    if cohort is None:
        return scores
    if cohort.vectors.shape[1] != table.vectors.shape[1]:
        raise ScoringError(
            f"{cohort.source}: cohort dimension {cohort.vectors.shape[1]} differs from "
            f"{table.source}'s {table.vectors.shape[1]}"
        )
    used, inverse = np.unique(np.concatenate([enrol, test]), return_inverse=True)
    mu, sd = cohort_statistics(table.vectors[used], cohort, top_n)
    if (sd == 0).any():
        name = next(name for name, row in table.index.items() if row == used[np.argmax(sd == 0)])
        raise ScoringError(f"{table.source}: '{name}' scores identically against its top-{top_n} cohort")
    e, t = inverse[: len(trials)], inverse[len(trials) :]
    return 0.5 * ((scores - mu[e]) / sd[e] + (scores - mu[t]) / sd[t])

"""Stage 5's finish step: merge the jobs' shares, score every condition and write the report (see
:mod:`diffsv.evaluation`). Torch-free: scoring is numpy, the report matplotlib.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from diffsv.data.eval_sets import EvalSet
from diffsv.data.kaldi_dir import read_trials
from diffsv.embedding_store import write_embedding_record
from diffsv.evaluation import Plan
from diffsv.experiment import Experiment
from diffsv.results import write_report
from diffsv.scoring import (
    SCORE_NORMS,
    embedding_table,
    load_embeddings,
    mean_embedding,
    save_mean,
    score_trials,
    write_scores,
    write_scoring_record,
)
from diffsv.utils.fileio import atomic_open, remove_stale_temporaries


def merge_shares(out: Path, jobs: int, record: dict[str, Any]) -> None:
    """Join the jobs' ``xvector.n.scp`` into ``xvector.scp``, then write the set's record."""
    remove_stale_temporaries(out, recursive=False)
    lines = []
    for job in range(1, jobs + 1):
        part = out / f"xvector.{job}.scp"
        if not part.is_file():
            raise FileNotFoundError(f"{part}: missing: embedding job {job} did not finish (see its log)")
        lines += [line for line in part.read_text(encoding="utf-8").splitlines() if line.strip()]
    with atomic_open(out / "xvector.scp") as handle:
        handle.writelines(f"{line}\n" for line in sorted(lines))
    write_embedding_record(out, record)


def finish(exp: Experiment, compare: Path | None = None, paper: bool = True) -> Iterator[str]:
    """Merge the planned sets, score every condition and write the report; yields what it did."""
    current = Plan.read(exp)
    for directory in (exp.root, exp.scores_dir):  # what a killed finish left: reports, figures, score files
        remove_stale_temporaries(directory, recursive=False)
    for planned in current.sets:
        merge_shares(exp.set_embeddings(planned.name), current.jobs, current.record)
    if current.sets:
        yield f"embedded {', '.join(s.name for s in current.sets)} in {current.jobs} jobs"
    norm = SCORE_NORMS[current.score_norm]
    mean_file = cohort_scp = None
    mean = cohort = None
    if norm.needs_cohort:
        cohort_scp = exp.cohort_dir / "xvector.scp"
        cohort_embeddings = load_embeddings(cohort_scp)
        mean = mean_embedding(cohort_embeddings, str(cohort_scp))
        mean_file = exp.cohort_dir / "mean.npy"
        save_mean(mean_file, mean)
        if norm.asnorm:
            cohort = embedding_table(cohort_embeddings, str(cohort_scp), mean)
    exp.scores_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[Path, Path]] = {}
    tables = {}  # by set: conditions sharing a data directory (VoxCeleb1-E and -H) share its embeddings
    for listed in current.eval_sets:
        evaluated = EvalSet(listed["condition"], Path(listed["data"]), Path(listed["trials"]))
        trials = read_trials(evaluated.trials, labelled=None)
        if evaluated.name not in tables:
            scp = exp.set_embeddings(evaluated.name) / "xvector.scp"
            tables = {evaluated.name: embedding_table(load_embeddings(scp), str(scp), mean)}
        table = tables[evaluated.name]
        write_scores(
            exp.score_file(evaluated.condition), trials, score_trials(trials, table, cohort, current.asnorm_top_n)
        )
        files[evaluated.condition] = (exp.score_file(evaluated.condition), evaluated.trials)
    write_scoring_record(exp.scores_dir, mean_file, cohort_scp if norm.asnorm else None, current.asnorm_top_n)
    yield f"scored {len(files)} conditions ({current.score_norm} normalisation) -> {exp.scores_dir}"
    shown = None
    if compare is not None:
        other = Experiment(compare)
        shown = (compare, {c: (other.score_file(c), t) for c, (_, t) in files.items() if other.score_file(c).is_file()})
    conditions, figures = write_report(exp, files, shown, paper)
    yield f"{conditions} conditions -> {exp.results_md}, {exp.results_json.name}, {exp.figures_dir.name}/ ({figures})"

"""Recipe stage 5 in three steps, so that the recipe only orchestrates: plan, embed (an array of jobs), finish.

``plan``    reads the evaluation sets stages 1 and 2 listed (``data/eval_sets.json``), adds a cohort of
            training utterances when the score normalisation needs one, leaves out every set whose
            embeddings this model file already made with this protocol and sampler, and writes
            ``embeddings/plan.json`` with the number of embedding jobs (0: nothing is left to embed).
``embed``   job n of J loads the model once and embeds the n-th share of every planned set into
            ``embeddings/<set>/xvector.n.{ark,scp}``.
``finish``  joins each planned set's shares into its ``xvector.scp`` and only then writes its
            ``embedding.json`` (so a set is complete or absent), scores every condition with the chosen
            normalisation and writes the report.

Killed at any point, running the three steps again redoes only what is unfinished.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from diffsv.data.eval_sets import EvalSet, read_eval_sets
from diffsv.data.kaldi_dir import read_trials, read_wav_scp
from diffsv.embedding import (
    Embedder,
    SegmentConfig,
    embed_data_dir,
    embedding_record,
    embeddings_current,
    write_embedding_record,
)
from diffsv.experiment import EMBEDDING_RECORD, Experiment
from diffsv.models.model_file import load_model_file
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

#: The cohort's utterances come from this data directory (under the data root).
COHORT_SOURCE = "train"


@dataclass(frozen=True)
class PlannedSet:
    """A set to embed: its name under ``embeddings/``, its data directory and the list of its utterances."""

    name: str
    data: str
    utterances: str

    def utterance_ids(self) -> list[str]:
        return list(read_wav_scp(Path(self.utterances)))


@dataclass(frozen=True)
class Plan:
    model: str
    record: dict[str, Any]
    jobs: int
    batch_size: int
    sets: list[PlannedSet]
    eval_sets: list[dict[str, str]]
    score_norm: str
    asnorm_top_n: int

    @staticmethod
    def read(exp: Experiment) -> Plan:
        path = exp.embedding_plan
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no stage-5 plan; run 'diffsv.bin.evaluate plan' first")
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
            fields["sets"] = [PlannedSet(**item) for item in fields["sets"]]
            return Plan(**fields)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{path}: not a stage-5 plan ({exc}); run 'diffsv.bin.evaluate plan' again") from None

    def write(self, exp: Experiment) -> None:
        exp.embeddings_dir.mkdir(parents=True, exist_ok=True)
        with atomic_open(exp.embedding_plan) as handle:
            json.dump(asdict(self), handle, indent=1)


def cohort_list(train_wav_scp: Path, count: int) -> list[str]:
    """``count`` evenly spaced lines of the training wav.scp (all of them when it has fewer)."""
    lines = [line for line in train_wav_scp.read_text(encoding="utf-8").splitlines() if line.strip()]
    if count >= len(lines):
        return lines
    return [lines[i * len(lines) // count] for i in range(count)]


def _write_if_changed(path: Path, lines: list[str]) -> None:
    text = "".join(f"{line}\n" for line in lines)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path) as handle:
            handle.write(text)


def plan(
    exp: Experiment,
    data_root: Path,
    segments: SegmentConfig,
    *,
    model_name: str = "final",
    nj: int = 1,
    seed: int = 0,
    sampler: str | None = None,
    steps: int | None = None,
    score_norm: str = "none",
    cohort_utts: int = 3000,
    asnorm_top_n: int = 300,
    batch_size: int = 8,
    precision: str = "fp32",
) -> Plan:
    """Decide what stage 5 embeds (see the module docstring); writes and returns the plan."""
    norm = SCORE_NORMS[score_norm]
    model_file = exp.model_file(model_name)
    if not model_file.is_file():
        raise FileNotFoundError(f"{model_file}: not found: run stage 4 first")
    model = load_model_file(model_file)
    model.use_sampler(sampler, steps)
    record = embedding_record(model_file, model, segments, seed, precision)
    eval_sets = read_eval_sets(data_root)
    candidates = [PlannedSet(s.name, str(s.data.resolve()), str((s.data / "wav.scp").resolve())) for s in eval_sets]
    if norm.needs_cohort:
        cohort_scp = exp.cohort_dir / "wav.scp"
        _write_if_changed(cohort_scp, cohort_list(data_root / COHORT_SOURCE / "wav.scp", cohort_utts))
        candidates.append(PlannedSet("cohort", str((data_root / COHORT_SOURCE).resolve()), str(cohort_scp.resolve())))
    stale, sizes = [], []
    for candidate in candidates:
        utts = candidate.utterance_ids()
        if not embeddings_current(exp.set_embeddings(candidate.name), record, utts):
            for made in ("xvector.scp", EMBEDDING_RECORD):  # never left beside a new set's shares
                (exp.set_embeddings(candidate.name) / made).unlink(missing_ok=True)
            stale.append(candidate)
            sizes.append(len(utts))
    listed = [
        {"condition": s.condition, "data": str(s.data.resolve()), "trials": str(s.trials.resolve())} for s in eval_sets
    ]
    result = Plan(
        str(model_file.resolve()),
        record,
        min(nj, *sizes) if stale else 0,
        batch_size,
        stale,
        listed,
        score_norm,
        asnorm_top_n,
    )
    result.write(exp)
    return result


def share(utts: list[str], job: int, jobs: int) -> list[str]:
    """Job ``job``'s (1-based) contiguous share of ``utts``, the shares as equal as they can be."""
    bounds = np.linspace(0, len(utts), jobs + 1).round().astype(int)
    return utts[bounds[job - 1] : bounds[job]]


def embed_job(exp: Experiment, job: int, device: str = "auto") -> Iterator[str]:
    """Embed job ``job``'s share of every planned set; yields a summary per set."""
    current = Plan.read(exp)
    if not 1 <= job <= current.jobs:
        raise ValueError(f"{exp.embedding_plan}: job {job} is not one of 1..{current.jobs}")
    record = current.record
    model = load_model_file(current.model)
    model.use_sampler(record["sampler"], record["steps"])
    segments = SegmentConfig(record["segments"], record["segment_samples"])
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    embedder = Embedder(
        model,
        torch.device("cuda" if use_cuda else "cpu"),
        segments,
        current.batch_size,
        record["seed"],
        record["precision"],
    )
    for planned in current.sets:
        out = exp.set_embeddings(planned.name)
        remove_stale_temporaries(out, recursive=False)
        utts = share(planned.utterance_ids(), job, current.jobs)
        count = embed_data_dir(embedder, Path(planned.data), utts, out, f"xvector.{job}")
        yield f"{planned.name}: {count} embeddings -> {out}/xvector.{job}.scp"


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
    for listed in current.eval_sets:
        evaluated = EvalSet(listed["condition"], Path(listed["data"]), Path(listed["trials"]))
        trials = read_trials(evaluated.trials, labelled=None)
        scp = exp.set_embeddings(evaluated.name) / "xvector.scp"
        table = embedding_table(load_embeddings(scp), str(scp), mean)
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

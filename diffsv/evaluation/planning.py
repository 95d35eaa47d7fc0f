"""Stage 5's plan step: which sets to embed, and in how many jobs (see :mod:`diffsv.evaluation`).

It reads the model file, to record how embeddings are made, so it imports torch; not matplotlib.
"""

from __future__ import annotations

from pathlib import Path

from diffsv.data.eval_sets import read_eval_sets
from diffsv.embedding_segments import SegmentConfig
from diffsv.embedding_store import embedding_record, embeddings_current
from diffsv.evaluation import Plan, PlannedSet
from diffsv.experiment import EMBEDDING_RECORD, Experiment
from diffsv.models.model_file import load_model_file
from diffsv.scoring import SCORE_NORMS
from diffsv.utils.fileio import atomic_open

#: The cohort's utterances come from this data directory (under the data root).
COHORT_SOURCE = "train"


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
    device: str = "cpu",
) -> Plan:
    """Decide what stage 5 embeds (see :mod:`diffsv.evaluation`); writes and returns the plan."""
    norm = SCORE_NORMS[score_norm]
    model_file = exp.model_file(model_name)
    if not model_file.is_file():
        raise FileNotFoundError(f"{model_file}: not found: run stage 4 first")
    model = load_model_file(model_file)
    model.use_sampler(sampler, steps)
    record = embedding_record(model_file, model, segments, seed, precision, device)
    eval_sets = read_eval_sets(data_root)
    # Conditions that share a data directory (VoxCeleb1-E and -H) share its embeddings: it is embedded once.
    by_name = {
        s.name: PlannedSet(s.name, str(s.data.resolve()), str((s.data / "wav.scp").resolve())) for s in eval_sets
    }
    candidates = list(by_name.values())
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

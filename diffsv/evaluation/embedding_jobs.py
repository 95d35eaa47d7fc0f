"""Stage 5's embed step: one job of the array embeds its share of every planned set (see
:mod:`diffsv.evaluation`). It runs the model, so it imports torch; not matplotlib.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from diffsv.embedding import Embedder, embed_data_dir
from diffsv.embedding_segments import SegmentConfig
from diffsv.evaluation import Plan
from diffsv.experiment import Experiment
from diffsv.models.model_file import load_model_file
from diffsv.utils.fileio import remove_stale_temporaries


def share(utts: list[str], job: int, jobs: int) -> list[str]:
    """Job ``job``'s (1-based) contiguous share of ``utts``, the shares as equal as they can be."""
    bounds = np.linspace(0, len(utts), jobs + 1).round().astype(int)
    return utts[bounds[job - 1] : bounds[job]]


def embed_job(exp: Experiment, job: int, device: str = "auto", threads: int | None = None) -> Iterator[str]:
    """Embed job ``job``'s share of every planned set on the plan's device (``auto``; another is an error:
    the shares of a set are made alike) with ``threads`` CPU threads (None: torch's default); yields a summary
    per set."""
    if threads:
        torch.set_num_threads(threads)
    current = Plan.read(exp)
    if not 1 <= job <= current.jobs:
        raise ValueError(f"{exp.embedding_plan}: job {job} is not one of 1..{current.jobs}")
    record = current.record
    model = load_model_file(current.model)
    model.use_sampler(record["sampler"], record["steps"])
    segments = SegmentConfig(record["segments"], record["segment_samples"])
    planned_device = record["device"]
    if device not in ("auto", planned_device):
        raise ValueError(f"{exp.embedding_plan}: planned for --device {planned_device}, not {device}: plan again")
    if planned_device == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{exp.embedding_plan}: planned for --device cuda, but this job sees no CUDA device")
    embedder = Embedder(
        model,
        torch.device(planned_device),
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

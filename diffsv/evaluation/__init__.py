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

Each step is a module (:mod:`.planning`, :mod:`.embedding_jobs`, :mod:`.finishing`) and imports only what it
needs, so that finish runs without torch and plan and embed without matplotlib; this package holds what
they share, the plan, and imports none of them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from diffsv.data.kaldi_dir import read_wav_scp
from diffsv.experiment import Experiment
from diffsv.utils.fileio import atomic_open


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
    """What ``plan`` decided (``embeddings/plan.json``): read by every embedding job and by ``finish``."""

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

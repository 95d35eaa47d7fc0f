"""The layout of an experiment directory, ``exp/<name>/``: every file the stages write there, in one place.

    config.yaml  speakers.txt  model_size.json      stages 3-4: how the model was trained
    pretrain/  joint/                               stages 3-4: epoch_N.pt, validation.json, train.log
    final.pt  best.pt                               stage 4: the averaged and the best-validated model
    embeddings/plan.json                            stage 5: the sets still to embed and the job count
    embeddings/<set>/xvector.scp  embedding.json    stage 5: embeddings and how they were made
    embeddings/cohort/wav.scp  mean.npy             stage 5 with score normalisation: its cohort
    scores/<condition>.score  scoring.json          stage 5: scores and how they were normalised
    results.json  RESULTS.md  figures/              stage 5: the report
    calibration.json                                stage 5 or 'diffsv calibrate': scores to log-likelihood ratios
    export/                                         stage 6
    log/                                            the recipe's job logs

Writers and readers (training, stage 5, ``diffsv.load_model``) take their paths from :class:`Experiment`,
so the layout changes here or nowhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: How a set's embeddings were made (model file and digest, segments, sampler), beside its xvector.scp.
EMBEDDING_RECORD = "embedding.json"
#: How the scores were normalised (mean, AS-norm cohort), beside the score files.
SCORING_RECORD = "scoring.json"
#: The model files stage 4 writes, by the recipe's ``--model`` name.
MODEL_NAMES = ("final", "best")


@dataclass(frozen=True)
class Experiment:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def name(self) -> str:
        return self.root.name

    # stages 3-4
    @property
    def config_file(self) -> Path:
        return self.root / "config.yaml"

    @property
    def speakers_file(self) -> Path:
        return self.root / "speakers.txt"

    @property
    def model_size_file(self) -> Path:
        return self.root / "model_size.json"

    def phase_dir(self, phase: str) -> Path:
        return self.root / phase

    def model_file(self, name: str = "final") -> Path:
        if name not in MODEL_NAMES:
            raise ValueError(f"unknown model '{name}'; choose one of {', '.join(MODEL_NAMES)}")
        return self.root / f"{name}.pt"

    def trained_model(self) -> Path:
        """final.pt, else best.pt: the model an experiment is used with."""
        for name in MODEL_NAMES:
            if self.model_file(name).is_file():
                return self.model_file(name)
        raise FileNotFoundError(f"{self.root}: no final.pt or best.pt: train it first (recipe stage 4)")

    # stage 5
    @property
    def embeddings_dir(self) -> Path:
        return self.root / "embeddings"

    @property
    def embedding_plan(self) -> Path:
        return self.embeddings_dir / "plan.json"

    def set_embeddings(self, set_name: str) -> Path:
        return self.embeddings_dir / set_name

    def embedding_record(self, set_name: str) -> Path:
        return self.set_embeddings(set_name) / EMBEDDING_RECORD

    @property
    def cohort_dir(self) -> Path:
        return self.set_embeddings("cohort")

    @property
    def scores_dir(self) -> Path:
        return self.root / "scores"

    def score_file(self, condition: str) -> Path:
        return self.scores_dir / f"{condition}.score"

    @property
    def scoring_record(self) -> Path:
        return self.scores_dir / SCORING_RECORD

    @property
    def results_json(self) -> Path:
        return self.root / "results.json"

    @property
    def results_md(self) -> Path:
        return self.root / "RESULTS.md"

    @property
    def figures_dir(self) -> Path:
        return self.root / "figures"

    @property
    def calibration_file(self) -> Path:
        return self.root / "calibration.json"

    # stage 6 and the recipe
    @property
    def export_dir(self) -> Path:
        return self.root / "export"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"


def read_record(path: Path) -> dict[str, Any]:
    """A JSON record a stage wrote, or {} when there is none yet; ValueError naming a corrupt one."""
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); re-run the stage that writes it") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: expected a JSON object; re-run the stage that writes it")
    return record

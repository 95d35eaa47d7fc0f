"""The experiment configuration: one YAML file per experiment, one section per concern (WeSpeaker style)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from diffsv.data.augment import AugmentationConfig
from diffsv.data.speaker_crops import AugmentOn
from diffsv.models import ModelConfig
from diffsv.training.scheduler import SchedulerConfig


@dataclass
class DataConfig:
    """``num_workers`` is per training process (one per GPU): a count, or ``auto`` for the process's share
    of the CPUs this job may use, less one for the process itself (see :func:`diffsv.training.trainer.data_workers`).
    ``augment_on``: where the augmentation's arithmetic runs, ``loader`` (each crop in a loader worker) or
    ``device`` (each batch on the training device, the workers only drawing and reading); the draws, and so
    the noisy crops up to rounding, are the same either way."""

    crop_samples: int = 31_920
    batch_size: int = 160
    num_workers: int | Literal["auto"] = "auto"
    augment_on: AugmentOn = "device"
    validation_speakers: int = 40
    validation_utterances: int = 8  # per held-out speaker
    validation_seconds: float = 4.0

    def __post_init__(self) -> None:
        if self.num_workers != "auto" and self.num_workers < 0:
            raise ValueError("num_workers must be 'auto' or at least 0")


@dataclass
class OptimizerConfig:
    weight_decay: float = 1e-4
    amsgrad: bool = True


@dataclass
class LossConfig:
    aam_margin: float = 0.2
    aam_scale: float = 30.0
    prior_weight: float = 1.0
    diffusion_weight: float = 1.0


@dataclass
class TrainingConfig:
    """``pretrain_epochs`` is stage 3 (enhancer and score network on (noisy, clean) pairs); 0 reproduces the
    paper's joint training from scratch. ``epochs`` is stage 4, the joint training with the extractor."""

    epochs: int = 320
    pretrain_epochs: int = 0
    seed: int = 1234
    grad_clip: float | None = None
    grad_accumulation: int = 1
    precision: Literal["fp32", "tf32", "bf16"] = "fp32"  # diffsv/utils/arithmetic.py: TF32 only when asked
    max_nonfinite_steps: int = 20
    average_last: int = 5
    log_interval: int = 20

    def __post_init__(self) -> None:
        if self.grad_accumulation < 1:
            raise ValueError("grad_accumulation must be at least 1")


@dataclass
class ExperimentConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

"""The training objective: AAM-softmax + prior loss + diffusion loss, computed from one batch.

All random draws of the diffusion (t, the loss noise, the sampler's starting noise) come with the batch,
made per example by the dataset (``diffsv.data.example_draws``), so the result does not depend on how
examples are spread over processes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import torch
from torch import nn

from diffsv.data.batch_augment import AugmentationBatch, augment_batch
from diffsv.losses import AAMSoftmax
from diffsv.models import DiffSV, prior_loss
from diffsv.training.config import LossConfig

Phase = Literal["pretrain", "joint"]


@dataclass
class Batch:
    """One micro-batch. Augmented on the training device, it arrives with ``augmentation`` (the draws) and
    no ``noisy``, which :meth:`augmented` makes there."""

    noisy: torch.Tensor | None  # (B, N) augmented waveform
    clean: torch.Tensor  # (B, N) the same crop before augmentation
    labels: torch.Tensor  # (B,) speaker indices
    t: torch.Tensor  # (B,) diffusion time of the loss
    loss_noise: torch.Tensor  # (B, F, T)
    init_noise: torch.Tensor  # (B, F, T)
    augmentation: AugmentationBatch | None = None

    def to(self, device: torch.device) -> Batch:
        """On ``device``; from pinned memory the copies are asynchronous."""
        fields = vars(self).items()
        return Batch(**{name: None if value is None else value.to(device, non_blocking=True) for name, value in fields})

    def pin_memory(self) -> Batch:
        """Page-locked copies, so that the copy to a CUDA device is asynchronous (the DataLoader calls this)."""
        return Batch(**{name: None if value is None else value.pin_memory() for name, value in vars(self).items()})

    def augmented(self) -> Batch:
        """The batch with its noisy crops made from its draws on its own device (itself when it has no draws)."""
        if self.augmentation is None:
            return self
        return replace(self, noisy=augment_batch(self.clean, self.augmentation), augmentation=None)


class TrainingObjective(nn.Module):
    """Holds the model and the classification head so that one DDP wrapper covers both.

    Phase ``pretrain`` (stage 3) trains the enhancer and score network on (noisy, clean) pairs;
    phase ``joint`` (stage 4, and the paper's from-scratch training) adds the extractor and AAM-softmax.
    """

    def __init__(self, model: DiffSV, num_speakers: int, config: LossConfig) -> None:
        super().__init__()
        self.model = model
        self.head = AAMSoftmax(model.embed_dim, num_speakers, config.aam_margin, config.aam_scale)
        self.config = config

    def forward(self, batch: Batch, phase: Phase) -> dict[str, torch.Tensor]:
        model = self.model
        fbank = model.frontend(batch.noisy)
        losses: dict[str, torch.Tensor] = {}
        features: tuple[torch.Tensor, ...] = (fbank,)
        if model.enhancer is not None and model.diffusion is not None:
            clean_fbank = model.frontend(batch.clean)
            x_hat = model.enhancer(fbank)
            losses["prior_loss"] = prior_loss(clean_fbank, x_hat)
            losses["diffusion_loss"] = model.diffusion.loss(clean_fbank, x_hat, batch.t, batch.loss_noise)
            if phase == "joint":
                features = (fbank, x_hat, model.diffusion.sample(x_hat, batch.init_noise))
        elif phase == "pretrain":
            raise ValueError("the baseline has no enhancer to pre-train")
        if phase == "joint":
            losses["aam_loss"] = self.head(model.extractor(*features), batch.labels)
        weights = {"prior_loss": self.config.prior_weight, "diffusion_loss": self.config.diffusion_weight}
        losses["loss"] = sum(weights.get(name, 1.0) * value for name, value in losses.items())
        return losses

"""The training objective: AAM-softmax + prior loss + diffusion loss, computed from one batch.

All random draws of the diffusion (t, the loss noise, the sampler's starting noise) come with the batch,
made per example by the dataset (``diffsv.data.example_draws``), so the result does not depend on how
examples are spread over processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from diffsv.losses import AAMSoftmax
from diffsv.models import DiffSV, prior_loss
from diffsv.training.config import LossConfig

Phase = Literal["pretrain", "joint"]


@dataclass
class Batch:
    noisy: torch.Tensor  # (B, N) augmented waveform
    clean: torch.Tensor  # (B, N) the same crop before augmentation
    labels: torch.Tensor  # (B,) speaker indices
    t: torch.Tensor  # (B,) diffusion time of the loss
    loss_noise: torch.Tensor  # (B, F, T)
    init_noise: torch.Tensor  # (B, F, T)

    def to(self, device: torch.device) -> Batch:
        return Batch(**{name: value.to(device, non_blocking=True) for name, value in vars(self).items()})


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

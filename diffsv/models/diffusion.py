"""Mean-reverting VP diffusion towards the enhancer's prior mu (Grad-TTS formulation).

beta(t) = beta_min + (beta_max - beta_min) t and B(t) is its integral. The forward marginal is
x_t = x0 e^{-B/2} + mu (1 - e^{-B/2}) + sqrt(1 - e^{-B}) eps; the reverse probability-flow ODE is
integrated from x_1 = mu + eps down to t = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from diffsv.models.samplers import SAMPLERS, Schedule
from diffsv.models.samplers import sample as run_sampler
from diffsv.models.score_network import ScoreNetwork


@dataclass
class DiffusionConfig:
    """``sampler``/``steps``: how z0_hat is drawn (in training too); ``euler`` with 10 steps is the paper's."""

    beta_min: float = 0.05
    beta_max: float = 20.0
    steps: int = 10
    t_epsilon: float = 1e-5
    sampler: str = "euler"

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        SAMPLERS.check(self.sampler)


class MeanRevertingDiffusion(nn.Module):
    """Owns the score network; provides the training loss and the reverse-time samplers (``samplers``)."""

    def __init__(self, score_network: ScoreNetwork, config: DiffusionConfig | None = None) -> None:
        super().__init__()
        self.score_network = score_network
        self.config = config or DiffusionConfig()

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.config.beta_min, self.config.beta_max)

    def beta(self, t: torch.Tensor) -> torch.Tensor:
        return self.schedule.beta(t)

    def cumulative_beta(self, t: torch.Tensor) -> torch.Tensor:
        return self.schedule.integral(t)

    def marginal(self, x0: torch.Tensor, mu: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Sample x_t of the forward process given the Gaussian draw ``noise``."""
        cumulative = self.cumulative_beta(t)[:, None, None]
        mean = x0 * torch.exp(-0.5 * cumulative) + mu * (1.0 - torch.exp(-0.5 * cumulative))
        return mean + noise * torch.sqrt(1.0 - torch.exp(-cumulative))

    def loss(
        self,
        clean_fbank: torch.Tensor,
        x_hat: torch.Tensor,
        t: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Denoising score-matching loss; mu = x_hat is not detached, so it also trains the enhancer."""
        if t is None:
            t = torch.rand(clean_fbank.shape[0], dtype=clean_fbank.dtype, device=clean_fbank.device)
            t = t.clamp(self.config.t_epsilon, 1.0 - self.config.t_epsilon)
        if noise is None:
            noise = torch.randn_like(clean_fbank)
        x_t = self.marginal(clean_fbank, x_hat, t, noise)
        score = self.score_network(x_t, x_hat, t)
        std = torch.sqrt(1.0 - torch.exp(-self.cumulative_beta(t)))[:, None, None]
        return torch.mean((score * std + noise) ** 2)

    @torch.no_grad()
    def sample(
        self,
        x_hat: torch.Tensor,
        init_noise: torch.Tensor | None = None,
        steps: int | None = None,
        sampler: str | None = None,
    ) -> torch.Tensor:
        """z0_hat from x_hat + noise by the configured (or given) sampler, without gradient."""
        mu = x_hat.detach()
        if init_noise is None:
            init_noise = torch.randn_like(mu)
        sampler, steps = sampler or self.config.sampler, steps or self.config.steps
        return run_sampler(self.score_network, self.schedule, mu, init_noise, sampler, steps)

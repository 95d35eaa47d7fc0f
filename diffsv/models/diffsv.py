"""The assembled Diff-SV model and the paper's baseline, selected by configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from diffsv.models.diffusion import DiffusionConfig, MeanRevertingDiffusion
from diffsv.models.enhancer import EnhancerConfig, TransformerEnhancer
from diffsv.models.extractors import ExtractorConfig, build_extractor
from diffsv.models.frontend import FrontendConfig, LogMelFrontend
from diffsv.models.samplers import SAMPLERS
from diffsv.models.score_network import ScoreNetwork, ScoreNetworkConfig
from diffsv.models.se_resnet import SEResNetConfig


@dataclass
class ModelConfig:
    """``architecture: diffsv`` is the paper's model; ``baseline`` is its extractor on the noisy log-mel alone.
    ``extractor.type`` chooses the extractor (``diffsv.models.extractors``)."""

    architecture: Literal["diffsv", "baseline"] = "diffsv"
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    enhancer: EnhancerConfig = field(default_factory=EnhancerConfig)
    score_network: ScoreNetworkConfig = field(default_factory=ScoreNetworkConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    extractor: ExtractorConfig = field(default_factory=SEResNetConfig)


class DiffSV(nn.Module):
    """Front end -> enhancer prior x_hat -> diffusion refinement z0_hat -> extractor on [noisy, x_hat, z0_hat]."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ModelConfig()
        n_mels = config.frontend.n_mels
        self.frontend = LogMelFrontend(config.frontend)
        self.enhancer: TransformerEnhancer | None = None
        self.diffusion: MeanRevertingDiffusion | None = None
        if config.architecture == "diffsv":
            self.enhancer = TransformerEnhancer(n_mels, config.enhancer)
            self.diffusion = MeanRevertingDiffusion(ScoreNetwork(config.score_network), config.diffusion)
        in_channels = 3 if self.enhancer is not None else 1
        self.extractor = build_extractor(in_channels, n_mels, config.extractor)

    @property
    def embed_dim(self) -> int:
        return self.config.extractor.embed_dim

    def use_sampler(self, sampler: str | None = None, steps: int | None = None) -> None:
        """Draw z0 with ``sampler``/``steps`` from now on (None keeps the configured one); ValueError if unknown."""
        if sampler is not None:
            SAMPLERS.check(sampler)
        if steps is not None and steps < 1:
            raise ValueError(f"sampler steps must be at least 1, got {steps}")
        diffusion = self.config.diffusion
        diffusion.sampler = sampler if sampler is not None else diffusion.sampler
        diffusion.steps = steps if steps is not None else diffusion.steps

    def extractor_inputs(
        self, fbank: torch.Tensor, init_noise: torch.Tensor | None = None, steps: int | None = None
    ) -> tuple[torch.Tensor, ...]:
        """The feature maps the extractor stacks: (noisy,) or (noisy, x_hat, z0_hat)."""
        if self.enhancer is None or self.diffusion is None:
            return (fbank,)
        x_hat = self.enhancer(fbank)
        return fbank, x_hat, self.diffusion.sample(x_hat, init_noise, steps)

    def embed(
        self, wav: torch.Tensor, init_noise: torch.Tensor | None = None, steps: int | None = None
    ) -> torch.Tensor:
        """(B, N) waveform -> (B, embed_dim) embedding."""
        return self.extractor(*self.extractor_inputs(self.frontend(wav), init_noise, steps))


def count_parameters(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())

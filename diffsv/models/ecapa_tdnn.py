"""ECAPA-TDNN (Desplanques et al., Interspeech 2020): the other extractor speaker-verification results are
compared against, here taking the same stacked feature maps as the SE-ResNet.

Diff-SV's three inputs (noisy log-mel, prior x_hat, diffusion output z0_hat), each (B, F, T), are stacked
along the feature axis into one (B, 3F, T) input of the first 1-D convolution, the TDNN counterpart of the
SE-ResNet's three input channels: every filter of the first layer sees all three at every frame.

Layout as published: a k=5 convolution to ``channels``; three SE-Res2Blocks (1x1 conv, Res2Net k=3 conv of
``scale`` groups at dilation 2, 3, 4, 1x1 conv, squeeze-excitation, residual); the three blocks' outputs
concatenated into a 1x1 convolution of ``aggregation_channels`` (multi-layer feature aggregation);
attentive statistics pooling with global context; BatchNorm, a linear embedding, BatchNorm. With 80 mel
bins and a 192-dimensional embedding, channels 512 has 6.19 M parameters and channels 1024 14.66 M,
the paper's 6.2 M and 14.7 M.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn


@dataclass
class ECAPATDNNConfig:
    type: Literal["ecapa_tdnn"] = "ecapa_tdnn"
    channels: int = 512
    scale: int = 8
    dilations: tuple[int, ...] = (2, 3, 4)
    se_channels: int = 128
    aggregation_channels: int = 1536
    attention_channels: int = 128
    embed_dim: int = 192

    def __post_init__(self) -> None:
        if self.channels % self.scale:
            raise ValueError(f"channels ({self.channels}) must be divisible by scale ({self.scale})")
        if not self.dilations:
            raise ValueError("dilations must name at least one SE-Res2Block")


class ConvReluBn(nn.Sequential):
    """1-D convolution (same length) -> ReLU -> BatchNorm."""

    def __init__(self, channels_in: int, channels_out: int, kernel_size: int = 1, dilation: int = 1) -> None:
        padding = dilation * (kernel_size - 1) // 2
        super().__init__(
            nn.Conv1d(channels_in, channels_out, kernel_size, dilation=dilation, padding=padding),
            nn.ReLU(inplace=True),
            nn.BatchNorm1d(channels_out),
        )


class Res2Conv(nn.Module):
    """Res2Net convolution: the first of ``scale`` channel groups passes through; each later group adds the
    previous group's output before its own k=3 dilated convolution."""

    def __init__(self, channels: int, scale: int, dilation: int) -> None:
        super().__init__()
        width = channels // scale
        self.scale = scale
        self.convs = nn.ModuleList(ConvReluBn(width, width, 3, dilation) for _ in range(scale - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = torch.chunk(x, self.scale, dim=1)
        out = [groups[0]]
        previous = None
        for conv, group in zip(self.convs, groups[1:], strict=True):
            previous = conv(group if previous is None else group + previous)
            out.append(previous)
        return torch.cat(out, dim=1)


class SqueezeExcitation1d(nn.Module):
    def __init__(self, channels: int, bottleneck: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, bottleneck), nn.ReLU(inplace=True), nn.Linear(bottleneck, channels), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=2)).unsqueeze(2)


class SERes2Block(nn.Module):
    def __init__(self, channels: int, scale: int, dilation: int, se_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvReluBn(channels, channels),
            Res2Conv(channels, scale, dilation),
            ConvReluBn(channels, channels),
            SqueezeExcitation1d(channels, se_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ContextAttentiveStatsPooling(nn.Module):
    """Attentive mean and standard deviation over time whose attention also sees the utterance's global
    mean and standard deviation (ECAPA-TDNN's channel- and context-dependent pooling)."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.attention = nn.Sequential(
            nn.Conv1d(3 * channels, hidden, 1), nn.Tanh(), nn.Conv1d(hidden, channels, 1), nn.Softmax(dim=2)
        )

    @staticmethod
    def _statistics(x: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = torch.sum(x * weights, dim=2)
        std = torch.sqrt((torch.sum(x**2 * weights, dim=2) - mean**2).clamp(min=1e-5))
        return mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[2]
        mean, std = self._statistics(x, torch.full_like(x[:, :1], 1.0 / frames))
        context = torch.cat((x, mean.unsqueeze(2).expand_as(x), std.unsqueeze(2).expand_as(x)), dim=1)
        return torch.cat(self._statistics(x, self.attention(context)), dim=1)


class ECAPATDNNExtractor(nn.Module):
    """``in_channels`` stacked (B, F, T) feature maps -> (B, embed_dim) speaker embedding."""

    def __init__(self, in_channels: int, n_mels: int = 80, config: ECAPATDNNConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ECAPATDNNConfig()
        self.in_channels = in_channels
        self.stem = ConvReluBn(in_channels * n_mels, config.channels, kernel_size=5)
        self.blocks = nn.ModuleList(
            SERes2Block(config.channels, config.scale, dilation, config.se_channels) for dilation in config.dilations
        )
        self.aggregation = nn.Sequential(
            nn.Conv1d(len(config.dilations) * config.channels, config.aggregation_channels, 1), nn.ReLU(inplace=True)
        )
        self.pooling = ContextAttentiveStatsPooling(config.aggregation_channels, config.attention_channels)
        self.pooling_norm = nn.BatchNorm1d(2 * config.aggregation_channels)
        self.embedding = nn.Linear(2 * config.aggregation_channels, config.embed_dim)
        self.embedding_norm = nn.BatchNorm1d(config.embed_dim)

    def forward(self, *features: torch.Tensor) -> torch.Tensor:
        """Each feature is a (B, F, T) log-mel; they are stacked along F in the given order."""
        if len(features) != self.in_channels:
            raise ValueError(f"extractor takes {self.in_channels} feature maps, got {len(features)}")
        x = self.stem(torch.cat(features, dim=1))
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        x = self.aggregation(torch.cat(outputs, dim=1))
        return self.embedding_norm(self.embedding(self.pooling_norm(self.pooling(x))))

"""Half-width SE-ResNet34 speaker-embedding extractor with attentive statistics pooling: the paper's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn


@dataclass
class SEResNetConfig:
    """``blocks`` (3, 4, 6, 3) is ResNet34's depth; the mini recipe keeps the family at (1, 1, 1, 1)."""

    type: Literal["se_resnet34"] = "se_resnet34"
    channels: tuple[int, ...] = (16, 32, 64, 128)
    blocks: tuple[int, ...] = (3, 4, 6, 3)
    strides: tuple[int, ...] = (1, 2, 2, 1)
    stem_kernel_size: int = 7
    se_reduction: int = 8
    pooling_channels: int = 160
    embed_dim: int = 128

    def __post_init__(self) -> None:
        if not len(self.channels) == len(self.blocks) == len(self.strides):
            raise ValueError("extractor channels, blocks and strides must have the same length")


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction),
            nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=(2, 3)))[:, :, None, None]


class SEBasicBlock(nn.Module):
    """conv -> ReLU -> BN -> conv -> BN -> SE, plus shortcut, then ReLU (ReLU before the first BN)."""

    def __init__(self, channels_in: int, channels_out: int, stride: int, se_reduction: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.se = SqueezeExcitation(channels_out, se_reduction)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or channels_in != channels_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(channels_in, channels_out, 1, stride=stride, bias=False), nn.BatchNorm2d(channels_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn1(self.relu(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class AttentiveStatsPooling(nn.Module):
    """Attention-weighted mean and standard deviation over time, per channel."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.attention = nn.Sequential(
            nn.Conv1d(channels, hidden, 1),
            nn.ReLU(),
            nn.BatchNorm1d(hidden),
            nn.Conv1d(hidden, channels, 1),
            nn.Softmax(dim=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.attention(x)
        mean = torch.sum(x * weights, dim=2)
        std = torch.sqrt((torch.sum(x**2 * weights, dim=2) - mean**2).clamp(min=1e-5))
        return torch.cat((mean, std), dim=1)


class SEResNetExtractor(nn.Module):
    """(B, C, F, T) stacked log-mels -> (B, embed_dim) speaker embedding."""

    def __init__(self, in_channels: int, n_mels: int = 80, config: SEResNetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or SEResNetConfig()
        k = config.stem_kernel_size
        self.conv1 = nn.Conv2d(in_channels, config.channels[0], k, stride=(2, 1), padding=k // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(config.channels[0])
        self.relu = nn.ReLU(inplace=True)
        layers = []
        channels_in = config.channels[0]
        freq = (n_mels + 1) // 2
        for channels, blocks, stride in zip(config.channels, config.blocks, config.strides, strict=False):
            stage = [SEBasicBlock(channels_in, channels, stride, config.se_reduction)]
            stage += [SEBasicBlock(channels, channels, 1, config.se_reduction) for _ in range(blocks - 1)]
            layers.append(nn.Sequential(*stage))
            channels_in = channels
            freq = (freq - 1) // stride + 1
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        pooled = channels_in * freq
        self.pooling = AttentiveStatsPooling(pooled, config.pooling_channels)
        self.pooling_norm = nn.BatchNorm1d(2 * pooled)
        self.embedding = nn.Linear(2 * pooled, config.embed_dim)
        self.embedding_norm = nn.BatchNorm1d(config.embed_dim)

    def forward(self, *features: torch.Tensor) -> torch.Tensor:
        """Each feature is a (B, F, T) log-mel; they are stacked as input channels in the given order."""
        if len(features) != self.conv1.in_channels:
            raise ValueError(f"extractor takes {self.conv1.in_channels} feature maps, got {len(features)}")
        x = torch.stack(features, dim=1)
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = x.reshape(x.shape[0], -1, x.shape[-1])
        return self.embedding_norm(self.embedding(self.pooling_norm(self.pooling(x))))

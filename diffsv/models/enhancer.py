"""The prior network: a small post-norm transformer that maps a noisy log-mel to an enhanced one."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class EnhancerConfig:
    n_layers: int = 4
    n_heads: int = 2
    ffn_channels: int = 512
    ffn_kernel_size: int = 3
    dropout: float = 0.1
    #: Ours, off in the paper's configs: the prior is the noisy log-mel plus the network's output. The
    #: reference's prior is a LayerNorm output, normalised over mel bins per frame, which cannot follow
    #: the frame-to-frame level of the clean log-mel it is trained towards; a residual path can.
    residual: bool = False


class SelfAttention(nn.Module):
    """Multi-head self-attention with a residual and post-LayerNorm.

    Scores are scaled by sqrt(model width) rather than sqrt(head width), as the reference does.
    """

    def __init__(self, width: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        if width % n_heads:
            raise ValueError(f"enhancer width {width} is not divisible by {n_heads} heads")
        self.n_heads = n_heads
        self.scale = width**-0.5
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.out = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)
        self.attention_dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames, width = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, frames, self.n_heads, -1).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        attended = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attention_dropout if self.training else 0.0, scale=self.scale
        )
        attended = attended.transpose(1, 2).reshape(batch, frames, width)
        return self.norm(self.dropout(self.out(attended)) + x)


class ConvFeedForward(nn.Module):
    """Position-wise feed-forward made of two 1-D convolutions over time, residual, post-LayerNorm."""

    def __init__(self, width: int, channels: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(width, channels, kernel_size, padding=kernel_size // 2)
        self.conv2 = nn.Conv1d(channels, width, kernel_size, padding=kernel_size // 2)
        self.activation = nn.Mish()
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dropout(self.activation(self.conv1(x.transpose(1, 2))))
        h = self.dropout(self.conv2(h)).transpose(1, 2)
        return self.norm(h + x)


class TransformerBlock(nn.Module):
    def __init__(self, width: int, config: EnhancerConfig) -> None:
        super().__init__()
        self.attention = SelfAttention(width, config.n_heads, config.dropout)
        self.ffn = ConvFeedForward(width, config.ffn_channels, config.ffn_kernel_size, config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.attention(x))


class TransformerEnhancer(nn.Module):
    """(B, F, T) noisy log-mel -> (B, F, T) prior x_hat; no positional encoding, as in the reference."""

    def __init__(self, n_mels: int = 80, config: EnhancerConfig | None = None) -> None:
        super().__init__()
        config = config or EnhancerConfig()
        self.spectral = nn.Sequential(
            nn.Linear(n_mels, n_mels),
            nn.Mish(),
            nn.Dropout(config.dropout),
            nn.Linear(n_mels, n_mels),
            nn.Mish(),
            nn.Dropout(config.dropout),
        )
        self.blocks = nn.ModuleList(TransformerBlock(n_mels, config) for _ in range(config.n_layers))
        self.residual = config.residual

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        x = self.spectral(fbank.transpose(1, 2))
        for block in self.blocks:
            x = block(x)
        x = x.transpose(1, 2)
        return fbank + x if self.residual else x


def prior_loss(clean_fbank: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the clean log-mel and the enhancer's prior."""
    return F.mse_loss(x_hat, clean_fbank)

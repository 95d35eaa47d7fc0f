"""The score network s(x_t, mu, t): a small Grad-TTS-style 2-D U-Net over (mel, time).

Inputs whose frame count is not a multiple of the U-Net's total stride are zero-padded and masked the
way Grad-TTS masks variable lengths, then cropped back; other inputs take the unmasked fast path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ScoreNetworkConfig:
    width: int = 16
    multipliers: tuple[int, ...] = (1, 2, 4)
    groups: int = 8
    attention_heads: int = 4
    attention_head_channels: int = 32
    time_scale: float = 1000.0


def _masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return x if mask is None else x * mask


class SinusoidalTimeEmbedding(nn.Module):
    """t in [0, 1] -> [sin(scale t w_k), cos(scale t w_k)], w_k = 10000^(-k / (half - 1))."""

    def __init__(self, width: int, scale: float) -> None:
        super().__init__()
        half = width // 2
        frequencies = torch.exp(torch.arange(half).float() * -(math.log(10000) / (half - 1)))
        self.register_buffer("frequencies", frequencies, persistent=False)
        self.scale = scale

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        arg = self.scale * t.unsqueeze(1) * self.frequencies.unsqueeze(0)
        return torch.cat((arg.sin(), arg.cos()), dim=-1)


class ConvBlock(nn.Module):
    """3x3 convolution -> GroupNorm -> Mish."""

    def __init__(self, channels_in: int, channels_out: int, groups: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, 3, padding=1)
        self.norm = nn.GroupNorm(groups, channels_out)
        self.activation = nn.Mish()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return _masked(self.activation(self.norm(self.conv(_masked(x, mask)))), mask)


class ResnetBlock(nn.Module):
    """Two conv blocks with the time embedding added between them, and a (1x1-projected) shortcut."""

    def __init__(self, channels_in: int, channels_out: int, time_width: int, groups: int) -> None:
        super().__init__()
        self.time_proj = nn.Linear(time_width, channels_out)
        self.block1 = ConvBlock(channels_in, channels_out, groups)
        self.block2 = ConvBlock(channels_out, channels_out, groups)
        self.skip = nn.Conv2d(channels_in, channels_out, 1) if channels_in != channels_out else None
        self.time_activation = nn.Mish()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, time: torch.Tensor) -> torch.Tensor:
        h = self.block1(x, mask)
        h = h + self.time_proj(self.time_activation(time))[:, :, None, None]
        h = self.block2(h, mask)
        shortcut = _masked(x, mask) if self.skip is None else self.skip(_masked(x, mask))
        return h + shortcut


class RezeroLinearAttention(nn.Module):
    """x + g * LinearAttention(x), with the scalar gain g starting at zero ("rezero").

    LinearAttention(x) = W_o (context^T q) + b with q = W_q x, v = W_v x and
    context = softmax_positions(W_k x) v^T. Because q and v enter linearly, the whole map is
    M x + b with a per-example (C, C) matrix M = sum_heads W_o,h context_h^T W_q,h, and
    context_h = (softmax(k_h) x^T) W_v,h^T. Only k is ever materialised at full resolution, which
    makes the layer several times cheaper than forming q, k, v and the 128-channel output.
    """

    def __init__(self, channels: int, heads: int, head_channels: int) -> None:
        super().__init__()
        self.heads = heads
        hidden = heads * head_channels
        self.to_qkv = nn.Conv2d(channels, 3 * hidden, 1, bias=False)
        self.to_out = nn.Conv2d(hidden, channels, 1)
        self.gain = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        flat = x.reshape(batch, channels, height * width)
        w_q, w_k, w_v = self.to_qkv.weight.view(3, self.heads, -1, channels).unbind(0)
        keys = torch.bmm(w_k.reshape(1, -1, channels).expand(batch, -1, -1), flat).softmax(dim=-1)
        pooled = (keys @ flat.transpose(1, 2)).view(batch, self.heads, -1, channels)
        context = pooled @ w_v.transpose(1, 2)
        w_o = self.to_out.weight.view(channels, self.heads, -1).transpose(0, 1)
        mixing = torch.einsum("hoe,bhde,hdc->boc", w_o, context, w_q)
        out = torch.baddbmm(self.to_out.bias[None, :, None], mixing, flat)
        return x + out.view_as(x) * self.gain


class DownLevel(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, config: ScoreNetworkConfig, last: bool) -> None:
        super().__init__()
        self.res1 = ResnetBlock(channels_in, channels_out, config.width, config.groups)
        self.res2 = ResnetBlock(channels_out, channels_out, config.width, config.groups)
        self.attn = RezeroLinearAttention(channels_out, config.attention_heads, config.attention_head_channels)
        self.resample = None if last else nn.Conv2d(channels_out, channels_out, 3, stride=2, padding=1)


class UpLevel(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, config: ScoreNetworkConfig) -> None:
        super().__init__()
        self.res1 = ResnetBlock(2 * channels_out, channels_in, config.width, config.groups)
        self.res2 = ResnetBlock(channels_in, channels_in, config.width, config.groups)
        self.attn = RezeroLinearAttention(channels_in, config.attention_heads, config.attention_head_channels)
        self.resample = nn.ConvTranspose2d(channels_in, channels_in, 4, stride=2, padding=1)


class ScoreNetwork(nn.Module):
    """Estimates the score of x_t given the prior mean mu and time t; (B, F, T) in and out."""

    def __init__(self, config: ScoreNetworkConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ScoreNetworkConfig()
        width = config.width
        self.time_embedding = SinusoidalTimeEmbedding(width, config.time_scale)
        self.time_mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.Mish(), nn.Linear(4 * width, width))
        channels = [2, *(width * m for m in config.multipliers)]
        pairs = list(zip(channels[:-1], channels[1:], strict=False))
        self.down = nn.ModuleList(
            DownLevel(cin, cout, config, last=i == len(pairs) - 1) for i, (cin, cout) in enumerate(pairs)
        )
        deepest = channels[-1]
        self.mid_res1 = ResnetBlock(deepest, deepest, width, config.groups)
        self.mid_attn = RezeroLinearAttention(deepest, config.attention_heads, config.attention_head_channels)
        self.mid_res2 = ResnetBlock(deepest, deepest, width, config.groups)
        self.up = nn.ModuleList(UpLevel(cin, cout, config) for cin, cout in reversed(pairs[1:]))
        self.final_block = ConvBlock(width, width, config.groups)
        self.final_conv = nn.Conv2d(width, 1, 1)
        self.stride = 2 ** (len(pairs) - 1)

    def embed_time(self, t: torch.Tensor) -> torch.Tensor:
        """(B,) diffusion times -> (B, width) conditioning vector."""
        return self.time_mlp(self.time_embedding(t))

    def forward(self, x: torch.Tensor, mu: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        frames = x.shape[-1]
        pad = (-frames) % self.stride
        if x.shape[-2] % self.stride:
            raise ValueError(f"score network needs a mel count divisible by {self.stride}, got {x.shape[-2]}")
        mask = None
        if pad:
            x, mu = F.pad(x, (0, pad)), F.pad(mu, (0, pad))
            mask = torch.ones_like(x[:1, None, :1])  # (1, 1, 1, frames + pad), not a traced device constant
            mask[..., frames:] = 0
        out = self._unet(torch.stack([mu, x], 1), mask, self.embed_time(t))
        return out[..., :frames] if pad else out

    def _unet(self, x: torch.Tensor, mask: torch.Tensor | None, time: torch.Tensor) -> torch.Tensor:
        masks = [mask]
        skips = []
        for level in self.down:
            level_mask = masks[-1]
            x = level.res1(x, level_mask, time)
            x = level.res2(x, level_mask, time)
            x = level.attn(x)
            skips.append(x)
            if level.resample is not None:
                x = level.resample(_masked(x, level_mask))
                masks.append(None if level_mask is None else level_mask[..., ::2])
        x = self.mid_res1(x, masks[-1], time)
        x = self.mid_attn(x)
        x = self.mid_res2(x, masks[-1], time)
        for level in self.up:
            level_mask = masks.pop()
            x = torch.cat((x, skips.pop()), dim=1)
            x = level.res1(x, level_mask, time)
            x = level.res2(x, level_mask, time)
            x = level.attn(x)
            x = level.resample(_masked(x, level_mask))
        x = self.final_block(x, mask)
        return _masked(self.final_conv(_masked(x, mask)), mask).squeeze(1)

"""Waveform -> mean-normalised log-mel front end, exactly as the reference computes it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

from diffsv.data.frontend_config import FrontendConfig


class LogMelFrontend(nn.Module):
    """Pre-emphasis, Hamming-window mel spectrogram, log, per-utterance mean subtraction over time.

    Runs in float32 without gradient: it has no parameters and the log of near-silent bins is
    sensitive to reduced precision.
    """

    def __init__(self, config: FrontendConfig | None = None) -> None:
        super().__init__()
        self.config = config or FrontendConfig()
        c = self.config
        self.melspec = torchaudio.transforms.MelSpectrogram(
            sample_rate=c.sample_rate,
            n_fft=c.n_fft,
            win_length=c.win_length,
            hop_length=c.hop_length,
            f_min=c.f_min,
            f_max=c.f_max,
            n_mels=c.n_mels,
            window_fn=torch.hamming_window,
        )

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for a waveform of ``num_samples`` (centred STFT)."""
        return 1 + num_samples // self.config.hop_length

    @torch.no_grad()
    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """(B, N) float waveform -> (B, n_mels, 1 + N // hop) log-mel."""
        if wav.dim() != 2:
            raise ValueError(f"front end expects a (batch, samples) waveform, got shape {tuple(wav.shape)}")
        with torch.autocast(device_type=wav.device.type, enabled=False):
            wav = wav.to(self.melspec.spectrogram.window.dtype)
            padded = F.pad(wav.unsqueeze(1), (1, 0), mode="reflect").squeeze(1)
            emphasised = padded[:, 1:] - self.config.preemphasis * padded[:, :-1]
            mel = self.melspec(emphasised) + self.config.log_offset
            logmel = mel.log()
            return logmel - logmel.mean(dim=-1, keepdim=True)

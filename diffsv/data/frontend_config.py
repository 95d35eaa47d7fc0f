"""The front end's settings, shared by the data (how many frames a training crop makes, the draws of its
diffusion noise) and the models (the log-mel itself): here, so that data never imports models."""

from __future__ import annotations

from dataclasses import dataclass

from diffsv.data.audio_info import ANALYSIS_FRAME, SAMPLE_RATE


@dataclass
class FrontendConfig:
    sample_rate: int = SAMPLE_RATE
    n_fft: int = 512
    win_length: int = ANALYSIS_FRAME  # stage 1 refuses recordings shorter than this default
    hop_length: int = 160
    f_min: float = 20.0
    f_max: float = 7600.0
    n_mels: int = 80
    preemphasis: float = 0.97
    log_offset: float = 1e-6

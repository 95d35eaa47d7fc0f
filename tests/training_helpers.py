"""A tiny model configuration and an in-memory speaker dataset for fast training tests."""

from __future__ import annotations

import copy
import math

import torch
from torch.utils.data import Dataset

from diffsv.data.augment import AugmentationDraws
from diffsv.data.example_draws import diffusion_draws, example_generator, example_rng
from diffsv.models import ModelConfig
from diffsv.models.diffusion import DiffusionConfig
from diffsv.models.ecapa_tdnn import ECAPATDNNConfig
from diffsv.models.enhancer import EnhancerConfig
from diffsv.models.score_network import ScoreNetworkConfig
from diffsv.models.se_resnet import SEResNetConfig
from diffsv.training.config import DataConfig, ExperimentConfig, TrainingConfig
from diffsv.training.scheduler import SchedulerConfig

CROP = 3_200  # 21 frames: also exercises the score network's padding


TINY_EXTRACTORS = {
    "se_resnet34": SEResNetConfig(
        channels=(8, 8, 16, 16), blocks=(1, 1, 1, 1), se_reduction=4, embed_dim=16, pooling_channels=16
    ),
    "ecapa_tdnn": ECAPATDNNConfig(
        channels=16, scale=4, se_channels=8, aggregation_channels=32, attention_channels=8, embed_dim=16
    ),
}


def tiny_experiment(
    architecture: str = "diffsv", dropout: float = 0.0, extractor: str = "se_resnet34", **training
) -> ExperimentConfig:
    model = ModelConfig(
        architecture=architecture,
        enhancer=EnhancerConfig(n_layers=1, ffn_channels=32, dropout=dropout),
        score_network=ScoreNetworkConfig(width=8, multipliers=(1, 2), attention_head_channels=8),
        diffusion=DiffusionConfig(steps=2),
        extractor=copy.deepcopy(TINY_EXTRACTORS[extractor]),
    )
    return ExperimentConfig(
        model=model,
        data=DataConfig(crop_samples=CROP, batch_size=8, num_workers=0),
        scheduler=SchedulerConfig(base_lr=1e-3, peak_lr=3e-3, warmup_epochs=0.5, first_cycle_epochs=100.0),
        training=TrainingConfig(**{"epochs": 2, "log_interval": 1, **training}),
    )


class ToySpeakers(Dataset):
    """Each speaker is a harmonic tone at its own pitch; the noisy copy adds white noise, or with
    ``augment_on="device"`` the item carries the draws (a gain on odd items, a white-noise window mixed at
    5-15 dB) that the training device turns into the noisy copy."""

    def __init__(
        self,
        num_items: int = 32,
        num_speakers: int = 4,
        seed: int = 7,
        nan_items: tuple[int, ...] = (),
        augment_on: str = "loader",
    ):
        self.num_items = num_items
        self.num_speakers = num_speakers
        self.seed = seed
        self.nan_items = set(nan_items)
        self.augment_on = augment_on

    def __len__(self) -> int:
        return self.num_items

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        epoch, index = key
        generator = example_generator(self.seed, epoch, index)
        label = index % self.num_speakers
        time = torch.arange(CROP) / 16_000
        phase = float(torch.rand((), generator=generator)) * 2 * math.pi
        clean = sum(torch.sin(2 * math.pi * 110 * (label + 1) * k * time + phase) / k for k in (1, 2, 3)) * 0.1
        noisy = clean + 0.05 * torch.randn(CROP, generator=generator)
        if index in self.nan_items:
            noisy = torch.full_like(noisy, float("nan"))
        augmented: dict[str, object] = {"noisy": noisy}
        if self.augment_on == "device":
            rng = example_rng(self.seed, epoch, index)
            window = (0.05 * rng.standard_normal(CROP)).astype("float32")
            gain = float(rng.uniform(-6.0, 0.0)) if index % 2 else None
            snr = float(rng.uniform(5.0, 15.0))
            augmented = {"draws": AugmentationDraws(16_000, "noise", gain_db=gain, noises=[window], snr_db=snr)}
        return {
            **augmented,
            "clean": clean,
            "labels": torch.tensor(label),
            **diffusion_draws(generator, 80, 1 + CROP // 160, 1e-5),
        }

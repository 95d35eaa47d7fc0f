"""The reference's per-iteration learning-rate schedule: cosine annealing with warm restarts.

The authors' ``CosineAnnealingWarmUpRestarts``: each cycle rises linearly from base_lr to its peak
over ``warmup`` iterations, then follows half a cosine back down to base_lr. Cycle i peaks at
peak_lr * peak_decay**i. Only the cosine part grows: the next cycle lasts
``int((length - warmup) * cycle_mult + warmup)`` iterations, so the warm-up stays the same and int()
truncates (for the paper: 37,160 / 55,275 / 82,448 / 123,207 iterations, restarts at epochs 40, 99.50
and 188.25).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.optim.lr_scheduler import LRScheduler


@dataclass
class SchedulerConfig:
    base_lr: float = 1e-7
    peak_lr: float = 1e-2
    warmup_epochs: float = 1.0
    first_cycle_epochs: float = 40.0
    cycle_mult: float = 1.5
    peak_decay: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.warmup_epochs < self.first_cycle_epochs:
            raise ValueError(
                f"warmup_epochs ({self.warmup_epochs}) must be positive and shorter than first_cycle_epochs "
                f"({self.first_cycle_epochs})"
            )
        if self.cycle_mult < 1:
            raise ValueError("cycle_mult must be at least 1")


def warm_restart_lr(step: int, config: SchedulerConfig, steps_per_epoch: int) -> float:
    """Learning rate at iteration ``step`` (0-based)."""
    warmup = max(1, round(config.warmup_epochs * steps_per_epoch))
    cycle_length = max(warmup + 1, round(config.first_cycle_epochs * steps_per_epoch))
    position, cycle = step, 0
    while position >= cycle_length:
        position -= cycle_length
        cycle += 1
        cycle_length = int((cycle_length - warmup) * config.cycle_mult + warmup)
    peak = config.peak_lr * config.peak_decay**cycle
    if position < warmup:
        return config.base_lr + (peak - config.base_lr) * position / warmup
    progress = (position - warmup) / (cycle_length - warmup)
    return config.base_lr + (peak - config.base_lr) * (1 + math.cos(math.pi * progress)) / 2


class WarmRestartScheduler(LRScheduler):
    """``warm_restart_lr`` as a torch scheduler stepped once per iteration (its state is the step count)."""

    def __init__(self, optimizer: torch.optim.Optimizer, config: SchedulerConfig, steps_per_epoch: int) -> None:
        self.config = config
        self.steps_per_epoch = steps_per_epoch
        super().__init__(optimizer)

    def state_dict(self) -> dict:
        """Plain values only, so checkpoints load with ``weights_only=True``; the config comes from YAML."""
        return {k: v for k, v in super().state_dict().items() if k != "config"}

    def get_lr(self) -> list[float]:
        lr = warm_restart_lr(self.last_epoch, self.config, self.steps_per_epoch)
        return [lr for _ in self.optimizer.param_groups]

"""Every random draw of one training example, derived from (seed, epoch, index) alone: the crop offset and
augmentation (numpy), the diffusion loss's time and noise and the sampler's starting noise (torch). So the
draws do not depend on how examples are spread over processes and workers, and a resumed run repeats them.
"""

from __future__ import annotations

import numpy as np
import torch


def example_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A torch generator for one example's draws in one epoch, independent of process count and worker."""
    state = np.random.SeedSequence([seed, epoch, index]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)


def example_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The numpy counterpart of :func:`example_generator` (crop offset, augmentation), on its own stream."""
    return np.random.default_rng(np.random.SeedSequence([seed, epoch, index, 1]))


def diffusion_draws(generator: torch.Generator, n_mels: int, frames: int, t_epsilon: float) -> dict[str, torch.Tensor]:
    """The diffusion loss's time and noise and the sampler's starting noise for one example."""
    t = torch.rand((), generator=generator).clamp(t_epsilon, 1.0 - t_epsilon)
    return {
        "t": t,
        "loss_noise": torch.randn(n_mels, frames, generator=generator),
        "init_noise": torch.randn(n_mels, frames, generator=generator),
    }

"""Epoch-seeded batching that gives every process, and every accumulation step, a fixed slice of each
global batch, so N processes and one process accumulating N micro-batches see the same examples.

Seeing the same examples is not computing the same step: the extractor's batch normalisation takes its
statistics over what one forward pass holds. On the CPU (gloo, no SyncBatchNorm) a process's micro-batch is
normalised alone, so N processes compute what one process accumulating N micro-batches computes (the
losses to float rounding; tests/test_training.py checks it). On GPUs the trainer converts batch norm to
SyncBatchNorm, whose statistics span the global batch: N GPU processes then compute what one process
given the whole batch at once (``grad_accumulation: 1``) computes, and differ from accumulation by the
batch-norm statistics of smaller batches. Only a GPU can check that equality (bench/gpu_check.py does).
Both equalities hold without dropout: the enhancer's dropout draws from each process's generator, not from
the example, so with dropout (the paper's 0.1) the runs agree in distribution only.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields micro-batches of ``(epoch, index)`` pairs; the dataset seeds each example's draws from both.

    An epoch is a permutation of the items seeded by ``seed + epoch``, cut into global batches of
    ``batch_size`` (a partial last batch is dropped). Rank r of ``world_size`` takes the r-th equal slice of
    each global batch and splits it into ``accumulation`` micro-batches.
    """

    def __init__(
        self,
        num_items: int,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        accumulation: int = 1,
    ) -> None:
        if batch_size % (world_size * accumulation):
            raise ValueError(
                f"batch size {batch_size} is not divisible by "
                f"{world_size} processes x {accumulation} accumulation steps"
            )
        if num_items < batch_size:
            raise ValueError(f"{num_items} training examples are fewer than one batch of {batch_size}")
        self.num_items = num_items
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.accumulation = accumulation
        self.micro_batch = batch_size // (world_size * accumulation)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def steps_per_epoch(self) -> int:
        """Optimiser steps (global batches) per epoch."""
        return self.num_items // self.batch_size

    def __len__(self) -> int:
        return self.steps_per_epoch * self.accumulation

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.num_items, generator=generator).tolist()
        per_rank = self.batch_size // self.world_size
        for step in range(self.steps_per_epoch):
            start = step * self.batch_size + self.rank * per_rank
            for micro in range(self.accumulation):
                lo = start + micro * self.micro_batch
                yield [(self.epoch, index) for index in order[lo : lo + self.micro_batch]]

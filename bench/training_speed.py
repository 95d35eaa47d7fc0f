"""Training throughput (crops/s) of the paper's model: one optimiser step per batch, fp32 against bf16.

A step is what the trainer does per batch -- front end, enhancer, diffusion loss, the 10-step sampler,
extractor, AAM-softmax, backward and Adam -- on synthetic 2 s crops (data loading runs in DataLoader
workers in parallel and is not timed). The baseline measured in the same run is fp32; the spec quotes
22-26 s per 16-crop step for the authors' code on these 2-core machines (0.6-0.7 crops/s).

    tools/venv/bin/python bench/training_speed.py [--device cpu|cuda] [--batch 8] [--steps 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from diffsv.data.example_draws import diffusion_draws
from diffsv.models import DiffSV
from diffsv.training.config import LossConfig
from diffsv.training.objective import Batch, TrainingObjective

CROP = 31_920


def synthetic_batch(size: int, device: torch.device) -> Batch:
    generator = torch.Generator().manual_seed(0)
    draws = [diffusion_draws(generator, 80, 1 + CROP // 160, 1e-5) for _ in range(size)]
    clean = 0.1 * torch.randn(size, CROP, generator=generator)
    return Batch(
        noisy=clean + 0.05 * torch.randn(size, CROP, generator=generator),
        clean=clean,
        labels=torch.arange(size) % 10,
        **{name: torch.stack([d[name] for d in draws]) for name in draws[0]},
    ).to(device)


def crops_per_second(device: torch.device, batch_size: int, steps: int, bf16: bool, compiled: bool = False) -> float:
    """Crops per second of full optimiser steps; ``compiled`` runs the forward pass through torch.compile (its
    compilation is the warm-up step, not timed)."""
    torch.manual_seed(0)
    objective = TrainingObjective(DiffSV(), num_speakers=1211, config=LossConfig()).to(device)
    optimizer = torch.optim.Adam(objective.parameters(), lr=1e-3, amsgrad=True, weight_decay=1e-4)
    forward = torch.compile(objective) if compiled else objective
    batch = synthetic_batch(batch_size, device)
    times = []
    for _ in range(steps + 1):  # the first step warms up allocators and kernels
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = forward(batch, "joint")["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return batch_size / (sum(times[1:]) / steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"training step of the paper's model, batch {args.batch} x 2 s crops on {device}, {args.steps} steps")
    fp32 = crops_per_second(device, args.batch, args.steps, bf16=False)
    print(f"  fp32 {fp32:8.2f} crops/s  (baseline)")
    bf16 = crops_per_second(device, args.batch, args.steps, bf16=True)
    print(f"  bf16 {bf16:8.2f} crops/s  ratio {bf16 / fp32:4.2f}x vs fp32")


if __name__ == "__main__":
    main()

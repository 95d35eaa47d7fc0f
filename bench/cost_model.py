"""What the paper's scale costs on GPUs: GPU-hours of its training (320 epochs of VoxCeleb1) and of its
evaluation protocol (21 conditions of 4,874 test utterances, 4 x 10 s segments, 10 score-network evaluations),
on 1 and 4 GPUs, and which dominates; and how many loader cores a GPU needs with the augmentation in the
loader (``data.augment_on: loader``) or on the GPU (``device``), at the per-core rates
``bench/data_loading.py`` measured, and what a GPU fed by 8 cores trains at in each mode.

    tools/venv/bin/python bench/cost_model.py [--crops-per-second R] [--utterances-per-second U]
        [--loader-rate L] [--device-mode-loader-rate D]

Until ``bench/gpu_check.sh`` has measured a GPU, the rates are *projected*: the floating-point work of one
training crop and of one test utterance of the paper's model is counted here (PyTorch's FLOP counter,
forward and backward for training) and divided into each device's published dense bf16 throughput at an
assumed utilisation. Give the GPU check's measured rates with the options and the table uses them instead.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
from training_speed import synthetic_batch

from diffsv.embedding import Embedder
from diffsv.embedding_segments import SegmentConfig
from diffsv.models import DiffSV
from diffsv.training.config import LossConfig
from diffsv.training.objective import TrainingObjective

TRAIN_UTTERANCES = 148_642  # VoxCeleb1 dev: one crop per utterance per epoch
EPOCHS = 320
UTTERANCE_CONDITIONS = 21 * 4_874  # the clean test set and 20 noisy copies
#: Published dense bf16 tensor throughput (TFLOP/s, without sparsity) of common training GPUs.
DEVICES = {"A100": 312.0, "H100 SXM": 989.0}
#: Shares of that peak a model of small convolutions and a 10-step sampler may reach: a pessimistic and an
#: optimistic guess, until a GPU has been measured.
UTILISATIONS = (0.10, 0.25)
#: The same work measured on 2 CPU cores of this project (docs/speed-and-cost.md): crops/s and s per test utterance.
CPU_CROPS_PER_SECOND = 2.85
CPU_SECONDS_PER_UTTERANCE = 13.7
#: Crops/s of one loader process (bench/data_loading.py, crop windows, docs/speed-and-cost.md): with the
#: augmentation's arithmetic in the loader, and with only its draws and reads there (augment_on: device).
LOADER_RATE = 162.9
DEVICE_MODE_LOADER_RATE = 1247.7
FED_CORES = 8


def training_flops_per_crop() -> float:
    """Forward and backward FLOPs of one training crop of the paper's model (a batch of 2, halved)."""
    objective = TrainingObjective(DiffSV(), num_speakers=1211, config=LossConfig())
    batch = synthetic_batch(2, torch.device("cpu"))
    with FlopCounterMode(display=False) as counter:
        objective(batch, "joint")["loss"].backward()
    return counter.get_total_flops() / 2


def embedding_flops_per_utterance() -> float:
    """FLOPs of one test utterance under the paper's protocol (4 segments of 159,920 samples, 10 Euler steps)."""
    embedder = Embedder(DiffSV().eval(), torch.device("cpu"), SegmentConfig(), batch_size=4)
    samples = (0.1 * np.random.default_rng(0).standard_normal(8 * 16_000)).astype(np.float32)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        list(embedder.embed([("u", samples)]))
    return counter.get_total_flops()


def projected_rate(flops: float, tflops: float, utilisation: float) -> float:
    return tflops * 1e12 * utilisation / flops


def hours(work: int, rate: float) -> float:
    return work / rate / 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crops-per-second", type=float, help="a GPU's measured training rate (bf16, batch 40)")
    parser.add_argument("--utterances-per-second", type=float, help="a GPU's measured stage-5 rate")
    parser.add_argument("--device-name", default="measured GPU", help="what the measured rates were measured on")
    parser.add_argument("--loader-rate", type=float, default=LOADER_RATE, help="crops/s per core, augment_on: loader")
    parser.add_argument(
        "--device-mode-loader-rate", type=float, default=DEVICE_MODE_LOADER_RATE, help="the same, augment_on: device"
    )
    args = parser.parse_args()
    train_flops, embed_flops = training_flops_per_crop(), embedding_flops_per_utterance()
    crops, utterances = TRAIN_UTTERANCES * EPOCHS, UTTERANCE_CONDITIONS
    print(
        f"counted: {train_flops / 1e9:.1f} GFLOP per training crop, {embed_flops / 1e12:.2f} TFLOP per test utterance"
    )
    print(f"work: {crops:,} training crops ({EPOCHS} epochs), {utterances:,} test utterance-conditions")
    rows = [
        ("2 CPU cores (measured)", CPU_CROPS_PER_SECOND, 1 / CPU_SECONDS_PER_UTTERANCE),
        *(
            (
                f"{name}, {tflops:.0f} TFLOP/s bf16 (projected at {share:.0%})",
                *(projected_rate(flops, tflops, share) for flops in (train_flops, embed_flops)),
            )
            for name, tflops in DEVICES.items()
            for share in UTILISATIONS
        ),
    ]
    if args.crops_per_second and args.utterances_per_second:
        rows.append((f"{args.device_name} (measured)", args.crops_per_second, args.utterances_per_second))
    print(
        "\n| device | training crops/s | test utt/s | training, device-hours | evaluation, device-hours "
        "| on 1 device, days | on 4 devices, days | evaluation share |\n|---|---|---|---|---|---|---|---|"
    )
    for name, crop_rate, utt_rate in rows:
        train_hours, eval_hours = hours(crops, crop_rate), hours(utterances, utt_rate)
        total = train_hours + eval_hours
        print(
            f"| {name} | {crop_rate:.1f} | {utt_rate:.2f} | {train_hours:,.0f} | {eval_hours:,.1f} | "
            f"{total / 24:,.1f} | {total / 24 / 4:,.1f} | {eval_hours / total:.1%} |"
        )
    loaders = {"loader": args.loader_rate, "device": args.device_mode_loader_rate}
    print(
        f"\n| device | training crops/s | loader cores needed, augment_on: loader ({args.loader_rate:.0f} crops/s "
        f"each) | augment_on: device ({args.device_mode_loader_rate:.0f} each) | crops/s fed by {FED_CORES} cores, "
        f"loader | device | training days fed by {FED_CORES} cores, loader | device |\n" + "|---" * 8 + "|"
    )
    for name, crop_rate, _ in rows[1:]:
        fed = {mode: min(crop_rate, FED_CORES * rate) for mode, rate in loaders.items()}
        print(
            f"| {name} | {crop_rate:.0f} | {math.ceil(crop_rate / loaders['loader'])} | "
            f"{math.ceil(crop_rate / loaders['device'])} | {fed['loader']:.0f} | {fed['device']:.0f} | "
            f"{hours(crops, fed['loader']) / 24:.2f} | {hours(crops, fed['device']) / 24:.2f} |"
        )


if __name__ == "__main__":
    main()

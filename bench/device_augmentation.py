"""Augmentation on the training device (``data.augment_on: device``) against in the loader (``loader``, the
baseline), in one run:

1. the arithmetic alone: crops/s of :func:`diffsv.data.batch_augment.augment_batch` on batches of 32 and 160
   against :meth:`diffsv.data.augment.Augmenter.apply` crop by crop, on the same crops and draws, and the
   bytes of draws (MUSAN windows, RIRs, white noise) a batch carries from the loader;
2. training end to end with the demo's configs (``egs/mini_diffsv/conf``): crops/s of the real Trainer over
   the same examples in both modes, and the peak resident memory of the training process and of its
   largest loader worker (each configuration and mode runs in a process of its own).

    tools/venv/bin/python bench/device_augmentation.py [--device cpu|cuda] [--threads 1] [--crops 320]
        [--train-crops 320]

The corpus and noise pools are bench/data_loading.py's (VoxCeleb1-like lengths, MUSAN's published layout).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from data_loading import dataset, musan_like_pools, voxceleb_like_corpus

from diffsv.config import load_config
from diffsv.data.augment import Augmenter
from diffsv.data.batch_augment import augment_batch, collate_draws
from diffsv.data.speaker_crops import SpeakerCrops
from diffsv.models import DiffSV
from diffsv.training.config import ExperimentConfig
from diffsv.training.objective import TrainingObjective
from diffsv.training.trainer import ProcessContext, Trainer

DEMO_CONFIGS = Path(__file__).resolve().parents[1] / "egs" / "mini_diffsv" / "conf"


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def arithmetic_rates(
    crops: SpeakerCrops, count: int, device: torch.device, sizes: tuple[int, ...] = (32, 160)
) -> dict[str, Any]:
    """Crops/s of the per-crop arithmetic (on the CPU, as a loader worker does it) and of the batched one on
    ``device`` for each batch size, with the MB of draws a batch carries and the largest relative RMS error."""
    items = [crops[(0, index % len(crops))] for index in range(count)]
    clean = [item["clean"].numpy() for item in items]
    draws = [item["draws"] for item in items]
    start = time.perf_counter()
    per_crop = [Augmenter.apply(crop, d) for crop, d in zip(clean, draws, strict=True)]
    rates: dict[str, Any] = {"per_crop": count / (time.perf_counter() - start), "batched": {}}
    for size in (size for size in sizes if size <= count):
        batches = [
            (np.stack(clean[k : k + size]), collate_draws(draws[k : k + size], clean[0].shape[0]))
            for k in range(0, count - size + 1, size)
        ]
        moved = [(torch.from_numpy(c).to(device), d.to(device)) for c, d in batches]
        augment_batch(*moved[0])  # warm-up: FFT plans, kernels
        synchronise(device)
        start = time.perf_counter()
        noisy = [augment_batch(c, d) for c, d in moved]
        synchronise(device)
        rate = len(moved) * size / (time.perf_counter() - start)
        expected = torch.from_numpy(np.stack(per_crop[: len(moved) * size])).double()
        made = torch.cat(noisy).double().cpu()
        error = float(((made - expected).square().mean(-1).sqrt() / expected.square().mean(-1).sqrt()).max())
        rates["batched"][size] = (rate, np.mean([d.nbytes() for _, d in batches]) / 2**20, error)
    return rates


def print_arithmetic_rates(crops: SpeakerCrops, count: int, device: torch.device) -> None:
    rates = arithmetic_rates(crops, count, device)
    print(
        f"\n| {count} crops, batched on {device}, {torch.get_num_threads()} torch threads | crops/s | against per "
        "crop | MB of draws per batch | largest relative RMS error |\n|---|---|---|---|---|"
    )
    print(f"| per crop on the CPU, Augmenter.apply (baseline) | {rates['per_crop']:.1f} | 1.00x | - | - |")
    for size, (rate, megabytes, error) in rates["batched"].items():
        print(
            f"| batched, {size} crops | {rate:.1f} | {rate / rates['per_crop']:.2f}x | {megabytes:.1f} | {error:.1e} |"
        )


def train_once(config_name: str, augment_on: str, crops: int, directory: Path) -> dict[str, float]:
    """Crops/s of the Trainer over ``crops`` examples (one epoch) and the peak memory, in this process."""
    config: ExperimentConfig = load_config(DEMO_CONFIGS / f"{config_name}.yaml", ExperimentConfig)
    config.data.augment_on = augment_on
    config.training.epochs = 1
    train = voxceleb_like_corpus(directory / "train", crops)
    data = dataset(train, musan_like_pools(directory), augment_on)
    torch.manual_seed(0)
    objective = TrainingObjective(DiffSV(config.model), len(set(train.utt2spk.values())), config.loss)
    trainer = Trainer(config, objective, data, directory / "exp", "joint", ProcessContext(), show_progress=False)
    Path("/proc/self/clear_refs").write_text("5")  # the peak below is the training's, not the corpus making's
    start = time.perf_counter()
    records = trainer.run()
    seconds = time.perf_counter() - start
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {
        "crops_per_second": len(records) * config.data.batch_size / seconds,
        "main_peak_mb": int(status["VmHWM"].split()[0]) / 1024,
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "workers": trainer.num_workers,
    }


def training_rates(train_crops: int) -> None:
    print(
        f"\n| demo config | augment_on | Trainer crops/s ({train_crops} crops, one epoch) | against loader | "
        "peak RSS MB, training process | peak RSS MB, largest loader worker (with the pages it shares) |\n"
        "|---|---|---|---|---|---|"
    )
    for name in ("baseline", "diffsv"):
        results = {}
        for mode in ("loader", "device"):
            command = [sys.executable, __file__, "--train-one", name, mode, "--train-crops", str(train_crops)]
            results[mode] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        for mode, result in results.items():
            ratio = result["crops_per_second"] / results["loader"]["crops_per_second"]
            print(
                f"| {name} ({result['workers']} workers) | {mode} | {result['crops_per_second']:.2f} | "
                f"{ratio:.2f}x | {result['main_peak_mb']:.0f} | {result['worker_peak_mb']:.0f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--crops", type=int, default=320, help="crops for the arithmetic rates")
    parser.add_argument("--train-crops", type=int, default=320, help="crops of the training epoch (0: skip it)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the arithmetic rates")
    parser.add_argument("--train-one", nargs=2, metavar=("CONFIG", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.train_one:
            print(json.dumps(train_once(*args.train_one, args.train_crops, Path(tmp))))
            return
        torch.set_num_threads(args.threads)
        crops = dataset(voxceleb_like_corpus(Path(tmp) / "train", 200), musan_like_pools(Path(tmp)), "device")
        print_arithmetic_rates(crops, args.crops, torch.device(args.device))
    if args.train_crops:
        training_rates(args.train_crops)


if __name__ == "__main__":
    main()

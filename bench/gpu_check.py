"""One GPU check: the rates that decide what the paper's scale costs, measured on the device in minutes.

    bench/gpu_check.sh                      # installs what it needs, then runs this on the first CUDA GPU
    python bench/gpu_check.py --device cpu --quick    # the same code on the CPU with tiny sizes (a smoke run)

Prints one table: training crops/s of the paper's model at batch 40 (fp32, bf16, and bf16 under
torch.compile) with peak GPU memory; stage 5's embedding rate (utterances/s of 4 x 10 s segments, 10 Euler
steps and 1 Heun step, fp32 and bf16); the data loader's crops/s (full augmentation, VoxCeleb-like
utterance lengths of 4-145 s, mean about 8 s) with N workers against what one GPU consumes; and one
DDP step of two processes sharing the GPU (gloo). Every figure is measured in this run.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from data_loading import dataset, loader_rate, musan_like_pools, voxceleb_like_corpus
from training_speed import crops_per_second, synthetic_batch

from diffsv.embedding import Embedder
from diffsv.embedding_segments import SegmentConfig
from diffsv.models import DiffSV
from diffsv.training.config import LossConfig
from diffsv.training.objective import TrainingObjective

SAMPLE_RATE = 16_000
CROP = 31_920


def timed(function: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    function()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def peak_memory(device: torch.device) -> str:
    return f"{torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB" if device.type == "cuda" else "-"


def training_rows(device: torch.device, batch: int, steps: int, compile_too: bool) -> list[tuple[str, str, str]]:
    """``compile_too``: also under torch.compile (on a CPU its C++ compilation alone takes over ten minutes)."""
    variants = [("fp32", False, False), ("bf16", True, False)] + [("bf16, torch.compile", True, True)] * compile_too
    rows = []
    for name, bf16, compiled in variants:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        try:
            rate = crops_per_second(device, batch, steps, bf16, compiled)
            rows.append((f"training, batch {batch}, {name}", f"{rate:.1f} crops/s", f"peak {peak_memory(device)}"))
        except Exception as exc:  # torch.compile may be unavailable (no compiler): say so and go on
            rows.append((f"training, batch {batch}, {name}", "failed", f"{type(exc).__name__}: {exc}"[:80]))
    return rows


def embedding_rows(device: torch.device, utterances: int, segment_samples: int) -> list[tuple[str, str, str]]:
    model = DiffSV().eval()
    rng = np.random.default_rng(0)
    audio = [
        (f"u{k}", (0.1 * rng.standard_normal(segment_samples + 8000)).astype(np.float32)) for k in range(utterances)
    ]
    rows = []
    for sampler, steps in (("euler", 10), ("heun", 1)):
        model.use_sampler(sampler, steps)
        for precision in ("fp32", "bf16"):
            embedder = Embedder(model, device, SegmentConfig(4, segment_samples), 256, precision=precision)
            list(embedder.embed(iter(audio[:2])))  # warm-up
            seconds = timed(lambda e=embedder: list(e.embed(iter(audio))), device)
            rows.append(
                (f"stage 5, {sampler} {steps}, {precision}", f"{utterances / seconds:.2f} utt/s", "4 x 10 s each")
            )
    return rows


def loader_rows(directory: Path, files: int, workers: list[int], consumption: float) -> list[tuple[str, str, str]]:
    train = voxceleb_like_corpus(directory / "train", files)
    crops = dataset(train, musan_like_pools(directory), augment=True)
    rows = []
    for count in workers:
        rate = loader_rate(crops, count, 40)
        needed = math.ceil(consumption / rate * max(count, 1)) if rate else 0
        rows.append((f"data loader, {count} workers", f"{rate:.1f} crops/s", f"one GPU at bf16 needs ~{needed}"))
    return rows


def _ddp_worker(rank: int, port: int, device: str, batch: int, result: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    target = torch.device(device)
    objective = TrainingObjective(DiffSV(), num_speakers=1211, config=LossConfig()).to(target)
    model = torch.nn.parallel.DistributedDataParallel(objective, device_ids=[0] if target.type == "cuda" else None)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    data = synthetic_batch(batch, target)
    times = []
    for _ in range(3):

        def step() -> None:
            model(data, "joint")["loss"].backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        times.append(timed(step, target))
    if rank == 0:
        result["seconds"] = min(times[1:])
    dist.destroy_process_group()


def ddp_rows(device: torch.device, batch: int) -> list[tuple[str, str, str]]:
    with mp.Manager() as manager:
        result = manager.dict()
        try:
            mp.spawn(_ddp_worker, args=(29533, str(device), batch // 2, result), nprocs=2, join=True)
            return [
                ("DDP, 2 processes on one device (gloo)", f"{batch / result['seconds']:.1f} crops/s", f"batch {batch}")
            ]
        except Exception as exc:
            return [("DDP, 2 processes on one device (gloo)", "failed", f"{type(exc).__name__}: {exc}"[:80])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and no torch.compile: a smoke run of this script on a CPU"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU here: nothing checked")
        return
    batch, steps, utterances, files, workers = (4, 1, 2, 8, [0, 2]) if args.quick else (40, 5, 32, 300, [1, 4, 8])
    segment_samples = 16_000 if args.quick else 159_920
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"gpu_check: {name}, torch {torch.__version__}")
    rows = training_rows(device, batch, steps, compile_too=not args.quick)
    rows += embedding_rows(device, utterances, segment_samples)
    consumption = float(rows[1][1].split()[0]) if rows[1][1] != "failed" else 0.0
    with tempfile.TemporaryDirectory() as directory:
        rows += loader_rows(Path(directory), files, workers, consumption)
    rows += ddp_rows(device, batch)
    width = max(len(row[0]) for row in rows)
    print(f"| {'measurement':<{width}} | rate | note |\n|{'-' * (width + 2)}|---|---|")
    for what, rate, note in rows:
        print(f"| {what:<{width}} | {rate} | {note} |")


if __name__ == "__main__":
    main()

"""The training loop: epochs of optimiser steps, validation, atomic per-epoch checkpoints, exact resume.

A run killed at any point and restarted with the same command continues from the last complete epoch
checkpoint and produces the same losses as an uninterrupted run: the data order and every per-example
draw derive from (seed, epoch, index), and the checkpoint holds the optimiser, scheduler and RNG states.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from diffsv.config import to_dict
from diffsv.data.batch_augment import collate_draws
from diffsv.experiment import Experiment
from diffsv.training.checkpoint import (
    epoch_checkpoints,
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from diffsv.training.config import ExperimentConfig
from diffsv.training.objective import Batch, Phase, TrainingObjective
from diffsv.training.sampler import EpochBatchSampler
from diffsv.training.scheduler import WarmRestartScheduler
from diffsv.utils.arithmetic import float32_arithmetic
from diffsv.utils.checkpoint import load_state_dict_strict
from diffsv.utils.fileio import atomic_open

Validator = Callable[[torch.nn.Module], dict[str, float]]


class TrainingDiverged(RuntimeError):
    """Too many consecutive optimiser steps had a non-finite loss or gradient."""


@dataclass
class ProcessContext:
    """Where this process sits in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    local_world_size: int = 1  # processes on this node, which share its CPUs

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_process_context(device: str = "auto") -> ProcessContext:
    """Join the process group torchrun describes in the environment (RANK, WORLD_SIZE, LOCAL_RANK)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world_size = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    target = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(target)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return ProcessContext(rank, world_size, target, local_world_size)


def available_cpus() -> int:
    """The CPUs this process may run on (a Slurm or cgroup CPU set, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def data_workers(setting: int | str, local_world_size: int, cpus: int | None = None) -> int:
    """Data-loader worker processes per training process: ``setting`` itself, or for ``auto`` this
    process's share of the CPUs less one for the process itself (0: it loads its own batches)."""
    if setting != "auto":
        return int(setting)
    cpus = available_cpus() if cpus is None else cpus
    return max(0, cpus // max(1, local_world_size) - 1)


def collate(items: list[dict[str, Any]]) -> Batch:
    """Stack the items' tensors; items that carry augmentation draws give the batch its packed draws."""
    tensors = {name: torch.stack([item[name] for item in items]) for name in items[0] if name != "draws"}
    if "draws" in items[0]:
        draws = collate_draws([item["draws"] for item in items], tensors["clean"].shape[-1])
        return Batch(noisy=None, **tensors, augmentation=draws)
    return Batch(**tensors)


class Trainer:
    """Runs one phase (``pretrain`` or ``joint``) of an experiment into ``exp_dir / phase``."""

    def __init__(
        self,
        config: ExperimentConfig,
        objective: TrainingObjective,
        dataset: Dataset,
        exp_dir: str | Path,
        phase: Phase,
        context: ProcessContext | None = None,
        validator: Validator | None = None,
        show_progress: bool = True,
    ) -> None:
        self.config = config
        self.phase = phase
        self.context = context = context or ProcessContext()
        self.directory = Experiment(exp_dir).phase_dir(phase)
        self.validator = validator
        self.epochs = config.training.epochs if phase == "joint" else config.training.pretrain_epochs
        self.objective = objective.to(context.device)
        if context.distributed and context.device.type == "cuda":  # statistics of the global batch (sampler.py)
            self.objective = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.objective)
        self.module: torch.nn.Module = self.objective
        if context.distributed:
            device_ids = [context.device.index] if context.device.type == "cuda" else None
            self.module = DistributedDataParallel(
                self.objective, device_ids=device_ids, find_unused_parameters=phase == "pretrain"
            )
        training = config.training
        self.sampler = EpochBatchSampler(
            len(dataset),
            config.data.batch_size,
            training.seed,
            context.rank,
            context.world_size,
            training.grad_accumulation,
        )
        self.num_workers = data_workers(config.data.num_workers, context.local_world_size)
        self.loader = DataLoader(
            dataset,
            batch_sampler=self.sampler,
            num_workers=self.num_workers,
            collate_fn=collate,
            pin_memory=context.device.type == "cuda",
            persistent_workers=False,
            # Each worker holds at most two finished batches (with augment_on: device, a batch of 160 carries
            # about 50 MB of noise windows besides its crops).
            prefetch_factor=2 if self.num_workers else None,
        )
        self.optimizer = torch.optim.Adam(
            self.objective.parameters(),
            lr=config.scheduler.peak_lr,
            weight_decay=config.optimizer.weight_decay,
            amsgrad=config.optimizer.amsgrad,
        )
        self.scheduler = WarmRestartScheduler(self.optimizer, config.scheduler, self.sampler.steps_per_epoch)
        self.epoch = 0
        self.step = 0
        self.skipped_steps = 0
        self.consecutive_skips = 0
        self.show_progress = show_progress and context.is_main
        self.log = self._logger()
        self.writer = self._summary_writer()

    def _logger(self) -> logging.Logger:
        logger = logging.getLogger(f"diffsv.train.{self.directory}")
        logger.setLevel(logging.INFO)
        if self.context.is_main and not logger.handlers:
            self.directory.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(self.directory / "train.log")
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            logger.addHandler(handler)
        return logger

    def _summary_writer(self) -> Any:
        if not self.context.is_main:
            return None
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(str(self.directory / "tensorboard"))

    def resume(self) -> None:
        """Continue from the newest epoch checkpoint of this phase, if any."""
        checkpoints = epoch_checkpoints(self.directory)
        if not checkpoints:
            return
        state = load_checkpoint(checkpoints[-1])
        load_state_dict_strict(self.objective.model, state["model"], str(checkpoints[-1]))
        load_state_dict_strict(self.objective.head, state["head"], f"{checkpoints[-1]} (classifier head)")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        restore_rng_state(state["rng"], self.context.device)
        self.epoch, self.step, self.skipped_steps = state["epoch"], state["step"], state["skipped_steps"]
        self.consecutive_skips = state.get("consecutive_skips", 0)
        if self.context.is_main:
            # A run killed between writing the checkpoint and validation.json gets the epoch's entry back.
            self._record_validation(state["validation"])
        self.log.info("resumed from %s (epoch %d, step %d)", checkpoints[-1], self.epoch, self.step)

    def run(self, until_epoch: int | None = None) -> list[dict[str, float]]:
        """Train the remaining epochs (through ``until_epoch`` at most); returns the per-step records of
        this call (for tests and logs).

        The schedule and the batches of an epoch do not depend on the number of epochs, so stopping early
        and resuming later trains exactly the same model as one uninterrupted run.
        """
        torch.manual_seed(self.config.training.seed)
        self.resume()
        last = self.epochs if until_epoch is None else min(until_epoch, self.epochs)
        if self.epoch < last:
            self.log.info(
                "data: %d loader workers per process (data.num_workers: %s; %d CPUs, %d processes on this node)",
                self.num_workers,
                self.config.data.num_workers,
                available_cpus(),
                self.context.local_world_size,
            )
        records: list[dict[str, float]] = []
        while self.epoch < last:
            with float32_arithmetic(self.config.training.precision):  # TF32 only when asked, validation too
                records += self._train_epoch()
                metrics = self.validator(self.objective.model) if self.validator and self.context.is_main else {}
            self.epoch += 1
            self._save(metrics)
        if self.writer is not None:
            self.writer.close()
        return records

    def _train_epoch(self) -> list[dict[str, float]]:
        self.objective.train()
        self.sampler.set_epoch(self.epoch)
        accumulation = self.config.training.grad_accumulation
        autocast = torch.autocast(
            self.context.device.type, dtype=torch.bfloat16, enabled=self.config.training.precision == "bf16"
        )
        records = []
        totals: dict[str, float] = {}
        progress: Iterable[Batch] = tqdm(
            self.loader,
            desc=f"{self.phase} epoch {self.epoch + 1}/{self.epochs}",
            disable=not self.show_progress,
            unit="batch",
        )
        finite = True
        for micro, batch in enumerate(progress, start=1):
            batch = batch.to(self.context.device).augmented()  # in the crops' dtype, outside autocast
            last_micro = micro % accumulation == 0
            sync = contextlib.nullcontext() if last_micro or not self.context.distributed else self.module.no_sync()
            with sync:
                with autocast:
                    losses = self.module(batch, self.phase)
                (losses["loss"] / accumulation).backward()
            finite = finite and bool(torch.isfinite(losses["loss"]))
            for name, value in losses.items():
                totals[name] = totals.get(name, 0.0) + float(value.detach()) / accumulation
            if not last_micro:
                continue
            record = self._optimizer_step(totals, finite)
            records.append(record)
            if self.show_progress:
                progress.set_postfix(loss=f"{record['loss']:.3f}", lr=f"{record['lr']:.2e}")
            totals, finite = {}, True
        return records

    def _optimizer_step(self, totals: dict[str, float], finite: bool) -> dict[str, float]:
        clip = self.config.training.grad_clip
        grad_norm = torch.nn.utils.clip_grad_norm_(self.objective.parameters(), clip if clip else math.inf)
        ok = torch.tensor(float(finite and bool(torch.isfinite(grad_norm))), device=self.context.device)
        if self.context.distributed:
            dist.all_reduce(ok, op=dist.ReduceOp.MIN)
            names = sorted(totals)
            mean = torch.tensor([totals[n] for n in names], dtype=torch.float64, device=self.context.device)
            dist.all_reduce(mean)
            totals = dict(zip(names, (mean / self.context.world_size).tolist(), strict=True))
        lr = self.optimizer.param_groups[0]["lr"]
        if ok.item():
            self.optimizer.step()
            self.consecutive_skips = 0
        else:
            self.skipped_steps += 1
            self.consecutive_skips += 1
            self.log.warning(
                "step %d: non-finite loss or gradient, step skipped (%d in a row)", self.step, self.consecutive_skips
            )
            if self.consecutive_skips > self.config.training.max_nonfinite_steps:
                raise TrainingDiverged(
                    f"{self.consecutive_skips} consecutive steps with a non-finite loss or gradient at step "
                    f"{self.step} (epoch {self.epoch + 1}); lower the learning rate or set training.grad_clip"
                )
        self.optimizer.zero_grad(set_to_none=True)
        with warnings.catch_warnings():  # a skipped step still advances the per-iteration schedule
            warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()`"))
            self.scheduler.step()
        self.step += 1
        record = {**totals, "lr": lr, "grad_norm": float(grad_norm), "skipped": float(not ok.item())}
        if self.context.is_main and self.step % self.config.training.log_interval == 0:
            self.log.info(
                "epoch %d step %d %s", self.epoch + 1, self.step, " ".join(f"{k}={v:.4g}" for k, v in record.items())
            )
            for name, value in record.items():
                self.writer.add_scalar(f"train/{name}", value, self.step)
        return record

    def _save(self, metrics: dict[str, float]) -> None:
        if self.context.is_main:
            state = {
                "model": self.objective.model.state_dict(),
                "head": self.objective.head.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "rng": rng_state(self.context.device),
                "epoch": self.epoch,
                "step": self.step,
                "skipped_steps": self.skipped_steps,
                "consecutive_skips": self.consecutive_skips,
                "phase": self.phase,
                "validation": metrics,
                "config": to_dict(self.config),
            }
            save_checkpoint(self.directory / f"epoch_{self.epoch}.pt", state)
            self._record_validation(metrics)
            self.log.info("epoch %d done, step %d, validation %s", self.epoch, self.step, metrics or "-")
            for name, value in metrics.items():
                self.writer.add_scalar(f"validation/{name}", value, self.epoch)
        if self.context.distributed:
            dist.barrier()

    def _record_validation(self, metrics: dict[str, float]) -> None:
        path = self.directory / "validation.json"
        history = json.loads(path.read_text()) if path.exists() else {}
        if history.get(str(self.epoch)) == metrics:
            return
        history[str(self.epoch)] = metrics
        with atomic_open(path) as handle:
            json.dump(history, handle, indent=1, sort_keys=True)

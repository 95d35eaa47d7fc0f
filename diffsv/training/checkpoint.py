"""Training checkpoints: everything needed to continue a run exactly, loadable with weights_only=True."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from diffsv.utils.checkpoint import CheckpointError, save_torch_file

EPOCH_FILE = re.compile(r"^epoch_(\d+)\.pt$")


def rng_state(device: torch.device) -> dict[str, Any]:
    """The CPU generator's state and, on a GPU, that of this process's own device only: a run resumed with
    another number of GPUs (8 under run.pl, then 1 under Slurm) restores it onto whichever device it has."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict[str, Any], device: torch.device) -> None:
    """Every process restores the saving process's (rank 0's) GPU state onto its own device: the processes
    of a run start from one seed (``torch.manual_seed``) and draw alike, as rank 0 does. A state saved on the
    CPU leaves a GPU's generator as seeded."""
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        saved = state["cuda"]  # older checkpoints hold every visible device's, rank 0's (cuda:0) first
        torch.cuda.set_rng_state(saved[0] if isinstance(saved, list) else saved, device)


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write atomically: a run killed while saving leaves the previous checkpoint intact."""
    save_torch_file(path, state)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load without executing anything from the file (``weights_only=True``)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for unreadable, truncated or unsafe files
        raise CheckpointError(f"{path}: cannot load checkpoint: {exc}") from exc


def epoch_checkpoints(directory: str | Path) -> list[Path]:
    """``epoch_N.pt`` files in ``directory``, by increasing N."""
    found = []
    for path in Path(directory).glob("epoch_*.pt"):
        match = EPOCH_FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def average_model_states(paths: list[Path]) -> dict[str, torch.Tensor]:
    """Element-wise mean of the checkpoints' model weights; integer buffers (BN batch counts) from the last."""
    if not paths:
        raise CheckpointError("no checkpoints to average")
    states = [load_checkpoint(path)["model"] for path in paths]
    averaged = {}
    for key, last in states[-1].items():
        if last.is_floating_point():
            averaged[key] = sum(state[key].double() for state in states).div(len(states)).to(last.dtype)
        else:
            averaged[key] = last.clone()
    return averaged


def last_epochs(directory: str | Path, count: int, through_epoch: int | None = None) -> list[Path]:
    """The ``count`` newest epoch checkpoints up to ``through_epoch`` (all when None): what a model
    averaged at that point of training is made of."""
    found = epoch_checkpoints(directory)
    if through_epoch is not None:
        found = [path for path in found if int(EPOCH_FILE.match(path.name).group(1)) <= through_epoch]
    if through_epoch is not None and (not found or found[-1].name != f"epoch_{through_epoch}.pt"):
        raise CheckpointError(f"{directory}: no checkpoint of epoch {through_epoch}")
    return found[-count:]


def best_epoch(history: dict[str, dict[str, float]], metric: str) -> int | None:
    """The epoch with the lowest ``metric`` in a ``validation.json`` history (earliest on ties)."""
    scored = [(values[metric], int(epoch)) for epoch, values in history.items() if metric in values]
    return min(scored)[1] if scored else None

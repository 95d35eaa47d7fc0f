"""Checkpoint loading that fails with names, not with a wall of tensor sizes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from diffsv.utils.fileio import atomic_path


class CheckpointError(ValueError):
    """A checkpoint cannot be read or does not fit the model it is loaded into."""


def save_torch_file(path: str | Path, payload: Any) -> None:
    """``torch.save`` under a temporary name, renamed when complete; a failed write (a full disk, which
    torch reports as a RuntimeError of its zip writer) is an ``OSError`` naming the file, and leaves
    any previous file intact."""
    with atomic_path(path) as tmp:
        try:
            torch.save(payload, tmp)
        except RuntimeError as exc:
            raise OSError(f"{path}: cannot write: {exc}") from exc


def load_state_dict_strict(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` whose error lists missing, unexpected and mis-shaped tensors."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    mismatched = [
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state_dict and own[k].shape != state_dict[k].shape
    ]
    problems = []
    for title, names in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched)):
        if names:
            shown = "; ".join(names[:10]) + (f" ... ({len(names) - 10} more)" if len(names) > 10 else "")
            problems.append(f"{title} ({len(names)}): {shown}")
    if problems:
        raise CheckpointError(f"{source} does not fit the model configuration: " + " | ".join(problems))
    model.load_state_dict(state_dict, strict=True)

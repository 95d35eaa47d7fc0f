"""The model file the later stages read: weights plus the configuration that rebuilds the network.

``{"model": state_dict, "model_config": dict}`` is what training writes (``final.pt``, ``best.pt``), what
the reference-checkpoint importer writes, and what embedding extraction and export load, so any of them
can feed any later stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from diffsv.config import ConfigError, from_dict, to_dict
from diffsv.models.diffsv import DiffSV, ModelConfig
from diffsv.utils.checkpoint import CheckpointError, load_state_dict_strict, save_torch_file


def save_model_file(path: str | Path, state_dict: dict[str, torch.Tensor], config: ModelConfig, **extra: Any) -> None:
    save_torch_file(path, {"model": state_dict, "model_config": to_dict(config), **extra})


def load_model_file(path: str | Path, map_location: str | torch.device = "cpu") -> DiffSV:
    """Rebuild the network from the stored configuration and load the weights strictly."""
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated, not a torch file, or holding objects weights_only refuses
        raise CheckpointError(f"{path}: cannot load model file: {exc}") from exc
    if not isinstance(payload, dict) or "model" not in payload or "model_config" not in payload:
        raise CheckpointError(f"{path}: not a diffsv model file (needs 'model' and 'model_config')")
    try:
        config = from_dict(ModelConfig, payload["model_config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path}: bad model_config: {exc}") from exc
    model = DiffSV(config)
    load_state_dict_strict(model, payload["model"], str(path))
    return model

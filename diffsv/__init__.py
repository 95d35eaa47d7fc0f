"""diffsv: noise-robust speaker verification with a score-based diffusion enhancer (Diff-SV).

``diffsv.load_model(exp_dir_or_model_file)`` gives a model that embeds, scores and verifies audio
(:mod:`diffsv.inference`); the recipes under ``egs/`` train and evaluate one.
"""

from __future__ import annotations

from typing import Any

# Loaded on first use, so that ``import diffsv.scoring`` and the other light modules do not import torch.
_INFERENCE_NAMES = ("load_model", "SpeakerVerifier", "Verification")

__all__ = list(_INFERENCE_NAMES)


def __getattr__(name: str) -> Any:
    if name in _INFERENCE_NAMES:
        from diffsv import inference

        return getattr(inference, name)
    raise AttributeError(f"module 'diffsv' has no attribute {name!r}")

"""The arithmetic of a forward pass, decided explicitly rather than left to the device's defaults.

cuDNN computes "float32" convolutions in TF32 by default (a 10-bit mantissa): a GPU's embeddings would then
differ from the CPU's by about 1e-3 relative, without anything saying so. Each precision here is one
choice on every device, recorded where it is used (``training.precision``, stage 5's ``embedding.json``):

- ``fp32``: IEEE float32 matmuls and convolutions (a GPU agrees with the CPU to float rounding);
- ``tf32``: TF32 matmuls and convolutions on a GPU (faster on Ampere and later); the CPU has no TF32, so
  there it is fp32;
- ``bf16``: bfloat16 autocast on the device, its float32 operations in IEEE float32. The CPU's autocast
  casts other operations than CUDA's, so CPU bf16 figures do not transfer to a GPU.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PRECISIONS = ("fp32", "tf32", "bf16")


@contextlib.contextmanager
def float32_arithmetic(precision: str) -> Iterator[None]:
    """Compute float32 matmuls and convolutions in the ``with`` body as ``precision`` says (TF32 for
    ``tf32`` only), backward passes included; the process's settings are restored after. (torch is
    imported here: the torch-free steps of stage 5 read :data:`PRECISIONS`.)"""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision '{precision}'; choose one of {', '.join(PRECISIONS)}")
    settings = (torch.backends.cuda.matmul, torch.backends.cudnn.conv)
    saved = [setting.fp32_precision for setting in settings]
    for setting in settings:
        setting.fp32_precision = "tf32" if precision == "tf32" else "ieee"
    try:
        yield
    finally:
        for setting, value in zip(settings, saved, strict=True):
            setting.fp32_precision = value


@contextlib.contextmanager
def arithmetic(precision: str, device: torch.device) -> Iterator[None]:
    """A forward pass on ``device`` in ``precision``: :func:`float32_arithmetic`, and bf16 autocast for ``bf16``."""
    import torch

    with float32_arithmetic(precision), torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        yield

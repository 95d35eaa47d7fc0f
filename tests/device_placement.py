"""A check, on the CPU, that a code path keeps its tensors on the device it was given: the path runs with
the ``meta`` device standing for a GPU, where a tensor made on the CPU inside the device's forward pass
meets a meta tensor and torch raises, as it would on a GPU ("Expected all tensors to be on the same device").

Meta tensors hold no values, so reading one back to the host is answered here (a ``TorchFunctionMode``):
``.cpu()``/``.numpy()``/``.to("cpu")`` give zeros of its shape and dtype, ``float``/``bool``/``item`` give 1
(finite, true). torch has no autocast for meta; ``torch.autocast`` is given the CPU's there. ``torch.istft``
has no meta kernel (it checks its window's overlap with the data): its inputs' devices are checked and a
meta tensor of its output's shape is returned. What the path computes is meaningless; only where its
tensors live is checked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch.overrides import TorchFunctionMode

DEVICE = torch.device("meta")
_SCALARS = {"__bool__": True, "__float__": 1.0, "item": 1.0, "__int__": 1, "__index__": 1}


def _to_host(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    target = kwargs.get("device", args[1] if len(args) > 1 else None)
    return isinstance(target, (str, torch.device)) and torch.device(target).type == "cpu"


class _MetaReadBack(TorchFunctionMode):
    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: tuple[type, ...],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        tensor = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if tensor is not None and tensor.device.type == "meta":
            name = getattr(func, "__name__", "")
            if name in _SCALARS:
                return _SCALARS[name]
            if name == "cpu" or (name == "to" and _to_host(args, kwargs)):
                return torch.zeros(tensor.shape, dtype=tensor.dtype)
            if name == "numpy":
                return torch.zeros(tensor.shape, dtype=tensor.dtype).numpy()
            if name == "tolist":
                return torch.ones(tensor.shape, dtype=tensor.dtype).tolist()
            if func is torch.istft:
                return _meta_istft(tensor, *args[1:], **kwargs)
        return func(*args, **kwargs)


def _meta_istft(spectrum: torch.Tensor, n_fft: int, hop_length: int, window: torch.Tensor, **_: Any) -> torch.Tensor:
    """A centred inverse STFT's output shape, on the meta device, after the device check torch makes."""
    if window.device != spectrum.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, got {window.device} and {spectrum.device}")
    dtype = torch.float64 if spectrum.dtype == torch.complex128 else torch.float32
    return torch.empty(*spectrum.shape[:-2], hop_length * (spectrum.shape[-1] - 1), dtype=dtype, device=DEVICE)


class _Autocast(torch.autocast):
    def __init__(self, device_type: str, *args: Any, **kwargs: Any) -> None:
        super().__init__("cpu" if device_type == "meta" else device_type, *args, **kwargs)


@contextlib.contextmanager
def on_device(monkeypatch: pytest.MonkeyPatch) -> Iterator[torch.device]:
    """Run the ``with`` body's device work on :data:`DEVICE`, which it yields."""
    monkeypatch.setattr(torch, "autocast", _Autocast)
    with _MetaReadBack():
        yield DEVICE

"""Deployable embedding pipelines (recipe stage 6): TorchScript and ONNX, each checked against PyTorch.

The exported graph is the whole test-time path -- front end, enhancer, sampler (the configured one,
its steps unrolled) and extractor -- for a fixed segment length and any batch size:

    inputs   wav   (batch, segment_samples) float32 waveform at the model's sample rate
             noise (batch, n_mels, frames)  the sampler's starting noise (Diff-SV only)
    output   embedding (batch, embed_dim)

The noise is an input rather than drawn inside the graph so that an exported model gives exactly the
embeddings of the recipe (whose noise is seeded per utterance) and the check below is deterministic.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from diffsv.config import to_dict
from diffsv.models.diffsv import DiffSV

FORMATS = ("torchscript", "onnx")
#: torch warns on every TorchScript call that TorchScript is deprecated; it is still what libtorch (C++)
#: loads, and docs/using-a-model.md says so, so the warning is silenced here rather than shown on every export.
_TORCHSCRIPT_DEPRECATED = r"`torch\.jit\.\w+` is deprecated"
FILE_NAMES = {"torchscript": "embedding.ts.pt", "onnx": "embedding.onnx"}


class ExportError(RuntimeError):
    """An export failed or does not reproduce the PyTorch model."""


class EmbeddingPipeline(nn.Module):
    """``DiffSV.embed`` with the starting noise as an explicit input: the graph that is exported."""

    def __init__(self, model: DiffSV) -> None:
        super().__init__()
        self.model = model
        self.eval()

    def forward(self, wav: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.model.embed(wav, init_noise=noise)


def example_inputs(model: DiffSV, segment_samples: int, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """A waveform batch and starting noise of the exported shapes (the noise is ignored by the baseline)."""
    generator = torch.Generator().manual_seed(seed)
    frames = model.frontend.num_frames(segment_samples)
    wav = 0.1 * torch.randn(batch, segment_samples, generator=generator)
    noise = torch.randn(batch, model.config.frontend.n_mels, frames, generator=generator)
    return wav, noise


def export_torchscript(model: DiffSV, path: Path, segment_samples: int) -> None:
    pipeline = EmbeddingPipeline(model)
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns that shape-dependent branches are fixed: intended, the segment length is fixed.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", _TORCHSCRIPT_DEPRECATED, FutureWarning)
        traced = torch.jit.trace(pipeline, example_inputs(model, segment_samples, batch=2), check_trace=False)
    pinned = device_constants(traced.inlined_graph)
    if pinned:
        raise ExportError(
            f"the traced graph creates tensors on the tracing device, so it would run only there: {pinned[0]}"
        )
    traced.save(str(path))


def device_constants(graph: torch.Graph) -> list[str]:
    """The nodes of a traced graph that fix a device: a ``Device`` constant (``torch.ones(..., device=x.device)``
    traced on the CPU makes CPU tensors on any device), or a tensor constant of more than one element (a
    0-dim one is a scalar, usable with tensors on any device)."""
    found = []
    for node in graph.nodes():
        if node.kind() != "prim::Constant" or not node.outputs():
            continue
        value = node.output().toIValue()
        if isinstance(value, torch.device) or (isinstance(value, torch.Tensor) and value.dim() > 0):
            found.append(str(node).strip())
    return found


def export_onnx(model: DiffSV, path: Path, segment_samples: int) -> None:
    """One ONNX file through torch.export (the dynamo exporter), with the batch dimension left dynamic."""
    # Its registry logs a warning for every torchvision operator it cannot register; torchvision is not used.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    batch = torch.export.Dim("batch", min=1)
    with warnings.catch_warnings():
        # Both inputs share the batch dimension, so the exporter names it once and says so for the other.
        warnings.filterwarnings("ignore", r"# The axis name: batch will not be used", UserWarning)
        torch.onnx.export(
            EmbeddingPipeline(model),
            example_inputs(model, segment_samples, batch=2),
            str(path),
            input_names=["wav", "noise"],
            output_names=["embedding"],
            dynamic_shapes={"wav": {0: batch}, "noise": {0: batch}},
            dynamo=True,
            external_data=False,
            verbose=False,
        )


class ExportedRunner:
    """Runs an exported file on numpy inputs, so both formats are checked the same way."""

    def __init__(self, fmt: str, path: Path) -> None:
        self.fmt = fmt
        if fmt == "torchscript":
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", _TORCHSCRIPT_DEPRECATED, FutureWarning)
                self._module = torch.jit.load(str(path)).eval()
        else:
            import onnxruntime

            self._session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            self._names = [node.name for node in self._session.get_inputs()]

    def __call__(self, wav: np.ndarray, noise: np.ndarray) -> np.ndarray:
        if self.fmt == "torchscript":
            with torch.no_grad():
                return self._module(torch.from_numpy(wav), torch.from_numpy(noise)).numpy()
        feeds = dict(zip(self._names, (wav, noise), strict=False))
        return self._session.run(None, feeds)[0]


@dataclass(frozen=True)
class ExportCheck:
    fmt: str
    segments: int
    max_abs_diff: float


def check_export(
    model: DiffSV, fmt: str, path: Path, wav: np.ndarray, noise: np.ndarray, tolerance: float
) -> ExportCheck:
    """Embed ``wav`` with the export and with PyTorch; ExportError if a value differs by more than ``tolerance``."""
    with torch.no_grad():
        expected = EmbeddingPipeline(model)(torch.from_numpy(wav), torch.from_numpy(noise)).numpy()
    got = ExportedRunner(fmt, path)(wav, noise)
    if got.shape != expected.shape:
        raise ExportError(f"{path}: embeddings of shape {got.shape}, PyTorch gives {expected.shape}")
    diff = float(np.abs(got - expected).max())
    if not diff <= tolerance:
        raise ExportError(f"{path}: embeddings differ from PyTorch's by up to {diff:.3g} (tolerance {tolerance:g})")
    return ExportCheck(fmt, wav.shape[0], diff)


def export_model(
    model: DiffSV,
    out_dir: Path,
    segment_samples: int,
    wav: np.ndarray,
    noise: np.ndarray,
    formats: tuple[str, ...] = FORMATS,
    tolerance: float = 1e-4,
) -> list[ExportCheck]:
    """Write each format into ``out_dir`` (a directory being built), check it on ``wav``, and describe it."""
    model = model.eval()
    checks = []
    for fmt in formats:
        path = out_dir / FILE_NAMES[fmt]
        try:
            (export_torchscript if fmt == "torchscript" else export_onnx)(model, path, segment_samples)
        except Exception as exc:  # the tracer and torch.export raise many types for graphs they cannot take
            raise ExportError(f"{path}: {fmt} export failed: {exc}") from exc
        checks.append(check_export(model, fmt, path, wav, noise, tolerance))
    diffusion = model.config.diffusion
    description = {
        "files": {check.fmt: FILE_NAMES[check.fmt] for check in checks},
        "inputs": {
            "wav": ["batch", segment_samples],
            "noise": ["batch", model.config.frontend.n_mels, model.frontend.num_frames(segment_samples)],
        },
        "output": {"embedding": ["batch", model.embed_dim]},
        "sample_rate": model.config.frontend.sample_rate,
        "sampler": None if model.diffusion is None else {"name": diffusion.sampler, "steps": diffusion.steps},
        "check": {
            check.fmt: {"segments": check.segments, "max_abs_diff": check.max_abs_diff, "tolerance": tolerance}
            for check in checks
        },
        "model_config": to_dict(model.config),
    }
    (out_dir / "export.json").write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    return checks

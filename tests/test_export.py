"""Export of a baseline (no sampler, so no noise input), with each extractor, and the export check's refusal
of a mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import tiny_experiment

from diffsv.export import (
    EmbeddingPipeline,
    ExportedRunner,
    ExportError,
    check_export,
    device_constants,
    example_inputs,
    export_model,
    export_torchscript,
)
from diffsv.models import DiffSV

SEGMENT = 8_000


@pytest.fixture(scope="module", params=["se_resnet34", "ecapa_tdnn"])
def baseline(request) -> DiffSV:
    torch.manual_seed(0)
    return DiffSV(tiny_experiment(architecture="baseline", extractor=request.param).model).eval()


@pytest.mark.filterwarnings("error::FutureWarning", "error::UserWarning")  # stage 6 prints no warnings (make demo)
def test_baseline_exports_take_the_waveform_alone(baseline: DiffSV, tmp_path: Path) -> None:
    wav, noise = (tensor.numpy() for tensor in example_inputs(baseline, SEGMENT, batch=3, seed=1))
    checks = export_model(baseline, tmp_path, SEGMENT, wav, noise)
    assert [check.fmt for check in checks] == ["torchscript", "onnx"]
    assert all(check.max_abs_diff <= 1e-4 and check.segments == 3 for check in checks)
    description = json.loads((tmp_path / "export.json").read_text())
    assert description["sampler"] is None and description["model_config"]["architecture"] == "baseline"
    single = wav[:1]  # any batch size
    with torch.no_grad():
        expected = EmbeddingPipeline(baseline)(torch.from_numpy(single), torch.from_numpy(noise[:1])).numpy()
    for fmt, name in description["files"].items():
        np.testing.assert_allclose(ExportedRunner(fmt, tmp_path / name)(single, noise[:1]), expected, atol=1e-4)


def test_check_refuses_an_export_of_other_weights(baseline: DiffSV, tmp_path: Path) -> None:
    wav, noise = (tensor.numpy() for tensor in example_inputs(baseline, SEGMENT, batch=2))
    export_model(baseline, tmp_path, SEGMENT, wav, noise, formats=("torchscript",))
    other = DiffSV(baseline.config).eval()  # same configuration, fresh weights
    with pytest.raises(ExportError, match="differ from PyTorch's by up to"):
        check_export(other, "torchscript", tmp_path / "embedding.ts.pt", wav, noise, 1e-4)


class _PinnedOnes(torch.nn.Module):
    """A deliberately wrong module: ``device=x.device`` is traced as a constant (the CPU's, here)."""

    def forward(self, wav: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return wav + torch.ones(wav.shape[-1], device=wav.device)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::FutureWarning")  # tracing's own
@pytest.mark.parametrize("sampler", ["euler", "heun", "dpm_solver"])
def test_a_torchscript_export_made_on_the_cpu_fixes_no_device(sampler: str) -> None:
    """A graph with a device constant fails when moved to a GPU; the check names such a node."""
    torch.manual_seed(0)
    config = tiny_experiment().model
    config.diffusion.sampler = sampler
    pipeline = EmbeddingPipeline(DiffSV(config).eval())
    with torch.no_grad():
        traced = torch.jit.trace(pipeline, example_inputs(pipeline.model, SEGMENT, batch=2), check_trace=False)
    assert device_constants(traced.inlined_graph) == []
    with torch.no_grad():
        wrong = torch.jit.trace(_PinnedOnes(), example_inputs(pipeline.model, SEGMENT, batch=2))
    assert any('value="cpu"' in node for node in device_constants(wrong.inlined_graph))


def test_the_export_refuses_a_graph_pinned_to_the_tracing_device(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr("diffsv.export.EmbeddingPipeline", lambda model: _PinnedOnes())
    torch.manual_seed(0)
    with pytest.raises(ExportError, match="would run only there"):
        export_torchscript(DiffSV(tiny_experiment().model).eval(), tmp_path / "embedding.ts.pt", SEGMENT)
    assert not (tmp_path / "embedding.ts.pt").exists()

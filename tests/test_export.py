"""Export of a baseline (no sampler, so no noise input), with each extractor, and the export check's refusal
of a mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from training_helpers import tiny_experiment

from diffsv.export import EmbeddingPipeline, ExportedRunner, ExportError, check_export, example_inputs, export_model
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

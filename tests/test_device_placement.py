"""Every path that runs a model on a device keeps its tensors there (tests/device_placement.py: the meta
device stands for a GPU, so a tensor made on the CPU inside the forward pass raises). One short test per
path: training, validation, stage-5 embedding, the samplers, the API and the exported graph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from corpus_trees import write_wav
from device_placement import on_device
from training_helpers import ToySpeakers, tiny_experiment

from diffsv.data.kaldi_dir import read_data_dir
from diffsv.embedding import Embedder
from diffsv.embedding_segments import SegmentConfig
from diffsv.export import EmbeddingPipeline, example_inputs
from diffsv.inference import SpeakerVerifier
from diffsv.models import DiffSV
from diffsv.models.samplers import SAMPLERS
from diffsv.training.objective import TrainingObjective
from diffsv.training.trainer import ProcessContext, Trainer
from diffsv.training.validation import SpeakerValidator


@pytest.fixture
def device(monkeypatch: pytest.MonkeyPatch) -> Iterator[torch.device]:
    with on_device(monkeypatch) as target:
        yield target


@pytest.fixture
def model() -> DiffSV:
    torch.manual_seed(0)
    return DiffSV(tiny_experiment().model).eval()


class _MadeOnTheCpu(torch.nn.Module):
    """A deliberately wrong extractor: it adds a tensor made on the CPU to its device input."""

    def forward(self, *features: torch.Tensor) -> torch.Tensor:
        return features[0].mean(dim=(1, 2))[:, None] + torch.zeros(16)


def test_the_check_fails_on_a_tensor_made_on_the_cpu(device: torch.device, model: DiffSV) -> None:
    model.extractor = _MadeOnTheCpu()
    wav, noise = example_inputs(model, 3_200, batch=2)
    with pytest.raises(RuntimeError, match="device"):
        model.to(device).embed(wav.to(device), init_noise=noise.to(device))


@pytest.mark.parametrize("phase", ["pretrain", "joint"])
def test_training(device: torch.device, tmp_path: Path, phase: str) -> None:
    config = tiny_experiment(epochs=1, pretrain_epochs=1)
    objective = TrainingObjective(DiffSV(config.model), 4, config.loss)
    context = ProcessContext(device=device)
    records = Trainer(config, objective, ToySpeakers(16), tmp_path, phase, context, show_progress=False).run()
    assert len(records) == 2 and not any(record["skipped"] for record in records)


def test_validation(device: torch.device, model: DiffSV, tmp_path: Path) -> None:
    utts = [f"s{spk}-u{n}" for spk in range(2) for n in range(2)]
    for n, utt in enumerate(utts):
        write_wav(tmp_path / f"{utt}.wav", 0.3, seed=n)
    (tmp_path / "wav.scp").write_text("".join(f"{utt} {tmp_path / utt}.wav\n" for utt in utts))
    (tmp_path / "utt2spk").write_text("".join(f"{utt} {utt[:2]}\n" for utt in utts))
    validator = SpeakerValidator(read_data_dir(tmp_path), utts, None, 16_000, 0.2, seed=1, batch_size=3)
    assert set(validator(model.to(device))) == {"eer_clean"}


def test_stage5_embedding(device: torch.device, model: DiffSV) -> None:
    embedder = Embedder(model, device, SegmentConfig(2, 3_200), batch_size=3, precision="bf16")
    audio = [(f"u{n}", np.random.default_rng(n).standard_normal(8_000).astype(np.float32)) for n in range(3)]
    assert [embedding.shape for _, embedding in embedder.embed(audio)] == [(2, 16)] * 3


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_samplers(device: torch.device, model: DiffSV, sampler: str) -> None:
    model.use_sampler(sampler, 3)
    wav, noise = example_inputs(model, 3_200, batch=2)
    assert model.to(device).embed(wav.to(device), init_noise=noise.to(device)).shape == (2, 16)


def test_the_api(device: torch.device, model: DiffSV) -> None:
    verifier = SpeakerVerifier(model, SegmentConfig(2, 3_200), device=device, min_speech=0)
    views = verifier.front_end_views(np.full(8_000, 0.1, dtype=np.float32), sample_rate=16_000)
    assert verifier.embed(np.full(8_000, 0.1, dtype=np.float32), sample_rate=16_000).shape == (2, 16)
    assert set(views) == {"noisy", "prior", "diffusion"}


def test_the_exported_pipeline(device: torch.device, model: DiffSV) -> None:
    """The graph stage 6 traces; that the traced graph fixes no device is tests/test_export.py's."""
    wav, noise = example_inputs(model, 3_200, batch=2)
    assert EmbeddingPipeline(model.to(device))(wav.to(device), noise.to(device)).shape == (2, 16)

"""Every path that runs a model on a device keeps its tensors there (tests/device_placement.py: the meta
device stands for a GPU, so a tensor made on the CPU inside the forward pass raises). One short test per
path: training, validation, stage-5 embedding, the samplers, the API, the exported graph and the batched
augmentation (``data.augment_on: device``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from corpus_trees import write_wav
from device_placement import on_device
from training_helpers import ToySpeakers, tiny_experiment

from diffsv.data.augment import AugmentationDraws, fast_pitch_ratios
from diffsv.data.batch_augment import augment_batch, collate_draws
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


def test_training_with_the_augmentation_on_the_device(device: torch.device, tmp_path: Path) -> None:
    """``data.augment_on: device``: the batch's draws travel with it and are applied there."""
    config = tiny_experiment(epochs=1)
    objective = TrainingObjective(DiffSV(config.model), 4, config.loss)
    context = ProcessContext(device=device)
    dataset = ToySpeakers(16, augment_on="device")
    assert len(Trainer(config, objective, dataset, tmp_path, "joint", context, show_progress=False).run()) == 2


def test_the_batched_augmentation(device: torch.device) -> None:
    """Every branch of the batched augmentation: gain, each pitch ratio, coloured noise, reverberation with
    an RIR longer than the crop, and MUSAN windows averaged and mixed."""
    rng = np.random.default_rng(0)
    length = 3_200

    def window() -> np.ndarray:
        return rng.standard_normal(length).astype(np.float32)

    ratios = fast_pitch_ratios(16_000, (-4.0, 4.0))
    draws = [
        AugmentationDraws(16_000, "noise", gain_db=-3.0, pitch_ratio=ratio, noises=[window()], snr_db=5.0)
        for ratio in ratios
    ]
    white = rng.standard_normal(16_000)
    draws += [
        AugmentationDraws(
            16_000, "reverb", coloured_decay=1.0, coloured_white=white, coloured_snr_db=9.0, rir=window()
        ),
        AugmentationDraws(16_000, "babble_music", noises=[window() for _ in range(4)], snr_db=2.0),
    ]
    clean = torch.from_numpy(rng.standard_normal((len(draws), length)).astype(np.float32))
    packed = collate_draws(draws, length)
    assert augment_batch(clean.to(device), packed.to(device)).shape == clean.shape

"""Augmentation on the training device (``data.augment_on: device``) makes the loader path's noisy crops:
the same draws, packed with the batch, give per crop the same output within 1e-5 relative RMS error in
float32 and 1e-10 in float64, on batches holding every branch, the shortest crop, a short noise file that
wraps and an RIR longer than the crop."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from corpus_trees import write_wav
from torch.utils.data._utils.pin_memory import pin_memory

from diffsv.data import batch_augment
from diffsv.data.augment import NOISE_KINDS, AugmentationConfig, AugmentationDraws, Augmenter, NoisePools
from diffsv.data.batch_augment import augment_batch, collate_draws
from diffsv.data.frontend_config import FrontendConfig
from diffsv.data.kaldi_dir import DataDir
from diffsv.data.noise_mixing import NoisePool
from diffsv.data.speaker_crops import SpeakerCrops
from diffsv.training.objective import Batch
from diffsv.training.trainer import collate
from diffsv.utils.arithmetic import float32_arithmetic

SR = 16_000
RATIOS = (Fraction(4, 5), Fraction(125, 128), Fraction(128, 125), Fraction(5, 4))
SHORTEST_CROP = FrontendConfig().win_length  # one analysis frame: the shortest crop training accepts
CROPS = (SHORTEST_CROP, 31_920)


def data_dir(root: Path, name: str, seconds: list[float], seed: int) -> DataDir:
    wavs = {f"{name}{i}": str(write_wav(root / name / f"{i}.wav", s, seed=seed + i)) for i, s in enumerate(seconds)}
    lengths = {utt: round(s * SR) for utt, s in zip(wavs, seconds, strict=True)}
    return DataDir(wav_scp=wavs, utt2spk={u: u for u in wavs}, utt2num_samples=lengths)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataDir, Augmenter]:
    root = tmp_path_factory.mktemp("batch_augment")
    pools = NoisePools(
        noise=NoisePool(data_dir(root, "noise", [0.3], 10), "noise", SR),  # shorter than the crop: wraps
        babble=NoisePool(data_dir(root, "babble", [3.0] * 7, 20), "babble", SR),
        music=NoisePool(data_dir(root, "music", [6.0, 4.0], 30), "music", SR),
        reverb=NoisePool(data_dir(root, "rir", [2.5, 0.2], 40), "reverb", SR),  # 2.5 s: longer than the crop
    )
    speech = data_dir(root, "spk", [3.0, 2.5, 0.9, 5.0], 50)  # 0.9 s: repeated to the crop length
    return speech, Augmenter(AugmentationConfig(), pools, SR)


def branches(draws: AugmentationDraws) -> set[str]:
    """The code paths one crop's draws take."""
    taken = {draws.kind, "long_rir" if draws.rir is not None and draws.rir.shape[0] > 31_920 else ""}
    if draws.pitch_ratio is not None:
        taken.add(f"pitch {draws.pitch_ratio}")
    signal = (draws.gain_db is not None, draws.pitch_ratio is not None, draws.coloured_white is not None)
    taken |= {"no transform"} if not any(signal) else {"gain only"} if signal == (True, False, False) else set()
    return taken | ({"coloured"} if signal[2] else set())


ALL_BRANCHES = {*NOISE_KINDS, *(f"pitch {r}" for r in RATIOS), "no transform", "gain only", "coloured", "long_rir"}


def covering_keys(dataset: SpeakerCrops) -> tuple[list[tuple[int, int]], list[dict]]:
    """(epoch, index) keys whose draws take every branch between them, each utterance among them."""
    keys, items, seen = [], [], set()
    for epoch in range(200):
        for index in range(len(dataset)):
            item = dataset[(epoch, index)]
            new = branches(item["draws"]) - seen - {""}
            if new or epoch == 0:
                keys.append((epoch, index))
                items.append(item)
                seen |= new
        if seen >= ALL_BRANCHES:
            return keys, items
    raise AssertionError(f"no draws take {ALL_BRANCHES - seen}")


def relative_rms_error(ours: np.ndarray, reference: np.ndarray) -> np.ndarray:
    difference = np.sqrt(np.mean(np.square(ours.astype(np.float64) - reference), axis=-1))
    return difference / np.sqrt(np.mean(np.square(reference.astype(np.float64)), axis=-1))


def crops(corpus: tuple[DataDir, Augmenter], crop: int, augment_on: str) -> SpeakerCrops:
    speech, augmenter = corpus
    labels = {utt: k for k, utt in enumerate(speech.utt2spk)}
    return SpeakerCrops(speech, list(speech.utt2spk), labels, crop, FrontendConfig(), augmenter, 5, 1e-5, augment_on)


@pytest.mark.parametrize("crop", CROPS)
def test_device_mode_makes_the_loaders_noisy_crops_in_float32(corpus, crop: int) -> None:
    keys, device_items = covering_keys(crops(corpus, crop, "device"))
    loader = crops(corpus, crop, "loader")
    batch = collate(device_items)
    assert batch.noisy is None and len(keys) <= 48
    noisy = batch.augmented().noisy
    for row, key in enumerate(keys):
        expected = loader[key]
        for name in ("clean", "labels", "t", "loss_noise", "init_noise"):
            assert torch.equal(getattr(batch, name)[row], expected[name]), (key, name)
        error = relative_rms_error(noisy[row].numpy(), expected["noisy"].numpy())
        assert error <= 1e-5, (key, branches(device_items[row]["draws"]), float(error))


@pytest.mark.parametrize("crop", CROPS)
def test_device_mode_is_the_per_crop_arithmetic_in_float64(corpus, crop: int) -> None:
    _, items = covering_keys(crops(corpus, crop, "device"))
    clean = torch.stack([item["clean"] for item in items]).double()
    draws = [item["draws"] for item in items]
    batched = augment_batch(clean, collate_draws(draws, crop)).numpy()
    per_crop = np.stack([Augmenter.apply(row, d) for row, d in zip(clean.numpy(), draws, strict=True)])
    assert batched.dtype == per_crop.dtype == np.float64
    assert relative_rms_error(batched, per_crop).max() <= 1e-10


def test_a_crop_that_draws_no_signal_transform_keeps_its_samples_until_the_noise(corpus) -> None:
    """Rows without gain, pitch shift or coloured noise pass those stages untouched: with a silent noise
    window the noisy crop is the clean one to the bit."""
    clean = torch.from_numpy(np.random.default_rng(1).standard_normal((3, 800)).astype(np.float32))
    silent = [np.zeros(800, dtype=np.float32)]
    draws = [
        AugmentationDraws(SR, "noise", noises=silent, snr_db=5.0),
        AugmentationDraws(SR, "noise", gain_db=-6.0, noises=silent, snr_db=5.0),
        AugmentationDraws(SR, "noise", noises=silent, snr_db=5.0),
    ]
    noisy = augment_batch(clean, collate_draws(draws, 800))
    assert torch.equal(noisy[[0, 2]], clean[[0, 2]])
    assert torch.equal(noisy[1], clean[1] * np.float32(10 ** (-6 / 20)))


def test_packed_draws_pin_and_move_with_the_batch(corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    """The DataLoader's pinning thread pins every tensor of a batch, its draws included (a Batch without
    ``pin_memory`` was passed through unpinned, so its copies to a GPU were pageable and synchronous)."""
    _, items = covering_keys(crops(corpus, SHORTEST_CROP, "device"))
    batch = collate(items)
    moved = batch.to(torch.device("cpu"))
    assert moved.augmentation is not None and moved.augmentation.nbytes() == batch.augmentation.nbytes()
    assert batch.augmentation.noise_windows.shape[0] == sum(len(item["draws"].noises) for item in items)
    pinned: list[int] = []
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda tensor, *_: pinned.append(id(tensor)) or tensor)
    out = pin_memory(batch)  # what the DataLoader's pin_memory=True does with each batch
    tensors = [value for value in vars(batch).values() if isinstance(value, torch.Tensor)]
    tensors += [value for value in vars(batch.augmentation).values() if isinstance(value, torch.Tensor)]
    tensors += [rows for _, rows in batch.augmentation.pitch_groups]
    assert isinstance(out, Batch) and sorted(pinned) == sorted(id(tensor) for tensor in tensors)


def test_the_batched_augmentation_is_ieee_float32_under_tf32_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """training.precision: tf32 must not reach the augmentation (its resampler is a convolution)."""
    seen = []

    def shift(samples: torch.Tensor, ratio: Fraction, sample_rate: int) -> torch.Tensor:
        seen.append((torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision))
        return samples

    monkeypatch.setattr(batch_augment, "pitch_shift_tensor", shift)
    silent = [np.zeros(800, dtype=np.float32)]
    draws = collate_draws([AugmentationDraws(SR, "noise", pitch_ratio=RATIOS[0], noises=silent, snr_db=0.0)], 800)
    with float32_arithmetic("tf32"):
        augment_batch(torch.zeros(1, 800), draws)
        assert torch.backends.cudnn.conv.fp32_precision == "tf32"  # the training's setting is back after
    assert seen == [("ieee", "ieee")]

"""The training augmentation follows the authors' rules (``shared/reference/augmentation_reference.md``):
the four fast pitch-shift ratios, amplitude-shaped coloured noise, babble + music as one noise at one
SNR, the mixing level's offset, and MUSAN's windows. The numbers are the reference document's. Each rule
is checked through both paths: per crop in the loader and batched on the training device."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
import torchaudio
from corpus_trees import write_wav

from diffsv.config import ConfigError
from diffsv.data import augment, batch_augment
from diffsv.data.augment import (
    AugmentationConfig,
    AugmentationDraws,
    Augmenter,
    NoisePools,
    coloured_noise,
    fast_pitch_ratios,
    phase_vocoder,
)
from diffsv.data.corpora.musan import windows
from diffsv.data.kaldi_dir import DataDir
from diffsv.data.noise_mixing import NoisePool, level_db, scaled_noise

SR = 16_000
REFERENCE_RATIOS = {Fraction(4, 5), Fraction(125, 128), Fraction(128, 125), Fraction(5, 4)}


def per_crop(clean: np.ndarray, draws: AugmentationDraws) -> np.ndarray:
    return Augmenter.apply(clean, draws)


def batched(clean: np.ndarray, draws: AugmentationDraws) -> np.ndarray:
    """The device path on a batch of two: the crop and a copy with no transform, so that rows are picked."""
    other = AugmentationDraws(SR, "noise", noises=[np.zeros_like(clean)], snr_db=0.0)
    packed = batch_augment.collate_draws([other, draws], clean.shape[0])
    return batch_augment.augment_batch(torch.from_numpy(np.stack([clean, clean])), packed)[1].numpy()


@pytest.fixture(params=[per_crop, batched], ids=["loader", "device"])
def path(request: pytest.FixtureRequest):
    return request.param


def signal_only(**transforms) -> AugmentationDraws:
    """Draws of the signal transforms alone: the noise kind adds a silent window, which adds nothing."""
    length = transforms.pop("length")
    return AugmentationDraws(SR, "noise", noises=[np.zeros(length, dtype=np.float32)], snr_db=0.0, **transforms)


def batched_coloured_noise(white: np.ndarray, decay: float, length: int) -> np.ndarray:
    return batch_augment.coloured_noise(torch.from_numpy(white[None]), torch.tensor([decay]), length)[0].numpy()


@pytest.fixture(params=[coloured_noise, batched_coloured_noise], ids=["loader", "device"])
def colour(request: pytest.FixtureRequest):
    return request.param


def pool(tmp_path: Path, name: str, count: int, seconds: float) -> NoisePool:
    wavs = {f"{name}{i}": str(write_wav(tmp_path / name / f"{i}.wav", seconds, seed=200 + i)) for i in range(count)}
    return NoisePool(DataDir(wav_scp=wavs, utt2spk={u: u for u in wavs}), name, SR)


@pytest.fixture
def pools(tmp_path: Path) -> NoisePools:
    return NoisePools(
        noise=pool(tmp_path, "noise", 2, 3.0),
        babble=pool(tmp_path, "babble", 7, 3.0),
        music=pool(tmp_path, "music", 2, 6.0),
        reverb=pool(tmp_path, "rir", 2, 0.3),
    )


def only(kind: str, **probabilities: float) -> AugmentationConfig:
    return AugmentationConfig(
        **{"gain_prob": 0.0, "pitch_prob": 0.0, "coloured_noise_prob": 0.0, **probabilities}, kinds=[kind]
    )


def test_fast_pitch_ratios_are_the_reference_set() -> None:
    assert set(fast_pitch_ratios(16_000, (-4, 4))) == REFERENCE_RATIOS
    assert set(fast_pitch_ratios(8_000, (-4, 4))) == {Fraction(4, 5), Fraction(5, 4)}
    assert len(fast_pitch_ratios(48_000, (-4, 4))) == 12


def test_the_augmenter_draws_exactly_the_reference_ratios(pools: NoisePools, monkeypatch) -> None:
    drawn: list[Fraction] = []
    monkeypatch.setattr(augment, "pitch_shift", lambda samples, ratio, rate: drawn.append(ratio) or samples)
    augmenter = Augmenter(only("noise", pitch_prob=1.0), pools, SR)
    clean = (0.1 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    for seed in range(200):
        augmenter(clean, np.random.default_rng(seed))
    assert set(drawn) == REFERENCE_RATIOS and len(drawn) == 200
    with pytest.raises(ConfigError, match="augmentation.pitch_semitones"):
        Augmenter(only("noise", pitch_prob=0.2, pitch_semitones=(0.1, 0.2)), pools, SR)


def test_the_batched_path_groups_exactly_the_reference_ratios(pools: NoisePools) -> None:
    augmenter = Augmenter(only("noise", pitch_prob=1.0), pools, SR)
    packed = batch_augment.collate_draws([augmenter.draw(np.random.default_rng(seed), SR) for seed in range(200)], SR)
    assert {ratio for ratio, _ in packed.pitch_groups} == REFERENCE_RATIOS
    assert sorted(int(row) for _, rows in packed.pitch_groups for row in rows) == list(range(200))


@pytest.mark.parametrize("ratio", sorted(REFERENCE_RATIOS))
def test_pitch_shift_moves_a_tone_by_the_ratio_and_keeps_the_length(ratio: Fraction, path) -> None:
    tone = np.sin(2 * np.pi * 200 * np.arange(31_920) / SR).astype(np.float32)
    shifted = path(tone, signal_only(pitch_ratio=ratio, length=tone.shape[0]))
    spectrum = np.abs(np.fft.rfft(shifted * np.hanning(shifted.shape[0]), n=8 * SR))
    assert shifted.shape == tone.shape and shifted.dtype == np.float32
    assert np.argmax(spectrum) / 8 == pytest.approx(200 * float(ratio), abs=0.25)


@pytest.mark.parametrize("length", [400, 7_001, 32_480])
def test_our_phase_vocoder_is_torchaudios_to_the_bit(length: int) -> None:
    """The pitch shift's vocoder computes each frame's magnitude and phase once; its output must stay
    torchaudio's (and torch-pitch-shift's), element for element."""
    n_fft = SR // 64
    samples = torch.from_numpy(np.random.default_rng(length).standard_normal(length).astype(np.float32))
    spectrum = torch.stft(samples, n_fft, n_fft // 32, window=torch.ones(n_fft), return_complex=True)
    advance = torch.linspace(0, math.pi * (n_fft // 32), spectrum.shape[0])[..., None]
    for ratio in REFERENCE_RATIOS:
        expected = torchaudio.functional.phase_vocoder(spectrum, float(1 / ratio), advance)
        assert torch.equal(phase_vocoder(spectrum, float(1 / ratio), advance), expected), ratio


def shaping(colour, decay: float, seed: int = 3) -> np.ndarray:
    """The amplitude mask the noise was shaped with: its spectrum over that of the same white draw."""
    white = np.random.default_rng(seed).standard_normal(SR)
    mask = np.abs(np.fft.rfft(colour(white, decay, SR)) / np.fft.rfft(white))
    return mask / mask[0]  # the DC bin is never scaled


def test_coloured_noise_shapes_the_amplitude_spectrum(colour) -> None:
    np.testing.assert_allclose(shaping(colour, 1.0)[[1000, 8000]], [0.0829508, 0.0111803], rtol=1e-5)
    assert shaping(colour, 2.0)[8000] == pytest.approx(1.25e-4, rel=1e-5)
    assert shaping(colour, -2.0)[8000] == pytest.approx(8000, rel=1e-5)


@pytest.mark.parametrize("decay", [-2.0, -0.5, 1.0, 2.0])
def test_coloured_noise_power_slope_is_the_reference_rule(colour, decay: float) -> None:
    """Least-squares slope of log power against log frequency over 1-8 kHz: -1.9407 x decay (not -decay)."""
    bins = np.arange(1000, 8001)
    slope = np.polyfit(np.log(bins), np.log(shaping(colour, decay)[bins] ** 2), 1)[0]
    assert slope == pytest.approx(-1.9407 * decay, abs=2e-4)


def test_coloured_noise_repeats_every_second_at_unit_rms(colour) -> None:
    noise = colour(np.random.default_rng(4).standard_normal(SR), 1.0, 48_000)  # three periods
    np.testing.assert_array_equal(noise[:32_000], noise[SR:])
    assert np.sqrt(np.mean(noise[:SR] ** 2)) == pytest.approx(1.0, rel=1e-6)


def test_coloured_noise_is_added_at_its_snr(path) -> None:
    white = np.random.default_rng(4).standard_normal(SR)
    speech = (0.05 * np.random.default_rng(5).standard_normal(48_000)).astype(np.float32)  # three periods
    coloured = signal_only(coloured_decay=1.0, coloured_white=white, coloured_snr_db=12.0, length=48_000)
    added = path(speech, coloured).astype(np.float64) - speech
    np.testing.assert_allclose(added[:32_000], added[SR:], rtol=0, atol=1e-8)
    rms = lambda x: np.sqrt(np.mean(np.square(x, dtype=np.float64)))  # noqa: E731
    assert 20 * np.log10(rms(speech) / rms(added)) == pytest.approx(12.0, abs=1e-3)


def batched_scaled_noise(speech: np.ndarray, noises: list[np.ndarray], snr_db: float) -> np.ndarray:
    draws = AugmentationDraws(SR, "noise", noises=noises, snr_db=snr_db)
    packed = batch_augment.collate_draws([draws], speech.shape[0])
    return batch_augment.mixed_noise(torch.from_numpy(speech[None]), packed)[0].numpy()


@pytest.mark.parametrize("scale", [scaled_noise, batched_scaled_noise], ids=["loader", "device"])
def test_mixing_level_keeps_the_references_offset(scale) -> None:
    """level(x) = 10 log10(mean(x^2) + 1e-4): the reference's two worked examples."""
    length = 1000
    speech, noise = np.full(length, 0.1), np.full(length, 0.01)  # powers 1e-2 and 1e-4
    scaled = scale(speech, [noise], 10.0)
    assert scaled[0] / noise[0] == pytest.approx(2.247221, rel=1e-6)
    assert 10 * np.log10(1e-2 / np.mean(scaled.astype(np.float64) ** 2)) == pytest.approx(12.9671, abs=1e-4)
    equal = np.full(length, np.sqrt(1e-3))
    assert scale(equal, [equal], 10.0)[0] / equal[0] == pytest.approx(0.316228, rel=1e-5)


def test_babble_and_music_are_one_noise_at_one_snr(pools: NoisePools, path) -> None:
    """The 3-6 speech files and the music file are averaged with equal weights (music 1/(n + 1)) and that one
    noise is scaled to one SNR, drawn after the files."""
    clean = (0.1 * np.random.default_rng(6).standard_normal(SR)).astype(np.float32)
    noisy = path(clean, Augmenter(only("babble_music"), pools, SR).draw(np.random.default_rng(7), SR))
    replay = np.random.default_rng(7)
    for _ in range(3):  # the draws of gain, pitch shift and coloured noise (probability 0 here)
        replay.random()
    replay.integers(1)  # the choice among the one configured kind
    count = int(replay.integers(3, 7))
    files = pools.babble.draw(replay, SR, count) + pools.music.draw(replay, SR)
    snr = replay.uniform(0.0, 20.0)
    mixture = np.mean(np.stack(files), axis=0)
    added = noisy.astype(np.float64) - clean
    factor = float(np.dot(added, mixture) / np.dot(mixture, mixture))
    np.testing.assert_allclose(added, factor * mixture, atol=1e-6)  # one scaled average, nothing else
    assert level_db(clean) - level_db(mixture) - 20 * np.log10(factor) == pytest.approx(snr, abs=1e-4)
    assert len(files) == count + 1 and 3 <= count <= 6


@pytest.mark.parametrize(("seconds", "expected"), [(7.9, None), (8.0, 1), (10.9, 1), (11.0, 2), (4.0, None)])
def test_musan_windows_are_the_references(seconds: float, expected: int | None) -> None:
    """(len - 5 s) // 3 s windows of 5 s at a 3 s hop, one fewer than fit; a file with none stays whole."""
    num_samples = round(seconds * SR)
    cut = windows(num_samples, SR)
    if expected is None:
        assert cut == [(0, num_samples)]
    else:
        assert cut == [(k * 3 * SR, k * 3 * SR + 5 * SR) for k in range(expected)]

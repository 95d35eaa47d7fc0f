"""Additive noise, reverberation and signal-level augmentation, as the reference protocol describes it.

The same mixing function makes the training augmentation (on the fly) and the noisy test copies (offline),
so that "0 dB" means the same thing in both. Every random choice comes from a ``numpy.random.Generator``
the caller seeds, which is what makes both reproducible.

Mixing at an SNR (spec section 7): ``level(x) = 10 log10(mean(x^2) + 1e-4)``; each noise recording is
wrap-padded when short and cut at a random offset to the speech length; several recordings are averaged;
the average is scaled by ``sqrt(10^((level(speech) - level(noise) - snr) / 10))`` and added.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch
import torchaudio.functional as AF
from scipy.signal import fftconvolve, resample_poly

from diffsv.data.kaldi_dir import AudioRef, DataDir, DataDirError

NOISE_KINDS = ("reverb", "babble", "music", "noise", "babble_music")


def level_db(samples: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(np.square(samples, dtype=np.float64)) + 1e-4))


def fit_to_length(noise: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """Wrap-pad a short recording to ``length``; cut a long one at a random offset."""
    if noise.shape[0] < length:
        noise = np.pad(noise, (0, length - noise.shape[0]), mode="wrap")
    offset = int(rng.integers(0, noise.shape[0] - length + 1))
    return noise[offset : offset + length]


def scaled_noise(speech: np.ndarray, noises: Sequence[np.ndarray], snr_db: float) -> np.ndarray:
    """The average of ``noises`` (each already ``len(speech)`` long) scaled to ``snr_db`` below the speech."""
    noise = np.mean(np.stack(noises), axis=0) if len(noises) > 1 else noises[0]
    scale = np.sqrt(10.0 ** ((level_db(speech) - level_db(noise) - snr_db) / 10.0))
    return (scale * noise).astype(np.float32)


def reverberate(speech: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with a unit-norm RIR, truncated to the input length (the reference keeps the onset)."""
    rir = rir / max(float(np.linalg.norm(rir)), 1e-12)
    return fftconvolve(speech, rir)[: speech.shape[0]].astype(np.float32)


def pitch_shift(samples: np.ndarray, semitones: int, max_denominator: int = 24) -> np.ndarray:
    """Shift pitch, keeping the length: phase-vocoder time stretch by the ratio, then polyphase resampling.

    The ratio 2^(n/12) is approximated by a fraction with a small denominator (pitch error under 0.2 %),
    which keeps the resampling filter short; torchaudio's exact ratio costs about a second per crop.
    """
    ratio = Fraction(2.0 ** (semitones / 12.0)).limit_denominator(max_denominator)
    n_fft, hop = 512, 128
    window = torch.hann_window(n_fft)
    spectrum = torch.stft(torch.from_numpy(samples), n_fft, hop, window=window, return_complex=True)
    advance = torch.linspace(0, math.pi * hop, spectrum.shape[0])[..., None]
    stretched = AF.phase_vocoder(spectrum, 1.0 / float(ratio), advance)
    longer = torch.istft(stretched, n_fft, hop, window=window, length=int(round(samples.shape[0] * float(ratio))))
    shifted = resample_poly(longer.numpy(), ratio.denominator, ratio.numerator)
    length = samples.shape[0]
    return np.pad(shifted, (0, max(0, length - shifted.shape[0])))[:length].astype(np.float32)


def coloured_noise(length: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise whose power falls as f^-decay (0 white, 1 pink, 2 brown, negative: blue/violet)."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequencies = np.arange(1, spectrum.shape[0] + 1, dtype=np.float64)
    return np.fft.irfft(spectrum / frequencies ** (decay / 2.0), n=length).astype(np.float32)


class NoisePool:
    """The recordings of one data directory (e.g. ``data/musan_music_train``), read on demand."""

    def __init__(self, data: DataDir, name: str, sample_rate: int) -> None:
        self.name = name
        self.refs: list[AudioRef] = [data.audio_ref(utt) for utt in data.utt2spk]
        self.sample_rate = sample_rate
        if not self.refs:
            raise DataDirError(f"{name}: the noise data directory has no utterances")

    def __len__(self) -> int:
        return len(self.refs)

    def draw(self, rng: np.random.Generator, length: int, count: int = 1) -> list[np.ndarray]:
        """``count`` different recordings, each cut to ``length`` samples at a random offset."""
        picks = rng.choice(len(self.refs), size=min(count, len(self.refs)), replace=False)
        return [fit_to_length(self.refs[int(i)].read(self.sample_rate), length, rng) for i in picks]

    def draw_raw(self, rng: np.random.Generator) -> np.ndarray:
        return self.refs[int(rng.integers(len(self.refs)))].read(self.sample_rate)


@dataclass
class AugmentationConfig:
    """Defaults follow the spec; the ranges of pitch shift and coloured noise, which the spec leaves
    open, are torch-audiomentations' defaults, the library the reference used for these three."""

    gain_prob: float = 0.2
    gain_db: tuple[float, float] = (-15.0, 5.0)
    pitch_prob: float = 0.2
    pitch_semitones: tuple[int, int] = (-4, 4)
    coloured_noise_prob: float = 0.2
    coloured_noise_snr_db: tuple[float, float] = (3.0, 30.0)
    coloured_noise_decay: tuple[float, float] = (-2.0, 2.0)
    snr_db: tuple[float, float] = (0.0, 20.0)
    babble_speakers: tuple[int, int] = (3, 6)
    kinds: list[str] = field(default_factory=lambda: list(NOISE_KINDS))

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(NOISE_KINDS))
        if unknown or not self.kinds:
            raise ValueError(f"augmentation kinds must be a non-empty subset of {NOISE_KINDS}, got {self.kinds}")


@dataclass
class NoisePools:
    """The training noise sources: MUSAN train split (noise, speech for babble, music) and RIRs."""

    noise: NoisePool
    babble: NoisePool
    music: NoisePool
    rirs: NoisePool


class Augmenter:
    """Turns a clean crop into its noisy training input (spec section 7)."""

    def __init__(self, config: AugmentationConfig, pools: NoisePools, sample_rate: int) -> None:
        self.config = config
        self.pools = pools
        self.sample_rate = sample_rate

    def __call__(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        config = self.config
        speech = clean.astype(np.float32, copy=True)
        if rng.random() < config.gain_prob:
            speech *= np.float32(10.0 ** (rng.uniform(*config.gain_db) / 20.0))
        if rng.random() < config.pitch_prob:
            low, high = config.pitch_semitones
            steps = int(rng.choice([s for s in range(low, high + 1) if s != 0]))
            speech = pitch_shift(speech, steps)
        if rng.random() < config.coloured_noise_prob:
            noise = coloured_noise(speech.shape[0], rng.uniform(*config.coloured_noise_decay), rng)
            speech = speech + scaled_noise(speech, [noise], rng.uniform(*config.coloured_noise_snr_db))
        return self.add_noise(speech, config.kinds[int(rng.integers(len(config.kinds)))], rng)

    def add_noise(self, speech: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
        pools, length = self.pools, speech.shape[0]
        if kind == "reverb":
            return reverberate(speech, pools.rirs.draw_raw(rng))
        noisy = speech.copy()
        if kind in ("babble", "babble_music"):
            low, high = self.config.babble_speakers
            babble = pools.babble.draw(rng, length, int(rng.integers(low, high + 1)))
            noisy += scaled_noise(speech, babble, rng.uniform(*self.config.snr_db))
        if kind in ("music", "babble_music"):
            noisy += scaled_noise(speech, pools.music.draw(rng, length), rng.uniform(*self.config.snr_db))
        if kind == "noise":
            noisy += scaled_noise(speech, pools.noise.draw(rng, length), rng.uniform(*self.config.snr_db))
        return noisy

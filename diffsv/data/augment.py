"""Signal-level augmentation and the training noise kinds, as the reference protocol describes it.

Each crop gets gain, pitch shift and coloured noise with their own probabilities, then one noise kind:
reverberation or MUSAN mixed at an SNR (:mod:`diffsv.data.noise_mixing`, which stage 2's noisy test copies
share). Every random choice comes from a ``numpy.random.Generator`` the caller seeds, which is what makes
it reproducible. ``shared/reference/augmentation_reference.md`` gives the reference's rules, with its file
and line for each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch
import torchaudio.functional as AF
from scipy.signal import fftconvolve

from diffsv.config import ConfigError
from diffsv.data.noise_mixing import NoisePool, scaled_noise
from diffsv.protocol import TRAINING_POOLS

NOISE_KINDS = ("reverb", "babble", "music", "noise", "babble_music")
#: The pools (``NoisePools`` fields) each kind draws from.
POOLS_OF_KIND = {
    "reverb": ("reverb",),
    "babble": ("babble",),
    "music": ("music",),
    "noise": ("noise",),
    "babble_music": ("babble", "music"),
}


def reverberate(speech: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with a unit-norm RIR, truncated to the input length (the reference keeps the onset)."""
    rir = rir / max(float(np.linalg.norm(rir)), 1e-12)
    return fftconvolve(speech, rir)[: speech.shape[0]].astype(np.float32)


def fast_pitch_ratios(sample_rate: int, semitones: tuple[float, float]) -> list[Fraction]:
    """The pitch-shift ratios the reference draws from: every i/j of two divisors > 1 of the sample rate
    within ``semitones`` and not 1 (torch-pitch-shift's "fast" shifts; at 16 kHz 4/5, 125/128, 128/125, 5/4).

    The bounds are compared as torch-pitch-shift compares them, against ``Fraction(2.0 ** (s / 12))``.
    """
    divisors = [d for d in range(2, sample_rate + 1) if sample_rate % d == 0]
    low, high = (Fraction(2.0 ** (s / 12.0)) for s in semitones)
    return sorted({Fraction(i, j) for i in divisors for j in divisors if i != j and low <= Fraction(i, j) <= high})


def phase_vocoder(spectrum: torch.Tensor, rate: float, advance: torch.Tensor) -> torch.Tensor:
    """torchaudio's ``phase_vocoder`` of a (freq, frames) spectrum, each input frame's magnitude and phase
    computed once rather than once for every output frame that reads it: the same arithmetic on the same
    values, in about half the time (the pitch shift is most of the data loader's work)."""
    steps = torch.arange(0, spectrum.shape[-1], rate, dtype=advance.dtype)
    weights = steps % 1.0
    padded = torch.nn.functional.pad(spectrum, [0, 2])
    magnitude, angle = padded.abs(), padded.angle()
    before, after = steps.long(), steps.long() + 1
    phase = angle.index_select(-1, after) - angle.index_select(-1, before) - advance
    phase = phase - 2 * math.pi * torch.round(phase / (2 * math.pi)) + advance
    phase = torch.cat([angle[:, :1], phase[:, :-1]], dim=-1)
    stretched = weights * magnitude.index_select(-1, after) + (1 - weights) * magnitude.index_select(-1, before)
    return torch.polar(stretched, torch.cumsum(phase, -1))


def pitch_shift(samples: np.ndarray, ratio: Fraction, sample_rate: int) -> np.ndarray:
    """Raise the pitch by ``ratio`` (below 1 lowers it), keeping the length: torch-pitch-shift's algorithm.

    A centred rectangular-window STFT (n_fft = rate // 64, hop = n_fft // 32) is time-stretched by the
    phase vocoder to ``ratio`` times the length, inverted, resampled from ``rate`` to ``int(rate / ratio)``
    (torchaudio's windowed-sinc resampler, which a fast ratio keeps short) and cut or zero-padded at the
    end to the input length.
    """
    n_fft = sample_rate // 64
    hop = n_fft // 32
    window = torch.ones(n_fft)
    spectrum = torch.stft(torch.from_numpy(samples), n_fft, hop, window=window, return_complex=True)
    advance = torch.linspace(0, math.pi * hop, spectrum.shape[0])[..., None]
    stretched = phase_vocoder(spectrum, float(1 / ratio), advance)
    longer = torch.istft(stretched, n_fft, hop, window=window)
    shifted = AF.resample(longer, sample_rate, int(sample_rate / ratio)).numpy()
    length = samples.shape[0]
    return np.pad(shifted, (0, max(0, length - shifted.shape[0])))[:length].astype(np.float32)


def coloured_noise(length: int, decay: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise whose *amplitude* spectrum is shaped by ``(1 + k (sqrt(rate / 2) - 1) / (rate / 2))^-decay``
    at bin k of one second of white noise, tiled with a period of one second (torch-audiomentations'
    AddColoredNoise, which the reference used): the power falls about as f^(-2 decay) above a few hundred Hz.
    """
    spectrum = np.fft.rfft(rng.standard_normal(sample_rate))
    mask = np.linspace(1.0, math.sqrt(sample_rate / 2), spectrum.shape[0]) ** -decay
    period = np.fft.irfft(spectrum * mask, n=sample_rate)
    period /= np.sqrt(np.mean(np.square(period))) + 1e-8
    return np.resize(period, length)


def add_coloured_noise(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` plus unit-RMS ``noise`` scaled to RMS(speech) 10^(-snr/20), with no level offset."""
    rms = math.sqrt(float(np.mean(np.square(speech, dtype=np.float64))))
    return (speech + rms * 10.0 ** (-snr_db / 20.0) * noise).astype(np.float32)


@dataclass
class AugmentationConfig:
    """Defaults are the reference's (``augmentation_reference.md``): each transform's probability, the
    ranges of gain, pitch shift and coloured noise (torch-audiomentations' defaults, which the reference
    kept), one of ``kinds`` uniformly, MUSAN mixed at U(0, 20) dB."""

    gain_prob: float = 0.2
    gain_db: tuple[float, float] = (-15.0, 5.0)
    pitch_prob: float = 0.2
    pitch_semitones: tuple[float, float] = (-4.0, 4.0)
    coloured_noise_prob: float = 0.2
    coloured_noise_snr_db: tuple[float, float] = (3.0, 30.0)
    coloured_noise_decay: tuple[float, float] = (-2.0, 2.0)
    snr_db: tuple[float, float] = (0.0, 20.0)
    babble_speakers: tuple[int, int] = (3, 6)
    kinds: list[str] = field(default_factory=lambda: list(NOISE_KINDS))

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(NOISE_KINDS))
        if unknown or not self.kinds:
            raise ValueError(f"kinds must be a non-empty subset of {NOISE_KINDS}, got {self.kinds}")


@dataclass
class NoisePools:
    """The training noise sources, named as ``diffsv.protocol.TRAINING_POOLS`` names them: MUSAN's train split
    (noise, speech for babble, music) and the RIRs for reverberation; None for a pool whose corpus was not
    prepared (then no augmentation kind may need it)."""

    noise: NoisePool | None = None
    babble: NoisePool | None = None
    music: NoisePool | None = None
    reverb: NoisePool | None = None


class Augmenter:
    """Turns a clean crop into its noisy training input, in the reference's order: gain, pitch shift and
    coloured noise each with its own probability, then one of the noise kinds."""

    def __init__(self, config: AugmentationConfig, pools: NoisePools, sample_rate: int) -> None:
        self.config = config
        self.pools = pools
        self.sample_rate = sample_rate
        for kind in config.kinds:
            for needed in POOLS_OF_KIND[kind]:
                if getattr(pools, needed) is None:
                    raise ConfigError(
                        f"augmentation.kinds: '{kind}' needs the {needed} pool (data/{TRAINING_POOLS[needed]}), "
                        f"which was not prepared: give its corpus to stages 0-1 or leave '{kind}' out"
                    )
        self.pitch_ratios = fast_pitch_ratios(sample_rate, config.pitch_semitones)
        if config.pitch_prob > 0 and not self.pitch_ratios:
            raise ConfigError(
                f"augmentation.pitch_semitones: {list(config.pitch_semitones)} holds no fast pitch-shift ratio "
                f"at {sample_rate} Hz; widen it or set augmentation.pitch_prob to 0"
            )

    def __call__(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        config = self.config
        speech = clean.astype(np.float32, copy=True)
        if rng.random() < config.gain_prob:
            speech *= np.float32(10.0 ** (rng.uniform(*config.gain_db) / 20.0))
        if rng.random() < config.pitch_prob:
            ratio = self.pitch_ratios[int(rng.integers(len(self.pitch_ratios)))]
            speech = pitch_shift(speech, ratio, self.sample_rate)
        if rng.random() < config.coloured_noise_prob:
            decay = rng.uniform(*config.coloured_noise_decay)
            noise = coloured_noise(speech.shape[0], decay, self.sample_rate, rng)
            speech = add_coloured_noise(speech, noise, rng.uniform(*config.coloured_noise_snr_db))
        return self.add_noise(speech, config.kinds[int(rng.integers(len(config.kinds)))], rng)

    def add_noise(self, speech: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
        """Reverberation, or the chosen MUSAN files averaged into one noise and added at one SNR (babble
        + music is 3-6 speech files and a music file, averaged with equal weights)."""
        pools, length = self.pools, speech.shape[0]
        if kind == "reverb":
            return reverberate(speech, pools.reverb.draw_raw(rng))
        noises: list[np.ndarray] = []
        if kind in ("babble", "babble_music"):
            low, high = self.config.babble_speakers
            noises += pools.babble.draw(rng, length, int(rng.integers(low, high + 1)))
        if kind in ("music", "babble_music"):
            noises += pools.music.draw(rng, length)
        if kind == "noise":
            noises += pools.noise.draw(rng, length)
        return speech + scaled_noise(speech, noises, rng.uniform(*self.config.snr_db))

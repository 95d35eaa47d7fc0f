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
    rir = rir.astype(speech.dtype, copy=False)
    rir = rir / max(float(np.linalg.norm(rir)), 1e-12)
    return fftconvolve(speech, rir)[: speech.shape[0]].astype(speech.dtype)


def fast_pitch_ratios(sample_rate: int, semitones: tuple[float, float]) -> list[Fraction]:
    """The pitch-shift ratios the reference draws from: every i/j of two divisors > 1 of the sample rate
    within ``semitones`` and not 1 (torch-pitch-shift's "fast" shifts; at 16 kHz 4/5, 125/128, 128/125, 5/4).

    The bounds are compared as torch-pitch-shift compares them, against ``Fraction(2.0 ** (s / 12))``.
    """
    divisors = [d for d in range(2, sample_rate + 1) if sample_rate % d == 0]
    low, high = (Fraction(2.0 ** (s / 12.0)) for s in semitones)
    return sorted({Fraction(i, j) for i in divisors for j in divisors if i != j and low <= Fraction(i, j) <= high})


def phase_vocoder(spectrum: torch.Tensor, rate: float, advance: torch.Tensor) -> torch.Tensor:
    """torchaudio's ``phase_vocoder`` of a (..., freq, frames) spectrum, each input frame's magnitude and
    phase computed once rather than once for every output frame that reads it: the same arithmetic on the
    same values, in about half the time (the pitch shift is most of the data loader's work)."""
    steps = torch.arange(0, spectrum.shape[-1], rate, dtype=advance.dtype, device=advance.device)
    weights = steps % 1.0
    padded = torch.nn.functional.pad(spectrum, [0, 2])
    magnitude, angle = padded.abs(), padded.angle()
    before, after = steps.long(), steps.long() + 1
    phase = angle.index_select(-1, after) - angle.index_select(-1, before) - advance
    phase = phase - 2 * math.pi * torch.round(phase / (2 * math.pi)) + advance
    phase = torch.cat([angle[..., :1], phase[..., :-1]], dim=-1)
    stretched = weights * magnitude.index_select(-1, after) + (1 - weights) * magnitude.index_select(-1, before)
    return torch.polar(stretched, torch.cumsum(phase, -1))


def pitch_shift_tensor(samples: torch.Tensor, ratio: Fraction, sample_rate: int) -> torch.Tensor:
    """:func:`pitch_shift` of a (..., samples) tensor on its device and in its dtype: the per-crop path and
    the batched one (:mod:`diffsv.data.batch_augment`) run this same code."""
    n_fft = sample_rate // 64
    hop = n_fft // 32
    window = torch.ones(n_fft, dtype=samples.dtype, device=samples.device)
    spectrum = torch.stft(samples, n_fft, hop, window=window, return_complex=True)
    advance = torch.linspace(0, math.pi * hop, spectrum.shape[-2], dtype=samples.dtype, device=samples.device)
    stretched = phase_vocoder(spectrum, float(1 / ratio), advance[..., None])
    longer = torch.istft(stretched, n_fft, hop, window=window)
    shifted = AF.resample(longer, sample_rate, int(sample_rate / ratio))
    length = samples.shape[-1]
    return torch.nn.functional.pad(shifted, (0, max(0, length - shifted.shape[-1])))[..., :length]


def pitch_shift(samples: np.ndarray, ratio: Fraction, sample_rate: int) -> np.ndarray:
    """Raise the pitch by ``ratio`` (below 1 lowers it), keeping the length: torch-pitch-shift's algorithm.

    A centred rectangular-window STFT (n_fft = rate // 64, hop = n_fft // 32) is time-stretched by the
    phase vocoder to ``ratio`` times the length, inverted, resampled from ``rate`` to ``int(rate / ratio)``
    (torchaudio's windowed-sinc resampler, which a fast ratio keeps short) and cut or zero-padded at the
    end to the input length.
    """
    return pitch_shift_tensor(torch.from_numpy(samples), ratio, sample_rate).numpy()


def coloured_noise(white: np.ndarray, decay: float, length: int) -> np.ndarray:
    """Unit-RMS noise whose *amplitude* spectrum is ``white``'s (one second of N(0, 1) samples) shaped by
    ``(1 + k (sqrt(rate / 2) - 1) / (rate / 2))^-decay`` at bin k, tiled with a period of one second to
    ``length`` (torch-audiomentations' AddColoredNoise, which the reference used): the power falls about
    as f^(-2 decay) above a few hundred Hz.
    """
    sample_rate = white.shape[0]
    spectrum = np.fft.rfft(white)
    mask = np.linspace(1.0, math.sqrt(sample_rate / 2), spectrum.shape[0]) ** -decay
    period = np.fft.irfft(spectrum * mask, n=sample_rate)
    period /= np.sqrt(np.mean(np.square(period))) + 1e-8
    return np.resize(period, length)


def add_coloured_noise(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` plus unit-RMS ``noise`` scaled to RMS(speech) 10^(-snr/20), with no level offset."""
    rms = math.sqrt(float(np.mean(np.square(speech, dtype=np.float64))))
    return (speech + rms * 10.0 ** (-snr_db / 20.0) * noise).astype(speech.dtype)


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
        low, high = self.babble_speakers
        if not 1 <= low <= high:
            raise ValueError(f"babble_speakers must be two counts 1 <= low <= high, got {list(self.babble_speakers)}")


@dataclass
class NoisePools:
    """The training noise sources, named as ``diffsv.protocol.TRAINING_POOLS`` names them: MUSAN's train split
    (noise, speech for babble, music) and the RIRs for reverberation; None for a pool whose corpus was not
    prepared (then no augmentation kind may need it)."""

    noise: NoisePool | None = None
    babble: NoisePool | None = None
    music: NoisePool | None = None
    reverb: NoisePool | None = None


@dataclass
class AugmentationDraws:
    """Every random choice of one crop's augmentation and the noise it reads, and nothing computed from the
    crop: made in the data loader, applied there (:meth:`Augmenter.apply`) or on the training device with
    its batch (:mod:`diffsv.data.batch_augment`). A transform not drawn is None; ``noises`` holds the MUSAN
    windows of a mixing kind, each as long as the crop, and ``rir`` the whole response for reverberation."""

    sample_rate: int
    kind: str
    gain_db: float | None = None
    pitch_ratio: Fraction | None = None
    coloured_decay: float | None = None
    coloured_white: np.ndarray | None = None  # one second of N(0, 1), float64
    coloured_snr_db: float | None = None
    rir: np.ndarray | None = None
    noises: list[np.ndarray] = field(default_factory=list)
    snr_db: float | None = None


class Augmenter:
    """Turns a clean crop into its noisy training input, in the reference's order: gain, pitch shift and
    coloured noise each with its own probability, then one of the noise kinds.

    :meth:`draw` takes every random choice from the generator in the reference's order and reads the noise
    it chose; :meth:`apply` does the arithmetic, in the crop's dtype. Calling the augmenter does both.
    """

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
        return self.apply(clean, self.draw(rng, clean.shape[0]))

    def draw(self, rng: np.random.Generator, length: int) -> AugmentationDraws:
        """The draws for a crop of ``length`` samples, in the order the reference makes them."""
        config, pools = self.config, self.pools
        draws = AugmentationDraws(self.sample_rate, kind="")
        if rng.random() < config.gain_prob:
            draws.gain_db = float(rng.uniform(*config.gain_db))
        if rng.random() < config.pitch_prob:
            draws.pitch_ratio = self.pitch_ratios[int(rng.integers(len(self.pitch_ratios)))]
        if rng.random() < config.coloured_noise_prob:
            draws.coloured_decay = float(rng.uniform(*config.coloured_noise_decay))
            draws.coloured_white = rng.standard_normal(self.sample_rate)
            draws.coloured_snr_db = float(rng.uniform(*config.coloured_noise_snr_db))
        draws.kind = kind = config.kinds[int(rng.integers(len(config.kinds)))]
        if kind == "reverb":
            draws.rir = pools.reverb.draw_raw(rng)
            return draws
        if kind in ("babble", "babble_music"):
            low, high = config.babble_speakers
            draws.noises += pools.babble.draw(rng, length, int(rng.integers(low, high + 1)))
        if kind in ("music", "babble_music"):
            draws.noises += pools.music.draw(rng, length)
        if kind == "noise":
            draws.noises += pools.noise.draw(rng, length)
        draws.snr_db = float(rng.uniform(*config.snr_db))
        return draws

    @staticmethod
    def apply(clean: np.ndarray, draws: AugmentationDraws) -> np.ndarray:
        """The noisy crop the draws make of ``clean``: reverberation, or the chosen MUSAN files averaged into
        one noise and added at one SNR (babble + music is 3-6 speech files and a music file, averaged with
        equal weights)."""
        speech = np.array(clean, copy=True)
        if draws.gain_db is not None:
            speech *= speech.dtype.type(10.0 ** (draws.gain_db / 20.0))
        if draws.pitch_ratio is not None:
            speech = pitch_shift(speech, draws.pitch_ratio, draws.sample_rate)
        if draws.coloured_white is not None:
            noise = coloured_noise(draws.coloured_white, draws.coloured_decay, speech.shape[0])
            speech = add_coloured_noise(speech, noise, draws.coloured_snr_db)
        if draws.rir is not None:
            return reverberate(speech, draws.rir)
        return speech + scaled_noise(speech, draws.noises, draws.snr_db)

"""Noise mixed into speech at an SNR, and the pools of noise recordings it is drawn from.

The training augmentation (on the fly) and stage 2's noisy test copies (offline) both mix with these
functions, so that "0 dB" means the same thing in both; they need no torch, so stage 2's jobs start fast.

Mixing at an SNR (spec section 7): ``level(x) = 10 log10(mean(x^2) + 1e-4)``; each noise recording is
wrap-padded when short and cut at a random offset to the speech length; all the chosen recordings are
averaged into one noise; it is scaled by ``sqrt(10^((level(speech) - level(noise) - snr) / 10))`` and added.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from diffsv.data.audio import random_cut
from diffsv.data.kaldi_dir import AudioRefs, DataDir, DataDirError


def level_db(samples: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(np.square(samples, dtype=np.float64)) + 1e-4))


def wrap_to_length(noise: np.ndarray, length: int) -> np.ndarray:
    """A recording shorter than ``length`` wrap-padded by ``length - len + 1`` samples, so that it has two
    offsets, as the reference pads it; a longer one as it is."""
    if noise.shape[0] < length:
        return np.pad(noise, (0, length - noise.shape[0] + 1), mode="wrap")
    return noise


def fit_to_length(noise: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """Cut ``length`` samples at a random offset of the recording made long enough by :func:`wrap_to_length`."""
    return random_cut(wrap_to_length(noise, length), length, rng)


def scaled_noise(speech: np.ndarray, noises: Sequence[np.ndarray], snr_db: float) -> np.ndarray:
    """The average of ``noises`` (each already ``len(speech)`` long, taken in the speech's dtype) scaled to
    ``snr_db`` below the speech."""
    stacked = np.stack(noises).astype(speech.dtype, copy=False)
    noise = np.mean(stacked, axis=0) if len(noises) > 1 else stacked[0]
    scale = np.sqrt(10.0 ** ((level_db(speech) - level_db(noise) - snr_db) / 10.0))
    return (scale * noise).astype(speech.dtype)


class NoisePool:
    """The recordings of one data directory (e.g. ``data/musan_music_train``), read on demand: their
    locations and lengths (``utt2num_samples``) stay in memory, packed into arrays that the loader's workers
    share, so a draw reads only the samples it uses."""

    def __init__(self, data: DataDir, name: str, sample_rate: int) -> None:
        self.name = name
        self.refs: AudioRefs = data.audio_refs(list(data.utt2spk))
        self.sample_rate = sample_rate
        if not self.refs:
            raise DataDirError(f"{name}: the noise data directory has no utterances")

    def __len__(self) -> int:
        return len(self.refs)

    def draw(self, rng: np.random.Generator, length: int, count: int = 1) -> list[np.ndarray]:
        """``count`` different recordings, each cut to ``length`` samples at a random offset."""
        picks = rng.choice(len(self.refs), size=min(count, len(self.refs)), replace=False)
        return [self.refs[int(i)].random_window(self.sample_rate, length, rng, wrap_to_length) for i in picks]

    def draw_raw(self, rng: np.random.Generator) -> np.ndarray:
        return self.refs[int(rng.integers(len(self.refs)))].read(self.sample_rate)

"""Training examples from a Kaldi data directory: a random crop per utterance per epoch, its augmented copy,
the speaker label and the diffusion draws, all derived from (seed, epoch, index).

Held-out validation speakers are split off here too, so that model selection never sees the test trials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from diffsv.config import ConfigError
from diffsv.data.augment import Augmenter
from diffsv.data.example_draws import diffusion_draws, example_generator, example_rng
from diffsv.data.frontend_config import FrontendConfig
from diffsv.data.kaldi_dir import DataDir

#: Where the training augmentation's arithmetic runs: in the data loader, crop by crop, or on the training
#: device, batch by batch (the loader then only draws and reads; :mod:`diffsv.data.batch_augment`).
AugmentOn = Literal["device", "loader"]


def repeat_to_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Repeat a short utterance by concatenation, as the reference does before cropping."""
    if samples.shape[0] >= length:
        return samples
    return np.tile(samples, -(-length // samples.shape[0]))


@dataclass(frozen=True)
class SpeakerSplit:
    """Utterances for training and for validation; speakers of the two never overlap."""

    train_utts: list[str]
    validation_utts: list[str]
    speakers: list[str]  # training speakers; a speaker's label is its index here

    @property
    def spk2label(self) -> dict[str, int]:
        return {spk: label for label, spk in enumerate(self.speakers)}


def split_validation_speakers(utt2spk: Mapping[str, str], count: int, per_speaker: int, seed: int) -> SpeakerSplit:
    """Hold out ``count`` speakers (seeded choice), keeping up to ``per_speaker`` utterances of each."""
    speakers = sorted(set(utt2spk.values()))
    if count >= len(speakers):
        raise ConfigError(f"data.validation_speakers: cannot hold out {count} of the {len(speakers)} training speakers")
    rng = np.random.default_rng(seed)
    held_out = {speakers[i] for i in rng.choice(len(speakers), size=count, replace=False)} if count else set()
    validation: dict[str, list[str]] = {}
    train = []
    for utt in sorted(utt2spk):
        spk = utt2spk[utt]
        if spk in held_out:
            validation.setdefault(spk, []).append(utt)
        else:
            train.append(utt)
    validation_utts = sorted(utt for utts in validation.values() for utt in utts[:per_speaker])
    return SpeakerSplit(train, validation_utts, [spk for spk in speakers if spk not in held_out])


class SpeakerCrops(Dataset):
    """Indexed by ``(epoch, index)`` as :class:`diffsv.training.sampler.EpochBatchSampler` yields them.

    An item holds the clean crop and either its ``noisy`` copy (``augment_on="loader"``) or the ``draws``
    that make it on the training device (``"device"``); the draws are the same either way. The utterance
    table is a few numpy arrays, so that it is shared by the workers rather than copied into each.
    """

    def __init__(
        self,
        data: DataDir,
        utts: list[str],
        spk2label: Mapping[str, int],
        crop_samples: int,
        frontend: FrontendConfig,
        augmenter: Augmenter | None,
        seed: int,
        t_epsilon: float,
        augment_on: AugmentOn = "loader",
    ) -> None:
        self.refs = data.audio_refs(utts)
        self.labels = np.array([spk2label[data.utt2spk[utt]] for utt in utts], dtype=np.int64)
        self.crop_samples = crop_samples
        self.frontend = frontend
        self.augmenter = augmenter
        self.seed = seed
        self.frames = 1 + crop_samples // frontend.hop_length
        self.t_epsilon = t_epsilon
        self.augment_on = augment_on

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, object]:
        epoch, index = key
        rng = example_rng(self.seed, epoch, index)
        clean = self.refs[index].random_window(
            self.frontend.sample_rate, self.crop_samples, rng, repeat_to_length, self.frontend.win_length
        )
        if self.augmenter is None:
            augmented: dict[str, object] = {"noisy": torch.from_numpy(clean)}
        elif self.augment_on == "device":
            augmented = {"draws": self.augmenter.draw(rng, clean.shape[0])}
        else:
            noisy = self.augmenter(clean, rng)
            augmented = {"noisy": torch.from_numpy(np.ascontiguousarray(noisy, dtype=np.float32))}
        return {
            **augmented,
            "clean": torch.from_numpy(clean),
            "labels": torch.tensor(int(self.labels[index])),
            **diffusion_draws(
                example_generator(self.seed, epoch, index), self.frontend.n_mels, self.frames, self.t_epsilon
            ),
        }

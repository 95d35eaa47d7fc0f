"""Validation on held-out training speakers: EER of all utterance pairs, clean and with fixed noise.

Model selection uses these numbers (the reference chose its checkpoint on the test trials, which a
recipe must not do). Segments, noise and the sampler's starting noise are drawn once, from the seed, so
every epoch is measured on exactly the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from diffsv.config import ConfigError
from diffsv.data.augment import Augmenter
from diffsv.data.example_draws import example_generator, example_rng
from diffsv.data.kaldi_dir import DataDir
from diffsv.data.speaker_crops import repeat_to_length
from diffsv.metrics import eer
from diffsv.models import DiffSV

SELECTION_METRIC = "eer_noisy"
VALIDATION_EPOCH = 2**31  # seeds the validation draws; never a training epoch


class SpeakerValidator:
    def __init__(
        self,
        data: DataDir,
        utts: Sequence[str],
        augmenter: Augmenter | None,
        sample_rate: int,
        seconds: float,
        seed: int,
        batch_size: int = 16,
    ) -> None:
        length = int(seconds * sample_rate)
        speakers = [data.utt2spk[utt] for utt in utts]
        if len(set(speakers)) < 2:
            raise ConfigError("data.validation_speakers: validation needs at least two speakers")
        clean = [repeat_to_length(data.audio_ref(utt).read(sample_rate), length)[:length] for utt in utts]
        self.inputs = {"clean": torch.from_numpy(np.stack(clean).astype(np.float32))}
        if augmenter is not None:
            noisy = [augmenter(segment, example_rng(seed, VALIDATION_EPOCH, i)) for i, segment in enumerate(clean)]
            self.inputs["noisy"] = torch.from_numpy(np.stack(noisy).astype(np.float32))
        same = np.equal.outer(speakers, speakers)
        upper = np.triu_indices(len(utts), k=1)
        self.labels = same[upper].astype(np.int64)
        self.pairs = upper
        self.seed = seed
        self.batch_size = batch_size

    @torch.no_grad()
    def embed(self, model: DiffSV, wavs: torch.Tensor) -> torch.Tensor:
        device = next(model.parameters()).device
        fbank = model.frontend(wavs[:1].to(device))
        generator = example_generator(self.seed, VALIDATION_EPOCH, 0)
        noise = torch.randn(wavs.shape[0], *fbank.shape[1:], generator=generator)
        embeddings = []
        for start in range(0, wavs.shape[0], self.batch_size):
            batch = wavs[start : start + self.batch_size].to(device)
            init = noise[start : start + self.batch_size].to(device)
            embeddings.append(F.normalize(model.embed(batch, init_noise=init).float(), dim=1).cpu())
        return torch.cat(embeddings)

    def __call__(self, model: DiffSV) -> dict[str, float]:
        was_training = model.training
        model.eval()
        try:
            results = {}
            for condition, wavs in self.inputs.items():
                embeddings = self.embed(model, wavs)
                scores = (embeddings @ embeddings.T).numpy()[self.pairs]
                results[f"eer_{condition}"] = eer(scores, self.labels)
        finally:
            model.train(was_training)
        return results

"""The user-facing model: embed, score and verify audio with a trained experiment.

    import diffsv
    model = diffsv.load_model("exp/diffsv")          # or a model file: exp/diffsv/final.pt
    model.verify("enrol.wav", "test.flac")           # Verification(score=..., threshold=..., accepted=...)

Scoring is the recipe's (stage 5): every input is cut into the experiment's test segments, each
segment embedded, and two inputs score the mean cosine similarity of their segments, after subtracting
the experiment's mean embedding when stage 5 used one. The default threshold is the clean test set's EER
point from the experiment's ``results.json`` (none when stage 5 used AS-norm, which needs a cohort).
Audio may have any sample rate (resampled with torchaudio) and one or more channels (averaged). The
sampler's starting noise is seeded by the audio itself, so an input always gets the same embedding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchaudio

from diffsv.data.audio import AudioError, read_audio_file
from diffsv.embedding import Embedder, SegmentConfig, utterance_generator
from diffsv.experiment import Experiment, read_record
from diffsv.metrics import EER_THRESHOLD_KEY
from diffsv.models.diffsv import DiffSV
from diffsv.models.model_file import load_model_file
from diffsv.protocol import CLEAN, CLEAN_SET
from diffsv.scoring import embedding_table, load_mean

AudioInput = str | Path | np.ndarray | torch.Tensor

# Arrays with at most this many rows (or columns) are read as (channels, samples) (or (samples, channels)).
_MAX_CHANNELS = 16


@dataclass(frozen=True)
class Verification:
    score: float
    threshold: float
    accepted: bool  # True: the same speaker


def audio_key(samples: np.ndarray) -> str:
    """What seeds an input's starting noise: its content, so one input always gets one embedding."""
    return hashlib.sha256(samples.tobytes()).hexdigest()


def to_mono(samples: np.ndarray, source: str) -> np.ndarray:
    """A 1-D float32 signal from mono or multi-channel samples, (channels, N) or (N, channels)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2 and min(samples.shape) <= _MAX_CHANNELS:
        samples = samples.mean(axis=0 if samples.shape[0] < samples.shape[1] else 1)
    if samples.ndim != 1:
        raise AudioError(f"{source}: expected mono or (channels, samples) audio, got shape {samples.shape}")
    if samples.size == 0:
        raise AudioError(f"{source}: no samples")
    if not np.isfinite(samples).all():
        raise AudioError(f"{source}: samples are NaN or infinite")
    return samples


class SpeakerVerifier:
    """A trained model with the experiment's test protocol, mean embedding and threshold."""

    def __init__(
        self,
        model: DiffSV,
        segments: SegmentConfig | None = None,
        mean: np.ndarray | None = None,
        threshold: float | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
        source: str = "model",
        batch_size: int = 8,
    ) -> None:
        self.model = model
        self.segments = segments or SegmentConfig()
        self.mean = mean
        self.threshold = threshold
        self.source = source
        self._embedder = Embedder(model, torch.device(device), self.segments, batch_size, seed)

    @property
    def sample_rate(self) -> int:
        return self.model.config.frontend.sample_rate

    def load_audio(self, audio: AudioInput, sample_rate: int | None = None) -> np.ndarray:
        """Mono float32 samples at the model's rate from a file path or an array at ``sample_rate``."""
        if isinstance(audio, (str, Path)):
            read = read_audio_file(audio)
            samples, rate, source = read.samples, read.sample_rate, str(audio)
        else:
            if isinstance(audio, torch.Tensor):
                audio = audio.detach().cpu().numpy()
            samples, rate, source = audio, sample_rate or self.sample_rate, "audio array"
        mono = to_mono(samples, source)
        if rate != self.sample_rate:
            mono = torchaudio.functional.resample(torch.from_numpy(mono), rate, self.sample_rate).numpy()
        frame = self.model.config.frontend.win_length  # as stage 5: no spectrum to embed, an error, not padding
        if mono.shape[0] < frame:
            raise AudioError(f"{source}: {mono.shape[0]} samples, fewer than the {frame} of one frame")
        return mono

    def embed(self, audio: AudioInput, sample_rate: int | None = None) -> np.ndarray:
        """(segments, embed_dim) float32 segment embeddings of one input."""
        samples = self.load_audio(audio, sample_rate)
        ((_, embedding),) = self._embedder.embed([(audio_key(samples), samples)])
        return embedding

    def embed_all(self, inputs: Iterable[tuple[str, AudioInput]]) -> Iterator[tuple[str, np.ndarray]]:
        """(key, embedding) of each (key, input), batched; the key seeds the noise as the recipe's utterance id does."""
        return self._embedder.embed((key, self.load_audio(audio)) for key, audio in inputs)

    def front_end_views(self, audio: AudioInput, sample_rate: int | None = None) -> dict[str, np.ndarray]:
        """The whole input's noisy log-mel, the enhancer's prior x_hat and the diffusion output z0_hat, (n_mels, T)."""
        model = self.model
        if model.enhancer is None or model.diffusion is None:
            raise ValueError(f"{self.source}: a baseline model has no enhancer to show (architecture: baseline)")
        samples = self.load_audio(audio, sample_rate)
        device = next(model.parameters()).device
        generator = utterance_generator(self._embedder.seed, audio_key(samples))
        with torch.no_grad():
            fbank = model.frontend(torch.from_numpy(samples)[None].to(device))
            noise = torch.randn(fbank.shape, generator=generator).to(device)
            views = dict(zip(("noisy", "prior", "diffusion"), model.extractor_inputs(fbank, noise), strict=True))
        return {name: view[0].float().cpu().numpy() for name, view in views.items()}

    def similarity(self, embedding_a: np.ndarray, embedding_b: np.ndarray) -> float:
        """The recipe's score of two embeddings: mean segment cosine after the mean subtraction."""
        table = embedding_table({"a": embedding_a, "b": embedding_b}, self.source, self.mean)
        return float(table.vectors[0] @ table.vectors[1])

    def score(self, a: AudioInput, b: AudioInput, sample_rate: int | None = None) -> float:
        """Score of two inputs (paths or arrays at ``sample_rate``); higher means more alike."""
        return self.similarity(self.embed(a, sample_rate), self.embed(b, sample_rate))

    def verify(
        self, a: AudioInput, b: AudioInput, threshold: float | None = None, sample_rate: int | None = None
    ) -> Verification:
        """Accept when the score reaches ``threshold`` (the experiment's EER threshold by default)."""
        threshold = self.threshold if threshold is None else threshold
        if threshold is None:
            raise ValueError(
                f"{self.source}: no threshold given, and the experiment has none: its results.json (recipe stage 5, "
                "scored without AS-norm) records the EER threshold"
            )
        score = self.score(a, b, sample_rate)
        return Verification(score, float(threshold), score >= threshold)


def find_model_file(source: Path) -> Path:
    """The model file of an experiment directory (final.pt, else best.pt), or ``source`` itself."""
    if source.is_dir():
        return Experiment(source).trained_model()
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such model file or experiment directory")
    return source


def read_threshold(exp: Experiment, scoring: dict) -> float | None:
    """The clean EER threshold, if stage 5 scored as this class does (not with AS-norm)."""
    if scoring.get("asnorm_cohort"):
        return None
    return read_record(exp.results_json).get(CLEAN, {}).get(EER_THRESHOLD_KEY)


def load_model(
    source: str | Path,
    *,
    device: str = "auto",
    sampler: str | None = None,
    steps: int | None = None,
    segments: int | None = None,
    segment_samples: int | None = None,
    seed: int = 0,
) -> SpeakerVerifier:
    """A :class:`SpeakerVerifier` from an experiment directory or a model file.

    The experiment's recorded test protocol (segments, sampler) and mean embedding are used unless
    overridden here; ``sampler``/``steps`` select one of :data:`~diffsv.models.samplers.SAMPLERS`.
    """
    model_file = find_model_file(Path(source))
    exp = Experiment(model_file.parent)
    record = read_record(exp.embedding_record(CLEAN_SET))
    scoring = read_record(exp.scoring_record)
    model = load_model_file(model_file)
    model.use_sampler(record.get("sampler"), record.get("steps"))
    model.use_sampler(sampler, steps)
    protocol = SegmentConfig(
        segments if segments is not None else record.get("segments", SegmentConfig.segments),
        segment_samples
        if segment_samples is not None
        else record.get("segment_samples", SegmentConfig.segment_samples),
    )
    mean = load_mean(scoring["mean"]) if scoring.get("mean") else None
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return SpeakerVerifier(model, protocol, mean, read_threshold(exp, scoring), device, seed, str(model_file))

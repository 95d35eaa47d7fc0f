"""The user-facing model: embed, score and verify audio with a trained experiment.

    import diffsv
    model = diffsv.load_model("exp/diffsv")          # or a model file: exp/diffsv/final.pt
    model.verify("enrol.wav", "test.flac")           # Verification(score=..., threshold=..., accepted=..., llr=...)

Scoring is the recipe's (stage 5): every input is cut into the experiment's test segments, each
segment embedded, and two inputs score the mean cosine similarity of their segments, after subtracting
the experiment's mean embedding when stage 5 used one. The default threshold is the clean test set's EER
point from the experiment's ``results.json`` (none when stage 5 used AS-norm, which needs a cohort).
When the experiment has a calibration (``calibration.json``: ``diffsv calibrate``, or stage 5 with
``--calibrate-sets``), ``verify`` also reports the log-likelihood ratio and decides it by Bayes' rule at a
target prior (:data:`~diffsv.calibration.DEFAULT_TARGET_PRIOR` unless given), its quality measure taking
the durations of the two inputs.

Audio may have any sample rate (resampled with torchaudio) and one or more channels (averaged). The
sampler's starting noise is seeded by the audio itself, so an input always gets the same embedding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchaudio

from diffsv.calibration import DEFAULT_TARGET_PRIOR, Calibration, bayes_threshold
from diffsv.data.audio import AudioError, read_audio_file
from diffsv.embedding import Embedder, audio_generator
from diffsv.embedding_segments import SegmentConfig
from diffsv.embedding_store import file_digest
from diffsv.experiment import Experiment, read_record
from diffsv.metrics import EER_THRESHOLD_KEY
from diffsv.models.diffsv import DiffSV
from diffsv.models.model_file import load_model_file
from diffsv.protocol import CLEAN, CLEAN_SET
from diffsv.scoring import embedding_table, load_mean

AudioInput = str | Path | np.ndarray | torch.Tensor

MIN_SPEECH_SECONDS = 0.5
"""Inputs need this much audio above :data:`ENERGY_FLOOR_DB`: less is silence or a click, not a speaker."""
ENERGY_FLOOR_DB = -50.0

# Arrays with at most this many rows (or columns) are read as (channels, samples) (or (samples, channels)).
_MAX_CHANNELS = 16


@dataclass(frozen=True)
class Verification:
    """A decision: ``accepted`` (the same speaker) when ``llr`` (calibrated, at ``target_prior``) or else
    ``score`` reaches ``threshold``; ``llr`` is None without a calibration, ``target_prior`` None when the
    score decided."""

    score: float
    threshold: float
    accepted: bool
    llr: float | None = None
    target_prior: float | None = None


def as_float(samples: np.ndarray, source: str) -> np.ndarray:
    """Samples as float32 in [-1, 1]: integer PCM is scaled by its type's range (uint8 is offset binary)."""
    samples = np.asarray(samples)
    if samples.dtype == np.uint8:
        return (samples.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(samples.dtype, np.signedinteger):
        return (samples.astype(np.float64) / (np.iinfo(samples.dtype).max + 1)).astype(np.float32)
    if not np.issubdtype(samples.dtype, np.floating):
        raise AudioError(f"{source}: samples of type {samples.dtype} are not audio (float, int16/32 or uint8 PCM)")
    return samples.astype(np.float32, copy=False)


def to_mono(samples: np.ndarray, source: str) -> np.ndarray:
    """A 1-D float32 signal from mono or multi-channel samples, (channels, N) or (N, channels)."""
    samples = as_float(samples, source)
    if samples.ndim == 2 and min(samples.shape) <= _MAX_CHANNELS:
        samples = samples.mean(axis=0 if samples.shape[0] < samples.shape[1] else 1)
    if samples.ndim != 1:
        raise AudioError(f"{source}: expected mono or (channels, samples) audio, got shape {samples.shape}")
    if samples.size == 0:
        raise AudioError(f"{source}: no samples")
    if not np.isfinite(samples).all():
        raise AudioError(f"{source}: samples are NaN or infinite")
    return samples


def seconds_above(samples: np.ndarray, sample_rate: int, floor_db: float) -> float:
    """Seconds of 25 ms frames (10 ms apart) whose level is above ``floor_db`` dB full scale: a cheap
    measure of how much of an input could be speech (digital silence and a 0.1 s click have almost none)."""
    win, hop = sample_rate // 40, sample_rate // 100
    if samples.shape[0] < win:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float64), win)[::hop]
    level = 10.0 * np.log10(np.mean(np.square(frames), axis=1) + 1e-20)
    return float(np.count_nonzero(level > floor_db)) * hop / sample_rate


class SpeakerVerifier:
    """A trained model with the experiment's test protocol, mean embedding, threshold and calibration."""

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
        calibration: Calibration | None = None,
        min_speech: float = MIN_SPEECH_SECONDS,
        energy_floor_db: float = ENERGY_FLOOR_DB,
        precision: str = "fp32",
    ) -> None:
        self.model = model
        self.min_speech = min_speech
        self.energy_floor_db = energy_floor_db
        self.segments = segments or SegmentConfig()
        self.mean = mean
        self.threshold = threshold
        self.calibration = calibration
        self.source = source
        self._embedder = Embedder(model, torch.device(device), self.segments, batch_size, seed, precision)

    @property
    def sample_rate(self) -> int:
        return self.model.config.frontend.sample_rate

    def load_audio(self, audio: AudioInput, sample_rate: int | None = None) -> np.ndarray:
        """Mono float32 samples at the model's rate from a file path or an array at ``sample_rate`` (required:
        a rate guessed wrong gives a wrong embedding without a sign). Audio with less than ``min_speech``
        seconds above the energy floor is refused (``min_speech=0`` accepts it)."""
        if isinstance(audio, (str, Path)):
            read = read_audio_file(audio)
            samples, rate, source = read.samples, read.sample_rate, str(audio)
        else:
            if isinstance(audio, torch.Tensor):
                audio = audio.detach().cpu().numpy()
            if sample_rate is None:
                raise AudioError(
                    "audio array: give its sample_rate (e.g. model.embed(samples, sample_rate=16000)); "
                    "an array carries none"
                )
            samples, rate, source = audio, sample_rate, "audio array"
        mono = to_mono(samples, source)
        if rate != self.sample_rate:
            mono = torchaudio.functional.resample(torch.from_numpy(mono), rate, self.sample_rate).numpy()
        frame = self.model.config.frontend.win_length  # as stage 5: no spectrum to embed, an error, not padding
        if mono.shape[0] < frame:
            raise AudioError(f"{source}: {mono.shape[0]} samples, fewer than the {frame} of one frame")
        active = seconds_above(mono, self.sample_rate, self.energy_floor_db)
        if active < self.min_speech:
            raise AudioError(
                f"{source}: {active:.2f} s above {self.energy_floor_db:g} dBFS, less than the {self.min_speech:g} s "
                "of speech needed for a meaningful embedding (silence or a very short clip?); "
                "min_speech=0 (diffsv --allow-short) embeds it anyway"
            )
        return mono

    def embed(self, audio: AudioInput, sample_rate: int | None = None) -> np.ndarray:
        """(segments, embed_dim) float32 segment embeddings of one input."""
        (embedding,) = self._embed_loaded([self.load_audio(audio, sample_rate)])
        return embedding

    def _embed_loaded(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Embeddings of inputs already through :meth:`load_audio`, in one batch."""
        return [embedding for _, embedding in self._embedder.embed((str(k), x) for k, x in enumerate(inputs))]

    def embed_all(self, inputs: Iterable[tuple[str, AudioInput]]) -> Iterator[tuple[str, np.ndarray]]:
        """(key, embedding) of each (key, path), batched; each embedding is the one :meth:`embed` gives."""
        return self._embedder.embed((key, self.load_audio(audio)) for key, audio in inputs)

    def front_end_views(self, audio: AudioInput, sample_rate: int | None = None) -> dict[str, np.ndarray]:
        """The whole input's noisy log-mel, the enhancer's prior x_hat and the diffusion output z0_hat, (n_mels, T)."""
        model = self.model
        if model.enhancer is None or model.diffusion is None:
            raise ValueError(f"{self.source}: a baseline model has no enhancer to show (architecture: baseline)")
        samples = self.load_audio(audio, sample_rate)
        device = next(model.parameters()).device
        generator = audio_generator(self._embedder.seed, samples)
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
        return self.similarity(*self._embed_loaded([self.load_audio(x, sample_rate) for x in (a, b)]))

    def verify(
        self,
        a: AudioInput,
        b: AudioInput,
        threshold: float | None = None,
        sample_rate: int | None = None,
        target_prior: float = DEFAULT_TARGET_PRIOR,
    ) -> Verification:
        """Same speaker or not. Calibrated and without ``threshold``: accept when the LLR reaches the Bayes
        threshold at ``target_prior``. Otherwise: accept when the score reaches ``threshold`` (the experiment's
        EER threshold by default); the LLR is still reported when there is a calibration."""
        calibrated = self.calibration is not None and threshold is None
        if calibrated:
            threshold = bayes_threshold(target_prior)
        elif threshold is None:
            threshold = self.threshold
        if threshold is None:
            raise ValueError(
                f"{self.source}: no threshold given, and the experiment has none: its results.json (recipe stage 5, "
                "scored without AS-norm) records the EER threshold, and its calibration.json (diffsv calibrate) "
                "makes decisions at a target prior"
            )
        samples = [self.load_audio(audio, sample_rate) for audio in (a, b)]
        score = self.similarity(*self._embed_loaded(samples))
        if self.calibration is None:
            return Verification(score, float(threshold), score >= threshold)
        durations = [[len(side) / self.sample_rate for side in samples]]
        llr = float(self.calibration.llr([score], durations)[0])
        if calibrated:
            return Verification(score, threshold, llr >= threshold, llr, target_prior)
        return Verification(score, float(threshold), score >= threshold, llr)


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


def read_calibration(exp: Experiment, model_file: Path) -> Calibration | None:
    """The experiment's calibration, if it has one; an error when it was fitted to another model file's
    scores (an LLR means nothing for a model other than the one it was fitted to)."""
    if not exp.calibration_file.is_file():
        return None
    calibration = Calibration.from_json(exp.calibration_file)
    if calibration.model_sha256 not in (None, file_digest(model_file)):
        raise ValueError(
            f"{exp.calibration_file}: fitted to the scores of another model file than {model_file}: fit it again "
            "(diffsv calibrate, or recipe stage 5 with --calibrate-sets) or remove it"
        )
    return calibration


def load_model(
    source: str | Path,
    *,
    device: str = "auto",
    sampler: str | None = None,
    steps: int | None = None,
    segments: int | str | None = "all",
    segment_samples: int | None = None,
    min_speech: float = MIN_SPEECH_SECONDS,
    seed: int = 0,
    precision: str | None = None,
) -> SpeakerVerifier:
    """A :class:`SpeakerVerifier` from an experiment directory or a model file.

    The experiment's recorded sampler, segment length, mean embedding, threshold and calibration are used
    unless overridden here; ``sampler``/``steps`` select one of :data:`~diffsv.models.samplers.SAMPLERS`.
    ``segments="all"`` embeds the whole of each input (windows of the segment length covering it); a count
    N takes N evenly spaced windows, and None the experiment's stage-5 protocol (the paper's: 4).
    ``precision`` (:mod:`diffsv.utils.arithmetic`) is by default stage 5's, which the experiment's threshold
    and calibration were fitted on; bf16 on the CPU is not bf16 on a GPU (embedding.json says which device).
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
    threshold = read_threshold(exp, scoring)
    calibration = read_calibration(exp, model_file)
    return SpeakerVerifier(
        model,
        protocol,
        mean,
        threshold,
        device,
        seed,
        str(model_file),
        calibration=calibration,
        min_speech=min_speech,
        precision=precision or record.get("precision", "fp32"),
    )

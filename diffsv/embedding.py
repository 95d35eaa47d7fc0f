"""Test-time embeddings: segments of each utterance, batched across utterances.

The reference protocol (stage 5; spec section 7: 4 x 159,920 samples): an utterance gives ``segments``
windows of ``segment_samples`` at evenly spaced offsets from 0 to ``len - segment_samples`` (truncated to
integers); one not longer than a window is wrap-padded to it. ``segments="all"`` (the inference API's
default) covers the whole recording instead: as many windows as it takes to cover it, evenly spaced and
overlapping where needed, at most :data:`MAX_SEGMENTS`.

The sampler's starting noise is seeded by the audio itself (:func:`audio_generator`), so the same audio
gets the same embedding whatever it is called, in whichever batch, job or path it is computed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kaldiio
import numpy as np
import torch
from tqdm import tqdm

from diffsv.data.kaldi_dir import DataDirError, read_data_dir
from diffsv.experiment import EMBEDDING_RECORD, read_record
from diffsv.models import DiffSV
from diffsv.utils.fileio import atomic_open

NOISE_SEEDED_BY = "audio"
"""Recorded with embeddings: those of a toolkit that seeded the noise by utterance id are made again."""
MAX_SEGMENTS = 30
"""The most windows ``segments="all"`` takes (5 minutes of the paper's 10 s windows): longer audio is
sampled by evenly spaced windows rather than covered."""


@dataclass(frozen=True)
class SegmentConfig:
    """Windows per utterance (a count, or ``"all"`` to cover the recording) and samples per window."""

    segments: int | str = 4
    segment_samples: int = 159_920

    def __post_init__(self) -> None:
        count_ok = self.segments == "all" or (isinstance(self.segments, int) and self.segments >= 1)
        if not count_ok or self.segment_samples < 1:
            raise ValueError(
                f"segments must be 'all' or at least 1 and segment samples at least 1, "
                f"got {self.segments!r} x {self.segment_samples}"
            )

    def count(self, samples: int) -> int:
        """How many windows an utterance of ``samples`` samples gives."""
        if self.segments != "all":
            return int(self.segments)
        return min(MAX_SEGMENTS, max(1, -(-samples // self.segment_samples)))


def utterance_segments(samples: np.ndarray, config: SegmentConfig) -> np.ndarray:
    """(segments, segment_samples) windows of one utterance."""
    length, count = config.segment_samples, config.count(samples.shape[0])
    if samples.shape[0] <= length:
        return np.tile(np.pad(samples, (0, length - samples.shape[0]), mode="wrap"), (count, 1))
    starts = np.linspace(0, samples.shape[0] - length, count).astype(np.int64)
    return np.stack([samples[start : start + length] for start in starts])


def audio_generator(seed: int, samples: np.ndarray) -> torch.Generator:
    """The generator of an utterance's starting noise, seeded by its samples (float32 at the model's rate):
    one recording always gets one embedding, whether stage 5, ``diffsv embed`` or the API computed it."""
    digest = hashlib.sha256(np.ascontiguousarray(samples, dtype=np.float32).tobytes()).digest()
    return torch.Generator().manual_seed((seed * 1_000_003 + int.from_bytes(digest[:7], "little")) % 2**63)


#: Arithmetic of the embedding forward pass: fp32, or bf16 autocast (on GPUs; embeddings are returned in fp32).
PRECISIONS = ("fp32", "bf16")


class Embedder:
    """Embeds utterances in batches of up to ``batch_size`` segments on ``device``.

    An utterance's embedding does not depend on the batch it is in (its starting noise is seeded by its
    audio), so any ``batch_size`` and any device give the same embeddings up to float rounding.
    """

    def __init__(
        self,
        model: DiffSV,
        device: torch.device,
        segments: SegmentConfig,
        batch_size: int = 8,
        seed: int = 0,
        precision: str = "fp32",
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision '{precision}'; choose one of {', '.join(PRECISIONS)}")
        self.model = model.to(device).eval()
        self.device = device
        self.precision = precision
        self.segments = segments
        self.batch_size = batch_size
        self.seed = seed
        frames = 1 + segments.segment_samples // model.config.frontend.hop_length
        self.noise_shape = (model.config.frontend.n_mels, frames)

    def _run(self, batch: list[tuple[str, np.ndarray, torch.Generator]]) -> list[tuple[str, np.ndarray]]:
        wavs = torch.from_numpy(np.concatenate([windows for _, windows, _ in batch])).to(self.device)
        noise = torch.cat(
            [torch.randn(windows.shape[0], *self.noise_shape, generator=generator) for _, windows, generator in batch]
        ).to(self.device)
        bf16 = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")
        with torch.no_grad(), bf16:
            embeddings = self.model.embed(wavs, init_noise=noise).float().cpu().numpy()
        out, row = [], 0
        for utt, windows, _ in batch:
            out.append((utt, embeddings[row : row + windows.shape[0]]))
            row += windows.shape[0]
        return out

    def embed(self, utterances: Iterable[tuple[str, np.ndarray]]) -> Iterator[tuple[str, np.ndarray]]:
        """(utt, samples) -> (utt, (segments, embed_dim) float32), in input order."""
        batch: list[tuple[str, np.ndarray, torch.Generator]] = []
        size = 0
        for utt, samples in utterances:
            samples = samples.astype(np.float32, copy=False)
            windows = utterance_segments(samples, self.segments)
            if batch and size + windows.shape[0] > self.batch_size:
                yield from self._run(batch)
                batch, size = [], 0
            batch.append((utt, windows, audio_generator(self.seed, samples)))
            size += windows.shape[0]
        if batch:
            yield from self._run(batch)


def write_embeddings(ark: Path, scp: Path, embeddings: Iterable[tuple[str, np.ndarray]]) -> int:
    """Write a Kaldi ``xvector.ark`` and its ``.scp`` (absolute offsets), each renamed into place when complete.

    Returns the number of embeddings written.
    """
    tmp_ark = ark.with_name(f".{ark.name}.tmp")
    lines = []
    with open(tmp_ark, "wb") as handle:
        for utt, embedding in embeddings:
            handle.write(f"{utt} ".encode())  # Kaldi archive entry: "key " then the binary matrix
            offset = handle.tell()
            kaldiio.save_mat(handle, np.asarray(embedding, dtype=np.float32))
            lines.append(f"{utt} {ark.resolve()}:{offset}\n")
    tmp_ark.replace(ark)
    with atomic_open(scp) as handle:
        handle.writelines(lines)
    return len(lines)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def embedding_record(
    model_file: Path, model: DiffSV, segments: SegmentConfig, seed: int, precision: str = "fp32"
) -> dict[str, Any]:
    """How embeddings are made: the model file (by content, so a retrained model makes old embeddings
    stale), the segments, the seed of the starting noise and what it is derived from, the sampler ``model``
    is set to use and the arithmetic (the batch size and device are left out: they do not change an
    embedding)."""
    diffusion = model.config.diffusion
    return {
        "model": str(model_file.resolve()),
        "model_sha256": file_digest(model_file),
        "segments": segments.segments,
        "segment_samples": segments.segment_samples,
        "seed": seed,
        "noise_seeded_by": NOISE_SEEDED_BY,
        "sampler": diffusion.sampler,
        "steps": diffusion.steps,
        "precision": precision,
    }


def write_embedding_record(out: Path, record: dict[str, Any]) -> None:
    with atomic_open(out / EMBEDDING_RECORD) as handle:
        json.dump(record, handle, indent=2)


def scp_keys(path: Path) -> list[str]:
    return sorted(line.split(maxsplit=1)[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def embeddings_current(out: Path, record: dict[str, Any], utterances: Sequence[str]) -> bool:
    """Whether ``out/xvector.scp`` holds exactly ``utterances``, made as ``record`` says."""
    scp = out / "xvector.scp"
    try:
        return scp.is_file() and read_record(out / EMBEDDING_RECORD) == record and scp_keys(scp) == sorted(utterances)
    except ValueError:  # a corrupt record: embed again
        return False


def embed_data_dir(embedder: Embedder, data_dir: Path, utts: Sequence[str] | None, out: Path, name: str) -> int:
    """Embed ``utts`` of a data directory (all of them when None) into ``out/<name>.{ark,scp}``."""
    data = read_data_dir(data_dir)
    utts = list(data.utt2spk) if utts is None else list(utts)
    unknown = [utt for utt in utts if utt not in data.utt2spk]
    if unknown:
        raise DataDirError(f"{data_dir}: utterance '{unknown[0]}' is not in its utt2spk")
    out.mkdir(parents=True, exist_ok=True)
    frontend = embedder.model.config.frontend
    # An utterance shorter than one analysis frame has no spectrum to embed: an error, not padding.
    audio = ((utt, data.audio_ref(utt).read(frontend.sample_rate, min_samples=frontend.win_length)) for utt in utts)
    progress = tqdm(embedder.embed(audio), total=len(utts), unit=" utt", desc=str(data_dir))
    return write_embeddings(out / f"{name}.ark", out / f"{name}.scp", progress)

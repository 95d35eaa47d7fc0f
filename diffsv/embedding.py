"""Test-time embeddings with the reference protocol: fixed segments per utterance, batched across utterances.

An utterance gives ``segments`` windows of ``segment_samples`` at evenly spaced offsets from 0 to
``len - segment_samples`` (truncated to integers); one not longer than a window is wrap-padded to it
(spec section 7: 4 x 159,920 samples). The sampler's starting noise is seeded by the utterance id, so an
embedding does not depend on the batch it was computed in or on how the work was split into jobs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import kaldiio
import numpy as np
import torch

from diffsv.models import DiffSV
from diffsv.utils.fileio import atomic_open

#: Stage 5 records the protocol of a set's embeddings in this JSON file beside its xvector.scp.
EMBEDDING_RECORD = "embedding.json"


@dataclass(frozen=True)
class SegmentConfig:
    segments: int = 4
    segment_samples: int = 159_920

    def __post_init__(self) -> None:
        if self.segments < 1 or self.segment_samples < 1:
            raise ValueError(
                f"segments and segment samples must be at least 1, got {self.segments} x {self.segment_samples}"
            )


def utterance_segments(samples: np.ndarray, config: SegmentConfig) -> np.ndarray:
    """(segments, segment_samples) windows of one utterance."""
    length = config.segment_samples
    if samples.shape[0] <= length:
        return np.tile(np.pad(samples, (0, length - samples.shape[0]), mode="wrap"), (config.segments, 1))
    starts = np.linspace(0, samples.shape[0] - length, config.segments).astype(np.int64)
    return np.stack([samples[start : start + length] for start in starts])


def utterance_generator(seed: int, utt: str) -> torch.Generator:
    digest = hashlib.sha256(utt.encode()).digest()
    return torch.Generator().manual_seed((seed * 1_000_003 + int.from_bytes(digest[:7], "little")) % 2**63)


class Embedder:
    """Embeds utterances in batches of up to ``batch_size`` segments on ``device``."""

    def __init__(
        self,
        model: DiffSV,
        device: torch.device,
        segments: SegmentConfig,
        batch_size: int = 8,
        seed: int = 0,
    ) -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.segments = segments
        self.batch_size = max(batch_size, segments.segments)
        self.seed = seed
        frames = 1 + segments.segment_samples // model.config.frontend.hop_length
        self.noise_shape = (model.config.frontend.n_mels, frames)

    def _run(self, batch: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
        wavs = torch.from_numpy(np.concatenate([windows for _, windows in batch])).to(self.device)
        noise = torch.cat(
            [
                torch.randn(windows.shape[0], *self.noise_shape, generator=utterance_generator(self.seed, utt))
                for utt, windows in batch
            ]
        ).to(self.device)
        with torch.no_grad():
            embeddings = self.model.embed(wavs, init_noise=noise).float().cpu().numpy()
        out, row = [], 0
        for utt, windows in batch:
            out.append((utt, embeddings[row : row + windows.shape[0]]))
            row += windows.shape[0]
        return out

    def embed(self, utterances: Iterable[tuple[str, np.ndarray]]) -> Iterator[tuple[str, np.ndarray]]:
        """(utt, samples) -> (utt, (segments, embed_dim) float32), in input order."""
        batch: list[tuple[str, np.ndarray]] = []
        size = 0
        for utt, samples in utterances:
            windows = utterance_segments(samples.astype(np.float32), self.segments)
            if batch and size + windows.shape[0] > self.batch_size:
                yield from self._run(batch)
                batch, size = [], 0
            batch.append((utt, windows))
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

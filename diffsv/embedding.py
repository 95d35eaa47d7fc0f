"""Test-time embeddings: segments of each utterance, batched across utterances.

The windows an utterance gives are defined in :mod:`diffsv.embedding_segments`; the embeddings are written,
with the record of how they were made, by :mod:`diffsv.embedding_store` (both torch-free).

The sampler's starting noise is seeded by the audio itself (:func:`audio_generator`), so the same audio
gets the same embedding whatever it is called, in whichever batch, job or path it is computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from diffsv.data.kaldi_dir import DataDirError, read_data_dir
from diffsv.embedding_segments import SegmentConfig, utterance_segments
from diffsv.embedding_store import write_embeddings
from diffsv.models import DiffSV
from diffsv.utils.arithmetic import PRECISIONS, arithmetic


def audio_generator(seed: int, samples: np.ndarray) -> torch.Generator:
    """The generator of an utterance's starting noise, seeded by its samples (float32 at the model's rate):
    one recording always gets one embedding, whether stage 5, ``diffsv embed`` or the API computed it."""
    digest = hashlib.sha256(np.ascontiguousarray(samples, dtype=np.float32).tobytes()).digest()
    return torch.Generator().manual_seed((seed * 1_000_003 + int.from_bytes(digest[:7], "little")) % 2**63)


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
        with torch.no_grad(), arithmetic(self.precision, self.device):
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

"""Test-time embeddings on disk: Kaldi ``xvector.{ark,scp}`` and the record of how they were made
(``embedding.json``), which decides whether a set is embedded again. Torch-free, so that stage 5's finish
step (``diffsv.evaluation.finishing``) merges and records the jobs' shares without importing torch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kaldiio
import numpy as np

from diffsv.embedding_segments import SegmentConfig
from diffsv.experiment import EMBEDDING_RECORD, read_record
from diffsv.utils.fileio import atomic_open

if TYPE_CHECKING:
    from diffsv.models import DiffSV

NOISE_SEEDED_BY = "audio"
"""Recorded with embeddings: those of a toolkit that seeded the noise by utterance id are made again."""


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
    model_file: Path, model: DiffSV, segments: SegmentConfig, seed: int, precision: str = "fp32", device: str = "cpu"
) -> dict[str, Any]:
    """How embeddings are made: the model file (by content, so a retrained model makes old embeddings
    stale), the segments, the seed of the starting noise and what it is derived from, the sampler ``model``
    is set to use, the arithmetic (:mod:`diffsv.utils.arithmetic`) and the device type, since a GPU's
    arithmetic is not exactly the CPU's: the shares of one set are all made alike. (The batch size is left
    out: it does not change an embedding.)"""
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
        "device": device,
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

"""Whether an audio file holds every sample its header declares, so that stage 1 catches a half-downloaded corpus.

libsndfile forgives a cut file: for a WAV whose data chunk runs past the end of the file it reports, and
reads, only what is there, so a truncated recording would pass as a short one. What is checked, per
container, is what can be checked without decoding the audio (VoxCeleb1 alone has 153,516 files):

- WAV (RIFF, and RF64 with its 64-bit sizes): the size the data chunk declares against the bytes after
  its start, reading only the chunk headers. A RIFF data size of 0xFFFFFFFF is a streaming writer's
  "unknown" and means "to the end of the file".
- FLAC: the header's sample count is confirmed by decoding the last sample (libsndfile seeks there and
  decodes one block); a cut file cannot be decoded that far. Its actual length would take a full
  decode, so only the declared one is reported.
- Other containers (AIFF, Ogg, ...): libsndfile's view is taken as it is; a cut one reads as shorter.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

import soundfile

_UNKNOWN_SIZE = 0xFFFFFFFF
_EXTENSIBLE = 0xFFFE
_ONE_BLOCK_PER_SAMPLE = {1, 3, 6, 7}
"""WAVE format tags whose block is one sample frame: PCM, IEEE float, A-law, mu-law (ADPCM and GSM blocks
hold many)."""


@dataclass(frozen=True)
class DataChunk:
    """A WAV data chunk: the bytes its header declares, the bytes the file holds from its start (``offset``),
    the bytes per sample frame (None for codecs whose blocks hold many frames), and the format chunk's
    sample format (the tag, the sub-format's for an extensible header), channels, rate and bits."""

    declared: int
    present: int
    frame_bytes: int | None
    offset: int = 0
    tag: int | None = None
    channels: int = 0
    sample_rate: int = 0
    bits: int = 0


def read_data_chunk(file: BinaryIO) -> DataChunk | None:
    """The data chunk of the RIFF or RF64 WAVE file open as ``file``, from its chunk headers, or None if it has
    none to find."""
    size = os.fstat(file.fileno()).st_size
    head = file.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:] != b"WAVE":
        return None
    long_size: int | None = None  # RF64: the data size, from the ds64 chunk
    fmt: dict[str, int | None] = {"frame_bytes": None}
    while len(header := file.read(8)) == 8:
        name, chunk_size = header[:4], struct.unpack_from("<I", header, 4)[0]
        start = file.tell()
        if name == b"ds64" and len(body := file.read(16)) == 16:
            long_size = struct.unpack_from("<Q", body, 8)[0]
        elif name == b"fmt " and len(body := file.read(min(chunk_size, 26))) >= 14:
            tag, channels, rate, _, block_align = struct.unpack_from("<HHIIH", body)
            bits = struct.unpack_from("<H", body, 14)[0] if len(body) >= 16 else 0
            if tag == _EXTENSIBLE and len(body) == 26:  # the sub-format GUID starts with the real tag
                tag = struct.unpack_from("<H", body, 24)[0]
            frame_bytes = block_align if tag in _ONE_BLOCK_PER_SAMPLE and block_align > 0 else None
            fmt = {"frame_bytes": frame_bytes, "tag": tag, "channels": channels, "sample_rate": rate, "bits": bits}
        elif name == b"data":
            declared = chunk_size
            if chunk_size == _UNKNOWN_SIZE:
                declared = long_size if long_size is not None else size - start
            return DataChunk(declared, size - start, offset=start, **fmt)
        file.seek(start + chunk_size + chunk_size % 2)  # chunks are padded to an even size
    return None


_PCM = 1


def is_pcm16(chunk: DataChunk | None) -> bool:
    """16-bit PCM with a sample frame per block: the WAVs read (and probed) from their headers alone, without
    libsndfile, in a fraction of its time; libsndfile reads them to the same samples and length."""
    return (
        chunk is not None
        and chunk.tag == _PCM
        and chunk.bits == 16
        and chunk.channels >= 1
        and chunk.frame_bytes == 2 * chunk.channels
    )


def chunk_truncation(chunk: DataChunk) -> str | None:
    """Why a WAV's data chunk holds fewer bytes than it declares, or None."""
    if chunk.present >= chunk.declared:
        return None
    if chunk.frame_bytes is None:
        return f"truncated WAV: the header declares {chunk.declared} bytes of audio, the file holds {chunk.present}"
    declared, held = chunk.declared // chunk.frame_bytes, chunk.present // chunk.frame_bytes
    return f"truncated WAV: the header declares {declared} samples, the file holds {held}"


def wav_data_chunk(path: str) -> DataChunk | None:
    """:func:`read_data_chunk` of the file at ``path``."""
    with open(path, "rb") as file:
        return read_data_chunk(file)


def _wav_truncation(path: str) -> str | None:
    chunk = wav_data_chunk(path)
    return None if chunk is None else chunk_truncation(chunk)


def _flac_truncation(path: str, frames: int) -> str | None:
    try:
        with soundfile.SoundFile(path) as audio:
            audio.seek(frames - 1)
            complete = audio.read(1).shape[0] == 1
    except (RuntimeError, soundfile.LibsndfileError):
        complete = False
    return None if complete else f"truncated FLAC: the header declares {frames} samples, the last cannot be decoded"


def truncation(path: str, container: str, frames: int) -> str | None:
    """Why ``path`` holds fewer samples than its header declares, or None; ``container`` and ``frames`` are
    libsndfile's (``soundfile.info``) format and length."""
    if container in ("WAV", "WAVEX", "RF64"):
        return _wav_truncation(path)
    if container == "FLAC" and frames > 0:
        return _flac_truncation(path, frames)
    return None

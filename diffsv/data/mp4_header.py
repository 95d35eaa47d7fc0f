"""The length an MP4 (``.m4a``) audio file declares, read from its box structure without decoding it.

Converting VoxCeleb2 (1,092,009 m4a files) checks each output against the length its source declares, so
that a file cut short, whose decoder stops early without an error, is caught. The declaration is read from a
few box headers (well under a millisecond a file, no process started):

- the top-level boxes must each fit in the file: a file cut inside its ``mdat`` (audio data) or ``moov``
  (the index) box is truncated, whatever a decoder makes of it;
- the first audio track's ``mdhd`` gives its media duration in its own timescale (the sample rate, for
  AAC): every coded sample, the encoder's priming samples included;
- its edit list (``edts/elst``), when there is one, starts the presentation ``media_time`` samples into
  the media: the priming (1024 samples for ffmpeg's and most AAC encoders), which a decoder drops.

The declared length is ``mdhd`` duration minus that ``media_time``: for a file ffmpeg wrote from N
samples it is exactly N. The movie header (``mvhd``) holds the same duration in the movie's timescale,
often milliseconds (+-8 samples at 16 kHz), so it is not used.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

_TOP_LEVEL = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"pdin", b"meta", b"styp"}
"""Box types an MP4 file may start with: anything else is not an MP4 file (random bytes, another format)."""
_MOOV_LIMIT = 64 << 20
"""A larger ``moov`` is not a speech recording's index (VoxCeleb2's are a few kB): read no further."""


class Mp4Error(ValueError):
    """The file is not an MP4 file, is cut short, or declares no audio; the message says which."""


@dataclass(frozen=True)
class Mp4Audio:
    """The first audio track's declared length: ``media`` samples in ``timescale`` units (per second),
    of which the first ``skipped`` are the encoder's priming (the edit list's ``media_time``)."""

    timescale: int
    media: int
    skipped: int

    @property
    def seconds(self) -> float:
        return (self.media - self.skipped) / self.timescale

    def samples(self, sample_rate: int) -> int:
        """The declared length in samples at ``sample_rate`` (what a decoder resampling to it should give)."""
        return round((self.media - self.skipped) * sample_rate / self.timescale)


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """``(type, body start, body end)`` of the boxes in ``data[start:end]``; Mp4Error if one runs past it."""
    end = len(data) if end is None else end
    found = []
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1:  # a 64-bit size follows the type
            if start + 16 > end:
                break
            size, header = struct.unpack_from(">Q", data, start + 8)[0], 16
        elif size == 0:  # to the end of the enclosing box
            size = end - start
        if size < header or start + size > end:
            raise Mp4Error(f"its {kind.decode('latin-1')!r} box runs past the end of the one holding it")
        found.append((kind, start + header, start + size))
        start += size
    return found


def _moov(file: BinaryIO) -> bytes:
    """The ``moov`` box's body, after checking that every top-level box fits in the file."""
    size = os.fstat(file.fileno()).st_size
    offset, moov, first = 0, None, True
    while offset + 8 <= size:
        file.seek(offset)
        head = file.read(16)
        length, kind = struct.unpack_from(">I4s", head)
        header = 8
        if length == 1 and len(head) == 16:
            length, header = struct.unpack_from(">Q", head, 8)[0], 16
        elif length == 0:
            length = size - offset
        if first and kind not in _TOP_LEVEL:
            raise Mp4Error("not an MP4 file (it starts with no MP4 box)")
        first = False
        if length < header:
            raise Mp4Error(f"a corrupt {kind.decode('latin-1')!r} box at byte {offset} (size {length})")
        if offset + length > size:
            raise Mp4Error(
                f"truncated: its {kind.decode('latin-1')!r} box ends at byte {offset + length}, the file at {size}"
            )
        if kind == b"moov":
            if length > _MOOV_LIMIT:
                raise Mp4Error(f"a 'moov' box of {length} bytes: not a speech recording's index")
            file.seek(offset + header)
            moov = file.read(length - header)
        offset += length
    if first:
        raise Mp4Error(f"not an MP4 file ({size} bytes, no box)")
    if moov is None:
        raise Mp4Error("no 'moov' box (the index, which ffmpeg writes last: a file cut short loses it)")
    return moov


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for found, body, stop in _boxes(data, start, end):
        if found == kind:
            return body, stop
    return None


def _track_audio(moov: bytes, start: int, end: int) -> Mp4Audio | None:
    """The declared length of the ``trak`` box ``moov[start:end]``, or None if it is not an audio track."""
    mdia = _child(moov, start, end, b"mdia")
    hdlr = mdia and _child(moov, *mdia, b"hdlr")
    mdhd = mdia and _child(moov, *mdia, b"mdhd")
    if not (hdlr and mdhd) or moov[hdlr[0] + 8 : hdlr[0] + 12] != b"soun":
        return None
    body = mdhd[0]
    version = moov[body]
    if version == 1:
        timescale, media = struct.unpack_from(">IQ", moov, body + 20)
    else:
        timescale, media = struct.unpack_from(">II", moov, body + 12)
    if timescale == 0 or media == 0:
        raise Mp4Error(f"its audio track declares no duration (timescale {timescale}, duration {media})")
    skipped = 0
    edts = _child(moov, start, end, b"edts")
    elst = edts and _child(moov, *edts, b"elst")
    if elst:
        version, count = moov[elst[0]], struct.unpack_from(">I", moov, elst[0] + 4)[0]
        entry, layout = (20, ">Qq") if version == 1 else (12, ">Ii")
        for k in range(count):
            _, media_time = struct.unpack_from(layout, moov, elst[0] + 8 + k * entry)
            if media_time >= 0:  # -1: an empty edit (a delay), which holds no media
                skipped = media_time
                break
    return Mp4Audio(timescale, media, skipped)


def read_mp4_audio(path: str) -> Mp4Audio:
    """The declared length of the first audio track of the MP4 file ``path`` (as ``ffmpeg -map 0:a:0``
    decodes it); Mp4Error says why there is none (the caller names the file)."""
    with open(path, "rb") as file:
        moov = _moov(file)
    try:
        for kind, start, end in _boxes(moov):
            if kind == b"trak" and (audio := _track_audio(moov, start, end)) is not None:
                return audio
    except (struct.error, IndexError) as err:  # a box too short for the fields its type holds
        raise Mp4Error(f"a corrupt 'moov' box ({err})") from err
    raise Mp4Error("no audio track")

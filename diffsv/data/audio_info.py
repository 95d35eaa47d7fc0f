"""Sample rate, channels and length of audio named by a ``wav.scp`` rxspecifier, cheaply.

Corpus preparation and data-directory validation look at every recording of a corpus (VoxCeleb2 dev has
1,092,009 files). For plain files only the header is read (a 16-bit PCM WAV's by this toolkit, about 30 us;
anything else's by libsndfile), and checked against the bytes the file holds
(:mod:`diffsv.data.audio_integrity`: a cut file is an error, not a short recording); pipes and archive
offsets have no header to consult and are read in full through :func:`diffsv.data.audio.read_audio`, so
all three kinds of specifier are judged by the same reader that training will use.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import soundfile

from diffsv.data.audio import AudioError, is_pipe, read_audio
from diffsv.data.audio_integrity import chunk_truncation, is_pcm16, truncation, wav_data_chunk

SAMPLE_RATE = 16000
"""The toolkit's one sample rate: corpora and data directories must already be at it (never resampled silently)."""
ANALYSIS_FRAME = 400
"""Samples in one analysis window of the front end (25 ms at SAMPLE_RATE; its default ``win_length``):
shorter audio has no spectrum to embed, so no recording of a data directory may be shorter."""


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def probe_audio(rxspecifier: str) -> AudioInfo:
    """Header facts of a plain file, which must hold every sample its header declares, or of a pipe/ark
    entry after reading it; AudioError names the specifier."""
    spec = rxspecifier.strip()
    if spec and not is_pipe(spec) and Path(spec).is_file():
        try:
            chunk = wav_data_chunk(spec)
        except OSError as err:
            raise AudioError(f"{spec}: not readable ({err})") from err
        if chunk is not None and is_pcm16(chunk):  # a 16-bit PCM WAV: its header says everything
            problem = chunk_truncation(chunk)
            if problem:
                raise AudioError(f"{spec}: {problem}")
            return AudioInfo(chunk.sample_rate, chunk.channels, chunk.declared // chunk.frame_bytes)
        try:
            info = soundfile.info(spec)
        except (RuntimeError, soundfile.LibsndfileError) as err:
            raise AudioError(f"{spec}: not readable audio ({err})") from err
        problem = truncation(spec, info.format, int(info.frames))
        if problem:
            raise AudioError(f"{spec}: {problem}")
        return AudioInfo(int(info.samplerate), int(info.channels), int(info.frames))
    audio = read_audio(spec)
    return AudioInfo(audio.sample_rate, audio.channels, int(audio.samples.shape[0]))


def _probe_block(specs: list[str]) -> list[AudioInfo | AudioError]:
    results: list[AudioInfo | AudioError] = []
    for spec in specs:
        try:
            results.append(probe_audio(spec))
        except AudioError as err:
            results.append(err)
    return results


def probe_many(rxspecifiers: Iterable[str], workers: int = 8, block: int = 256) -> Iterator[AudioInfo | AudioError]:
    """Probe many specifiers, yielding in order; threads hide file-system latency (large corpora often sit on
    NFS). Specifiers go to the threads ``block`` at a time and only ``2 * workers`` blocks are ever pending,
    so a million files cost neither a million futures nor a million results held at once.

    Each result is the AudioInfo or the AudioError of that specifier, so a caller can name the first bad one.
    """
    specs = iter(rxspecifiers)
    blocks = iter(lambda: list(itertools.islice(specs, block)), [])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[list[AudioInfo | AudioError]]] = deque()
        for chunk in blocks:
            pending.append(pool.submit(_probe_block, chunk))
            if len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def format_problem(info: AudioInfo, sample_rate: int = SAMPLE_RATE) -> str | None:
    """Why audio is unusable by the toolkit (not mono, wrong rate, shorter than one analysis frame), or None."""
    if info.channels != 1:
        return f"not mono ({info.channels} channels)"
    if info.sample_rate != sample_rate:
        return f"sample rate {info.sample_rate} Hz, expected {sample_rate} Hz (diffsv never resamples silently)"
    if info.frames < ANALYSIS_FRAME:
        return f"{info.frames} samples, shorter than one analysis frame ({ANALYSIS_FRAME})"
    return None

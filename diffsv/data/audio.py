"""One entry point for reading audio named by a Kaldi ``wav.scp`` rxspecifier, and atomic writing.

Kaldi data directories name audio three ways: a file path, a shell pipe (``sox ... - |``) and an
archive offset (``data.ark:1234``). Every reader in the toolkit goes through :func:`read_audio` so the
three behave the same and errors always say which specifier failed.
"""

from __future__ import annotations

import io
import math
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile

from diffsv.data.audio_integrity import is_pcm16, read_data_chunk
from diffsv.utils.fileio import atomic_path

_ARK_OFFSET = re.compile(r"^(?P<path>.+):(?P<offset>\d+)(?P<slice>\[[0-9:, ]+\])?$")


class AudioError(ValueError):
    """Audio that cannot be read or is not what the toolkit expects."""


@dataclass(frozen=True)
class Audio:
    """Samples as float32 in [-1, 1], shape (samples,) for mono or (samples, channels)."""

    samples: np.ndarray
    sample_rate: int

    @property
    def channels(self) -> int:
        return 1 if self.samples.ndim == 1 else self.samples.shape[1]

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / self.sample_rate


def is_pipe(rxspecifier: str) -> bool:
    return rxspecifier.rstrip().endswith("|")


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Polyphase resampling along the first axis (Kaiser-windowed FIR, scipy's default) to ``new_rate``."""
    if rate == new_rate:
        return samples
    import scipy.signal  # here: most readers never resample, and scipy.signal takes a while to import

    common = math.gcd(rate, new_rate)
    return scipy.signal.resample_poly(samples, new_rate // common, rate // common, axis=0).astype(np.float32)


def resampled_length(frames: int, rate: int, new_rate: int) -> int:
    """The length :func:`resample` gives ``frames`` samples: ceil(frames * new_rate / rate)."""
    return -(-frames * new_rate // rate)


def resampling_pipe(path: str | Path, new_rate: int) -> str:
    """The ``wav.scp`` rxspecifier that reads ``path`` resampled to ``new_rate``."""
    return f"python3 -m diffsv.bin.resample_audio {shlex.quote(str(path))} {new_rate} |"


def _read_bytes(data: bytes, source: str) -> Audio:
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=False)
    except (RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"{source}: not readable audio ({err})") from err
    return Audio(samples, int(rate))


def _read_pipe(command: str) -> Audio:
    command = command.rstrip()[:-1].strip()
    proc = subprocess.run(command, shell=True, capture_output=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        detail = message[-1] if message else f"exit status {proc.returncode}"
        raise AudioError(f"command '{command}' failed: {detail}")
    return _read_bytes(proc.stdout, f"command '{command}'")


def _read_ark(rxspecifier: str) -> Audio:
    import kaldiio

    try:
        loaded = kaldiio.load_mat(rxspecifier)
    except Exception as err:  # kaldiio raises bare ValueError/OSError variants
        raise AudioError(f"{rxspecifier}: cannot read archive entry ({err})") from err
    if not isinstance(loaded, tuple):
        raise AudioError(f"{rxspecifier}: archive entry is a matrix, not audio")
    rate, samples = loaded
    samples = np.asarray(samples)
    if np.issubdtype(samples.dtype, np.integer):
        samples = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max + 1)
    return Audio(samples.astype(np.float32, copy=False), int(rate))


def _segment_frames(spec: str, start: float | None, end: float | None, rate: int, total: int) -> tuple[int, int]:
    first = int(round((start or 0.0) * rate))
    last = total if end is None or end < 0 else min(total, int(round(end * rate)))
    if first >= total or last <= first:
        raise AudioError(f"{spec}: segment {start}-{end} s lies outside the recording ({total / rate:.2f} s)")
    return first, last


def _window_frames(spec: str, first: int, last: int, window: tuple[int, int] | None) -> tuple[int, int]:
    """The frames of ``window`` = (offset, count) within frames ``first``..``last``."""
    if window is None:
        return first, last
    offset, count = window
    if offset < 0 or count < 1 or offset + count > last - first:
        raise AudioError(
            f"{spec}: samples {offset}-{offset + count} lie outside its {last - first} samples "
            "(does utt2num_samples still describe this audio?)"
        )
    return first + offset, first + offset + count


def _read_pcm16_wav(
    file: BinaryIO, spec: str, start: float | None, end: float | None, window: tuple[int, int] | None
) -> Audio | None:
    """A 16-bit PCM WAV that holds all its header declares, read by offset without libsndfile (a training
    crop or noise window in about a sixth of the time), or None for any other file. The samples are
    libsndfile's to the bit: each integer times 2^-15, exact in float32."""
    chunk = read_data_chunk(file)
    if chunk is None or not is_pcm16(chunk) or chunk.present < chunk.declared:
        return None
    rate, frames = chunk.sample_rate, chunk.declared // chunk.frame_bytes
    first, last = 0, frames
    if start is not None or end is not None:
        first, last = _segment_frames(spec, start, end, rate, frames)
    first, last = _window_frames(spec, first, last, window)
    file.seek(chunk.offset + first * chunk.frame_bytes)
    data = np.frombuffer(file.read((last - first) * chunk.frame_bytes), dtype="<i2")
    samples = data.astype(np.float32) * np.float32(2.0**-15)
    return Audio(samples if chunk.channels == 1 else samples.reshape(-1, chunk.channels), rate)


def _read_file(spec: str, start: float | None, end: float | None, window: tuple[int, int] | None) -> Audio:
    """Read a plain file; a segment or window is read by seeking, so cutting 2 s from an hour of music is cheap."""
    try:
        with open(spec, "rb") as file:
            audio = _read_pcm16_wav(file, spec, start, end, window)
    except OSError as err:
        raise AudioError(f"{spec}: not readable ({err})") from err
    if audio is not None:
        return audio
    try:
        with soundfile.SoundFile(spec) as handle:
            rate = int(handle.samplerate)
            first, last = 0, handle.frames
            if start is not None or end is not None:
                first, last = _segment_frames(spec, start, end, rate, handle.frames)
            first, last = _window_frames(spec, first, last, window)
            handle.seek(first)
            samples = handle.read(last - first, dtype="float32", always_2d=False)
    except (RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"{spec}: not readable audio ({err})") from err
    return Audio(samples, rate)


def read_audio(
    rxspecifier: str, start: float | None = None, end: float | None = None, window: tuple[int, int] | None = None
) -> Audio:
    """Read a path, ``cmd |`` pipe or ``file.ark:offset`` entry; ``start``/``end`` in seconds cut a segment.

    ``end`` of None or a negative value means the end of the recording, as in Kaldi's ``segments``.
    ``window`` = (offset, count) reads only ``count`` samples from ``offset`` of that segment: a plain file
    seeks (a training crop costs 2 s of reading, not the whole recording); pipes and archives are read whole.
    """
    spec = rxspecifier.strip()
    if not spec:
        raise AudioError("empty audio specifier")
    if not is_pipe(spec) and os.path.isfile(spec):
        return _read_file(spec, start, end, window)
    if is_pipe(spec):
        audio = _read_pipe(spec)
    elif _ARK_OFFSET.match(spec) and Path(_ARK_OFFSET.match(spec).group("path")).is_file():
        audio = _read_ark(spec)
    else:
        raise AudioError(f"{spec}: no such file")
    first, last = 0, audio.samples.shape[0]
    if start is not None or end is not None:
        first, last = _segment_frames(spec, start, end, audio.sample_rate, last)
    first, last = _window_frames(spec, first, last, window)
    return Audio(audio.samples[first:last], audio.sample_rate)


def random_cut(samples: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """``length`` samples from offset ``rng.integers(0, len(samples) - length + 1)``."""
    offset = int(rng.integers(0, samples.shape[0] - length + 1))
    return samples[offset : offset + length]


def read_audio_file(path: str | Path) -> Audio:
    """A plain audio file and nothing else: for paths a user gives (the API, ``diffsv verify``), where
    running a trailing-``|`` string as a shell command, as a wav.scp entry is run, would surprise."""
    if not Path(path).is_file():
        raise AudioError(f"{path}: no such file")
    return _read_file(str(path), None, None, None)


def read_mono(
    rxspecifier: str,
    sample_rate: int,
    start: float | None = None,
    end: float | None = None,
    min_samples: int = 1,
    window: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read audio that must be mono at ``sample_rate``, finite, and at least ``min_samples`` long (one
    analysis frame, for speech); the toolkit never resamples, pads or repairs silently. ``window`` as in
    :func:`read_audio`."""
    audio = read_audio(rxspecifier, start, end, window)
    if audio.channels != 1:
        raise AudioError(f"{rxspecifier}: expected mono audio, found {audio.channels} channels")
    if audio.sample_rate != sample_rate:
        raise AudioError(f"{rxspecifier}: expected {sample_rate} Hz, found {audio.sample_rate} Hz")
    samples = audio.samples
    if samples.shape[0] < min_samples:
        raise AudioError(f"{rxspecifier}: {samples.shape[0]} samples, fewer than the {min_samples} of one frame")
    finite = np.isfinite(samples)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0])
        raise AudioError(f"{rxspecifier}: sample {first} is {samples[first]} (audio must be finite)")
    return samples


AUDIO_FORMATS = {"flac": ("FLAC", "PCM_16"), "wav": ("WAV", "PCM_16")}


def write_audio(path: str | Path, samples: np.ndarray, sample_rate: int, audio_format: str = "flac") -> None:
    """Write 16-bit audio atomically: a killed writer never leaves a truncated file under ``path``."""
    if audio_format not in AUDIO_FORMATS:
        raise AudioError(f"unknown audio format '{audio_format}' (choose from {', '.join(AUDIO_FORMATS)})")
    container, subtype = AUDIO_FORMATS[audio_format]
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 32767.0 / 32768.0)
    with atomic_path(path) as tmp:
        try:
            soundfile.write(str(tmp), clipped, sample_rate, format=container, subtype=subtype)
        except (RuntimeError, soundfile.LibsndfileError) as err:  # a full disk, for one
            raise OSError(f"{path}: cannot write: {err}") from err

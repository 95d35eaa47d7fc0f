"""What the corpus modules share: their error, the layout interface, and turning files into data-dir entries."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from diffsv.data.audio import AudioError, resampled_length, resampling_pipe
from diffsv.data.audio_info import SAMPLE_RATE, AudioInfo, format_problem, probe_many
from diffsv.data.kaldi_dir import DataDir, Durations


class CorpusError(ValueError):
    """A corpus is missing or not in its published layout; the message names the path (and line of a list)."""


class CorpusMissing(CorpusError):
    """The corpus (its root, a required folder, or its list) is not there at all, as opposed to malformed."""


class Layout(Protocol):
    """A corpus found on disk: ``summary`` is cheap (no audio read), ``prepare`` reads the audio headers."""

    def summary(self) -> str: ...

    def prepare(self, resample: bool = False) -> dict[str, DataDir]: ...


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise CorpusMissing(f"{path}: no such directory ({what})")
    return path


@dataclass(frozen=True)
class Recording:
    """A corpus file as the data directory will read it: its ``wav.scp`` rxspecifier (the path, or a
    resampling pipe) and the audio that reading gives."""

    spec: str
    info: AudioInfo


def iter_recordings(paths: Iterable[str | Path], resample: bool = False) -> Iterator[Recording]:
    """Corpus files, which must be readable and complete (not cut short of their header's length), mono,
    at least one analysis frame long, and at the toolkit's rate unless ``resample`` (stage 1's
    ``--resample true``) lets them be read through a resampling pipe. Yields as it probes, so a million
    files are never all held as results."""
    paths = list(paths)
    for path, info in zip(paths, probe_many(str(p) for p in paths), strict=True):
        if isinstance(info, AudioError):
            raise CorpusError(str(info))
        spec = str(path)
        if resample and info.sample_rate != SAMPLE_RATE:
            spec = resampling_pipe(path, SAMPLE_RATE)
            info = AudioInfo(SAMPLE_RATE, info.channels, resampled_length(info.frames, info.sample_rate, SAMPLE_RATE))
        problem = format_problem(info)
        if problem:
            hint = "; stage 1 with --resample true resamples it" if info.sample_rate != SAMPLE_RATE else ""
            raise CorpusError(f"{path}: {problem}{hint}")
        yield Recording(spec, info)


def whole_files_dir(entries: Iterable[tuple[str, str, str | Path]], resample: bool = False) -> DataDir:
    """A data directory of whole files from ``(utterance id, speaker id, path)`` entries. Built lean for the
    million files of VoxCeleb2: one string per speaker, durations derived from the sample counts."""
    wav_scp: dict[str, str] = {}
    utt2spk: dict[str, str] = {}
    speakers: dict[str, str] = {}
    for utt, spk, path in entries:
        if utt in wav_scp:
            raise CorpusError(f"{path}: utterance id '{utt}' is also that of {wav_scp[utt]}")
        wav_scp[utt] = str(path)
        utt2spk[utt] = speakers.setdefault(spk, spk)
    samples: dict[str, int] = {}
    for utt, recording in zip(list(wav_scp), iter_recordings(list(wav_scp.values()), resample), strict=True):
        wav_scp[utt] = recording.spec
        samples[utt] = recording.info.frames
    return DataDir(wav_scp, utt2spk, utt2dur=Durations(samples, SAMPLE_RATE), utt2num_samples=samples)


def speaker_video_files(directory: Path, suffixes: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """``(relative path, path)`` of every ``<speaker>/<video>/<file>`` under ``directory`` (the VoxCeleb
    layouts) whose name ends in one of ``suffixes``; speakers and videos in sorted order, macOS ``._*``
    resource forks skipped. Paths are strings: a million ``Path`` objects would cost a gigabyte."""
    for speaker in sorted(os.scandir(directory), key=lambda e: e.name):
        if not speaker.is_dir():
            continue
        for video in sorted(os.scandir(speaker.path), key=lambda e: e.name):
            if not video.is_dir():
                continue
            for entry in os.scandir(video.path):
                if entry.name.endswith(suffixes) and not entry.name.startswith("._") and entry.is_file():
                    yield f"{speaker.name}/{video.name}/{entry.name}", entry.path


def wav_files(directory: Path) -> list[Path]:
    """``*.wav`` files directly in ``directory``, sorted; macOS ``._*`` resource forks are skipped."""
    return sorted(p for p in directory.glob("*.wav") if not p.name.startswith("._") and p.is_file())

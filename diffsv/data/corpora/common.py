"""What the corpus modules share: their error, the layout interface, and turning files into data-dir entries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from diffsv.data.audio import AudioError
from diffsv.data.audio_info import AudioInfo, format_problem, probe_many
from diffsv.data.kaldi_dir import DataDir


class CorpusError(ValueError):
    """A corpus is missing or not in its published layout; the message names the path (and line of a list)."""


class CorpusMissing(CorpusError):
    """The corpus (its root, a required folder, or its list) is not there at all, as opposed to malformed."""


class Layout(Protocol):
    """A corpus found on disk: ``summary`` is cheap (no audio read), ``prepare`` reads the audio headers."""

    def summary(self) -> str: ...

    def prepare(self) -> dict[str, DataDir]: ...


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise CorpusMissing(f"{path}: no such directory ({what})")
    return path


def probe_files(paths: Sequence[Path]) -> list[AudioInfo]:
    """Headers of corpus files, which must be readable, mono, 16 kHz and non-empty; errors name the file."""
    infos = []
    for path, result in zip(paths, probe_many(str(p) for p in paths), strict=True):
        if isinstance(result, AudioError):
            raise CorpusError(str(result))
        problem = format_problem(result)
        if problem:
            raise CorpusError(f"{path}: {problem}")
        infos.append(result)
    return infos


def whole_files_dir(entries: Sequence[tuple[str, str, Path]]) -> DataDir:
    """A data directory of whole files from ``(utterance id, speaker id, path)`` entries."""
    paths: dict[str, Path] = {}
    for utt, _, path in entries:
        if utt in paths:
            raise CorpusError(f"{path}: utterance id '{utt}' is also that of {paths[utt]}")
        paths[utt] = path
    infos = probe_files([path for _, _, path in entries])
    return DataDir(
        wav_scp={utt: str(path) for utt, _, path in entries},
        utt2spk={utt: spk for utt, spk, _ in entries},
        utt2dur={utt: info.duration for (utt, _, _), info in zip(entries, infos, strict=True)},
        utt2num_samples={utt: info.frames for (utt, _, _), info in zip(entries, infos, strict=True)},
    )


def wav_files(directory: Path) -> list[Path]:
    """``*.wav`` files directly in ``directory``, sorted; macOS ``._*`` resource forks are skipped."""
    return sorted(p for p in directory.glob("*.wav") if not p.name.startswith("._") and p.is_file())

"""Writers of the published layouts that ``diffsv.data.corpora`` reads: VoxCeleb1, MUSAN, RIRS_NOISES, Nonspeech.

All audio is 16-bit 16 kHz mono WAV written through :func:`diffsv.data.audio.write_audio`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

import numpy as np

from diffsv.data.audio import write_audio
from diffsv.data.mini_corpus.dsp import SAMPLE_RATE
from diffsv.data.mini_corpus.speakers import Utterance
from diffsv.utils.fileio import atomic_open

TRIALS_LIST = "veri_test2.txt"


def _wav(path: Path, samples: np.ndarray) -> None:
    write_audio(path, samples, SAMPLE_RATE, "wav")


def _lines(path: Path, lines: Sequence[str]) -> None:
    with atomic_open(path) as handle:
        handle.write("".join(line + "\n" for line in lines))


def write_voxceleb1(root: Path, speakers: dict[str, list[Utterance]]) -> dict[str, list[str]]:
    """``wav/<speaker>/<session>/<nnnnn>.wav`` (numbered per session from 00001); returns each speaker's paths
    relative to ``wav/``, as the trial list names them."""
    relatives: dict[str, list[str]] = {}
    for speaker, utterances in speakers.items():
        numbers: dict[str, int] = {}
        relatives[speaker] = []
        for session, samples in utterances:
            numbers[session] = numbers.get(session, 0) + 1
            relative = f"{speaker}/{session}/{numbers[session]:05d}.wav"
            _wav(root / "wav" / relative, samples)
            relatives[speaker].append(relative)
    return relatives


def write_trials(path: Path, files: dict[str, list[str]]) -> tuple[int, int]:
    """Every pair of the test speakers' files, ``1 a b`` when they share a speaker, else ``0 a b``.

    Returns (target, non-target) counts. The exhaustive list keeps the split exact and the EER stable.
    """
    owner = {relative: speaker for speaker, paths in files.items() for relative in paths}
    pairs = list(combinations(sorted(owner), 2))
    lines = [f"{int(owner[a] == owner[b])} {a} {b}" for a, b in pairs]
    _lines(path, lines)
    targets = sum(owner[a] == owner[b] for a, b in pairs)
    return targets, len(pairs) - targets


class MusanWriter:
    """``<category>/<subset>/<category>-<subset>-NNNN.wav``: even numbers for training files, odd for test,
    as ``diffsv.data.corpora.musan`` splits; each subset's ANNOTATIONS names the origin of every file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.annotations: dict[Path, list[str]] = {}
        self.next_number: dict[tuple[Path, str], int] = {}

    def add(self, category: str, subset: str, split: str, samples: np.ndarray, origin: str) -> None:
        directory = self.root / category / subset
        number = self.next_number.get((directory, split), 0 if split == "train" else 1)
        self.next_number[directory, split] = number + 2
        name = f"{category}-{subset}-{number:04d}"
        _wav(directory / f"{name}.wav", samples)
        self.annotations.setdefault(directory, []).append(f"{name} {split} {origin}")

    def close(self) -> None:
        for directory, lines in self.annotations.items():
            _lines(directory / "ANNOTATIONS", sorted(lines))


def write_rir_room(root: Path, size: str, room: int, responses: Sequence[np.ndarray]) -> None:
    """``simulated_rirs/<size>/RoomNNN/RoomNNN-NNNNN.wav``."""
    for number, response in enumerate(responses, 1):
        _wav(root / "simulated_rirs" / size / f"Room{room:03d}" / f"Room{room:03d}-{number:05d}.wav", response)


def write_nonspeech(root: Path, sounds: Sequence[np.ndarray]) -> None:
    """``n1.wav`` ... ``n<K>.wav``."""
    for number, samples in enumerate(sounds, 1):
        _wav(root / f"n{number}.wav", samples)

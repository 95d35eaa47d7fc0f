"""VoxCeleb1 in its published layout -> ``train`` (the dev speakers) and ``test`` (+ trials).

Layout: ``ROOT/wav/<speaker>/<video>/<nnnnn>.wav`` (the dev and test archives both unpack into ``wav/``),
or the two kept apart as ``ROOT/dev/wav`` and ``ROOT/test/wav``. Trial lists (``veri_test.txt``, 37,720
trials; ``veri_test2.txt``, the cleaned 37,611) have lines ``label path1 path2`` with label 1 (same
speaker) or 0 and paths relative to ``wav/``, e.g. ``id10270/x6uYqmx31kE/00001.wav``.

The test speakers are those named in the trial list (40 for the VoxCeleb1-O lists) and ``test`` holds
all their files (4,874); ``train`` holds every other speaker (1,211 speakers, 148,642 files). The
utterance id is the relative path with ``/`` turned into ``-``: ``id10270-x6uYqmx31kE-00001``, so it
starts with the speaker id. ``test/trials`` keeps the order of the list.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from diffsv.data.corpora.common import CorpusError, CorpusMissing, require_dir, whole_files_dir
from diffsv.data.kaldi_dir import DataDir, Trial

NAME = "VoxCeleb1"
URL = "https://www.robots.ox.ac.uk/~vgg/data/voxceleb/vox1.html"
WAV_DIRS = ("wav", "dev/wav", "test/wav")


def utterance_id(relative_path: str) -> str:
    """``id10270/x6uYqmx31kE/00001.wav`` -> ``id10270-x6uYqmx31kE-00001``."""
    return relative_path.removesuffix(".wav").replace("/", "-")


def _list_files(root: Path) -> dict[str, Path]:
    """Every ``<speaker>/<video>/<n>.wav`` under the wav directories, by relative path."""
    wav_dirs = [root / name for name in WAV_DIRS if (root / name).is_dir()]
    if not wav_dirs:
        raise CorpusMissing(
            f"{root}: no wav/ directory (expected wav/<speaker>/<video>/<n>.wav, or dev/wav and test/wav)"
        )
    files: dict[str, Path] = {}
    for wav_dir in wav_dirs:
        for speaker in sorted(os.scandir(wav_dir), key=lambda e: e.name):
            if not speaker.is_dir():
                continue
            for video in sorted(os.scandir(speaker.path), key=lambda e: e.name):
                if not video.is_dir():
                    continue
                for entry in os.scandir(video.path):
                    if entry.name.endswith(".wav") and not entry.name.startswith("._") and entry.is_file():
                        relative = f"{speaker.name}/{video.name}/{entry.name}"
                        if relative in files:
                            raise CorpusError(f"{entry.path}: {relative} is also under {files[relative].parents[2]}")
                        files[relative] = Path(entry.path)
    if not files:
        raise CorpusError(f"{root}: no <speaker>/<video>/<n>.wav files under {', '.join(map(str, wav_dirs))}")
    return files


def _read_trial_list(path: Path, files: dict[str, Path], root: Path) -> list[tuple[str, str, bool]]:
    """``label path1 path2`` lines as (path1, path2, target); every path must be a file of the corpus."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CorpusMissing(
            f"{path}: no such trial list (veri_test.txt and veri_test2.txt are on the VoxCeleb1 page)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot read trial list: {exc}") from None
    trials: list[tuple[str, str, bool]] = []
    first: dict[tuple[str, str], int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or fields[0] not in ("0", "1"):
            raise CorpusError(f"{path}:{number}: expected 'label path1 path2' with label 1 or 0, got {line.strip()!r}")
        label, first_path, second_path = fields
        for relative in (first_path, second_path):
            if relative not in files:
                raise CorpusError(f"{path}:{number}: '{relative}' is not a file of the corpus under {root}")
        if (first_path, second_path) in first:
            raise CorpusError(
                f"{path}:{number}: trial '{first_path} {second_path}' repeats line {first[first_path, second_path]}"
            )
        first[first_path, second_path] = number
        trials.append((first_path, second_path, label == "1"))
    if not trials:
        raise CorpusError(f"{path}: no trials")
    return trials


@dataclass
class VoxCeleb1Layout:
    root: Path
    trials_list: Path
    files: dict[str, Path]
    trials: list[tuple[str, str, bool]]

    @property
    def test_speakers(self) -> set[str]:
        return {relative.split("/")[0] for trial in self.trials for relative in trial[:2]}

    def _split(self) -> tuple[list[str], list[str]]:
        test_speakers = self.test_speakers
        train = [rel for rel in self.files if rel.split("/")[0] not in test_speakers]
        test = [rel for rel in self.files if rel.split("/")[0] in test_speakers]
        return train, test

    def summary(self) -> str:
        train, test = self._split()
        speakers = {rel.split("/")[0] for rel in self.files}
        return (
            f"{len(self.files)} files of {len(speakers)} speakers; {self.trials_list.name}: {len(self.trials)} trials "
            f"over {len(self.test_speakers)} test speakers ({len(test)} files), {len(train)} training files"
        )

    def prepare(self, resample: bool = False) -> dict[str, DataDir]:
        train, test = self._split()
        if not train:
            raise CorpusError(f"{self.root}: every speaker is in {self.trials_list}: no training (dev) speakers found")

        def entries(relatives: list[str]) -> list[tuple[str, str, Path]]:
            return [(utterance_id(rel), rel.split("/")[0], self.files[rel]) for rel in sorted(relatives)]

        test_dir = whole_files_dir(entries(test), resample)
        test_dir.trials = [Trial(utterance_id(a), utterance_id(b), target) for a, b, target in self.trials]
        return {"train": whole_files_dir(entries(train), resample), "test": test_dir}


def scan_voxceleb1(root: str | Path, trials_list: str | Path) -> VoxCeleb1Layout:
    """Find the files and read the trial list; raises CorpusError when the layout or the list is wrong."""
    root = require_dir(Path(root), "VoxCeleb1 root")
    files = _list_files(root)
    trials_list = Path(trials_list)
    return VoxCeleb1Layout(root, trials_list, files, _read_trial_list(trials_list, files, root))

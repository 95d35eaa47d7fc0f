"""MUSAN in its published layout -> ``musan_{music,noise,speech}_{train,test}``, cut into windows.

Layout: ``ROOT/{music,noise,speech}/<subset>/<name>-NNNN.wav`` (e.g. ``noise/free-sound/
noise-free-sound-0001.wav``); other files (README, ANNOTATIONS, LICENSE) are ignored.

Split (Diff-SV protocol): the file number, the last four digits of the name, even -> ``train``,
odd -> ``test``. Windows, as the authors' script cuts them (``data/preprocessing.py``): a file becomes
``(length - 5 s) // 3 s`` windows of 5 s starting at 0, 3, 6, ... s -- one fewer than fit -- and a file
for which that count is 0 (shorter than 8 s) is kept whole as one window. So 7.9 s stays whole, 8.0 s
and 10.9 s give one window, 11.0 s gives two.

Ids: the recording id is the file name without ``.wav`` (MUSAN names are unique and name their
category); a window is ``<recording>-<start>-<end>`` with start and end in centiseconds, 7 digits,
e.g. ``noise-free-sound-0001-0000300-0000800`` for 3-8 s. The speaker of a window is its recording,
so ``spk2utt`` lists the windows of each file. The windows are given by a Kaldi ``segments`` file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diffsv.data.corpora.common import CorpusError, Recording, iter_recordings, require_dir, wav_files
from diffsv.data.kaldi_dir import DataDir, Segment

NAME = "MUSAN"
URL = "https://www.openslr.org/17/"
CATEGORIES = ("music", "noise", "speech")
SPLITS = ("train", "test")
WINDOW_SECONDS = 5
HOP_SECONDS = 3


def split_of(path: Path) -> str:
    """``train`` for an even file number (last four digits of the name), ``test`` for an odd one."""
    number = path.stem[-4:]
    if len(number) != 4 or not number.isdigit():
        raise CorpusError(f"{path}: a MUSAN file name ends in a four-digit number (e.g. noise-free-sound-0001.wav)")
    return "train" if int(number) % 2 == 0 else "test"


def windows(num_samples: int, sample_rate: int) -> list[tuple[int, int]]:
    """(start, end) sample ranges of the reference's 5 s windows at a 3 s hop, or the whole file."""
    window, hop = WINDOW_SECONDS * sample_rate, HOP_SECONDS * sample_rate
    count = (num_samples - window) // hop
    if count <= 0:
        return [(0, num_samples)]
    return [(k * hop, k * hop + window) for k in range(count)]


def window_id(recording: str, start: int, end: int, sample_rate: int) -> str:
    """``<recording>-<start>-<end>``, times in centiseconds with 7 digits (up to 27 hours)."""
    return f"{recording}-{start * 100 // sample_rate:07d}-{end * 100 // sample_rate:07d}"


@dataclass
class MusanLayout:
    root: Path
    files: dict[str, list[Path]]  # category -> its .wav files

    def summary(self) -> str:
        counts = ", ".join(f"{category} {len(paths)}" for category, paths in self.files.items())
        return f"{sum(map(len, self.files.values()))} files ({counts})"

    def prepare(self, resample: bool = False) -> dict[str, DataDir]:
        dirs: dict[str, DataDir] = {}
        for category, paths in self.files.items():
            recordings = list(iter_recordings(paths, resample))
            for split in SPLITS:
                chosen = [(p, rec) for p, rec in zip(paths, recordings, strict=True) if split_of(p) == split]
                if not chosen:
                    parity = "even" if split == "train" else "odd"
                    raise CorpusError(
                        f"{self.root}/{category}: no {parity}-numbered files for musan_{category}_{split}"
                    )
                dirs[f"musan_{category}_{split}"] = _windowed_dir(chosen)
        return dirs


def _windowed_dir(files: list[tuple[Path, Recording]]) -> DataDir:
    """Recordings in wav.scp, their windows in segments; the speaker of a window is its recording."""
    wav_scp: dict[str, str] = {}
    segments: dict[str, Segment] = {}
    num_samples: dict[str, int] = {}
    for path, read_as in files:
        recording, info = path.stem, read_as.info
        if recording in wav_scp:
            raise CorpusError(f"{path}: recording id '{recording}' is also that of {wav_scp[recording]}")
        wav_scp[recording] = read_as.spec
        rate = info.sample_rate
        for start, end in windows(info.frames, rate):
            utt = window_id(recording, start, end, rate)
            segments[utt] = Segment(recording, start / rate, end / rate)
            num_samples[utt] = end - start
    return DataDir(
        wav_scp=wav_scp,
        utt2spk={utt: segment.recording for utt, segment in segments.items()},
        utt2dur={utt: segment.end - segment.start for utt, segment in segments.items()},
        utt2num_samples=num_samples,
        segments=segments,
    )


def scan_musan(root: str | Path) -> MusanLayout:
    """Find the files of each category; raises CorpusError when a category is missing or empty."""
    root = require_dir(Path(root), "MUSAN root")
    files: dict[str, list[Path]] = {}
    for category in CATEGORIES:
        category_dir = require_dir(root / category, f"MUSAN has {', '.join(c + '/' for c in CATEGORIES)}")
        paths = [p for subset in sorted(category_dir.iterdir()) if subset.is_dir() for p in wav_files(subset)]
        if not paths:
            raise CorpusError(f"{category_dir}: no <subset>/*.wav files")
        for path in paths:
            split_of(path)
        files[category] = paths
    return MusanLayout(root, files)

"""VoxCeleb1 in its published layout -> ``test`` (VoxCeleb1-O, + trials), ``test_vox1_eh`` (-E/-H), ``train``.

Layout: ``ROOT/wav/<speaker>/<video>/<nnnnn>.wav`` (the dev and test archives both unpack into ``wav/``),
or the two kept apart as ``ROOT/dev/wav`` and ``ROOT/test/wav``. Trial lists have lines ``label path1
path2`` with label 1 (same speaker) or 0 and paths relative to ``wav/``, e.g.
``id10270/x6uYqmx31kE/00001.wav``:

- VoxCeleb1-O: ``veri_test.txt`` (37,720 trials) or the cleaned ``veri_test2.txt`` (37,611), over the 40
  test speakers;
- VoxCeleb1-E: ``list_test_all.txt`` / cleaned ``list_test_all2.txt`` (579,818 trials), and VoxCeleb1-H:
  ``list_test_hard.txt`` / cleaned ``list_test_hard2.txt`` (550,894 trials, same nationality and gender).
  Both test all 1,251 speakers, the dev ones included: they need VoxCeleb1 dev present and a training set
  without it (VoxCeleb2 dev).

``test`` holds every file of the -O list's speakers (4,874) and its trials are the -O list's, so that the
noisy copies of stage 2 are of the paper's protocol. ``test_vox1_eh`` holds the files the -E and -H lists
name (145,375) with one trial file per list (``trials_vox1_e``, ``trials_vox1_h``), so they are embedded
once and scored twice. ``train`` (made when VoxCeleb1 dev is trained on) holds every speaker the -O list
does not test (1,211 speakers, 148,642 files). The utterance id is the relative path with ``/`` turned
into ``-``: ``id10270-x6uYqmx31kE-00001``, so it starts with the speaker id. Trials keep the list's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from diffsv.data.corpora.common import CorpusError, CorpusMissing, require_dir, speaker_video_files, whole_files_dir
from diffsv.data.kaldi_dir import DataDir, Trial
from diffsv.protocol import CLEAN, VOX1_EXTENDED, VOX1_TITLES

NAME = "VoxCeleb1"
URL = "https://www.robots.ox.ac.uk/~vgg/data/voxceleb/vox1.html"
WAV_DIRS = ("wav", "dev/wav", "test/wav")
#: The conditions of the -E and -H lists, their data directory and their default (cleaned) list names.
EXTENDED_SET = "test_vox1_eh"
EXTENDED_LISTS = dict(zip(VOX1_EXTENDED, ("list_test_all2.txt", "list_test_hard2.txt"), strict=True))


def utterance_id(relative_path: str) -> str:
    """``id10270/x6uYqmx31kE/00001.wav`` -> ``id10270-x6uYqmx31kE-00001``."""
    return relative_path.removesuffix(".wav").replace("/", "-")


def speaker_of(relative_path: str) -> str:
    return relative_path.split("/", 1)[0]


def _list_files(root: Path) -> dict[str, str]:
    """Every ``<speaker>/<video>/<n>.wav`` under the wav directories: path by relative path."""
    wav_dirs = [root / name for name in WAV_DIRS if (root / name).is_dir()]
    if not wav_dirs:
        raise CorpusMissing(
            f"{root}: no wav/ directory (expected wav/<speaker>/<video>/<n>.wav, or dev/wav and test/wav)"
        )
    files: dict[str, str] = {}
    for wav_dir in wav_dirs:
        for relative, path in speaker_video_files(wav_dir, (".wav",)):
            if relative in files:
                raise CorpusError(f"{path}: {relative} is also under {Path(files[relative]).parents[2]}")
            files[relative] = path
    if not files:
        raise CorpusError(f"{root}: no <speaker>/<video>/<n>.wav files under {', '.join(map(str, wav_dirs))}")
    return files


@dataclass
class TrialList:
    """A VoxCeleb1 trial list as read: ``(path1, path2, target)`` with the corpus's own path strings, so a
    list of half a million trials holds no string twice."""

    path: Path
    trials: list[tuple[str, str, bool]]

    @property
    def speakers(self) -> set[str]:
        return {speaker_of(relative) for trial in self.trials for relative in trial[:2]}

    @property
    def files(self) -> set[str]:
        return {relative for trial in self.trials for relative in trial[:2]}

    def as_trials(self) -> list[Trial]:
        return [Trial(utterance_id(a), utterance_id(b), target) for a, b, target in self.trials]


def read_trial_list(path: Path, files: Mapping[str, str], root: Path, hint: str = "") -> TrialList:
    """``label path1 path2`` lines; every path must be a file of the corpus (``hint`` says why one may not be)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CorpusMissing(f"{path}: no such trial list (the lists are on the VoxCeleb1 page)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot read trial list: {exc}") from None
    known = {relative: relative for relative in files}  # one string per file, shared by every trial naming it
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
            if relative not in known:
                raise CorpusError(f"{path}:{number}: '{relative}' is not a file of the corpus under {root}{hint}")
        pair = (known[first_path], known[second_path])
        if pair in first:
            raise CorpusError(f"{path}:{number}: trial '{first_path} {second_path}' repeats line {first[pair]}")
        first[pair] = number
        trials.append((*pair, label == "1"))
    if not trials:
        raise CorpusError(f"{path}: no trials")
    return TrialList(path, trials)


@dataclass
class VoxCeleb1Layout:
    """The corpus, its -O list and any -E/-H lists (by condition); ``train`` says whether its dev speakers
    are trained on (the paper's recipe) or not (training on VoxCeleb2 alone)."""

    root: Path
    files: dict[str, str]
    trials: TrialList
    extended: dict[str, TrialList] = field(default_factory=dict)
    train: bool = True

    @property
    def trials_list(self) -> Path:
        return self.trials.path

    @property
    def test_speakers(self) -> set[str]:
        return self.trials.speakers

    def _split(self) -> tuple[list[str], list[str]]:
        test_speakers = self.test_speakers
        train = [rel for rel in self.files if speaker_of(rel) not in test_speakers]
        test = [rel for rel in self.files if speaker_of(rel) in test_speakers]
        return train, test

    @property
    def train_speakers(self) -> set[str]:
        """The speakers ``train`` would hold (none when VoxCeleb1 is not trained on)."""
        return {speaker_of(rel) for rel in self._split()[0]} if self.train else set()

    def tested_speakers(self) -> dict[str, tuple[Path, set[str]]]:
        """Every list's speakers, by condition (``clean`` for the -O list)."""
        lists = {CLEAN: self.trials, **self.extended}
        return {condition: (listed.path, listed.speakers) for condition, listed in lists.items()}

    def summary(self) -> str:
        train, test = self._split()
        speakers = {speaker_of(rel) for rel in self.files}
        text = (
            f"{len(self.files)} files of {len(speakers)} speakers; {self.trials_list.name}: {len(self.trials.trials)} "
            f"trials over {len(self.test_speakers)} test speakers ({len(test)} files)"
        )
        for condition, listed in self.extended.items():
            text += f"; {listed.path.name} ({VOX1_TITLES[condition]}): {len(listed.trials)} trials"
        training = f"{len(train)} training files" if self.train else "dev not trained on"
        return f"{text}, {training}"

    def prepare(self, resample: bool = False) -> dict[str, DataDir]:
        train, test = self._split()
        if self.train and not train:
            raise CorpusError(f"{self.root}: every speaker is in {self.trials_list}: no training (dev) speakers found")

        def entries(relatives: list[str]) -> list[tuple[str, str, str]]:
            return [(utterance_id(rel), speaker_of(rel), self.files[rel]) for rel in sorted(relatives)]

        dirs = {"test": whole_files_dir(entries(test), resample)}
        dirs["test"].trials = self.trials.as_trials()
        if self.extended:
            named = set().union(*(listed.files for listed in self.extended.values()))
            dirs[EXTENDED_SET] = whole_files_dir(entries(sorted(named)), resample)
            dirs[EXTENDED_SET].extra_trials = {c: listed.as_trials() for c, listed in self.extended.items()}
        if self.train:
            dirs["train"] = whole_files_dir(entries(train), resample)
        return dirs


def scan_voxceleb1(
    root: str | Path, trials_list: str | Path, extended: Mapping[str, str | Path] | None = None, train: bool = True
) -> VoxCeleb1Layout:
    """Find the files and read the trial lists (``extended``: -E/-H lists by condition, see
    :data:`EXTENDED_LISTS`); raises CorpusError when the layout or a list is wrong."""
    root = require_dir(Path(root), "VoxCeleb1 root")
    files = _list_files(root)
    hint = "; VoxCeleb1-E and -H test the dev speakers too, so VoxCeleb1 dev must be there as well"
    lists = {condition: read_trial_list(Path(path), files, root, hint) for condition, path in (extended or {}).items()}
    for condition in lists:
        if condition not in EXTENDED_LISTS:
            raise ValueError(f"unknown VoxCeleb1 list '{condition}' (known: {', '.join(EXTENDED_LISTS)})")
    return VoxCeleb1Layout(root, files, read_trial_list(Path(trials_list), files, root), lists, train)

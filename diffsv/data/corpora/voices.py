"""The VOiCES from a Distance Challenge 2019 speaker-recognition sets -> ``voices_dev``, ``voices_eval``.

Layout of the challenge release (as unpacked from its archives; files are found by name under the
root, so the exact nesting may vary):

- dev: ``Development_Data/Speaker_Recognition/sid_dev/spNNNN/<name>.wav`` and
  ``.../sid_dev_lists_and_keys/dev-trial-keys.lst``;
- eval: ``Speaker_Recognition/sid_eval/<anonymised>.wav`` (also under ``Evaluation_Data/``) and, from
  the post-evaluation release, ``VOiCES_challenge_2019_post-eval-release/
  VOiCES_challenge_2019_eval.SID.trial-keys.lst`` with ``VOiCES_challenge_2019_eval.SID.map``.

Trial-key lines are ``<enrolment model> <test file> tgt|imp``, e.g.
``Lab41-SRI-VOiCES-rm1-none-sp0083-ch003054-sg0005-mc01-stu-clo-dg090
sid_dev/sp0083/Lab41-SRI-VOiCES-rm2-babb-sp0083-ch003054-sg0010-mc05-lav-mid-dg080.wav tgt``: the model
id is the enrolment file's name without ``.wav`` and the test file is a path (``sid_eval`` keys give
the bare ``<name>.wav``); both are matched by file name. The map file's lines are
``<anonymised name> <original VOiCES name>``.

Speakers: the ``spNNNN`` field of the (original) file name; utterance ids are ``<speaker>-<name>``,
e.g. ``sp0083-Lab41-SRI-VOiCES-rm1-none-sp0083-...``. Without the map, an eval file is its own speaker
and keeps its name as id (scoring needs only the trials). Every audio file of a set is listed, not
only those in the trials. macOS ``._*`` files shipped in the archives are skipped. A set whose audio
folder is absent is skipped (and said so); one whose audio is there but whose keys are not is an error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from diffsv.data.corpora.common import CorpusError, CorpusMissing, require_dir, whole_files_dir
from diffsv.data.kaldi_dir import DataDir, Trial

NAME = "VOiCES"
URL = "https://iqtlabs.github.io/voices/"
SPEAKER_FIELD = re.compile(r"(?:^|-)(sp\d+)(?=-|$)")
LABELS = {"tgt": True, "imp": False, "target": True, "nontarget": False}
MAX_DEPTH = 5


@dataclass(frozen=True)
class _SetSpec:
    name: str
    audio_dir: str
    key_files: tuple[str, ...]
    key_hint: str
    map_file: str | None = None


SETS = (
    _SetSpec("voices_dev", "sid_dev", ("dev-trial-keys.lst",), "it is in sid_dev_lists_and_keys/ of the release"),
    _SetSpec(
        "voices_eval",
        "sid_eval",
        ("VOiCES_challenge_2019_eval.SID.trial-keys.lst", "eval-trial-keys.lst"),
        "the eval keys come with the post-evaluation release (VOiCES_challenge_2019_post-eval-release)",
        "VOiCES_challenge_2019_eval.SID.map",
    ),
)


def _find(root: Path, names: tuple[str, ...], directory: bool) -> Path | None:
    """The one file or directory under ``root`` named one of ``names``; None if absent, error if several."""
    matches: list[Path] = []
    audio_dirs = {spec.audio_dir for spec in SETS}
    for current, dirnames, filenames in os.walk(root):
        depth = len(Path(current).relative_to(root).parts)
        candidates = dirnames if directory else filenames
        matches.extend(Path(current, name) for name in candidates if name in names)
        dirnames[:] = (
            [] if depth >= MAX_DEPTH else [d for d in dirnames if not d.startswith(".") and d not in audio_dirs]
        )
    if len(matches) > 1:
        listed = ", ".join(str(m) for m in sorted(matches))
        raise CorpusError(f"{root}: several {' or '.join(names)} found ({listed}); point the root at one release")
    return matches[0] if matches else None


def _stem(name: str) -> str:
    return Path(name).name.removesuffix(".wav")


def _speaker_of(name: str) -> str | None:
    match = SPEAKER_FIELD.search(_stem(name))
    return match.group(1) if match else None


@dataclass
class VoicesSet:
    name: str
    audio_dir: Path
    key_file: Path
    files: dict[str, Path]  # file name without .wav -> path
    speakers: dict[str, str]  # file name without .wav -> speaker id
    trials: list[tuple[str, str, bool]] = field(default_factory=list)  # (enrolment name, test name, target)

    def utterance_id(self, stem: str) -> str:
        speaker = self.speakers[stem]
        return stem if speaker == stem else f"{speaker}-{stem}"

    def data_dir(self, resample: bool = False) -> DataDir:
        entries = [(self.utterance_id(stem), self.speakers[stem], path) for stem, path in sorted(self.files.items())]
        data = whole_files_dir(entries, resample)
        data.trials = [Trial(self.utterance_id(a), self.utterance_id(b), target) for a, b, target in self.trials]
        return data


def _read_keys(key_file: Path, files: dict[str, Path], audio_dir: Path) -> list[tuple[str, str, bool]]:
    trials: list[tuple[str, str, bool]] = []
    first: dict[tuple[str, str], int] = {}
    for number, line in enumerate(key_file.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or fields[2] not in LABELS:
            raise CorpusError(f"{key_file}:{number}: expected '<model> <test file> tgt|imp', got {line.strip()!r}")
        for name in fields[:2]:
            if _stem(name) not in files:
                raise CorpusError(f"{key_file}:{number}: '{name}' is not a file in {audio_dir}")
        pair = (_stem(fields[0]), _stem(fields[1]))
        if pair in first:
            raise CorpusError(f"{key_file}:{number}: trial '{fields[0]} {fields[1]}' repeats line {first[pair]}")
        first[pair] = number
        trials.append((*pair, LABELS[fields[2]]))
    if not trials:
        raise CorpusError(f"{key_file}: no trials")
    return trials


def _speakers(files: dict[str, Path], map_file: Path | None, from_names: bool) -> dict[str, str]:
    """Speaker of each file: from its name (dev), from the anonymisation map (eval), or the file itself."""
    if from_names:
        speakers = {}
        for stem, path in files.items():
            speaker = _speaker_of(stem) or _speaker_of(path.parent.name)
            if speaker is None:
                raise CorpusError(f"{path}: no speaker field 'spNNNN' in the file name")
            speakers[stem] = speaker
        return speakers
    if map_file is None:
        return {stem: stem for stem in files}
    original: dict[str, str] = {}
    for number, line in enumerate(map_file.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        speaker = _speaker_of(fields[-1]) if len(fields) == 2 else None
        if speaker is None:
            raise CorpusError(f"{map_file}:{number}: expected '<anonymised name> <original name with spNNNN>'")
        original[_stem(fields[0])] = speaker
    missing = sorted(set(files) - set(original))
    if missing:
        raise CorpusError(f"{map_file}: no entry for {files[missing[0]]} ({len(missing)} files unmapped)")
    return {stem: original[stem] for stem in files}


@dataclass
class VoicesLayout:
    root: Path
    sets: list[VoicesSet]
    skipped: list[str]

    def summary(self) -> str:
        found = [
            f"{s.name}: {len(s.files)} files, {len(set(s.speakers.values()))} speakers, {len(s.trials)} trials"
            for s in self.sets
        ]
        return "; ".join(found + [f"skipped ({reason})" for reason in self.skipped])

    def prepare(self, resample: bool = False) -> dict[str, DataDir]:
        return {s.name: s.data_dir(resample) for s in self.sets}


def scan_voices(root: str | Path) -> VoicesLayout:
    """Find the dev and eval sets and read their keys; raises CorpusError when neither is there or a key is bad."""
    root = require_dir(Path(root), "VOiCES root")
    sets: list[VoicesSet] = []
    skipped: list[str] = []
    for spec in SETS:
        audio_dir = _find(root, (spec.audio_dir,), directory=True)
        if audio_dir is None:
            skipped.append(f"no {spec.audio_dir}/ under {root}: {spec.name} skipped")
            continue
        key_file = _find(root, spec.key_files, directory=False)
        if key_file is None:
            raise CorpusError(f"{root}: {audio_dir} is there but not {' or '.join(spec.key_files)}; {spec.key_hint}")
        files: dict[str, Path] = {}
        for path in sorted(audio_dir.rglob("*.wav")):
            if path.name.startswith("._") or not path.is_file():
                continue
            if path.stem in files:
                raise CorpusError(f"{path}: the name is also that of {files[path.stem]}")
            files[path.stem] = path
        if not files:
            raise CorpusError(f"{audio_dir}: no .wav files")
        map_file = _find(root, (spec.map_file,), directory=False) if spec.map_file else None
        speakers = _speakers(files, map_file, from_names=spec.map_file is None)
        sets.append(VoicesSet(spec.name, audio_dir, key_file, files, speakers, _read_keys(key_file, files, audio_dir)))
    if not sets:
        raise CorpusMissing(f"{root}: neither sid_dev/ nor sid_eval/ found (the VOiCES 2019 challenge release)")
    return VoicesLayout(root, sets, skipped)

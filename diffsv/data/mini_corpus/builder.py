"""Build the mini corpus once: choose speakers and sounds for a scale, render them, write the layouts.

The whole tree is built under a temporary name and renamed into place (``atomic_directory``) with a
stamp file holding the build's settings written last, so an interrupted build leaves nothing behind
and a second call with the same settings returns at once. Every random choice comes from a fixed seed
(per speaker, from a checksum of its id), so the same installed packages give the same bytes.
"""

from __future__ import annotations

import json
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from diffsv.data.mini_corpus import dsp, layout, noise, recordings, rirs, synthesis
from diffsv.data.mini_corpus.manifest import sources_tsv
from diffsv.data.mini_corpus.speakers import SourceMissing, Speaker, Utterance
from diffsv.utils.fileio import atomic_directory, atomic_open

STAMP = ".mini_corpus.json"
FORMAT_VERSION = 1
BABBLE_SECONDS = 6.0


@dataclass(frozen=True)
class Scale:
    """How much of each part to build; ``small`` is for CI and tests, ``full`` for the demo recipe."""

    name: str
    recorded_speakers: int
    flite_speakers: int
    festival_speakers: int
    espeak_speakers: int
    babble_espeak_speakers: int
    utterances: int
    babble_pieces: int
    noise_scenes: int
    opsound_pieces: int
    tunes: int
    rooms: int
    rirs_per_room: int
    nonspeech: int


SCALES = {
    "full": Scale("full", 4, 4, 10, 26, 6, 10, 4, 40, 4, 12, 6, 4, 30),
    "small": Scale("small", 2, 2, 3, 5, 2, 6, 1, 6, 1, 2, 1, 2, 8),
}


@dataclass
class BuildReport:
    """What was built (or found built): counts for the log and the tests."""

    root: str
    built: bool
    seconds: float
    megabytes: float
    files: int
    train_speakers: list[str]
    test_speakers: list[str]
    utterances: int
    target_trials: int
    nontarget_trials: int
    musan_files: dict[str, int]
    rirs: int
    nonspeech: int
    notes: list[str]

    def summary(self) -> str:
        state = f"built in {self.seconds:.1f} s" if self.built else "up to date (stamp found), nothing done"
        musan = ", ".join(f"{k} {v}" for k, v in self.musan_files.items())
        lines = [
            f"mini corpus {self.root}: {state}",
            f"  {self.megabytes:.1f} MB in {self.files} files",
            f"  speakers: {len(self.train_speakers)} train + {len(self.test_speakers)} test, "
            f"{self.utterances} utterances",
            f"  trials: {self.target_trials} target + {self.nontarget_trials} non-target",
            f"  MUSAN: {musan}; RIRs: {self.rirs}; Nonspeech: {self.nonspeech}",
        ]
        return "\n".join(lines + [f"  note: {note}" for note in self.notes])


def _seed(*parts: object) -> int:
    return zlib.crc32(" ".join(map(str, parts)).encode())


def speaker_roster(scale: Scale, seed: int) -> tuple[list[Speaker], list[Speaker], list[Speaker]]:
    """(train, test, babble) speakers: of each source group, every fourth from the second is a test speaker."""
    espeak = synthesis.espeak_speakers(scale.espeak_speakers + scale.babble_espeak_speakers, _seed(seed, "espeak"))
    groups = [
        recordings.asterisk_speakers()[: scale.recorded_speakers],
        synthesis.flite_speakers()[: scale.flite_speakers],
        synthesis.festival_speakers()[: scale.festival_speakers],
        espeak[: scale.espeak_speakers],
    ]
    train = [speaker for group in groups for index, speaker in enumerate(group) if index % 4 != 1]
    test = [speaker for group in groups for index, speaker in enumerate(group) if index % 4 == 1]
    return train, test, espeak[scale.espeak_speakers :]


def _render(speakers: list[Speaker], count: int, seed: int, workdir: Path, notes: list[str]) -> dict[str, list]:
    rendered: dict[str, list[Utterance]] = {}
    for speaker in speakers:
        try:
            rendered[speaker.id] = speaker.render(count, _seed(seed, speaker.id), workdir)
        except SourceMissing as missing:
            notes.append(f"skipped speaker {speaker.id}: {missing}")
    return rendered


def _babble(scale: Scale, seed: int, speakers: list[Speaker], workdir: Path, notes: list[str]) -> list:
    """(subset, talker, samples) pieces of 6 s: recorded talkers first, then held-out eSpeak NG speakers."""
    pieces = []
    for talker, source, loader in recordings.babble_sources():
        try:
            audio = dsp.level(dsp.trim(loader()))
        except SourceMissing as missing:
            notes.append(f"skipped babble talker {talker} ({source}): {missing}")
            continue
        pieces += [("recorded", talker, p) for p in dsp.chunks(audio, BABBLE_SECONDS, scale.babble_pieces)]
    for speaker_id, utterances in _render(speakers, 4, seed, workdir, notes).items():
        audio = dsp.join([samples for _, samples in utterances], 0.3)
        pieces += [("espeak", speaker_id, p) for p in dsp.chunks(audio, BABBLE_SECONDS, scale.babble_pieces)]
    return pieces


def _write_musan(root: Path, scale: Scale, seed: int, babble_speakers: list[Speaker], workdir: Path, notes: list):
    writer = layout.MusanWriter(root)
    pieces = _babble(scale, seed, babble_speakers, workdir, notes)
    talkers = sorted({talker for _, talker, _ in pieces})
    talker_split = {talker: ("train" if index % 2 == 0 else "test") for index, talker in enumerate(talkers)}
    for subset, talker, samples in pieces:
        writer.add("speech", subset, talker_split[talker], samples, talker)
    for split, scene in noise.noise_scenes(scale.noise_scenes, _seed(seed, "noise")):
        writer.add("noise", "events", split, scene, "oxygen+freedesktop+alsa scene")
    try:
        for track, split, piece in noise.opsound_pieces(scale.opsound_pieces):
            writer.add("music", "opsound", split, piece, track)
    except SourceMissing as missing:
        notes.append(f"skipped recorded music: {missing}")
    try:
        for split, piece in noise.fluidsynth_pieces(scale.tunes, _seed(seed, "tunes"), workdir):
            writer.add("music", "fluidsynth", split, piece, "TimGM6mb tune")
    except SourceMissing as missing:
        notes.append(f"skipped rendered music: {missing}")
    writer.close()


def _write_rirs(root: Path, scale: Scale, seed: int) -> None:
    for size in rirs.ROOM_CLASSES:
        rng = np.random.default_rng(_seed(seed, size))
        for room in range(1, scale.rooms + 1):
            layout.write_rir_room(root, size, room, rirs.room_responses(size, scale.rirs_per_room, rng))


def _count(root: Path, pattern: str) -> int:
    return sum(1 for _ in root.glob(pattern))


def _report(root: Path, built: bool, seconds: float, state: dict) -> BuildReport:
    files = [p for p in root.rglob("*") if p.is_file()]
    musan = {c: _count(root / "musan" / c, "*/*.wav") for c in ("speech", "noise", "music")}
    return BuildReport(
        root=str(root),
        built=built,
        seconds=seconds,
        megabytes=sum(p.stat().st_size for p in files) / 1e6,
        files=len(files),
        train_speakers=state["train_speakers"],
        test_speakers=state["test_speakers"],
        utterances=_count(root / "voxceleb1" / "wav", "*/*/*.wav"),
        target_trials=state["target_trials"],
        nontarget_trials=state["nontarget_trials"],
        musan_files=musan,
        rirs=_count(root / "RIRS_NOISES" / "simulated_rirs", "*/*/*.wav"),
        nonspeech=_count(root / "Nonspeech", "n*.wav"),
        notes=state["notes"],
    )


def build_corpus(out: str | Path, scale: Scale, seed: int = 0) -> BuildReport:
    """Build ``out`` (voxceleb1/, musan/, RIRS_NOISES/, Nonspeech/) unless its stamp says it is built alike."""
    out = Path(out)
    config = {"format": FORMAT_VERSION, "seed": seed, "scale": asdict(scale)}
    stamp = out / STAMP
    if stamp.is_file():
        state = json.loads(stamp.read_text(encoding="utf-8"))
        if state.get("config") == config:
            return _report(out, False, 0.0, state)
    start = time.monotonic()
    notes: list[str] = []
    with atomic_directory(out) as tmp, tempfile.TemporaryDirectory(prefix="mini_corpus.") as work:
        workdir = Path(work)
        train, test, babble = speaker_roster(scale, seed)
        rendered = _render(train + test, scale.utterances, seed, workdir, notes)
        files = layout.write_voxceleb1(tmp / "voxceleb1", rendered)
        test_files = {speaker.id: files[speaker.id] for speaker in test if speaker.id in files}
        targets, nontargets = layout.write_trials(tmp / "voxceleb1" / layout.TRIALS_LIST, test_files)
        _write_musan(tmp / "musan", scale, seed, babble, workdir, notes)
        _write_rirs(tmp / "RIRS_NOISES", scale, seed)
        layout.write_nonspeech(tmp / "Nonspeech", noise.nonspeech_sounds(scale.nonspeech))
        (tmp / "SOURCES.tsv").write_text(sources_tsv(), encoding="utf-8")
        state = {
            "config": config,
            "train_speakers": [s.id for s in train if s.id in files],
            "test_speakers": sorted(test_files),
            "target_trials": targets,
            "nontarget_trials": nontargets,
            "notes": notes,
        }
        with atomic_open(tmp / STAMP) as handle:
            json.dump(state, handle, indent=1)
    return _report(out, True, time.monotonic() - start, state)


def scale_with(name: str, **overrides: int | None) -> Scale:
    """A named scale with some counts replaced (None keeps the scale's own)."""
    return replace(SCALES[name], **{k: v for k, v in overrides.items() if v is not None})

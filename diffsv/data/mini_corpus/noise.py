"""Noise and music: recorded event sounds layered into scenes, recorded and sound-font music, OOD sounds.

- MUSAN-style ``noise``: 6 s scenes, each 3-6 event sounds (KDE Oxygen, freedesktop, ALSA's noise) at
  random times and levels over a quiet bed of one of them looped; the event files are split in two
  halves, so training and test scenes share no recording.
- MUSAN-style ``music``: 8 s pieces of five recorded music-on-hold tracks (different tracks for
  training and test), and generated tunes (a melody over a bass line, random instruments and keys)
  rendered by FluidSynth from the sampled instruments of the TimGM6mb sound font.
- Nonspeech-style out-of-domain sounds for testing only: the recorded sound icons (instruments, a
  canary, a cockchafer, water, percussion), each repeated to last at least 1 s.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from diffsv.data.mini_corpus import dsp
from diffsv.data.mini_corpus.speakers import SourceMissing, require

OXYGEN_ROOT = Path("/usr/share/sounds")
FREEDESKTOP_ROOT = Path("/usr/share/sounds/freedesktop/stereo")
ALSA_NOISE = Path("/usr/share/sounds/alsa/Noise.wav")
OPSOUND_ROOT = Path("/usr/share/asterisk/moh")
SOUND_ICONS_ROOT = Path("/usr/share/sounds/sound-icons")
SOUND_FONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")

SCENE_SECONDS = 6.0
MUSIC_SECONDS = 8.0
NONSPEECH_MIN_SECONDS = 1.0


def event_files() -> list[tuple[str, Path]]:
    """(manifest source, path) of every installed event sound; spoken channel names are left out."""
    files = [("oxygen", p) for p in sorted(OXYGEN_ROOT.glob("Oxygen-*.ogg"))]
    files += [("freedesktop", p) for p in sorted(FREEDESKTOP_ROOT.glob("*.oga")) if "audio-channel" not in p.name]
    if ALSA_NOISE.exists():
        files.append(("alsa", ALSA_NOISE))
    if not files:
        raise SourceMissing("oxygen, freedesktop: no event sounds installed; run tools/install_mini_corpus.sh")
    return files


def noise_scene(events: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A bed (one event looped 20 dB down) and 3-6 events at random times and -12..0 dB."""
    length = round(SCENE_SECONDS * dsp.SAMPLE_RATE)
    bed = events[rng.integers(len(events))]
    scene = 0.1 * np.resize(bed, length).astype(np.float64)
    for _ in range(int(rng.integers(3, 7))):
        event = events[rng.integers(len(events))][:length]
        start = int(rng.integers(0, length - len(event) + 1))
        scene[start : start + len(event)] += event * 10 ** (rng.uniform(-12, 0) / 20)
    return dsp.level(scene.astype(np.float32), rms_db=-24.0)


def noise_scenes(count: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """(split, scene) pairs alternating train, test; each split draws only on its half of the event files."""
    files = event_files()
    halves = {"train": files[0::2], "test": files[1::2]}
    loaded = {split: [dsp.level(dsp.load(path)) for _, path in chosen] for split, chosen in halves.items()}
    rng = np.random.default_rng(seed)
    splits = ("train", "test")
    return [(splits[index % 2], noise_scene(loaded[splits[index % 2]], rng)) for index in range(count)]


def opsound_pieces(per_track: int) -> list[tuple[str, str, np.ndarray]]:
    """(track, split, piece): ``per_track`` 8 s pieces spread over each track; tracks alternate train/test."""
    tracks = sorted(require(OPSOUND_ROOT, "opsound").glob("*.wav"))
    pieces = []
    for number, path in enumerate(tracks):
        audio = dsp.load(path)
        size = round(MUSIC_SECONDS * dsp.SAMPLE_RATE)
        starts = np.linspace(0, len(audio) - size, per_track + 2)[1:-1].astype(int)  # skip fade-in and -out
        split = "train" if number % 2 == 0 else "test"
        pieces += [(path.stem, split, dsp.level(audio[start : start + size])) for start in starts]
    return pieces


PROGRAMS = (0, 4, 11, 19, 24, 25, 40, 42, 48, 56, 65, 68, 71, 73)  # GM piano, e-piano, vibes, organ, guitars...
BASS_PROGRAMS = (32, 33, 35, 43)
MAJOR = (0, 2, 4, 5, 7, 9, 11)


def _midi_tune(path: Path, rng: np.random.Generator) -> None:
    """A random-walk melody in a major key over a root-note bass line, written as a MIDI file."""
    import mido

    ticks = 480
    tempo = int(rng.integers(80, 141))
    beats = int(MUSIC_SECONDS * tempo / 60) + 1
    key = 48 + int(rng.integers(0, 12))
    song = mido.MidiFile(ticks_per_beat=ticks)
    melody, bass = mido.MidiTrack(), mido.MidiTrack()
    song.tracks += [melody, bass]
    melody.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo)))
    melody.append(mido.Message("program_change", channel=0, program=int(rng.choice(PROGRAMS))))
    bass.append(mido.Message("program_change", channel=1, program=int(rng.choice(BASS_PROGRAMS))))
    degree, elapsed = 7, 0
    while elapsed < beats * ticks:
        length = int(rng.choice((ticks // 2, ticks, ticks, 2 * ticks)))
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 14))
        note = key + 12 + 12 * (degree // 7) + MAJOR[degree % 7]
        velocity = int(rng.integers(60, 110))
        melody.append(mido.Message("note_on", channel=0, note=note, velocity=velocity, time=0))
        melody.append(mido.Message("note_off", channel=0, note=note, velocity=0, time=length))
        elapsed += length
    for bar in range(beats // 4 + 1):
        root = key - 12 + MAJOR[int(rng.choice((0, 3, 4, 5)))] if bar % 2 else key - 12
        bass.append(mido.Message("note_on", channel=1, note=root, velocity=90, time=0))
        bass.append(mido.Message("note_off", channel=1, note=root, velocity=0, time=4 * ticks))
    song.save(str(path))


def fluidsynth_pieces(count: int, seed: int, workdir: Path) -> list[tuple[str, np.ndarray]]:
    """(split, piece) of ``count`` generated tunes rendered with FluidSynth, alternating train and test."""
    if shutil.which("fluidsynth") is None:
        raise SourceMissing("fluidsynth: not installed; run tools/install_mini_corpus.sh")
    require(SOUND_FONT, "fluidsynth")
    rng = np.random.default_rng(seed)
    pieces = []
    for index in range(count):
        midi, wav = workdir / f"tune{index}.mid", workdir / f"tune{index}.wav"
        _midi_tune(midi, rng)
        command = ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(dsp.SAMPLE_RATE), "-T", "wav", "-F", str(wav)]
        subprocess.run([*command, str(SOUND_FONT), str(midi)], check=True, capture_output=True)
        audio = dsp.load(wav)[: round(MUSIC_SECONDS * dsp.SAMPLE_RATE)]
        pieces.append(("train" if index % 2 == 0 else "test", dsp.level(audio)))
    return pieces


def nonspeech_sounds(limit: int) -> list[np.ndarray]:
    """Up to ``limit`` recorded sound icons spread over the sorted names, each lasting at least 1 s."""
    paths = sorted(require(SOUND_ICONS_ROOT, "sound-icons").glob("*.wav"))
    paths = paths[:: max(1, len(paths) // limit)][:limit]
    return [dsp.level(dsp.tile(dsp.load(path), NONSPEECH_MIN_SECONDS, 0.25), rms_db=-24.0) for path in paths]

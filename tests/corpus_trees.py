"""Tiny corpora in the exact published layouts, with generated 16 kHz mono audio, for data-preparation tests.

Each ``make_*`` function builds one corpus under ``root`` (file names, folders, list and key formats as
released, plus the stray files real releases carry) and returns what a test needs to check the data
directories made from it. All together they hold about a minute of audio (about 2 MB).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

SAMPLE_RATE = 16000


def write_wav(path: Path, seconds: float, sample_rate: int = SAMPLE_RATE, channels: int = 1, seed: int = 0) -> Path:
    """A 16-bit WAV of quiet noise, ``round(seconds * sample_rate)`` samples long (0 gives a header-only file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = round(seconds * sample_rate)
    rng = np.random.default_rng(seed)
    samples = (0.05 * rng.standard_normal((frames, channels))).astype(np.float32)
    soundfile.write(str(path), samples if channels > 1 else samples[:, 0], sample_rate, subtype="PCM_16")
    return path


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# ---- VoxCeleb1 ------------------------------------------------------------------------------------


@dataclass
class VoxCeleb1Tree:
    root: Path
    files: dict[str, float]  # path relative to wav/ -> seconds
    train_speakers: list[str]
    test_speakers: list[str]
    trials: dict[str, list[tuple[str, str, bool]]]  # list name -> (path1, path2, target) in list order

    def list_path(self, name: str = "veri_test2.txt") -> Path:
        return self.root / name


VOX_TRAIN = {"id10001": ("1zcIwhmdeo4", "7w0IBEWc9Qw"), "id10002": ("-5Bnb_RhRvA",)}
VOX_TEST = {"id10270": ("5r0dWxy17C8", "x6uYqmx31kE"), "id10271": ("1gtz-CUIygI",)}


def make_voxceleb1(root: Path, split_dirs: bool = False) -> VoxCeleb1Tree:
    """``wav/<spk>/<video>/<nnnnn>.wav`` (or ``dev/wav`` + ``test/wav``), ``veri_test.txt`` and ``veri_test2.txt``.

    Two training speakers (5 files) and two test speakers (5 files) of 1-2 s; the original list has
    6 trials, the cleaned one 5 (one dropped), as ``label path1 path2`` lines.
    """
    files: dict[str, float] = {}
    seed = 0
    for speakers, part in ((VOX_TRAIN, "dev"), (VOX_TEST, "test")):
        wav_dir = root / part / "wav" if split_dirs else root / "wav"
        for speaker, videos in speakers.items():
            for video in videos:
                for number in (1, 2) if video != "-5Bnb_RhRvA" else (3,):
                    relative = f"{speaker}/{video}/{number:05d}.wav"
                    seconds = 1.0 + 0.25 * (seed % 5)
                    write_wav(wav_dir / relative, seconds, seed=seed)
                    files[relative] = seconds
                    seed += 1
    a1, a2, b1, b2 = (
        "id10270/5r0dWxy17C8/00001.wav",
        "id10270/x6uYqmx31kE/00002.wav",
        "id10271/1gtz-CUIygI/00001.wav",
        "id10271/1gtz-CUIygI/00002.wav",
    )
    original = [(a1, a2, True), (a1, b1, False), (b1, b2, True), (b2, a2, False), (a2, b1, False), (b2, a1, False)]
    cleaned = original[:3] + original[4:]
    d1, d2, d3 = "id10001/1zcIwhmdeo4/00001.wav", "id10001/7w0IBEWc9Qw/00002.wav", "id10002/-5Bnb_RhRvA/00003.wav"
    extended = [(d1, d2, True), (d1, d3, False), (d3, a1, False), (a1, a2, True), (d2, b1, False), (b1, b2, True)]
    hard = [(d1, d2, True), (d1, d3, False), (a1, a2, True), (a2, b2, False)]
    trials = {
        "veri_test.txt": original,
        "veri_test2.txt": cleaned,
        "list_test_all2.txt": extended,  # VoxCeleb1-E: dev speakers too
        "list_test_hard2.txt": hard,  # VoxCeleb1-H
    }
    for name, listed in trials.items():
        _write_lines(root / name, [f"{int(target)} {p1} {p2}" for p1, p2, target in listed])
    return VoxCeleb1Tree(root, files, sorted(VOX_TRAIN), sorted(VOX_TEST), trials)


# ---- VoxCeleb2 ------------------------------------------------------------------------------------


@dataclass
class VoxCeleb2Tree:
    root: Path
    files: dict[str, float]  # path relative to dev/aac or dev/wav, without suffix -> seconds
    speakers: list[str]


def make_voxceleb2(
    root: Path, m4a: bool = False, speakers: int = 3, videos: int = 2, per_video: int = 2
) -> VoxCeleb2Tree:
    """``dev/aac/<spk>/<video>/<nnnnn>.m4a`` (AAC written by ffmpeg) or ``dev/wav/.../<nnnnn>.wav``, with
    speakers ``id00012``, ``id00015``, ... and 1.5-2.5 s utterances of different noise."""
    files: dict[str, float] = {}
    names = [f"id{12 + 3 * k:05d}" for k in range(speakers)]
    for k, speaker in enumerate(names):
        for v in range(videos):
            for n in range(1, per_video + 1):
                stem = f"{speaker}/vid{k}x{v}_Abc/{n:05d}"
                seconds = 1.5 + 0.25 * ((k + v + n) % 5)
                seed = 1000 + 100 * k + 10 * v + n
                if m4a:
                    wav = write_wav(root / "source" / f"{stem}.wav", seconds, seed=seed)
                    target = root / "dev" / "aac" / f"{stem}.m4a"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    subprocess.run(
                        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", str(target)],
                        check=True,
                    )
                else:
                    write_wav(root / "dev" / "wav" / f"{stem}.wav", seconds, seed=seed)
                files[stem] = seconds
    if m4a:
        shutil.rmtree(root / "source")
    _write_lines(root / "vox2_meta.csv", ["VoxCeleb2 ID ,VGGFace2 ID ,Gender ,Set "])
    return VoxCeleb2Tree(root, files, names)


# ---- MUSAN ----------------------------------------------------------------------------------------

MUSAN_FILES = {
    "music/fma/music-fma-0000.wav": 11.0,  # train: (11 - 5) // 3 = 2 windows, at 0 and 3 s
    "music/fma-western-art/music-fma-wa-0001.wav": 4.0,  # test: shorter than 5 s, kept whole
    "noise/free-sound/noise-free-sound-0000.wav": 4.0,  # train: whole
    "noise/free-sound/noise-free-sound-0001.wav": 8.5,  # test: one window at 0 s (one fewer than fit)
    "noise/sound-bible/noise-sound-bible-0002.wav": 5.0,  # train: no window, kept whole
    "speech/librivox/speech-librivox-0000.wav": 2.0,  # train: whole
    "speech/us-gov/speech-us-gov-0001.wav": 6.0,  # test: shorter than 8 s, kept whole
}


@dataclass
class MusanTree:
    root: Path
    files: dict[str, float] = field(default_factory=lambda: dict(MUSAN_FILES))


def make_musan(root: Path) -> MusanTree:
    """``{music,noise,speech}/<subset>/<name>-NNNN.wav`` with the README/ANNOTATIONS/LICENSE files around them."""
    for seed, (relative, seconds) in enumerate(MUSAN_FILES.items()):
        write_wav(root / relative, seconds, seed=100 + seed)
        subset = (root / relative).parent
        _write_lines(subset / "ANNOTATIONS", [f"{Path(relative).stem} a note"])
        _write_lines(subset / "LICENSE", ["license text"])
    _write_lines(root / "README", ["MUSAN: a music, speech and noise corpus"])
    return MusanTree(root)


# ---- RIRS_NOISES ----------------------------------------------------------------------------------

RIR_FILES = (
    "smallroom/Room001/Room001-00001.wav",
    "smallroom/Room001/Room001-00002.wav",
    "smallroom/Room002/Room002-00001.wav",
    "mediumroom/Room001/Room001-00001.wav",
    "largeroom/Room001/Room001-00001.wav",
)


def make_rirs(root: Path) -> list[str]:
    """``simulated_rirs/<size>/RoomNNN/RoomNNN-MMMMM.wav`` plus the real RIRs and noises that are not used.

    Returns the utterance ids the ``rirs`` directory should have, sorted.
    """
    for seed, relative in enumerate(RIR_FILES):
        write_wav(root / "simulated_rirs" / relative, 0.25, seed=200 + seed)
    for size in ("smallroom", "mediumroom", "largeroom"):
        _write_lines(root / "simulated_rirs" / size / "rir_list", ["--rir-id Room001-00001 --room-id Room001 ..."])
    write_wav(root / "real_rirs_isotropic_noises" / "RVB2014_type1_rir_largeroom1_far_angla.wav", 0.25)
    write_wav(root / "pointsource_noises" / "noise-free-sound-0001.wav", 0.25)
    return sorted(relative.split("/")[0] + "-" + Path(relative).stem for relative in RIR_FILES)


# ---- Nonspeech100 ---------------------------------------------------------------------------------


def make_nonspeech(root: Path, count: int = 12) -> list[str]:
    """``n1.wav`` ... ``n<count>.wav`` (the release has 100); returns the ids in C order."""
    for number in range(1, count + 1):
        write_wav(root / f"n{number}.wav", 0.2 + 0.05 * (number % 4), seed=300 + number)
    return sorted(f"n{number}" for number in range(1, count + 1))


# ---- VOiCES 2019 challenge ------------------------------------------------------------------------


def _voices_name(room: str, distractor: str, speaker: str, segment: int, mic: int) -> str:
    return f"Lab41-SRI-VOiCES-{room}-{distractor}-{speaker}-ch003054-sg{segment:04d}-mc{mic:02d}-stu-clo-dg090"


@dataclass
class VoicesTree:
    root: Path
    dev_speakers: dict[str, str]  # file name without .wav -> speaker
    eval_speakers: dict[str, str]
    dev_trials: list[tuple[str, str, bool]]  # (enrolment name, test name, target), key-file order
    eval_trials: list[tuple[str, str, bool]]


def make_voices(root: Path) -> VoicesTree:
    """The challenge release: ``Development_Data/Speaker_Recognition/sid_dev/spNNNN/*.wav`` with
    ``sid_dev_lists_and_keys/``, ``Speaker_Recognition/sid_eval/*.wav`` (anonymised) with ``sid_eval_lists/``,
    and ``VOiCES_challenge_2019_post-eval-release/`` holding the eval keys and the name map.
    """
    dev_root = root / "Development_Data" / "Speaker_Recognition"
    dev = {
        _voices_name("rm1", "none", "sp0083", 5, 1): "sp0083",
        _voices_name("rm2", "babb", "sp0083", 10, 5): "sp0083",
        _voices_name("rm1", "musi", "sp1898", 7, 1): "sp1898",
        _voices_name("rm2", "none", "sp1898", 12, 3): "sp1898",
    }
    for seed, (name, speaker) in enumerate(dev.items()):
        write_wav(dev_root / "sid_dev" / speaker / f"{name}.wav", 0.5, seed=400 + seed)
    (dev_root / "sid_dev" / "sp0083" / f"._{next(iter(dev))}.wav").write_bytes(b"\x00\x05\x16\x07 Mac OS X")
    names = list(dev)
    enrol, test = [names[0], names[2]], [names[1], names[3]]
    dev_trials = [
        (enrol[0], test[0], True),
        (enrol[0], test[1], False),
        (enrol[1], test[1], True),
        (enrol[1], test[0], False),
    ]
    lists = dev_root / "sid_dev_lists_and_keys"
    _write_lines(lists / "dev-enroll.lst", [f"{name} sid_dev/{dev[name]}/{name}.wav" for name in enrol])
    _write_lines(lists / "dev-test.lst", [f"sid_dev/{dev[name]}/{name}.wav" for name in test])
    _write_lines(
        lists / "dev-trial-keys.lst",
        [f"{e} sid_dev/{dev[t]}/{t}.wav {'tgt' if target else 'imp'}" for e, t, target in dev_trials],
    )

    eval_root = root / "Speaker_Recognition"
    originals = {  # anonymised name -> (original name, speaker); source recordings have no room fields
        "vfkwbq": ("Lab41-SRI-VOiCES-src-sp2011-ch004001-sg0003.wav", "sp2011"),
        "aqmzle": (_voices_name("rm3", "tele", "sp2011", 8, 11) + ".wav", "sp2011"),
        "kxotsr": ("Lab41-SRI-VOiCES-src-sp0415-ch004002-sg0001.wav", "sp0415"),
        "bnuyhd": (_voices_name("rm4", "musi", "sp0415", 2, 7) + ".wav", "sp0415"),
    }
    for seed, anonymised in enumerate(originals):
        write_wav(eval_root / "sid_eval" / f"{anonymised}.wav", 0.5, seed=500 + seed)
    eval_trials = [
        ("vfkwbq", "aqmzle", True),
        ("vfkwbq", "bnuyhd", False),
        ("kxotsr", "bnuyhd", True),
        ("kxotsr", "aqmzle", False),
    ]
    eval_lists = eval_root / "sid_eval_lists"
    _write_lines(eval_lists / "eval-enroll.lst", [f"{name} sid_eval/{name}.wav" for name in ("vfkwbq", "kxotsr")])
    _write_lines(eval_lists / "eval-test.lst", [f"sid_eval/{name}.wav" for name in ("aqmzle", "bnuyhd")])
    _write_lines(eval_lists / "eval-trial.lst", [f"{e} sid_eval/{t}.wav" for e, t, _ in eval_trials])
    post = root / "VOiCES_challenge_2019_post-eval-release"
    _write_lines(
        post / "VOiCES_challenge_2019_eval.SID.trial-keys.lst",
        [f"{e} {t}.wav {'tgt' if target else 'imp'}" for e, t, target in eval_trials],
    )
    _write_lines(post / "VOiCES_challenge_2019_eval.SID.map", [f"{a} {o}" for a, (o, _) in originals.items()])
    eval_speakers = {anonymised: speaker for anonymised, (_, speaker) in originals.items()}
    return VoicesTree(root, dev, eval_speakers, dev_trials, eval_trials)

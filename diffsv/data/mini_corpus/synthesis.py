"""Synthetic speakers: Flite and Festival voices built on recordings of real speakers, and eSpeak NG ones.

Every synthetic speaker reads a seeded selection of Harvard sentences in two sessions: ``s1`` at the
voice's own pace and ``s2`` slower (a duration stretch for Flite and Festival, a lower rate for
eSpeak NG), a stand-in for the session variability between the videos of a VoxCeleb speaker.
eSpeak NG is formant synthesis with no recorded speaker behind it; it is used only for variety, each
speaker a fixed accent, voice variant (formant set), pitch and rate, varied slightly per utterance.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from diffsv.data.mini_corpus import dsp
from diffsv.data.mini_corpus.speakers import SourceMissing, Speaker, Utterance
from diffsv.data.mini_corpus.texts import HARVARD

SESSION_STRETCH = {"s1": 1.0, "s2": 1.15}

FLITE_VOICES = ("awb", "rms", "slt", "kal16")  # kal16 and kal are one speaker; slt is also a Festival voice
FESTIVAL_VOICES = {  # speaker id -> Festival voice; ``cmu_us_slt_arctic_hts`` is left to Flite's slt
    "festival_ked": "ked_diphone",
    "festival_lp": "lp_diphone",
    "festival_pc": "pc_diphone",
    "festival_lj": "suo_fi_lj_diphone",
    "festival_mv": "hy_fi_mv_diphone",
    "festival_dita": "czech_dita",
    "festival_machac": "czech_machac",
    "festival_krb": "czech_krb",
    "festival_ph": "czech_ph",
    "festival_ona": "upc_ca_ona_hts",
}
ESPEAK_ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
ESPEAK_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "antonio", "aunty", "belinda", "edward", "grandma",
    "grandpa", "linda", "michael", "paul", "robert", "steph", "travis", "victor", "zac",
)  # fmt: skip


def _run(command: list[str], source: str) -> None:
    if shutil.which(command[0]) is None:
        raise SourceMissing(f"{source}: '{command[0]}' is not installed; run tools/install_mini_corpus.sh")
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _plan(count: int, seed: int) -> list[tuple[str, str]]:
    """(session, sentence) for each utterance: distinct sentences, the first half in s1, the rest in s2."""
    if count > len(HARVARD):
        raise ValueError(f"at most {len(HARVARD)} utterances per synthetic speaker, asked for {count}")
    rng = np.random.default_rng(seed)
    texts = [HARVARD[i] for i in rng.permutation(len(HARVARD))[:count]]
    return [("s1" if index < (count + 1) // 2 else "s2", text) for index, text in enumerate(texts)]


def _finish(path: Path) -> np.ndarray:
    return dsp.level(dsp.trim(dsp.load(path)))


def flite_speaker(voice: str) -> Speaker:
    def render(count: int, seed: int, workdir: Path) -> list[Utterance]:
        utterances = []
        for index, (session, text) in enumerate(_plan(count, seed)):
            out = workdir / f"flite_{voice}_{index}.wav"
            stretch = f"duration_stretch={SESSION_STRETCH[session]}"
            _run(["flite", "-voice", voice, "--setf", stretch, "-t", text, "-o", str(out)], "flite")
            utterances.append((session, _finish(out)))
        return utterances

    return Speaker(f"flite_{voice}", "flite", render)


def festival_speaker(speaker_id: str) -> Speaker:
    """One Festival voice; all its utterances come from one batch run (Festival starts slowly)."""
    voice = FESTIVAL_VOICES[speaker_id]

    def render(count: int, seed: int, workdir: Path) -> list[Utterance]:
        plan = _plan(count, seed)
        outputs = [workdir / f"{speaker_id}_{index}.wav" for index in range(count)]
        script = [f"(voice_{voice})"]
        for (session, text), out in zip(plan, outputs, strict=True):
            script.append(f"(Parameter.set 'Duration_Stretch {SESSION_STRETCH[session]})")
            script.append(f'(utt.save.wave (utt.synth (Utterance Text "{text}")) "{out}" \'riff)')
        script_path = workdir / f"{speaker_id}.scm"
        script_path.write_text("\n".join(script) + "\n", encoding="utf-8")
        _run(["festival", "--batch", str(script_path)], "festival")
        missing = [out for out in outputs if not out.exists()]
        if missing:
            raise SourceMissing(f"festival: voice {voice} made no audio (is its festvox package installed?)")
        return [(session, _finish(out)) for (session, _), out in zip(plan, outputs, strict=True)]

    return Speaker(speaker_id, "festival", render)


def espeak_speaker(accent: str, variant: str, pitch: int, rate: int) -> Speaker:
    """A formant-synthesis speaker: accent, variant and base pitch (0-99) and rate (words/min) are fixed."""
    speaker_id = f"espeak_{accent.replace('-', '_')}_{variant.lower()}_p{pitch}"

    def render(count: int, seed: int, workdir: Path) -> list[Utterance]:
        rng = np.random.default_rng(seed)
        utterances = []
        for index, (session, text) in enumerate(_plan(count, seed)):
            out = workdir / f"{speaker_id}_{index}.wav"
            utterance_pitch = int(np.clip(pitch + rng.integers(-4, 5), 0, 99))
            utterance_rate = round((rate + int(rng.integers(-8, 9))) / SESSION_STRETCH[session])
            command = ["espeak-ng", "-v", f"{accent}+{variant}", "-p", str(utterance_pitch)]
            _run([*command, "-s", str(utterance_rate), "-w", str(out), text], "espeak-ng")
            utterances.append((session, _finish(out)))
        return utterances

    return Speaker(speaker_id, "espeak-ng", render)


def espeak_speakers(count: int, seed: int) -> list[Speaker]:
    """``count`` eSpeak NG speakers with distinct (accent, variant) pairs, pitch 20-80 and rate 140-185."""
    rng = np.random.default_rng(seed)
    pairs = [(accent, variant) for variant in ESPEAK_VARIANTS for accent in ESPEAK_ACCENTS]
    chosen = rng.permutation(len(pairs))[:count]
    speakers = []
    for index in chosen:
        accent, variant = pairs[index]
        speakers.append(espeak_speaker(accent, variant, int(rng.integers(20, 81)), int(rng.integers(140, 186))))
    return speakers


def flite_speakers() -> list[Speaker]:
    return [flite_speaker(voice) for voice in FLITE_VOICES]


def festival_speakers() -> list[Speaker]:
    return [festival_speaker(speaker_id) for speaker_id in FESTIVAL_VOICES]

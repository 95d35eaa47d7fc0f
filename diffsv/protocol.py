"""The evaluation protocol in one place: the test conditions, their SNRs and noise sources.

The clean test set (``clean``: VoxCeleb1-O), its noisy copies ``<noise>_<snr>`` made by stage 2 from the
sources below at each of :data:`SNRS`, and, when given, VoxCeleb1-E and -H and VOiCES dev/eval with their
own trial lists. Stage 2
(``diffsv.bin.make_noisy_sets``), the results (``diffsv.results``) and the inference API read the
conditions from here. Stage 5 scores whatever stages 1 and 2 listed (``diffsv.data.eval_sets``), so a
condition made with other SNRs or another noise is reported too: the helpers below order and group any
condition name, known here or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TestNoise:
    """A noise added to the test set: its data directory (under the recipe's data/), how many of its
    recordings are averaged into one noise (drawn from min..max), and whether training ever sees its kind."""

    name: str
    source: str
    files: tuple[int, int] = (1, 1)
    out_of_domain: bool = False


CLEAN = "clean"
#: The data directory of the clean test set; every other set's condition is its directory's name.
CLEAN_SET = "test"
SNRS = (0, 5, 10, 15, 20)
TEST_NOISES = (
    TestNoise("babble", "musan_speech_test", (3, 6)),
    TestNoise("music", "musan_music_test"),
    TestNoise("noise", "musan_noise_test"),
    TestNoise("nonspeech", "nonspeech", out_of_domain=True),
)
NOISE_TYPES = tuple(noise.name for noise in TEST_NOISES)
#: The training noise pools, by the augmentation kind that draws from each (``augmentation.kinds``; the
#: kind ``babble_music`` mixes two of them), and their data directories. Training and test name a noise
#: alike: babble is MUSAN speech, reverb the simulated RIRs.
TRAINING_POOLS = {
    "noise": "musan_noise_train",
    "babble": "musan_speech_train",
    "music": "musan_music_train",
    "reverb": "rirs",
}
VOICES = ("voices_dev", "voices_eval")
#: VoxCeleb1-E and -H (all of VoxCeleb1, for a model trained without VoxCeleb1 dev); ``clean`` is VoxCeleb1-O.
VOX1_EXTENDED = ("vox1_e", "vox1_h")
VOX1_TITLES = {CLEAN: "VoxCeleb1-O", "vox1_e": "VoxCeleb1-E", "vox1_h": "VoxCeleb1-H"}
NOISY = tuple(f"{noise}_{snr}" for noise in NOISE_TYPES for snr in SNRS)
CONDITIONS = (CLEAN, *NOISY, *VOX1_EXTENDED, *VOICES)
#: The paper's headline average: clean plus the in-domain noisy conditions (Nonspeech100 is reported apart).
HEADLINE = (CLEAN, *(f"{noise.name}_{snr}" for noise in TEST_NOISES if not noise.out_of_domain for snr in SNRS))


def condition_of_set(set_name: str) -> str:
    """The condition a prepared data directory is reported as: ``clean`` for ``test``, else its name."""
    return CLEAN if set_name == CLEAN_SET else set_name


def noisy_set_name(condition: str) -> str:
    """The data directory of a noisy copy of the clean test set: ``test_<noise>_<snr>``."""
    return f"{CLEAN_SET}_{condition}"


_NOISY_CONDITION = re.compile(r"^(?P<noise>[A-Za-z][\w-]*?)_(?P<snr>-?\d+)$")


def noisy_parts(condition: str) -> tuple[str, int] | None:
    """``("babble", -5)`` for ``babble_-5``; None for a condition that is not a noise at an SNR."""
    match = _NOISY_CONDITION.match(condition)
    return (match["noise"], int(match["snr"])) if match else None


def _noise_rank(noise: str) -> tuple[int, str]:
    return (NOISE_TYPES.index(noise), "") if noise in NOISE_TYPES else (len(NOISE_TYPES), noise)


def condition_order(conditions: Iterable[str]) -> list[str]:
    """Clean, then the noisy conditions (the protocol's noises first, each by SNR), then VoxCeleb1-E and -H,
    then the others."""
    named = (*VOX1_EXTENDED, *VOICES)

    def key(condition: str) -> tuple:
        if condition == CLEAN:
            return (0,)
        parts = noisy_parts(condition)
        if parts:
            return (1, *_noise_rank(parts[0]), parts[1])
        return (2, named.index(condition) if condition in named else len(named), condition)

    return sorted(set(conditions), key=key)


def noise_types(conditions: Iterable[str]) -> list[str]:
    """The noises of the noisy conditions present, the protocol's first."""
    return sorted({parts[0] for c in conditions if (parts := noisy_parts(c))}, key=_noise_rank)


def snrs_of(conditions: Iterable[str]) -> list[int]:
    """The SNRs of the noisy conditions present, ascending."""
    return sorted({parts[1] for c in conditions if (parts := noisy_parts(c))})


def in_headline(condition: str) -> bool:
    """Part of the headline average: clean, or one of the protocol's in-domain noises at any SNR."""
    parts = noisy_parts(condition)
    in_domain = {noise.name for noise in TEST_NOISES if not noise.out_of_domain}
    return condition == CLEAN or (parts is not None and parts[0] in in_domain)

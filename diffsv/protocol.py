"""The evaluation protocol in one place: the test conditions, their SNRs and noise sources.

The clean test set (``clean``), its noisy copies ``<noise>_<snr>`` made by stage 2 from the sources
below at each of :data:`SNRS`, and, when given, VOiCES dev/eval with their own trial lists. Stage 2
(``diffsv.bin.make_noisy_sets``), the results (``diffsv.results``) and the inference API read the
conditions from here.
"""

from __future__ import annotations

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
SNRS = (0, 5, 10, 15, 20)
TEST_NOISES = (
    TestNoise("babble", "musan_speech_test", (3, 6)),
    TestNoise("music", "musan_music_test"),
    TestNoise("noise", "musan_noise_test"),
    TestNoise("nonspeech", "nonspeech", out_of_domain=True),
)
NOISE_TYPES = tuple(noise.name for noise in TEST_NOISES)
VOICES = ("voices_dev", "voices_eval")
NOISY = tuple(f"{noise}_{snr}" for noise in NOISE_TYPES for snr in SNRS)
CONDITIONS = (CLEAN, *NOISY, *VOICES)
#: The paper's headline average: clean plus the in-domain noisy conditions (Nonspeech100 is reported apart).
HEADLINE = (CLEAN, *(f"{noise.name}_{snr}" for noise in TEST_NOISES if not noise.out_of_domain for snr in SNRS))

"""The speaker interface shared by recorded and synthetic sources, and the source-missing error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class SourceMissing(RuntimeError):
    """A package the corpus takes audio from is not installed; the message names it and the install script."""


Utterance = tuple[str, np.ndarray]
"""(session name, 16 kHz mono samples): VoxCeleb1 groups a speaker's utterances by video, we by session."""


@dataclass(frozen=True)
class Speaker:
    """A speaker of the corpus: ``render(count, seed, workdir)`` gives ``count`` utterances, deterministically.

    ``id`` names its origin (``asterisk_june``, ``festival_lp``, ``espeak_en_us_m3_p40``) and is made of
    ``[a-z0-9_]`` only, so utterance ids (``<id>-<session>-<n>``) sort as Kaldi requires.
    ``source`` is the manifest entry it comes from.
    """

    id: str
    source: str
    render: Callable[[int, int, Path], list[Utterance]]


def require(path: Path, source: str) -> Path:
    """``path`` if it exists, else SourceMissing naming the manifest source (so the note says what to install)."""
    if not path.exists():
        raise SourceMissing(f"{source}: {path} not found; run tools/install_mini_corpus.sh")
    return path

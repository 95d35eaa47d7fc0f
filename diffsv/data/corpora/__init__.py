"""Corpora in their published layouts, turned into Kaldi data directories; one module per corpus.

This module is the registry that the recipe's stage 0 (``diffsv.bin.check_corpora``) and stage 1
(``diffsv.bin.prepare_data``) share: the command-line options naming the roots, and for each corpus
its name, where to get it, what a recipe goes without when an optional one (all but VoxCeleb1) is not
given, and how to scan it. A corpus that is given must be there and well-formed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from diffsv.data.corpora import musan, nonspeech, rirs, voices, voxceleb1
from diffsv.data.corpora.common import CorpusError, CorpusMissing, Layout

__all__ = ["CorpusError", "CorpusMissing", "CorpusSource", "Layout", "add_corpus_arguments", "corpus_sources", "scan"]


@dataclass(frozen=True)
class CorpusSource:
    """A corpus as the user pointed at it; ``root`` is None for an optional corpus not given (VoxCeleb1's
    option is required)."""

    name: str
    url: str
    root: Path | None
    scanner: Callable[[], Layout]
    without: str = ""  # what is lost when an optional corpus is not given


def add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--voxceleb1-root", type=Path, required=True, help="VoxCeleb1: wav/<spk>/<video>/<n>.wav")
    parser.add_argument("--trials-list", type=Path, required=True, help="VoxCeleb1 trial list (veri_test2.txt)")
    parser.add_argument("--musan-root", type=Path, help="MUSAN: {music,noise,speech}/<subset>/*.wav (optional)")
    parser.add_argument("--rirs-root", type=Path, help="RIRS_NOISES: simulated_rirs/... (optional)")
    parser.add_argument("--nonspeech-root", type=Path, help="Nonspeech100: n1.wav ... n100.wav (optional)")
    parser.add_argument("--voices-root", type=Path, help="VOiCES 2019 challenge release (optional)")


def corpus_sources(args: argparse.Namespace) -> list[CorpusSource]:
    """The corpora named by the options, roots made absolute so data directories work from any directory."""

    def absolute(path: Path | None) -> Path | None:
        return path.absolute() if path is not None else None

    vox_root, trials = absolute(args.voxceleb1_root), absolute(args.trials_list)
    musan_root, rirs_root = absolute(args.musan_root), absolute(args.rirs_root)
    nonspeech_root, voices_root = absolute(args.nonspeech_root), absolute(args.voices_root)
    return [
        CorpusSource(voxceleb1.NAME, voxceleb1.URL, vox_root, lambda: voxceleb1.scan_voxceleb1(vox_root, trials)),
        CorpusSource(
            musan.NAME,
            musan.URL,
            musan_root,
            lambda: musan.scan_musan(musan_root),
            "no babble, music or noise test conditions, and training cannot use the augmentation kinds "
            "babble, music, noise and babble_music",
        ),
        CorpusSource(
            rirs.NAME,
            rirs.URL,
            rirs_root,
            lambda: rirs.scan_rirs(rirs_root),
            "training cannot use the augmentation kind reverb",
        ),
        CorpusSource(
            nonspeech.NAME,
            nonspeech.URL,
            nonspeech_root,
            lambda: nonspeech.scan_nonspeech(nonspeech_root),
            "no nonspeech (out-of-domain) test conditions",
        ),
        CorpusSource(
            voices.NAME, voices.URL, voices_root, lambda: voices.scan_voices(voices_root), "no VOiCES test sets"
        ),
    ]


def scan(source: CorpusSource) -> Layout:
    """Scan one corpus; errors start with its name, and a missing corpus's error says where to get it."""
    try:
        return source.scanner()
    except CorpusMissing as exc:
        raise CorpusMissing(f"{source.name}: missing: {exc}; get it from {source.url}") from None
    except CorpusError as exc:
        raise CorpusError(f"{source.name}: {exc}") from None

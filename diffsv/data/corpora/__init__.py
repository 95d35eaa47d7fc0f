"""Corpora in their published layouts, turned into Kaldi data directories; one module per corpus.

This module is the registry that the recipe's stage 0 (``diffsv.bin.check_corpora``) and stage 1
(``diffsv.bin.prepare_data``) share: the command-line options naming the roots, and for each corpus
its name, where to get it, what a recipe goes without when an optional one (all but VoxCeleb1) is not
given, and how to scan it. A corpus that is given must be there and well-formed.

The training set is VoxCeleb1 dev (the paper), VoxCeleb2 dev or both (``--train-set``), and no speaker
may be both trained on and tested: :func:`check_training_speakers` refuses such a run before any audio
is read, naming how many speakers overlap.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from diffsv.data.audio_info import SAMPLE_RATE
from diffsv.data.corpora import musan, nonspeech, rirs, voices, voxceleb1, voxceleb2
from diffsv.data.corpora.common import CorpusError, CorpusMissing, Layout
from diffsv.data.kaldi_dir import DataDir, Durations
from diffsv.protocol import VOX1_TITLES

__all__ = [
    "TRAIN_SETS",
    "CorpusError",
    "CorpusMissing",
    "CorpusSource",
    "Layout",
    "add_corpus_arguments",
    "check_training_speakers",
    "corpus_sources",
    "joined_training_set",
    "scan",
]

#: ``--train-set`` choices and the corpora whose dev part each trains on.
TRAIN_SETS = {"voxceleb1": (voxceleb1.NAME,), "voxceleb2": (voxceleb2.NAME,), "both": (voxceleb1.NAME, voxceleb2.NAME)}


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
    parser.add_argument("--trials-list", type=Path, required=True, help="VoxCeleb1-O trial list (veri_test2.txt)")
    parser.add_argument("--vox1-e-list", type=Path, help="VoxCeleb1-E trial list (list_test_all2.txt; optional)")
    parser.add_argument("--vox1-h-list", type=Path, help="VoxCeleb1-H trial list (list_test_hard2.txt; optional)")
    parser.add_argument(
        "--voxceleb2-root", type=Path, help="VoxCeleb2: dev/wav/<spk>/<video>/<n>.{wav,flac} or dev/aac/.../<n>.m4a"
    )
    parser.add_argument(
        "--train-set",
        choices=sorted(TRAIN_SETS),
        default="voxceleb1",
        help="the dev part(s) trained on [voxceleb1, the paper's]",
    )
    parser.add_argument("--musan-root", type=Path, help="MUSAN: {music,noise,speech}/<subset>/*.wav (optional)")
    parser.add_argument("--rirs-root", type=Path, help="RIRS_NOISES: simulated_rirs/... (optional)")
    parser.add_argument("--nonspeech-root", type=Path, help="Nonspeech100: n1.wav ... n100.wav (optional)")
    parser.add_argument("--voices-root", type=Path, help="VOiCES 2019 challenge release (optional)")


def corpus_sources(args: argparse.Namespace) -> list[CorpusSource]:
    """The corpora named by the options, roots made absolute so data directories work from any directory."""

    def absolute(path: Path | None) -> Path | None:
        return path.absolute() if path is not None else None

    trained = TRAIN_SETS[args.train_set]
    vox2_root = absolute(args.voxceleb2_root)
    if (voxceleb2.NAME in trained) != (vox2_root is not None):
        raise CorpusError(
            f"--train-set {args.train_set} trains on VoxCeleb2: give --voxceleb2-root"
            if vox2_root is None
            else f"--voxceleb2-root is given but --train-set {args.train_set} does not train on it: "
            "give --train-set voxceleb2 or both"
        )
    vox_root, trials = absolute(args.voxceleb1_root), absolute(args.trials_list)
    extended = {
        condition: absolute(path)
        for condition, path in (("vox1_e", args.vox1_e_list), ("vox1_h", args.vox1_h_list))
        if path is not None
    }
    musan_root, rirs_root = absolute(args.musan_root), absolute(args.rirs_root)
    nonspeech_root, voices_root = absolute(args.nonspeech_root), absolute(args.voices_root)
    return [
        CorpusSource(
            voxceleb1.NAME,
            voxceleb1.URL,
            vox_root,
            lambda: voxceleb1.scan_voxceleb1(vox_root, trials, extended, voxceleb1.NAME in trained),
        ),
        CorpusSource(
            voxceleb2.NAME,
            voxceleb2.URL,
            vox2_root,
            lambda: voxceleb2.scan_voxceleb2(vox2_root),
            "training on VoxCeleb1 dev only (--train-set voxceleb1, the paper's)",
        ),
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


def check_training_speakers(layouts: dict[str, Layout]) -> None:
    """Refuse a training set that holds a speaker some trial list tests (VoxCeleb1-E and -H test the
    VoxCeleb1 dev speakers), or the same speaker id from both VoxCeleb1 and VoxCeleb2; cheap, no audio read."""
    vox1, vox2 = layouts.get(voxceleb1.NAME), layouts.get(voxceleb2.NAME)
    trained = {
        name: layout.train_speakers for name, layout in ((voxceleb1.NAME, vox1), (voxceleb2.NAME, vox2)) if layout
    }
    if len(trained) == 2 and (both := trained[voxceleb1.NAME] & trained[voxceleb2.NAME]):
        raise CorpusError(
            f"{len(both)} speaker ids are in both VoxCeleb1 dev and VoxCeleb2 dev (e.g. {min(both)}): "
            "their labels would merge two people; the published corpora share none"
        )
    train_speakers = set().union(*trained.values())
    if vox1 is None:
        return
    for condition, (path, tested) in vox1.tested_speakers().items():
        overlap = train_speakers & tested
        if overlap:
            raise CorpusError(
                f"{path}: the training set ({' + '.join(trained)} dev) holds {len(overlap)} of the {len(tested)} "
                f"speakers that {VOX1_TITLES[condition]} tests (e.g. {min(overlap)}): train on VoxCeleb2 "
                "dev alone (--train-set voxceleb2) to test VoxCeleb1-E or -H"
            )


def joined_training_set(parts: dict[str, DataDir]) -> DataDir:
    """One ``train`` directory from each trained corpus's (their speakers are disjoint, see above)."""
    if len(parts) == 1:
        return next(iter(parts.values()))
    wav_scp: dict[str, str] = {}
    utt2spk: dict[str, str] = {}
    samples: dict[str, int] = {}
    for part in parts.values():  # whole-file directories, each with utt2num_samples (corpora.common)
        wav_scp.update(part.wav_scp)
        utt2spk.update(part.utt2spk)
        samples.update(part.utt2num_samples or {})
    return DataDir(wav_scp, utt2spk, utt2dur=Durations(samples, SAMPLE_RATE), utt2num_samples=samples)

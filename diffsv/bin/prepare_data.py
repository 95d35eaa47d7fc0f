"""Stage 1: Kaldi data directories from the corpora (see diffsv.data.corpora for layouts and ids).

    python -m diffsv.bin.prepare_data --voxceleb1-root DIR --trials-list FILE --musan-root DIR \\
        --rirs-root DIR --nonspeech-root DIR [--voices-root DIR] --data data

Writes ``train`` (VoxCeleb1 dev, VoxCeleb2 dev or both: --train-set), ``test`` (VoxCeleb1-O, with
trials), with --vox1-e-list/--vox1-h-list ``test_vox1_eh`` (``trials_vox1_e``, ``trials_vox1_h``),
``musan_{music,noise,speech}_{train,test}``, ``rirs``, ``nonspeech`` and, with --voices-root,
``voices_dev``/``voices_eval`` (with trials) under --data, and lists the sets with trials (``clean``:
``test``; ``vox1_e``, ``vox1_h``; VOiCES) in ``<data>/eval_sets.json`` for stage 5. A training set that
holds a tested speaker is refused before any audio is read.
Every recording must hold all the samples its header declares (a half-downloaded corpus is refused) and
be at least one analysis frame (400 samples) long. Every directory is built in memory and checked
first, so a problem in any corpus writes nothing; each is then written under a temporary name and
renamed, replacing an earlier one only when complete.
Errors name the file (and line of a list) and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffsv.data.audio import AudioError
from diffsv.data.corpora import (
    CorpusError,
    add_corpus_arguments,
    check_training_speakers,
    corpus_sources,
    joined_training_set,
    scan,
)
from diffsv.data.eval_sets import EvalSet, write_eval_sets
from diffsv.data.kaldi_dir import DataDir, DataDirError
from diffsv.protocol import condition_of_set
from diffsv.utils.fileio import remove_stale_temporaries

PROG = "prepare_data"
TRAINING_SET = "train"


def eval_sets_of(path: Path, data: DataDir) -> list[EvalSet]:
    """The conditions a directory is scored as: ``trials`` as its own (``clean`` for ``test``), and each
    ``trials_<condition>`` as that condition."""
    sets = [EvalSet(condition_of_set(path.name), path, path / "trials")] if data.trials is not None else []
    return sets + [EvalSet(name, path, path / f"trials_{name}") for name in data.extra_trials or {}]


def build(args: argparse.Namespace) -> dict[str, DataDir]:
    """All data directories, checked, keyed by name; nothing is written."""
    layouts = {source.name: scan(source) for source in corpus_sources(args) if source.root is not None}
    check_training_speakers(layouts)
    dirs: dict[str, DataDir] = {}
    training: dict[str, DataDir] = {}
    for name, layout in layouts.items():
        for set_name, data in layout.prepare(args.resample).items():
            if set_name == TRAINING_SET:
                training[name] = data
            else:
                dirs[set_name] = data
    dirs[TRAINING_SET] = joined_training_set(training)
    for name, data in dirs.items():
        try:
            data.check()
        except DataDirError as exc:
            raise DataDirError(f"{name}: {exc}") from None
    return dirs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_corpus_arguments(parser)
    parser.add_argument("--data", type=Path, required=True, help="directory to hold the data directories")
    parser.add_argument(
        "--resample",
        action="store_true",
        help="read files at another sample rate through a resampling wav.scp pipe, rather than refusing them",
    )
    args = parser.parse_args(argv)
    try:
        dirs = build(args)
        remove_stale_temporaries(args.data, recursive=False)
        for name, data in dirs.items():
            data.write(args.data / name)
            print(f"{PROG}: {args.data / name}: {data.describe()}")
        write_eval_sets(
            args.data, PROG, [s for name, data in dirs.items() for s in eval_sets_of(args.data / name, data)]
        )
    except (CorpusError, DataDirError, AudioError, OSError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

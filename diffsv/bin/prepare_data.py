"""Stage 1: Kaldi data directories from the corpora (see diffsv.data.corpora for layouts and ids).

    python -m diffsv.bin.prepare_data --voxceleb1-root DIR --trials-list FILE --musan-root DIR \\
        --rirs-root DIR --nonspeech-root DIR [--voices-root DIR] --data data

Writes ``train``, ``test`` (with trials), ``musan_{music,noise,speech}_{train,test}``, ``rirs``,
``nonspeech`` and, with --voices-root, ``voices_dev``/``voices_eval`` (with trials) under --data, and
lists the sets with trials (``clean``: ``test``; VOiCES) in ``<data>/eval_sets.json`` for stage 5.
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
from diffsv.data.corpora import CorpusError, add_corpus_arguments, corpus_sources, scan
from diffsv.data.eval_sets import EvalSet, write_eval_sets
from diffsv.data.kaldi_dir import DataDir, DataDirError
from diffsv.protocol import condition_of_set
from diffsv.utils.fileio import remove_stale_temporaries

PROG = "prepare_data"


def build(args: argparse.Namespace) -> dict[str, DataDir]:
    """All data directories, checked, keyed by name; nothing is written."""
    layouts = [scan(source) for source in corpus_sources(args) if source.root is not None]
    dirs: dict[str, DataDir] = {}
    for layout in layouts:
        dirs.update(layout.prepare(args.resample))
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
        scored = [name for name, data in dirs.items() if data.trials is not None]
        write_eval_sets(
            args.data, PROG, [EvalSet(condition_of_set(n), args.data / n, args.data / n / "trials") for n in scored]
        )
    except (CorpusError, DataDirError, AudioError, OSError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

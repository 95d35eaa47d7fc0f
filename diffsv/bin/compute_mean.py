"""Mean embedding of an ``xvector.scp`` (every segment of every utterance), for mean subtraction in scoring.

python -m diffsv.bin.compute_mean exp/diffsv/embeddings/cohort/xvector.scp exp/diffsv/embeddings/mean.npy
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from diffsv.scoring import ScoringError, load_embeddings
from diffsv.utils.fileio import atomic_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("embeddings", type=Path, help="xvector.scp")
    parser.add_argument("output", type=Path, help="mean vector (.npy)")
    args = parser.parse_args(argv)
    try:
        embeddings = load_embeddings(args.embeddings)
        dims = {np.asarray(e).shape[-1] for e in embeddings.values()}
        if len(dims) != 1:
            raise ScoringError(f"{args.embeddings}: embeddings of different dimensions {sorted(dims)}")
        dim = dims.pop()
        segments = np.concatenate([np.asarray(e, dtype=np.float64).reshape(-1, dim) for e in embeddings.values()])
        with atomic_path(args.output) as tmp, open(tmp, "wb") as handle:
            np.save(handle, segments.mean(axis=0))
    except (ScoringError, OSError) as exc:
        print(f"compute_mean: {exc}", file=sys.stderr)
        return 1
    print(f"compute_mean: mean of {segments.shape[0]} segments of {len(embeddings)} utterances -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Mean embedding of an ``xvector.scp`` (every segment of every utterance), for mean subtraction in scoring.

python -m diffsv.bin.compute_mean exp/diffsv/embeddings/cohort/xvector.scp exp/diffsv/embeddings/mean.npy
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffsv.scoring import ScoringError, load_embeddings, mean_embedding, save_mean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("embeddings", type=Path, help="xvector.scp")
    parser.add_argument("output", type=Path, help="mean vector (.npy)")
    args = parser.parse_args(argv)
    try:
        embeddings = load_embeddings(args.embeddings)
        save_mean(args.output, mean_embedding(embeddings, str(args.embeddings)))
    except (ScoringError, OSError) as exc:
        print(f"compute_mean: {exc}", file=sys.stderr)
        return 1
    print(f"compute_mean: mean of the segments of {len(embeddings)} utterances -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

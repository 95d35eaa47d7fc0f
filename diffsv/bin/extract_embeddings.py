"""Embeddings of data directories, as Kaldi ``xvector.ark``/``xvector.scp`` (stage 5 embeds through
``diffsv.bin.evaluate``; this is the same embedding for any data directory).

    python -m diffsv.bin.extract_embeddings --model exp/diffsv/final.pt \
        --data data/test --output-dir exp/diffsv/embeddings/test [--utterances data/test/split8/wav.3.scp] \
        [--data data/test_noise_0 --output-dir ... [--utterances ...]] ... [--job 3]

Each utterance becomes a (segments, dim) matrix (the reference protocol: 4 x 159,920 samples).
``--data``/``--output-dir`` (and ``--utterances``, a subset to embed) may be repeated, in that order, so
that one process loads the model once for several sets. With ``--job N`` the output is
``xvector.N.{ark,scp}``, one job's share. Files are written under temporary names and renamed when
complete; ``embedding.json`` beside them records how they were made (the model file and its SHA-256,
segments, sampler).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

from diffsv.data.audio import AudioError
from diffsv.data.kaldi_dir import DataDirError, read_wav_scp
from diffsv.embedding import Embedder, embed_data_dir
from diffsv.embedding_segments import SegmentConfig
from diffsv.embedding_store import embedding_record, write_embedding_record
from diffsv.models.model_file import load_model_file
from diffsv.models.samplers import SAMPLERS
from diffsv.utils.argtypes import positive_int
from diffsv.utils.arithmetic import PRECISIONS
from diffsv.utils.checkpoint import CheckpointError
from diffsv.utils.fileio import remove_stale_temporaries


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="model file (final.pt, best.pt, imported)")
    parser.add_argument("--data", type=Path, action="append", required=True, help="data directory (repeatable)")
    parser.add_argument("--output-dir", type=Path, action="append", required=True, help="one per --data")
    parser.add_argument(
        "--utterances", type=Path, action="append", help="a wav.scp subset to embed (one job's share); one per --data"
    )
    parser.add_argument("--job", type=int, help="job number: writes xvector.JOB.{ark,scp}")
    parser.add_argument("--segments", type=positive_int, default=SegmentConfig.segments)
    parser.add_argument("--segment-samples", type=positive_int, default=SegmentConfig.segment_samples)
    parser.add_argument("--batch-size", type=int, default=8, help="segments per forward pass")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="tf32, bf16: for GPUs")
    parser.add_argument("--seed", type=int, default=0, help="seeds the sampler's starting noise per utterance")
    parser.add_argument(
        "--sampler", choices=SAMPLERS.names(), help="reverse-diffusion sampler [the model's configured one]"
    )
    parser.add_argument("--sampler-steps", type=positive_int, help="sampler steps [the model's configured number]")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--threads", type=int, help="torch CPU threads (run.pl --num-threads)")
    args = parser.parse_args(argv)
    if len(args.output_dir) != len(args.data) or args.utterances and len(args.utterances) != len(args.data):
        parser.error("give one --output-dir (and, if any, one --utterances) per --data")
    return args


def extract(args: argparse.Namespace) -> Iterator[str]:
    """Load the model once, then embed each ``--data`` in turn, yielding its summary when written."""
    if args.threads:
        torch.set_num_threads(args.threads)
    use_cuda = torch.cuda.is_available() if args.device == "auto" else args.device == "cuda"
    model = load_model_file(args.model)
    model.use_sampler(args.sampler, args.sampler_steps)
    segments = SegmentConfig(args.segments, args.segment_samples)
    device = torch.device("cuda" if use_cuda else "cpu")
    record = embedding_record(args.model, model, segments, args.seed, args.precision, device.type)
    embedder = Embedder(model, device, segments, args.batch_size, args.seed, args.precision)
    subsets = args.utterances or [None] * len(args.data)
    name = "xvector" if args.job is None else f"xvector.{args.job}"
    for data, out, subset in zip(args.data, args.output_dir, subsets, strict=True):
        remove_stale_temporaries(out, recursive=False)
        utts = list(read_wav_scp(subset)) if subset else None
        count = embed_data_dir(embedder, data, utts, out, name)
        write_embedding_record(out, record)
        yield f"{count} embeddings -> {out / name}.scp ({args.segments} x {model.embed_dim})"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        for summary in extract(args):
            print(f"extract_embeddings: {summary}")
    except (DataDirError, AudioError, CheckpointError, OSError) as exc:
        print(f"extract_embeddings: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

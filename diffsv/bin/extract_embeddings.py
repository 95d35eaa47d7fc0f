"""Embeddings of data directories (recipe stage 5), as Kaldi ``xvector.ark``/``xvector.scp``.

    python -m diffsv.bin.extract_embeddings --model exp/diffsv/final.pt \
        --data data/test --output-dir exp/diffsv/embeddings/test [--utterances data/test/split8/wav.3.scp] \
        [--data data/test_noise_0 --output-dir ... [--utterances ...]] ... [--job 3]

Each utterance becomes a (segments, dim) matrix (the reference protocol: 4 x 159,920 samples).
``--data``/``--output-dir`` (and ``--utterances``, a subset to embed) may be repeated, in that order, so
that one process loads the model once for every test condition. With ``--job N`` the output is
``xvector.N.{ark,scp}``, for run.pl ``JOB=1:N`` jobs whose files the recipe then joins into
``xvector.scp``. Files are written under temporary names and renamed when complete. ``embedding.json``
beside them records how they were made (the model file and its SHA-256, segments, sampler), which
``diffsv.load_model`` reuses and ``--list-stale`` compares, so that the recipe re-embeds a set only when
the model, protocol or sampler has changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import torch
from tqdm import tqdm

from diffsv.data.audio import AudioError
from diffsv.data.kaldi_dir import DataDirError, read_data_dir, read_wav_scp
from diffsv.embedding import EMBEDDING_RECORD, Embedder, SegmentConfig, write_embeddings
from diffsv.models.diffsv import DiffSV
from diffsv.models.frontend import FrontendConfig
from diffsv.models.model_file import load_model_file
from diffsv.models.samplers import SAMPLERS
from diffsv.utils.argtypes import positive_int
from diffsv.utils.checkpoint import CheckpointError
from diffsv.utils.fileio import atomic_open, remove_stale_temporaries


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
    parser.add_argument("--seed", type=int, default=0, help="seeds the sampler's starting noise per utterance")
    parser.add_argument(
        "--sampler", choices=SAMPLERS.names(), help="reverse-diffusion sampler [the model's configured one]"
    )
    parser.add_argument("--sampler-steps", type=positive_int, help="sampler steps [the model's configured number]")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--threads", type=int, help="torch CPU threads (run.pl --num-threads)")
    parser.add_argument(
        "--list-stale",
        action="store_true",
        help="embed nothing; print the positions (1, 2, ...) of the --output-dir values whose embeddings are "
        "missing or were made by another model file, protocol or sampler",
    )
    args = parser.parse_args(argv)
    if len(args.output_dir) != len(args.data) or args.utterances and len(args.utterances) != len(args.data):
        parser.error("give one --output-dir (and, if any, one --utterances) per --data")
    return args


def embed_set(
    embedder: Embedder, data_dir: Path, out: Path, subset: Path | None, job: int | None, frontend: FrontendConfig
) -> str:
    """Embed one data directory's utterances (or ``subset``'s) into ``out``; a summary line."""
    data = read_data_dir(data_dir)
    utts = list(read_wav_scp(subset)) if subset else list(data.utt2spk)
    unknown = [utt for utt in utts if utt not in data.utt2spk]
    if unknown:
        raise DataDirError(f"{subset}: '{unknown[0]}' is not in {data_dir}/utt2spk")
    name = "xvector" if job is None else f"xvector.{job}"
    out.mkdir(parents=True, exist_ok=True)
    scp = out / f"{name}.scp"
    # An utterance shorter than one analysis frame has no spectrum to embed: an error, not padding.
    audio = ((utt, data.audio_ref(utt).read(frontend.sample_rate, min_samples=frontend.win_length)) for utt in utts)
    progress = tqdm(embedder.embed(audio), total=len(utts), unit=" utt", desc=str(data_dir))
    write_embeddings(out / f"{name}.ark", scp, progress)
    return f"{len(utts)} embeddings -> {scp}"


def configured_model(args: argparse.Namespace) -> tuple[DiffSV, dict]:
    """The model with the sampler overrides applied, and the record of how it embeds.

    The record names the model file by content, so a retrained model makes old embeddings stale.
    """
    model = load_model_file(args.model)
    model.use_sampler(args.sampler, args.sampler_steps)
    diffusion = model.config.diffusion
    digest = hashlib.sha256()
    with open(args.model, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    record = {
        "model": str(args.model.resolve()),
        "model_sha256": digest.hexdigest(),
        "segments": args.segments,
        "segment_samples": args.segment_samples,
        "seed": args.seed,
        "sampler": diffusion.sampler,
        "steps": diffusion.steps,
    }
    return model, record


def read_record(path: Path) -> dict | None:
    """A set's embedding.json, or None if it is missing or unreadable (the set is then embedded again)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _keys(path: Path) -> list[str]:
    return sorted(line.split(maxsplit=1)[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def stale_sets(args: argparse.Namespace) -> Iterator[str]:
    """1-based positions of the ``--output-dir`` values without a complete xvector.scp made as asked.

    Complete: its embedding.json equals this run's record and it holds exactly the utterances of the
    set's ``--utterances`` list (or of its data directory).
    """
    _, record = configured_model(args)
    subsets = args.utterances or [None] * len(args.data)
    for position, (data, out, subset) in enumerate(zip(args.data, args.output_dir, subsets, strict=True), 1):
        made, scp = out / EMBEDDING_RECORD, out / "xvector.scp"
        current = scp.is_file() and read_record(made) == record
        if current:
            current = _keys(scp) == _keys(subset or data / "utt2spk")
        if not current:
            yield str(position)


def extract(args: argparse.Namespace) -> Iterator[str]:
    """Load the model once, then embed each ``--data`` in turn, yielding its summary when written."""
    if args.threads:
        torch.set_num_threads(args.threads)
    use_cuda = torch.cuda.is_available() if args.device == "auto" else args.device == "cuda"
    device = torch.device("cuda" if use_cuda else "cpu")
    model, record = configured_model(args)
    embedder = Embedder(model, device, SegmentConfig(args.segments, args.segment_samples), args.batch_size, args.seed)
    subsets = args.utterances or [None] * len(args.data)
    shape = f"({args.segments} x {model.embed_dim})"
    for data, out, subset in zip(args.data, args.output_dir, subsets, strict=True):
        remove_stale_temporaries(out, recursive=False)
        summary = embed_set(embedder, data, out, subset, args.job, model.config.frontend)
        with atomic_open(out / EMBEDDING_RECORD) as handle:
            json.dump(record, handle, indent=2)
        yield f"{summary} {shape}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.list_stale:
            print("\n".join(stale_sets(args)))
            return 0
        for summary in extract(args):
            print(f"extract_embeddings: {summary}")
    except (DataDirError, AudioError, CheckpointError, OSError) as exc:
        print(f"extract_embeddings: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

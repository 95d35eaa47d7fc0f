"""Embeddings of a data directory (recipe stage 5), as Kaldi ``xvector.ark``/``xvector.scp``.

    python -m diffsv.bin.extract_embeddings --model exp/diffsv/final.pt --data data/test \
        --output-dir exp/diffsv/embeddings/test [--utterances data/test/split8/wav.3.scp --job 3]

Each utterance becomes a (segments, dim) matrix (the reference protocol: 4 x 159,920 samples). With
``--job N`` the output is ``xvector.N.{ark,scp}``, for run.pl ``JOB=1:N`` jobs that ``merge`` then joins
into ``xvector.scp``. Files are written under temporary names and renamed when complete.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import kaldiio
import numpy as np
import torch
from tqdm import tqdm

from diffsv.data.audio import AudioError
from diffsv.data.kaldi_dir import DataDirError, read_data_dir, read_wav_scp
from diffsv.embedding import Embedder, SegmentConfig
from diffsv.models.model_file import load_model_file
from diffsv.utils.checkpoint import CheckpointError
from diffsv.utils.fileio import atomic_open


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="model file (final.pt, best.pt, imported)")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--utterances", type=Path, help="a wav.scp subset to embed (one job's share)")
    parser.add_argument("--job", type=int, help="job number: writes xvector.JOB.{ark,scp}")
    parser.add_argument("--segments", type=int, default=SegmentConfig.segments)
    parser.add_argument("--segment-samples", type=int, default=SegmentConfig.segment_samples)
    parser.add_argument("--batch-size", type=int, default=8, help="segments per forward pass")
    parser.add_argument("--seed", type=int, default=0, help="seeds the sampler's starting noise per utterance")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--threads", type=int, help="torch CPU threads (run.pl --num-threads)")
    return parser.parse_args(argv)


def extract(args: argparse.Namespace) -> str:
    if args.threads:
        torch.set_num_threads(args.threads)
    use_cuda = torch.cuda.is_available() if args.device == "auto" else args.device == "cuda"
    device = torch.device("cuda" if use_cuda else "cpu")
    model = load_model_file(args.model)
    data = read_data_dir(args.data)
    utts = list(read_wav_scp(args.utterances)) if args.utterances else list(data.utt2spk)
    unknown = [utt for utt in utts if utt not in data.utt2spk]
    if unknown:
        raise DataDirError(f"{args.utterances}: '{unknown[0]}' is not in {args.data}/utt2spk")
    sample_rate = model.config.frontend.sample_rate
    embedder = Embedder(model, device, SegmentConfig(args.segments, args.segment_samples), args.batch_size, args.seed)
    name = "xvector" if args.job is None else f"xvector.{args.job}"
    args.output_dir.mkdir(parents=True, exist_ok=True)
    ark, scp = args.output_dir / f"{name}.ark", args.output_dir / f"{name}.scp"
    tmp_ark = ark.with_name(f".{ark.name}.tmp")
    audio = ((utt, data.audio_ref(utt).read(sample_rate)) for utt in utts)
    lines = []
    with open(tmp_ark, "wb") as handle:
        for utt, embedding in tqdm(embedder.embed(audio), total=len(utts), unit=" utt", desc=str(args.data)):
            handle.write(f"{utt} ".encode())  # Kaldi archive entry: "key " then the binary matrix
            offset = handle.tell()
            kaldiio.save_mat(handle, embedding.astype(np.float32))
            lines.append(f"{utt} {ark.resolve()}:{offset}\n")
    tmp_ark.replace(ark)
    with atomic_open(scp) as handle:
        handle.writelines(lines)
    return f"{len(utts)} embeddings ({args.segments} x {model.embed_dim}) -> {scp}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        print(f"extract_embeddings: {extract(args)}")
    except (DataDirError, AudioError, CheckpointError) as exc:
        print(f"extract_embeddings: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

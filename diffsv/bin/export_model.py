"""Export the embedding pipeline to TorchScript and ONNX and check both against PyTorch (recipe stage 6).

    python -m diffsv.bin.export_model --model exp/diffsv/final.pt --data data/test --out-dir exp/diffsv/export \
        [--segment-samples 159920] [--check-utterances 4] [--formats torchscript,onnx] [--tolerance 1e-4] \
        [--sampler dpm_solver --sampler-steps 3]

Writes ``embedding.ts.pt`` (TorchScript), ``embedding.onnx``, ``export.json`` (input and output shapes,
sampler, the check's largest differences, the model configuration) and a copy of the experiment's
``config.yaml`` into ``--out-dir``, which appears only when every export has passed its check: the
embeddings of the first ``--check-utterances`` test utterances, cut into the recipe's segments with the
recipe's per-utterance starting noise, must equal PyTorch's within ``--tolerance`` (ONNX run by
onnxruntime). Exit status 1, with the reason, otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from diffsv.data.audio import AudioError
from diffsv.data.kaldi_dir import DataDirError, read_data_dir
from diffsv.embedding import audio_generator
from diffsv.embedding_segments import SegmentConfig, utterance_segments
from diffsv.experiment import Experiment
from diffsv.export import FORMATS, ExportError, export_model
from diffsv.models.diffsv import DiffSV
from diffsv.models.model_file import load_model_file
from diffsv.models.samplers import SAMPLERS
from diffsv.utils.argtypes import positive_int
from diffsv.utils.checkpoint import CheckpointError
from diffsv.utils.fileio import atomic_directory, remove_stale_temporaries


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="model file (final.pt, best.pt, imported)")
    parser.add_argument("--data", type=Path, required=True, help="test data directory whose audio checks the exports")
    parser.add_argument("--out-dir", type=Path, required=True, help="export directory (e.g. exp/diffsv/export)")
    parser.add_argument("--segment-samples", type=positive_int, default=SegmentConfig.segment_samples)
    parser.add_argument("--check-utterances", type=int, default=4, help="test utterances embedded by the check")
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated: {', '.join(FORMATS)}")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed embedding difference")
    parser.add_argument("--sampler", choices=SAMPLERS.names(), help="sampler to export [the model's configured one]")
    parser.add_argument("--sampler-steps", type=positive_int, help="its steps [the model's configured number]")
    parser.add_argument("--seed", type=int, default=0, help="seeds the check's starting noise, as in stage 5")
    args = parser.parse_args(argv)
    args.formats = tuple(args.formats.split(","))
    unknown = sorted(set(args.formats) - set(FORMATS))
    if unknown:
        parser.error(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    if args.check_utterances < 1:
        parser.error("--check-utterances must be at least 1")
    return args


def check_audio(model: DiffSV, data_dir: Path, count: int, segment_samples: int, seed: int) -> tuple[np.ndarray, ...]:
    """One segment of each of the first ``count`` utterances and its starting noise, as stage 5 draws them."""
    data = read_data_dir(data_dir)
    protocol = SegmentConfig(1, segment_samples)
    noise_shape = (model.config.frontend.n_mels, model.frontend.num_frames(segment_samples))
    wavs, noises = [], []
    for utt in list(data.utt2spk)[:count]:
        samples = data.audio_ref(utt).read(model.config.frontend.sample_rate).astype(np.float32)
        wavs.append(utterance_segments(samples, protocol))
        noises.append(torch.randn(1, *noise_shape, generator=audio_generator(seed, samples)).numpy())
    return np.concatenate(wavs), np.concatenate(noises)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        model = load_model_file(args.model)
        model.use_sampler(args.sampler, args.sampler_steps)
        wav, noise = check_audio(model, args.data, args.check_utterances, args.segment_samples, args.seed)
        remove_stale_temporaries(args.out_dir.parent, recursive=False)
        with atomic_directory(args.out_dir) as tmp:
            checks = export_model(model, tmp, args.segment_samples, wav, noise, args.formats, args.tolerance)
            config = Experiment(args.model.parent).config_file
            if config.is_file():
                shutil.copy(config, tmp / config.name)
    except (DataDirError, AudioError, CheckpointError, ExportError, OSError) as exc:
        print(f"export_model: {exc}", file=sys.stderr)
        return 1
    for check in checks:
        print(
            f"export_model: {check.fmt}: {check.segments} test segments, largest difference from PyTorch "
            f"{check.max_abs_diff:.2e} (tolerance {args.tolerance:g})"
        )
    print(f"export_model: wrote {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

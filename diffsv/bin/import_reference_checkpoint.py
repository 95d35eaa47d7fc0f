"""Convert a checkpoint of the authors' Diff-SV code into a diffsv checkpoint.

    python -m diffsv.bin.import_reference_checkpoint IN.pt OUT.pt [--model-config model.yaml]

Accepts a bare state_dict or the reference's ``{'model': state_dict}`` wrapper, with or without DDP's
``module.`` prefixes. The result is loaded strictly into the model before it is written, so a
checkpoint that does not fit the configuration fails here, naming the tensors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from diffsv.config import ConfigError, load_config
from diffsv.models import DiffSV, ModelConfig, ReferenceCheckpointError, convert_reference_state_dict
from diffsv.models.model_file import save_model_file
from diffsv.utils.checkpoint import CheckpointError, load_state_dict_strict


def read_reference_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for unreadable or unsafe files
        raise ReferenceCheckpointError(f"{path}: cannot read as a weights-only torch checkpoint: {exc}") from exc
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("model"), dict):
        checkpoint = checkpoint["model"]
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise ReferenceCheckpointError(f"{path}: expected a state_dict or {{'model': state_dict}}")
    return checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", type=Path, help="checkpoint written by the authors' Diff-SV code")
    parser.add_argument("output", type=Path, help="diffsv checkpoint to write")
    parser.add_argument("--model-config", type=Path, help="YAML model configuration (default: the paper's)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.model_config, ModelConfig) if args.model_config else ModelConfig()
        if config.extractor.type != "se_resnet34":
            raise ConfigError(
                f"{args.model_config}: the authors' checkpoints hold the SE-ResNet34 extractor, not "
                f"'{config.extractor.type}': set model.extractor.type to se_resnet34"
            )
        model = DiffSV(config)
        state_dict = convert_reference_state_dict(
            read_reference_state_dict(args.input), preemphasis=config.frontend.preemphasis
        )
        load_state_dict_strict(model, state_dict, str(args.input))
        save_model_file(args.output, model.state_dict(), config)
    except (ConfigError, CheckpointError) as exc:
        print(f"import_reference_checkpoint: {exc}", file=sys.stderr)
        return 1
    print(f"import_reference_checkpoint: wrote {args.output} ({len(state_dict)} tensors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

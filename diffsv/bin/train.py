"""Train one phase of an experiment (recipe stages 3 and 4), on one process or under torchrun.

    python -m diffsv.bin.train --config conf/diffsv.yaml --phase joint --exp exp/diffsv \
        --train-data data/train --pools data

Phase ``pretrain`` trains the enhancer and score network on (noisy, clean) pairs for
``training.pretrain_epochs`` epochs (0: nothing to do, the paper's from-scratch joint training).
Phase ``joint`` trains everything, starting from the pre-trained weights when there are any, then writes
``final.pt`` (the average of the last ``training.average_last`` epochs) and ``best.pt`` (the epoch with
the lowest validation EER on noisy held-out speakers). Re-running the same command resumes;
``--until-epoch N`` stops after epoch N (for a queue's time limit, or to look at a model part-way: the
schedule does not depend on when a run stops), and final.pt is written once every epoch is done.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from diffsv.config import ConfigError, from_dict, load_config, to_dict
from diffsv.data.audio import AudioError
from diffsv.data.augment import Augmenter, NoisePools
from diffsv.data.kaldi_dir import DataDirError, read_data_dir
from diffsv.data.noise_mixing import NoisePool
from diffsv.data.speaker_crops import SpeakerCrops, split_validation_speakers
from diffsv.experiment import Experiment
from diffsv.models import DiffSV, count_parameters
from diffsv.models.model_file import save_model_file
from diffsv.protocol import TRAINING_POOLS
from diffsv.training.checkpoint import (
    average_model_states,
    best_epoch,
    epoch_checkpoints,
    last_epochs,
    load_checkpoint,
)
from diffsv.training.config import ExperimentConfig
from diffsv.training.objective import TrainingObjective
from diffsv.training.trainer import Trainer, TrainingDiverged, init_process_context
from diffsv.training.validation import SELECTION_METRIC, SpeakerValidator
from diffsv.utils.argtypes import positive_int
from diffsv.utils.checkpoint import CheckpointError, load_state_dict_strict
from diffsv.utils.fileio import atomic_open, remove_stale_temporaries


class SetupError(RuntimeError):
    """The experiment cannot start as asked."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--phase", choices=("pretrain", "joint"), required=True)
    parser.add_argument("--exp", type=Path, required=True, help="experiment directory")
    parser.add_argument("--train-data", type=Path, required=True)
    parser.add_argument(
        "--pools",
        type=Path,
        required=True,
        help="the data directory holding the training noise pools, those of diffsv.protocol.TRAINING_POOLS that "
        f"stage 1 made ({', '.join(TRAINING_POOLS.values())})",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bars (batch jobs)")
    parser.add_argument(
        "--until-epoch", type=positive_int, help="stop after this epoch; a later run continues [the config's epochs]"
    )
    return parser.parse_args(argv)


SPEED_SETTINGS = (("data", "num_workers"), ("data", "augment_on"), ("training", "log_interval"))
"""Settings that change how fast a run goes and what it logs, not what it trains: a resumed run may change them
(``augment_on`` makes the same noisy crops up to float rounding, so a GPU may take over a run the CPUs began)."""


def _differences(stored: dict, current: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts."""
    keys = sorted(set(stored) | set(current))
    found = []
    for key in keys:
        a, b = stored.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.append(f"{prefix}{key}")
    return found


def write_experiment_files(exp: Experiment, config: ExperimentConfig, speakers: list[str], model: DiffSV) -> None:
    """Config, speaker labels and model size: everything later stages need besides the weights.

    A second run into the same directory must use the same config, or resuming would mix two experiments;
    settings added to the toolkit since the first run compare at their defaults, and the
    :data:`SPEED_SETTINGS` may change.
    """
    exp.root.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(to_dict(config), sort_keys=False)
    stored = exp.config_file
    if stored.exists():
        try:
            previous = to_dict(from_dict(ExperimentConfig, yaml.safe_load(stored.read_text())))
        except ConfigError as err:
            raise SetupError(f"{stored}: {err}; use a new --exp or remove {exp.root}") from err
        speed = {".".join(key) for key in SPEED_SETTINGS}
        changed = [key for key in _differences(previous, to_dict(config)) if key not in speed]
        if changed:
            raise SetupError(
                f"{stored} holds a different configuration ({', '.join(changed)}); use a new --exp or remove {exp.root}"
            )
    with atomic_open(stored) as handle:
        handle.write(text)
    with atomic_open(exp.speakers_file) as handle:
        handle.writelines(f"{spk} {label}\n" for label, spk in enumerate(speakers))
    sizes = {
        name: count_parameters(getattr(model, name)) for name in ("frontend", "enhancer", "diffusion", "extractor")
    }
    sizes["total"] = count_parameters(model)
    with atomic_open(exp.model_size_file) as handle:
        json.dump({"parameters": sizes, "speakers": len(speakers)}, handle, indent=1)


def load_pretrained(objective: TrainingObjective, exp: Experiment, pretrain_epochs: int) -> str | None:
    """Initialise a joint run that has no checkpoint yet from the last pre-training epoch.

    A config with pre-training whose stage 3 has not finished is an error: training from scratch
    instead would silently give another experiment.
    """
    if not pretrain_epochs or epoch_checkpoints(exp.phase_dir("joint")):
        return None
    pretrained = epoch_checkpoints(exp.phase_dir("pretrain"))
    if len(pretrained) < pretrain_epochs:
        raise SetupError(
            f"{exp.phase_dir('pretrain')} has {len(pretrained)} of the config's {pretrain_epochs} pre-training epochs: "
            "run stage 3 (pre-training) first"
        )
    load_state_dict_strict(objective.model, load_checkpoint(pretrained[-1])["model"], str(pretrained[-1]))
    return str(pretrained[-1])


def write_final_models(exp: Experiment, config: ExperimentConfig) -> list[str]:
    """``best.pt``: the best epoch on validation; then ``final.pt``: mean of the last N epochs' weights.

    ``final.pt`` is written last, so that its presence means both are complete.
    """
    directory = exp.phase_dir("joint")
    written = []
    history_file = directory / "validation.json"
    history = json.loads(history_file.read_text()) if history_file.exists() else {}
    epoch = best_epoch(history, SELECTION_METRIC)
    if epoch is not None:
        state = load_checkpoint(directory / f"epoch_{epoch}.pt")
        best = exp.model_file("best")
        save_model_file(best, state["model"], config.model, epoch=epoch, validation=history[str(epoch)])
        written.append(f"best.pt (epoch {epoch}, {SELECTION_METRIC} {history[str(epoch)][SELECTION_METRIC]:.4f})")
    last = last_epochs(directory, config.training.average_last)
    save_model_file(exp.model_file("final"), average_model_states(last), config.model, averaged=[p.name for p in last])
    written.append(f"final.pt (average of {', '.join(p.name for p in last)})")
    return written


@dataclass(frozen=True)
class TrainingData:
    """What training takes from the data: the crops, the training speakers (a label is an index here), and the
    validation set (None in a process other than the first, which validates)."""

    dataset: SpeakerCrops
    speakers: list[str]
    validation_utterances: int
    validator: SpeakerValidator | None


def load_training_data(config: ExperimentConfig, train_data: Path, pools: Path, validate: bool) -> TrainingData:
    """Read the training directory and the noise pools into the training crops and the validation set.

    The directory's tables and the split's utterance lists, several Python objects per utterance (with
    VoxCeleb2 dev's 1.09 M utterances, 0.8 GB and a million objects for the garbage collector to walk), are
    dropped when this returns, before the data loader forks its workers: what stays is the crops' arrays,
    which the workers share (``bench/loader_memory.py``).
    """
    sample_rate = config.model.frontend.sample_rate
    train = read_data_dir(train_data)
    split = split_validation_speakers(
        train.utt2spk, config.data.validation_speakers, config.data.validation_utterances, config.training.seed
    )
    present = {kind: pools / source for kind, source in TRAINING_POOLS.items() if (pools / source).is_dir()}
    noise_pools = NoisePools(
        **{kind: NoisePool(read_data_dir(path), path.name, sample_rate) for kind, path in present.items()}
    )
    augmenter = Augmenter(config.augmentation, noise_pools, sample_rate)
    dataset = SpeakerCrops(
        train,
        split.train_utts,
        split.spk2label,
        config.data.crop_samples,
        config.model.frontend,
        augmenter,
        config.training.seed,
        config.model.diffusion.t_epsilon,
        config.data.augment_on,
    )
    validator = None
    if split.validation_utts and validate:
        validator = SpeakerValidator(
            train,
            split.validation_utts,
            augmenter,
            sample_rate,
            config.data.validation_seconds,
            config.training.seed,
        )
    return TrainingData(dataset, split.speakers, len(split.validation_utts), validator)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config, ExperimentConfig)
    model_config = config.model
    epochs = config.training.pretrain_epochs if args.phase == "pretrain" else config.training.epochs
    if args.phase == "pretrain" and epochs and model_config.architecture == "baseline":
        raise SetupError(f"{args.config}: the baseline has no enhancer; set training.pretrain_epochs: 0")
    if epochs == 0:
        print(f"train: phase {args.phase} has 0 epochs in {args.config}: nothing to train")
        return 0
    context = init_process_context(args.device)
    data = load_training_data(config, args.train_data, args.pools, validate=context.is_main)
    torch.manual_seed(config.training.seed)
    exp = Experiment(args.exp)
    model = DiffSV(model_config)
    objective = TrainingObjective(model, len(data.speakers), config.loss)
    if context.is_main:
        remove_stale_temporaries(args.exp)
        write_experiment_files(exp, config, data.speakers, model)
    source = load_pretrained(objective, exp, config.training.pretrain_epochs) if args.phase == "joint" else None
    trainer = Trainer(
        config, objective, data.dataset, args.exp, args.phase, context, data.validator, not args.no_progress
    )
    if source:
        trainer.log.info("initialised from pre-trained %s", source)
    trainer.log.info(
        "phase %s: %d training utterances of %d speakers, %d validation utterances; %d steps per epoch",
        args.phase,
        len(data.dataset),
        len(data.speakers),
        data.validation_utterances,
        trainer.sampler.steps_per_epoch,
    )
    trained = trainer.run(args.until_epoch)
    if trainer.epoch < trainer.epochs:
        print(f"train: {args.exp}/{args.phase} stopped after epoch {trainer.epoch} of {trainer.epochs} (--until-epoch)")
        return 0
    if args.phase == "joint" and context.is_main:
        if trained or not exp.model_file("final").exists():
            for line in write_final_models(exp, config):
                print(f"train: wrote {args.exp}/{line}")
        else:
            print(f"train: {args.exp} has finished training; final.pt and best.pt are left as they are")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (ConfigError, DataDirError, AudioError, CheckpointError, SetupError, TrainingDiverged, OSError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

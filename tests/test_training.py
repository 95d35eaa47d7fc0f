"""Training: schedule, batching, loss decrease, exact resume, DDP equivalence, non-finite steps."""

from __future__ import annotations

import json
import math
import socket

import pytest
import torch
import torch.multiprocessing as mp
import yaml
from training_helpers import ToySpeakers, tiny_experiment

from diffsv.bin.train import SetupError, load_pretrained, write_experiment_files
from diffsv.config import ConfigError, from_dict
from diffsv.data.batch_augment import augment_batch
from diffsv.data.speaker_crops import split_validation_speakers
from diffsv.experiment import Experiment
from diffsv.models import DiffSV
from diffsv.training import objective as objective_module
from diffsv.training.checkpoint import epoch_checkpoints, last_epochs, load_checkpoint
from diffsv.training.config import ExperimentConfig
from diffsv.training.objective import TrainingObjective
from diffsv.training.sampler import EpochBatchSampler
from diffsv.training.scheduler import SchedulerConfig, warm_restart_lr
from diffsv.training.trainer import ProcessContext, Trainer, TrainingDiverged, collate, data_workers
from diffsv.utils.checkpoint import CheckpointError


def build(config, seed=0):
    torch.manual_seed(seed)
    return TrainingObjective(DiffSV(config.model), num_speakers=4, config=config.loss)


def train(config, exp_dir, dataset=None, phase="joint", context=None):
    trainer = Trainer(config, build(config), dataset or ToySpeakers(), exp_dir, phase, context, show_progress=False)
    return trainer, trainer.run()


def test_schedule_warms_up_restarts_and_decays():
    config = SchedulerConfig(base_lr=1e-7, peak_lr=1e-2, warmup_epochs=1, first_cycle_epochs=4, cycle_mult=1.5)
    lr = [warm_restart_lr(step, config, steps_per_epoch=10) for step in range(200)]
    assert lr[0] == pytest.approx(1e-7)
    assert lr[10] == pytest.approx(1e-2)  # end of the one-epoch warm-up
    assert lr[5] == pytest.approx((1e-7 + 1e-2) / 2)
    assert lr[25] == pytest.approx(1e-7 + (1e-2 - 1e-7) * (1 + math.cos(math.pi * 0.5)) / 2)
    assert lr[40] == pytest.approx(1e-7)  # second cycle starts from the base again ...
    assert lr[50] == pytest.approx(5e-3)  # ... and peaks at half
    # Only the cosine part grows: the second cycle lasts int((40 - 10) * 1.5 + 10) = 55 steps, not 60.
    assert lr[95] == pytest.approx(1e-7) and lr[105] == pytest.approx(2.5e-3)
    assert lr[94] < lr[93] < 1e-4


def test_validation_speakers_zero_trains_on_every_speaker_as_the_authors_did():
    utt2spk = {f"s{spk}-u{utt}": f"s{spk}" for spk in range(6) for utt in range(3)}
    held_out = split_validation_speakers(utt2spk, 2, 2, seed=1)
    assert len(held_out.speakers) == 4 and len(held_out.validation_utts) == 4
    everyone = split_validation_speakers(utt2spk, 0, 2, seed=1)
    assert everyone.speakers == sorted(set(utt2spk.values())) and everyone.validation_utts == []
    assert everyone.train_utts == sorted(utt2spk)


def test_processes_and_accumulation_see_the_same_examples():
    single = list(EpochBatchSampler(40, 8, seed=3, accumulation=2))
    ranks = [list(EpochBatchSampler(40, 8, seed=3, rank=r, world_size=2)) for r in (0, 1)]
    assert len(single) == 10 and len(ranks[0]) == 5
    for step in range(5):
        assert single[2 * step] == ranks[0][step] and single[2 * step + 1] == ranks[1][step]
    sampler = EpochBatchSampler(40, 8, seed=3)
    sampler.set_epoch(1)
    assert list(sampler) != list(EpochBatchSampler(40, 8, seed=3)) and list(sampler)[0][0][0] == 1
    with pytest.raises(ValueError, match="not divisible"):
        EpochBatchSampler(40, 8, seed=3, world_size=3)


class FixedDraws(ToySpeakers):
    """The same 16 examples every epoch (the draws of epoch 99), so that training can only fit them."""

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        return super().__getitem__((99, key[1]))


@pytest.mark.parametrize("extractor", ["se_resnet34", "ecapa_tdnn"])
def test_loss_decreases(tmp_path, extractor):
    """The loss of one fixed batch falls after a dozen epochs of two steps on those same 16 examples
    (new draws every epoch would make 24 steps of AAM on toy speakers a matter of luck)."""
    config = tiny_experiment(epochs=12, extractor=extractor)
    config.scheduler.base_lr, config.scheduler.peak_lr = 3e-3, 1e-2
    data = FixedDraws(num_items=16)
    fixed = collate([data[(0, index)] for index in range(16)])
    objective = build(config)
    with torch.no_grad():
        before = objective(fixed, "joint")
    trainer = Trainer(config, objective, data, tmp_path, "joint", show_progress=False)
    records = trainer.run()
    with torch.no_grad():
        after = objective(fixed, "joint")
    assert float(after["loss"]) < 0.5 * float(before["loss"])
    assert float(after["diffusion_loss"]) < 0.7 * float(before["diffusion_loss"])
    assert set(records[0]) >= {"aam_loss", "prior_loss", "diffusion_loss", "loss", "lr", "grad_norm"}
    assert (tmp_path / "joint" / "train.log").read_text().count(" step ") >= 12
    assert list((tmp_path / "joint" / "tensorboard").iterdir())


def test_pretrain_phase_trains_enhancer_only(tmp_path):
    config = tiny_experiment(pretrain_epochs=1)
    trainer, records = train(config, tmp_path, phase="pretrain")
    assert "aam_loss" not in records[0] and "prior_loss" in records[0]
    assert all(p.grad is None for p in trainer.objective.model.extractor.parameters())


@pytest.mark.parametrize("augment_on", ["loader", "device"])
def test_resume_reproduces_the_uninterrupted_run(tmp_path, augment_on):
    config = tiny_experiment(dropout=0.1, epochs=2)
    _, uninterrupted = train(config, tmp_path / "straight", ToySpeakers(augment_on=augment_on))
    steps_per_epoch = len(uninterrupted) // 2

    class Killed(Exception):
        pass

    class DiesInEpoch2(ToySpeakers):
        def __getitem__(self, key):
            if key[0] == 1:
                raise Killed
            return super().__getitem__(key)

    with pytest.raises(Killed):
        train(config, tmp_path / "killed", dataset=DiesInEpoch2(augment_on=augment_on))
    assert [p.name for p in epoch_checkpoints(tmp_path / "killed" / "joint")] == ["epoch_1.pt"]
    _, resumed = train(config, tmp_path / "killed", ToySpeakers(augment_on=augment_on))  # same command again
    assert len(resumed) == steps_per_epoch
    for ours, reference in zip(resumed, uninterrupted[steps_per_epoch:], strict=True):
        assert ours["loss"] == pytest.approx(reference["loss"], rel=1e-6)
    final = load_checkpoint(tmp_path / "killed" / "joint" / "epoch_2.pt")
    assert final["epoch"] == 2 and final["step"] == 2 * steps_per_epoch


def test_a_run_stopped_early_continues_as_one_run_and_averages_up_to_its_stop(tmp_path):
    config = tiny_experiment(dropout=0.1, epochs=3)
    _, uninterrupted = train(config, tmp_path / "straight")
    trainer = Trainer(config, build(config), ToySpeakers(), tmp_path / "stopped", "joint", show_progress=False)
    first = trainer.run(until_epoch=1)
    assert trainer.epoch == 1 and len(first) == len(uninterrupted) // 3
    _, rest = train(config, tmp_path / "stopped")
    assert [r["loss"] for r in first + rest] == pytest.approx([r["loss"] for r in uninterrupted], rel=1e-6)
    directory = tmp_path / "stopped" / "joint"
    assert [p.name for p in last_epochs(directory, 2, through_epoch=2)] == ["epoch_1.pt", "epoch_2.pt"]
    assert [p.name for p in last_epochs(directory, 2)] == ["epoch_2.pt", "epoch_3.pt"]
    with pytest.raises(CheckpointError, match="no checkpoint of epoch 4"):
        last_epochs(directory, 2, through_epoch=4)


def test_nonfinite_steps_are_skipped_and_counted(tmp_path):
    config = tiny_experiment(epochs=1)
    trainer, records = train(config, tmp_path, dataset=ToySpeakers(nan_items=(5,)))
    assert sum(r["skipped"] for r in records) == 1 and trainer.skipped_steps == 1
    assert all(torch.isfinite(p).all() for p in trainer.objective.parameters())
    config = tiny_experiment(epochs=1, max_nonfinite_steps=2)
    with pytest.raises(TrainingDiverged, match="3 consecutive steps"):
        train(config, tmp_path / "diverged", dataset=ToySpeakers(nan_items=tuple(range(32))))


def test_resume_restores_the_last_validation_record_and_the_skip_count(tmp_path):
    config = tiny_experiment(epochs=1, max_nonfinite_steps=5)
    every_item_nan = ToySpeakers(nan_items=tuple(range(32)))  # all 4 steps of an epoch are skipped
    trainer = Trainer(
        config, build(config), every_item_nan, tmp_path, "joint", None, lambda model: {"eer": 0.25}, False
    )
    trainer.run()
    history = tmp_path / "joint" / "validation.json"
    assert json.loads(history.read_text()) == {"1": {"eer": 0.25}}
    history.unlink()  # as if killed between writing the checkpoint and the validation record
    again = Trainer(config, build(config), every_item_nan, tmp_path, "joint", None, lambda model: {"eer": 0.5}, False)
    assert again.run() == []  # nothing left to train ...
    assert json.loads(history.read_text()) == {"1": {"eer": 0.25}}  # ... but the record is back, as it was
    config.training.epochs = 2  # two more skipped steps make 6 in a row, counting across the resume
    with pytest.raises(TrainingDiverged, match="6 consecutive steps"):
        Trainer(config, build(config), every_item_nan, tmp_path, "joint", show_progress=False).run()


def test_resume_from_another_configuration_names_the_tensors(tmp_path):
    train(tiny_experiment(epochs=1), tmp_path)
    other = tiny_experiment(epochs=2)
    other.model.extractor.embed_dim = 24
    with pytest.raises(CheckpointError, match=r"epoch_1.pt does not fit the model configuration: .*shape mismatch"):
        train(other, tmp_path)


def test_a_second_run_into_an_experiment_needs_its_configuration(tmp_path):
    config = tiny_experiment(epochs=1)
    exp = Experiment(tmp_path)
    write_experiment_files(exp, config, ["a", "b"], DiffSV(config.model))
    stored = yaml.safe_load(exp.config_file.read_text())
    del stored["model"]["enhancer"]["residual"]  # written by a toolkit without that setting: its default
    exp.config_file.write_text(yaml.safe_dump(stored))
    write_experiment_files(exp, config, ["a", "b"], DiffSV(config.model))
    config.data.num_workers, config.training.log_interval = "auto", 7  # speed and logging: may change
    write_experiment_files(exp, config, ["a", "b"], DiffSV(config.model))
    config.training.seed += 1
    with pytest.raises(SetupError, match=r"holds a different configuration \(training.seed\)"):
        write_experiment_files(exp, config, ["a", "b"], DiffSV(config.model))


def test_auto_data_workers_share_the_cpus_among_the_processes_of_a_node():
    assert data_workers(3, local_world_size=4, cpus=64) == 3
    assert data_workers("auto", local_world_size=1, cpus=2) == 1
    assert data_workers("auto", local_world_size=4, cpus=32) == 7
    assert data_workers("auto", local_world_size=8, cpus=8) == 0  # one CPU each: the process loads its own
    with pytest.raises(ConfigError, match="num_workers"):
        from_dict(ExperimentConfig, {"data": {"num_workers": "many"}})


def test_joint_training_needs_the_configured_pretraining(tmp_path):
    config = tiny_experiment(epochs=1, pretrain_epochs=2)
    train(config, tmp_path, phase="pretrain")
    objective = build(config)
    assert load_pretrained(objective, Experiment(tmp_path), 2) == str(tmp_path / "pretrain" / "epoch_2.pt")
    (tmp_path / "pretrain" / "epoch_2.pt").unlink()
    with pytest.raises(SetupError, match="has 1 of the config's 2 pre-training epochs: run stage 3"):
        load_pretrained(objective, Experiment(tmp_path), 2)
    assert load_pretrained(objective, Experiment(tmp_path), 0) is None  # no pre-training configured: from scratch


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ddp_worker(rank: int, port: int, exp_dir: str, augment_on: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    torch.set_num_threads(1)
    config = tiny_experiment(epochs=1)
    dataset = ToySpeakers(augment_on=augment_on)
    trainer, records = train(config, exp_dir, dataset, context=ProcessContext(rank=rank, world_size=2))
    if rank == 0:
        parameters = {k: v.detach().clone() for k, v in trainer.objective.named_parameters()}
        torch.save({"losses": [r["loss"] for r in records], "parameters": parameters}, f"{exp_dir}/result.pt")
    dist.destroy_process_group()


def test_device_augmentation_runs_in_float32_outside_bf16_autocast(tmp_path, monkeypatch):
    config = tiny_experiment(epochs=1, precision="bf16", grad_accumulation=2)
    trainer = Trainer(config, build(config), ToySpeakers(augment_on="device"), tmp_path, "joint", show_progress=False)
    seen = []

    def augment(clean, draws):
        noisy = augment_batch(clean, draws)
        seen.append((noisy.dtype, torch.is_autocast_enabled("cpu")))
        return noisy

    monkeypatch.setattr(objective_module, "augment_batch", augment)
    records = trainer.run()
    assert len(records) == 4 and seen == [(torch.float32, False)] * 8  # 4 steps of 2 micro-batches
    assert all(math.isfinite(record["loss"]) for record in records)


@pytest.mark.parametrize("augment_on", ["loader", "device"])
def test_two_process_ddp_agrees_with_one_process(tmp_path, augment_on):
    config = tiny_experiment(epochs=1, grad_accumulation=2)
    trainer, records = train(config, tmp_path / "single", ToySpeakers(augment_on=augment_on))
    context = mp.get_context("spawn")
    port = _free_port()
    processes = [context.Process(target=_ddp_worker, args=(r, port, str(tmp_path), augment_on)) for r in (0, 1)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
        assert process.exitcode == 0
    result = torch.load(tmp_path / "result.pt")
    losses, parameters = result["losses"], result["parameters"]
    assert losses == pytest.approx([r["loss"] for r in records], rel=1e-5)
    # A bias feeding a normalisation layer has a gradient that is zero up to rounding, and the attention's
    # query and key can have one ten thousand times smaller than the largest; Adam turns the rounding of such
    # a gradient into steps of up to lr, which differ between reduction orders. Those only stay bounded.
    probe = build(config)
    first_batch = collate([ToySpeakers(augment_on=augment_on)[(0, index)] for index in range(8)]).augmented()
    probe(first_batch, "joint")["loss"].backward()
    gradients = {name: parameter.grad for name, parameter in probe.named_parameters()}
    largest = max(float(gradient.abs().max()) for gradient in gradients.values() if gradient is not None)
    bound = sum(r["lr"] for r in records) * 1.01
    for name, value in trainer.objective.named_parameters():
        gradient = gradients[name]
        if gradient is not None and gradient.abs().max() < 1e-4 * largest:
            assert (parameters[name] - value).abs().max() <= bound, name
        else:
            torch.testing.assert_close(parameters[name], value, rtol=1e-4, atol=1e-5, msg=name)

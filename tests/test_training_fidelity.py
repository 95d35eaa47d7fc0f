"""Training equals the authors' (``shared/reference/train_step.pt``): three float64 optimiser steps through
our own Trainer, from the reference's weights, batch and draws, agree with their losses, every gradient,
the parameters, the updates and the BatchNorm statistics; our schedule gives their learning rate at every
sampled iteration of the paper's 320 x 929.

Tolerances are the fixture README's: relative 1e-9 for step 1, 1e-6 for steps 2-3 (Adam at the peak rate
amplifies last-bit differences); dot products relative to the same tensor's norm; the 11 mathematically
zero gradients within 1e-12 of the step's largest gradient norm.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset

from diffsv.config import load_config
from diffsv.data.augment import AugmentationDraws
from diffsv.data.noise_mixing import level_db
from diffsv.models import DiffSV, ModelConfig, convert_reference_state_dict
from diffsv.models.enhancer import EnhancerConfig
from diffsv.models.reference_import import reference_key_to_ours
from diffsv.training.config import DataConfig, ExperimentConfig, TrainingConfig
from diffsv.training.objective import TrainingObjective
from diffsv.training.scheduler import SchedulerConfig, warm_restart_lr
from diffsv.training.trainer import Trainer

STEPS = 3
T_EPSILON = 1e-5


@pytest.fixture(scope="module")
def reference(reference_dir: Path) -> dict:
    return torch.load(reference_dir / "train_step.pt", weights_only=True)


def paper_schedule(steps_per_epoch: int) -> SchedulerConfig:
    """The paper's schedule (T_0 = 40 epochs, T_up = 1 epoch of 929 iterations) for ``steps_per_epoch``."""
    return SchedulerConfig(warmup_epochs=929 / steps_per_epoch, first_cycle_epochs=40 * 929 / steps_per_epoch)


def test_schedule_is_the_authors_at_every_sampled_iteration(reference: dict) -> None:
    config = SchedulerConfig()  # conf/diffsv.yaml's values
    assert config == paper_schedule(929)
    table = zip(reference["schedule_iterations"].tolist(), reference["schedule_lr"].tolist(), strict=True)
    for iteration, expected in table:
        assert warm_restart_lr(iteration, config, 929) == pytest.approx(expected, rel=1e-9, abs=0), iteration


def test_cycles_grow_only_their_cosine_part(reference: dict) -> None:
    """Restarts at iterations 37,160, 92,435 and 174,883: the LR falls to base there and peaks 929 later."""
    config = SchedulerConfig()
    for start, peak in zip(reference["schedule_cycle_starts"].tolist(), (1e-2, 5e-3, 2.5e-3, 1.25e-3), strict=True):
        assert warm_restart_lr(start, config, 929) == pytest.approx(config.base_lr, rel=1e-12)
        assert warm_restart_lr(start + 929, config, 929) == pytest.approx(peak, rel=1e-12)
        if start:
            assert warm_restart_lr(start - 1, config, 929) < 1.1e-7


class ReferenceBatch(Dataset):
    """The fixture's four crops; epoch k gives step k + 1's draws (one batch per epoch).

    With ``augment_on="device"`` the noisy crop is made on the training device from draws: the reference's
    noise (noisy - clean) as a noise window mixed at the SNR that restores it, which tests the device path
    of the Trainer (packing, transfer, float64 arithmetic) against the authors' step."""

    def __init__(self, reference: dict, augment_on: str = "loader") -> None:
        self.reference = reference
        self.augment_on = augment_on

    def __len__(self) -> int:
        return 4

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        epoch, index = key
        ref = self.reference
        clean, noisy = ref["clean_wav"][index].double(), ref["noisy_wav"][index].double()
        augmented: dict[str, object] = {"noisy": noisy}
        if self.augment_on == "device":
            noise = (noisy - clean).numpy()
            snr = level_db(clean.numpy()) - level_db(noise)
            augmented = {"draws": AugmentationDraws(16_000, "noise", noises=[noise], snr_db=snr)}
        return {
            **augmented,
            "clean": clean,
            "labels": ref["labels"][index],
            "t": ref["t"][epoch, index].double().clamp(T_EPSILON, 1 - T_EPSILON),
            "loss_noise": ref["loss_noise"][epoch, index].double(),
            "init_noise": ref["init_noise"][epoch, index].double(),
        }


def directions(names: list[str], tensors: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for name in names:
        d = torch.randn(tensors[name].shape, generator=generator, dtype=torch.float64)
        out[name] = d / d.norm()
    return out


@torch.no_grad()
def statistics(tensors: dict[str, torch.Tensor], units: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(norm, dot with the unit direction) of each tensor, in the directions' order."""
    norms = torch.stack([tensors[name].double().norm() for name in units])
    dots = torch.stack([(tensors[name].double() * units[name]).sum() for name in units])
    return norms, dots


def assert_close(ours: torch.Tensor, theirs: torch.Tensor, scale: torch.Tensor, tol: float, what: str) -> None:
    error = (ours - theirs).abs() / scale.abs()
    worst = int(error.argmax())
    assert float(error[worst]) <= tol, f"{what}: relative difference {float(error[worst]):.3g} at entry {worst}"


@pytest.fixture(scope="module", params=["loader", "device"])
def trained(
    request: pytest.FixtureRequest, reference: dict, tmp_path_factory: pytest.TempPathFactory, reference_dir: Path
) -> dict:
    """Three steps of our Trainer in float64, with every statistic the fixture holds taken along the way, with
    the noisy crops made in the loader and on the training device."""
    case_a = torch.load(reference_dir / "case_a.pt", weights_only=True)
    model_config = ModelConfig(enhancer=EnhancerConfig(dropout=0.0))
    model = DiffSV(model_config)
    model.load_state_dict(convert_reference_state_dict(case_a["state_dict"]), strict=True)
    model.double()
    with torch.no_grad():
        own = model.state_dict()
        for name, delta in reference["init_deltas"].items():
            own[reference_key_to_ours(name)].add_(delta)
    objective = TrainingObjective(model, num_speakers=1211, config=ExperimentConfig().loss).double()
    with torch.no_grad():
        objective.head.weight.copy_(case_a["aam_weight"].double())
    config = ExperimentConfig(
        model=model_config,
        data=DataConfig(batch_size=4, num_workers=0, validation_speakers=0),
        scheduler=paper_schedule(1),  # one step per epoch here
        training=TrainingConfig(epochs=STEPS, log_interval=1),
    )
    dataset = ReferenceBatch(reference, request.param)
    trainer = Trainer(config, objective, dataset, tmp_path_factory.mktemp("fidelity"), "joint", show_progress=False)
    with warnings.catch_warnings():  # the reference steps its scheduler 929 times before the first step
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(929):
            trainer.scheduler.step()

    tensors = {
        name: objective.head.weight if name == "aam_weight" else model.get_parameter(reference_key_to_ours(name))
        for name in reference["param_names"]
    }
    buffers = {name: objective.model.get_buffer(reference_key_to_ours(name)) for name in reference["bn_buffer_names"]}
    param_units = directions(reference["param_names"], tensors, reference["direction_seeds"]["params"])
    bn_units = directions(reference["bn_buffer_names"], buffers, reference["direction_seeds"]["bn_buffers"])
    initial = {name: t.detach().clone() for name, t in tensors.items()}
    tracked = [
        m.num_batches_tracked for m in objective.modules() if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d)
    ]
    seen: dict[str, list] = {"grad": [], "param": [], "update": [], "bn": [], "tracked": []}

    def take_state() -> None:
        seen["param"].append(statistics(tensors, param_units))
        seen["update"].append(statistics({n: t - initial[n] for n, t in tensors.items()}, param_units))
        seen["bn"].append(statistics(buffers, bn_units))
        seen["tracked"].append({int(count) for count in tracked})

    take_state()
    trainer.optimizer.register_step_pre_hook(
        lambda *_: seen["grad"].append(statistics({n: t.grad for n, t in tensors.items()}, param_units))
    )
    trainer.optimizer.register_step_post_hook(lambda *_: take_state())
    records = trainer.run()
    return {"records": records, "trainer": trainer, "units": param_units, "bn_layers": len(tracked), **seen}


def test_reference_set_up_is_reproduced(reference: dict, trained: dict) -> None:
    """Row 0: our initial float64 weights and BatchNorm statistics are the reference's."""
    norms, dots = trained["param"][0]
    assert_close(norms, reference["param_norm"][0], reference["param_norm"][0], 1e-12, "initial parameter norms")
    assert_close(dots, reference["param_dot"][0], reference["param_norm"][0], 1e-12, "initial parameter dots")
    first = torch.stack([unit.flatten()[0] for unit in trained["units"].values()])
    assert torch.equal(first, reference["direction_first"])


@pytest.mark.parametrize("step", range(STEPS))
def test_losses_and_learning_rate_equal_the_authors(reference: dict, trained: dict, step: int) -> None:
    tol = 1e-9 if step == 0 else 1e-6
    record = trained["records"][step]
    for ours, theirs in (
        ("aam_loss", "loss_aam"),
        ("prior_loss", "loss_prior"),
        ("diffusion_loss", "loss_diffusion"),
        ("loss", "loss_total"),
    ):
        assert record[ours] == pytest.approx(float(reference[theirs][step]), rel=tol), ours
    assert record["lr"] == pytest.approx(float(reference["lr"][step]), rel=1e-12)
    assert record["skipped"] == 0.0


@pytest.mark.parametrize("step", range(STEPS))
def test_gradients_equal_the_authors(reference: dict, trained: dict, step: int) -> None:
    tol = 1e-9 if step == 0 else 1e-6
    norms, dots = trained["grad"][step]
    ref_norms, ref_dots = reference["grad_norm"][step], reference["grad_dot"][step]
    negligible = reference["grad_negligible"]
    kept = ~negligible
    assert_close(norms[kept], ref_norms[kept], ref_norms[kept], tol, f"step {step + 1} gradient norms")
    assert_close(dots[kept], ref_dots[kept], ref_norms[kept], tol, f"step {step + 1} gradient dots")
    floor = 1e-12 * ref_norms.max()
    assert float((norms[negligible] - ref_norms[negligible]).abs().max()) <= floor
    assert float((dots[negligible] - ref_dots[negligible]).abs().max()) <= floor


@pytest.mark.parametrize("after", range(1, STEPS + 1))
def test_parameters_updates_and_batchnorm_equal_the_authors(reference: dict, trained: dict, after: int) -> None:
    tol = 1e-9 if after == 1 else 1e-6
    for what, key in (("parameter", "param"), ("update", "update"), ("BatchNorm", "bn")):
        prefix = "bn" if key == "bn" else key
        norms, dots = trained[key][after]
        ref_norms = reference[f"{prefix}_norm"][after - (key == "update")]
        ref_dots = reference[f"{prefix}_dot"][after - (key == "update")]
        assert_close(norms, ref_norms, ref_norms, tol, f"{what} norms after {after} steps")
        assert_close(dots, ref_dots, ref_norms, tol, f"{what} dots after {after} steps")


def test_counters_equal_the_authors(reference: dict, trained: dict) -> None:
    assert trained["bn_layers"] == reference["num_batchnorm_layers"]
    assert [counts for counts in trained["tracked"]] == [{int(n)} for n in reference["num_batches_tracked"]]
    trainer = trained["trainer"]
    assert trainer.step == STEPS and trainer.scheduler.last_epoch == 929 + STEPS
    assert {int(state["step"]) for state in trainer.optimizer.state.values()} == {STEPS}


def test_paper_config_trains_as_the_authors_did() -> None:
    """conf/diffsv.yaml is the set-up the fixture was computed with, apart from what we choose on purpose."""
    config = load_config(Path(__file__).resolve().parents[1] / "egs/voxceleb_diffsv/conf/diffsv.yaml", ExperimentConfig)
    assert config.scheduler == SchedulerConfig() == paper_schedule(929)
    assert dataclasses.asdict(config.optimizer) == {"weight_decay": 1e-4, "amsgrad": True}
    assert (config.loss.aam_margin, config.loss.aam_scale) == (0.2, 30.0)
    assert config.training.grad_clip is None and config.data.batch_size == 160

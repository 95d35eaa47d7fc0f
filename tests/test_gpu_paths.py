"""The GPU paths that a CPU can check: resuming with another GPU count, the devices the job runners and the
recipe give each job, and the arithmetic (TF32, precision) a run records."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from corpus_trees import write_wav
from training_helpers import ToySpeakers, tiny_experiment

from diffsv.data.eval_sets import EvalSet, write_eval_sets
from diffsv.embedding import Embedder
from diffsv.embedding_segments import SegmentConfig
from diffsv.embedding_store import embedding_record, write_embedding_record
from diffsv.evaluation import Plan
from diffsv.evaluation.embedding_jobs import embed_job
from diffsv.evaluation.finishing import finish
from diffsv.evaluation.planning import plan
from diffsv.experiment import Experiment
from diffsv.inference import load_model
from diffsv.models import DiffSV
from diffsv.models.model_file import save_model_file
from diffsv.protocol import CLEAN_SET
from diffsv.training.checkpoint import restore_rng_state, rng_state
from diffsv.training.objective import TrainingObjective
from diffsv.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_gpus(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], dict[int, torch.Tensor]]:
    """``fake_gpus(n)``: torch.cuda's generator-state calls as torch makes them with ``n`` visible devices
    (a device index past them is torch's ``IndexError``); returns the states by device index."""

    def visible(count: int) -> dict[int, torch.Tensor]:
        states = {index: torch.full((16,), index, dtype=torch.uint8) for index in range(count)}

        def index_of(device: int | str | torch.device) -> int:
            index = torch.device(device).index if isinstance(device, (str, torch.device)) else device
            if index is None or index >= count:
                raise IndexError("list index out of range")  # torch.cuda.default_generators[index]
            return index

        def get(device: int | str | torch.device = "cuda") -> torch.Tensor:
            return states[index_of(device if device != "cuda" else 0)].clone()

        def set_(state: torch.Tensor, device: int | str | torch.device = "cuda") -> None:
            states[index_of(device if device != "cuda" else 0)] = state.clone()

        for name, fake in {
            "is_available": lambda: count > 0,
            "device_count": lambda: count,
            "get_rng_state": get,
            "set_rng_state": set_,
            "get_rng_state_all": lambda: [get(i) for i in range(count)],
            "set_rng_state_all": lambda saved: [set_(state, i) for i, state in enumerate(saved)],
        }.items():
            monkeypatch.setattr(torch.cuda, name, fake)
        return states

    return visible


def test_a_run_saved_on_eight_gpus_resumes_on_one(fake_gpus) -> None:
    """A checkpoint written by rank 0 of 8 (run.pl) resumes under a 1-GPU Slurm job, and on rank 3 of 4."""
    saved_on = fake_gpus(8)
    saved_on[0] = torch.full((16,), 42, dtype=torch.uint8)
    state = rng_state(torch.device("cuda", 0))
    one = fake_gpus(1)
    restore_rng_state(state, torch.device("cuda", 0))
    assert torch.equal(one[0], saved_on[0])
    four = fake_gpus(4)
    restore_rng_state(state, torch.device("cuda", 3))
    assert torch.equal(four[3], saved_on[0]) and torch.equal(four[0], torch.zeros(16, dtype=torch.uint8))


def test_older_checkpoints_with_every_devices_state_resume_on_fewer(fake_gpus) -> None:
    eight = [torch.full((16,), index + 10, dtype=torch.uint8) for index in range(8)]
    one = fake_gpus(1)
    restore_rng_state({"torch": torch.get_rng_state(), "cuda": eight}, torch.device("cuda", 0))
    assert torch.equal(one[0], eight[0])


def test_a_cpu_run_saves_and_restores_no_gpu_state(fake_gpus) -> None:
    fake_gpus(2)
    state = rng_state(torch.device("cpu"))
    assert set(state) == {"torch"}
    restore_rng_state(state, torch.device("cuda", 1))  # a CPU checkpoint resumed on a GPU keeps its seeding


# A recipe whose job runners and python only record how they were called.
_RECORDING_RECIPE = """set -euo pipefail
cd {root}
export PATH="{root}/bin:$PATH"
train_cmd=record decode_cmd=record cuda_cmd="record --gpu 1"
local_check_corpora() {{ :; }}
local_prepare_data() {{ :; }}
. {template} "$@"
"""
_RECORDER = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> {root}/calls
case " $* " in *" plan "*) echo 2 ;; esac
"""


def _recipe_calls(tmp_path: Path, *options: str) -> list[str]:
    """The runner and python calls of stages 4-5 of egs/TEMPLATE/sv.sh with ``options``."""
    (tmp_path / "bin").mkdir()
    for name in ("record", "python"):
        (tmp_path / "bin" / name).write_text(_RECORDER.format(root=tmp_path))
        (tmp_path / "bin" / name).chmod(0o755)
    (tmp_path / "utils").symlink_to(REPO / "utils")
    (tmp_path / "data/train").mkdir(parents=True)
    (tmp_path / "data/train/wav.scp").touch()
    (tmp_path / "exp/sys").mkdir(parents=True)
    for name in ("final.pt", "RESULTS.md"):
        (tmp_path / "exp/sys" / name).touch()
    script = tmp_path / "run.sh"
    script.write_text(_RECORDING_RECIPE.format(root=tmp_path, template=REPO / "egs/TEMPLATE/sv.sh"))
    args = ["--stage", "4", "--stop-stage", "5", "--config", "conf/sys.yaml", *options]
    result = subprocess.run(["bash", str(script), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return (tmp_path / "calls").read_text().splitlines()


def test_the_recipe_trains_and_embeds_on_the_cpu_when_asked_for_no_gpu(tmp_path: Path) -> None:
    """--ngpu 0 and --embed-gpus 0 say --device cpu: 'auto' would take a visible GPU."""
    calls = _recipe_calls(tmp_path, "--ngpu", "0", "--embed-gpus", "0")
    train = [call for call in calls if "diffsv.bin.train" in call]
    embed = [call for call in calls if " embed " in call]
    assert len(train) == 1 and "--device cpu" in train[0] and "--gpu" not in train[0]
    assert len(embed) == 1 and "--device cpu" in embed[0] and embed[0].startswith("record JOB=1:2 ")
    assert "--device cpu" in next(call for call in calls if " plan " in call)


def test_gpu_training_asks_for_cpus_per_gpu_and_embedding_for_one_gpu_per_job(tmp_path: Path) -> None:
    calls = _recipe_calls(tmp_path, "--ngpu", "2", "--cpus-per-gpu", "6", "--embed-gpus", "2")
    (train,) = [call for call in calls if "diffsv.bin.train" in call]
    (embed,) = [call for call in calls if " embed " in call]
    assert train.startswith("record --gpu 1 --gpu 2 --num-threads 12 ") and "--nproc-per-node 2" in train
    assert "--device cuda" in train
    assert embed.startswith("record --gpu 1 --gpu 1 JOB=1:2 ") and "--device cuda" in embed
    assert "--device cuda" in next(call for call in calls if " plan " in call)


def _float32_arithmetic_seen(module: torch.nn.Module) -> list[str]:
    """cuDNN's float32 setting each time ``module`` runs forward."""
    seen: list[str] = []
    module.register_forward_hook(lambda *_: seen.append(torch.backends.cudnn.conv.fp32_precision))
    return seen


@pytest.mark.parametrize(("precision", "cudnn"), [("fp32", "ieee"), ("tf32", "tf32"), ("bf16", "ieee")])
def test_training_and_validation_use_tf32_only_when_the_config_says(tmp_path: Path, precision: str, cudnn: str) -> None:
    """cuDNN's default is TF32 for float32 convolutions: ``fp32`` must say IEEE."""
    config = tiny_experiment(epochs=1, precision=precision)
    objective = TrainingObjective(DiffSV(config.model), 4, config.loss)
    seen = _float32_arithmetic_seen(objective.model.extractor)
    validated: list[str] = []
    trainer = Trainer(
        config,
        objective,
        ToySpeakers(16),
        tmp_path,
        "joint",
        validator=lambda model: validated.append(torch.backends.cudnn.conv.fp32_precision) or {},
        show_progress=False,
    )
    before = torch.backends.cudnn.conv.fp32_precision
    trainer.run()
    assert set(seen) == {cudnn} and validated == [cudnn]
    assert torch.backends.cudnn.conv.fp32_precision == before


@pytest.mark.parametrize(("precision", "cudnn"), [("fp32", "ieee"), ("tf32", "tf32")])
def test_stage5_embeddings_use_the_precision_they_record(precision: str, cudnn: str) -> None:
    torch.manual_seed(0)
    model = DiffSV(tiny_experiment().model)
    seen = _float32_arithmetic_seen(model.extractor)
    embedder = Embedder(model, torch.device("cpu"), SegmentConfig(2, 3_200), precision=precision)
    list(embedder.embed([("u", np.full(8_000, 0.1, dtype=np.float32))]))
    assert seen == [cudnn]


def test_the_api_embeds_with_the_precision_stage5_and_its_calibration_used(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DiffSV(tiny_experiment().model)
    exp = Experiment(tmp_path)
    save_model_file(exp.model_file("final"), model.state_dict(), model.config)
    record = embedding_record(exp.model_file("final"), model, SegmentConfig(2, 3_200), 0, "bf16", "cuda")
    exp.set_embeddings(CLEAN_SET).mkdir(parents=True)
    write_embedding_record(exp.set_embeddings(CLEAN_SET), record)
    assert load_model(tmp_path, device="cpu")._embedder.precision == "bf16"
    assert load_model(tmp_path, device="cpu", precision="fp32")._embedder.precision == "fp32"


def _planned(tmp_path: Path, device: str) -> Experiment:
    """Stage 5 planned on ``device`` for a tiny model and a test set of four utterances."""
    torch.manual_seed(0)
    model = DiffSV(tiny_experiment().model)
    exp = Experiment(tmp_path / "exp")
    save_model_file(exp.model_file("final"), model.state_dict(), model.config)
    test = tmp_path / "data" / "test"
    utts = [f"s{spk}-u{n}" for spk in range(2) for n in range(2)]
    for n, utt in enumerate(utts):
        write_wav(test / f"{utt}.wav", 0.5, seed=n)
    (test / "wav.scp").write_text("".join(f"{utt} {test / utt}.wav\n" for utt in utts))
    (test / "utt2spk").write_text("".join(f"{utt} {utt[:2]}\n" for utt in utts))
    (test / "trials").write_text(f"{utts[0]} {utts[1]} target\n{utts[0]} {utts[2]} nontarget\n")
    write_eval_sets(tmp_path / "data", "prepare_data", [EvalSet("clean", test, test / "trials")])
    plan(exp, tmp_path / "data", SegmentConfig(2, 4_000), device=device)
    return exp


def test_stage5_records_the_device_and_every_job_uses_the_plans(tmp_path: Path) -> None:
    """One set's shares are never made on two devices: the plan records one, and a job given another stops."""
    exp = _planned(tmp_path, "cpu")
    assert Plan.read(exp).record["device"] == "cpu"
    with pytest.raises(ValueError, match=r"plan.json: planned for --device cpu, not cuda: plan again"):
        list(embed_job(exp, 1, device="cuda"))
    assert [line.split(":")[0] for line in embed_job(exp, 1)] == ["test"]  # auto: the plan's
    list(finish(exp, paper=False))
    assert plan(exp, tmp_path / "data", SegmentConfig(2, 4_000), device="cpu").sets == []
    replanned = plan(exp, tmp_path / "data", SegmentConfig(2, 4_000), device="cuda")
    assert [s.name for s in replanned.sets] == ["test"]  # made on the CPU: embedded again on the GPU

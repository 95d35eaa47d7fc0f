"""One GPU check: what only a GPU can confirm, and the rates that decide what the paper's scale costs.

    bench/gpu_check.sh --out DIR            # installs what it needs (from .whl/), then runs this on the GPU
    bench/gpu_check.sh --device cpu --quick --out DIR   # the same parts on the CPU with tiny sizes (a rehearsal)

A lent GPU may be there for minutes, so nothing is lost to one failure: each part runs in its own process
under a time box (and all of them within ``--budget`` seconds), and each row is written as it comes, to
``DIR/gpu_check.txt`` (a table) and ``DIR/gpu_check.json`` (rewritten whole after each row). A part that
fails, runs out of memory or out of time leaves a row saying so, and the next part runs. Parts:

- environment: device, torch, CUDA and cuDNN versions;
- train-fp32, train-tf32, train-bf16: the real ``Trainer`` (loader, optimiser, scheduler) on the paper's
  model at batch 40 for a few steps: crops/s, peak memory, whether the losses are finite;
- resume: two epochs in one run against one epoch, then a resumed second: the largest loss difference;
- embed-fp32, embed-bf16: stage 5 through ``diffsv.bin.evaluate plan/embed --device cuda`` (the
  recipe's commands) on 10 s segments, the rate of its embedder there (utterances/s, warmed up), and the
  cosine of each segment embedding the command made with the CPU's fp32 one for the same input;
- augment-device: the batched augmentation (``data.augment_on: device``) on the device, batches of 32 and 160,
  against the per-crop arithmetic of one CPU core, with its agreement; and the loader cores the bf16
  Trainer row needs in each mode, from one process's crops/s with the augmentation in it and with only
  its draws and reads;
- loader-N, loader-device-N: the data loader with N workers, the augmentation in it (``loader``) or only
  its draws and reads (``device``), timed over at least 8 batches per worker after each worker's first,
  against what the bf16 Trainer row consumes;
- ddp: the Trainer in two processes sharing this one GPU (gloo; a rate of two processes on one device, not
  of two GPUs), and their losses against the one process that computes the same steps without dropout:
  given the whole batch on a GPU (SyncBatchNorm), accumulating two micro-batches on the CPU;
- train-compiled: the training objective (not the Trainer) under torch.compile, bf16, where it builds.

Exit status: 0 when every part succeeded, 1 when any did not, 3 when ``--device cuda`` finds no CUDA.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

SAMPLE_RATE = 16_000
CROP = 31_920
#: part name -> time box in seconds on a GPU, the most wanted first; ``--budget`` (420 s) cuts the last ones
#: short rather than let the check outlast the 8 minutes it is given (the install takes seconds).
PARTS = {
    "environment": 30,
    "train-fp32": 50,
    "train-tf32": 40,
    "train-bf16": 40,
    "augment-device": 45,
    "resume": 50,
    "embed-fp32": 50,
    "embed-bf16": 40,
    "loader-1": 25,
    "loader-device-1": 20,
    "loader-4": 20,
    "loader-device-4": 20,
    "ddp": 45,
    "train-compiled": 80,
}


def emit(what: str, value: str, note: str = "", **numbers: float) -> None:
    """One row of a part, to the parent (a line on stdout)."""
    print("ROW " + json.dumps({"what": what, "value": value, "note": note, **numbers}), flush=True)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory(device: torch.device) -> str:
    return f"peak {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB" if device.type == "cuda" else ""


def model_config(quick: bool) -> Any:
    """The paper's model, or for ``--quick`` a tiny one of the same architecture (a CPU rehearsal)."""
    from diffsv.models import ModelConfig
    from diffsv.models.diffusion import DiffusionConfig
    from diffsv.models.enhancer import EnhancerConfig
    from diffsv.models.score_network import ScoreNetworkConfig
    from diffsv.models.se_resnet import SEResNetConfig

    if not quick:
        return ModelConfig()
    return ModelConfig(
        enhancer=EnhancerConfig(n_layers=1, ffn_channels=32),
        score_network=ScoreNetworkConfig(width=8, multipliers=(1, 2), attention_head_channels=8),
        diffusion=DiffusionConfig(steps=2),
        extractor=SEResNetConfig(
            channels=(8, 8, 16, 16), blocks=(1, 1, 1, 1), se_reduction=4, embed_dim=16, pooling_channels=16
        ),
    )


class SyntheticCrops(torch.utils.data.Dataset):
    """Crops made in memory, with the per-example draws of the real dataset: the Trainer's input without I/O."""

    def __init__(self, count: int, speakers: int = 1211) -> None:
        self.count = count
        self.speakers = speakers

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        from diffsv.data.example_draws import diffusion_draws, example_generator

        epoch, index = key
        generator = example_generator(0, epoch, index)
        clean = 0.1 * torch.randn(CROP, generator=generator)
        return {
            "noisy": clean + 0.05 * torch.randn(CROP, generator=generator),
            "clean": clean,
            "labels": torch.tensor(index % self.speakers),
            **diffusion_draws(generator, 80, 1 + CROP // 160, 1e-5),
        }


def experiment_config(quick: bool, batch: int, epochs: int, precision: str, dropout: bool = True) -> Any:
    """``dropout=False``: none in the enhancer, whose dropout draws come from each process's generator rather
    than from the example, so that runs spread over processes differently can compute the same steps."""
    from diffsv.training.config import DataConfig, ExperimentConfig, TrainingConfig

    model = model_config(quick)
    if not dropout:
        model.enhancer.dropout = 0.0
    return ExperimentConfig(
        model=model,
        data=DataConfig(crop_samples=CROP, batch_size=batch, num_workers=0),
        training=TrainingConfig(epochs=epochs, precision=precision, log_interval=1),
    )


def trainer(config: Any, exp_dir: Path, crops: int, device: torch.device, context: Any = None) -> Any:
    from diffsv.models import DiffSV
    from diffsv.training.objective import TrainingObjective
    from diffsv.training.trainer import ProcessContext, Trainer

    torch.manual_seed(0)
    objective = TrainingObjective(DiffSV(config.model), 1211, config.loss)
    context = context or ProcessContext(device=device)
    return Trainer(config, objective, SyntheticCrops(crops), exp_dir, "joint", context, show_progress=False)


def part_environment(device: torch.device, quick: bool) -> None:
    emit("torch", torch.__version__, f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        emit("device", properties.name, f"{properties.total_memory / 2**30:.0f} GiB, {torch.cuda.device_count()} GPUs")
    else:
        emit("device", "CPU", f"{os.cpu_count()} CPUs")


def part_train(device: torch.device, quick: bool, precision: str) -> None:
    """The real Trainer: each optimiser step is timed from one forward pass's start to the next's."""
    batch, steps = (2, 3) if quick else (40, 6)
    starts: list[float] = []
    with tempfile.TemporaryDirectory() as directory:
        run = trainer(experiment_config(quick, batch, 1, precision), Path(directory), batch * steps, device)

        def stamp(*_: object) -> None:
            synchronize(device)
            starts.append(time.perf_counter())

        run.objective.register_forward_pre_hook(stamp)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        records = run.run()
    timed = np.diff(starts[1:])  # the first step warms up kernels and allocators
    finite = all(np.isfinite(record["loss"]) for record in records)
    rate = batch / float(np.mean(timed))
    losses = "finite" if finite else "NOT finite"
    note = ", ".join(filter(None, [f"batch {batch}, {len(timed)} steps timed, losses {losses}", peak_memory(device)]))
    emit(f"Trainer, {precision}", f"{rate:.1f} crops/s", note, crops_per_s=rate)


def part_train_compiled(device: torch.device, quick: bool) -> None:
    from training_speed import crops_per_second

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    rate = crops_per_second(device, 2 if quick else 40, 2 if quick else 5, bf16=True, compiled=True)
    emit("objective under torch.compile, bf16", f"{rate:.1f} crops/s", f"not the Trainer, {peak_memory(device)}")


def part_resume(device: torch.device, quick: bool) -> None:
    batch, steps = (2, 2) if quick else (40, 2)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        whole = trainer(experiment_config(quick, batch, 2, "fp32"), root / "whole", batch * steps, device).run()
        trainer(experiment_config(quick, batch, 2, "fp32"), root / "parts", batch * steps, device).run(until_epoch=1)
        resumed = trainer(experiment_config(quick, batch, 2, "fp32"), root / "parts", batch * steps, device).run()
    difference = max(abs(a["loss"] - b["loss"]) for a, b in zip(whole[steps:], resumed, strict=True))
    emit("resume on the device", f"{difference:.2e}", "largest loss difference in epoch 2, resumed against whole")


def _stage5_inputs(root: Path, utterances: int, seconds: float, quick: bool) -> tuple[Path, Path]:
    """A model file in an experiment and a data directory listed as the clean test set."""
    import soundfile

    from diffsv.data.eval_sets import EvalSet, write_eval_sets
    from diffsv.models import DiffSV
    from diffsv.models.model_file import save_model_file

    torch.manual_seed(0)
    config = model_config(quick)
    exp, data = root / "exp", root / "data"
    save_model_file(exp / "final.pt", DiffSV(config).state_dict(), config)
    test = data / "test"
    test.mkdir(parents=True)
    rng = np.random.default_rng(0)
    utts = sorted(f"spk{k % 4}-u{k:03d}" for k in range(utterances))  # spk0-u000, spk0-u004, spk1-u001, ...
    for utt in utts:
        tone = np.sin(2 * np.pi * (120 + 40 * int(utt[3])) * np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE)
        samples = 0.1 * tone + 0.02 * rng.standard_normal(tone.shape[0])
        soundfile.write(test / f"{utt}.wav", samples.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
    (test / "wav.scp").write_text("".join(f"{utt} {test / utt}.wav\n" for utt in utts))
    (test / "utt2spk").write_text("".join(f"{utt} {utt.split('-')[0]}\n" for utt in utts))
    (test / "trials").write_text(f"{utts[0]} {utts[1]} target\n{utts[0]} {utts[2]} nontarget\n")
    write_eval_sets(data, "prepare_data", [EvalSet("clean", test, test / "trials")])
    return exp, data


def stage5(command: list[str]) -> None:
    """Run one stage-5 command; its own error message (its last line) when it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[2:4])}: {(done.stderr.strip().splitlines() or ['?'])[-1]}")


def part_embed(device: torch.device, quick: bool, precision: str) -> None:
    """Stage 5's commands on the device; the rate of its embedder there (in this process, warmed up); and
    the CPU's fp32 embeddings of some of the same inputs against the command's."""
    import kaldiio

    from diffsv.data.kaldi_dir import read_data_dir
    from diffsv.embedding import Embedder
    from diffsv.embedding_segments import SegmentConfig
    from diffsv.models.model_file import load_model_file

    utterances, seconds, segment, compared = (8, 2.0, 16_000, 2) if quick else (32, 12.0, 159_920, 1)
    with tempfile.TemporaryDirectory() as directory:
        exp, data = _stage5_inputs(Path(directory), utterances, seconds, quick)
        command = [sys.executable, "-m", "diffsv.bin.evaluate"]
        plan = ["plan", "--exp", str(exp), "--data", str(data), "--nj", "1", "--segment-samples", str(segment)]
        plan += ["--batch-size", "64", "--precision", precision, "--device", device.type]
        stage5(command + plan)
        stage5([*command, "embed", "--exp", str(exp), "--job", "1", "--device", device.type])
        made = dict(kaldiio.load_scp(str(exp / "embeddings" / "test" / "xvector.1.scp")))
        test = read_data_dir(data / "test")  # the audio read as stage 5 reads it
        audio = [(utt, test.audio_ref(utt).read(SAMPLE_RATE)) for utt in sorted(test.utt2spk)]
        segments = SegmentConfig(4, segment)
        embedder = Embedder(load_model_file(exp / "final.pt"), device, segments, batch_size=64, precision=precision)
        list(embedder.embed(audio[:2]))  # warm-up
        start = time.perf_counter()
        list(embedder.embed(audio))
        synchronize(device)
        rate = utterances / (time.perf_counter() - start)
        cpu = Embedder(load_model_file(exp / "final.pt"), torch.device("cpu"), segments, 8, precision="fp32")
        cosines = []
        for utt, reference in cpu.embed(audio[:compared]):
            got = made[utt]
            cosines += list((got * reference).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(reference, axis=1))
    emit(
        f"stage 5 embedder on {device.type}, {precision}",
        f"{rate:.2f} utt/s",
        f"{utterances} utterances of 4 x {segment / SAMPLE_RATE:.0f} s, batch 64 segments",
        utt_per_s=rate,
    )
    emit(
        f"evaluate embed --device {device.type}, {precision}, against the CPU's fp32",
        f"min cosine {min(cosines):.6f}",
        f"{len(cosines)} segment embeddings of {compared} utterance(s)",
        min_cosine=float(min(cosines)),
    )


def bf16_consumption(results: Path) -> float | None:
    """Crops/s of the bf16 Trainer row, when it ran."""
    rows = [row.get("crops_per_s") for row in json.loads(results.read_text()) if row["what"] == "Trainer, bf16"]
    return rows[0] if rows else None


def part_augment_device(device: torch.device, quick: bool, results: Path) -> None:
    from data_loading import crops_per_second_in_process, dataset, musan_like_pools, voxceleb_like_corpus
    from device_augmentation import arithmetic_rates

    torch.set_num_threads(1)  # the per-crop baseline as one loader worker runs it
    files, count, sizes = (12, 16, (4, 8)) if quick else (200, 320, (32, 160))
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        train, pools = voxceleb_like_corpus(root / "train", files), musan_like_pools(root)
        rates = arithmetic_rates(dataset(train, pools, "device"), count, device, sizes)
        per_core = {mode: crops_per_second_in_process(dataset(train, pools, mode), count)[0] for mode in PER_CORE}
    for size, (rate, megabytes, error) in rates["batched"].items():
        emit(
            f"batched augmentation on {device.type}, batch {size}",
            f"{rate:.0f} crops/s",
            f"{rate / rates['per_crop']:.1f}x one CPU core's per-crop arithmetic ({rates['per_crop']:.0f} crops/s); "
            f"largest relative RMS error {error:.1e}; {megabytes:.0f} MB of draws per batch",
            crops_per_s=rate,
            error=error,
        )
    consumed = bf16_consumption(results)
    for mode, rate in per_core.items():
        needed = (
            f"{math.ceil(consumed / rate)} cores feed the bf16 Trainer row's {consumed:.0f} crops/s" if consumed else ""
        )
        emit(f"one loader process, {PER_CORE[mode]}", f"{rate:.0f} crops/s", needed, crops_per_s=rate)


PER_CORE = {"loader": "augmentation in it (augment_on: loader)", "device": "draws and reads only (augment_on: device)"}


def part_loader(device: torch.device, quick: bool, workers: int, results: Path, augment_on: str) -> None:
    from data_loading import dataset, loader_rate, musan_like_pools, voxceleb_like_corpus

    batch, files, per_worker = (4, 12, 3) if quick else (40, 300, 8)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        crops = dataset(voxceleb_like_corpus(root / "train", files), musan_like_pools(root), augment_on)
        _, rate, timed = loader_rate(crops, workers, batch, per_worker)
    consumed = bf16_consumption(results)
    note = f"{timed} batches of {batch} timed"
    if consumed:
        note += f"; the bf16 Trainer row consumes {consumed:.0f} crops/s"
    emit(
        f"data loader, {workers} worker{'s' * (workers != 1)}, augment_on: {augment_on}",
        f"{rate:.1f} crops/s",
        note,
        crops_per_s=rate,
    )


def _ddp_process(rank: int, port: int, device: str, quick: bool, batch: int, out: str) -> None:
    import torch.distributed as dist

    from diffsv.training.trainer import ProcessContext

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    target = torch.device(device)
    context = ProcessContext(rank=rank, world_size=2, device=target)
    config = experiment_config(quick, batch, 1, "fp32", dropout=False)
    run = trainer(config, Path(out) / "two", batch * 3, target, context)
    starts: list[float] = []

    def stamp(*_: object) -> None:
        synchronize(target)
        starts.append(time.perf_counter())

    run.objective.register_forward_pre_hook(stamp)
    records = run.run()
    if rank == 0:
        (Path(out) / "two.json").write_text(json.dumps({"losses": [r["loss"] for r in records], "starts": starts}))
    dist.destroy_process_group()


def part_ddp(device: torch.device, quick: bool) -> None:
    """The Trainer in two processes on this one device (gloo), against the one process that computes the same
    steps (diffsv/training/sampler.py): on a GPU (SyncBatchNorm) one given each whole batch, on the CPU one
    accumulating two micro-batches."""
    import torch.multiprocessing as mp

    batch = 4 if quick else 40
    with tempfile.TemporaryDirectory() as directory:
        target = "cuda:0" if device.type == "cuda" else "cpu"  # both processes on the one device
        mp.spawn(_ddp_process, args=(29533, target, quick, batch, directory), nprocs=2, join=True)
        two = json.loads((Path(directory) / "two.json").read_text())
        config = experiment_config(quick, batch, 1, "fp32", dropout=False)
        config.training.grad_accumulation = 1 if device.type == "cuda" else 2
        one = trainer(config, Path(directory) / "one", batch * 3, device).run()
    rate = batch / float(np.mean(np.diff(two["starts"][1:])))
    emit("Trainer, 2 processes sharing one device (gloo)", f"{rate:.1f} crops/s", f"global batch {batch}")
    difference = max(abs(a - b["loss"]) for a, b in zip(two["losses"], one, strict=True))
    same = (
        "whole batch (SyncBatchNorm)"
        if device.type == "cuda"
        else "2 micro-batches accumulated (batch norm per process)"
    )
    emit(
        "2 processes against 1 process",
        f"{difference:.2e}",
        f"largest loss difference over 3 steps, no dropout; 1 process: {same}",
    )


def run_part(name: str, device: torch.device, quick: bool, results: Path) -> None:
    if name == "environment":
        part_environment(device, quick)
    elif name == "train-compiled":
        part_train_compiled(device, quick)
    elif name.startswith("train-"):
        part_train(device, quick, name.removeprefix("train-"))
    elif name == "resume":
        part_resume(device, quick)
    elif name.startswith("embed-"):
        part_embed(device, quick, name.removeprefix("embed-"))
    elif name == "augment-device":
        part_augment_device(device, quick, results)
    elif name.startswith("loader-device-"):
        part_loader(device, quick, int(name.removeprefix("loader-device-")), results, "device")
    elif name.startswith("loader-"):
        part_loader(device, quick, int(name.removeprefix("loader-")), results, "loader")
    else:
        part_ddp(device, quick)


class Report:
    """The rows so far, in ``out/gpu_check.txt`` (appended) and ``out/gpu_check.json`` (replaced atomically)."""

    def __init__(self, out: Path, header: str) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.text, self.json = out / "gpu_check.txt", out / "gpu_check.json"
        self.rows: list[dict[str, Any]] = []
        self._write_json()
        with open(self.text, "w", encoding="utf-8") as handle:
            handle.write(f"{header}\n| part | measurement | value | note | s |\n|---|---|---|---|---|\n")

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        line = f"| {row['part']} | {row['what']} | {row['value']} | {row['note']} | {row['seconds']:.0f} |"
        print(line, flush=True)
        with open(self.text, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        self._write_json()

    def _write_json(self) -> None:
        partial = self.json.with_name(f".{self.json.name}.tmp")
        partial.write_text(json.dumps(self.rows, indent=1) + "\n", encoding="utf-8")
        partial.replace(self.json)


def run_parts(args: argparse.Namespace, report: Report) -> bool:
    """Each part in a process of its own, time-boxed; True when every one succeeded."""
    deadline = time.monotonic() + args.budget
    ok = True
    for name, box in PARTS.items():
        if args.quick and name == "train-compiled":
            report.add({"part": name, "what": "-", "value": "skipped", "note": "--quick", "seconds": 0.0})
            continue
        left = deadline - time.monotonic()
        if left < 5:
            report.add({"part": name, "what": "-", "value": "skipped", "note": "the budget is spent", "seconds": 0.0})
            ok = False
            continue
        limit = min(max(box * args.box_scale, 5.0), left)
        command = [sys.executable, __file__, "--part", name, "--device", args.device, "--results", str(report.json)]
        start = time.monotonic()
        rows, status, tail = run_time_boxed(command + ["--quick"] * args.quick, limit)
        seconds = time.monotonic() - start
        for row in rows:
            report.add({"part": name, **row, "seconds": seconds})
        if status != "ok" or not rows:
            ok = False
            report.add({"part": name, "what": "-", "value": status, "note": tail, "seconds": seconds})
    return ok


def run_time_boxed(command: list[str], limit: float) -> tuple[list[dict[str, Any]], str, str]:
    """The rows a part printed, ``ok``/``failed (code N)``/``timed out after S s``, and its last error line."""
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, start_new_session=True)
        rows: list[dict[str, Any]] = []
        with watchdog(process, limit):
            for line in process.stdout:
                if line.startswith("ROW "):
                    rows.append(json.loads(line[4:]))
        code = process.wait()
        errors.seek(0)
        lines = [line.strip() for line in errors.read().splitlines() if line.strip()]
    tail = (lines[-1] if lines else "")[:160].replace("|", "/")
    if code == -signal.SIGKILL and getattr(process, "timed_out", False):
        return rows, f"timed out after {limit:.0f} s", tail
    return rows, "ok" if code == 0 else f"failed (code {code})", tail


@contextlib.contextmanager
def watchdog(process: subprocess.Popen, limit: float) -> Iterator[None]:
    """Kill ``process``'s group (a part and what it spawned) when ``limit`` seconds pass."""
    import threading

    def expire() -> None:
        process.timed_out = True  # type: ignore[attr-defined]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(limit, expire)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, no torch.compile: a rehearsal on a CPU")
    parser.add_argument("--out", type=Path, default=Path("bench/out/gpu_check"), help="where the rows are written")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds for all parts together")
    parser.add_argument("--box-scale", type=float, default=1.0, help="multiplies each part's time box (a slow CPU)")
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)  # one part, in its own process
    parser.add_argument("--results", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.part:
        run_part(args.part, device, args.quick, args.results)
        return 0
    if device.type == "cuda" and not torch.cuda.is_available():
        report = Report(args.out, f"gpu_check, torch {torch.__version__}")
        report.add({"part": "environment", "what": "CUDA", "value": "none", "note": "nothing checked", "seconds": 0.0})
        print("gpu_check: --device cuda, but torch sees no CUDA device: nothing checked", file=sys.stderr)
        return 3
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    report = Report(args.out, f"gpu_check on {name}, torch {torch.__version__}{', --quick' * args.quick}")
    ok = run_parts(args, report)
    print(f"gpu_check: rows in {report.text} and {report.json}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

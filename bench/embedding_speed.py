"""Time and peak memory of embedding one test utterance under the reference protocol (4 x 159,920 samples).

The first row is the baseline measured in the same run: the paper's 10 Euler steps with the score
network's linear attention in its direct q/k/v form, as the authors' code computes it. Then our model
with each sampler of ``--samplers``. Each row gives the time per utterance, the real-time factor, the
share spent in the sampler, the speed-up against the authors' figure on these 2-core machines (21.8 s
per utterance, 17.7 s of it sampling) and against the first row, and the process's peak resident memory.

    tools/venv/bin/python bench/embedding_speed.py [--repeats 3] [--samplers euler:10,dpm_solver:3] [--threads N]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from diffsv.models import DiffSV
from diffsv.models.samplers import score_evaluations
from diffsv.models.score_network import RezeroLinearAttention

SEGMENTS, SEGMENT_SAMPLES, SAMPLE_RATE = 4, 159_920, 16_000
REFERENCE_SECONDS = 21.8


class DirectLinearAttention(nn.Module):
    """The linear attention as the reference computes it: q, k, v and the output all materialised."""

    def __init__(self, layer: RezeroLinearAttention) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        qkv = self.layer.to_qkv(x).view(batch, 3, self.layer.heads, -1, height * width)
        q, k, v = qkv.unbind(1)
        context = torch.einsum("bhdn,bhen->bhde", k.softmax(dim=-1), v)
        out = torch.einsum("bhde,bhdn->bhen", context, q).reshape(batch, -1, height, width)
        return x + self.layer.to_out(out) * self.layer.gain


def with_direct_attention(model: DiffSV) -> DiffSV:
    baseline = copy.deepcopy(model)
    for module in list(baseline.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, RezeroLinearAttention):
                setattr(module, name, DirectLinearAttention(child))
    return baseline


def time_embedding(model: DiffSV, wav: torch.Tensor, noise: torch.Tensor) -> tuple[float, float, torch.Tensor]:
    """Seconds for the whole embedding and for the sampler alone (the model's configured one); the embedding."""
    with torch.inference_mode():
        start = time.perf_counter()
        fbank = model.frontend(wav)
        x_hat = model.enhancer(fbank)
        sample_start = time.perf_counter()
        z0_hat = model.diffusion.sample(x_hat, noise)
        sample_seconds = time.perf_counter() - sample_start
        embedding = model.extractor(fbank, x_hat, z0_hat)
        return time.perf_counter() - start, sample_seconds, embedding


def resident_mib() -> float:
    """This process's resident memory now (VmRSS), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(attention: str, sampler: str, steps: int, repeats: int) -> dict:
    """One variant, in a process of its own so that its peak memory is its own."""
    torch.manual_seed(0)
    model = DiffSV().eval()
    with torch.no_grad():  # trained models have non-zero attention gains; give the benchmark the same work
        for module in model.modules():
            if isinstance(module, RezeroLinearAttention):
                module.gain.fill_(0.1)
    if attention == "direct":
        model = with_direct_attention(model)
    model.use_sampler(sampler, steps)
    wav = torch.randn(SEGMENTS, SEGMENT_SAMPLES) * 0.1
    noise = torch.randn(SEGMENTS, model.config.frontend.n_mels, model.frontend.num_frames(SEGMENT_SAMPLES))
    loaded = resident_mib()
    time_embedding(model, wav, noise)  # warm-up
    runs = [time_embedding(model, wav, noise) for _ in range(repeats)]
    return {
        "seconds": statistics.median(r[0] for r in runs),
        "sampling": statistics.median(r[1] for r in runs),
        "loaded_mib": loaded,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "embedding": runs[-1][2].tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samplers", default="euler:10,euler:3,heun:1,dpm_solver:2,dpm_solver:3")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--child", nargs=3, metavar=("ATTENTION", "SAMPLER", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        attention, sampler, steps = args.child
        print(json.dumps(measure(attention, sampler, int(steps), args.repeats)))
        return
    variants = [("direct", "euler", 10)]
    for item in args.samplers.split(","):
        sampler, _, steps = item.partition(":")
        variants.append(("ours", sampler, int(steps)))
    audio_seconds = SEGMENTS * SEGMENT_SAMPLES / SAMPLE_RATE
    print(
        f"embedding one utterance with the paper's model: {SEGMENTS} x {SEGMENT_SAMPLES} samples, "
        f"{args.threads} threads, median of {args.repeats}; each variant in its own process"
    )
    header = ("path", "sampler", "evaluations", "s / utt", "RTF", "sampler share", "vs authors' 21.8 s")
    print("| " + " | ".join((*header, "vs first row", "peak RSS MiB (+ over loaded)")) + " |")
    print("|---" * (len(header) + 2) + "|")
    first, reference_difference = None, float("nan")
    for attention, sampler, steps in variants:
        command = [sys.executable, __file__, "--child", attention, sampler, str(steps)]
        command += ["--repeats", str(args.repeats), "--threads", str(args.threads)]
        result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        first = first or result
        label = "direct q/k/v attention (authors' form)" if attention == "direct" else "diffsv"
        print(
            f"| {label} | {sampler} | {score_evaluations(sampler, steps)} | {result['seconds']:.2f} "
            f"| {result['seconds'] / audio_seconds:.3f} | {100 * result['sampling'] / result['seconds']:.0f}% "
            f"| {REFERENCE_SECONDS / result['seconds']:.2f}x | {first['seconds'] / result['seconds']:.2f}x "
            f"| {result['peak_mib']:.0f} (+{result['peak_mib'] - result['loaded_mib']:.0f}) |",
            flush=True,
        )
        if attention == "ours" and (sampler, steps) == ("euler", 10):
            base, ours = torch.tensor(first["embedding"]), torch.tensor(result["embedding"])
            reference_difference = float((ours - base).abs().max() / base.abs().max())
    print(f"largest embedding difference of diffsv euler:10 from the first row, relative: {reference_difference:.1e}")


if __name__ == "__main__":
    main()

"""Time embedding one test utterance under the reference protocol (4 segments of 159,920 samples).

Prints, for our model and for a baseline measured in the same run (the score network's linear attention
in its direct q/k/v form, as the authors' code computes it), the time per utterance, the real-time factor
and the share spent in the score-network evaluations, plus the largest difference between the two
embeddings. The authors' code took 21.8 s per utterance (17.7 s sampling) on these 2-core machines.

    tools/venv/bin/python bench/embedding_speed.py [--repeats 3] [--steps 10] [--threads N]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch import nn

from diffsv.models import DiffSV
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


def time_embedding(
    model: DiffSV, wav: torch.Tensor, noise: torch.Tensor, steps: int
) -> tuple[float, float, torch.Tensor]:
    """Seconds for the whole embedding and for the sampler alone; and the embedding."""
    with torch.inference_mode():
        start = time.perf_counter()
        fbank = model.frontend(wav)
        x_hat = model.enhancer(fbank)
        sample_start = time.perf_counter()
        z0_hat = model.diffusion.sample(x_hat, noise, steps)
        sample_seconds = time.perf_counter() - sample_start
        embedding = model.extractor(fbank, x_hat, z0_hat)
        return time.perf_counter() - start, sample_seconds, embedding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = DiffSV().eval()
    with torch.no_grad():  # trained models have non-zero attention gains; give the benchmark the same work
        for module in model.modules():
            if isinstance(module, RezeroLinearAttention):
                module.gain.fill_(0.1)
    wav = torch.randn(SEGMENTS, SEGMENT_SAMPLES) * 0.1
    frames = model.frontend.num_frames(SEGMENT_SAMPLES)
    noise = torch.randn(SEGMENTS, model.config.frontend.n_mels, frames)
    audio_seconds = SEGMENTS * SEGMENT_SAMPLES / SAMPLE_RATE
    variants = {"direct attention (baseline)": with_direct_attention(model), "diffsv": model}

    print(
        f"embedding one utterance: {SEGMENTS} x {SEGMENT_SAMPLES} samples, {args.steps} sampler steps, "
        f"{args.threads} threads, median of {args.repeats}"
    )
    results = {}
    for name, variant in variants.items():
        time_embedding(variant, wav, noise, args.steps)  # warm-up
        runs = [time_embedding(variant, wav, noise, args.steps) for _ in range(args.repeats)]
        total = statistics.median(r[0] for r in runs)
        sampling = statistics.median(r[1] for r in runs)
        results[name] = (total, runs[-1][2])
        print(
            f"  {name:28s} {total:6.2f} s/utt  RTF {total / audio_seconds:.3f}  "
            f"score network {100 * sampling / total:4.1f}%  vs authors' {REFERENCE_SECONDS} s: "
            f"{REFERENCE_SECONDS / total:.2f}x"
        )
    (base_time, base_emb), (our_time, our_emb) = results.values()
    difference = float((our_emb - base_emb).abs().max() / base_emb.abs().max())
    print(
        f"  speed-up over the baseline in this run: {base_time / our_time:.2f}x; "
        f"max |embedding difference| / max |embedding| = {difference:.2e}"
    )


if __name__ == "__main__":
    main()

"""EER and embedding time of each reverse-diffusion sampler on a trained experiment, in one run.

    tools/venv/bin/python bench/sampler_eer.py --exp egs/mini_diffsv/exp/diffsv --data egs/mini_diffsv/data \
        [--samplers euler:10,euler:3,heun:1,dpm_solver:2,dpm_solver:3] [--conditions clean,noise_5,...] \
        [--segments 1 --segment-samples 48000] [--threads 2]

The first sampler named is the yardstick (by default the paper's: 10 Euler steps); each row gives its
EER on the clean test set and averaged over the noisy conditions, their relative change against the
yardstick, and the embedding time per test utterance. Embeddings are computed as stage 5 computes them
(segments, per-utterance seeded starting noise) and scored as it scores them (mean segment cosine).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from diffsv.data.kaldi_dir import read_data_dir, read_trials
from diffsv.embedding import Embedder
from diffsv.embedding_segments import SegmentConfig
from diffsv.metrics import eer
from diffsv.models.model_file import load_model_file
from diffsv.models.samplers import score_evaluations
from diffsv.scoring import embedding_table, score_trials

NOISY = ",".join(f"{noise}_{snr}" for noise in ("babble", "music", "noise", "nonspeech") for snr in (0, 5, 10, 15, 20))


def parse_samplers(text: str) -> list[tuple[str, int]]:
    pairs = []
    for item in text.split(","):
        name, _, steps = item.partition(":")
        pairs.append((name, int(steps)))
    return pairs


def evaluate(
    model: torch.nn.Module, data: Path, conditions: list[str], segments: SegmentConfig, audio: dict
) -> tuple[dict[str, float], float]:
    """EER of every condition with the model's current sampler, and seconds of embedding per utterance."""
    embedder = Embedder(model, torch.device("cpu"), segments, batch_size=8)
    results, seconds, count = {}, 0.0, 0
    for condition in conditions:
        directory = data / ("test" if condition == "clean" else f"test_{condition}")
        start = time.perf_counter()
        embeddings = dict(embedder.embed(audio[condition].items()))
        seconds += time.perf_counter() - start
        count += len(embeddings)
        trials = read_trials(directory / "trials")
        scores = score_trials(trials, embedding_table(embeddings, str(directory)))
        results[condition] = eer(scores, trials.labels)
    return results, seconds / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp", type=Path, required=True, help="experiment directory with final.pt")
    parser.add_argument("--data", type=Path, required=True, help="the recipe's data directory (test, test_*)")
    parser.add_argument("--samplers", default="euler:10,euler:2,euler:3,heun:1,dpm_solver:1,dpm_solver:2,dpm_solver:3")
    parser.add_argument("--conditions", default=f"clean,{NOISY}", help="clean and the noisy conditions averaged")
    parser.add_argument("--segments", type=int, default=1)
    parser.add_argument("--segment-samples", type=int, default=48_000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model_file(args.exp / "final.pt").eval()
    conditions = args.conditions.split(",")
    noisy = [c for c in conditions if c != "clean"]
    segments = SegmentConfig(args.segments, args.segment_samples)
    rate = model.config.frontend.sample_rate
    audio = {}
    for condition in conditions:
        data = read_data_dir(args.data / ("test" if condition == "clean" else f"test_{condition}"))
        audio[condition] = {utt: data.audio_ref(utt).read(rate) for utt in data.utt2spk}
    utterances = sum(len(a) for a in audio.values())
    print(
        f"samplers on {args.exp}: {len(conditions)} conditions, {utterances} utterances, "
        f"{segments.segments} x {segments.segment_samples} samples each, {args.threads} threads"
    )
    print(
        "| sampler | steps | score evaluations | EER clean % | EER noisy avg % | vs yardstick (clean / noisy) | s/utt |"
    )
    print("|---|---|---|---|---|---|---|")
    yardstick = None
    for name, steps in parse_samplers(args.samplers):
        model.use_sampler(name, steps)
        results, per_utt = evaluate(model, args.data, conditions, segments, audio)
        clean = results.get("clean", float("nan"))
        noisy_avg = statistics.mean(results[c] for c in noisy) if noisy else float("nan")
        yardstick = yardstick or (clean, noisy_avg, per_utt)
        change = f"{100 * (clean / yardstick[0] - 1):+.1f}% / {100 * (noisy_avg / yardstick[1] - 1):+.1f}%"
        print(
            f"| {name} | {steps} | {score_evaluations(name, steps)} | {100 * clean:.2f} | {100 * noisy_avg:.2f} "
            f"| {change} | {per_utt:.4f} ({yardstick[2] / per_utt:.2f}x) |",
            flush=True,
        )


if __name__ == "__main__":
    main()

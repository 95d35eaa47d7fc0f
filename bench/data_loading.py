"""Data-loader rate: training crops per second per worker process on VoxCeleb1-like utterance lengths,
reading whole recordings (the baseline: a data directory without ``utt2num_samples``) against reading only
each crop's window (with it); and with the augmentation in the loader (``data.augment_on: loader``, the
baseline) against only its draws and reads there (``device``: the arithmetic is the training device's), in
one run; then what one GPU consumes and how many worker processes (CPU cores) it needs in each mode.

    tools/venv/bin/python bench/data_loading.py [--files 300] [--crops 400] [--workers 1 2]

The corpus is made here: utterances log-normal in length (median 6.5 s, 4-145 s, mean about 8 s, as
VoxCeleb1), MUSAN in its published layout (music 3 min, speech 5 min, noise 15 s per file, cut into the
recipe's 5 s windows by stage 1's own code) and 1 s RIRs. Every crop of the two reading paths is checked
equal, and the device mode's draws, augmented in batches here, are checked against the loader's noisy crops.

What a GPU consumes is projected, not measured, until ``bench/gpu_check.sh`` has run on one: the floating-
point work of one training crop is divided into a device's published throughput (``bench/cost_model.py``).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch
from cost_model import DEVICES, UTILISATIONS, projected_rate, training_flops_per_crop
from torch.utils.data import DataLoader
from training_speed import CROP

from diffsv.data.augment import AugmentationConfig, Augmenter, NoisePools
from diffsv.data.corpora.musan import scan_musan
from diffsv.data.kaldi_dir import DataDir
from diffsv.data.noise_mixing import NoisePool
from diffsv.data.speaker_crops import SpeakerCrops
from diffsv.models import ModelConfig
from diffsv.training.sampler import EpochBatchSampler
from diffsv.training.trainer import collate

SAMPLE_RATE = 16_000
PAPER_BATCH = 160


def write_noise(path: Path, seconds: float, rng: np.random.Generator) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = (0.05 * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)
    soundfile.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
    return samples.shape[0]


def voxceleb_like_corpus(directory: Path, files: int, seed: int = 0) -> DataDir:
    """``files`` recordings with VoxCeleb1-like lengths: log-normal, median 6.5 s, clipped to 4-145 s."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(6.5), 0.55, files), 4.0, 145.0)
    wav_scp, utt2spk, num_samples = {}, {}, {}
    for k, seconds in enumerate(lengths):
        utt, spk = f"spk{k % 20:02d}-{k:05d}", f"spk{k % 20:02d}"
        wav_scp[utt] = str(directory / f"{utt}.wav")
        num_samples[utt] = write_noise(directory / f"{utt}.wav", seconds, rng)
        utt2spk[utt] = spk
    return DataDir(wav_scp=wav_scp, utt2spk=utt2spk, utt2num_samples=num_samples)


def musan_like_pools(directory: Path, seed: int = 1) -> dict[str, DataDir]:
    """MUSAN's train pools (noise, babble from speech, music) as stage 1 makes them, and a pool of RIRs."""
    rng = np.random.default_rng(seed)
    for category, subset, seconds in (("music", "fma", 180.0), ("speech", "librivox", 300.0), ("noise", "sound", 15)):
        for k in range(8):  # even numbers: the train split
            write_noise(directory / "musan" / category / subset / f"{category}-{subset}-{k:04d}.wav", seconds, rng)
    musan = scan_musan(directory / "musan").prepare()
    rirs = {f"rir{k}": str(directory / "rirs" / f"rir{k}.wav") for k in range(20)}
    for path in rirs.values():
        write_noise(Path(path), 1.0, rng)
    return {
        "noise": musan["musan_noise_train"],
        "babble": musan["musan_speech_train"],
        "music": musan["musan_music_train"],
        "reverb": DataDir(wav_scp=rirs, utt2spk={k: k for k in rirs}),
    }


def without_lengths(data: DataDir) -> DataDir:
    """The same directory as one without ``utt2num_samples``: every read takes the whole recording (segment)."""
    return DataDir(wav_scp=data.wav_scp, utt2spk=data.utt2spk, segments=data.segments)


def dataset(train: DataDir, pools: dict[str, DataDir], augment_on: str | None) -> SpeakerCrops:
    """Crops with the augmentation made in the loader or on the device, or with none (None)."""
    config = ModelConfig()
    noise_pools = NoisePools(**{name: NoisePool(data, name, SAMPLE_RATE) for name, data in pools.items()})
    augmenter = Augmenter(AugmentationConfig(), noise_pools, SAMPLE_RATE) if augment_on else None
    labels = {spk: i for i, spk in enumerate(sorted(set(train.utt2spk.values())))}
    utts = sorted(train.utt2spk)
    return SpeakerCrops(
        train, utts, labels, CROP, config.frontend, augmenter, 0, config.diffusion.t_epsilon, augment_on or "loader"
    )


def crops_per_second_in_process(crops: SpeakerCrops, count: int) -> tuple[float, list[dict]]:
    """Crops/s of one process making items 0..count-1 of epoch 0 (what each worker process does)."""
    crops[(0, 0)]  # warm-up: imports, FFT plans
    start = time.perf_counter()
    made = [crops[(0, index % len(crops))] for index in range(count)]
    return count / (time.perf_counter() - start), made


def largest_device_error(device_items: list[dict], loader_items: list[dict], batch: int = 40) -> float:
    """The largest relative RMS error of a device-augmented crop against the loader's, in batches."""
    worst = 0.0
    for start in range(0, len(device_items), batch):
        noisy = collate(device_items[start : start + batch]).augmented().noisy.double()
        expected = torch.stack([item["noisy"] for item in loader_items[start : start + batch]]).double()
        error = (noisy - expected).square().mean(-1).sqrt() / expected.square().mean(-1).sqrt()
        worst = max(worst, float(error.max()))
    return worst


def loader_rate(crops: SpeakerCrops, workers: int, batch: int, per_worker: int) -> tuple[float, float, int]:
    """(seconds to the first batch, crops/s, batches timed) of a DataLoader with ``workers`` processes making
    ``per_worker`` batches each after its first, over as many epochs as that takes; each worker's first
    batch includes its start-up and is not timed."""
    batch = min(batch, len(crops))
    sampler = EpochBatchSampler(len(crops), batch, 0)
    warm = max(workers, 1)
    needed = warm * (per_worker + 1)
    batches: list[list[tuple[int, int]]] = []
    for epoch in range(-(-needed // sampler.steps_per_epoch)):
        sampler.set_epoch(epoch)
        batches += list(sampler)
    loader = DataLoader(crops, batch_sampler=batches[:needed], num_workers=workers, collate_fn=collate)
    start = time.perf_counter()
    stamps = [time.perf_counter() for _ in loader]
    timed = len(stamps) - warm
    return stamps[0] - start, batch * timed / (stamps[-1] - stamps[warm - 1]), timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=300, help="utterances in the made corpus")
    parser.add_argument("--crops", type=int, default=400, help="crops timed per path in one process")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="DataLoader worker counts to time")
    parser.add_argument("--batches-per-worker", type=int, default=15, help="batches of 40 timed per loader worker")
    args = parser.parse_args()
    torch.set_num_threads(1)  # a loader worker is one thread of work; the FLOP count does not depend on it
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        train = voxceleb_like_corpus(directory / "train", args.files)
        pools = musan_like_pools(directory)
        seconds = np.array(list(train.utt2num_samples.values())) / SAMPLE_RATE
        print(
            f"corpus: {args.files} utterances, {seconds.min():.1f}-{seconds.max():.1f} s, mean {seconds.mean():.1f} s; "
            f"MUSAN-like train pools: {', '.join(f'{n} {len(d.utt2spk)} windows' for n, d in pools.items())}"
        )
        rows = []
        for what, augment_on in (("reading only", None), ("full augmentation in the loader", "loader")):
            whole_rate, whole = crops_per_second_in_process(
                dataset(without_lengths(train), {n: without_lengths(d) for n, d in pools.items()}, augment_on),
                args.crops,
            )
            window_rate, window = crops_per_second_in_process(dataset(train, pools, augment_on), args.crops)
            same = all(torch.equal(a["noisy"], b["noisy"]) for a, b in zip(whole, window, strict=True))
            rows.append((what, whole_rate, window_rate, same))
        print("\n| crops per second, one process | whole recordings (baseline) | crop windows | ratio | same crops |")
        print("|---|---|---|---|---|")
        for what, whole_rate, window_rate, same in rows:
            print(f"| {what} | {whole_rate:.1f} | {window_rate:.1f} | {window_rate / whole_rate:.2f}x | {same} |")
        loader_per_worker = rows[-1][2]
        device_per_worker, drawn = crops_per_second_in_process(dataset(train, pools, "device"), args.crops)
        error = largest_device_error(drawn, window)
        print(
            "\n| crop windows, one process | crops/s | against the loader's augmentation | largest relative RMS error "
            "of the device's noisy crops |\n|---|---|---|---|"
        )
        print(f"| augmentation in the loader (augment_on: loader, baseline) | {loader_per_worker:.1f} | 1.00x | - |")
        print(
            f"| draws and reads only (augment_on: device) | {device_per_worker:.1f} | "
            f"{device_per_worker / loader_per_worker:.1f}x | {error:.1e} |"
        )
        if args.workers:
            print(
                "\n| DataLoader, crop windows, batches of 40 | workers | s to the first batch | batches timed after "
                "each worker's first | crops/s | per worker |\n|---|---|---|---|---|---|"
            )
            for augment_on in ("loader", "device"):
                crops = dataset(train, pools, augment_on)
                for workers in args.workers:
                    start_up, rate, timed = loader_rate(crops, workers, 40, args.batches_per_worker)
                    print(
                        f"| augment_on: {augment_on} | {workers} | {start_up:.2f} | {timed} | {rate:.1f} | "
                        f"{rate / workers:.1f} |"
                    )
    flops = training_flops_per_crop()
    print(f"\ntraining FLOPs per crop of the paper's model (forward + backward, counted): {flops / 1e9:.1f} GFLOP")
    print(
        f"\n| device (published dense bf16) | utilisation | projected crops/s | s per batch of {PAPER_BATCH} | "
        f"loader processes needed, augment_on: loader ({loader_per_worker:.1f} crops/s each) | "
        f"augment_on: device ({device_per_worker:.1f} crops/s each) |\n|---|---|---|---|---|---|"
    )
    for device, tflops in DEVICES.items():
        for share in UTILISATIONS:
            consumed = projected_rate(flops, tflops, share)
            print(
                f"| {device} ({tflops:.0f} TFLOP/s) | {share:.0%} | {consumed:.0f} | {PAPER_BATCH / consumed:.3f} | "
                f"{math.ceil(consumed / loader_per_worker)} | {math.ceil(consumed / device_per_worker)} |"
            )


if __name__ == "__main__":
    main()

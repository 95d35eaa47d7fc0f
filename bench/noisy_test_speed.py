"""Stage 2 throughput: noisy test copies per second for one job, FLAC output, on 8 s utterances.

Pools in MUSAN's shape (20 s recordings cut into 5 s windows through a ``segments`` file). Measured in
the same run:
- ours: diffsv.data.noisy_sets.mix_utterances (speech read once per utterance, 5 s windows read by seeking);
- baseline: the authors' serial style -- for every (utterance, condition) re-read the speech, read each
  chosen noise recording whole, wrap-pad and crop, mix, and write the file.
The issue quotes the authors' mixing at about 220/s (one noise file) and 117/s (babble) per core.

    tools/venv/bin/python bench/noisy_test_speed.py [--utterances 40] [--audio-format flac]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

from diffsv.data.kaldi_dir import DataDir, Segment
from diffsv.data.noise_mixing import NoisePool, fit_to_length, scaled_noise
from diffsv.data.noisy_sets import NoiseCondition, condition_rng, mix_utterances

SR = 16_000
AUTHORS_PER_SECOND = {"noise": 220.0, "babble": 117.0}


def write(path: Path, seconds: float, seed: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))
    soundfile.write(str(path), samples.astype(np.float32), SR, subtype="PCM_16")
    return str(path)


def musan_like_pool(root: Path, name: str, recordings: int) -> tuple[NoisePool, list[str]]:
    wav_scp, segments = {}, {}
    for r in range(recordings):
        reco = f"{name}-{r:04d}"
        wav_scp[reco] = write(root / name / f"{reco}.wav", 20.0, seed=1000 + r)
        for start in range(0, 16, 3):
            segments[f"{reco}-{start:03d}"] = Segment(reco, float(start), float(start + 5))
    data = DataDir(wav_scp=wav_scp, utt2spk={u: u for u in segments}, segments=segments)
    return NoisePool(data, name, SR), list(wav_scp.values())


def baseline(test: DataDir, utts: list[str], files: list[str], count: tuple[int, int], out: Path, fmt: str) -> int:
    written = 0
    for utt in utts:
        for snr in (0, 5, 10, 15, 20):
            rng = condition_rng(3, "baseline", snr, utt)
            speech, _ = soundfile.read(test.wav_scp[utt], dtype="float32")
            chosen = rng.choice(len(files), size=int(rng.integers(count[0], count[1] + 1)), replace=False)
            noises = [fit_to_length(soundfile.read(files[i], dtype="float32")[0], speech.shape[0], rng) for i in chosen]
            noisy = speech + scaled_noise(speech, noises, float(snr))
            soundfile.write(str(out / f"{utt}-{snr}.{fmt}"), noisy, SR, subtype="PCM_16")
            written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=40)
    parser.add_argument("--audio-format", choices=("flac", "wav"), default="flac")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        wavs = {f"spk-{i:04d}": write(root / "test" / f"{i}.wav", 8.0, seed=i) for i in range(args.utterances)}
        test = DataDir(wav_scp=wavs, utt2spk={u: "spk" for u in wavs})
        utts = list(wavs)
        noise, noise_files = musan_like_pool(root, "noise", 30)
        babble, babble_files = musan_like_pool(root, "speech", 30)
        print(f"stage 2, one job, {args.utterances} utterances of 8 s x 5 SNRs, {args.audio_format} output")
        for name, pool, files, count in (
            ("noise", noise, noise_files, (1, 1)),
            ("babble", babble, babble_files, (3, 6)),
        ):
            start = time.perf_counter()
            done, _ = mix_utterances(
                test,
                utts,
                [NoiseCondition(name, pool, count)],
                [0, 5, 10, 15, 20],
                root / "ours",
                3,
                SR,
                args.audio_format,
            )
            ours = done / (time.perf_counter() - start)
            (root / "base" / name).mkdir(parents=True)
            start = time.perf_counter()
            done = baseline(test, utts, files, count, root / "base" / name, args.audio_format)
            base = done / (time.perf_counter() - start)
            print(
                f"  {name:7s} ours {ours:7.1f}/s   baseline (authors' serial style) {base:7.1f}/s   "
                f"ratio {ours / base:4.2f}x   authors' figure {AUTHORS_PER_SECOND[name]:.0f}/s"
            )


if __name__ == "__main__":
    main()

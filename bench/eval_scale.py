"""Stage 2's and stage 5's planning and bookkeeping at VoxCeleb1-E's size (145,375 utterances; 579,818 -E and
550,894 -H trials), on the data directories bench/stage1_scale.py wrote from a made tree.

What is timed is everything of the two stages but the audio work itself (mixing noise; running the model):

- stage 2, as if the noisy copies were of the -E set: one mixing job's start and resume scan over its
  share (an eighth) with every file already there (what a re-run does), then ``data-dirs``, which writes
  the 20 noisy data directories with their trials;
- stage 5, on the -O set and the -E/-H directory: ``evaluate plan`` (which sets to embed, in 8 jobs), then,
  with the 8 jobs' shares written as embedding jobs write them (random 4 x 128 segment embeddings), ``evaluate
  finish``: merging the shares, cosine scoring of every trial, EER/minDCF, RESULTS.md and figures.

Each step runs as its own process; its wall time and peak resident memory are printed. The noisy files
are empty (only their presence is looked at); the model file is the paper's Diff-SV, untrained.

    tools/venv/bin/python bench/stage1_scale.py --root /tmp/voxceleb_scale
    tools/venv/bin/python bench/eval_scale.py --root /tmp/voxceleb_scale
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import soundfile
from stage1_scale import measured

from diffsv.data.audio_info import SAMPLE_RATE
from diffsv.data.kaldi_dir import DataDir, read_utt2spk
from diffsv.embedding_store import write_embeddings
from diffsv.evaluation.embedding_jobs import share
from diffsv.models import DiffSV, ModelConfig
from diffsv.models.model_file import save_model_file
from diffsv.protocol import NOISE_TYPES, SNRS, TEST_NOISES

JOBS = 8
SEGMENTS, DIM = 4, 128


def stage2_rows(data: Path, work: Path) -> list[tuple[str, float, float]]:
    """Stage 2 with the -E directory as its test set, under ``work`` (its own data root)."""
    root = work / "data"
    root.mkdir(parents=True)
    test = root / "test"
    test.mkdir()
    for name in ("wav.scp", "utt2spk", "spk2utt", "utt2dur", "utt2num_samples"):
        (test / name).symlink_to(data / "test_vox1_eh" / name)
    (test / "trials").symlink_to(data / "test_vox1_eh" / "trials_vox1_e")
    noise_file = work / "noise.wav"
    soundfile.write(str(noise_file), np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)
    for noise in TEST_NOISES:  # a one-file pool each: the mixing job reads its pools at its start
        DataDir({"n-1": str(noise_file)}, {"n-1": "n"}, utt2num_samples={"n-1": SAMPLE_RATE}).write(root / noise.source)
    audio = work / "noisy_audio"
    utts = list(read_utt2spk(test / "utt2spk"))
    start = time.perf_counter()
    for noise in NOISE_TYPES:
        for snr in SNRS:
            folder = audio / f"{noise}_{snr}"
            folder.mkdir(parents=True)
            for utt in utts:
                (folder / f"{utt}.flac").touch()
    made = time.perf_counter() - start
    print(f"(made {len(utts) * len(NOISE_TYPES) * len(SNRS):,} empty noisy files in {made:.0f} s)")
    lines = (test / "wav.scp").read_text(encoding="utf-8").splitlines(keepends=True)
    part = work / "wav.1.scp"
    part.write_text("".join(share(lines, 1, JOBS)))
    common = ["--data", str(root), "--audio-dir", str(audio)]
    python = [sys.executable, "-m", "diffsv.bin.make_noisy_sets"]
    return [
        (f"stage 2: mix job 1 of {JOBS}, re-run", *measured([*python, "mix", "--utterances", str(part), *common])),
        ("stage 2: data-dirs (20 sets)", *measured([*python, "data-dirs", *common])),
    ]


def stage5_rows(data: Path, work: Path) -> list[tuple[str, float, float]]:
    exp = work / "exp"
    (exp / "final.pt").parent.mkdir(parents=True)
    config = ModelConfig()
    save_model_file(exp / "final.pt", DiffSV(config).state_dict(), config)
    evaluate = [sys.executable, "-m", "diffsv.bin.evaluate"]
    plan = [*evaluate, "plan", "--exp", str(exp), "--data", str(data), "--nj", str(JOBS)]
    rows = [("stage 5: plan", *measured(plan))]
    rng = np.random.default_rng(0)
    for name in ("test", "test_vox1_eh"):
        out = exp / "embeddings" / name
        out.mkdir(parents=True, exist_ok=True)
        utts = list(read_utt2spk(data / name / "utt2spk"))
        for job in range(1, JOBS + 1):
            mine = share(utts, job, JOBS)
            vectors = rng.standard_normal((len(mine), SEGMENTS, DIM)).astype(np.float32)
            write_embeddings(out / f"xvector.{job}.ark", out / f"xvector.{job}.scp", zip(mine, vectors, strict=True))
    rows.append(("stage 5: finish (merge, score, report)", *measured([*evaluate, "finish", "--exp", str(exp)])))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, required=True, help="the made tree, with stage 1's data/ in it")
    parser.add_argument("--work", type=Path, help="scratch directory [ROOT/eval_scale]")
    args = parser.parse_args()
    data = args.root / "data"
    if not (data / "test_vox1_eh" / "trials_vox1_e").is_file():
        sys.exit(f"{data}: no test_vox1_eh: run bench/stage1_scale.py --root {args.root} first")
    work = args.work or args.root / "eval_scale"
    shutil.rmtree(work, ignore_errors=True)
    rows = stage2_rows(data, work / "stage2") + stage5_rows(data, work / "stage5")
    utts = sum(1 for _ in open(data / "test_vox1_eh" / "utt2spk", encoding="utf-8"))
    trials = {
        name: sum(1 for _ in open(data / "test_vox1_eh" / f"trials_{name}", encoding="utf-8"))
        for name in ("vox1_e", "vox1_h")
    }
    print(f"-E/-H directory: {utts:,} utterances; trials: -E {trials['vox1_e']:,}, -H {trials['vox1_h']:,}")
    print(f"{'step':<42} {'wall s':>8} {'peak RSS MB':>12}")
    for name, seconds, rss in rows:
        print(f"{name:<42} {seconds:>8.1f} {rss:>12.0f}")


if __name__ == "__main__":
    main()

"""Resident memory of the training process and of its DataLoader workers with VoxCeleb2 dev's utterance table
(1,092,009 utterances of 5,994 speakers), through the code path training takes: ``read_data_dir``, the
validation split, ``SpeakerCrops`` and the Trainer's DataLoader, for one pass over ``--crops`` crops.

    tools/venv/bin/python bench/loader_memory.py [--utterances 1092009] [--workers 4] [--crops 20000]

Forked workers share the parent's pages until something writes to them, and in CPython reading an object
writes to it (its reference count), as does every garbage collection (the header of each object it tracks):
a table of Python objects per utterance is copied into every worker, page by page (pytorch/pytorch#13246).
RSS, PSS and USS (private pages) come from ``/proc/PID/smaps``: after the data is built (the training
process alone), just after the workers fork, and after the pass. A worker's growth is its USS after the pass
(a forked process starts with no private page), split by the kind of mapping that holds it: Python's object
arenas are anonymous mappings, while a worker's own crops and batches are mostly malloc's heap.

The corpus is made in a separate process (its memory is not the training process's), from a few hundred
real WAV files that many utterance ids share, so that crops really read audio; ids, paths and lengths are
shaped like VoxCeleb2 dev's (``id00012-21Uxsk56VDQ-00001``, ``.../dev/wav/id00012/21Uxsk56VDQ/00001.wav``;
4 s at least, mean 7.7 s). The config is ``conf/baseline_vox2.yaml`` with ``--workers`` loader processes,
only the reverberation kind of augmentation (1 s RIRs) and no pitch shift, so that a worker mostly reads:
its pages, not its arithmetic, are measured.
"""

from __future__ import annotations

import argparse
import gc
import math
import multiprocessing
import os
import string
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import yaml

from diffsv.bin.train import load_training_data
from diffsv.config import from_dict
from diffsv.data.kaldi_dir import DataDir
from diffsv.models import DiffSV
from diffsv.protocol import TRAINING_POOLS
from diffsv.training.config import ExperimentConfig
from diffsv.training.objective import TrainingObjective
from diffsv.training.trainer import ProcessContext, Trainer

SAMPLE_RATE = 16_000
VOXCELEB2_UTTERANCES = 1_092_009
VOXCELEB2_SPEAKERS = 5_994
CONFIG = Path(__file__).resolve().parents[1] / "egs/voxceleb_diffsv/conf/baseline_vox2.yaml"
VIDEO_ID_CHARACTERS = np.array(list(string.ascii_letters + string.digits + "-_"))
MIB = 2**20


def write_noise(path: Path, samples: int, rng: np.random.Generator) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, (0.05 * rng.standard_normal(samples)).astype(np.float32), SAMPLE_RATE, subtype="PCM_16")


def video_id(rng: np.random.Generator) -> str:
    """A YouTube-like id of 11 characters, as VoxCeleb's video folders are named."""
    return "".join(rng.choice(VIDEO_ID_CHARACTERS, 11))


def voxceleb2_like(root: Path, utterances: int, speakers: int, wavs: int, seed: int = 0) -> None:
    """Write ``root/train``: VoxCeleb2-shaped ids (speakers ``id00012``..``id09272``, videos of up to 8
    utterances) and lengths (4 s + a log-normal tail, cut at 60 s), every utterance pointing at one of
    ``wavs`` WAV files at least as long (length classes 10 % apart); and ``root/rirs``, 20 one-second RIRs."""
    rng = np.random.default_rng(seed)
    seconds = np.minimum(4.0 + rng.lognormal(np.log(2.6), 0.85, utterances), 60.0)
    num_samples = np.round(seconds * SAMPLE_RATE).astype(np.int64)
    print(
        f"utterances: {seconds.min():.1f}-{seconds.max():.1f} s, mean {seconds.mean():.2f} s, "
        f"median {np.median(seconds):.2f} s"
    )
    classes = 1 + math.ceil(math.log(60.0 / 4.0) / math.log(1.1))
    class_samples = np.round(4.0 * SAMPLE_RATE * 1.1 ** np.arange(classes)).astype(np.int64)
    class_samples[-1] = max(class_samples[-1], int(num_samples.max()))
    copies = max(1, wavs // classes)
    files = [
        [root / f"voxceleb2/dev/wav/id9{c:04d}/{video_id(rng)}/{k + 1:05d}.wav" for k in range(copies)]
        for c in range(classes)
    ]
    for c, paths in enumerate(files):
        for path in paths:
            write_noise(path, int(class_samples[c]), rng)
    file_class = np.searchsorted(class_samples, num_samples)
    file_copy = rng.integers(0, copies, utterances)
    ids = np.sort(rng.choice(np.arange(12, 9273), speakers, replace=False))
    least = min(8, utterances // speakers)
    counts = least + rng.multinomial(utterances - least * speakers, rng.dirichlet(np.full(speakers, 4.0)))
    wav_scp, utt2spk, utt2num_samples = {}, {}, {}
    index = 0
    for spk_number, count in zip(ids, counts, strict=True):
        spk = f"id{spk_number:05d}"
        videos: set[str] = set()
        while len(videos) < -(-count // 8):
            videos.add(video_id(rng))
        for j, video in enumerate(np.repeat(sorted(videos), 8)[:count]):
            utt = f"{spk}-{video}-{j % 8 + 1:05d}"
            wav_scp[utt] = str(files[file_class[index]][file_copy[index]])
            utt2spk[utt] = spk
            utt2num_samples[utt] = int(num_samples[index])
            index += 1
    utt2dur = {utt: n / SAMPLE_RATE for utt, n in utt2num_samples.items()}
    DataDir(wav_scp=wav_scp, utt2spk=utt2spk, utt2dur=utt2dur, utt2num_samples=utt2num_samples).write(root / "train")
    rirs = {f"rir{k:02d}": str(root / "rirs_audio" / f"rir{k:02d}.wav") for k in range(20)}
    for path in rirs.values():
        write_noise(Path(path), SAMPLE_RATE, rng)
    DataDir(wav_scp=rirs, utt2spk={k: k for k in rirs}).write(root / TRAINING_POOLS["reverb"])


def ensure_corpus(root: Path, utterances: int, speakers: int, wavs: int) -> float:
    """Make the corpus in a process of its own (its dicts would stay in this one's heap), unless ``root``
    already holds one of this size; returns the seconds it took."""
    marker = root / f"made-{utterances}-{speakers}-{wavs}"
    if marker.exists():
        return 0.0
    start = time.perf_counter()
    process = multiprocessing.get_context("spawn").Process(
        target=voxceleb2_like, args=(root, utterances, speakers, wavs)
    )
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"making the corpus failed (exit code {process.exitcode})")
    marker.touch()
    return time.perf_counter() - start


def bench_config(workers: int, batch_size: int | None) -> ExperimentConfig:
    """The VoxCeleb2 baseline's config with ``workers`` loader processes, reverberation only, no pitch shift,
    and ``batch_size`` when given."""
    raw = yaml.safe_load(CONFIG.read_text())
    raw["data"]["num_workers"] = workers
    raw["data"]["batch_size"] = batch_size or raw["data"]["batch_size"]
    raw["augmentation"]["kinds"] = ["reverb"]
    raw["augmentation"]["pitch_prob"] = 0.0  # the validation set's pitch shifts would take most of the build time
    return from_dict(ExperimentConfig, raw)


PRIVATE_KINDS = ("heap", "anonymous", "shm", "other")


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private pages) of a process, in MiB, read in one pass over ``/proc/PID/smaps``, with
    the private pages by the kind of mapping that holds them: ``heap`` (malloc's: a worker's crops and
    batches as it builds them), ``anonymous`` (Python's object arenas among others: where a table of Python
    objects is copied), ``shm`` (finished batches on their way to the training process) and ``other``."""
    figures = dict.fromkeys(("RSS", "PSS", "USS", *PRIVATE_KINDS), 0.0)
    kind = "other"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if not fields[0].endswith(":"):  # a mapping's first line: address range, ..., pathname
            name = fields[5] if len(fields) > 5 else ""
            kind = {"": "anonymous", "[heap]": "heap"}.get(name, "shm" if name.startswith("/dev/shm/") else "other")
        elif fields[0] in ("Rss:", "Pss:"):
            figures[fields[0][:3].upper()] += int(fields[1]) * 1024 / MIB
        elif fields[0] in ("Private_Clean:", "Private_Dirty:"):
            figures["USS"] += int(fields[1]) * 1024 / MIB
            figures[kind] += int(fields[1]) * 1024 / MIB
    return figures


def children() -> list[int]:
    """This process's child processes (the DataLoader's workers), by pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.append(int(entry.name))
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=VOXCELEB2_UTTERANCES)
    parser.add_argument("--speakers", type=int, help="[VoxCeleb2 dev's 5,994 scaled to --utterances]")
    parser.add_argument("--wavs", type=int, default=240, help="real WAV files the utterances share")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--crops", type=int, default=20_000, help="crops in the pass (whole batches)")
    parser.add_argument("--batch-size", type=int, help="[the config's 160]")
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the made corpus here [a temporary folder]")
    args = parser.parse_args()
    speakers = args.speakers or max(50, round(args.utterances * VOXCELEB2_SPEAKERS / VOXCELEB2_UTTERANCES))
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workdir or Path(tmp) / "corpus"
        made = ensure_corpus(root, args.utterances, speakers, args.wavs)
        print(f"corpus: {args.utterances:,} utterances of {speakers:,} speakers, {args.wavs} WAV files, under {root}")
        print(f"making it (a separate process): {made:.1f} s" if made else "reused")
        config = bench_config(args.workers, args.batch_size)
        before = memory(os.getpid())
        start = time.perf_counter()
        data = load_training_data(config, root / "train", root, validate=True)
        built = time.perf_counter() - start
        after_build = memory(os.getpid())
        print(
            f"building the training data (diffsv.bin.train.load_training_data: the tables, split, SpeakerCrops, "
            f"{data.validation_utterances} validation utterances): {built:.1f} s; {len(data.dataset):,} training "
            f"utterances; the process grew by {after_build['RSS'] - before['RSS']:,.0f} MiB"
        )
        objective = TrainingObjective(DiffSV(config.model), len(data.speakers), config.loss)
        trainer = Trainer(config, objective, data.dataset, Path(tmp) / "exp", "joint", ProcessContext(), data.validator)
        print(f"objects the garbage collector tracks in the training process: {len(gc.get_objects()):,}")
        batches = args.crops // config.data.batch_size
        trainer.sampler.set_epoch(0)
        start = time.perf_counter()
        others = set(children())  # the multiprocessing resource tracker, when the corpus was made here
        iterator = iter(trainer.loader)
        workers = sorted(set(children()) - others)
        at_fork = {pid: memory(pid) for pid in [os.getpid(), *workers]}
        for _ in range(batches):
            next(iterator)
        passed = time.perf_counter() - start
        after_pass = {pid: memory(pid) for pid in [os.getpid(), *workers]}
        del iterator
    print(
        f"pass: {batches} batches of {config.data.batch_size} ({batches * config.data.batch_size:,} crops), "
        f"{args.workers} workers: {passed:.1f} s (a memory run, not a speed figure)\n"
    )
    print(
        "| process | RSS, MiB | PSS, MiB | USS (private), MiB |\n|---|---|---|---|\n"
        f"| training process, after the data is built | {after_build['RSS']:,.0f} | {after_build['PSS']:,.0f} | "
        f"{after_build['USS']:,.0f} |"
    )
    for k, pid in enumerate([os.getpid(), *workers]):
        name = "training process" if k == 0 else f"worker {k}"
        cells = " | ".join(f"{at_fork[pid][key]:,.0f} -> {after_pass[pid][key]:,.0f}" for key in ("RSS", "PSS", "USS"))
        print(f"| {name}, workers just forked -> after the pass | {cells} |")
    print(
        "\n| growth since the fork, MiB (USS after the pass: a forked process starts with no private page) | USS | "
        "heap | anonymous | shm | other |\n|---|---|---|---|---|---|"
    )
    for k, pid in enumerate(workers, start=1):
        cells = " | ".join(f"{after_pass[pid][kind]:,.0f}" for kind in PRIVATE_KINDS)
        print(f"| worker {k} | {after_pass[pid]['USS']:,.0f} | {cells} |")


if __name__ == "__main__":
    main()

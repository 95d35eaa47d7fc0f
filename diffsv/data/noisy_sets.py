"""Noisy copies of a test set (recipe stage 2): every utterance mixed with each noise condition at each SNR.

The noise recordings and offsets for (condition, SNR, utterance) come from a generator seeded by the
seed and those three names only, so the audio is identical whatever the job split or the order of work.
Each output file is written atomically and skipped when present, so an interrupted stage resumes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffsv.data.audio import write_audio
from diffsv.data.kaldi_dir import DataDir
from diffsv.data.noise_mixing import NoisePool, scaled_noise


@dataclass(frozen=True)
class NoiseCondition:
    """A named noise source; ``files`` is how many recordings are averaged, drawn from ``min..max``."""

    name: str
    pool: NoisePool
    files: tuple[int, int] = (1, 1)


def condition_rng(seed: int, condition: str, snr: int, utt: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{condition}/{snr}/{utt}".encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def mix_condition(speech: np.ndarray, condition: NoiseCondition, snr: int, rng: np.random.Generator) -> np.ndarray:
    count = int(rng.integers(condition.files[0], condition.files[1] + 1))
    return speech + scaled_noise(speech, condition.pool.draw(rng, speech.shape[0], count), float(snr))


def set_name(condition: str, snr: int) -> str:
    return f"{condition}_{snr}"


def audio_path(audio_dir: Path, condition: str, snr: int, utt: str, audio_format: str) -> Path:
    return audio_dir / set_name(condition, snr) / f"{utt}.{audio_format}"


def mix_utterances(
    test: DataDir,
    utts: Iterable[str],
    conditions: Sequence[NoiseCondition],
    snrs: Sequence[int],
    audio_dir: Path,
    seed: int,
    sample_rate: int,
    audio_format: str = "flac",
) -> tuple[int, int]:
    """Write the missing noisy files of ``utts``; returns (written, already present)."""
    written = present = 0
    for utt in utts:
        speech: np.ndarray | None = None
        for condition in conditions:
            for snr in snrs:
                path = audio_path(audio_dir, condition.name, snr, utt, audio_format)
                if path.exists():
                    present += 1
                    continue
                if speech is None:
                    speech = test.audio_ref(utt).read(sample_rate)
                path.parent.mkdir(parents=True, exist_ok=True)
                noisy = mix_condition(speech, condition, snr, condition_rng(seed, condition.name, snr, utt))
                write_audio(path, noisy, sample_rate, audio_format)
                written += 1
    return written, present


def noisy_data_dirs(
    test: DataDir,
    conditions: Sequence[str],
    snrs: Sequence[int],
    audio_dir: Path,
    audio_format: str,
) -> Mapping[str, DataDir]:
    """``{<condition>_<snr>: data directory}``: the test set's ids, speakers, lengths and trials, new audio.

    Raises FileNotFoundError naming the first missing file when the mixing jobs did not all finish.
    """
    dirs = {}
    for condition in conditions:
        for snr in snrs:
            wav_scp = {}
            for utt in test.utt2spk:
                path = audio_path(audio_dir, condition, snr, utt, audio_format).resolve()
                if not path.exists():
                    raise FileNotFoundError(f"{path}: missing; re-run stage 2 to finish the noisy copies")
                wav_scp[utt] = str(path)
            dirs[set_name(condition, snr)] = DataDir(
                wav_scp=wav_scp,
                utt2spk=dict(test.utt2spk),
                utt2dur=None if test.utt2dur is None else dict(test.utt2dur),
                utt2num_samples=None if test.utt2num_samples is None else dict(test.utt2num_samples),
                trials=None if test.trials is None else list(test.trials),
            )
    return dirs

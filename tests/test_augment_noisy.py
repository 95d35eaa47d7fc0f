"""Augmentation and stage 2: SNR of a mix, pitch shift, reverberation, determinism across job splits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile
from corpus_trees import write_wav

from diffsv.config import ConfigError
from diffsv.data.augment import AugmentationConfig, Augmenter, NoisePools, reverberate
from diffsv.data.kaldi_dir import DataDir
from diffsv.data.noise_mixing import NoisePool, fit_to_length, scaled_noise
from diffsv.data.noisy_sets import NoiseCondition, mix_utterances, noisy_data_dirs

SR = 16_000


def pool(tmp_path: Path, name: str, count: int, seconds: float) -> NoisePool:
    wavs = {f"{name}{i}": str(write_wav(tmp_path / name / f"{i}.wav", seconds, seed=100 + i)) for i in range(count)}
    return NoisePool(DataDir(wav_scp=wavs, utt2spk={u: u for u in wavs}), name, SR)


def speech_dir(tmp_path: Path, count: int = 6) -> DataDir:
    wavs = {
        f"spk-{i:02d}": str(write_wav(tmp_path / "speech" / f"{i}.wav", 1.5 + 0.1 * i, seed=i)) for i in range(count)
    }
    return DataDir(wav_scp=wavs, utt2spk={u: "spk" for u in wavs})


def power_ratio_db(signal: np.ndarray, noise: np.ndarray) -> float:
    """The true SNR (the mixing formula's 1e-4 offset only matters for near-silent signals)."""
    return float(10 * np.log10(np.mean(signal.astype(np.float64) ** 2) / np.mean(noise.astype(np.float64) ** 2)))


@pytest.mark.parametrize("snr", [0.0, 5.0, 12.5, 20.0])
def test_mix_reaches_the_snr_within_a_tenth_of_a_db(snr: float) -> None:
    rng = np.random.default_rng(0)
    speech = (0.3 * rng.standard_normal(SR * 2)).astype(np.float32)
    noises = [fit_to_length(rng.standard_normal(SR).astype(np.float32), speech.shape[0], rng) for _ in range(4)]
    assert power_ratio_db(speech, scaled_noise(speech, noises, snr)) == pytest.approx(snr, abs=0.1)


def test_fit_to_length_wraps_short_and_crops_long() -> None:
    """A short recording is wrap-padded by (length - len + 1), as the reference pads it: two offsets."""
    short = np.arange(5, dtype=np.float32)
    padded = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2]
    cuts = {tuple(fit_to_length(short, 12, np.random.default_rng(seed)).tolist()) for seed in range(20)}
    assert cuts == {tuple(padded[:12]), tuple(padded[1:])}
    long = np.arange(100, dtype=np.float32)
    cut = fit_to_length(long, 10, np.random.default_rng(1))
    assert cut.shape == (10,) and np.all(np.diff(cut) == 1)


def test_reverberation_uses_a_unit_norm_rir_and_keeps_the_length() -> None:
    impulse = np.zeros(SR, dtype=np.float32)
    impulse[100] = 1.0
    rir = np.zeros(400, dtype=np.float32)
    rir[0], rir[200] = 3.0, 4.0  # norm 5
    out = reverberate(impulse, rir)
    assert out.shape == impulse.shape
    assert out[100] == pytest.approx(0.6) and out[300] == pytest.approx(0.8)


def test_augmenter_is_a_function_of_its_generator(tmp_path: Path) -> None:
    pools = NoisePools(
        noise=pool(tmp_path, "noise", 2, 3.0),
        babble=pool(tmp_path, "babble", 6, 3.0),
        music=pool(tmp_path, "music", 2, 6.0),
        reverb=pool(tmp_path, "rir", 2, 0.3),
    )
    clean = (0.1 * np.random.default_rng(2).standard_normal(SR)).astype(np.float32)
    for kind in ("reverb", "babble", "music", "noise", "babble_music"):
        augmenter = Augmenter(
            AugmentationConfig(gain_prob=1, pitch_prob=1, coloured_noise_prob=1, kinds=[kind]), pools, SR
        )
        a = augmenter(clean, np.random.default_rng(5))
        b = augmenter(clean, np.random.default_rng(5))
        assert a.shape == clean.shape and a.dtype == np.float32 and np.isfinite(a).all(), kind
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, clean), kind
    with pytest.raises(ValueError, match="subset"):
        AugmentationConfig(kinds=["thunder"])
    with pytest.raises(ValueError, match="babble_speakers must be two counts"):  # no babble to average
        AugmentationConfig(babble_speakers=(0, 2))


def file_hashes(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_noisy_copies_do_not_depend_on_the_job_split(tmp_path: Path) -> None:
    test = speech_dir(tmp_path)
    conditions = [
        NoiseCondition("noise", pool(tmp_path, "noise", 3, 2.5)),
        NoiseCondition("babble", pool(tmp_path, "babble", 6, 3.0), (3, 6)),
    ]
    utts = list(test.utt2spk)
    one = tmp_path / "one"
    assert mix_utterances(test, utts, conditions, [0, 10], one, 3, SR) == (24, 0)
    three = tmp_path / "three"
    for part in (utts[4:], utts[:2], utts[2:4]):  # three jobs, in any order
        mix_utterances(test, part, conditions, [0, 10], three, 3, SR)
    assert file_hashes(one) == file_hashes(three) and len(file_hashes(one)) == 24
    assert mix_utterances(test, utts, conditions, [0, 10], one, 3, SR) == (0, 24)  # resumed: all present
    other_seed = tmp_path / "seed4"
    mix_utterances(test, utts[:1], conditions, [0], other_seed, 4, SR)
    name = f"noise_0/{utts[0]}.flac"
    assert file_hashes(other_seed)[name] != file_hashes(one)[name]
    speech = test.audio_ref(utts[0]).read(SR)
    noisy, rate = soundfile.read(one / f"noise_10/{utts[0]}.flac", dtype="float32")
    assert rate == SR and noisy.shape == speech.shape
    assert power_ratio_db(speech, noisy - speech) == pytest.approx(10.0, abs=0.1)  # 16-bit FLAC included


def test_a_noise_kind_whose_pool_was_not_prepared_is_a_config_error(tmp_path: Path) -> None:
    reverb_only = NoisePools(reverb=pool(tmp_path, "rir", 2, 0.3))
    Augmenter(AugmentationConfig(kinds=["reverb"]), reverb_only, SR)  # MUSAN is not needed for this
    with pytest.raises(ConfigError, match=r"'babble_music' needs the babble pool \(data/musan_speech_train\)"):
        Augmenter(AugmentationConfig(kinds=["reverb", "babble_music"]), reverb_only, SR)


def test_noisy_data_dirs_keep_ids_and_need_every_file(tmp_path: Path) -> None:
    test = speech_dir(tmp_path, 3)
    conditions = [NoiseCondition("music", pool(tmp_path, "music", 2, 4.0))]
    audio = tmp_path / "audio"
    mix_utterances(test, list(test.utt2spk)[:2], conditions, [5], audio, 3, SR)
    with pytest.raises(FileNotFoundError, match="re-run stage 2"):
        noisy_data_dirs(test, ["music"], [5], audio, "flac")
    mix_utterances(test, list(test.utt2spk), conditions, [5], audio, 3, SR)
    dirs = noisy_data_dirs(test, ["music"], [5], audio, "flac")
    assert list(dirs) == ["music_5"] and dict(dirs["music_5"].utt2spk) == dict(test.utt2spk)

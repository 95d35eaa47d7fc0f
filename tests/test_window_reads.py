"""Reading only the window a training crop or a noise draw needs: the same samples as reading the whole
recording and cutting, from plain files, segments and pipes, and only that many samples read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from corpus_trees import write_wav

from diffsv.data.audio import AudioError, read_audio
from diffsv.data.kaldi_dir import DataDir, Segment
from diffsv.data.noise_mixing import NoisePool, wrap_to_length
from diffsv.data.speaker_crops import SpeakerCrops, repeat_to_length
from diffsv.models.frontend import FrontendConfig

SR = 16_000
CROP = 8_000


def corpus(tmp_path: Path, seconds: list[float], with_lengths: bool) -> DataDir:
    wavs = {f"spk{i % 2}-u{i}": str(write_wav(tmp_path / f"u{i}.wav", s, seed=i)) for i, s in enumerate(seconds)}
    lengths = {utt: soundfile.info(path).frames for utt, path in wavs.items()}
    return DataDir(
        wav_scp=wavs,
        utt2spk={utt: utt.split("-")[0] for utt in wavs},
        utt2num_samples=lengths if with_lengths else None,
    )


def segmented(tmp_path: Path, with_lengths: bool) -> DataDir:
    path = str(write_wav(tmp_path / "long.wav", 20.0, seed=7))
    segments = {f"rec-{k}": Segment("rec", 3.0 * k, 3.0 * k + 5.0) for k in range(4)}
    return DataDir(
        wav_scp={"rec": path},
        utt2spk={utt: "rec" for utt in segments},
        utt2num_samples={utt: 5 * SR for utt in segments} if with_lengths else None,
        segments=segments,
    )


class CountingReads:
    """Counts the samples soundfile is asked to read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.samples = 0
        original = soundfile.SoundFile.read

        def read(handle: soundfile.SoundFile, frames: int = -1, *args: object, **kwargs: object) -> np.ndarray:
            out = original(handle, frames, *args, **kwargs)
            self.samples += out.shape[0]
            return out

        monkeypatch.setattr(soundfile.SoundFile, "read", read)


def crops(data: DataDir) -> list[np.ndarray]:
    utts = sorted(data.utt2spk)
    labels = {spk: i for i, spk in enumerate(sorted(set(data.utt2spk.values())))}
    dataset = SpeakerCrops(data, utts, labels, CROP, FrontendConfig(), None, seed=3, t_epsilon=1e-5)
    return [dataset[(epoch, i)]["clean"].numpy() for epoch in (0, 1) for i in range(len(utts))]


def test_a_crop_is_the_same_whether_or_not_lengths_are_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seconds = [0.3, 0.45, 2.0, 7.5]  # two shorter than the crop: tiled, as the reference does
    whole = crops(corpus(tmp_path, seconds, with_lengths=False))
    counter = CountingReads(monkeypatch)
    windowed = crops(corpus(tmp_path, seconds, with_lengths=True))
    for a, b in zip(whole, windowed, strict=True):
        np.testing.assert_array_equal(a, b)
    short = round(0.3 * SR) + round(0.45 * SR)
    assert counter.samples == 2 * (short + 2 * CROP)  # the long ones: only the crop was read


def test_a_noise_draw_is_the_same_whether_or_not_lengths_are_known(tmp_path: Path) -> None:
    for make in (lambda known: corpus(tmp_path, [0.2, 1.0, 9.0], known), lambda known: segmented(tmp_path, known)):
        without, with_lengths = (NoisePool(make(known), "pool", SR) for known in (False, True))
        for seed in range(8):
            a = without.draw(np.random.default_rng(seed), 2 * SR, count=2)
            b = with_lengths.draw(np.random.default_rng(seed), 2 * SR, count=2)
            for x, y in zip(a, b, strict=True):
                np.testing.assert_array_equal(x, y)


def test_a_window_of_a_pipe_or_segment_is_the_same_slice(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", 3.0, seed=1)
    whole = read_audio(str(path)).samples
    pipe = f"cat {path} |"
    np.testing.assert_array_equal(read_audio(pipe, window=(100, 50)).samples, whole[100:150])
    np.testing.assert_array_equal(read_audio(str(path), 1.0, 2.0, window=(10, 5)).samples, whole[SR + 10 : SR + 15])
    np.testing.assert_array_equal(read_audio(pipe, 1.0, 2.0, window=(10, 5)).samples, whole[SR + 10 : SR + 15])


def test_a_stale_length_is_an_error_naming_the_line(tmp_path: Path) -> None:
    data = corpus(tmp_path, [1.0], with_lengths=True)
    stale = DataDir(wav_scp=data.wav_scp, utt2spk=data.utt2spk, utt2num_samples={"spk0-u0": 3 * SR})
    ref = stale.audio_ref("spk0-u0")
    with pytest.raises(AudioError, match="outside its 16000 samples .*utt2num_samples"):
        ref.random_window(SR, 2 * SR, np.random.default_rng(0), repeat_to_length)
    assert wrap_to_length(np.arange(3.0), 5).tolist() == [0.0, 1.0, 2.0, 0.0, 1.0, 2.0]

"""Reading only the window a training crop or a noise draw needs: the same samples as reading the whole
recording and cutting, from plain files, segments and pipes, and only that many samples read."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile
from corpus_trees import write_wav

from diffsv.data import audio
from diffsv.data.audio import AudioError, read_audio
from diffsv.data.audio_info import AudioInfo, probe_audio
from diffsv.data.frontend_config import FrontendConfig
from diffsv.data.kaldi_dir import DataDir, Segment
from diffsv.data.noise_mixing import NoisePool, wrap_to_length
from diffsv.data.speaker_crops import SpeakerCrops, repeat_to_length

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
    """Counts the samples read from files: by soundfile, and by offset from 16-bit PCM WAVs (``fast``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.samples = 0
        self.fast = 0
        original = soundfile.SoundFile.read
        original_pcm16 = audio._read_pcm16_wav

        def read(handle: soundfile.SoundFile, frames: int = -1, *args: object, **kwargs: object) -> np.ndarray:
            out = original(handle, frames, *args, **kwargs)
            self.samples += out.shape[0]
            return out

        def read_pcm16(*args: object) -> audio.Audio | None:
            out = original_pcm16(*args)
            if out is not None:
                self.samples += out.samples.shape[0]
                self.fast += 1
            return out

        monkeypatch.setattr(soundfile.SoundFile, "read", read)
        monkeypatch.setattr(audio, "_read_pcm16_wav", read_pcm16)


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


def riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WAVE" + b"".join(
        name + len(data).to_bytes(4, "little") + data + b"\0" * (len(data) % 2) for name, data in chunks
    )
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def pcm16_with_a_list_chunk(path: Path, samples: np.ndarray) -> Path:
    """A WAV whose data chunk follows an odd-sized LIST chunk (padded), as some editors write them."""
    fmt = struct.pack("<HHIIHH", 1, 1, SR, 2 * SR, 2, 16)
    pcm = (samples * 32768).astype("<i2").tobytes()
    path.write_bytes(riff([(b"fmt ", fmt), (b"LIST", b"INFOISFT\x03\0\0\0ab\0"), (b"data", pcm)]))
    return path


FILES = {  # name: (soundfile format, subtype), or a writer; whether the offset reader takes it
    "wav_pcm16": (("WAV", "PCM_16"), True),
    "wavex_pcm16": (("WAVEX", "PCM_16"), True),
    "rf64_pcm16": (("RF64", "PCM_16"), True),
    "stereo_pcm16": (("WAV", "PCM_16"), True),
    "list_chunk_pcm16": (pcm16_with_a_list_chunk, True),
    "wav_pcm24": (("WAV", "PCM_24"), False),
    "wav_float": (("WAV", "FLOAT"), False),
    "flac": (("FLAC", "PCM_16"), False),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_reads_by_offset_are_libsndfiles_samples(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """16-bit PCM WAVs (plain, extensible, RF64, other chunks first) are read by offset, everything else by
    libsndfile; either way the samples, windows and segments are libsndfile's to the bit."""
    how, by_offset = FILES[name]
    channels = 2 if name.startswith("stereo") else 1
    samples = (0.3 * np.random.default_rng(3).standard_normal((3 * SR, channels))).astype(np.float32).squeeze()
    path = tmp_path / f"{name}.{'flac' if name == 'flac' else 'wav'}"
    if callable(how):
        how(path, samples)
    else:
        soundfile.write(str(path), samples, SR, format=how[0], subtype=how[1])
    expected, rate = soundfile.read(str(path), dtype="float32", always_2d=False)
    counter = CountingReads(monkeypatch)
    whole = read_audio(str(path))
    assert whole.sample_rate == rate == SR and whole.samples.dtype == np.float32
    np.testing.assert_array_equal(whole.samples, expected)
    np.testing.assert_array_equal(read_audio(str(path), window=(1000, 777)).samples, expected[1000:1777])
    np.testing.assert_array_equal(read_audio(str(path), 1.0, 2.5, window=(5, 9)).samples, expected[SR + 5 : SR + 14])
    with pytest.raises(AudioError, match="outside its"):
        read_audio(str(path), window=(3 * SR - 10, 20))
    assert counter.fast == (3 if by_offset else 0)  # the window outside the recording raised


def test_a_cut_wav_is_read_as_libsndfile_reads_it(tmp_path: Path) -> None:
    """A WAV holding less than its header declares is not read by offset: libsndfile's view stands (stage 1
    refuses such files; see the integrity checks)."""
    path = write_wav(tmp_path / "cut.wav", 1.0, seed=2)
    path.write_bytes(path.read_bytes()[:-1000])
    expected, _ = soundfile.read(str(path), dtype="float32")
    np.testing.assert_array_equal(read_audio(str(path)).samples, expected)


@pytest.mark.parametrize("name", sorted(FILES))
def test_probes_give_libsndfiles_header(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stage 1 probes a million files: 16-bit PCM WAVs from their headers alone, the others by libsndfile,
    with the same rate, channels and length either way; a cut one is refused by both."""
    how, from_header = FILES[name]
    channels = 2 if name.startswith("stereo") else 1
    samples = (0.3 * np.random.default_rng(4).standard_normal((2 * SR + 7, channels))).astype(np.float32).squeeze()
    path = tmp_path / f"{name}.{'flac' if name == 'flac' else 'wav'}"
    if callable(how):
        how(path, samples)
    else:
        soundfile.write(str(path), samples, SR, format=how[0], subtype=how[1])
    info = soundfile.info(str(path))
    calls = []
    original = soundfile.info
    monkeypatch.setattr(soundfile, "info", lambda *a, **k: calls.append(a) or original(*a, **k))
    assert probe_audio(str(path)) == AudioInfo(info.samplerate, info.channels, info.frames)
    assert bool(calls) != from_header
    if name != "flac":
        path.write_bytes(path.read_bytes()[:-10])
        with pytest.raises(AudioError, match=f"{path}: truncated WAV: the header declares {2 * SR + 7} samples"):
            probe_audio(str(path))

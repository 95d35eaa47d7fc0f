"""Bad recordings in a data directory: every reader of the recipe stops with an error naming the wav.scp
line and what is wrong, and a stage exits 1 with that message instead of a traceback. Paths given to
the API are read as files, never run as commands; checkpoints never run code from the file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from corpus_trees import write_wav
from training_helpers import tiny_experiment

import diffsv
from diffsv.data.audio import AudioError, read_audio
from diffsv.data.kaldi_dir import read_data_dir
from diffsv.models import DiffSV
from diffsv.models.model_file import load_model_file, save_model_file
from diffsv.training.checkpoint import load_checkpoint
from diffsv.utils.checkpoint import CheckpointError

RATE = 16_000
FRAME = 400  # the front end's window: 25 ms


def _float_wav(path: Path, samples: np.ndarray) -> None:
    soundfile.write(str(path), samples.astype(np.float32), RATE, subtype="FLOAT")


BAD: dict[str, tuple[Callable[[Path], None], str]] = {
    "corrupt": (lambda p: p.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(64))), "not readable audio"),
    "truncated header": (lambda p: p.write_bytes(write_wav(p, 1.0).read_bytes()[:30]), "not readable audio"),
    "empty file": (lambda p: p.write_bytes(b""), "not readable audio"),
    "no samples": (lambda p: write_wav(p, 0.0), "0 samples, fewer than the 400 of one frame"),
    "shorter than a frame": (lambda p: write_wav(p, 100 / RATE), "100 samples, fewer than the 400 of one frame"),
    "8 kHz": (lambda p: write_wav(p, 1.0, sample_rate=8000), "expected 16000 Hz, found 8000 Hz"),
    "stereo": (lambda p: write_wav(p, 1.0, channels=2), "expected mono audio, found 2 channels"),
    "NaN": (lambda p: _float_wav(p, np.where(np.arange(RATE) == 700, np.nan, 0.01)), "sample 700 is nan"),
    "Inf": (lambda p: _float_wav(p, np.where(np.arange(RATE) == 9, -np.inf, 0.01)), "sample 9 is -inf"),
}


def _data_dir(root: Path, bad: str) -> Path:
    """A data directory of three utterances whose second (line 2 of wav.scp) is ``bad``."""
    data = root / "data"
    data.mkdir()
    paths = [root / f"u{i}.wav" for i in range(3)]
    for i, path in enumerate(paths):
        if i == 1:
            BAD[bad][0](path)
        else:
            write_wav(path, 1.0, seed=i)
    (data / "wav.scp").write_text("".join(f"spk-u{i} {path}\n" for i, path in enumerate(paths)))
    (data / "utt2spk").write_text("".join(f"spk-u{i} spk\n" for i in range(3)))
    return data


def _tiny_model_file(root: Path) -> Path:
    """An untrained model file of the tiny test configuration (errors come before the weights matter)."""
    model = root / "model.pt"
    config = tiny_experiment().model
    save_model_file(model, DiffSV(config).state_dict(), config)
    return model


@pytest.mark.parametrize("bad", list(BAD))
def test_reading_a_bad_recording_names_its_wav_scp_line(tmp_path: Path, bad: str) -> None:
    data = read_data_dir(_data_dir(tmp_path, bad))
    assert data.audio_ref("spk-u0").read(RATE, min_samples=FRAME).shape == (RATE,)
    with pytest.raises(AudioError) as caught:
        data.audio_ref("spk-u1").read(RATE, min_samples=FRAME)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path}/data/wav.scp:2: {tmp_path}/u1.wav: ") and BAD[bad][1] in message


def test_a_stage_meeting_a_bad_recording_exits_1_naming_it(tmp_path: Path) -> None:
    bad = "NaN"
    data = _data_dir(tmp_path, bad)
    model = _tiny_model_file(tmp_path)
    command = [sys.executable, "-m", "diffsv.bin.extract_embeddings", "--model", str(model), "--data", str(data)]
    command += ["--output-dir", str(tmp_path / "emb"), "--segments", "1", "--segment-samples", str(RATE)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert f"{data}/wav.scp:2: " in result.stderr and BAD[bad][1] in result.stderr
    assert not (tmp_path / "emb" / "xvector.scp").exists()


def test_paths_given_to_the_api_are_files_never_commands(tmp_path: Path) -> None:
    # A wav.scp entry ending in "|" is a Kaldi pipe and runs (documented); a path given to the API does not.
    model = _tiny_model_file(tmp_path)
    marker = tmp_path / "ran"
    with pytest.raises(AudioError, match="no such file"):
        diffsv.load_model(model).embed(f"touch {marker} |")
    assert not marker.exists()
    assert read_audio(f"touch {marker}; cat {write_wav(tmp_path / 'u1.wav', 1.0)} |").samples.shape == (RATE,)
    assert marker.exists()


class _RunsCode:
    """Unpickling this runs a shell command: what a malicious checkpoint would hold."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("loader", [load_checkpoint, load_model_file], ids=["checkpoint", "model file"])
def test_loading_never_runs_code_from_the_file(tmp_path: Path, loader: Callable[[Path], object]) -> None:
    marker = tmp_path / "ran"
    torch.save({"model": {"w": torch.zeros(2)}, "model_config": {}, "payload": _RunsCode(marker)}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"bad.pt: cannot load"):
        loader(tmp_path / "bad.pt")
    assert not marker.exists()

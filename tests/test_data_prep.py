"""Recipe stages 0 and 1 (corpus checks, Kaldi data directories) and the data-directory validator.

The stages run through egs/voxceleb_diffsv/run.sh, as a user runs them, on tiny corpora built in their
published layouts (tests/corpus_trees.py). No Kaldi checkout is available, so Kaldi's rules are
checked directly: C-sorted unique keys (with ``LC_ALL=C sort``), speaker-prefixed utterance ids, and
spk2utt equal to Kaldi's utils/utt2spk_to_spk2utt.pl output.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile
import yaml
from corpus_trees import (
    MusanTree,
    VoicesTree,
    VoxCeleb1Tree,
    make_musan,
    make_nonspeech,
    make_rirs,
    make_voices,
    make_voxceleb1,
    write_wav,
)
from interruption import interrupt
from training_helpers import tiny_experiment

from diffsv.bin import prepare_data
from diffsv.config import to_dict
from diffsv.data.audio import AudioError, read_audio
from diffsv.data.audio_info import probe_audio, probe_many
from diffsv.data.corpora.voxceleb1 import scan_voxceleb1
from diffsv.data.eval_sets import MANIFEST, EvalSet, EvalSetsError, read_eval_sets, write_eval_sets
from diffsv.data.kaldi_dir import DataDir, DataDirError, Trial, read_trials, read_utt2spk
from diffsv.data.validate import validate_data_dir
from diffsv.protocol import VOICES

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs" / "voxceleb_diffsv"
UTILS = REPO / "utils"
VENV_BIN = REPO / "tools" / "venv" / "bin"
DATA_DIRS = (
    "musan_music_test",
    "musan_music_train",
    "musan_noise_test",
    "musan_noise_train",
    "musan_speech_test",
    "musan_speech_train",
    "nonspeech",
    "rirs",
    "test",
    "train",
    "voices_dev",
    "voices_eval",
)


def _env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")


@dataclass
class Corpora:
    vox: VoxCeleb1Tree
    musan: MusanTree
    rirs: Path
    rir_ids: list[str]
    nonspeech: Path
    nonspeech_ids: list[str]
    voices: VoicesTree

    def options(self, **override: str | None) -> list[str]:
        """run.sh / prepare_data options for these corpora; ``override`` replaces, adds (underscores for
        dashes) or, with None, drops options."""
        values = {
            "voxceleb1_root": str(self.vox.root),
            "musan_root": str(self.musan.root),
            "rirs_root": str(self.rirs),
            "nonspeech_root": str(self.nonspeech),
            "voices_root": str(self.voices.root),
            **override,
        }
        options = [(f"--{key.replace('_', '-')}", value) for key, value in values.items() if value is not None]
        return [item for option in options for item in option]


def run_recipe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "run.sh", *args], cwd=RECIPE, env=_env(), capture_output=True, text=True, timeout=120
    )


def run_module(module: str, *args: str) -> subprocess.CompletedProcess:
    command = [str(VENV_BIN / "python"), "-m", module, *args]
    return subprocess.run(command, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120)


def run_validate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(UTILS / "validate_data_dir.sh"), *args], env=_env(), capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> Corpora:
    root = tmp_path_factory.mktemp("corpora")
    return Corpora(
        vox=make_voxceleb1(root / "VoxCeleb1"),
        musan=make_musan(root / "musan"),
        rirs=root / "RIRS_NOISES",
        rir_ids=make_rirs(root / "RIRS_NOISES"),
        nonspeech=root / "Nonspeech100",
        nonspeech_ids=make_nonspeech(root / "Nonspeech100"),
        voices=make_voices(root / "VOiCES"),
    )


@pytest.fixture(scope="module")
def recipe(corpora: Corpora, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """Stages 0 and 1 of run.sh on all the corpora (VOiCES included); the data directory root."""
    data = tmp_path_factory.mktemp("recipe") / "data"
    result = run_recipe("--stage", "0", "--stop-stage", "1", *corpora.options(data=str(data)))
    assert result.returncode == 0, result.stdout + result.stderr
    return result, data


def table(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()]


def keys(path: Path) -> list[str]:
    return [fields[0] for fields in table(path)]


# ---- the recipe, stages 0 and 1 -----------------------------------------------------------------


def test_stage0_reports_every_corpus(recipe: tuple[subprocess.CompletedProcess, Path]) -> None:
    out = recipe[0].stdout
    assert "VoxCeleb1: found" in out and "veri_test2.txt: 5 trials over 2 test speakers (6 files)" in out
    assert "MUSAN: found" in out and "(music 2, noise 3, speech 2)" in out
    assert "RIRS_NOISES: found" in out and "5 simulated RIRs in 4 rooms" in out
    assert "Nonspeech100: found" in out and "12 files" in out
    assert "voices_dev: 4 files, 2 speakers, 4 trials; voices_eval: 4 files, 2 speakers, 4 trials" in out


def test_stage1_writes_and_validates_every_directory(recipe: tuple[subprocess.CompletedProcess, Path]) -> None:
    result, data = recipe
    # no temporary files or directories left: the data directories and the list of evaluation sets
    assert sorted(p.name for p in data.iterdir()) == sorted([*DATA_DIRS, MANIFEST])
    for name in DATA_DIRS:
        assert f"validate_data_dir: {data / name}: OK (" in result.stdout
        assert f"prepare_data: {data / name}: " in result.stdout


def test_voxceleb1_train_and_test(recipe: tuple[subprocess.CompletedProcess, Path], corpora: Corpora) -> None:
    data = recipe[1]
    vox = corpora.vox
    for part, speakers in (("train", vox.train_speakers), ("test", vox.test_speakers)):
        relatives = sorted(rel for rel in vox.files if rel.split("/")[0] in speakers)
        expected_ids = [rel.removesuffix(".wav").replace("/", "-") for rel in relatives]
        assert keys(data / part / "utt2spk") == expected_ids
        assert keys(data / part / "spk2utt") == speakers
        wav_scp = dict(line.split(" ", 1) for line in (data / part / "wav.scp").read_text().splitlines())
        assert wav_scp == {utt: str(vox.root / "wav" / rel) for utt, rel in zip(expected_ids, relatives, strict=True)}
        durations = {utt: float(value) for utt, value in table(data / part / "utt2dur")}
        assert durations == {utt: vox.files[rel] for utt, rel in zip(expected_ids, relatives, strict=True)}
        samples = {utt: int(value) for utt, value in table(data / part / "utt2num_samples")}
        assert samples == {utt: round(durations[utt] * 16000) for utt in expected_ids}
    assert "id10002--5Bnb_RhRvA-00003" in keys(data / "train" / "utt2spk")  # a video id starting with '-'


def test_test_trials_follow_the_list_order_and_labels(
    recipe: tuple[subprocess.CompletedProcess, Path], corpora: Corpora
) -> None:
    expected = [
        f"{p1.removesuffix('.wav').replace('/', '-')} {p2.removesuffix('.wav').replace('/', '-')} "
        f"{'target' if target else 'nontarget'}"
        for p1, p2, target in corpora.vox.trials["veri_test2.txt"]
    ]
    trials = (recipe[1] / "test" / "trials").read_text().splitlines()
    assert trials == expected
    assert trials != sorted(trials)  # the list's order, not sorted
    spk = dict(table(recipe[1] / "test" / "utt2spk"))
    for utt1, utt2, label in (line.split() for line in trials):
        assert (spk[utt1] == spk[utt2]) == (label == "target")


MUSAN_EXPECTED = {  # directory -> {segment id: (recording, start, end)}
    "musan_music_train": {
        "music-fma-0000-0000000-0000500": ("music-fma-0000", 0, 5),
        "music-fma-0000-0000300-0000800": ("music-fma-0000", 3, 8),
    },
    "musan_music_test": {"music-fma-wa-0001-0000000-0000400": ("music-fma-wa-0001", 0, 4)},
    "musan_noise_train": {
        "noise-free-sound-0000-0000000-0000400": ("noise-free-sound-0000", 0, 4),
        "noise-sound-bible-0002-0000000-0000500": ("noise-sound-bible-0002", 0, 5),
    },
    "musan_noise_test": {
        "noise-free-sound-0001-0000000-0000500": ("noise-free-sound-0001", 0, 5),
    },
    "musan_speech_train": {"speech-librivox-0000-0000000-0000200": ("speech-librivox-0000", 0, 2)},
    "musan_speech_test": {"speech-us-gov-0001-0000000-0000600": ("speech-us-gov-0001", 0, 6)},
}


def test_musan_parity_split_and_windows(recipe: tuple[subprocess.CompletedProcess, Path], corpora: Corpora) -> None:
    data = recipe[1]
    for name, windows in MUSAN_EXPECTED.items():
        segments = {utt: (reco, float(start), float(end)) for utt, reco, start, end in table(data / name / "segments")}
        assert segments == windows, name
        assert dict(table(data / name / "utt2spk")) == {utt: reco for utt, (reco, _, _) in windows.items()}
        assert {utt: int(n) for utt, n in table(data / name / "utt2num_samples")} == {
            utt: (end - start) * 16000 for utt, (_, start, end) in windows.items()
        }
        recordings = {reco for reco, _, _ in windows.values()}
        wav_scp = dict(line.split(" ", 1) for line in (data / name / "wav.scp").read_text().splitlines())
        assert set(wav_scp) == recordings
        for reco in recordings:
            assert int(reco[-4:]) % 2 == (0 if name.endswith("_train") else 1)
            assert wav_scp[reco] == str(next(corpora.musan.root.glob(f"*/*/{reco}.wav")))


def test_rirs_nonspeech_and_voices(recipe: tuple[subprocess.CompletedProcess, Path], corpora: Corpora) -> None:
    data = recipe[1]
    assert keys(data / "rirs" / "utt2spk") == corpora.rir_ids
    assert dict(table(data / "rirs" / "utt2spk"))["mediumroom-Room001-00001"] == "mediumroom-Room001"
    assert keys(data / "nonspeech" / "wav.scp") == ["n1", "n10", "n11", "n12"] + [f"n{k}" for k in range(2, 10)]
    assert keys(data / "nonspeech" / "utt2spk") == corpora.nonspeech_ids
    voices = corpora.voices
    for name, speakers, trials in (
        ("voices_dev", voices.dev_speakers, voices.dev_trials),
        ("voices_eval", voices.eval_speakers, voices.eval_trials),
    ):
        utt = {stem: f"{spk}-{stem}" for stem, spk in speakers.items()}
        assert dict(table(data / name / "utt2spk")) == {utt[stem]: spk for stem, spk in speakers.items()}
        expected = [[utt[e], utt[t], "target" if target else "nontarget"] for e, t, target in trials]
        assert table(data / name / "trials") == expected
        spk = dict(table(data / name / "utt2spk"))
        assert all((spk[a] == spk[b]) == (label == "target") for a, b, label in expected)


def test_stage1_lists_the_sets_stage5_scores(recipe: tuple[subprocess.CompletedProcess, Path]) -> None:
    data = recipe[1]
    listed = [(s.condition, s.data.name, s.trials) for s in read_eval_sets(data)]
    assert listed == [(c, d, data / d / "trials") for c, d in (("clean", "test"), *((v, v) for v in VOICES))]


def test_the_eval_sets_manifest(tmp_path: Path) -> None:
    for name in ("test", "test_babble_5", "test_babble_-5", "mine"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "trials").write_text("a b target\n")
    clean = EvalSet("clean", tmp_path / "test", tmp_path / "test" / "trials")
    write_eval_sets(tmp_path, "prepare_data", [clean])
    write_eval_sets(tmp_path, "make_noisy_sets", [EvalSet("babble_5", tmp_path / "test_babble_5", clean.trials)])
    # a writer's second call replaces its own entries only: stage 2 re-run with other SNRs
    write_eval_sets(tmp_path, "make_noisy_sets", [EvalSet("babble_-5", tmp_path / "test_babble_-5", clean.trials)])
    assert [(s.condition, s.name) for s in read_eval_sets(tmp_path)] == [
        ("clean", "test"),
        ("babble_-5", "test_babble_-5"),
    ]
    moved = tmp_path.parent / "moved_data"
    shutil.move(tmp_path, moved)  # paths are relative to the data directory
    assert read_eval_sets(moved)[1] == EvalSet("babble_-5", moved / "test_babble_-5", moved / "test" / "trials")
    manifest = moved / MANIFEST
    write_eval_sets(moved, "local", [EvalSet("clean", moved / "mine", moved / "mine" / "trials")])
    with pytest.raises(EvalSetsError, match="condition 'clean' is listed by both prepare_data and local"):
        read_eval_sets(moved)
    write_eval_sets(moved, "local", [EvalSet("mine", moved / "mine", moved / "mine" / "trials")])
    shutil.rmtree(moved / "mine")
    with pytest.raises(EvalSetsError, match=f"{manifest}: mine: data directory {moved}/mine is missing; re-run local"):
        read_eval_sets(moved)
    manifest.write_text("{")
    with pytest.raises(EvalSetsError, match=f"{manifest}: not valid JSON"):
        read_eval_sets(moved)
    manifest.unlink()
    with pytest.raises(EvalSetsError, match="no list of evaluation sets; run stage 1"):
        read_eval_sets(moved)


def test_every_directory_follows_kaldi_rules(recipe: tuple[subprocess.CompletedProcess, Path]) -> None:
    data = recipe[1]
    env = dict(_env(), LC_ALL="C")
    for name in DATA_DIRS:
        directory = data / name
        for path in sorted(directory.iterdir()):
            if path.name == "trials":
                continue
            # Kaldi's check_sorted_and_uniq: the first column sorted and unique in C collation
            first_column = "".join(f"{key}\n" for key in keys(path))
            check = subprocess.run(["sort", "-c", "-u"], input=first_column, env=env, capture_output=True, text=True)
            assert check.returncode == 0, f"{path}: {check.stderr}"
        utt2spk = table(directory / "utt2spk")
        assert all(utt.startswith(spk) for utt, spk in utt2spk)
        kaldi_spk2utt = subprocess.run(
            [str(UTILS / "utt2spk_to_spk2utt.pl"), str(directory / "utt2spk")], capture_output=True, text=True
        )
        assert kaldi_spk2utt.stdout == (directory / "spk2utt").read_text(), name


def test_stage0_names_a_missing_corpus_and_where_to_get_it(corpora: Corpora, tmp_path: Path) -> None:
    missing = tmp_path / "no-musan"
    result = run_recipe(
        "--stage", "0", "--stop-stage", "0", *corpora.options(musan_root=str(missing), voices_root=None)
    )
    assert result.returncode != 0
    assert f"MUSAN: missing: {missing}: no such directory" in result.stderr
    assert "https://www.openslr.org/17/" in result.stderr
    assert "VOiCES: not given (optional" in result.stdout
    assert "VoxCeleb1: found" in result.stdout  # the other corpora are still reported


def test_without_the_optional_corpora_each_stage_says_what_it_leaves_out(corpora: Corpora, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_recipe(
        "--stage", "0", "--stop-stage", "0", *corpora.options(musan_root="", nonspeech_root="", voices_root=None)
    )
    # ... and the Python steps of stages 1 and 2 (their job runners are tested elsewhere)
    given = corpora.options(musan_root=None, nonspeech_root=None, voices_root=None, data=str(data))
    stage1 = run_module("diffsv.bin.prepare_data", *given, "--trials-list", str(corpora.vox.list_path()))
    stage2 = run_module(
        "diffsv.bin.make_noisy_sets", "data-dirs", "--data", str(data), "--audio-dir", str(tmp_path / "a")
    )
    assert result.returncode == stage1.returncode == stage2.returncode == 0, (
        result.stderr + stage1.stderr + stage2.stderr
    )
    result.stdout += stage2.stdout
    assert "MUSAN: not given (optional): no babble, music or noise test conditions, and training cannot use" in (
        result.stdout
    )
    assert "Nonspeech100: not given (optional): no nonspeech (out-of-domain) test conditions" in result.stdout
    assert not list(data.glob("musan_*")) and not (data / "nonspeech").exists() and (data / "rirs").is_dir()
    assert f"no {data / 'musan_speech_test'} (its corpus was not prepared): no babble_<snr> test sets" in result.stdout
    assert [s.condition for s in read_eval_sets(data)] == ["clean"] and not list(data.glob("test_*"))
    config = tmp_path / "tiny.yaml"
    experiment = tiny_experiment(epochs=1)
    experiment.data.validation_speakers = 0
    config.write_text(yaml.safe_dump(to_dict(experiment)))
    command = [sys.executable, "-m", "diffsv.bin.train", "--phase", "joint", "--config", str(config)]
    command += ["--exp", str(tmp_path / "exp" / "tiny"), "--train-data", str(data / "train"), "--pools", str(data)]
    training = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert training.returncode == 1 and "Traceback" not in training.stderr
    assert "augmentation.kinds: 'babble' needs the babble pool (data/musan_speech_train), which was not prepared" in (
        training.stderr
    )


def test_stage0_names_a_missing_trial_list(corpora: Corpora, tmp_path: Path) -> None:
    result = run_recipe("--stage", "0", "--stop-stage", "0", *corpora.options(trials="veri_test3.txt"))
    assert result.returncode != 0
    assert f"{corpora.vox.root / 'veri_test3.txt'}: no such trial list" in result.stderr
    assert "https://www.robots.ox.ac.uk/~vgg/data/voxceleb/vox1.html" in result.stderr


def test_failed_preparation_leaves_nothing_behind(corpora: Corpora, tmp_path: Path) -> None:
    bad_list = tmp_path / "veri_bad.txt"
    bad_list.write_text(
        "1 id10270/5r0dWxy17C8/00001.wav id10270/x6uYqmx31kE/00002.wav\n"
        "0 id10270/5r0dWxy17C8/00001.wav id10271/1gtz-CUIygI/00009.wav\n"
    )
    data = tmp_path / "out" / "data"
    result = run_module("diffsv.bin.prepare_data", *corpora.options(trials_list=str(bad_list), data=str(data)))
    assert result.returncode == 1
    assert f"{bad_list}:2: 'id10271/1gtz-CUIygI/00009.wav' is not a file of the corpus" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_rerun_replaces_changed_directories_and_leaves_the_rest(corpora: Corpora, tmp_path: Path) -> None:
    data = tmp_path / "data"
    common = corpora.options(voices_root=None, data=str(data))
    first = run_module("diffsv.bin.prepare_data", *common, "--trials-list", str(corpora.vox.list_path()))
    assert first.returncode == 0, first.stderr
    assert len((data / "test" / "trials").read_text().splitlines()) == 5
    (data / "test" / "stale-file").write_text("from an earlier run\n")
    second = run_module(
        "diffsv.bin.prepare_data", *common, "--trials-list", str(corpora.vox.list_path("veri_test.txt"))
    )
    assert second.returncode == 0, second.stderr
    assert len((data / "test" / "trials").read_text().splitlines()) == 6
    assert not (data / "test" / "stale-file").exists()
    assert sorted(p.name for p in data.iterdir()) == sorted([MANIFEST, *(d for d in DATA_DIRS if "voices" not in d)])
    # The same command once more writes nothing: every file keeps its content and its time.
    before = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in data.rglob("*") if path.is_file()}
    third = run_module("diffsv.bin.prepare_data", *common, "--trials-list", str(corpora.vox.list_path("veri_test.txt")))
    assert third.returncode == 0, third.stderr
    assert {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in data.rglob("*") if path.is_file()} == before


def test_interrupted_stage1_reruns_to_the_same_directories(
    recipe: tuple[subprocess.CompletedProcess, Path], corpora: Corpora, tmp_path: Path
) -> None:
    """Interrupted, stage 1 leaves every data directory under its final name complete; the re-run gives
    exactly the directories of the uninterrupted run."""
    reference = recipe[1]

    def contents(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    expected = contents(reference)
    data = tmp_path / "data"
    stage1 = ["bash", "run.sh", "--stage", "1", "--stop-stage", "1", *corpora.options(data=str(data))]
    # SIGKILL to the stage as soon as it has written a directory (usually while it writes the others), then
    # SIGTERM at a random point.
    started = lambda: any(not p.parent.name.startswith(".") for p in data.glob("*/wav.scp"))  # noqa: E731
    for when, signum in ((started, signal.SIGKILL), (random.Random(7).uniform(0.2, 3.0), signal.SIGTERM)):
        interrupt(stage1, RECIPE, _env(), when=when, signum=signum)
        present = contents(data) if data.exists() else {}
        final = {name: content for name, content in present.items() if not name.startswith(".")}  # not temporaries
        assert final and all(expected[name] == content for name, content in final.items())
    result = run_recipe(*stage1[2:])
    assert result.returncode == 0, result.stderr
    assert contents(data) == expected


def test_stage1_resamples_other_rates_only_when_asked(corpora: Corpora, tmp_path: Path) -> None:
    nonspeech = tmp_path / "Nonspeech100"
    shutil.copytree(corpora.nonspeech, nonspeech)
    tone = np.sin(2 * np.pi * 440.0 * np.arange(11025) / 22050).astype(np.float32)  # 0.5 s at 22.05 kHz
    soundfile.write(nonspeech / "n1.wav", 0.5 * tone, 22050, subtype="FLOAT")
    options = corpora.options(nonspeech_root=str(nonspeech), voices_root=None)
    refused = run_recipe("--stage", "1", "--stop-stage", "1", *options, "--data", str(tmp_path / "refused"))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"{nonspeech / 'n1.wav'}: sample rate 22050 Hz, expected 16000 Hz" in refused.stderr
    assert "stage 1 with --resample true resamples it" in refused.stderr
    assert not (tmp_path / "refused").exists()

    data = tmp_path / "data"
    result = run_recipe("--stage", "1", "--stop-stage", "1", *options, "--data", str(data), "--resample", "true")
    assert result.returncode == 0, result.stdout + result.stderr
    wav_scp = dict(line.split(" ", 1) for line in (data / "nonspeech" / "wav.scp").read_text().splitlines())
    assert wav_scp["n1"] == f"python3 -m diffsv.bin.resample_audio {nonspeech / 'n1.wav'} 16000 |"
    assert wav_scp["n2"] == str(nonspeech / "n2.wav")  # files at 16 kHz are read as they are
    assert dict(table(data / "nonspeech" / "utt2num_samples"))["n1"] == "8000"
    env = dict(os.environ, PATH=_env()["PATH"])
    resampled = subprocess.run(wav_scp["n1"][:-1], shell=True, capture_output=True, env=env, check=True).stdout
    samples, rate = soundfile.read(io.BytesIO(resampled), dtype="float32")
    expected = 0.5 * np.sin(2 * np.pi * 440.0 * np.arange(8000) / 16000)
    assert rate == 16000 and samples.shape == (8000,) and np.abs(samples - expected)[200:-200].max() < 1e-3


def cut(path: Path, size: int) -> Path:
    """``path`` cut to its first ``size`` bytes, as an interrupted download leaves it."""
    path.write_bytes(path.read_bytes()[:size])
    return path


WAV_HEADER = 44  # bytes before the samples of a 16-bit WAV that soundfile writes
VOX_FILE = "id10001/1zcIwhmdeo4/00001.wav"  # 1 s: 16,000 samples
SPOILED = {  # how a VoxCeleb1 file is spoiled -> what stage 1 says after its path
    "cut to 100 bytes": (lambda p: cut(p, 100), "truncated WAV: the header declares 16000 samples, the file holds 28"),
    "cut mid-data": (
        lambda p: cut(p, WAV_HEADER + 2 * 10_000),
        "truncated WAV: the header declares 16000 samples, the file holds 10000",
    ),
    "too short": (lambda p: write_wav(p, 120 / 16000), "120 samples, shorter than one analysis frame (400)"),
}


@pytest.mark.parametrize("case", list(SPOILED))
def test_stage1_refuses_truncated_and_too_short_files(
    corpora: Corpora, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    vox = tmp_path / "VoxCeleb1"
    shutil.copytree(corpora.vox.root, vox)
    spoil, message = SPOILED[case]
    spoil(vox / "wav" / VOX_FILE)
    data = tmp_path / "out" / "data"
    without_optional = dict.fromkeys(("musan_root", "rirs_root", "nonspeech_root", "voices_root"))
    options = corpora.options(
        voxceleb1_root=str(vox), trials_list=str(vox / "veri_test2.txt"), data=str(data), **without_optional
    )
    assert prepare_data.main(options) == 1
    assert capsys.readouterr().err == f"prepare_data: {vox / 'wav' / VOX_FILE}: {message}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("container", "subtype"), [("WAV", "PCM_16"), ("WAVEX", "PCM_24"), ("RF64", "FLOAT"), ("FLAC", "PCM_16")]
)
def test_a_cut_file_of_each_container_is_refused(tmp_path: Path, container: str, subtype: str) -> None:
    path = tmp_path / f"a.{container.lower()}"
    noise = 0.05 * np.random.default_rng(0).standard_normal(8000)
    soundfile.write(str(path), noise, 16000, format=container, subtype=subtype)
    assert probe_audio(str(path)).frames == 8000
    cut(path, path.stat().st_size * 2 // 3)
    declared = f"^{re.escape(str(path))}: truncated (WAV|FLAC): the header declares 8000 samples, "
    with pytest.raises(AudioError, match=declared):
        probe_audio(str(path))


def test_wav_chunks_around_the_data_are_walked(tmp_path: Path) -> None:
    """An odd-sized chunk before the data (padded to even) and one after it: the file is complete; cut
    inside the data, it holds the samples before the cut."""
    fmt = b"fmt " + (16).to_bytes(4, "little") + bytes.fromhex("0100 0100 803e0000 007d0000 0200 1000")
    note = b"LIST" + (5).to_bytes(4, "little") + b"notes\0"
    samples = np.arange(1000, dtype="<i2").tobytes()
    chunks = fmt + note + b"data" + len(samples).to_bytes(4, "little") + samples + b"id3 " + bytes(4)
    path = tmp_path / "chunks.wav"
    path.write_bytes(b"RIFF" + (4 + len(chunks)).to_bytes(4, "little") + b"WAVE" + chunks)
    assert probe_audio(str(path)).frames == 1000
    cut(path, len(path.read_bytes()) - 8 - 2 * 300)
    with pytest.raises(AudioError, match="the header declares 1000 samples, the file holds 700$"):
        probe_audio(str(path))


def test_voxceleb1_dev_and_test_kept_apart(tmp_path: Path) -> None:
    tree = make_voxceleb1(tmp_path / "vox", split_dirs=True)
    dirs = scan_voxceleb1(tree.root, tree.list_path()).prepare()
    assert sorted(set(dirs["train"].utt2spk.values())) == tree.train_speakers
    assert dirs["test"].wav_scp["id10271-1gtz-CUIygI-00001"] == str(
        tree.root / "test/wav/id10271/1gtz-CUIygI/00001.wav"
    )


# ---- the validator on broken directories ---------------------------------------------------------


@pytest.fixture
def good_dir(tmp_path: Path) -> Path:
    """A valid three-utterance directory with trials, written by the DataDir writer."""
    wavs = {
        "spk1-a": write_wav(tmp_path / "wav" / "a.wav", 0.5),
        "spk1-b": write_wav(tmp_path / "wav" / "b.wav", 0.25, seed=1),
        "spk2-c": write_wav(tmp_path / "wav" / "c.wav", 0.5, seed=2),
    }
    DataDir(
        wav_scp={utt: str(path) for utt, path in wavs.items()},
        utt2spk={utt: utt.split("-")[0] for utt in wavs},
        utt2dur={"spk1-a": 0.5, "spk1-b": 0.25, "spk2-c": 0.5},
        utt2num_samples={"spk1-a": 8000, "spk1-b": 4000, "spk2-c": 8000},
        trials=[Trial("spk2-c", "spk1-a", False), Trial("spk1-a", "spk1-b", True)],
    ).write(tmp_path / "data")
    return tmp_path / "data"


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _break_missing_wav(d: Path) -> None:
    (d.parent / "wav" / "b.wav").unlink()


def _break_empty_wav(d: Path) -> None:
    write_wav(d.parent / "wav" / "b.wav", 0)


def _break_short_wav(d: Path) -> None:
    write_wav(d.parent / "wav" / "b.wav", 120 / 16000)


def _break_truncated_wav(d: Path) -> None:
    cut(d.parent / "wav" / "b.wav", WAV_HEADER + 2 * 1500)


def _break_sample_rate(d: Path) -> None:
    write_wav(d.parent / "wav" / "c.wav", 0.5, sample_rate=8000)


def _break_stereo(d: Path) -> None:
    write_wav(d.parent / "wav" / "a.wav", 0.5, channels=2)


def _break_duplicate(d: Path) -> None:
    _rewrite(d / "utt2spk", "spk1-b spk1\n", "spk1-b spk1\nspk1-b spk1\n")


def _break_sorting(d: Path) -> None:
    lines = (d / "utt2dur").read_text().splitlines()
    (d / "utt2dur").write_text("\n".join([lines[1], lines[0], lines[2]]) + "\n")


def _break_trial(d: Path) -> None:
    _rewrite(d / "trials", "spk1-a spk1-b target", "spk1-a spk1-x target")


def _break_spk2utt(d: Path) -> None:
    _rewrite(d / "spk2utt", "spk1 spk1-a spk1-b", "spk1 spk1-a")


def _break_prefix(d: Path) -> None:
    _rewrite(d / "utt2spk", "spk2-c spk2", "spk2-c zspk")
    _rewrite(d / "spk2utt", "spk2 spk2-c", "zspk spk2-c")


def _break_num_samples(d: Path) -> None:
    _rewrite(d / "utt2num_samples", "spk1-b 4000", "spk1-b 4800")


def _break_missing_file(d: Path) -> None:
    (d / "spk2utt").unlink()


BROKEN = {  # how to break the directory -> what the error must say
    "missing wav": (_break_missing_wav, "wav.scp:2: recording 'spk1-b': ", "b.wav: no such file"),
    "empty wav": (_break_empty_wav, "wav.scp:2: recording 'spk1-b' (", "0 samples, shorter than one analysis frame"),
    "short wav": (
        _break_short_wav,
        "wav.scp:2: recording 'spk1-b' (",
        "120 samples, shorter than one analysis frame (400)",
    ),
    "truncated wav": (
        _break_truncated_wav,
        "wav.scp:2: recording 'spk1-b': ",
        "b.wav: truncated WAV: the header declares 4000 samples, the file holds 1500",
    ),
    "sample rate": (_break_sample_rate, "wav.scp:3: recording 'spk2-c' (", "sample rate 8000 Hz, expected 16000 Hz"),
    "stereo": (_break_stereo, "wav.scp:1: recording 'spk1-a' (", "not mono (2 channels)"),
    "duplicate id": (_break_duplicate, "utt2spk:3: ", "duplicate utterance id 'spk1-b' (first on line 2)"),
    "unsorted": (_break_sorting, "utt2dur:2: ", "not sorted (C collation): 'spk1-a' after 'spk1-b'"),
    "unknown trial utterance": (_break_trial, "trials:2: ", "utterance 'spk1-x' is not in utt2spk"),
    "spk2utt not inverse": (_break_spk2utt, "spk2utt:1: ", "utterance 'spk1-b' of this speaker in utt2spk is missing"),
    "no speaker prefix": (_break_prefix, "utt2spk:3: ", "'spk2-c' does not start with its speaker id 'zspk'"),
    "wrong length": (_break_num_samples, "utt2num_samples:2: ", "'spk1-b' has 4000 samples in its audio, not 4800"),
    "missing spk2utt": (_break_missing_file, "", "missing required file 'spk2utt'"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_validator_names_file_and_line(good_dir: Path, case: str) -> None:
    assert run_validate(str(good_dir)).returncode == 0
    breaker, where, what = BROKEN[case]
    breaker(good_dir)
    result = run_validate(str(good_dir))
    assert result.returncode == 1
    assert result.stderr.startswith(f"validate_data_dir: {good_dir}/{where}" if where else "validate_data_dir: ")
    assert what in result.stderr
    assert "Traceback" not in result.stderr


SEGMENT_LINE = "music-fma-0000-0000300-0000800 music-fma-0000 3 8"  # line 2 of musan_music_train/segments


@pytest.mark.parametrize(
    ("name", "new", "message"),
    [
        ("segments", SEGMENT_LINE.replace(" 8", " 12"), "segments:2: ends at 12.0 s, after recording"),
        ("segments", SEGMENT_LINE.replace("0000 3", "0002 3"), "segments:2: recording 'music-fma-0002' is not in"),
        ("segments", SEGMENT_LINE.replace("3 8", "8 3"), "segments:2: end 3 is not after start 8"),
        ("wav.scp", "music-fma-0003 /x.wav", "wav.scp:2: recording 'music-fma-0003' has no segments"),
    ],
)
def test_validator_checks_segments(
    recipe: tuple[subprocess.CompletedProcess, Path], tmp_path: Path, name: str, new: str, message: str
) -> None:
    copy = tmp_path / "musan_music_train"
    shutil.copytree(recipe[1] / "musan_music_train", copy)
    lines = (copy / name).read_text().splitlines()
    assert name != "segments" or lines[1] == SEGMENT_LINE
    (copy / name).write_text("\n".join([*lines[:1], new, *lines[2:]] if name == "segments" else [*lines, new]) + "\n")
    result = run_validate(str(copy))
    assert result.returncode == 1
    assert result.stderr.startswith(f"validate_data_dir: {copy}/{message}")


def test_probe_many_keeps_order_and_reports_each_failure(tmp_path: Path) -> None:
    specs = [str(write_wav(tmp_path / f"{k}.wav", 0.01 * (k + 1))) for k in range(40)]
    specs[17] = str(tmp_path / "missing.wav")
    results = list(probe_many(specs, workers=4, block=3))  # 14 blocks, at most 8 pending
    assert [r.frames for k, r in enumerate(results) if k != 17] == [160 * (k + 1) for k in range(40) if k != 17]
    assert isinstance(results[17], AudioError) and "missing.wav: no such file" in str(results[17])


def test_validator_accepts_kaldi_flags(good_dir: Path) -> None:
    _break_missing_wav(good_dir)
    result = run_validate("--no-feats", "--no-text", "--non-print", "--no-wav", str(good_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"validate_data_dir: {good_dir}: OK (3 utterances, 2 speakers)\n"


def test_pipe_and_ark_entries_are_read_and_validated(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "x.wav", 0.5, seed=7)
    samples = (np.random.default_rng(3).standard_normal(6000) * 3000).astype(np.int16)
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path / 'audio.ark'},{tmp_path / 'audio.scp'}") as writer:
        writer["spk2-ark"] = (16000, samples)
    ark_spec = (tmp_path / "audio.scp").read_text().split(maxsplit=1)[1].strip()
    assert ark_spec.startswith(f"{tmp_path / 'audio.ark'}:")
    pipe_spec = f"cat {wav} |"
    data = tmp_path / "data"
    DataDir(
        wav_scp={"spk1-pipe": pipe_spec, "spk2-ark": ark_spec},
        utt2spk={"spk1-pipe": "spk1", "spk2-ark": "spk2"},
        utt2dur={"spk1-pipe": 0.5, "spk2-ark": 0.375},
        utt2num_samples={"spk1-pipe": 8000, "spk2-ark": 6000},
    ).write(data)
    assert (data / "wav.scp").read_text() == f"spk1-pipe {pipe_spec}\nspk2-ark {ark_spec}\n"
    assert validate_data_dir(data).utterances == 2
    np.testing.assert_array_equal(read_audio(pipe_spec).samples, soundfile.read(str(wav), dtype="float32")[0])
    np.testing.assert_allclose(read_audio(ark_spec).samples, samples / 32768.0)


# ---- the readers and the writer -------------------------------------------------------------------


def test_writer_sorts_derives_spk2utt_and_keeps_trial_order(tmp_path: Path) -> None:
    data = DataDir(
        wav_scp={"b-2": "/x/b2.wav", "a-1": "/x/a1.wav", "b-1": "/x/b1.wav"},
        utt2spk={"b-2": "b", "b-1": "b", "a-1": "a"},
        trials=[Trial("b-2", "a-1", False), Trial("a-1", "b-1", False)],
    )
    data.write(tmp_path / "d")
    assert keys(tmp_path / "d" / "wav.scp") == ["a-1", "b-1", "b-2"]
    assert (tmp_path / "d" / "spk2utt").read_text() == "a a-1\nb b-1 b-2\n"
    assert [(t.utt1, t.utt2) for t in read_trials(tmp_path / "d" / "trials")] == [("b-2", "a-1"), ("a-1", "b-1")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@pytest.mark.parametrize(
    ("utt2spk", "message"),
    [
        ({"x-1": "y"}, "utt2spk: utterance id 'x-1' does not start with its speaker id 'y'"),
        (
            {"a-1": "a", "a-b-1": "a-b", "a-c": "a"},
            "utterance 'a-c' of speaker 'a' sorts after utterances of speaker 'a-b'",
        ),
    ],
)
def test_writer_refuses_what_kaldi_cannot_sort(tmp_path: Path, utt2spk: dict[str, str], message: str) -> None:
    data = DataDir(wav_scp={utt: f"/x/{utt}.wav" for utt in utt2spk}, utt2spk=utt2spk)
    with pytest.raises(DataDirError, match=message):
        data.write(tmp_path / "d")
    assert not list(tmp_path.iterdir())


def test_reader_errors_name_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "utt2spk"
    for text, message in (
        ("a x\n\nb x\n", "utt2spk:2: empty line"),
        ("a x\nb\n", "utt2spk:2: expected 'utt spk', found 1 columns"),
        ("a x\r\n", "utt2spk:1: carriage return"),
        ("", "utt2spk: empty file"),
    ):
        path.write_text(text)
        with pytest.raises(DataDirError, match=message):
            read_utt2spk(path)

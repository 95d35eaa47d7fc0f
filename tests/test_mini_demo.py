"""The embedded demo, reduced: egs/mini_diffsv/run.sh on the small corpus with shrunken copies of its
configs runs every stage (0-6); each stage's outputs exist and are well-formed, and the EERs are in range.

Needs the packages of tools/install_mini_corpus.sh: CI fails without them, elsewhere the test skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import yaml
from slurm_cluster import SlurmCluster

from diffsv.data.mini_corpus.manifest import PACKAGE_CACHE

pytestmark = pytest.mark.recipe_run

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs" / "mini_diffsv"
VENV_BIN = REPO / "tools" / "venv" / "bin"
SYSTEMS = ("baseline", "diffsv")
NOISES = ("noise", "music", "babble", "nonspeech")
CONDITIONS = ["clean"] + [f"{kind}_{snr}" for kind in NOISES for snr in range(0, 25, 5)]


def shrink(config: dict) -> dict:
    """The demo's config with two short epochs, a thinner validation split and two sampler steps."""
    config["training"].update(epochs=2, average_last=1, log_interval=1)
    config["data"].update(batch_size=8, validation_speakers=2, validation_utterances=2, validation_seconds=1.0)
    config["scheduler"].update(first_cycle_epochs=2.0, warmup_epochs=0.5)
    if "diffusion" in config["model"]:
        config["model"]["diffusion"]["steps"] = 2
    return config


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if shutil.which("espeak-ng") is None or not any(PACKAGE_CACHE.glob("*")):
        reason = "mini corpus packages missing: run tools/install_mini_corpus.sh"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("demo")
    conf = root / "conf"
    conf.mkdir()
    for system in SYSTEMS:
        config = yaml.safe_load((RECIPE / "conf" / f"{system}.yaml").read_text())
        (conf / f"{system}.yaml").write_text(yaml.safe_dump(shrink(config)))
    command = ["bash", "run.sh", "--scale", "small", "--conf-dir", str(conf), "--downloads", str(root / "downloads")]
    command += ["--data", str(root / "data"), "--exp", str(root / "exp"), "--segment-samples", "16000"]
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}", OMP_NUM_THREADS="1")
    result = subprocess.run(command, cwd=RECIPE, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root, result.stdout


def test_stages_0_to_2_build_corpus_data_and_noisy_copies(demo: tuple[Path, str]) -> None:
    root, log = demo
    assert "mini corpus" in log and "built in" in log
    assert (root / "downloads" / "mini_corpus_small" / "voxceleb1" / "veri_test2.txt").is_file()
    data = root / "data"
    trials = (data / "test" / "trials").read_text()
    utts = [line.split()[0] for line in (data / "test" / "wav.scp").read_text().splitlines()]
    for condition in CONDITIONS[1:]:
        noisy = data / f"test_{condition}"
        assert (noisy / "trials").read_text() == trials, condition
        assert [line.split()[0] for line in (noisy / "wav.scp").read_text().splitlines()] == utts, condition


@pytest.mark.parametrize("system", SYSTEMS)
def test_stages_3_to_5_train_embed_and_score_each_system(demo: tuple[Path, str], system: str) -> None:
    root, _ = demo
    exp = root / "exp" / system
    assert (exp / "final.pt").is_file() and (exp / "best.pt").is_file()
    assert (exp / "joint" / "validation.json").is_file()
    trials = [line.split() for line in (root / "data" / "test" / "trials").read_text().splitlines()]
    embeddings = dict(kaldiio.load_scp_sequential(str(exp / "embeddings" / "test" / "xvector.scp")))
    assert {utt for a, b, _ in trials for utt in (a, b)} <= set(embeddings)
    assert all(vector.shape == (1, 64) and np.isfinite(vector).all() for vector in embeddings.values())
    for condition in CONDITIONS:
        lines = (exp / "scores" / f"{condition}.score").read_text().splitlines()
        assert len(lines) == len(trials), condition
        assert all(np.isfinite(float(line.split()[2])) for line in lines)


@pytest.mark.parametrize("system", SYSTEMS)
def test_stage_6_exports_each_system(demo: tuple[Path, str], system: str) -> None:
    export = demo[0] / "exp" / system / "export"
    description = json.loads((export / "export.json").read_text())
    assert set(description["files"]) == {"torchscript", "onnx"}
    for fmt, name in description["files"].items():
        assert (export / name).stat().st_size > 0
        assert description["check"][fmt]["max_abs_diff"] <= 1e-4
    assert (description["sampler"] is None) == (system == "baseline")


def test_results_table_compares_both_systems_on_every_condition(demo: tuple[Path, str]) -> None:
    root, log = demo
    results = (root / "exp" / "diffsv" / "RESULTS.md").read_text()
    assert log.rstrip().endswith(results.strip())  # the demo ends by printing it
    eer_table = results.split("## EER (%)")[1].split("##")[0]
    assert "| baseline |" in eer_table and "| diffsv |" in eer_table and "change vs baseline" in eer_table
    assert "(paper)" not in results  # the paper's VoxCeleb1 figures are not comparable here
    for system in SYSTEMS:
        metrics = json.loads((root / "exp" / system / "results.json").read_text())
        assert set(metrics) == set(CONDITIONS), system
        assert all(0.0 <= values["eer"] <= 1.0 for values in metrics.values()), system


def test_stage_2_submitted_through_slurm_equals_the_local_run(
    demo: tuple[Path, str], slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    # The demo ran stage 2 with run.pl; run it again through slurm.pl (cmd_backend=slurm in cmd.sh) on a
    # copy of its inputs: the noisy audio and data directories must be the same, byte for byte.
    root, _ = demo
    local, submitted = root / "data", tmp_path / "data"
    for name in ("test", "musan_noise_test", "musan_speech_test", "musan_music_test", "nonspeech"):
        shutil.copytree(local / name, submitted / name)
    command = ["bash", "run.sh", "--scale", "small", "--stage", "2", "--stop-stage", "2", "--nj", "3"]
    command += ["--downloads", str(root / "downloads"), "--data", str(submitted), "--exp", str(tmp_path / "exp")]
    env = dict(slurm_cluster.env, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}", OMP_NUM_THREADS="1")
    env["cmd_backend"] = "slurm"
    result = subprocess.run(command, cwd=RECIPE, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    tasks = slurm_cluster.job_record("noisy_test").splitlines()
    assert len(tasks) == 3 and all("JobState=COMPLETED" in line and f"WorkDir={RECIPE} " in line for line in tasks)
    assert sorted(path.name for path in (tmp_path / "exp/log").iterdir()) == [f"noisy_test.{j}.log" for j in (1, 2, 3)]

    audio = sorted(path.relative_to(local) for path in (local / "noisy_audio").rglob("*") if path.is_file())
    assert audio and audio == sorted(
        path.relative_to(submitted) for path in (submitted / "noisy_audio").rglob("*") if path.is_file()
    )
    for path in audio:
        assert (submitted / path).read_bytes() == (local / path).read_bytes(), path
    for condition in CONDITIONS[1:]:
        for name in ("wav.scp", "utt2spk", "spk2utt", "trials"):
            expected = (local / f"test_{condition}" / name).read_text().replace(str(local), str(submitted))
            assert (submitted / f"test_{condition}" / name).read_text() == expected, (condition, name)

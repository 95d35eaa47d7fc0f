"""Stages 2-6 of egs/voxceleb_diffsv/run.sh on tiny corpora with a tiny model: outputs exist, are
well-formed and consistent; stage 2 is independent of --nj; a killed training run resumes; the
exports, the Python API and the diffsv command reproduce what the stages computed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile
import torch
import torchaudio
import yaml
from corpus_trees import make_musan, make_nonspeech, make_rirs, make_voxceleb1, write_wav
from interruption import interrupt
from training_helpers import tiny_experiment

import diffsv
from diffsv.config import to_dict
from diffsv.data.audio import AudioError
from diffsv.data.kaldi_dir import read_trials, read_utt2spk
from diffsv.export import EmbeddingPipeline, ExportedRunner, example_inputs
from diffsv.models.model_file import load_model_file
from diffsv.training.checkpoint import load_checkpoint

pytestmark = pytest.mark.recipe_run

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs" / "voxceleb_diffsv"
VENV_BIN = REPO / "tools" / "venv" / "bin"
EXTRA_TRAIN = {"id10900": ("aaaaaaaaaaa", 3), "id10901": ("bbbbbbbbbbb", 3)}  # speakers added to the tree


def env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}", OMP_NUM_THREADS="1")


def run_recipe(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["bash", "run.sh", *args], cwd=RECIPE, env=env(), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def write_config(path: Path, **training) -> Path:
    config = tiny_experiment(**{"epochs": 2, "pretrain_epochs": 1, "average_last": 2, **training})
    config.data.batch_size = 4
    config.data.validation_speakers = 2
    config.data.validation_seconds = 1.0
    path.write_text(yaml.safe_dump(to_dict(config)))
    return path


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("stages")
    corpora = root / "corpora"
    vox = make_voxceleb1(corpora / "VoxCeleb1")
    for k, (speaker, (video, count)) in enumerate(EXTRA_TRAIN.items()):
        for n in range(1, count + 1):  # every recording different: the same audio would get the same embedding
            write_wav(vox.root / "wav" / speaker / video / f"{n:05d}.wav", 1.2, seed=50 + 10 * k + n)
    make_musan(corpora / "musan")
    make_rirs(corpora / "RIRS_NOISES")
    make_nonspeech(corpora / "Nonspeech100")
    paths = {"root": root, "data": root / "data", "exp": root / "exp", "config": write_config(root / "tiny.yaml")}
    common = [
        "--voxceleb1-root", str(vox.root), "--musan-root", str(corpora / "musan"),
        "--rirs-root", str(corpora / "RIRS_NOISES"), "--nonspeech-root", str(corpora / "Nonspeech100"),
        "--data", str(paths["data"]), "--exp", str(paths["exp"]), "--config", str(paths["config"]),
        "--segment-samples", "16000", "--nj", "2",
    ]  # fmt: skip
    run_recipe("--stage", "0", "--stop-stage", "5", *common)
    paths["common"] = common  # type: ignore[assignment]
    return paths


def hashes(directory: Path, pattern: str = "*.flac") -> dict[str, str]:
    """SHA-256 of the files under ``directory`` matching ``pattern``, but not of the job logs (log/)."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in directory.rglob(pattern)
        if p.is_file() and "log" not in p.relative_to(directory).parts
    }


def test_stage2_writes_twenty_noisy_sets_independent_of_nj(recipe: dict[str, Path]) -> None:
    data = recipe["data"]
    sets = sorted(p.name for p in data.glob("test_*"))
    assert len(sets) == 20 and "test_babble_0" in sets and "test_nonspeech_20" in sets
    for name in sets:
        assert (data / name / "utt2spk").read_text() == (data / "test" / "utt2spk").read_text()
        assert (data / name / "trials").read_text() == (data / "test" / "trials").read_text()
    first = hashes(data / "noisy_audio")
    assert len(first) == 20 * 6
    # Again with --nj 1 into another directory, interrupted twice on the way: its worker SIGKILLed, then
    # the whole stage SIGTERMed (as Ctrl-C or a scheduler would). Whatever exists after each interruption
    # is complete, and the re-run finishes with exactly the audio of the uninterrupted run.
    other = recipe["root"] / "noisy_nj1"
    stage2 = ["--stage", "2", "--stop-stage", "2", *recipe["common"], "--nj", "1", "--noisy-audio", str(other)]
    for written, worker in ((30, f"^python -m diffsv.bin.make_noisy_sets mix .*{other}"), (70, None)):
        status = interrupt(["bash", "run.sh", *stage2], RECIPE, env(), worker=worker,
                           when=lambda n=written: len(list(other.rglob("*.flac"))) >= n)  # fmt: skip
        assert status not in (None, 0), "stage 2 was not interrupted"
        partial = hashes(other)
        assert written <= len(partial) < len(first) and all(first[name] == partial[name] for name in partial)
    shown = run_recipe(*stage2, "--follow-logs", "true").stdout
    log = (recipe["exp"] / "log" / "noisy_test.1.log").read_text()
    assert "# Ended (code 0)" in log and log in shown  # the job's log, shown as it was written
    assert hashes(other) == first and not list(other.rglob(".*.tmp.*"))  # the killed worker's file removed


def test_stages3_4_write_a_complete_experiment(recipe: dict[str, Path]) -> None:
    exp = recipe["exp"] / "tiny"
    for name in ("config.yaml", "speakers.txt", "model_size.json", "final.pt", "best.pt", "log/train_joint.log"):
        assert (exp / name).is_file(), name
    assert [p.name for p in sorted((exp / "pretrain").glob("epoch_*.pt"))] == ["epoch_1.pt"]
    assert [p.name for p in sorted((exp / "joint").glob("epoch_*.pt"))] == ["epoch_1.pt", "epoch_2.pt"]
    speakers = (exp / "speakers.txt").read_text().split("\n")
    assert len([s for s in speakers if s]) == 2  # 4 training speakers, 2 held out for validation
    validation = json.loads((exp / "joint" / "validation.json").read_text())
    assert set(validation) == {"1", "2"} and 0.0 <= validation["2"]["eer_noisy"] <= 1.0
    assert "initialised from pre-trained" in (exp / "joint" / "train.log").read_text()
    size = json.loads((exp / "model_size.json").read_text())
    assert size["parameters"]["total"] > 0 and size["speakers"] == 2


def test_finished_training_rerun_does_nothing(recipe: dict[str, Path]) -> None:
    exp = recipe["exp"] / "tiny"
    outputs = [exp / "final.pt", exp / "best.pt", exp / "joint" / "validation.json", *exp.glob("*/epoch_*.pt")]
    before = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in outputs}
    run_recipe("--stage", "3", "--stop-stage", "4", *recipe["common"])
    log = (exp / "log" / "train_joint.log").read_text()
    assert "has finished training; final.pt and best.pt are left as they are" in log
    assert {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in outputs} == before


def test_stage5_embeddings_scores_and_results(recipe: dict[str, Path]) -> None:
    exp, data = recipe["exp"] / "tiny", recipe["data"]
    utts = list(read_utt2spk(data / "test" / "utt2spk"))
    embeddings = dict(kaldiio.load_scp(str(exp / "embeddings" / "test" / "xvector.scp")))
    assert sorted(embeddings) == utts
    assert all(np.asarray(e).shape == (4, 16) for e in embeddings.values())
    trials = read_trials(data / "test" / "trials")
    scores = [line.split() for line in (exp / "scores" / "clean.score").read_text().splitlines()]
    assert [(s[0], s[1]) for s in scores] == [(t.utt1, t.utt2) for t in trials]
    assert all(-1.0 <= float(s[2]) <= 1.0 for s in scores)
    results = json.loads((exp / "results.json").read_text())
    assert {"clean", "babble_0", "music_20", "noise_10", "nonspeech_5"} <= set(results)
    assert all(0.0 <= r["eer"] <= 1.0 and 0.0 <= r["min_dcf_0.01"] for r in results.values())
    assert "| clean |" in (exp / "RESULTS.md").read_text()
    pngs = list((exp / "figures").glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)

    # From scratch again, interrupted twice: an embedding job SIGKILLed once the first job has written its
    # embeddings, then the stage SIGTERMed while it scores. The re-run embeds nothing again, and its outputs
    # equal the first run's (its plan, the work list, then lists nothing to embed).
    def outputs() -> dict[str, str]:
        return {name: digest for name, digest in hashes(exp, "*").items() if name != "embeddings/plan.json"}

    uninterrupted = outputs()
    for made in ("embeddings", "scores", "figures"):
        shutil.rmtree(exp / made)
    for made in ("results.json", "RESULTS.md"):
        (exp / made).unlink()
    stage5 = ["bash", "run.sh", "--stage", "5", "--stop-stage", "5", *recipe["common"]]
    first_job = exp / "embeddings" / "test_noise_0" / "xvector.1.scp"
    assert interrupt(stage5, RECIPE, env(), when=first_job.exists, worker=f"diffsv.bin.evaluate embed .*{exp}")
    assert not (exp / "embeddings" / "test" / "xvector.scp").exists()
    assert interrupt(stage5, RECIPE, env(), when=(exp / "scores").exists)
    embedded = {path: path.stat().st_mtime_ns for path in exp.glob("embeddings/*/xvector.scp")}
    assert len(embedded) == 21
    run_recipe(*stage5[2:])
    assert {path: path.stat().st_mtime_ns for path in exp.glob("embeddings/*/xvector.scp")} == embedded
    assert outputs() == uninterrupted


def test_stage5_fits_a_calibration_that_verify_uses(recipe: dict[str, Path]) -> None:
    exp, data = recipe["exp"] / "tiny", recipe["data"]
    conditions = " ".join(json.loads((exp / "results.json").read_text()))  # every condition: 105 trials
    stage5 = ["bash", "run.sh", "--stage", "5", "--stop-stage", "5", *recipe["common"]]
    stage5 += ["--calibrate-sets", conditions, "--calibrate-quality", "duration"]
    result = subprocess.run(stage5, cwd=RECIPE, env=env(), capture_output=True, text=True, timeout=600)
    if result.returncode != 0:  # the tiny model's scores may not separate at all on another CPU: said so
        assert "calibrate: higher scores do not mean the same speaker" in result.stderr, result.stderr[-2000:]
        assert not (exp / "calibration.json").exists()
        return
    stored = json.loads((exp / "calibration.json").read_text())
    assert stored["quality"] == "duration" and stored["trials"] == 21 * len(
        (data / "test" / "trials").read_text().splitlines()
    )
    first, second = (line.split()[1] for line in (data / "test" / "wav.scp").read_text().splitlines()[:2])
    verdict = diffsv.load_model(exp).verify(first, second)
    assert verdict.llr is not None and verdict.accepted == (verdict.llr >= verdict.threshold)
    (exp / "calibration.json").unlink()  # the later tests use the uncalibrated experiment


def test_the_snrs_given_to_stage2_are_the_conditions_stage5_reports(recipe: dict[str, Path], tmp_path: Path) -> None:
    data, exp = tmp_path / "data", tmp_path / "exp"
    (exp / "tiny").mkdir(parents=True)
    shutil.copy(recipe["exp"] / "tiny" / "final.pt", exp / "tiny")
    # stage 1's directories (and its list of sets) as the fixture made them; stage 2 afresh, at -5 and 5 dB
    shutil.copytree(
        recipe["data"], data, ignore=lambda _, names: [n for n in names if n.startswith(("test_", "noisy"))]
    )
    where = ["--data", str(data), "--exp", str(exp), "--noisy-format", "wav"]
    run_recipe("--stage", "2", "--stop-stage", "2", *recipe["common"], *where, "--snrs", "-5 5")
    report = run_recipe("--stage", "5", "--stop-stage", "5", *recipe["common"], *where, "--show-paper", "false").stdout
    noisy = [f"{noise}_{snr}" for noise in ("babble", "music", "noise", "nonspeech") for snr in (-5, 5)]
    assert list(json.loads((exp / "tiny" / "results.json").read_text())) == ["clean", *noisy]
    assert "| condition | system | -5 dB | 0 dB | 5 dB | 10 dB | 15 dB | 20 dB | avg |" in report
    embedded = {p: p.stat().st_mtime_ns for p in exp.glob("tiny/embeddings/*/xvector.scp")}
    # Stage 2 again with one SNR: stage 5 then scores exactly its sets, embedding nothing again.
    run_recipe("--stage", "2", "--stop-stage", "2", *recipe["common"], *where, "--snrs=5")
    run_recipe("--stage", "5", "--stop-stage", "5", *recipe["common"], *where)
    assert list(json.loads((exp / "tiny" / "results.json").read_text())) == ["clean", *noisy[1::2]]
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in embedded.items())


def test_stage6_exports_match_pytorch(recipe: dict[str, Path]) -> None:
    exp = recipe["exp"] / "tiny"
    export = exp / "export"
    # SIGKILLed once it has written its first exported file: nothing under the final name, and the re-run
    # removes the killed export's temporary directory.
    stage6 = ["bash", "run.sh", "--stage", "6", "--stop-stage", "6", *recipe["common"]]
    started = lambda: any(exp.glob(".export.tmp.*/*"))  # noqa: E731
    assert interrupt(stage6, RECIPE, env(), when=started, worker=f"diffsv.bin.export_model .*{exp}")
    assert not export.exists() and started()
    run_recipe(*stage6[2:])
    assert not list(exp.glob(".export.tmp.*"))
    description = json.loads((export / "export.json").read_text())
    assert description["inputs"]["wav"] == ["batch", 16000] and description["sampler"] == {"name": "euler", "steps": 2}
    assert (export / "config.yaml").is_file()
    model = load_model_file(exp / "final.pt")
    wav, noise = (tensor.numpy() for tensor in example_inputs(model, 16000, batch=3, seed=9))
    with torch.no_grad():
        expected = EmbeddingPipeline(model)(torch.from_numpy(wav), torch.from_numpy(noise)).numpy()
    for fmt, name in description["files"].items():
        assert description["check"][fmt]["max_abs_diff"] <= 1e-4
        np.testing.assert_allclose(ExportedRunner(fmt, export / name)(wav, noise), expected, atol=1e-4, rtol=0)
    before = (export / "export.json").stat().st_mtime_ns
    assert "nothing to do" in run_recipe("--stage", "6", "--stop-stage", "6", *recipe["common"]).stdout
    assert (export / "export.json").stat().st_mtime_ns == before


def test_an_ecapa_tdnn_diffsv_goes_through_the_same_stages(recipe: dict[str, Path]) -> None:
    """model.extractor.type alone makes an ECAPA-TDNN Diff-SV train (stage 4) and score every condition
    (stage 5) through the unchanged recipe (its export is tests/test_export.py's)."""
    config = write_config(
        recipe["root"] / "tiny_ecapa.yaml", extractor="ecapa_tdnn", epochs=1, pretrain_epochs=0, average_last=1
    )
    run_recipe("--stage", "3", "--stop-stage", "5", *recipe["common"], "--config", str(config))
    exp = recipe["exp"] / "tiny_ecapa"
    model = load_model_file(exp / "final.pt")
    assert type(model.extractor).__name__ == "ECAPATDNNExtractor" and model.enhancer is not None
    results = json.loads((exp / "results.json").read_text())
    assert len(results) == 21 and all(0.0 <= r["eer"] <= 1.0 for r in results.values())


def test_api_reproduces_stage5_and_reads_any_rate_and_channels(recipe: dict[str, Path], tmp_path: Path) -> None:
    exp, data = recipe["exp"] / "tiny", recipe["data"]
    model = diffsv.load_model(exp, segments=None)  # the experiment's stage-5 protocol
    assert (model.segments.segments, model.segments.segment_samples) == (4, 16000)
    wav_scp = dict(line.split(maxsplit=1) for line in (data / "test" / "wav.scp").read_text().splitlines())
    stage5 = dict(kaldiio.load_scp(str(exp / "embeddings" / "test" / "xvector.scp")))
    renamed = [(f"any name {k}", path) for k, path in enumerate(wav_scp.values())]  # the audio seeds, not the id
    ours = dict(zip(wav_scp, (embedding for _, embedding in model.embed_all(renamed)), strict=True))
    for utt, embedding in ours.items():
        np.testing.assert_allclose(embedding, stage5[utt], atol=1e-5, rtol=0)
    scores = [line.split() for line in (exp / "scores" / "clean.score").read_text().splitlines()]
    for enrol, test, value in scores[:5]:
        assert model.similarity(ours[enrol], ours[test]) == pytest.approx(float(value), abs=1e-5)
    threshold = json.loads((exp / "results.json").read_text())["clean"]["eer_threshold"]
    assert model.threshold == threshold
    first, second = (wav_scp[utt] for utt in list(wav_scp)[:2])
    verdict = model.verify(first, second)
    assert verdict.threshold == threshold and verdict.accepted == (verdict.score >= threshold)
    again = model.embed(first)  # the noise is seeded by the audio: the same input, the same embedding
    np.testing.assert_array_equal(again, model.embed(first))
    assert model.verify(first, first).score == pytest.approx(model.similarity(again, again), abs=1e-12)
    # Two identical channels embed as the mono file; another rate is resampled to the model's.
    mono, rate = soundfile.read(first, dtype="float32")
    soundfile.write(tmp_path / "stereo.wav", np.stack([mono, mono], axis=1), rate, subtype="FLOAT")
    np.testing.assert_array_equal(model.embed(tmp_path / "stereo.wav"), model.embed(mono, sample_rate=rate))
    pcm, _ = soundfile.read(first, dtype="int16")  # integer PCM is scaled by its range: the same audio
    np.testing.assert_array_equal(model.embed(pcm, sample_rate=rate), model.embed(first))
    tones = np.sin(2 * np.pi * np.outer([440.0, 1250.0], np.arange(rate) / rate)).sum(0).astype(np.float32)
    upsampled = torchaudio.functional.resample(torch.from_numpy(tones), rate, 44100).numpy()
    back = model.load_audio(np.stack([upsampled, upsampled]), sample_rate=44100)
    assert back.shape == tones.shape and np.abs(back - tones)[100:-100].max() < 0.01
    with pytest.raises(AudioError, match="NaN"):
        model.embed(np.full(16000, np.nan, dtype=np.float32), sample_rate=rate)
    with pytest.raises(AudioError, match="audio array: 399 samples, fewer than the 400 of one frame"):
        model.embed(np.ones(399, dtype=np.float32), sample_rate=rate)
    with pytest.raises(AudioError, match="audio array: give its sample_rate"):
        model.embed(mono)
    silence = tmp_path / "silence.wav"
    soundfile.write(silence, np.zeros(3 * rate, dtype=np.float32), rate)
    with pytest.raises(AudioError, match=r"silence.wav: 0.00 s above -50 dBFS, less than the 0.5 s"):
        model.embed(silence)
    with pytest.raises(AudioError, match=r"audio array: 0.1\d s above -50 dBFS"):
        model.embed(mono[: rate // 5], sample_rate=rate)  # a 0.2 s clip
    assert diffsv.load_model(exp, min_speech=0).embed(silence).shape == (3, 16)  # 3 s, whole: 3 windows


def test_the_api_embeds_whole_recordings_by_default(recipe: dict[str, Path]) -> None:
    exp, data = recipe["exp"] / "tiny", recipe["data"]
    model = diffsv.load_model(exp)
    assert model.segments.segments == "all"
    wav_scp = dict(line.split(maxsplit=1) for line in (data / "test" / "wav.scp").read_text().splitlines())
    paths = list(wav_scp.values())
    a, rate = soundfile.read(paths[0], dtype="float32")
    b, _ = soundfile.read(paths[-1], dtype="float32")  # another speaker: the test set is sorted by speaker
    alone, longer = model.embed(a, sample_rate=rate), model.embed(np.concatenate([a, b, b, b]), sample_rate=rate)
    assert longer.shape[0] == -(-(a.shape[0] + 3 * b.shape[0]) // rate) > alone.shape[0]
    assert model.similarity(alone, longer) < 0.999  # what follows the first seconds counts
    np.testing.assert_array_equal(alone, model.embed(a, sample_rate=rate))


def test_command_line(recipe: dict[str, Path], tmp_path: Path) -> None:
    exp, data = recipe["exp"] / "tiny", recipe["data"]

    def diffsv_cli(*args: str, code: int = 0) -> subprocess.CompletedProcess:
        result = subprocess.run([str(VENV_BIN / "diffsv"), *args], env=env(), capture_output=True, text=True)
        assert result.returncode == code, result.stderr
        return result

    for command in ("embed", "score", "verify", "enhance", "calibrate"):
        assert diffsv_cli(command, "--help").stdout.startswith(f"usage: diffsv {command}")
    lines = (data / "test" / "wav.scp").read_text().splitlines()
    first = lines[0].split()[1]
    mono, rate = soundfile.read(first, dtype="float32")
    stereo = write_wav(tmp_path / "stereo 22k.wav", 1.5, sample_rate=22050, channels=2, seed=3)
    (tmp_path / "wav.scp").write_text("".join(line + "\n" for line in lines[:3]) + f"zz_extra {stereo}\n")
    diffsv_cli(
        "embed", str(tmp_path / "wav.scp"), str(tmp_path / "out.ark"), "--model", str(exp), "--segments", "stage5"
    )
    embedded = dict(kaldiio.load_scp(str(tmp_path / "out.scp")))
    stage5 = dict(kaldiio.load_scp(str(exp / "embeddings" / "test" / "xvector.scp")))
    assert list(embedded) == [line.split()[0] for line in lines[:3]] + ["zz_extra"]
    assert embedded["zz_extra"].shape == (4, 16)
    for utt in list(embedded)[:3]:
        np.testing.assert_allclose(embedded[utt], stage5[utt], atol=1e-5, rtol=0)
    diffsv_cli("embed", str(tmp_path / "wav.scp"), str(tmp_path / "whole.ark"), "--model", str(exp))
    whole = dict(kaldiio.load_scp(str(tmp_path / "whole.scp")))
    api = diffsv.load_model(exp)
    assert whole["zz_extra"].shape == (2, 16)  # 1.5 s in windows of 1 s: two, overlapping
    for utt, path in [line.split() for line in lines[:3]]:
        np.testing.assert_allclose(whole[utt], api.embed(path), atol=1e-5, rtol=0)
    (tmp_path / "pair").write_text(f"{lines[0].split()[0]} zz_extra\n")
    scored = diffsv_cli("score", str(tmp_path / "pair"), str(tmp_path / "whole.scp")).stdout.split()[-1]
    verified = diffsv_cli("verify", first, str(stereo), "--model", str(exp)).stdout
    assert f"score {float(scored):.4f}" in verified  # one pair, one score, whichever path
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(rate, dtype=np.float32), rate)
    refused = diffsv_cli("verify", first, str(silent), "--model", str(exp), code=1).stderr
    assert "silent.wav: 0.00 s above -50 dBFS" in refused and "--allow-short" in refused
    diffsv_cli("verify", first, str(silent), "--model", str(exp), "--allow-short")

    trials = data / "test" / "trials"
    result = diffsv_cli("score", str(trials), str(exp / "embeddings" / "test" / "xvector.scp"))
    assert len(result.stdout.splitlines()) == len(trials.read_text().splitlines()) and "EER" in result.stderr

    verdict = diffsv_cli("verify", first, str(stereo), "--model", str(exp)).stdout
    assert ("same speaker" in verdict or "different speakers" in verdict) and "threshold" in verdict
    diffsv_cli("enhance", first, str(tmp_path / "front end.png"), "--model", str(exp))
    assert (tmp_path / "front end.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    missing = diffsv_cli("verify", str(tmp_path / "absent.wav"), first, "--model", str(exp), code=1).stderr
    assert "absent.wav: no such file" in missing and "Traceback" not in missing
    bad = diffsv_cli(
        "embed", str(tmp_path / "wav.scp"), str(tmp_path / "x.ark"), "--model", str(exp), "--sampler", "ddim", code=1
    )
    assert "unknown sampler 'ddim'" in bad.stderr


def test_stage5_embeds_again_only_when_the_sampler_changes(recipe: dict[str, Path]) -> None:
    exp = recipe["exp"] / "tiny"
    record = exp / "embeddings" / "test" / "embedding.json"
    euler_scores = (exp / "scores" / "clean.score").read_text()
    run_recipe("--stage", "5", "--stop-stage", "5", *recipe["common"], "--sampler", "heun", "--sampler-steps", "1")
    made = json.loads(record.read_text())
    assert (made["sampler"], made["steps"], made["segments"]) == ("heun", 1, 4) and len(made["model_sha256"]) == 64
    assert (exp / "scores" / "clean.score").read_text() != euler_scores
    assert diffsv.load_model(exp).model.config.diffusion.sampler == "heun"  # the API follows the record


def test_stage5_mean_subtraction_and_asnorm(recipe: dict[str, Path]) -> None:
    exp = recipe["exp"] / "tiny"
    plain = (exp / "scores" / "clean.score").read_text()
    run_recipe(
        "--stage",
        "5",
        "--stop-stage",
        "5",
        *recipe["common"],
        "--score-norm",
        "asnorm",
        "--cohort-utts",
        "4",
        "--asnorm-top-n",
        "2",
    )
    cohort = exp / "embeddings" / "cohort"
    assert len((cohort / "wav.scp").read_text().splitlines()) == 4
    assert len(dict(kaldiio.load_scp(str(cohort / "xvector.scp")))) == 4
    assert np.load(cohort / "mean.npy").shape == (16,)
    normed = (exp / "scores" / "clean.score").read_text()
    assert normed != plain and len(normed.splitlines()) == len(plain.splitlines())
    # The API scores without a cohort: it subtracts the mean, but has no threshold for AS-normed scores.
    model = diffsv.load_model(exp)
    np.testing.assert_array_equal(model.mean, np.load(cohort / "mean.npy"))
    assert model.threshold is None
    with pytest.raises(ValueError, match="no threshold given"):
        model.verify(np.ones(8000, dtype=np.float32), np.ones(8000, dtype=np.float32))


def test_killed_training_resumes_from_its_last_checkpoint(recipe: dict[str, Path]) -> None:
    exp = recipe["root"] / "killed"
    config = write_config(recipe["root"] / "long.yaml", epochs=4, pretrain_epochs=0)
    data = recipe["data"]
    straight = recipe["root"] / "straight"

    def command(exp_dir: Path) -> list[str]:
        return [
            str(VENV_BIN / "python"), "-m", "diffsv.bin.train", "--phase", "joint", "--config", str(config),
            "--exp", str(exp_dir), "--train-data", str(data / "train"), "--pools", str(data), "--no-progress",
        ]  # fmt: skip

    process = subprocess.Popen(command(exp), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (exp / "joint" / "epoch_1.pt").exists() and time.monotonic() < deadline:
        assert process.poll() is None, "training ended before it could be killed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = sorted(p.name for p in (exp / "joint").glob("epoch_*.pt"))
    assert done and "epoch_4.pt" not in done
    # SIGKILL may leave a hidden temporary file; every file under its real name must be complete.
    for path in (exp / "joint").glob("[!.]*"):
        if path.suffix == ".pt":
            assert load_checkpoint(path)["model"], path
        elif path.suffix == ".json":
            json.loads(path.read_text())
    result = subprocess.run(command(exp), env=env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    log = (exp / "joint" / "train.log").read_text()
    assert f"resumed from {exp / 'joint' / done[-1]}" in log
    assert sorted(p.name for p in (exp / "joint").glob("epoch_*.pt"))[-1] == "epoch_4.pt"
    assert (exp / "final.pt").is_file() and not list(exp.rglob(".*.tmp.*"))
    # The same command never interrupted: after the resume point, the same losses step for step and the
    # same weights.
    result = subprocess.run(command(straight), env=env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr

    def steps(text: str) -> list[str]:  # "epoch E step S name=value ..." of each logged step
        return [line.split(" ", 2)[2] for line in text.splitlines() if " loss=" in line]

    after_resume = steps(log.split("resumed from")[1])
    assert after_resume and after_resume == steps((straight / "joint" / "train.log").read_text())[-len(after_resume) :]
    for path in ("final.pt", "joint/epoch_4.pt"):
        ours, reference = (load_checkpoint(root / path)["model"] for root in (exp, straight))
        assert all(torch.equal(ours[name], reference[name]) for name in reference), path


def test_baseline_cannot_be_pretrained(recipe: dict[str, Path], tmp_path: Path) -> None:
    config = tiny_experiment(architecture="baseline", pretrain_epochs=1)
    path = tmp_path / "baseline.yaml"
    path.write_text(yaml.safe_dump(to_dict(config)))
    data = recipe["data"]
    result = subprocess.run(
        [
            str(VENV_BIN / "python"),
            "-m",
            "diffsv.bin.train",
            "--phase",
            "pretrain",
            "--config",
            str(path),
            "--exp",
            str(tmp_path / "exp"),
            "--train-data",
            str(data / "train"),
            "--pools",
            str(data),
        ],  # fmt: skip
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "baseline has no enhancer" in result.stderr


@pytest.mark.parametrize(
    "stage, missing, maker",
    [(2, "data/test/wav.scp", 1), (3, "data/train/wav.scp", 1), (4, "data/train/wav.scp", 1),
     (5, "exp/tiny/final.pt", 4), (6, "exp/tiny/final.pt", 4)],
)  # fmt: skip
def test_a_stage_without_its_inputs_names_the_stage_that_makes_them(
    tmp_path: Path, stage: int, missing: str, maker: int
) -> None:
    config = write_config(tmp_path / "tiny.yaml")
    command = ["bash", "run.sh", "--stage", str(stage), "--stop-stage", str(stage), "--config", str(config)]
    command += ["--data", str(tmp_path / "data"), "--exp", str(tmp_path / "exp")]
    result = subprocess.run(command, cwd=RECIPE, env=env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"{tmp_path / missing} not found: run stage {maker} first")
    assert not (tmp_path / "exp").exists() or not any((tmp_path / "exp").rglob("*.pt"))

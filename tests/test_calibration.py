"""Score calibration: its metrics, that a fit recovers a known map and improves Cllr, its stored form, the
two ways of fitting it (an experiment's stage-5 scores, ``diffsv calibrate``) and its use by ``verify``.
Synthetic scores and an untrained tiny model: seconds."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from training_helpers import tiny_experiment

import diffsv
from diffsv import cli
from diffsv.bin import calibrate as calibrate_bin
from diffsv.calibration import (
    DEFAULT_TARGET_PRIOR,
    Calibration,
    actual_dcf,
    bayes_threshold,
    cllr,
    fit,
    min_cllr,
)
from diffsv.data.eval_sets import EvalSet, write_eval_sets
from diffsv.embedding_store import file_digest
from diffsv.experiment import Experiment
from diffsv.metrics import min_dcf
from diffsv.models import DiffSV
from diffsv.models.model_file import save_model_file

RATE = 16_000


def gaussian_scores(seed: int, n_target: int = 2000, n_nontarget: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """Targets N(1, 1), non-targets N(-1, 1): the true LLR of ``s`` is ``2 s``."""
    rng = np.random.default_rng(seed)
    s = np.concatenate([rng.normal(1.0, 1.0, n_target), rng.normal(-1.0, 1.0, n_nontarget)])
    return s, np.concatenate([np.ones(n_target, dtype=int), np.zeros(n_nontarget, dtype=int)])


def test_cllr_of_perfect_useless_and_misleading_llrs() -> None:
    labels = np.array([1, 1, 0, 0, 0])
    assert cllr(np.where(labels == 1, 60.0, -60.0), labels) == pytest.approx(0.0, abs=1e-20)
    assert cllr(np.zeros(5), labels) == pytest.approx(1.0)  # LLR 0: says nothing, costs 1 bit
    assert cllr(np.where(labels == 1, -2.0, 2.0), labels) > 1.0  # confidently wrong is worse than nothing
    assert cllr(np.array([np.inf, np.inf, -np.inf, -np.inf, -np.inf]), labels) == 0.0
    assert min_cllr(np.array([0.9, 0.8, 0.1, 0.2, 0.3]), labels) == 0.0  # separable scores: PAV's LLRs are infinite
    assert min_cllr(np.array([0.5, 0.5, 0.5, 0.5, 0.5]), labels) == pytest.approx(1.0)  # one tied block
    with pytest.raises(ValueError, match="no target trials"):
        cllr(np.zeros(3), np.zeros(3))


def test_actual_dcf_decides_at_the_bayes_threshold() -> None:
    assert bayes_threshold(0.5) == 0.0 and bayes_threshold(0.01) == pytest.approx(math.log(99))
    assert bayes_threshold(0.01, c_miss=10) == pytest.approx(math.log(9.9))
    labels = np.array([1, 1, 0, 0])
    assert actual_dcf(np.zeros(4), labels, 0.05) == 1.0  # every trial rejected at log(19): all targets missed
    # One target just below log(19), one non-target at it (accepted): P_miss 1/2, P_fa 1/2.
    llrs = np.array([9.0, math.log(19) - 1e-9, math.log(19), -3.0])
    assert actual_dcf(llrs, labels, 0.05) == pytest.approx((0.05 * 0.5 + 0.95 * 0.5) / 0.05)
    with pytest.raises(ValueError, match="p_target must be in"):
        actual_dcf(llrs, labels, 1.0)


@pytest.mark.parametrize("p_target", [0.5, DEFAULT_TARGET_PRIOR])
def test_a_fit_recovers_a_known_affine_map_and_improves_cllr(p_target: float) -> None:
    s, labels = gaussian_scores(seed=1)
    raw = 0.1 * s + 0.5  # cosine-like scores: the true LLR is 20 raw - 10
    calibration = fit(raw, labels, p_target=p_target, trained_on=["synthetic"])
    (weight,) = calibration.weights
    assert weight == pytest.approx(20.0, rel=0.05) and calibration.bias == pytest.approx(-10.0, abs=0.5)
    assert (calibration.p_target, calibration.trials, calibration.trained_on) == (p_target, 22000, ("synthetic",))
    test, test_labels = gaussian_scores(seed=2)  # held out
    llrs = calibration.llr(0.1 * test + 0.5)
    assert cllr(llrs, test_labels) < 0.6 * cllr(0.1 * test + 0.5, test_labels)
    assert cllr(llrs, test_labels) == pytest.approx(cllr(2.0 * test, test_labels), abs=0.01)
    assert cllr(llrs, test_labels) >= min_cllr(test, test_labels)
    for p in (0.05, 0.01):  # calibrated decisions cost little more than the best threshold chosen afterwards
        assert actual_dcf(llrs, test_labels, p) <= min_dcf(test, test_labels, p) + 0.05
    assert fit(raw, labels, p_target=p_target) == fit(raw, labels, p_target=p_target)  # deterministic


def duration_trials(seed: int, n: int = 30000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, labels and durations whose true log posterior odds are ``6 s + 1.5 min log d - 4``: the
    shorter side's duration matters, the longer's does not."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(0.0, 1.0, n)
    durations = rng.uniform(1.0, 20.0, (n, 2))
    logit = 6.0 * scores + 1.5 * np.log(durations.min(axis=1)) - 4.0
    labels = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return scores, labels, durations


def test_the_duration_quality_measure_is_learnt_and_symmetric() -> None:
    scores, labels, durations = duration_trials(seed=3)
    calibration = fit(scores, labels, durations, quality="duration", p_target=0.5)
    score_weight, min_weight, max_weight = calibration.weights
    assert score_weight == pytest.approx(6.0, rel=0.1) and min_weight == pytest.approx(1.5, abs=0.3)
    assert abs(max_weight) < 0.3
    held_out = duration_trials(seed=4)
    plain = fit(scores, labels, p_target=0.5)
    assert cllr(calibration.llr(held_out[0], held_out[2]), held_out[1]) < cllr(plain.llr(held_out[0]), held_out[1])
    swapped = held_out[2][:, ::-1]  # which side is the enrolment does not change the LLR
    np.testing.assert_array_equal(calibration.llr(held_out[0], held_out[2]), calibration.llr(held_out[0], swapped))
    with pytest.raises(ValueError, match="needs the durations"):
        calibration.llr(held_out[0])
    with pytest.raises(ValueError, match="every trial has the same min_log_duration"):
        fit(scores, labels, np.full((len(scores), 2), 3.0), quality="duration")
    with pytest.raises(ValueError, match="higher scores do not mean the same speaker"):
        fit(-scores, labels)


def test_json_round_trip_and_a_corrupt_file_named(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    calibration = Calibration((12.5, 0.25, -0.5), -7.0, "duration", 0.05, ("babble_0", "music_5"), 14280, "ab" * 32)
    calibration.to_json(path)
    assert Calibration.from_json(path) == calibration
    assert [p.name for p in tmp_path.iterdir()] == ["calibration.json"]  # no temporary left beside it
    record = json.loads(path.read_text())
    assert record["weights"] == {"score": 12.5, "min_log_duration": 0.25, "max_log_duration": -0.5}
    broken = {
        "{not json": "not valid JSON",
        json.dumps({**record, "bias": None}): "bias must be a finite number",
        json.dumps({k: v for k, v in record.items() if k != "p_target"}): "no 'p_target'",
        json.dumps({**record, "quality": None}): "weights must be an object of score, in that order",
        json.dumps({**record, "quality": "snr"}): "unknown quality measure 'snr'",
        json.dumps({**record, "trials": 0}): "trials must be a positive integer",
        json.dumps({**record, "p_target": 1.5}): "p_target must be in",
    }
    for text, problem in broken.items():
        path.write_text(text)
        with pytest.raises(ValueError, match=problem) as caught:
            Calibration.from_json(path)
        assert str(caught.value).startswith(f"{path}: ")


def fake_experiment(root: Path, conditions: dict[str, float]) -> tuple[Experiment, Path]:
    """An experiment scored by stage 5 on ``conditions`` (each's separation of targets from non-targets),
    and its data directory: 20 utterances of 5 speakers, all 190 pairs as trials, utt2dur, eval_sets.json."""
    exp, data = Experiment(root / "exp" / "sys"), root / "data"
    utts = [f"spk{i % 5}-u{i:02d}" for i in range(20)]
    pairs = list(itertools.combinations(sorted(utts), 2))
    trials = data / "test" / "trials"
    trials.parent.mkdir(parents=True)
    labels = [u.split("-")[0] == v.split("-")[0] for u, v in pairs]
    trials.write_text(
        "".join(f"{u} {v} {'target' if t else 'nontarget'}\n" for (u, v), t in zip(pairs, labels, strict=True))
    )
    rng = np.random.default_rng(0)
    sets = []
    for condition, separation in conditions.items():
        directory = data / f"test_{condition}"
        directory.mkdir(parents=True)
        (directory / "utt2dur").write_text("".join(f"{u} {1.0 + 0.2 * i:.1f}\n" for i, u in enumerate(sorted(utts))))
        scores = [rng.normal(0.4 + separation * t, 0.1) for t in labels]
        exp.scores_dir.mkdir(parents=True, exist_ok=True)
        exp.score_file(condition).write_text(
            "".join(f"{u} {v} {s:.6f}\n" for (u, v), s in zip(pairs, scores, strict=True))
        )
        exp.embedding_record(directory.name).parent.mkdir(parents=True)
        exp.embedding_record(directory.name).write_text(json.dumps({"model_sha256": "c0ffee"}))
        sets.append(EvalSet(condition, directory, trials))
    (exp.scoring_record).write_text(json.dumps({"mean": None, "asnorm_cohort": None, "asnorm_top_n": None}))
    write_eval_sets(data, "make_noisy_sets", sets)
    return exp, data


def test_the_entry_point_fits_an_experiments_scores(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    exp, data = fake_experiment(tmp_path, {"babble_0": 0.2, "music_5": 0.3, "noise_10": 0.25})
    args = ["--exp", str(exp.root), "--data", str(data), "--sets", "babble_0,music_5", "--quality", "duration"]
    assert calibrate_bin.main(args) == 0
    assert f"wrote {exp.calibration_file}: LLR = " in capsys.readouterr().out
    calibration = Calibration.from_json(exp.calibration_file)
    assert calibration.trained_on == ("babble_0", "music_5") and calibration.trials == 380
    assert calibration.quality == "duration" and calibration.model_sha256 == "c0ffee"
    assert calibration.p_target == DEFAULT_TARGET_PRIOR and calibration.weights[0] > 0
    assert not [p for p in exp.root.iterdir() if p.name.startswith(".")]  # written atomically: no temporaries
    # A failing fit (an unknown condition, a score file cut short) leaves the stored calibration as it was.
    before = exp.calibration_file.read_bytes()
    assert calibrate_bin.main(["--exp", str(exp.root), "--data", str(data), "--sets", "noise_5"]) == 1
    assert f"{data}/eval_sets.json: no set 'noise_5'" in capsys.readouterr().err
    lines = exp.score_file("noise_10").read_text().splitlines()
    exp.score_file("noise_10").write_text("\n".join(lines[:-1]) + "\n")
    assert calibrate_bin.main(["--exp", str(exp.root), "--data", str(data), "--sets", "noise_10"]) == 1
    assert f"{exp.score_file('noise_10')}: no score for trial" in capsys.readouterr().err
    assert exp.calibration_file.read_bytes() == before
    exp.scoring_record.write_text(json.dumps({"mean": None, "asnorm_cohort": "cohort.scp", "asnorm_top_n": 300}))
    assert calibrate_bin.main(["--exp", str(exp.root), "--data", str(data), "--sets", "babble_0"]) == 1
    assert "stage 5 scored with AS-norm" in capsys.readouterr().err


def test_the_command_fits_explicit_files_into_the_experiment(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    exp, data = fake_experiment(tmp_path, {"babble_0": 0.2})
    files = [str(exp.score_file("babble_0")), str(data / "test" / "trials")]
    assert cli.main(["calibrate", *files, "--model", str(exp.root), "--target-prior", "0.01"]) == 0
    assert Calibration.from_json(exp.calibration_file).p_target == 0.01
    utt2dur = str(data / "test_babble_0" / "utt2dur")
    assert cli.main(["calibrate", *files, "--utt2dur", utt2dur, "--model", str(exp.root)]) == 0
    calibration = Calibration.from_json(exp.calibration_file)
    assert calibration.quality == "duration" and calibration.trained_on == (files[0],)
    assert calibration.model_sha256 is None  # explicit files: the model that scored them is not known
    assert f"diffsv calibrate: wrote {exp.calibration_file}" in capsys.readouterr().err
    assert cli.main(["calibrate", *files, "--model", files[0]]) == 1
    assert "not an experiment directory" in capsys.readouterr().err


def tone(path: Path, seconds: float, pitch: float) -> Path:
    t = np.arange(round(seconds * RATE)) / RATE
    samples = 0.3 * np.sin(2 * np.pi * pitch * t) + 0.1 * np.sin(2 * np.pi * 3.1 * pitch * t)
    soundfile.write(str(path), samples.astype(np.float32), RATE, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def tiny_exp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Experiment, Path, Path]:
    """An untrained tiny baseline as an experiment, its recorded protocol one 1-s segment; two recordings."""
    root = tmp_path_factory.mktemp("verify")
    exp = Experiment(root / "exp")
    config = tiny_experiment(architecture="baseline").model
    torch.manual_seed(0)
    exp.root.mkdir()
    save_model_file(exp.model_file(), DiffSV(config).state_dict(), config)
    exp.embedding_record("test").parent.mkdir(parents=True)
    exp.embedding_record("test").write_text(json.dumps({"segments": 1, "segment_samples": RATE}))
    return exp, tone(root / "a.wav", 1.0, 180.0), tone(root / "b.wav", 1.5, 230.0)


def test_verify_decides_with_the_llr_when_calibrated(
    tiny_exp: tuple[Experiment, Path, Path], capsys: pytest.CaptureFixture
) -> None:
    exp, a, b = tiny_exp
    exp.calibration_file.unlink(missing_ok=True)
    uncalibrated = diffsv.load_model(exp.root)
    score = uncalibrated.score(a, b)
    plain = uncalibrated.verify(a, b, threshold=score)
    assert (plain.llr, plain.target_prior, plain.accepted) == (None, None, True)
    # LLR = 2 score + 0.5 min log d + bias, set to lie 0.5 above the Bayes threshold at the default prior.
    bias = bayes_threshold(DEFAULT_TARGET_PRIOR) + 0.5 - 2.0 * score - 0.5 * math.log(1.0)
    stored = Calibration((2.0, 0.5, 0.0), bias, "duration", 0.05, ("x",), 10, file_digest(exp.model_file()))
    stored.to_json(exp.calibration_file)
    model = diffsv.load_model(exp.root)
    result = model.verify(a, b)
    assert result.llr == pytest.approx(bayes_threshold(DEFAULT_TARGET_PRIOR) + 0.5)
    assert (result.threshold, result.target_prior, result.accepted) == (bayes_threshold(0.05), 0.05, True)
    assert result.score == pytest.approx(score, abs=1e-12)
    rarer = model.verify(a, b, target_prior=0.01)  # log(99) is 1.65 above log(19): rejected
    assert (rarer.llr, rarer.accepted, rarer.threshold) == (result.llr, False, pytest.approx(math.log(99)))
    given = model.verify(a, b, threshold=score + 1.0)  # an explicit score threshold decides; the LLR is reported
    assert (given.accepted, given.target_prior, given.llr) == (False, None, result.llr)
    assert cli.main(["verify", str(a), str(b), "--model", str(exp.root), "--target-prior", "0.01"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"different speakers: LLR {result.llr:.3f} (score {score:.4f}), threshold 4.595")
    assert "at target prior 0.01" in printed


def test_a_calibration_of_another_model_is_refused(tiny_exp: tuple[Experiment, Path, Path]) -> None:
    exp, _, _ = tiny_exp
    Calibration((2.0,), -1.0, None, 0.05, ("x",), 10, "0" * 64).to_json(exp.calibration_file)
    with pytest.raises(ValueError, match="calibration.json: fitted to the scores of another model file"):
        diffsv.load_model(exp.root)
    exp.calibration_file.write_text("[]")
    with pytest.raises(ValueError, match=f"{exp.calibration_file}: expected a JSON object"):
        diffsv.load_model(exp.root)
    exp.calibration_file.unlink()

"""The reverse-diffusion samplers against the exact solution of the probability-flow ODE.

For Gaussian data, y_0 ~ N(m, s^2) elementwise, the score of y_t = alpha_t y_0 + sigma_t eps is known in
closed form and the probability-flow ODE keeps the standardised value of y fixed: the exact sample at
time t is alpha_t m + sqrt(alpha_t^2 s^2 + sigma_t^2) z, with z read off the starting point at t = 1.
"""

from __future__ import annotations

import math

import pytest
import torch

from diffsv.models.diffusion import DiffusionConfig, MeanRevertingDiffusion
from diffsv.models.samplers import FINAL_TIME, SAMPLERS, Schedule, sample, score_evaluations
from diffsv.models.score_network import ScoreNetwork, ScoreNetworkConfig

SCHEDULE = Schedule(0.05, 20.0)
DATA_MEAN, DATA_STD = 0.7, 1.8


def gaussian_score(x: torch.Tensor, mu: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    integral = SCHEDULE.integral(t)[:, None, None]
    alpha = torch.exp(-0.5 * integral)
    variance = alpha**2 * DATA_STD**2 + (1.0 - alpha**2)
    return -((x - mu) - alpha * DATA_MEAN) / variance


def exact(mu: torch.Tensor, noise: torch.Tensor, t: float) -> torch.Tensor:
    def spread(time: float) -> tuple[float, float]:
        alpha, sigma = SCHEDULE.alpha_sigma(time)
        return alpha, math.sqrt(alpha**2 * DATA_STD**2 + sigma**2)

    alpha_1, spread_1 = spread(1.0)
    z = (noise - alpha_1 * DATA_MEAN) / spread_1
    alpha_t, spread_t = spread(t)
    return mu + alpha_t * DATA_MEAN + spread_t * z


@pytest.fixture(scope="module")
def problem() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(2, 8, 12, generator=generator, dtype=torch.float64)
    return mu, torch.randn(2, 8, 12, generator=generator, dtype=torch.float64)


def error(sampler: str, steps: int, problem: tuple[torch.Tensor, torch.Tensor]) -> float:
    mu, noise = problem
    end = 0.0 if sampler == "euler" else FINAL_TIME
    return (sample(gaussian_score, SCHEDULE, mu, noise, sampler, steps) - exact(mu, noise, end)).abs().max().item()


@pytest.mark.parametrize("sampler", SAMPLERS.names())
def test_every_sampler_converges_to_the_exact_path(sampler: str, problem) -> None:
    errors = [error(sampler, steps, problem) for steps in (4, 16, 64, 256)]
    assert all(later < earlier for earlier, later in zip(errors, errors[1:], strict=False)), errors
    assert errors[-1] < 1e-2, errors


def test_heun_and_dpm_solver_are_second_order(problem) -> None:
    # Four times the steps: a first-order method's error falls about 4-fold, a second-order one's 16-fold.
    def reduction(sampler: str) -> float:
        return error(sampler, 64, problem) / error(sampler, 256, problem)

    assert reduction("euler") < 6
    assert reduction("heun") > 12 and reduction("dpm_solver") > 12
    assert score_evaluations("dpm_solver", 3) == 3 and score_evaluations("heun", 2) == 4


def test_log_snr_grid_runs_from_one_to_the_final_time() -> None:
    grid = SCHEDULE.log_snr_grid(4)
    assert grid[0] == 1.0 and grid[-1] == FINAL_TIME and grid == sorted(grid, reverse=True)
    steps = [SCHEDULE.log_snr(b) - SCHEDULE.log_snr(a) for a, b in zip(grid, grid[1:], strict=False)]
    assert max(steps) - min(steps) < 1e-9
    assert SCHEDULE.time_of_log_snr(SCHEDULE.log_snr(0.3)) == pytest.approx(0.3, abs=1e-12)


def test_model_sampler_follows_the_config_and_rejects_unknown_names() -> None:
    torch.manual_seed(0)
    diffusion = MeanRevertingDiffusion(
        ScoreNetwork(ScoreNetworkConfig(width=8, multipliers=(1, 2), attention_head_channels=8)),
        DiffusionConfig(steps=3, sampler="dpm_solver"),
    ).eval()
    mu, noise = torch.randn(1, 8, 20), torch.randn(1, 8, 20)
    configured = diffusion.sample(mu, noise)
    assert torch.equal(configured, diffusion.sample(mu, noise, 3, "dpm_solver"))
    assert not torch.equal(configured, diffusion.sample(mu, noise, 3, "euler"))
    with pytest.raises(ValueError, match="unknown sampler 'ddim'"):
        diffusion.sample(mu, noise, 3, "ddim")
    with pytest.raises(ValueError, match="at least 1"):
        sample(gaussian_score, SCHEDULE, mu, noise, "heun", 0)


def test_bad_sampler_settings_are_refused_where_they_are_given(tmp_path, capsys) -> None:
    from training_helpers import tiny_experiment

    from diffsv.bin import evaluate, extract_embeddings
    from diffsv.config import ConfigError, load_config
    from diffsv.models import DiffSV, ModelConfig

    model = DiffSV(tiny_experiment().model)
    with pytest.raises(ValueError, match="at least 1, got 0"):
        model.use_sampler("heun", 0)
    with pytest.raises(ValueError, match="unknown sampler 'ddim'"):
        model.use_sampler("ddim")
    model.use_sampler(steps=5)
    assert (model.config.diffusion.sampler, model.config.diffusion.steps) == ("euler", 5)
    config = tmp_path / "model.yaml"
    config.write_text("diffusion:\n  steps: 0\n")
    with pytest.raises(ConfigError, match="diffusion.*at least 1"):
        load_config(config, ModelConfig)
    config.write_text("diffusion:\n  sampler: ddim\n")
    with pytest.raises(ConfigError, match=r"model.yaml:2: 'diffusion.sampler': unknown sampler 'ddim'; choose one of"):
        load_config(config, ModelConfig)
    with pytest.raises(SystemExit) as exit_info:
        extract_embeddings.parse_args(["--model", "m.pt", "--data", "d", "--output-dir", "o", "--sampler-steps", "0"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        evaluate.parse_args(["plan", "--exp", "e", "--data", "d", "--sampler", "ddim"])
    assert exit_info.value.code == 2 and "unknown sampler 'ddim'; choose one of euler" in capsys.readouterr().err


def test_corrupt_stage5_records(tmp_path) -> None:
    from diffsv.embedding_store import embeddings_current
    from diffsv.experiment import EMBEDDING_RECORD, read_record

    broken = tmp_path / EMBEDDING_RECORD
    broken.write_text('{"mean": ')
    with pytest.raises(ValueError, match=f"{broken}: not valid JSON"):
        read_record(broken)
    assert read_record(tmp_path / "absent.json") == {}
    (tmp_path / "xvector.scp").write_text("u1 xvector.ark:4\n")
    assert not embeddings_current(tmp_path, {"segments": 1}, ["u1"])  # the set is embedded again, record rewritten

"""Reverse-time samplers of the mean-reverting diffusion: the reference Euler and two faster solvers.

All integrate the probability-flow ODE ``dx/dt = beta(t) (mu - x - s(x, t)) / 2`` from ``x_1 = mu + noise``.
With ``y = x - mu`` the forward process is the standard VP one, ``y_t = alpha_t y_0 + sigma_t eps`` with
``alpha_t = exp(-B(t) / 2)`` and ``sigma_t^2 = 1 - alpha_t^2``, so the solvers written for VP diffusion apply
to ``y``; the score network's output gives the noise estimate ``-sigma_t s`` and the data estimate
``D = (y + sigma_t^2 s) / alpha_t``.

- ``euler``: the reference (the authors' Grad-TTS sampler): ``steps`` Euler steps evaluated at the middle
  of ``steps`` equal time intervals, ending at t = 0. One score evaluation per step.
- ``heun``: Heun's second-order method on the ODE in t, on a grid uniform in log-SNR from t = 1 to
  :data:`FINAL_TIME`. Two evaluations per step.
- ``dpm_solver``: DPM-Solver++(2M) (Lu et al., 2022), the multistep exponential integrator in the data
  estimate: exact for the linear part of the ODE, second order from its second step. Same grid, one
  evaluation per step, so ``steps`` is its number of score-network evaluations.

The fast solvers stop at :data:`FINAL_TIME` rather than 0 because the score diverges as sigma_t -> 0; the
noise left there (sigma = 0.008) is far below the log-mel's scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch

from diffsv.registry import Registry

#: Where the fast solvers stop; the score network is trained down to t = 1e-5.
FINAL_TIME = 1e-3

#: s(x, mu, t) for a batch of times t.
ScoreFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

T = TypeVar("T", float, torch.Tensor)


class Schedule:
    """beta(t), its integral B(t) and the VP quantities of ``y = x - mu`` derived from them."""

    def __init__(self, beta_min: float, beta_max: float) -> None:
        self.beta_min = beta_min
        self.beta_max = beta_max

    def beta(self, t: T) -> T:
        return self.beta_min + (self.beta_max - self.beta_min) * t

    def integral(self, t: T) -> T:
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * (t**2)

    def alpha_sigma(self, t: float) -> tuple[float, float]:
        integral = self.integral(t)
        return math.exp(-0.5 * integral), math.sqrt(-math.expm1(-integral))

    def log_snr(self, t: float) -> float:
        """lambda(t) = log(alpha_t / sigma_t), falling with t."""
        alpha, sigma = self.alpha_sigma(t)
        return math.log(alpha / sigma)

    def time_of_log_snr(self, log_snr: float) -> float:
        """Inverse of :meth:`log_snr`: solve B(t) = log(1 + e^{-2 lambda}) for t in [0, 1]."""
        integral = math.log1p(math.exp(-2.0 * log_snr))
        a = 0.5 * (self.beta_max - self.beta_min)
        return (-self.beta_min + math.sqrt(self.beta_min**2 + 4.0 * a * integral)) / (2.0 * a)

    def log_snr_grid(self, steps: int) -> list[float]:
        """``steps + 1`` times from 1 to :data:`FINAL_TIME`, evenly spaced in log-SNR."""
        start, end = self.log_snr(1.0), self.log_snr(FINAL_TIME)
        inner = [self.time_of_log_snr(start + (end - start) * i / steps) for i in range(1, steps)]
        return [1.0, *inner, FINAL_TIME]


def score_evaluations(sampler: str, steps: int) -> int:
    """Score-network evaluations of one sample: the figure that sets the sampler's cost."""
    return SAMPLERS[sampler].evaluations_per_step * steps


def _times(t: float, like: torch.Tensor) -> torch.Tensor:
    """``t`` per example, made from ``like`` rather than its ``device``: a traced graph would keep the
    tracing device as a constant, and an export made on the CPU would then fail on a GPU."""
    return torch.full_like(like[:, 0, 0], t)


def euler(score: ScoreFn, schedule: Schedule, mu: torch.Tensor, noise: torch.Tensor, steps: int) -> torch.Tensor:
    """The reference sampler, operation for operation as the authors compute it."""
    x = mu + noise
    h = 1.0 / steps
    for i in range(steps):
        t = _times(1.0 - (i + 0.5) * h, mu)
        drift = 0.5 * (mu - x - score(x, mu, t))
        x = x - drift * schedule.beta(t)[:, None, None] * h
    return x


def heun(score: ScoreFn, schedule: Schedule, mu: torch.Tensor, noise: torch.Tensor, steps: int) -> torch.Tensor:
    """Heun (explicit trapezoidal) steps of the probability-flow ODE on the log-SNR grid."""

    def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
        return 0.5 * schedule.beta(t) * (mu - x - score(x, mu, _times(t, mu)))

    x = mu + noise
    grid = schedule.log_snr_grid(steps)
    for t_now, t_next in zip(grid[:-1], grid[1:], strict=True):
        dt = t_next - t_now
        v_now = velocity(x, t_now)
        predicted = x + dt * v_now
        x = x + 0.5 * dt * (v_now + velocity(predicted, t_next))
    return x


def dpm_solver(score: ScoreFn, schedule: Schedule, mu: torch.Tensor, noise: torch.Tensor, steps: int) -> torch.Tensor:
    """DPM-Solver++(2M) in ``y = x - mu`` on the log-SNR grid (module docstring)."""
    y = noise
    grid = schedule.log_snr_grid(steps)
    previous: tuple[torch.Tensor, float] | None = None  # the last data estimate and its step's log-SNR width
    for t_now, t_next in zip(grid[:-1], grid[1:], strict=True):
        alpha_now, sigma_now = schedule.alpha_sigma(t_now)
        alpha_next, sigma_next = schedule.alpha_sigma(t_next)
        data = (y + sigma_now**2 * score(mu + y, mu, _times(t_now, mu))) / alpha_now
        h = schedule.log_snr(t_next) - schedule.log_snr(t_now)
        estimate = data
        if previous is not None:
            previous_data, previous_h = previous
            ratio = previous_h / h
            estimate = (1.0 + 0.5 / ratio) * data - (0.5 / ratio) * previous_data
        y = (sigma_next / sigma_now) * y - alpha_next * math.expm1(-h) * estimate
        previous = (data, h)
    return mu + y


@dataclass(frozen=True)
class Solver:
    integrate: Callable[[ScoreFn, Schedule, torch.Tensor, torch.Tensor, int], torch.Tensor]
    evaluations_per_step: int


#: The samplers by the name ``model.diffusion.sampler`` and ``--sampler`` give; euler is the paper's.
SAMPLERS: Registry[Solver] = Registry("sampler")
SAMPLERS.add("euler", Solver(euler, 1))
SAMPLERS.add("heun", Solver(heun, 2))
SAMPLERS.add("dpm_solver", Solver(dpm_solver, 1))


def sample(
    score: ScoreFn, schedule: Schedule, mu: torch.Tensor, noise: torch.Tensor, sampler: str, steps: int
) -> torch.Tensor:
    """z0_hat from the prior mean ``mu`` and starting noise with the named sampler."""
    solver = SAMPLERS[sampler]
    if steps < 1:
        raise ValueError(f"sampler steps must be at least 1, got {steps}")
    return solver.integrate(score, schedule, mu, noise, steps)

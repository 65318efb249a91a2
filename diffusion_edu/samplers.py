"""Samplers: run the learned reverse process from noise x_{T-1} ~ N(0, I) down to x_0.

Every sampler has the same shape of signature,

    sampler(model, shape, schedule, ..., prediction, generator, callback, return_trajectory)

and the same body: ask the model for its estimate of x_0 and eps at the current step, then apply
the sampler's update rule. ``callback`` receives a dict per step ({"step", "t", "x", "x0"}), and
``return_trajectory=True`` also returns every intermediate x, for figures and widgets.

- :func:`ddpm_sample`: ancestral sampling, one step per training step (Ho et al., 2020).
- :func:`ddim_sample`: DDIM, any number of steps, deterministic when eta=0 (Song et al., 2021a).
- :func:`dpmpp_2m_sample`: DPM-Solver++(2M), a second-order solver of the ODE that DDIM solves
  to first order (Lu et al., 2022b): with the same 20 model calls, much closer to the data.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
from torch import Tensor

from .forward import eps_from_x0, q_posterior, x0_and_eps
from .schedules import Schedule, gather

Callback = Callable[[dict], None]


class Trajectory(NamedTuple):
    """What a sampler visited, on the CPU: t[i] is the step that produced x[i+1] from x[i]."""

    t: list[int]  # (S,) timesteps in the order visited
    x: Tensor  # (S+1, B, ...) x[0] is the starting noise, x[-1] the sample
    x0: Tensor  # (S, B, ...) the model's estimate of x_0 at each step


# ----------------------------------------------------------------------------------- DDPM
def ddpm_step(
    model_output: Tensor,
    xt: Tensor,
    t: int,
    schedule: Schedule,
    noise: Tensor,
    prediction: str = "eps",
    clip_x0: float | None = None,
    variance: str = "posterior",
) -> tuple[Tensor, Tensor]:
    """One ancestral step x_t -> x_{t-1} (Ho et al., 2020, Algorithm 2).

        x_{t-1} = mu_tilde(x_t, x0_hat) + sqrt(var_t) z,   z ~ N(0, I) (z = 0 at t = 0)

    mu_tilde is the posterior mean of q(x_{t-1} | x_t, x_0) evaluated at the model's estimate
    x0_hat; with eps-prediction and no clipping it equals the paper's
    (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_t). ``variance`` is
    "posterior" (beta_tilde_t, diffusers' "fixed_small") or "beta" (beta_t, "fixed_large").
    ``clip_x0`` clamps x0_hat to [-clip_x0, clip_x0] (useful for images in [-1, 1]).
    Returns (x_{t-1}, x0_hat).
    """
    if variance not in ("posterior", "beta"):
        raise ValueError(f"unknown variance {variance!r}: expected 'posterior' or 'beta'")
    x0_hat, _ = x0_and_eps(model_output, xt, t, schedule, prediction)
    if clip_x0 is not None:
        x0_hat = x0_hat.clamp(-clip_x0, clip_x0)
    mean, posterior_var = q_posterior(x0_hat, xt, t, schedule)
    var = posterior_var if variance == "posterior" else gather(schedule.beta, t, xt)
    if t == 0:
        return mean, x0_hat
    return mean + var.sqrt() * noise, x0_hat


@torch.no_grad()
def ddpm_sample(
    model: Callable[..., Tensor],
    shape: tuple[int, ...],
    schedule: Schedule,
    prediction: str = "eps",
    clip_x0: float | None = None,
    variance: str = "posterior",
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    x_start: Tensor | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
    **model_kwargs,
):
    """Sample with all T ancestral steps, t = T-1, ..., 0. Returns x (shape ``shape``) and,
    with ``return_trajectory=True``, a :class:`Trajectory`."""
    x = _start(shape, generator, device, x_start)
    record = _Recorder(x, callback, return_trajectory)
    for step, t in enumerate(range(schedule.T - 1, -1, -1)):
        noise = _randn(x, generator)
        out = model(x, _batch_t(t, x), **model_kwargs)
        x, x0_hat = ddpm_step(out, x, t, schedule, noise, prediction, clip_x0, variance)
        record(step, t, x, x0_hat)
    return record.result(x)


# ----------------------------------------------------------------------------------- DDIM
def ddim_timesteps(T: int, n_steps: int) -> list[int]:
    """The n_steps timesteps DDIM visits, descending: t_i = i * (T // n_steps) ("leading").

    This is the spacing of the DDIM paper's code and of diffusers' default ``"leading"``.
    For T=1000 and 10 steps: [900, 800, ..., 100, 0].
    """
    if not isinstance(n_steps, int) or isinstance(n_steps, bool) or not 1 <= n_steps <= T:
        raise ValueError(f"n_steps must be an int in [1, T]=[1, {T}], got {n_steps!r}")
    return [i * (T // n_steps) for i in range(n_steps)][::-1]


def ddim_step(
    model_output: Tensor,
    xt: Tensor,
    t: int,
    t_prev: int,
    schedule: Schedule,
    eta: float = 0.0,
    noise: Tensor | None = None,
    prediction: str = "eps",
    clip_x0: float | None = None,
) -> tuple[Tensor, Tensor]:
    """One DDIM step x_t -> x_{t_prev} (Song et al., 2021a, eq. 12 and 16):

        x_prev = sqrt(alpha_bar_prev) x0_hat + sqrt(1 - alpha_bar_prev - sigma^2) eps_hat + sigma z
        sigma  = eta * sqrt((1 - alpha_bar_prev) / (1 - alpha_bar_t)) * sqrt(1 - alpha_bar_t / alpha_bar_prev)

    (The DDIM paper writes alpha for our alpha_bar.) t_prev = -1 means the clean end, where
    alpha_bar_prev = 1. eta=0 makes the step deterministic; eta=1 with t_prev = t-1 gives
    sigma^2 = beta_tilde_t, DDPM's posterior variance. If ``clip_x0`` clamps x0_hat, eps_hat is
    recomputed from the clamped x0_hat so the two stay consistent.
    """
    if eta < 0:
        raise ValueError(f"eta must be >= 0 (0: deterministic DDIM, 1: DDPM-like), got {eta}")
    if not -1 <= t_prev < t:
        raise ValueError(f"t_prev must satisfy -1 <= t_prev < t={t}, got {t_prev}")
    x0_hat, eps_hat = x0_and_eps(model_output, xt, t, schedule, prediction)
    alpha_bar = gather(schedule.alpha_bar, t, xt)
    if t_prev >= 0:
        alpha_bar_prev = gather(schedule.alpha_bar, t_prev, xt)
    else:
        alpha_bar_prev = torch.ones_like(alpha_bar)
    if clip_x0 is not None:
        x0_hat = x0_hat.clamp(-clip_x0, clip_x0)
        eps_hat = eps_from_x0(xt, t, x0_hat, schedule)
    sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev)).sqrt()
    x_prev = alpha_bar_prev.sqrt() * x0_hat + (1 - alpha_bar_prev - sigma**2).clamp(min=0).sqrt() * eps_hat
    if eta > 0:
        if noise is None:
            raise ValueError("ddim_step with eta > 0 needs noise (a tensor shaped like xt)")
        x_prev = x_prev + sigma * noise
    return x_prev, x0_hat


@torch.no_grad()
def ddim_sample(
    model: Callable[..., Tensor],
    shape: tuple[int, ...],
    schedule: Schedule,
    n_steps: int = 50,
    eta: float = 0.0,
    prediction: str = "eps",
    clip_x0: float | None = None,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    x_start: Tensor | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
    **model_kwargs,
):
    """Sample with ``n_steps`` DDIM steps over :func:`ddim_timesteps`. Returns x and, with
    ``return_trajectory=True``, a :class:`Trajectory`. With eta=0 the only randomness is the
    starting noise: the same ``x_start`` always gives the same sample."""
    timesteps = ddim_timesteps(schedule.T, n_steps)
    x = _start(shape, generator, device, x_start)
    record = _Recorder(x, callback, return_trajectory)
    for step, t in enumerate(timesteps):
        t_prev = timesteps[step + 1] if step + 1 < len(timesteps) else -1
        noise = _randn(x, generator) if eta > 0 else None
        out = model(x, _batch_t(t, x), **model_kwargs)
        x, x0_hat = ddim_step(out, x, t, t_prev, schedule, eta, noise, prediction, clip_x0)
        record(step, t, x, x0_hat)
    return record.result(x)


# ------------------------------------------------------------------------ DPM-Solver++(2M)
def linspace_timesteps(T: int, n_steps: int) -> list[int]:
    """n_steps timesteps evenly spaced from T-1 down, descending: t_i = round(k (T-1) / n_steps)
    for k = n_steps, ..., 1 (diffusers' ``timestep_spacing="linspace"``, Lin et al., 2024).

    Unlike :func:`ddim_timesteps` it starts at the noisiest step, T-1; the sampler then jumps from
    the last one, round((T-1) / n_steps), to the clean end. For T=1000 and 10 steps:
    [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]. Rounding is half-to-even, as numpy's.
    n_steps = T is excluded: T steps evenly spaced over T-1 intervals would repeat a timestep.
    """
    if not isinstance(n_steps, int) or isinstance(n_steps, bool) or not 1 <= n_steps <= T - 1:
        raise ValueError(
            f"n_steps must be an int in [1, T-1]=[1, {T - 1}], got {n_steps!r}: more steps than "
            f"intervals between the T={T} timesteps would visit one timestep twice"
        )
    spacing = (T - 1) / n_steps  # float64, as numpy's linspace computes it
    return [round(k * spacing) for k in range(n_steps, 0, -1)]


def dpmpp_2m_step(
    model_output: Tensor,
    xt: Tensor,
    t: int,
    t_prev: int,
    schedule: Schedule,
    t_before: int | None = None,
    x0_before: Tensor | None = None,
    prediction: str = "eps",
    clip_x0: float | None = None,
) -> tuple[Tensor, Tensor]:
    """One DPM-Solver++(2M) step x_t -> x_{t_prev} (Lu et al., 2022b, "DPM-Solver++", Algorithm 2).

    Write alpha_t = sqrt(alpha_bar_t), sigma_t = sqrt(1 - alpha_bar_t) and the log-SNR time
    lambda_t = log(alpha_t / sigma_t) (half of ``Schedule.log_snr``; it grows as t falls). The
    deterministic sampling ODE, written for the model's x_0 estimate x0_hat, has the exact solution

        x_{t_prev} = (sigma_prev / sigma_t) x_t + sigma_prev * integral_{lambda_t}^{lambda_prev} e^lambda x0_hat(lambda) dlambda.

    DPM-Solver++ approximates x0_hat(lambda) inside the integral. With h = lambda_prev - lambda_t:

      first order (x0_hat constant; this is exactly the DDIM step with eta=0):
        x_prev = (sigma_prev / sigma_t) x_t - alpha_prev (e^{-h} - 1) x0_hat
      second order, multistep (x0_hat extrapolated linearly in lambda through the previous
      step's estimate x0_before, made at t_before > t, and read at the step's middle, lambda_t + h/2):
        r = (lambda_t - lambda_before) / h
        D = (1 + 1 / (2 r)) x0_hat - 1 / (2 r) x0_before
        x_prev = (sigma_prev / sigma_t) x_t - alpha_prev (e^{-h} - 1) D

    Each step is then off by O(h^3) instead of the first order's O(h^2).

    The second-order step costs no extra model call: it reuses the estimate of the step before.
    Pass ``t_before`` and ``x0_before`` for it; leave them out (the first step) for first order.
    t_prev = -1 is the clean end, alpha_bar = 1: sigma_prev = 0, lambda_prev = +inf, and the
    first-order step's limit is x_prev = x0_hat, which is what this returns there, whatever the
    order (diffusers' ``final_sigmas_type="zero"``: a second-order step would extrapolate x0_hat).
    ``clip_x0`` clamps x0_hat before it enters the update. Returns (x_{t_prev}, x0_hat).
    """
    if not -1 <= t_prev < t:
        raise ValueError(f"t_prev must satisfy -1 <= t_prev < t={t}, got {t_prev}")
    if (t_before is None) != (x0_before is None):
        raise ValueError("the second-order step needs both t_before and x0_before (or neither, for first order)")
    if t_before is not None and not t < t_before < schedule.T:
        raise ValueError(
            f"t_before must be the previous step's timestep, in (t, T-1]=({t}, {schedule.T - 1}], got {t_before}"
        )
    x0_hat, _ = x0_and_eps(model_output, xt, t, schedule, prediction)
    if clip_x0 is not None:
        x0_hat = x0_hat.clamp(-clip_x0, clip_x0)
    if t_prev == -1:
        return x0_hat, x0_hat
    _, sigma_t, lambda_t = _alpha_sigma_lambda(schedule, t)
    alpha_prev, sigma_prev, lambda_prev = _alpha_sigma_lambda(schedule, t_prev)
    h = lambda_prev - lambda_t
    D = x0_hat
    if x0_before is not None:
        _, _, lambda_before = _alpha_sigma_lambda(schedule, t_before)
        r = (lambda_t - lambda_before) / h
        D = (1 + 1 / (2 * r)) * x0_hat - 1 / (2 * r) * x0_before
    return (sigma_prev / sigma_t) * xt - alpha_prev * math.expm1(-h) * D, x0_hat


@torch.no_grad()
def dpmpp_2m_sample(
    model: Callable[..., Tensor],
    shape: tuple[int, ...],
    schedule: Schedule,
    n_steps: int = 20,
    prediction: str = "eps",
    clip_x0: float | None = None,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    x_start: Tensor | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
    **model_kwargs,
):
    """Sample with ``n_steps`` DPM-Solver++(2M) steps over :func:`linspace_timesteps`: the first
    step first order, the others second order, the last one to the clean end (x = x0_hat), one
    model call per step. This is diffusers' ``DPMSolverMultistepScheduler`` with
    algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint",
    timestep_spacing="linspace" and final_sigmas_type="zero" (its defaults). Deterministic: the
    only randomness is the starting noise. Returns x and, with ``return_trajectory=True``, a
    :class:`Trajectory`."""
    timesteps = linspace_timesteps(schedule.T, n_steps)
    x = _start(shape, generator, device, x_start)
    record = _Recorder(x, callback, return_trajectory)
    t_before, x0_before = None, None
    for step, t in enumerate(timesteps):
        t_prev = timesteps[step + 1] if step + 1 < len(timesteps) else -1
        out = model(x, _batch_t(t, x), **model_kwargs)
        x, x0_hat = dpmpp_2m_step(out, x, t, t_prev, schedule, t_before, x0_before, prediction, clip_x0)
        record(step, t, x, x0_hat)
        t_before, x0_before = t, x0_hat
    return record.result(x)


# -------------------------------------------------------------------------------- helpers
def _start(shape, generator, device, x_start) -> Tensor:
    if x_start is not None:
        if tuple(x_start.shape) != tuple(shape):
            raise ValueError(f"x_start has shape {tuple(x_start.shape)}, expected {tuple(shape)}")
        return x_start.to(device)
    if len(shape) < 2:
        raise ValueError(f"shape must be (B, ...) with a batch dimension, got {tuple(shape)}")
    return torch.randn(tuple(shape), generator=generator).to(device)  # drawn on the CPU: same on any device


def _randn(x: Tensor, generator) -> Tensor:
    return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)


def _alpha_sigma_lambda(schedule: Schedule, t: int) -> tuple[float, float, float]:
    """alpha_t = sqrt(alpha_bar_t), sigma_t = sqrt(1 - alpha_bar_t), lambda_t = log(alpha_t / sigma_t), in float64."""
    alpha, sigma = schedule.alpha_bar[t].sqrt().item(), schedule.sigma[t].item()
    return alpha, sigma, math.log(alpha / sigma)


def _batch_t(t: int, x: Tensor) -> Tensor:
    return torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)  # (B,)


class _Recorder:
    """Collects the trajectory and calls the callback; keeps the sampler loops short."""

    def __init__(self, x: Tensor, callback: Callback | None, keep: bool):
        self.callback, self.keep = callback, keep
        self.t: list[int] = []
        self.xs = [x.detach().cpu()] if keep else []
        self.x0s: list[Tensor] = []

    def __call__(self, step: int, t: int, x: Tensor, x0: Tensor) -> None:
        if self.callback is not None:
            self.callback({"step": step, "t": t, "x": x, "x0": x0})
        if self.keep:
            self.t.append(t)
            self.xs.append(x.detach().cpu())
            self.x0s.append(x0.detach().cpu())

    def result(self, x: Tensor):
        if not self.keep:
            return x
        return x, Trajectory(self.t, torch.stack(self.xs), torch.stack(self.x0s))

"""Noise schedules: how much noise the forward process adds at each step.

A schedule is data: the T values of beta_t, and everything derived from them (Ho et al., 2020):

    alpha_t     = 1 - beta_t
    alpha_bar_t = prod_{s=0}^{t} alpha_s              (diffusers: ``alphas_cumprod``;
                                                        the DDIM paper calls this alpha_t)
    sigma_t     = sqrt(1 - alpha_bar_t)               (std of the noise in x_t)
    SNR(t)      = alpha_bar_t / (1 - alpha_bar_t)     (signal-to-noise ratio)

Timesteps are 0-indexed, t in {0, ..., T-1}: index 0 is the first noising step (t=1 in the
DDPM paper). Three schedules are provided:

- :func:`linear_schedule`  (Ho et al., 2020): beta grows linearly from 1e-4 to 0.02.
- :func:`cosine_schedule`  (Nichol & Dhariwal, 2021): alpha_bar follows a squared cosine.
- :func:`sigmoid_schedule` (Jabri et al., 2022; Chen, 2023): alpha_bar follows a sigmoid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Schedule:
    """The T noise levels of a diffusion process, as float64 tensors of shape (T,).

    Build one with :func:`make_schedule` or a named constructor; derived quantities are
    properties, so a schedule is fully described by ``beta``.
    """

    name: str
    beta: Tensor  # (T,)

    def __post_init__(self):
        beta = self.beta
        if beta.ndim != 1 or len(beta) < 1:
            raise ValueError(f"beta must be a 1-D tensor of length T >= 1, got shape {tuple(beta.shape)}")
        if not torch.all((beta > 0) & (beta < 1)):
            raise ValueError(
                f"every beta_t must lie in (0, 1), got min {beta.min().item():.3g} and "
                f"max {beta.max().item():.3g}: beta is a variance fraction per step"
            )

    @property
    def T(self) -> int:
        """Number of diffusion steps."""
        return len(self.beta)

    @property
    def alpha(self) -> Tensor:
        """alpha_t = 1 - beta_t, the fraction of variance kept at step t."""
        return 1.0 - self.beta

    @property
    def alpha_bar(self) -> Tensor:
        """alpha_bar_t = prod_{s<=t} alpha_s, the fraction of signal variance left in x_t."""
        return torch.cumprod(self.alpha, dim=0)

    @property
    def alpha_bar_prev(self) -> Tensor:
        """alpha_bar_{t-1}, with alpha_bar_{-1} = 1 (no noise before the first step)."""
        return torch.cat([self.alpha_bar.new_ones(1), self.alpha_bar[:-1]])

    @property
    def sigma(self) -> Tensor:
        """sigma_t = sqrt(1 - alpha_bar_t), the standard deviation of the noise in x_t."""
        return torch.sqrt(1.0 - self.alpha_bar)

    @property
    def snr(self) -> Tensor:
        """SNR(t) = alpha_bar_t / (1 - alpha_bar_t)."""
        return self.alpha_bar / (1.0 - self.alpha_bar)

    @property
    def log_snr(self) -> Tensor:
        """lambda_t = log SNR(t), the natural axis to compare schedules on (Kingma et al., 2021)."""
        return torch.log(self.snr)

    @property
    def posterior_variance(self) -> Tensor:
        """beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t (Ho et al., 2020, eq. 7)."""
        return (1.0 - self.alpha_bar_prev) / (1.0 - self.alpha_bar) * self.beta


def linear_schedule(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> Schedule:
    """beta_t = beta_start + (beta_end - beta_start) * t / (T - 1)  (Ho et al., 2020).

    The DDPM values 1e-4 and 0.02 were chosen for T=1000; with fewer steps, scale them by
    1000 / T to reach a similar final alpha_bar.
    """
    _check_T(T)
    return Schedule("linear", torch.linspace(beta_start, beta_end, T, dtype=torch.float64))


def cosine_schedule(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """alpha_bar(u) = f(u) / f(0),  f(u) = cos^2((u + s) / (1 + s) * pi / 2),  u = (t + 1) / T.

    (Nichol & Dhariwal, 2021.) beta_t = 1 - alpha_bar_t / alpha_bar_{t-1}, clipped to
    ``max_beta`` as in the paper, because beta goes to 1 at the last step. The offset s keeps
    beta_0 from being vanishingly small. diffusers calls this ``"squaredcos_cap_v2"``.
    """
    _check_T(T)
    u = torch.arange(T + 1, dtype=torch.float64) / T  # (T+1,): 0, 1/T, ..., 1
    f = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    beta = 1.0 - f[1:] / f[:-1]
    return Schedule("cosine", beta.clamp(max=max_beta))


def sigmoid_schedule(
    T: int = 1000, start: float = -3.0, end: float = 3.0, tau: float = 1.0, max_beta: float = 0.999
) -> Schedule:
    """alpha_bar(u) = (v_end - sigmoid((u (end - start) + start) / tau)) / (v_end - v_start).

    (Jabri et al., 2022; Chen, 2023.) Here v_start = sigmoid(start / tau),
    v_end = sigmoid(end / tau), u = (t + 1) / T, so alpha_bar falls from 1 to 0 along a sigmoid;
    a larger ``tau`` makes the fall more gradual. beta is clipped to ``max_beta`` like the cosine.
    """
    _check_T(T)
    if not start < end:
        raise ValueError(f"sigmoid schedule needs start < end, got start={start}, end={end}")
    u = torch.arange(T + 1, dtype=torch.float64) / T
    v_start = torch.sigmoid(torch.tensor(start / tau, dtype=torch.float64))
    v_end = torch.sigmoid(torch.tensor(end / tau, dtype=torch.float64))
    alpha_bar = (v_end - torch.sigmoid((u * (end - start) + start) / tau)) / (v_end - v_start)
    beta = 1.0 - alpha_bar[1:] / alpha_bar[:-1]
    return Schedule("sigmoid", beta.clamp(min=1e-12, max=max_beta))


SCHEDULES = {"linear": linear_schedule, "cosine": cosine_schedule, "sigmoid": sigmoid_schedule}


def make_schedule(name: str, T: int = 1000, **kwargs) -> Schedule:
    """The schedule called ``name`` ("linear", "cosine" or "sigmoid") with T steps."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}: expected one of {sorted(SCHEDULES)}")
    return SCHEDULES[name](T, **kwargs)


def check_timesteps(t: Tensor, T: int) -> None:
    """Raise a ValueError unless every t is an integer in [0, T-1]."""
    if t.dtype.is_floating_point or t.dtype == torch.bool:
        raise TypeError(f"timesteps must be integers in [0, {T - 1}], got dtype {t.dtype}")
    if t.numel() and (t.min() < 0 or t.max() > T - 1):
        bad = t[(t < 0) | (t > T - 1)][0].item()
        raise ValueError(
            f"t must be in [0, T-1]=[0, {T - 1}], got {bad}: timesteps are 0-indexed"
        )


def gather(values: Tensor, t: Tensor | int, x: Tensor) -> Tensor:
    """values[t] reshaped to (B, 1, ..., 1) so that it broadcasts against x of shape (B, ...).

    ``t`` is an int (the same step for the whole batch) or a (B,) tensor of steps; the result
    has x's device and dtype.
    """
    T = len(values)
    if isinstance(t, int):
        t = torch.full((x.shape[0],), t, dtype=torch.long)
    if not isinstance(t, Tensor):
        raise TypeError(f"t must be an int or a tensor of ints, got {type(t).__name__}")
    check_timesteps(t, T)
    if t.ndim != 1 or t.shape[0] != x.shape[0]:
        raise ValueError(
            f"t must have shape (B,) = ({x.shape[0]},) to match x of shape {tuple(x.shape)}, "
            f"got {tuple(t.shape)}"
        )
    out = values.to(x.device)[t.to(x.device)].to(x.dtype)  # (B,)
    return out.reshape(-1, *([1] * (x.ndim - 1)))  # (B, 1, ..., 1)


def _check_T(T: int) -> None:
    if not isinstance(T, int) or isinstance(T, bool) or T < 1:
        raise ValueError(f"T (the number of diffusion steps) must be a positive int, got {T!r}")

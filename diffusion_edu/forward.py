"""The forward process q(x_t | x_0), its posterior, and the maps between what a model predicts.

Noising in closed form (Ho et al., 2020, eq. 4): because every step adds independent Gaussian
noise, x_t can be drawn from x_0 in one go,

    q(x_t | x_0) = N( sqrt(alpha_bar_t) x_0 , (1 - alpha_bar_t) I ),
    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,   eps ~ N(0, I).

A denoiser sees x_t and predicts one of eps, x_0 or v (Salimans & Ho, 2022); given x_t, each
determines the others:

    x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)
    v   = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0
    score = grad log q(x_t | x_0) = -eps / sqrt(1 - alpha_bar_t)

Shapes: x0, xt, eps, v are (B, ...) with any trailing dims; t is an int or a (B,) LongTensor.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .schedules import Schedule, gather

PREDICTIONS = ("eps", "x0", "v")


def q_mean_std(x0: Tensor, t: Tensor | int, schedule: Schedule) -> tuple[Tensor, Tensor]:
    """Mean sqrt(alpha_bar_t) x_0 and standard deviation sqrt(1 - alpha_bar_t) of q(x_t | x_0)."""
    # sigma_t = sqrt(1 - alpha_bar_t) comes from the float64 schedule: in float32, 1 - alpha_bar_0
    # = beta_0 ~ 1e-4 would keep only about 4 significant digits.
    sqrt_alpha_bar, sigma = gather(schedule.alpha_bar.sqrt(), t, x0), gather(schedule.sigma, t, x0)  # (B, 1, ...)
    return sqrt_alpha_bar * x0, sigma.expand_as(x0)


def q_sample(
    x0: Tensor,
    t: Tensor | int,
    schedule: Schedule,
    eps: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Draw x_t ~ q(x_t | x_0):  x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.

    Returns ``(xt, eps)``; pass ``eps`` to noise with a given draw, or a ``generator`` to seed it.
    """
    if eps is None:
        eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
    _same_shape(x0=x0, eps=eps)
    mean, std = q_mean_std(x0, t, schedule)
    return mean + std * eps, eps


def q_posterior(x0: Tensor, xt: Tensor, t: Tensor | int, schedule: Schedule) -> tuple[Tensor, Tensor]:
    """Mean and variance of q(x_{t-1} | x_t, x_0)  (Ho et al., 2020, eq. 6-7):

        mu_tilde   = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) * x_0
                     + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * x_t
        beta_tilde = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t

    At t=0 the posterior collapses onto x_0 (beta_tilde_0 = 0).
    """
    _same_shape(x0=x0, xt=xt)
    # The coefficients are formed from the float64 schedule, then gathered (cast to xt's dtype):
    # in float32, 1 - alpha_bar_0 = beta_0 ~ 1e-4 would keep only about 4 significant digits.
    alpha_bar, alpha_bar_prev, beta = schedule.alpha_bar, schedule.alpha_bar_prev, schedule.beta  # (T,)
    coef_x0 = gather(alpha_bar_prev.sqrt() * beta / (1 - alpha_bar), t, xt)  # (B, 1, ...)
    coef_xt = gather((1 - beta).sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar), t, xt)
    variance = gather(schedule.posterior_variance, t, xt)
    return coef_x0 * x0 + coef_xt * xt, variance.expand_as(xt)


def x0_from_eps(xt: Tensor, t: Tensor | int, eps: Tensor, schedule: Schedule) -> Tensor:
    """x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)."""
    _same_shape(xt=xt, eps=eps)
    sqrt_alpha_bar, sigma = gather(schedule.alpha_bar.sqrt(), t, xt), gather(schedule.sigma, t, xt)
    return (xt - sigma * eps) / sqrt_alpha_bar


def eps_from_x0(xt: Tensor, t: Tensor | int, x0: Tensor, schedule: Schedule) -> Tensor:
    """eps = (x_t - sqrt(alpha_bar_t) x_0) / sqrt(1 - alpha_bar_t)."""
    _same_shape(xt=xt, x0=x0)
    sqrt_alpha_bar, sigma = gather(schedule.alpha_bar.sqrt(), t, xt), gather(schedule.sigma, t, xt)
    return (xt - sqrt_alpha_bar * x0) / sigma


def v_from_x0_eps(x0: Tensor, eps: Tensor, t: Tensor | int, schedule: Schedule) -> Tensor:
    """v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0  (Salimans & Ho, 2022)."""
    _same_shape(x0=x0, eps=eps)
    sqrt_alpha_bar, sigma = gather(schedule.alpha_bar.sqrt(), t, x0), gather(schedule.sigma, t, x0)
    return sqrt_alpha_bar * eps - sigma * x0


def x0_from_v(xt: Tensor, t: Tensor | int, v: Tensor, schedule: Schedule) -> Tensor:
    """x_0 = sqrt(alpha_bar_t) x_t - sqrt(1 - alpha_bar_t) v."""
    _same_shape(xt=xt, v=v)
    sqrt_alpha_bar, sigma = gather(schedule.alpha_bar.sqrt(), t, xt), gather(schedule.sigma, t, xt)
    return sqrt_alpha_bar * xt - sigma * v


def eps_from_v(xt: Tensor, t: Tensor | int, v: Tensor, schedule: Schedule) -> Tensor:
    """eps = sqrt(1 - alpha_bar_t) x_t + sqrt(alpha_bar_t) v."""
    _same_shape(xt=xt, v=v)
    sqrt_alpha_bar, sigma = gather(schedule.alpha_bar.sqrt(), t, xt), gather(schedule.sigma, t, xt)
    return sigma * xt + sqrt_alpha_bar * v


def score_from_eps(eps: Tensor, t: Tensor | int, schedule: Schedule) -> Tensor:
    """score = grad_{x_t} log q(x_t) ~= -eps / sqrt(1 - alpha_bar_t)  (Song et al., 2021)."""
    return -eps / gather(schedule.sigma, t, eps)


def x0_and_eps(
    model_output: Tensor, xt: Tensor, t: Tensor | int, schedule: Schedule, prediction: str = "eps"
) -> tuple[Tensor, Tensor]:
    """Turn a model's output, whatever it predicts, into the pair (x_0 estimate, eps estimate).

    Samplers call this, so one sampler serves models trained with any ``prediction``.
    """
    _check_prediction(prediction)
    _same_shape(model_output=model_output, xt=xt)
    if prediction == "eps":
        return x0_from_eps(xt, t, model_output, schedule), model_output
    if prediction == "x0":
        return model_output, eps_from_x0(xt, t, model_output, schedule)
    return x0_from_v(xt, t, model_output, schedule), eps_from_v(xt, t, model_output, schedule)


def _check_prediction(prediction: str) -> None:
    if prediction not in PREDICTIONS:
        raise ValueError(f"unknown prediction {prediction!r}: expected one of {PREDICTIONS}")


def _same_shape(**tensors: Tensor) -> None:
    shapes = {name: tuple(x.shape) for name, x in tensors.items()}
    if len(set(shapes.values())) > 1:
        described = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"shapes must match: got {described}")

"""Checks for the exercises of chapter 5, sampling faster: DDIM's timesteps and DPM-Solver++.

Every check compares the student's function with :mod:`diffusion_edu.samplers` on the digits16
model's schedule (cosine, T=1000), in float64.
"""
from __future__ import annotations

import math

import torch

from .. import samplers, schedules
from ._verdict import generator, limited, verdict

SCHEDULE = schedules.cosine_schedule(1000)


# ------------------------------------------------------------------------- q1: timesteps
def _as_timesteps(value, what: str) -> list[int]:
    """The student's timesteps as a list of Python ints, or an AssertionError saying what came back."""
    if value is None or value is Ellipsis:
        raise AssertionError(f"{what} returned {value!r}: replace the `...` with your code and `return` the result")
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    try:
        items = list(value)
    except TypeError:
        raise AssertionError(f"{what} should return a list of ints, got {type(value).__name__}") from None
    out = []
    for item in items:
        if isinstance(item, bool) or not float(item).is_integer():
            raise AssertionError(f"{what} should return whole numbers (timesteps index alpha_bar), got {item!r}")
        out.append(int(item))
    return out


LINSPACE = ("that is the 'linspace' spacing (evenly spaced from T-1; DPM-Solver++ uses it in this "
            "chapter); DDIM's 'leading' spacing takes the multiples of T // n_steps from 0 up")
OFF_BY_ONE = ("off by one: i must run over 0, ..., n_steps - 1, so that the last timestep is t = 0 (the "
              "step that lands on the clean image); starting at i = 1 visits n_steps * (T // n_steps), "
              "which is T itself, a timestep that does not exist, when n_steps divides T")
FLOAT_STRIDE = ("the stride must be the integer T // n_steps: i * T / n_steps rounds each timestep "
                "separately and makes the gaps uneven")
TRAILING = ("that is the 'trailing' spacing (start at T-1, step down by T / n_steps); DDIM's 'leading' "
            "spacing takes the multiples of T // n_steps from 0 up, and ends at t = 0")


def _trailing(T: int, n_steps: int) -> list[int]:
    """diffusers' "trailing" spacing: start at T-1 and step down by T / n_steps."""
    return [round(T - i * T / n_steps) - 1 for i in range(n_steps)]


def ddim_timesteps(fn) -> bool:
    """fn(T, n_steps) -> the n_steps timesteps DDIM visits, descending: i * (T // n_steps), i = n_steps-1, ..., 0."""
    fn = limited(fn)
    hint = "take the multiples i * (T // n_steps) for i = 0, 1, ..., n_steps - 1, in descending order"
    for T, n_steps in ((1000, 10), (1000, 7), (1000, 1), (1000, 50), (10, 10)):
        what = f"ddim_timesteps(T={T}, n_steps={n_steps})"
        got = _as_timesteps(fn(T, n_steps), what)
        expected = samplers.ddim_timesteps(T, n_steps)
        if got == expected:
            continue
        stride = T // n_steps
        mistakes = [
            ("the timesteps must be in descending order: sampling starts at the noisiest step and ends at t = 0",
             expected[::-1]),
            (OFF_BY_ONE, [(i + 1) * stride for i in range(n_steps)][::-1]),
            (FLOAT_STRIDE, [int(i * T / n_steps) for i in range(n_steps)][::-1]),
            (TRAILING, _trailing(T, n_steps)),
            (LINSPACE, [round((T - 1) * k / max(n_steps - 1, 1)) for k in range(n_steps)][::-1]),
        ]
        if n_steps < T:
            mistakes.append((LINSPACE, samplers.linspace_timesteps(T, n_steps)))
        for message, wrong in mistakes:
            if got == wrong:
                raise AssertionError(f"{what} is not right: {message}")
        if len(got) != n_steps:
            raise AssertionError(f"{what} returned {len(got)} timesteps, expected n_steps={n_steps}. Hint: {hint}")
        repeated = sorted({t for t in got if got.count(t) > 1})
        if repeated:
            raise AssertionError(f"{what} visits timestep(s) {repeated} more than once. Hint: {hint}")
        outside = [t for t in got if not 0 <= t <= T - 1]
        if outside:
            raise AssertionError(
                f"{what} contains {outside}, outside [0, T-1]=[0, {T - 1}]: timesteps are 0-indexed. Hint: {hint}")
        first = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
        raise AssertionError(f"{what} is off (first wrong timestep at position {first}). Hint: {hint}")
    return True


# ------------------------------------------------------------------- q2: lambda, first order
def _alpha_sigma_lambda(t: int) -> tuple[float, float, float]:
    ab = SCHEDULE.alpha_bar[t].item()
    return math.sqrt(ab), math.sqrt(1 - ab), 0.5 * math.log(ab / (1 - ab))


def half_log_snr(fn) -> bool:
    """fn(alpha_bar_t) -> lambda_t = log(alpha_t / sigma_t), elementwise, for a tensor of any shape."""
    fn = limited(fn)
    ab = SCHEDULE.alpha_bar
    for what, x in (("half_log_snr(alpha_bar)", ab.clone()), ("half_log_snr at t=500", ab[500].clone())):
        verdict(
            fn(x.clone()), 0.5 * torch.log(x / (1 - x)), what,
            hint="lambda_t = log(alpha_t / sigma_t) with alpha_t = sqrt(alpha_bar_t) and sigma_t = sqrt(1 - alpha_bar_t)",
            mistakes={
                "this is the full log-SNR, log(alpha_bar_t / (1 - alpha_bar_t)); lambda_t is half of it, "
                "log(alpha_t / sigma_t) with alpha_t = sqrt(alpha_bar_t), sigma_t = sqrt(1 - alpha_bar_t)":
                    torch.log(x / (1 - x)),
                "the sign is inverted: lambda_t = log(alpha_t / sigma_t) is large for nearly clean images (small t) "
                "and very negative for pure noise": -0.5 * torch.log(x / (1 - x)),
                "the square root of sigma_t is missing: sigma_t = sqrt(1 - alpha_bar_t), the noise's standard "
                "deviation": 0.5 * torch.log(x) - torch.log(1 - x),
                "the square root of alpha_t is missing: alpha_t = sqrt(alpha_bar_t), the signal's scale":
                    torch.log(x) - 0.5 * torch.log(1 - x),
            },
            rtol=1e-6, atol=1e-8,
        )
    return True


def _first_order(xt, x0, t, t_prev, *, exp_sign=-1, sigma_ratio="prev/t", alpha="prev", minus=True, sqrt=True):
    """The first-order step and its typical mistakes (keyword arguments name the variant)."""
    a_t, s_t, lam_t = _alpha_sigma_lambda(t)
    a_p, s_p, lam_p = _alpha_sigma_lambda(t_prev)
    if not sqrt:
        a_t, s_t, a_p, s_p = a_t**2, s_t**2, a_p**2, s_p**2
    h = lam_p - lam_t
    ratio = s_p / s_t if sigma_ratio == "prev/t" else s_t / s_p
    scale = a_p if alpha == "prev" else a_t
    term = scale * math.expm1(exp_sign * h) * x0
    return ratio * xt - term if minus else ratio * xt + term


def dpmpp_1_step(fn) -> bool:
    """fn(xt, t, t_prev, x0_hat, alpha_bar) -> x_{t_prev}, the first-order DPM-Solver++ step (= DDIM, eta=0)."""
    fn = limited(fn)
    g = generator(5)
    ab = SCHEDULE.alpha_bar
    for t, t_prev in ((999, 899), (500, 450), (100, 0)):
        xt = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
        x0 = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64).clamp(-1, 1)
        expected, _ = samplers.dpmpp_2m_step(x0, xt, t, t_prev, SCHEDULE, prediction="x0")
        verdict(
            fn(xt.clone(), t, t_prev, x0.clone(), ab.clone()), expected, f"dpmpp_1_step from t={t} to t_prev={t_prev}",
            hint="x_prev = (sigma_prev / sigma_t) x_t - alpha_prev (e^{-h} - 1) x0_hat with h = lambda_prev - lambda_t; "
                 "it equals your DDIM step (eta=0) of exercise 2, so you can compare numbers with it",
            mistakes={
                "the exponent's sign: the factor is e^{-h} - 1 with h = lambda_prev - lambda_t > 0 (lambda grows as t "
                "falls); your result has e^{+h} - 1 (a flipped sign, or h taken the other way round)":
                    _first_order(xt, x0, t, t_prev, exp_sign=+1),
                "x_t is scaled by sigma_prev / sigma_t (less noise is left at t_prev), not by its inverse":
                    _first_order(xt, x0, t, t_prev, sigma_ratio="t/prev"),
                "the x0_hat term is scaled by alpha at the step you land on, alpha_prev = sqrt(alpha_bar[t_prev]), "
                "not alpha_t": _first_order(xt, x0, t, t_prev, alpha="t"),
                "the x0_hat term enters with a minus sign: -alpha_prev (e^{-h} - 1) x0_hat = alpha_prev (1 - e^{-h}) "
                "x0_hat adds a positive amount of the estimate": _first_order(xt, x0, t, t_prev, minus=False),
                "the square roots are missing: alpha_t = sqrt(alpha_bar_t) and sigma_t = sqrt(1 - alpha_bar_t)":
                    _first_order(xt, x0, t, t_prev, sqrt=False),
            },
            rtol=1e-5, atol=1e-7,
        )
    return True


# --------------------------------------------------------------------- q3: second order
def _second_order(xt, x0, t, t_prev, t_before, x0_before, *, r_inverted=False, r_sign=1, half=True,
                  swapped=False, first_order=False, exp_sign=-1):
    """The DPM-Solver++(2M) step and its typical mistakes (keyword arguments name the variant)."""
    _, s_t, lam_t = _alpha_sigma_lambda(t)
    a_p, s_p, lam_p = _alpha_sigma_lambda(t_prev)
    lam_b = _alpha_sigma_lambda(t_before)[2]
    h = lam_p - lam_t
    r = r_sign * (lam_t - lam_b) / h
    if r_inverted:
        r = 1 / r
    c = 1 / (2 * r) if half else 1 / r
    now, before = (x0_before, x0) if swapped else (x0, x0_before)
    D = now if first_order else (1 + c) * now - c * before
    return (s_p / s_t) * xt - a_p * math.expm1(exp_sign * h) * D


def dpmpp_2m_step(fn) -> bool:
    """fn(xt, t, t_prev, x0_hat, t_before, x0_before, alpha_bar) -> x_{t_prev}, the second-order multistep step."""
    fn = limited(fn)
    g = generator(6)
    ab = SCHEDULE.alpha_bar
    for t_before, t, t_prev in ((999, 899, 799), (700, 650, 400), (300, 200, 100), (150, 100, 0)):
        xt = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
        x0 = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64).clamp(-1, 1)
        x0_before = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64).clamp(-1, 1)
        expected, _ = samplers.dpmpp_2m_step(x0, xt, t, t_prev, SCHEDULE, t_before, x0_before, prediction="x0")
        args = (xt, x0, t, t_prev, t_before, x0_before)
        verdict(
            fn(xt.clone(), t, t_prev, x0.clone(), t_before, x0_before.clone(), ab.clone()), expected,
            f"dpmpp_2m_step from t={t} to t_prev={t_prev} (previous step at t_before={t_before})",
            hint="r = (lambda_t - lambda_before) / h, D = (1 + 1/(2r)) x0_hat - 1/(2r) x0_before, and then the "
                 "first-order step with D in place of x0_hat",
            mistakes={
                "x0_before was not used (or x0_hat was used in its place): that is the first-order step. The "
                "second-order step extrapolates the estimate through the previous one, x0_before":
                    _second_order(*args, first_order=True),
                "x0_hat and x0_before are swapped in D: the larger weight, 1 + 1/(2r), belongs to the current "
                "estimate x0_hat": _second_order(*args, swapped=True),
                "r is inverted: r = h_before / h = (lambda_t - lambda_before) / (lambda_prev - lambda_t), the "
                "previous step's length over this one's": _second_order(*args, r_inverted=True),
                "r must be positive: r = (lambda_t - lambda_before) / h, and lambda_t > lambda_before because "
                "lambda grows as t falls": _second_order(*args, r_sign=-1),
                "D extrapolates to the end of the step (factor 1/r); DPM-Solver++(2M) reads the line in the "
                "middle of the step, at lambda_t + h/2: the factors are 1 + 1/(2r) and 1/(2r)":
                    _second_order(*args, half=False),
                "the exponent's sign: the factor is e^{-h} - 1 with h = lambda_prev - lambda_t > 0; your result "
                "has e^{+h} - 1": _second_order(*args, exp_sign=+1),
            },
            rtol=1e-5, atol=1e-7,
        )
    return True

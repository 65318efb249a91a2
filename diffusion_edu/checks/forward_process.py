"""Checks for the exercises of chapter 1, the forward process."""
from __future__ import annotations

import torch

from .. import forward, schedules
from ._verdict import as_tensor, generator, limited, verdict


def alpha_bar_from_beta(fn) -> bool:
    """fn(beta: (T,)) -> alpha_bar: (T,), alpha_bar_t = prod_{s<=t} (1 - beta_s)."""
    fn = limited(fn)
    for seed, T in enumerate((1, 5, 1000)):
        beta = 0.001 + 0.05 * torch.rand(T, generator=generator(seed), dtype=torch.float64)
        alpha = 1 - beta
        verdict(
            fn(beta.clone()), torch.cumprod(alpha, 0), f"alpha_bar_from_beta(beta) with T={T}",
            hint="alpha_bar_t is the product of alpha_s = 1 - beta_s over all steps s <= t",
            mistakes={
                "it looks like the cumulative product of beta; alpha_bar multiplies alpha = 1 - beta": torch.cumprod(beta, 0),
                "it looks like 1 minus the cumulative sum of beta: the factors (1 - beta_s) multiply, they don't add": 1 - torch.cumsum(beta, 0),
                "it looks like alpha = 1 - beta itself: alpha_bar_t accumulates all steps up to t": alpha,
                "the product is shifted by one step: alpha_bar_0 should already include step 0": torch.cat([beta.new_ones(1), torch.cumprod(alpha, 0)[:-1]]),
            },
        )
    return True


def cosine_beta(fn) -> bool:
    """fn(T, s=0.008, max_beta=0.999) -> beta: (T,) of the cosine schedule (Nichol & Dhariwal, 2021)."""
    fn = limited(fn)
    for T in (10, 1000):
        u = torch.arange(T + 1, dtype=torch.float64) / T
        f = torch.cos((u + 0.008) / 1.008 * torch.pi / 2) ** 2
        unclipped = 1 - f[1:] / f[:-1]
        shifted = torch.cat([1 - f[1:2] / f[:1], 1 - f[1:-1] / f[:-2]])
        verdict(
            fn(T), schedules.cosine_schedule(T).beta, f"cosine_beta(T={T})",
            hint="alpha_bar(u) = f(u)/f(0) with f(u) = cos^2((u + s)/(1 + s) * pi/2) and u = (t+1)/T; "
                 "beta_t = 1 - alpha_bar_t / alpha_bar_{t-1}, clipped at max_beta",
            mistakes={
                "beta is not clipped: the last beta_t reaches 1, which would destroy x entirely in one step; clip at max_beta": unclipped,
                "there is an off-by-one in the time grid: step t goes from u = t/T to u = (t+1)/T": shifted,
            },
        )
    beta = fn(1000)
    if beta.max() > 0.999 + 1e-9 or beta.min() <= 0:
        raise AssertionError("every beta_t must be in (0, max_beta]")
    return True


def q_sample(fn) -> bool:
    """fn(x0: (B, ...), t: (B,) long, alpha_bar: (T,), eps: like x0) -> x_t."""
    fn = limited(fn)
    schedule = schedules.cosine_schedule(1000)
    alpha_bar = schedule.alpha_bar
    for seed, shape in enumerate(((4, 2), (3, 1, 4, 4))):
        g = generator(seed)
        x0 = torch.randn(shape, generator=g, dtype=torch.float64)
        eps = torch.randn(shape, generator=g, dtype=torch.float64)
        t = torch.tensor([0, 1, 500, 999][: shape[0]])
        ab = alpha_bar[t].reshape(-1, *([1] * (len(shape) - 1)))
        ab_prev = alpha_bar[t - 1].reshape(ab.shape)  # what alpha_bar[t - 1] gives, wrapping around at t=0
        expected, _ = forward.q_sample(x0, t, schedule, eps=eps)
        verdict(
            fn(x0.clone(), t.clone(), alpha_bar.clone(), eps.clone()), expected,
            f"q_sample for x0 of shape {shape}",
            hint="x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, with alpha_bar_t picked per example "
                 "and reshaped to broadcast against x0",
            mistakes={
                "the square roots are missing: alpha_bar_t is a variance fraction, the scale factors are its square roots":
                    ab * x0 + (1 - ab) * eps,
                "the noise scale should be sqrt(1 - alpha_bar_t), not 1 - sqrt(alpha_bar_t)": ab.sqrt() * x0 + (1 - ab.sqrt()) * eps,
                "alpha_bar is indexed one step too early: timesteps are 0-indexed, use alpha_bar[t]":
                    ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps,
            },
        )
    return True


def posterior_mean_variance(fn) -> bool:
    """fn(x0, xt, t: int, beta: (T,), alpha_bar: (T,)) -> (mean, variance) of q(x_{t-1} | x_t, x_0)."""
    fn = limited(fn)
    schedule = schedules.linear_schedule(1000)
    beta, alpha_bar = schedule.beta, schedule.alpha_bar
    g = generator(7)
    for t in (0, 1, 10, 500, 999):
        x0 = torch.randn(3, 2, generator=g, dtype=torch.float64)
        xt = torch.randn(3, 2, generator=g, dtype=torch.float64)
        result = fn(x0.clone(), xt.clone(), t, beta.clone(), alpha_bar.clone())
        if result is None or result is Ellipsis:
            as_tensor(result, "posterior_mean_variance")  # raises: the answer is still `...`
        if not isinstance(result, tuple) or len(result) != 2:
            raise AssertionError("posterior_mean_variance should return a pair (mean, variance)")
        mean, variance = result
        expected_mean, expected_var = forward.q_posterior(x0, xt, t, schedule)
        variance = torch.as_tensor(variance, dtype=torch.float64).expand_as(expected_var) if isinstance(variance, (torch.Tensor, float)) else variance
        verdict(
            variance, expected_var, f"the posterior variance at t={t}",
            hint="beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t, with alpha_bar_{-1} = 1",
            mistakes={
                "that is beta_t, the forward step's variance; the posterior variance is beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t":
                    beta[t].expand_as(expected_var),
                "at t=0 use alpha_bar_{-1} = 1 (no noise before the first step): Python's alpha_bar[-1] is the LAST entry":
                    ((1 - alpha_bar[t - 1]) / (1 - alpha_bar[t]) * beta[t]).expand_as(expected_var),
            },
        )
        verdict(
            mean, expected_mean, f"the posterior mean at t={t}",
            hint="mu_tilde = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x_0 + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t",
        )
    return True

"""Checks for the exercises of chapter 2, the reverse process: DDPM and DDIM steps."""
from __future__ import annotations

import torch

from .. import forward, samplers, schedules
from ._verdict import generator, limited, verdict

SCHEDULE = schedules.linear_schedule(1000)


def x0_from_eps(fn) -> bool:
    """fn(xt, t: int, eps_hat, alpha_bar: (T,)) -> the estimate of x_0."""
    fn = limited(fn)
    g = generator(0)
    ab = SCHEDULE.alpha_bar
    for t in (0, 100, 999):
        xt = torch.randn(5, 2, generator=g, dtype=torch.float64)
        eps = torch.randn(5, 2, generator=g, dtype=torch.float64)
        verdict(
            fn(xt.clone(), t, eps.clone(), ab.clone()), forward.x0_from_eps(xt, t, eps, SCHEDULE), f"x0_from_eps at t={t}",
            hint="solve x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps for x_0",
            mistakes={
                "the square roots are missing: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps": (xt - (1 - ab[t]) * eps) / ab[t],
                "the noise should be subtracted from x_t, not added": (xt + (1 - ab[t]).sqrt() * eps) / ab[t].sqrt(),
            },
            rtol=1e-4, atol=1e-4,
        )
    return True


def ddpm_step(fn) -> bool:
    """fn(xt, t: int, eps_hat, beta, alpha_bar, z) -> x_{t-1}, with variance beta_tilde_t and no noise at t=0."""
    fn = limited(fn)
    g = generator(1)
    beta, ab = SCHEDULE.beta, SCHEDULE.alpha_bar
    for t in (999, 500, 1, 0):
        xt = torch.randn(4, 2, generator=g, dtype=torch.float64)
        eps = torch.randn(4, 2, generator=g, dtype=torch.float64)
        z = torch.randn(4, 2, generator=g, dtype=torch.float64)
        expected, _ = samplers.ddpm_step(eps, xt, t, SCHEDULE, z)
        mean = expected - (SCHEDULE.posterior_variance[t].sqrt() * z if t > 0 else 0)
        verdict(
            fn(xt.clone(), t, eps.clone(), beta.clone(), ab.clone(), z.clone()), expected, f"ddpm_step at t={t}",
            hint="x_{t-1} = mu_tilde(x_t, x0_hat) + sqrt(beta_tilde_t) z, with x0_hat from the predicted noise; "
                 "add no noise at the last step t=0",
            mistakes={
                "the noise is scaled by sqrt(beta_t); this exercise asks for the posterior variance beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t":
                    mean + (beta[t].sqrt() * z if t > 0 else 0),
                "at t=0 the step must not add noise: x_0 is the final sample": mean + SCHEDULE.posterior_variance[max(t, 1)].sqrt() * z,
                "no noise was added: DDPM adds sqrt(beta_tilde_t) z at every step but the last": mean,
            },
            rtol=1e-4, atol=1e-4,
        )
    return True


def ddim_step(fn) -> bool:
    """fn(xt, t: int, t_prev: int, eps_hat, alpha_bar) -> x_{t_prev} with eta = 0 (t_prev = -1: the clean end)."""
    fn = limited(fn)
    g = generator(2)
    ab = SCHEDULE.alpha_bar
    for t, t_prev in ((999, 899), (100, 0), (20, -1)):
        xt = torch.randn(4, 2, generator=g, dtype=torch.float64)
        eps = torch.randn(4, 2, generator=g, dtype=torch.float64)
        expected, x0_hat = samplers.ddim_step(eps, xt, t, t_prev, SCHEDULE)
        wrapped = ab[t_prev]  # what alpha_bar[-1] gives in Python: the last entry
        verdict(
            fn(xt.clone(), t, t_prev, eps.clone(), ab.clone()), expected, f"ddim_step from t={t} to t_prev={t_prev}",
            hint="x_prev = sqrt(alpha_bar_prev) x0_hat + sqrt(1 - alpha_bar_prev) eps_hat, with alpha_bar_prev = 1 "
                 "when t_prev = -1",
            mistakes={
                "for t_prev = -1 use alpha_bar_prev = 1: Python's alpha_bar[-1] is the LAST entry of the schedule":
                    wrapped.sqrt() * x0_hat + (1 - wrapped).sqrt() * eps,
                "the square roots are missing in the step: the scales are sqrt(alpha_bar_prev) and sqrt(1 - alpha_bar_prev)":
                    (ab[t_prev] if t_prev >= 0 else 1.0) * x0_hat + (1 - (ab[t_prev] if t_prev >= 0 else 1.0)) * eps,
            },
            rtol=1e-4, atol=1e-4,
        )
    return True

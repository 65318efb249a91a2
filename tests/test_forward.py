"""forward.py: q(x_t | x_0) in closed form, its posterior, and the eps / x0 / v / score maps."""
from __future__ import annotations

import pytest
import torch

from conftest import max_abs_error
from diffusion_edu.forward import (
    eps_from_v,
    eps_from_x0,
    q_mean_std,
    q_posterior,
    q_sample,
    score_from_eps,
    v_from_x0_eps,
    x0_and_eps,
    x0_from_eps,
    x0_from_v,
)
from diffusion_edu.schedules import cosine_schedule, linear_schedule, make_schedule

SCHEDULES = {"linear": linear_schedule(1000), "cosine": cosine_schedule(1000)}
F64 = torch.float64


def batch(seed: int, shape=(8, 3, 4), dtype=F64) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ------------------------------------------------------------------- q(x_t | x_0) statistically
@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("t", [0, 250, 999])
def test_q_sample_has_mean_sqrt_alpha_bar_x0_and_variance_1_minus_alpha_bar(name, t):
    schedule = SCHEDULES[name]
    n = 20_000
    x0 = torch.tensor([1.5, -0.7, 0.0, 3.0], dtype=F64).expand(n, 4)  # (n, 4): one point, n draws
    xt, _ = q_sample(x0, t, schedule, generator=torch.Generator().manual_seed(t))
    alpha_bar = schedule.alpha_bar[t].item()
    mean, var = alpha_bar**0.5 * x0[0], 1 - alpha_bar
    # 5 standard errors: sd(mean) = sqrt(var / n), sd(sample variance) = var sqrt(2 / (n - 1))
    assert max_abs_error(xt.mean(0), mean) < 5 * (var / n) ** 0.5
    assert max_abs_error(xt.var(0), torch.full((4,), var, dtype=F64)) < 5 * var * (2 / (n - 1)) ** 0.5


def test_q_sample_with_given_eps_is_the_closed_form():
    schedule = SCHEDULES["linear"]
    x0, eps, t = batch(0), batch(1), torch.tensor([0, 1, 10, 100, 500, 998, 999, 3])
    xt, eps_out = q_sample(x0, t, schedule, eps=eps)
    alpha_bar = schedule.alpha_bar[t].reshape(-1, 1, 1)
    assert eps_out is eps
    assert max_abs_error(xt, alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * eps) < 1e-14


def test_q_mean_std_match_the_closed_form():
    schedule = SCHEDULES["cosine"]
    x0 = batch(0)
    mean, std = q_mean_std(x0, 400, schedule)
    assert max_abs_error(mean, schedule.alpha_bar[400].sqrt() * x0) < 1e-15
    assert std.shape == x0.shape
    assert max_abs_error(std, torch.full_like(x0, schedule.sigma[400].item())) < 1e-15


def test_q_sample_is_reproducible_with_a_generator():
    schedule, x0 = SCHEDULES["linear"], batch(0)
    a, _ = q_sample(x0, 500, schedule, generator=torch.Generator().manual_seed(3))
    b, _ = q_sample(x0, 500, schedule, generator=torch.Generator().manual_seed(3))
    c, _ = q_sample(x0, 500, schedule, generator=torch.Generator().manual_seed(4))
    assert max_abs_error(a, b) == 0
    assert max_abs_error(a, c) > 0.1


# ------------------------------------------------------------------------- the posterior
def conditional_of_gaussian(mean: torch.Tensor, cov: torch.Tensor, x2: float) -> tuple[float, float]:
    """For (x1, x2) ~ N(mean, cov), the mean and variance of x1 given x2 (Gaussian conditioning):
    mean_1 + C_12 C_22^-1 (x2 - mean_2),  C_11 - C_12 C_22^-1 C_21."""
    gain = torch.linalg.solve(cov[1:, 1:], cov[1:, :1])  # (1, 1): C_22^-1 C_21
    cond_mean = mean[0] + (gain.T @ (torch.tensor([x2], dtype=F64) - mean[1:]))[0]
    cond_var = cov[0, 0] - (cov[:1, 1:] @ gain)[0, 0]
    return cond_mean.item(), cond_var.item()


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("t", [1, 2, 50, 500, 998, 999])
def test_q_posterior_is_the_gaussian_conditional_of_x_prev_given_xt(name, t):
    # Given x0:  x_{t-1} = sqrt(ab_{t-1}) x0 + sqrt(1 - ab_{t-1}) e1  and
    # x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) e2, so (x_{t-1}, x_t) is jointly Gaussian:
    # condition on x_t with the generic formula.
    s = SCHEDULES[name]
    ab_prev, alpha, beta = s.alpha_bar[t - 1], s.alpha[t], s.beta[t]
    x0_value, xt_value = 0.8, -1.3
    mean = torch.stack([ab_prev.sqrt() * x0_value, (alpha * ab_prev).sqrt() * x0_value])
    var_prev = 1 - ab_prev
    cov = torch.stack([
        torch.stack([var_prev, alpha.sqrt() * var_prev]),
        torch.stack([alpha.sqrt() * var_prev, alpha * var_prev + beta]),
    ])  # (2, 2)
    expected_mean, expected_var = conditional_of_gaussian(mean, cov, xt_value)

    x0 = torch.full((1, 2), x0_value, dtype=F64)
    xt = torch.full((1, 2), xt_value, dtype=F64)
    post_mean, post_var = q_posterior(x0, xt, t, s)
    assert post_mean.shape == post_var.shape == (1, 2)
    assert max_abs_error(post_mean, torch.full((1, 2), expected_mean, dtype=F64)) < 1e-10
    assert max_abs_error(post_var, torch.full((1, 2), expected_var, dtype=F64)) < 1e-12
    assert max_abs_error(post_var[0, :1], s.posterior_variance[t:t + 1]) < 1e-15


@pytest.mark.parametrize("name", ["linear", "cosine", "sigmoid"])
def test_q_posterior_at_t0_is_x0_with_variance_0(name):
    s = make_schedule(name, 1000)
    x0, xt = batch(0), batch(1)
    mean, var = q_posterior(x0, xt, 0, s)
    assert max_abs_error(mean, x0) < 1e-12
    assert var.abs().max().item() == 0


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("t", [0, 1, 2, 10, 500, 999])
def test_q_posterior_mean_in_float32_is_as_accurate_as_float32_allows(name, t):
    # the coefficients beta_t / (1 - ab_t) and (1 - ab_{t-1}) / (1 - ab_t) must not be formed from
    # float32 alpha_bar: at t=0, 1 - ab_0 = beta_0 ~ 1e-4 keeps only ~4 digits in float32.
    s = SCHEDULES[name]
    x0, xt = batch(0), batch(1)
    exact, _ = q_posterior(x0, xt, t, s)
    single, _ = q_posterior(x0.float(), xt.float(), t, s)
    assert single.dtype == torch.float32
    assert max_abs_error(single, exact) < 1e-6 * exact.abs().max().item()


# --------------------------------------------------------------------- conversions round trip
@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_x0_from_eps_inverts_q_sample(name):
    s, x0, eps = SCHEDULES[name], batch(0), batch(1)
    t = torch.tensor([0, 1, 100, 250, 500, 750, 900, 990])  # cosine's t=999 has alpha_bar 2e-9
    xt, _ = q_sample(x0, t, s, eps=eps)
    assert max_abs_error(x0_from_eps(xt, t, eps, s), x0) < 1e-10
    assert max_abs_error(eps_from_x0(xt, t, x0, s), eps) < 1e-10


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_v_round_trips_to_x0_and_eps(name):
    s, x0, eps = SCHEDULES[name], batch(0), batch(1)
    t = torch.tensor([0, 1, 100, 250, 500, 750, 999, 998])
    xt, _ = q_sample(x0, t, s, eps=eps)
    v = v_from_x0_eps(x0, eps, t, s)
    assert max_abs_error(x0_from_v(xt, t, v, s), x0) < 1e-12
    assert max_abs_error(eps_from_v(xt, t, v, s), eps) < 1e-12
    # v is the velocity d x_t / d phi with x_t = cos(phi) x0 + sin(phi) eps (Salimans & Ho, 2022)
    phi = torch.atan2(s.sigma[t], s.alpha_bar[t].sqrt()).reshape(-1, 1, 1)
    assert max_abs_error(v, -torch.sin(phi) * x0 + torch.cos(phi) * eps) < 1e-12


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_x0_and_eps_recovers_both_from_any_prediction(prediction):
    s, x0, eps = SCHEDULES["linear"], batch(0), batch(1)
    t = torch.tensor([0, 1, 100, 250, 500, 750, 999, 998])
    xt, _ = q_sample(x0, t, s, eps=eps)
    output = {"eps": eps, "x0": x0, "v": v_from_x0_eps(x0, eps, t, s)}[prediction]
    x0_hat, eps_hat = x0_and_eps(output, xt, t, s, prediction)
    assert max_abs_error(x0_hat, x0) < 1e-10
    assert max_abs_error(eps_hat, eps) < 1e-10


@pytest.mark.parametrize("t", [0, 100, 999])
def test_score_from_eps_is_the_score_of_q_xt_given_x0(t):
    s, x0, eps = SCHEDULES["linear"], batch(0), batch(1)
    xt, _ = q_sample(x0, t, s, eps=eps)
    alpha_bar = s.alpha_bar[t]
    analytic = -(xt - alpha_bar.sqrt() * x0) / (1 - alpha_bar)
    score = score_from_eps(eps, t, s)
    assert max_abs_error(score, analytic) < 1e-9 * analytic.abs().max().item()

    # and by automatic differentiation of log N(x_t; sqrt(ab) x0, (1 - ab) I)
    xt_var = xt.clone().requires_grad_(True)
    q = torch.distributions.Normal(alpha_bar.sqrt() * x0, (1 - alpha_bar).sqrt())
    log_density = q.log_prob(xt_var).sum()
    (autograd_score,) = torch.autograd.grad(log_density, xt_var)
    assert max_abs_error(score, autograd_score) < 1e-9 * analytic.abs().max().item()


# ---------------------------------------------------------------------------------- bad input
def test_q_sample_rejects_eps_shaped_unlike_x0():
    with pytest.raises(ValueError, match=r"shapes must match: got x0 \(8, 3, 4\), eps \(8, 3\)"):
        q_sample(batch(0), 5, SCHEDULES["linear"], eps=torch.zeros(8, 3, dtype=F64))


def test_q_sample_rejects_t_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 999\], got 1000"):
        q_sample(batch(0), 1000, SCHEDULES["linear"])
    with pytest.raises(ValueError, match=r"\[0, 999\], got -3"):
        q_sample(batch(0), torch.full((8,), -3), SCHEDULES["linear"])


def test_q_sample_rejects_float_timesteps():
    with pytest.raises(TypeError, match="timesteps must be integers"):
        q_sample(batch(0), torch.full((8,), 5.0), SCHEDULES["linear"])


@pytest.mark.parametrize("prediction", ["score", "epsilon", "sample", ""])
def test_x0_and_eps_rejects_unknown_prediction(prediction):
    with pytest.raises(ValueError, match=r"unknown prediction .*expected one of \('eps', 'x0', 'v'\)"):
        x0_and_eps(batch(0), batch(1), 5, SCHEDULES["linear"], prediction)


def test_conversions_reject_mismatched_shapes():
    s = SCHEDULES["linear"]
    with pytest.raises(ValueError, match="shapes must match"):
        x0_from_eps(batch(0), 3, batch(1, shape=(8, 3)), s)
    with pytest.raises(ValueError, match="shapes must match"):
        q_posterior(batch(0), batch(1, shape=(8, 4, 3)), 3, s)
    with pytest.raises(ValueError, match="shapes must match"):
        x0_and_eps(batch(0, shape=(8, 2)), batch(1), 3, s)

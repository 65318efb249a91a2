"""samplers.py, the ODE solvers: DPM-Solver++(2M) against diffusers, and what its second order buys.

diffusers' ``DPMSolverMultistepScheduler`` is matched in this one configuration, every setting
named (its defaults in 0.42.1, set explicitly so a change of defaults cannot move the target).
"""
from __future__ import annotations

import math

import pytest
import torch
from diffusers import DPMSolverMultistepScheduler

from conftest import DIFFUSERS_SETTINGS, F64, PREDICTION_TYPES, SCHEDULES, gaussian_eps_model, max_abs_error
from diffusion_edu.samplers import (
    ddim_sample,
    ddim_step,
    dpmpp_2m_sample,
    dpmpp_2m_step,
    linspace_timesteps,
)
from diffusion_edu.schedules import Schedule

# diffusers' set_timesteps calls np.array on a torch tensor, which numpy 2 warns about at every call
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def diffusers_dpmpp_2m(name: str, n_steps: int, prediction: str = "eps", tables: Schedule | None = None):
    """diffusers' DPM-Solver++(2M), set up as ``dpmpp_2m_sample`` is. ``tables``: our float64
    alpha_bar instead of diffusers' float32 one (its sigmas are still cast to float32)."""
    scheduler = DPMSolverMultistepScheduler(
        num_train_timesteps=1000,
        algorithm_type="dpmsolver++",  # the data-prediction (x0) form
        solver_order=2,
        solver_type="midpoint",  # D = x0_hat + (x0_hat - x0_before) / (2 r)
        lower_order_final=True,
        euler_at_final=False,
        final_sigmas_type="zero",  # the last step goes to sigma = 0, first order: x = x0_hat
        timestep_spacing="linspace",
        steps_offset=0,
        lambda_min_clipped=-float("inf"),
        use_karras_sigmas=False, use_exponential_sigmas=False, use_beta_sigmas=False,
        use_lu_lambdas=False, use_flow_sigmas=False,
        thresholding=False,
        variance_type=None,
        rescale_betas_zero_snr=False,
        prediction_type=PREDICTION_TYPES[prediction],
        **DIFFUSERS_SETTINGS[name],
    )
    if tables is not None:
        scheduler.alphas_cumprod = tables.alpha_bar.clone()  # set_timesteps reads its sigmas from it
    scheduler.set_timesteps(n_steps)
    return scheduler


def linear_fake_model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A fixed model output, linear in x with t-dependent coefficients: the same for both samplers."""
    t = t.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))  # (B, 1, ...)
    return (0.9 + 0.1 * torch.cos(t / 150)) * x + 0.2 * torch.sin(t / 80)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -------------------------------------------------------------------------------- timesteps
@pytest.mark.parametrize("T", [1000, 50, 7])
def test_linspace_timesteps_equal_diffusers_linspace_spacing_for_every_step_count(T):
    scheduler = DPMSolverMultistepScheduler(num_train_timesteps=T, timestep_spacing="linspace")
    for n_steps in range(1, T):
        scheduler.set_timesteps(n_steps)
        assert linspace_timesteps(T, n_steps) == scheduler.timesteps.tolist(), f"n_steps={n_steps}"


def test_linspace_timesteps_for_10_steps_of_1000():
    assert linspace_timesteps(1000, 10) == [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]


@pytest.mark.parametrize("n_steps", [0, -1, 1000, 1001, 10.0, True])
def test_linspace_timesteps_rejects_step_counts_outside_1_T_minus_1(n_steps):
    with pytest.raises(ValueError, match=r"n_steps must be an int in \[1, T-1\]=\[1, 999\]"):
        linspace_timesteps(1000, n_steps)


# ------------------------------------------------------- DPM-Solver++(2M) against diffusers
@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
@pytest.mark.parametrize("n_steps", [1, 2, 10, 20, 50])
def test_dpmpp_2m_sample_equals_diffusers_at_every_step(name, prediction, n_steps):
    schedule = SCHEDULES[name]
    reference = diffusers_dpmpp_2m(name, n_steps, prediction, tables=schedule)
    x_start = torch.randn(16, 2, 3, generator=seeded(0), dtype=F64)
    _, trajectory = dpmpp_2m_sample(linear_fake_model, x_start.shape, schedule, n_steps, prediction,
                                    x_start=x_start, return_trajectory=True)
    assert trajectory.t == reference.timesteps.tolist()
    x = x_start
    for step, t in enumerate(reference.timesteps):
        out = linear_fake_model(x, torch.full((16,), int(t)))
        x = reference.step(out, t, x).prev_sample
        # diffusers steps in float32 (it casts x and its sigmas): agreement to float32 precision
        expected_scale = 1 + x.abs().max().item()
        assert max_abs_error(trajectory.x[step + 1], x) < 3e-6 * expected_scale, f"step {step}, t={int(t)}"


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_dpmpp_2m_in_float32_agrees_with_diffusers_own_tables(name):
    reference = diffusers_dpmpp_2m(name, 20)  # float32 tables, as a user runs it
    x_start = torch.randn(16, 2, 3, generator=seeded(0))
    _, trajectory = dpmpp_2m_sample(linear_fake_model, x_start.shape, SCHEDULES[name], 20,
                                    x_start=x_start, return_trajectory=True)
    x = x_start
    for step, t in enumerate(reference.timesteps):
        x = reference.step(linear_fake_model(x, torch.full((16,), int(t))), t, x).prev_sample
        assert max_abs_error(trajectory.x[step + 1], x) < 3e-5 * (1 + x.abs().max().item()), f"step {step}"


# ------------------------------------------------------------------------------- properties
@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_first_order_dpmpp_step_is_the_ddim_step(name, prediction):
    schedule = SCHEDULES[name]
    for t, t_prev in [(999, 949), (500, 450), (50, 0), (1, 0), (0, -1)]:
        xt, out = torch.randn(8, 3, generator=seeded(t), dtype=F64), torch.randn(8, 3, generator=seeded(t + 1), dtype=F64)
        ours, x0_ours = dpmpp_2m_step(out, xt, t, t_prev, schedule, prediction=prediction)
        ddim, x0_ddim = ddim_step(out, xt, t, t_prev, schedule, prediction=prediction)
        assert max_abs_error(x0_ours, x0_ddim) == 0
        assert max_abs_error(ours, ddim) < 1e-10 * (1 + ddim.abs().max().item()), f"t={t}"


def test_one_step_errors_are_of_order_h_cubed_for_2m_and_h_squared_for_first_order():
    # With x0_hat(lambda) = a + b lambda the step's integral (see the docstring) is known:
    # int e^l (a + b l) dl = a e^l + b e^l (l - 1). The 2M step evaluates x0_hat at the middle of
    # the step, lambda_t + h/2, and is off by O(h^3); the first-order step uses x0_hat(lambda_t)
    # and is off by O(h^2). Halving h (about) must divide the errors by about 8 and 4.
    schedule = SCHEDULES["cosine"]
    lam, sigma = (schedule.log_snr / 2).tolist(), schedule.sigma.tolist()
    a, b = torch.tensor([[0.3, -1.0]], dtype=F64), torch.tensor([[0.2, 0.5]], dtype=F64)  # (1, 2)
    xt, t, t_before = torch.tensor([[0.4, -0.8]], dtype=F64), 600, 700

    def x0_at(s: int) -> torch.Tensor:
        return a + b * lam[s]

    def errors(t_prev: int) -> tuple[float, float, float]:
        l0, l1 = lam[t], lam[t_prev]
        integral = a * (torch.e**l1 - torch.e**l0) + b * (torch.e**l1 * (l1 - 1) - torch.e**l0 * (l0 - 1))
        exact = sigma[t_prev] / sigma[t] * xt + sigma[t_prev] * integral
        second, _ = dpmpp_2m_step(x0_at(t), xt, t, t_prev, schedule, t_before, x0_at(t_before), prediction="x0")
        first, _ = dpmpp_2m_step(x0_at(t), xt, t, t_prev, schedule, prediction="x0")
        return l1 - l0, max_abs_error(second, exact), max_abs_error(first, exact)

    (h1, second1, first1), (h2, second2, first2) = errors(500), errors(550)

    def order(error1: float, error2: float) -> float:
        return math.log(error1 / error2) / math.log(h1 / h2)

    assert 2.8 < order(second1, second2) < 3.2
    assert 1.8 < order(first1, first2) < 2.2


def test_last_step_to_the_clean_end_returns_x0_hat_even_with_history():
    schedule = SCHEDULES["linear"]
    xt, out, before = (torch.randn(4, 2, generator=seeded(i), dtype=F64) for i in range(3))
    x, x0_hat = dpmpp_2m_step(out, xt, 50, -1, schedule, t_before=100, x0_before=before)
    assert max_abs_error(x, x0_hat) == 0


def test_dpmpp_2m_is_deterministic_given_its_start():
    schedule = SCHEDULES["linear"]
    x_start = torch.randn(32, 2, generator=seeded(0))
    a = dpmpp_2m_sample(linear_fake_model, (32, 2), schedule, 10, x_start=x_start, generator=seeded(1))
    b = dpmpp_2m_sample(linear_fake_model, (32, 2), schedule, 10, x_start=x_start, generator=seeded(2))
    assert max_abs_error(a, b) == 0


def test_callback_gets_one_dict_per_step():
    calls = []
    x, trajectory = dpmpp_2m_sample(linear_fake_model, (3, 2), SCHEDULES["linear"], 7, generator=seeded(0),
                                    callback=calls.append, return_trajectory=True)
    assert [c["step"] for c in calls] == list(range(7))
    assert [c["t"] for c in calls] == trajectory.t == linspace_timesteps(1000, 7)
    assert trajectory.x.shape == (8, 3, 2) and trajectory.x0.shape == (7, 3, 2)
    assert max_abs_error(calls[-1]["x"], x) == 0 and max_abs_error(trajectory.x[-1], x) == 0


# --------------------------------------------------------- the exact Gaussian denoiser: order
MU, S = torch.tensor([1.0, -2.0], dtype=F64), 0.5


def output_mean_and_std(sampler, schedule: Schedule, n_steps: int) -> tuple[torch.Tensor, float]:
    """Mean and std of the samples, exactly, for data N(MU, S^2 I) and its exact eps-predictor.

    A deterministic sampler is then an affine map of its start, x = A x_start + B (every step is
    affine in x), so for x_start ~ N(0, I) the samples have mean B and std |A|: two starting
    points, 0 and 1, give both without any Monte Carlo error.
    """
    model = gaussian_eps_model(schedule, MU, S)
    starts = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=F64)  # (2, 2)
    out = sampler(model, (2, 2), schedule, n_steps=n_steps, x_start=starts)
    return out[0], (out[1] - out[0]).abs().max().item()


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_dpmpp_2m_20_steps_with_the_exact_gaussian_denoiser_recovers_mean_and_std(name):
    mean, std = output_mean_and_std(dpmpp_2m_sample, SCHEDULES[name], 20)
    # linear: the start N(0, I) is not quite x_999's N(sqrt(ab) mu, ...): sqrt(ab_999) = 0.006
    assert max_abs_error(mean, MU) < 0.01
    assert abs(std - S) < 0.05 * S  # measured: 4.6% (linear), 0.4% (cosine)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_dpmpp_2m_at_20_steps_is_closer_to_the_data_than_ddim_at_20_steps(name):
    schedule = SCHEDULES[name]
    _, std_dpm = output_mean_and_std(dpmpp_2m_sample, schedule, 20)
    _, std_ddim = output_mean_and_std(ddim_sample, schedule, 20)

    def ddim_on_the_same_timesteps(model, shape, schedule, n_steps, x_start):
        timesteps = linspace_timesteps(schedule.T, n_steps) + [-1]
        x = x_start
        for t, t_prev in zip(timesteps[:-1], timesteps[1:]):
            x, _ = ddim_step(model(x, torch.full((2,), t)), x, t, t_prev, schedule)
        return x

    _, std_first_order = output_mean_and_std(ddim_on_the_same_timesteps, schedule, 20)
    # measured relative errors of the std: DPM++ 4.6% / 0.4%, DDIM 13% / 7.1%,
    # first order on DPM++'s timesteps 14% / 7.6% (linear / cosine): the order pays, not the spacing
    assert abs(std_dpm - S) < 0.5 * abs(std_ddim - S)
    assert abs(std_dpm - S) < 0.5 * abs(std_first_order - S)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_dpmpp_2m_error_falls_faster_with_steps_than_ddim(name):
    schedule = SCHEDULES[name]
    errors = {}
    for sampler in (dpmpp_2m_sample, ddim_sample):
        errors[sampler.__name__] = [abs(output_mean_and_std(sampler, schedule, n)[1] - S) for n in (50, 200)]
    # measured at 200 steps: DPM++ 1e-4 / 1.5e-4, DDIM 1.4e-2 / 7.7e-3 (relative, linear / cosine)
    assert errors["dpmpp_2m_sample"][1] < 1e-3 * S
    assert errors["dpmpp_2m_sample"][1] < 0.1 * errors["ddim_sample"][1]


# --------------------------------------------------------------------------------- bad input
def test_dpmpp_2m_sample_rejects_bad_step_counts():
    for n_steps in (0, 1000):
        with pytest.raises(ValueError, match=r"n_steps must be an int in \[1, T-1\]=\[1, 999\]"):
            dpmpp_2m_sample(linear_fake_model, (4, 2), SCHEDULES["linear"], n_steps=n_steps)


@pytest.mark.parametrize("t_prev", [10, 11, -2])
def test_dpmpp_2m_step_rejects_t_prev_not_below_t(t_prev):
    x = torch.zeros(2, 2, dtype=F64)
    with pytest.raises(ValueError, match=r"-1 <= t_prev < t=10"):
        dpmpp_2m_step(x, x, 10, t_prev, SCHEDULES["linear"])


def test_dpmpp_2m_step_needs_both_or_neither_of_the_history():
    x = torch.zeros(2, 2, dtype=F64)
    with pytest.raises(ValueError, match="needs both t_before and x0_before"):
        dpmpp_2m_step(x, x, 10, 5, SCHEDULES["linear"], t_before=20)
    with pytest.raises(ValueError, match=r"t_before must be the previous step's timestep, in \(t, T-1\]=\(10, 999\]"):
        dpmpp_2m_step(x, x, 10, 5, SCHEDULES["linear"], t_before=10, x0_before=x)


def test_dpmpp_2m_step_rejects_unknown_prediction():
    x = torch.zeros(2, 2, dtype=F64)
    with pytest.raises(ValueError, match="unknown prediction 'epsilon'"):
        dpmpp_2m_step(x, x, 10, 5, SCHEDULES["linear"], prediction="epsilon")

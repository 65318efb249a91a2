"""samplers.py: DDPM and DDIM steps against diffusers, their properties, and exact-denoiser sampling."""
from __future__ import annotations

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from conftest import DIFFUSERS_SETTINGS, F64, PREDICTION_TYPES, SCHEDULES, gaussian_eps_model, max_abs_error
from diffusion_edu.models import MLPDenoiser
from diffusion_edu.samplers import (
    Trajectory,
    ddim_sample,
    ddim_step,
    ddim_timesteps,
    ddpm_sample,
    ddpm_step,
)
from diffusion_edu.schedules import Schedule, linear_schedule



def batch(seed: int, shape=(16, 2, 3), dtype=F64) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def with_our_tables(scheduler, schedule: Schedule):
    """Give a diffusers scheduler our float64 tables, so that a step compares update rules alone
    (that the tables agree to float32 precision is test_schedules' job)."""
    scheduler.betas = schedule.beta.clone()
    scheduler.alphas = schedule.alpha.clone()
    scheduler.alphas_cumprod = schedule.alpha_bar.clone()
    return scheduler


def diffusers_ddpm(name: str, prediction: str = "eps", clip: bool = False, variance_type="fixed_small"):
    return DDPMScheduler(
        num_train_timesteps=1000, clip_sample=clip, clip_sample_range=1.0, variance_type=variance_type,
        prediction_type=PREDICTION_TYPES[prediction], **DIFFUSERS_SETTINGS[name],
    )


def diffusers_ddim(name: str, n_steps: int, prediction: str = "eps", clip: bool = False):
    scheduler = DDIMScheduler(
        num_train_timesteps=1000, clip_sample=clip, clip_sample_range=1.0, set_alpha_to_one=True,
        steps_offset=0, timestep_spacing="leading", prediction_type=PREDICTION_TYPES[prediction],
        **DIFFUSERS_SETTINGS[name],
    )
    scheduler.set_timesteps(n_steps)
    return scheduler


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------- DDPM step vs diffusers
@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
@pytest.mark.parametrize("t", [0, 1, 2, 500, 999])
def test_ddpm_step_equals_diffusers(name, prediction, t):
    schedule = SCHEDULES[name]
    reference = with_our_tables(diffusers_ddpm(name, prediction), schedule)
    xt, out = batch(0), batch(1)
    # diffusers draws its noise with randn(shape, generator) only when t > 0: the same seed gives ours
    expected = reference.step(out, t, xt, generator=seeded(7)).prev_sample
    noise = torch.randn(xt.shape, generator=seeded(7), dtype=F64)
    ours, _ = ddpm_step(out, xt, t, schedule, noise, prediction)
    assert max_abs_error(ours, expected) < 1e-10 * (1 + expected.abs().max().item())


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("t", [0, 1, 300, 999])
def test_ddpm_step_with_beta_variance_equals_diffusers_fixed_large(name, t):
    schedule = SCHEDULES[name]
    reference = with_our_tables(diffusers_ddpm(name, variance_type="fixed_large"), schedule)
    xt, out = batch(0), batch(1)
    expected = reference.step(out, t, xt, generator=seeded(7)).prev_sample
    noise = torch.randn(xt.shape, generator=seeded(7), dtype=F64)
    ours, _ = ddpm_step(out, xt, t, schedule, noise, variance="beta")
    assert max_abs_error(ours, expected) < 1e-10 * (1 + expected.abs().max().item())


@pytest.mark.parametrize("prediction", ["eps", "v"])
@pytest.mark.parametrize("t", [0, 10, 600])
def test_clipped_ddpm_step_equals_diffusers_clip_sample(prediction, t):
    schedule = SCHEDULES["linear"]
    reference = with_our_tables(diffusers_ddpm("linear", prediction, clip=True), schedule)
    xt, out = 2 * batch(0), batch(1)  # x0_hat spreads well beyond [-1, 1]: the clip binds
    expected = reference.step(out, t, xt, generator=seeded(7))
    noise = torch.randn(xt.shape, generator=seeded(7), dtype=F64)
    ours, x0_hat = ddpm_step(out, xt, t, schedule, noise, prediction, clip_x0=1.0)
    assert x0_hat.abs().max().item() == 1.0
    assert max_abs_error(x0_hat, expected.pred_original_sample) < 1e-12
    assert max_abs_error(ours, expected.prev_sample) < 1e-10 * (1 + expected.prev_sample.abs().max().item())


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("t", [0, 500, 999])
def test_ddpm_step_in_float32_agrees_with_diffusers_own_tables(name, t):
    reference = diffusers_ddpm(name)  # float32 tables, as a user runs it
    xt, out = batch(0, dtype=torch.float32), batch(1, dtype=torch.float32)
    expected = reference.step(out, t, xt, generator=seeded(7)).prev_sample
    ours, _ = ddpm_step(out, xt, t, SCHEDULES[name], torch.randn(xt.shape, generator=seeded(7)))
    assert max_abs_error(ours, expected) < 2e-5 * expected.abs().max().item()


@pytest.mark.parametrize("variance", ["posterior", "beta"])
def test_ddpm_step_adds_no_noise_at_t0(variance):
    schedule = SCHEDULES["linear"]
    xt, out = batch(0), batch(1)
    a, x0_hat = ddpm_step(out, xt, 0, schedule, torch.zeros_like(xt), variance=variance)
    b, _ = ddpm_step(out, xt, 0, schedule, 1e6 * torch.ones_like(xt), variance=variance)
    assert max_abs_error(a, b) == 0
    assert max_abs_error(a, x0_hat) < 1e-12  # the posterior at t=0 collapses onto x0_hat


# ------------------------------------------------------------------- DDIM step vs diffusers
@pytest.mark.parametrize("n_steps", [1, 3, 10, 50, 999, 1000])
def test_ddim_timesteps_equal_diffusers_leading_spacing(n_steps):
    assert ddim_timesteps(1000, n_steps) == diffusers_ddim("linear", n_steps).timesteps.tolist()


def test_ddim_timesteps_for_10_steps_of_1000():
    assert ddim_timesteps(1000, 10) == [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
@pytest.mark.parametrize("eta", [0.0, 0.5])
@pytest.mark.parametrize("n_steps", [10, 50])
def test_ddim_step_equals_diffusers(name, prediction, eta, n_steps):
    schedule = SCHEDULES[name]
    reference = with_our_tables(diffusers_ddim(name, n_steps, prediction), schedule)
    timesteps = ddim_timesteps(1000, n_steps)
    for i in [0, 1, n_steps // 2, n_steps - 1]:  # the first, a middle and the last (t_prev = -1) step
        t, t_prev = timesteps[i], (timesteps[i + 1] if i + 1 < n_steps else -1)
        xt, out = batch(i), batch(100 + i)
        # diffusers draws variance_noise only when eta > 0
        expected = reference.step(out, t, xt, eta=eta, generator=seeded(7)).prev_sample
        noise = torch.randn(xt.shape, generator=seeded(7), dtype=F64) if eta > 0 else None
        ours, _ = ddim_step(out, xt, t, t_prev, schedule, eta, noise, prediction)
        assert max_abs_error(ours, expected) < 1e-10 * (1 + expected.abs().max().item()), f"step {i}, t={t}"


@pytest.mark.parametrize("prediction", ["eps", "v"])
@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_clipped_ddim_step_equals_diffusers_with_clipped_model_output(prediction, eta):
    schedule = SCHEDULES["linear"]
    reference = with_our_tables(diffusers_ddim("linear", 20, prediction, clip=True), schedule)
    for t, t_prev in [(950, 900), (500, 450), (50, 0), (0, -1)]:
        xt, out = 2 * batch(t), batch(t + 1)
        expected = reference.step(out, t, xt, eta=eta, use_clipped_model_output=True, generator=seeded(7))
        noise = torch.randn(xt.shape, generator=seeded(7), dtype=F64) if eta > 0 else None
        ours, x0_hat = ddim_step(out, xt, t, t_prev, schedule, eta, noise, prediction, clip_x0=1.0)
        assert max_abs_error(x0_hat, expected.pred_original_sample) < 1e-12
        scale = 1 + expected.prev_sample.abs().max().item()
        assert max_abs_error(ours, expected.prev_sample) < 1e-10 * scale, f"t={t}"


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_ddim_step_in_float32_agrees_with_diffusers_own_tables(name, eta):
    reference = diffusers_ddim(name, 10)
    for t, t_prev in [(900, 800), (500, 400), (0, -1)]:
        xt, out = batch(0, dtype=torch.float32), batch(1, dtype=torch.float32)
        expected = reference.step(out, t, xt, eta=eta, generator=seeded(7)).prev_sample
        noise = torch.randn(xt.shape, generator=seeded(7)) if eta > 0 else None
        ours, _ = ddim_step(out, xt, t, t_prev, SCHEDULES[name], eta, noise)
        assert max_abs_error(ours, expected) < 2e-5 * expected.abs().max().item()


# --------------------------------------------------------------------------- DDIM properties
def small_model(seed: int = 0) -> MLPDenoiser:
    torch.manual_seed(seed)
    return MLPDenoiser(dim=2, hidden=16, n_blocks=1).eval()


def test_ddim_eta0_is_deterministic():
    schedule, model = SCHEDULES["linear"], small_model()
    x_start = torch.randn(64, 2, generator=seeded(0))
    a = ddim_sample(model, (64, 2), schedule, n_steps=20, x_start=x_start, generator=seeded(1))
    b = ddim_sample(model, (64, 2), schedule, n_steps=20, x_start=x_start, generator=seeded(2))
    c = ddim_sample(model, (64, 2), schedule, n_steps=20, x_start=x_start + 0.1, generator=seeded(1))
    assert max_abs_error(a, b) == 0
    assert max_abs_error(a, c) > 1e-3  # it does depend on its starting noise


def test_ddim_eta_positive_depends_on_the_generator():
    schedule, model = SCHEDULES["linear"], small_model()
    x_start = torch.randn(64, 2, generator=seeded(0))
    a = ddim_sample(model, (64, 2), schedule, n_steps=20, eta=1.0, x_start=x_start, generator=seeded(1))
    b = ddim_sample(model, (64, 2), schedule, n_steps=20, eta=1.0, x_start=x_start, generator=seeded(2))
    assert max_abs_error(a, b) > 1e-3


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("t", [1, 2, 10, 500, 998, 999])
def test_ddim_eta1_one_step_at_a_time_has_ddpm_posterior_variance(name, t):
    schedule = SCHEDULES[name]
    xt, out, z = batch(0), batch(1), batch(2)
    without, _ = ddim_step(out, xt, t, t - 1, schedule, eta=1.0, noise=torch.zeros_like(xt))
    with_z, _ = ddim_step(out, xt, t, t - 1, schedule, eta=1.0, noise=z)
    sigma = (with_z - without) / z  # (B, ...): the same sigma_t everywhere
    expected = schedule.posterior_variance[t].item()
    assert max_abs_error(sigma**2, torch.full_like(sigma, expected)) < 1e-9 * expected


def test_ddim_eta1_last_step_adds_no_noise():
    schedule = SCHEDULES["linear"]
    xt, out = batch(0), batch(1)
    a, x0_hat = ddim_step(out, xt, 0, -1, schedule, eta=1.0, noise=torch.zeros_like(xt))
    b, _ = ddim_step(out, xt, 0, -1, schedule, eta=1.0, noise=batch(2))
    assert max_abs_error(a, b) == 0
    assert max_abs_error(a, x0_hat) == 0


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
@pytest.mark.parametrize("clip_x0", [None, 1.0])
def test_ddim_eta1_one_step_at_a_time_equals_ddpm_step(name, prediction, clip_x0):
    # Algebra: with sigma^2 = beta_tilde_t and t_prev = t-1, sqrt(1 - ab_{t-1} - sigma^2) =
    # sqrt(alpha_t) (1 - ab_{t-1}) / sqrt(1 - ab_t), and DDIM's mean is DDPM's posterior mean.
    schedule = SCHEDULES[name]
    for t in [0, 1, 2, 10, 500, 998, 999]:
        xt, out, noise = 2 * batch(t), batch(t + 1), batch(t + 2)
        ddpm, ddpm_x0 = ddpm_step(out, xt, t, schedule, noise, prediction, clip_x0)
        ddim, ddim_x0 = ddim_step(out, xt, t, t - 1, schedule, 1.0, noise, prediction, clip_x0)
        assert max_abs_error(ddim_x0, ddpm_x0) == 0
        assert max_abs_error(ddim, ddpm) < 1e-10 * (1 + ddpm.abs().max().item()), f"t={t}"


def test_ddim_sample_eta1_with_all_steps_equals_ddpm_sample():
    schedule = SCHEDULES["cosine"]
    model = gaussian_eps_model(schedule, torch.tensor([1.0, -1.0], dtype=F64), 0.5)
    x_start = torch.randn(256, 2, generator=seeded(0), dtype=F64)
    ddpm = ddpm_sample(model, (256, 2), schedule, x_start=x_start, generator=seeded(1))
    ddim = ddim_sample(model, (256, 2), schedule, n_steps=1000, eta=1.0, x_start=x_start, generator=seeded(1))
    assert max_abs_error(ddim, ddpm) < 1e-9


# ------------------------------------------------------------- trajectories, callback, seeds
def test_ddpm_trajectory_has_every_step():
    schedule = linear_schedule(50)
    x_start = torch.randn(5, 2, generator=seeded(0))
    x, traj = ddpm_sample(small_model(), (5, 2), schedule, x_start=x_start, generator=seeded(1),
                          return_trajectory=True)
    assert isinstance(traj, Trajectory)
    assert traj.t == list(range(49, -1, -1))
    assert traj.x.shape == (51, 5, 2)
    assert traj.x0.shape == (50, 5, 2)
    assert max_abs_error(traj.x[0], x_start) == 0
    assert max_abs_error(traj.x[-1], x) == 0


def test_ddim_trajectory_has_one_entry_per_step():
    schedule = SCHEDULES["linear"]
    x, traj = ddim_sample(small_model(), (5, 2), schedule, n_steps=10, generator=seeded(1),
                          return_trajectory=True)
    assert traj.t == ddim_timesteps(1000, 10)
    assert traj.x.shape == (11, 5, 2)
    assert traj.x0.shape == (10, 5, 2)
    assert max_abs_error(traj.x[-1], x) == 0


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_callback_is_called_once_per_step_with_the_documented_keys(sampler):
    calls = []
    schedule = linear_schedule(40)
    kwargs = dict(generator=seeded(1), callback=calls.append, return_trajectory=True)
    if sampler == "ddpm":
        x, traj = ddpm_sample(small_model(), (3, 2), schedule, **kwargs)
        n_steps = 40
    else:
        x, traj = ddim_sample(small_model(), (3, 2), schedule, n_steps=8, **kwargs)
        n_steps = 8
    assert len(calls) == n_steps
    assert all(set(c) == {"step", "t", "x", "x0"} for c in calls)
    assert [c["step"] for c in calls] == list(range(n_steps))
    assert [c["t"] for c in calls] == traj.t
    for i, c in enumerate(calls):
        assert max_abs_error(c["x"], traj.x[i + 1]) == 0
        assert max_abs_error(c["x0"], traj.x0[i]) == 0


def test_ddpm_sample_is_reproduced_by_its_seed():
    schedule, model = linear_schedule(100), small_model()
    a = ddpm_sample(model, (32, 2), schedule, generator=seeded(3))
    b = ddpm_sample(model, (32, 2), schedule, generator=seeded(3))
    c = ddpm_sample(model, (32, 2), schedule, generator=seeded(4))
    assert a.shape == (32, 2)
    assert max_abs_error(a, b) == 0
    assert max_abs_error(a, c) > 0.1


def test_ddim_sample_is_reproduced_by_its_seed():
    schedule, model = SCHEDULES["linear"], small_model()
    a = ddim_sample(model, (32, 2), schedule, n_steps=10, generator=seeded(3))
    b = ddim_sample(model, (32, 2), schedule, n_steps=10, generator=seeded(3))
    c = ddim_sample(model, (32, 2), schedule, n_steps=10, generator=seeded(4))
    assert max_abs_error(a, b) == 0
    assert max_abs_error(a, c) > 0.1


def test_samplers_pass_model_kwargs_to_the_model():
    seen = []

    def model(x, t, label):
        seen.append(label)
        return torch.zeros_like(x)

    ddpm_sample(model, (2, 2), linear_schedule(5), generator=seeded(0), label="cat")
    ddim_sample(model, (2, 2), linear_schedule(5), n_steps=5, generator=seeded(0), label="dog")
    assert seen == ["cat"] * 5 + ["dog"] * 5


# ------------------------------------------------------------------ exact denoisers (no training)
@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_samplers_with_the_exact_one_point_denoiser_return_the_point(name):
    schedule, mu = SCHEDULES[name], torch.tensor([0.7, -1.2])
    model = gaussian_eps_model(schedule, mu, s=0.0)  # x0_hat = mu at every step
    for x in [ddpm_sample(model, (100, 2), schedule, generator=seeded(0)),
              ddim_sample(model, (100, 2), schedule, n_steps=50, generator=seeded(0)),
              ddim_sample(model, (100, 2), schedule, n_steps=50, eta=1.0, generator=seeded(0))]:
        assert max_abs_error(x, mu.expand(100, 2)) < 1e-5


def gaussian_moments_after(schedule: Schedule, timesteps: list[int], mu: torch.Tensor, s: float,
                           ddpm: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of a sampler's output for data N(mu, s^2 I) and the exact eps-predictor.

    Every step is then affine in x plus Gaussian noise, x_prev = a x + b + c z, so the moments
    are pushed through exactly from x ~ N(0, I). With d = x - sqrt(ab_t) mu and
    v_t = ab_t s^2 + 1 - ab_t, the exact denoiser gives x0_hat = mu + sqrt(ab_t) s^2 d / v_t and
    eps_hat = sqrt(1 - ab_t) d / v_t.
    """
    ab_all = schedule.alpha_bar
    mean, var = torch.zeros_like(mu, dtype=F64), torch.ones_like(mu, dtype=F64)
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        ab, ab_prev = ab_all[t], (ab_all[t_prev] if t_prev >= 0 else torch.tensor(1.0, dtype=F64))
        v = ab * s**2 + 1 - ab
        # x0_hat = mu + g d   and   eps_hat = h d, with d = x - sqrt(ab) mu
        g, h = ab.sqrt() * s**2 / v, (1 - ab).sqrt() / v
        if ddpm:  # posterior mean at x0_hat, plus sqrt(beta_tilde) z
            beta = 1 - ab / ab_prev
            c0, ct = ab_prev.sqrt() * beta / (1 - ab), (1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)
            a = c0 * g + ct  # coefficient of d
            offset = c0 * mu + ct * ab.sqrt() * mu  # x_prev = a d + offset + noise
            noise_var = (1 - ab_prev) / (1 - ab) * beta
        else:  # DDIM, eta = 0
            a = ab_prev.sqrt() * g + (1 - ab_prev).sqrt() * h
            offset = ab_prev.sqrt() * mu
            noise_var = 0.0
        mean = a * (mean - ab.sqrt() * mu) + offset
        var = a**2 * var + noise_var
    return mean, var.sqrt()


MU, S, N_GAUSS = torch.tensor([1.0, -2.0], dtype=F64), 0.5, 4000


def assert_moments_within_5_standard_errors(x, mean, std):
    n = x.shape[0]
    assert max_abs_error(x.double().mean(0), mean) < 5 * std.max().item() / n**0.5
    assert max_abs_error(x.double().std(0), std) < 5 * std.max().item() / (2 * (n - 1)) ** 0.5


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_ddpm_with_the_exact_gaussian_denoiser_samples_the_gaussian(name):
    schedule = SCHEDULES[name]
    model = gaussian_eps_model(schedule, MU.float(), S)
    x = ddpm_sample(model, (N_GAUSS, 2), schedule, generator=seeded(0))
    # 1000 ancestral steps are close to exact: the data's moments within 5 standard errors
    assert_moments_within_5_standard_errors(x, MU, torch.full((2,), S, dtype=F64))
    # and the moments of this very discretisation, pushed through step by step
    mean, std = gaussian_moments_after(schedule, list(range(999, -1, -1)), MU, S, ddpm=True)
    assert max_abs_error(mean, MU) < 0.01 and max_abs_error(std, torch.full((2,), S, dtype=F64)) < 0.01
    assert_moments_within_5_standard_errors(x, mean, std)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_ddim_50_steps_with_the_exact_gaussian_denoiser_samples_the_gaussian(name):
    schedule = SCHEDULES[name]
    model = gaussian_eps_model(schedule, MU.float(), S)
    x = ddim_sample(model, (N_GAUSS, 2), schedule, n_steps=50, generator=seeded(0))
    mean, std = gaussian_moments_after(schedule, ddim_timesteps(1000, 50), MU, S, ddpm=False)
    assert_moments_within_5_standard_errors(x, mean, std)
    # 50 deterministic steps shrink the variance a little (each step's factor is a cosine of
    # the angle between (sqrt(ab) s, sqrt(1-ab)) at t and t_prev: Cauchy-Schwarz), and "leading"
    # spacing starts at t=980, not 999, where the cosine schedule still has sqrt(ab) = 0.03.
    assert max_abs_error(mean, MU) < 0.05
    assert max_abs_error(std, torch.full((2,), S, dtype=F64)) < 0.06 * S
    assert torch.all(std < S)


# ---------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("n_steps", [0, -1, 1001, 10.0, True])
def test_ddim_timesteps_rejects_step_counts_outside_1_T(n_steps):
    with pytest.raises(ValueError, match=r"n_steps must be an int in \[1, T\]=\[1, 1000\]"):
        ddim_timesteps(1000, n_steps)


def test_ddim_sample_rejects_zero_steps():
    with pytest.raises(ValueError, match=r"\[1, 1000\], got 0"):
        ddim_sample(small_model(), (4, 2), SCHEDULES["linear"], n_steps=0)


def test_ddim_rejects_negative_eta():
    xt = batch(0)
    with pytest.raises(ValueError, match="eta must be >= 0"):
        ddim_step(batch(1), xt, 10, 5, SCHEDULES["linear"], eta=-0.5, noise=xt)
    with pytest.raises(ValueError, match="eta must be >= 0"):
        ddim_sample(small_model(), (4, 2), SCHEDULES["linear"], n_steps=5, eta=-1.0)


def test_ddim_step_with_eta_needs_noise():
    with pytest.raises(ValueError, match="eta > 0 needs noise"):
        ddim_step(batch(1), batch(0), 10, 5, SCHEDULES["linear"], eta=0.5)


@pytest.mark.parametrize("t_prev", [10, 11, -2])
def test_ddim_step_rejects_t_prev_not_below_t(t_prev):
    with pytest.raises(ValueError, match=r"-1 <= t_prev < t=10"):
        ddim_step(batch(1), batch(0), 10, t_prev, SCHEDULES["linear"])


def test_ddpm_step_rejects_unknown_prediction_and_variance():
    xt = batch(0)
    with pytest.raises(ValueError, match="unknown prediction 'epsilon'"):
        ddpm_step(batch(1), xt, 5, SCHEDULES["linear"], xt, prediction="epsilon")
    with pytest.raises(ValueError, match="unknown variance 'fixed_small'.*'posterior' or 'beta'"):
        ddpm_step(batch(1), xt, 5, SCHEDULES["linear"], xt, variance="fixed_small")


def test_ddpm_step_rejects_t_out_of_range():
    xt = batch(0)
    with pytest.raises(ValueError, match=r"\[0, 999\], got 1000"):
        ddpm_step(batch(1), xt, 1000, SCHEDULES["linear"], xt)


def test_samplers_reject_a_start_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"x_start has shape \(4, 3\), expected \(4, 2\)"):
        ddpm_sample(small_model(), (4, 2), linear_schedule(10), x_start=torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"shape must be \(B, \.\.\.\) with a batch dimension"):
        ddim_sample(small_model(), (2,), linear_schedule(10), n_steps=2)

"""schedules.py: the T noise levels, their derived quantities, and agreement with diffusers."""
from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDPMScheduler

from conftest import max_abs_error
from diffusion_edu.schedules import (
    SCHEDULES,
    Schedule,
    check_timesteps,
    cosine_schedule,
    gather,
    linear_schedule,
    make_schedule,
    sigmoid_schedule,
)

# diffusers' defaults differ from the papers (clip_sample=True): every setting is spelled out.
DIFFUSERS_SETTINGS = {
    "linear": dict(beta_start=1e-4, beta_end=0.02, beta_schedule="linear"),
    "cosine": dict(beta_schedule="squaredcos_cap_v2"),
}


def max_rel_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    return ((ours.double() - reference.double()).abs() / reference.double().abs()).max().item()


# ------------------------------------------------------------------ agreement with diffusers
@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("T", [1000, 50])
def test_beta_and_alpha_bar_equal_diffusers(name, T):
    ours = make_schedule(name, T)
    ref = DDPMScheduler(num_train_timesteps=T, clip_sample=False, **DIFFUSERS_SETTINGS[name])
    # diffusers works in float32: its betas are float32 roundings of ours (relative 6e-8), and
    # its float32 cumprod drifts by a few 1e-7 relative over 1000 steps (1.3e-5 at the cosine
    # schedule's last step, where alpha_bar ~ 2e-9 and beta was clipped to 0.999).
    assert max_rel_error(ours.beta, ref.betas) < 2e-7
    assert max_rel_error(ours.alpha_bar[:-1], ref.alphas_cumprod[:-1]) < 2e-6
    assert max_rel_error(ours.alpha_bar[-1:], ref.alphas_cumprod[-1:]) < 3e-5


# ----------------------------------------------------------------------- the named schedules
def test_linear_schedule_goes_from_1e4_to_002_in_even_steps():
    beta = linear_schedule(1000).beta
    assert beta[0].item() == pytest.approx(1e-4, rel=1e-12)
    assert beta[-1].item() == pytest.approx(0.02, rel=1e-12)
    assert max_abs_error(beta.diff(), torch.full((999,), (0.02 - 1e-4) / 999, dtype=torch.float64)) < 1e-15


def test_cosine_alpha_bar_follows_the_squared_cosine():
    T, s = 1000, 0.008
    u = (torch.arange(T, dtype=torch.float64) + 1) / T
    f = lambda u: torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    expected = f(u) / f(torch.zeros((), dtype=torch.float64))
    # the last step's beta is clipped to 0.999 (the formula would give beta = 1): skip it
    assert max_abs_error(cosine_schedule(T).alpha_bar[:-1], expected[:-1]) < 1e-12


def test_cosine_beta_is_clipped_to_max_beta():
    beta = cosine_schedule(1000, max_beta=0.999).beta
    assert beta.max().item() == pytest.approx(0.999, abs=1e-15)
    assert beta[-1].item() == pytest.approx(0.999, abs=1e-15)


def test_sigmoid_alpha_bar_falls_from_near_1_to_near_0():
    alpha_bar = sigmoid_schedule(1000).alpha_bar
    assert torch.all(alpha_bar.diff() < 0)
    assert alpha_bar[0].item() > 0.999
    assert alpha_bar[-1].item() < 1e-3


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_are_float64_with_T_betas_in_0_1(name):
    schedule = make_schedule(name, 300)
    assert schedule.name == name
    assert schedule.T == 300
    assert schedule.beta.shape == (300,)
    assert schedule.beta.dtype == torch.float64
    assert torch.all((schedule.beta > 0) & (schedule.beta < 1))


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_derived_quantities_follow_their_definitions(name):
    s = make_schedule(name, 1000)
    assert max_abs_error(s.alpha, 1 - s.beta) == 0
    assert max_abs_error(s.alpha_bar, torch.cumprod(1 - s.beta, 0)) < 1e-15
    assert s.alpha_bar_prev[0].item() == 1.0
    assert max_abs_error(s.alpha_bar_prev[1:], s.alpha_bar[:-1]) == 0
    assert max_abs_error(s.sigma**2 + s.alpha_bar, torch.ones(1000, dtype=torch.float64)) < 1e-15
    assert max_rel_error(s.snr, s.alpha_bar / (1 - s.alpha_bar)) < 1e-15
    assert max_abs_error(s.log_snr, torch.log(s.snr)) < 1e-12
    assert torch.all(s.alpha_bar.diff() < 0), "alpha_bar must decrease: every step adds noise"
    assert torch.all(s.log_snr.diff() < 0)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_posterior_variance_is_0_at_t0_and_below_beta(name):
    s = make_schedule(name, 1000)
    assert s.posterior_variance[0].item() == 0.0
    assert torch.all(s.posterior_variance[1:] > 0)
    assert torch.all(s.posterior_variance <= s.beta)  # beta_tilde = beta (1 - ab_prev) / (1 - ab)
    expected = (1 - s.alpha_bar_prev) / (1 - s.alpha_bar) * s.beta
    assert max_abs_error(s.posterior_variance, expected) == 0


# -------------------------------------------------------------------------- gather and t checks
def test_gather_broadcasts_against_x_and_takes_its_dtype():
    s = linear_schedule(1000)
    x = torch.zeros(3, 4, 5, 6, dtype=torch.float32)
    out = gather(s.alpha_bar, torch.tensor([0, 10, 999]), x)
    assert out.shape == (3, 1, 1, 1)
    assert out.dtype == torch.float32
    assert max_abs_error(out.flatten(), s.alpha_bar[[0, 10, 999]]) < 1e-7


def test_gather_with_an_int_uses_the_same_step_for_the_batch():
    s = linear_schedule(1000)
    x = torch.zeros(4, 2, dtype=torch.float64)
    assert max_abs_error(gather(s.beta, 7, x), s.beta[7].expand(4, 1)) == 0


def test_gather_rejects_t_out_of_range_naming_the_range():
    s = linear_schedule(1000)
    x = torch.zeros(1, 2)
    with pytest.raises(ValueError, match=r"\[0, 999\].*got 1000.*0-indexed"):
        gather(s.beta, 1000, x)
    with pytest.raises(ValueError, match=r"\[0, 999\].*got -1"):
        gather(s.beta, torch.tensor([-1]), x)


def test_gather_rejects_float_timesteps():
    with pytest.raises(TypeError, match=r"integers in \[0, 999\].*float32"):
        gather(linear_schedule(1000).beta, torch.tensor([3.0]), torch.zeros(1, 2))
    with pytest.raises(TypeError, match="must be an int or a tensor of ints, got float"):
        gather(linear_schedule(1000).beta, 3.0, torch.zeros(1, 2))


def test_gather_rejects_t_whose_batch_does_not_match_x():
    with pytest.raises(ValueError, match=r"t must have shape \(B,\) = \(3,\).*got \(2,\)"):
        gather(linear_schedule(1000).beta, torch.tensor([1, 2]), torch.zeros(3, 2))


def test_check_timesteps_accepts_every_valid_step():
    check_timesteps(torch.arange(1000), 1000)  # must not raise
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        check_timesteps(torch.arange(11), 10)


# ---------------------------------------------------------------------------------- bad input
def test_unknown_schedule_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown schedule 'cosin'.*\['cosine', 'linear', 'sigmoid'\]"):
        make_schedule("cosin")


@pytest.mark.parametrize("T", [0, -5, 2.5, True])
def test_T_must_be_a_positive_int(T):
    with pytest.raises(ValueError, match="T \\(the number of diffusion steps\\) must be a positive int"):
        linear_schedule(T)


def test_schedule_rejects_betas_outside_0_1():
    with pytest.raises(ValueError, match=r"every beta_t must lie in \(0, 1\)"):
        Schedule("bad", torch.tensor([0.1, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="1-D tensor of length T >= 1"):
        Schedule("bad", torch.zeros(0, dtype=torch.float64))


def test_sigmoid_schedule_needs_start_below_end():
    with pytest.raises(ValueError, match="start < end"):
        sigmoid_schedule(100, start=3.0, end=-3.0)

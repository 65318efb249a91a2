"""The checks of exercise 5 (sampling faster): each accepts the right answer, written as a student
would, and names each typical mistake in its message."""
import math
import time

import pytest
import torch

from diffusion_edu.checks import sampling as S
from conftest import assert_check_accepts_right_and_names_wrong


# ------------------------------------------------------------------ answers, right and wrong
def _timesteps(T, n_steps):
    return [i * (T // n_steps) for i in range(n_steps)][::-1]


def _lam(alpha_bar, half=True, sign=1, sqrt_alpha=True, sqrt_sigma=True):
    alpha = alpha_bar.sqrt() if sqrt_alpha else alpha_bar
    sigma = (1 - alpha_bar).sqrt() if sqrt_sigma else 1 - alpha_bar
    lam = torch.log(alpha / sigma) if half else torch.log(alpha_bar / (1 - alpha_bar))
    return sign * lam


def _coefficients(t, alpha_bar):
    ab = alpha_bar[t]
    return ab.sqrt(), (1 - ab).sqrt(), _lam(ab)


def _first(xt, t, t_prev, x0_hat, alpha_bar, exp_sign=-1, ratio_inverted=False, alpha_at="prev", plus=False,
           sqrt=True):
    alpha_t, sigma_t, lam_t = _coefficients(t, alpha_bar)
    alpha_prev, sigma_prev, lam_prev = _coefficients(t_prev, alpha_bar)
    if not sqrt:  # alpha_bar and 1 - alpha_bar where their square roots belong
        alpha_t, sigma_t, alpha_prev, sigma_prev = alpha_t**2, sigma_t**2, alpha_prev**2, sigma_prev**2
    h = lam_prev - lam_t
    ratio = sigma_t / sigma_prev if ratio_inverted else sigma_prev / sigma_t
    scale = alpha_t if alpha_at == "t" else alpha_prev
    term = scale * torch.expm1(exp_sign * h) * x0_hat
    return ratio * xt + term if plus else ratio * xt - term


def _ddim(xt, t, t_prev, x0_hat, alpha_bar):
    """Exercise 2's DDIM step (eta=0), written with x0_hat: the first-order step is the same."""
    eps_hat = (xt - alpha_bar[t].sqrt() * x0_hat) / (1 - alpha_bar[t]).sqrt()
    return alpha_bar[t_prev].sqrt() * x0_hat + (1 - alpha_bar[t_prev]).sqrt() * eps_hat


def _second(xt, t, t_prev, x0_hat, t_before, x0_before, alpha_bar, r_inverted=False, r_sign=1, half=True,
            swapped=False, first=False):
    _, sigma_t, lam_t = _coefficients(t, alpha_bar)
    alpha_prev, sigma_prev, lam_prev = _coefficients(t_prev, alpha_bar)
    lam_before = _coefficients(t_before, alpha_bar)[2]
    h = lam_prev - lam_t
    r = r_sign * (lam_t - lam_before) / h
    r = 1 / r if r_inverted else r
    c = 1 / (2 * r) if half else 1 / r
    now, before = (x0_before, x0_hat) if swapped else (x0_hat, x0_before)
    D = now if first else (1 + c) * now - c * before
    return sigma_prev / sigma_t * xt - alpha_prev * torch.expm1(-h) * D


CASES = [
    # (check, right answer, wrong answer, words the message must contain)
    (S.ddim_timesteps, _timesteps, lambda T, n: None, "replace the `...`"),
    (S.ddim_timesteps, _timesteps, lambda T, n: _timesteps(T, n)[::-1], "descending order"),
    (S.ddim_timesteps, _timesteps, lambda T, n: [(i + 1) * (T // n) for i in range(n)][::-1], "off by one"),
    (S.ddim_timesteps, _timesteps, lambda T, n: [int(i * T / n) for i in range(n)][::-1], "integer T // n_steps"),
    (S.ddim_timesteps, _timesteps, lambda T, n: [T - 1 - i * (T // n) for i in range(n)], "'trailing' spacing"),
    (S.ddim_timesteps, _timesteps, lambda T, n: torch.linspace(T - 1, 0, n).round().long(), "'linspace' spacing"),
    (S.ddim_timesteps, _timesteps, lambda T, n: _timesteps(T, n) + [0], "timesteps, expected n_steps"),
    (S.ddim_timesteps, _timesteps, lambda T, n: [t // 2 * 2 for t in _timesteps(T, n)] if n == T else _timesteps(T, n),
     "more than once"),
    (S.half_log_snr, _lam, lambda ab: None, "replace the `...`"),
    (S.half_log_snr, _lam, lambda ab: _lam(ab, half=False), "full log-SNR"),
    (S.half_log_snr, _lam, lambda ab: _lam(ab, sign=-1), "sign is inverted"),
    (S.half_log_snr, _lam, lambda ab: _lam(ab, sqrt_sigma=False), "square root of sigma_t is missing"),
    (S.half_log_snr, _lam, lambda ab: _lam(ab, sqrt_alpha=False), "square root of alpha_t is missing"),
    (S.dpmpp_1_step, _first, lambda *a: None, "replace the `...`"),
    (S.dpmpp_1_step, _first, lambda *a: _first(*a, exp_sign=+1), "exponent's sign"),
    (S.dpmpp_1_step, _first, lambda *a: _first(*a, ratio_inverted=True), "sigma_prev / sigma_t"),
    (S.dpmpp_1_step, _first, lambda *a: _first(*a, alpha_at="t"), "not alpha_t"),
    (S.dpmpp_1_step, _first, lambda *a: _first(*a, plus=True), "minus sign"),
    (S.dpmpp_1_step, _first, lambda *a: _first(*a, sqrt=False), "square roots are missing"),
    (S.dpmpp_1_step, _first, lambda *a: 1.01 * _first(*a), "largest error"),
    (S.dpmpp_2m_step, _second, lambda *a: None, "replace the `...`"),
    (S.dpmpp_2m_step, _second, lambda *a: _second(*a, first=True), "first-order step"),
    (S.dpmpp_2m_step, _second, lambda *a: _second(*a, swapped=True), "swapped"),
    (S.dpmpp_2m_step, _second, lambda *a: _second(*a, r_inverted=True), "r is inverted"),
    (S.dpmpp_2m_step, _second, lambda *a: _second(*a, r_sign=-1), "r must be positive"),
    (S.dpmpp_2m_step, _second, lambda *a: _second(*a, half=False), "middle of the step"),
    (S.dpmpp_2m_step, _second, lambda *a: 1.01 * _second(*a), "largest error"),
]


@pytest.mark.parametrize("check, right, wrong, words", CASES, ids=[f"{c.__name__}-{w[:24]}" for c, _, _, w in CASES])
def test_checks_accept_the_right_answer_and_name_the_mistake_in_a_wrong_one(check, right, wrong, words):
    assert_check_accepts_right_and_names_wrong(check, right, wrong, words)


def test_first_order_step_is_the_ddim_step():
    """What the check's hint promises: exercise 2's DDIM step passes the first-order check."""
    assert S.dpmpp_1_step(_ddim) is True


def test_timesteps_check_accepts_tensors_and_numpy_arrays():
    assert S.ddim_timesteps(lambda T, n: torch.tensor(_timesteps(T, n)))
    assert S.ddim_timesteps(lambda T, n: torch.tensor(_timesteps(T, n)).numpy())


def test_checks_run_in_well_under_a_second():
    for check, right in ((S.ddim_timesteps, _timesteps), (S.half_log_snr, _lam), (S.dpmpp_1_step, _first),
                         (S.dpmpp_2m_step, _second)):
        start = time.perf_counter()
        check(right)
        assert time.perf_counter() - start < 0.5, f"{check.__name__} is too slow for instant feedback"


def test_second_order_mistakes_differ_from_the_right_answer_in_every_case():
    """A mistake that equals the right answer on some input (r = 1 makes an inverted r harmless)
    could not be named there; the check's steps are chosen so that none does."""
    ab = S.SCHEDULE.alpha_bar
    for t_before, t, t_prev in ((999, 899, 799), (700, 650, 400), (300, 200, 100), (150, 100, 0)):
        xt, x0, x0_before = (torch.randn(2, 3, dtype=torch.float64) for _ in range(3))
        right = _second(xt, t, t_prev, x0, t_before, x0_before, ab)
        for variant in ({"first": True}, {"swapped": True}, {"r_inverted": True}, {"r_sign": -1},
                        {"half": False}):
            wrong = _second(xt, t, t_prev, x0, t_before, x0_before, ab, **variant)
            assert not torch.allclose(right, wrong, rtol=1e-4), (t, variant)
        assert math.isfinite(right.abs().max().item())

"""The chapter-4 checks accept right answers and name the typical mistakes in wrong ones."""
from __future__ import annotations

import pytest
import torch

from diffusion_edu.checks import training as C
from conftest import assert_check_accepts_right_and_names_wrong


def _loss(model, x0, t, eps, ab, sqrt=True, target="eps", reduce="mean", per_example=True):
    a = ab[t].reshape(-1, 1, 1, 1) if per_example else ab[t]
    xt = (a.sqrt() * x0 + (1 - a).sqrt() * eps) if sqrt else a * x0 + (1 - a) * eps
    err = (model(xt, t) - (eps if target == "eps" else x0)) ** 2
    return err.mean() if reduce == "mean" else err.sum()


def _ema(ema, params, decay, swap=False):
    return [(decay * p + (1 - decay) * e) if swap else (decay * e + (1 - decay) * p) for e, p in zip(ema, params)]


def _fd(a, b, two=2.0, elementwise=False, means_only=False, norm=False, biased=False):
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = torch.cov(a.T, correction=0 if biased else 1), torch.cov(b.T, correction=0 if biased else 1)
    mean = (mu_a - mu_b).norm() if norm else (mu_a - mu_b).square().sum()
    if means_only:
        return mean
    cross = (ca @ cb).clamp(min=0).sqrt().trace() if elementwise else torch.linalg.eigvals(ca @ cb).real.clamp(min=0).sqrt().sum()
    return mean + ca.trace() + cb.trace() - two * cross


CASES = [
    (C.image_loss, _loss, lambda *a: _loss(*a, sqrt=False), "square roots are missing"),
    (C.image_loss, _loss, lambda *a: _loss(*a, target="x0"), "not x_0"),
    (C.image_loss, _loss, lambda *a: _loss(*a, reduce="sum"), "sum of squared errors"),
    (C.image_loss, _loss, lambda *a: _loss(*a, per_example=False), "(B, 1, 1, 1)"),
    (C.image_loss, _loss, lambda *a: None, "replace the `...`"),
    (C.ema_update, _ema, lambda *a: _ema(*a, swap=True), "weights are swapped"),
    (C.ema_update, _ema, lambda e, p, d: p, "current weights"),
    (C.ema_update, _ema, lambda e, p, d: e, "old average unchanged"),
    (C.frechet_distance, _fd, lambda a, b: _fd(a, b, two=1.0), "factor 2 is missing"),
    (C.frechet_distance, _fd, lambda a, b: _fd(a, b, elementwise=True), "matrix square root"),
    (C.frechet_distance, _fd, lambda a, b: _fd(a, b, means_only=True), "only the means"),
    (C.frechet_distance, _fd, lambda a, b: _fd(a, b, norm=True), "squared distance"),
]


@pytest.mark.parametrize("check, right, wrong, words", CASES, ids=[f"{c.__name__}-{w[:24]}" for c, _, _, w in CASES])
def test_checks_accept_the_right_answer_and_name_the_mistake(check, right, wrong, words):
    assert_check_accepts_right_and_names_wrong(check, right, wrong, words)


def test_frechet_check_accepts_covariances_divided_by_n():
    assert C.frechet_distance(lambda a, b: _fd(a, b, biased=True)) is True


def test_ema_check_accepts_a_tuple_and_float():
    assert C.ema_update(lambda e, p, d: tuple(_ema(e, p, d))) is True
    assert C.frechet_distance(lambda a, b: float(_fd(a, b))) is True

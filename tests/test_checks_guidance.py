"""The checks of exercise 6 (conditioning and guidance): each accepts the right answer, written as a
student would, and names each typical mistake in its message."""
import time

import pytest
import torch
from conftest import assert_check_accepts_right_and_names_wrong

from diffusion_edu.checks import guidance as G


# ------------------------------------------------------------------ answers, right and wrong
def _cfg(eps_uncond, eps_cond, w):
    return eps_uncond + w * (eps_cond - eps_uncond)


def _sigma(alpha_bar_t, reshape=True):
    a = alpha_bar_t.reshape(-1, 1, 1, 1) if reshape else alpha_bar_t
    return (1 - a).sqrt()


def _eps_from_score(score, alpha_bar_t, reshape=True):
    return -_sigma(alpha_bar_t, reshape) * score


def _guided(eps, grad, alpha_bar_t, s, sign=-1, factor="sigma", reshape=True):
    a = alpha_bar_t.reshape(-1, 1, 1, 1) if reshape else alpha_bar_t
    scale = {"sigma": (1 - a).sqrt(), "variance": 1 - a, "alpha_bar": a, "one": torch.ones_like(a),
             "inverse": 1 / (1 - a).sqrt()}[factor]
    return eps + sign * s * scale * grad


def _drop(y, p, null_label, generator, compare=torch.lt, to=None, in_place=False, own_generator=False):
    u = torch.rand(len(y), generator=None if own_generator else generator)
    dropped = compare(u, p)
    if in_place:
        y[dropped] = null_label
        return y
    return torch.where(dropped, torch.full_like(y, null_label if to is None else to), y)


def _forward(model, x, t, y, w, null_label, swapped=False, two_calls=False, null=None, convention=0):
    labels = torch.full_like(y, null_label if null is None else null)
    if two_calls:
        cond, uncond = model(x, t, y=y), model(x, t, y=labels)
    else:
        both = model(torch.cat([x, x]), torch.cat([t, t]), y=torch.cat([y, labels]))  # (2B, ...)
        cond, uncond = both.chunk(2)
    if swapped:
        cond, uncond = uncond, cond
    return uncond + (w + convention) * (cond - uncond)


CASES = [
    # (check, right answer, wrong answer, words the message must contain)
    (G.cfg_eps, _cfg, lambda u, c, w: None, "replace the `...`"),
    (G.cfg_eps, _cfg, lambda u, c, w: _cfg(u, c, 1 + w), "Ho & Salimans' convention"),
    (G.cfg_eps, _cfg, lambda u, c, w: (1 + w) * c - w * u, "Ho & Salimans' convention"),
    (G.cfg_eps, _cfg, lambda u, c, w: _cfg(c, u, w), "swapped roles"),
    (G.cfg_eps, _cfg, lambda u, c, w: u - w * (c - u), "wrong sign"),
    (G.cfg_eps, _cfg, lambda u, c, w: u + w * c, "subtracted inside the difference"),
    (G.cfg_eps, _cfg, lambda u, c, w: w * (c - u), "starting point is missing"),
    (G.cfg_eps, _cfg, lambda u, c, w: w * u + (c - u), "w multiplies the unconditional"),
    (G.cfg_eps, _cfg, lambda u, c, w: 1.01 * _cfg(u, c, w), "largest error"),
    (G.eps_from_score, _eps_from_score, lambda s, a: None, "replace the `...`"),
    (G.eps_from_score, _eps_from_score, lambda s, a: -_eps_from_score(s, a), "the sign"),
    (G.eps_from_score, _eps_from_score, lambda s, a: -(1 - a.reshape(-1, 1, 1, 1)) * s, "square root is missing"),
    (G.eps_from_score, _eps_from_score, lambda s, a: -s / _sigma(a), "other way round"),
    (G.eps_from_score, _eps_from_score, lambda s, a: -a.reshape(-1, 1, 1, 1) * s, "alpha_bar_t stands where"),
    (G.eps_from_score, _eps_from_score, lambda s, a: -a.reshape(-1, 1, 1, 1).sqrt() * s, "sqrt(alpha_bar_t) (the"),
    (G.eps_from_score, _eps_from_score, lambda s, a: _eps_from_score(s, a, reshape=False), "reshape"),
    (G.classifier_guided_eps, _guided, lambda *a: None, "replace the `...`"),
    (G.classifier_guided_eps, _guided, lambda *a: _guided(*a, sign=+1), "sign of the gradient term"),
    (G.classifier_guided_eps, _guided, lambda *a: _guided(*a, factor="variance"), "square root is missing"),
    (G.classifier_guided_eps, _guided, lambda *a: _guided(*a, factor="alpha_bar"), "alpha_bar_t stands where"),
    (G.classifier_guided_eps, _guided, lambda *a: _guided(*a, factor="inverse"), "divided by sigma_t"),
    (G.classifier_guided_eps, _guided, lambda *a: _guided(*a, factor="one"), "is missing: the gradient is a score"),
    (G.classifier_guided_eps, _guided, lambda e, g, a, s: _guided(e, g, a, 1.0), "scale s is missing"),
    (G.classifier_guided_eps, _guided, lambda *a: _guided(*a, reshape=False), "reshape"),
    (G.classifier_guided_eps, _guided, lambda *a: 1.01 * _guided(*a), "largest error"),
    (G.drop_labels, _drop, lambda *a: None, "replace the `...`"),
    (G.drop_labels, _drop, lambda *a: _drop(*a, compare=torch.gt), "probability 1 - p"),
    (G.drop_labels, _drop, lambda *a: _drop(*a, to=0), "became 0"),
    (G.drop_labels, _drop, lambda *a: _drop(*a, to=-1), "became -1"),
    (G.drop_labels, _drop, lambda *a: _drop(*a, to=9), "num_classes - 1"),
    (G.drop_labels, _drop, lambda *a: _drop(*a, in_place=True), "in place"),
    (G.drop_labels, _drop, lambda *a: _drop(*a, own_generator=True), "generator you are given"),
    (G.drop_labels, _drop, lambda *a: _drop(*a).double(), "torch.long"),
    (G.drop_labels, _drop, lambda y, p, n, g: _drop(y, p / 2, n, g), "dropped"),
    (G.drop_labels, _drop, lambda y, p, n, g: _drop(y, p, n, torch.Generator().manual_seed(7)), "u < p"),
    (G.cfg_forward, _forward, lambda *a: None, "replace the `...`"),
    (G.cfg_forward, _forward, lambda *a: _forward(*a, swapped=True), "halves are swapped"),
    (G.cfg_forward, _forward, lambda *a: _forward(*a, convention=1), "Ho & Salimans' convention"),
    (G.cfg_forward, _forward, lambda *a: _forward(*a, null=0), "label 0"),
    (G.cfg_forward, _forward, lambda *a: _forward(*a, two_calls=True), "ONE call"),
    (G.cfg_forward, _forward, lambda m, x, t, y, w, n: m(torch.cat([x, x]), t, y=torch.cat([y, y])), "doubled too"),
    (G.cfg_forward, _forward, lambda m, x, t, y, w, n: m(x, t), "without labels"),
    (G.cfg_forward, _forward, lambda *a: 1.01 * _forward(*a), "largest error"),
]


@pytest.mark.parametrize("check, right, wrong, words", CASES, ids=[f"{c.__name__}-{w[:24]}" for c, _, _, w in CASES])
def test_checks_accept_the_right_answer_and_name_the_mistake_in_a_wrong_one(check, right, wrong, words):
    assert_check_accepts_right_and_names_wrong(check, right, wrong, words)


def test_a_broadcasting_error_is_explained_as_a_missing_reshape():
    """With B != W, a (B,) alpha_bar_t that is not reshaped raises in the student's code; the check
    turns that into advice."""
    with pytest.raises(AssertionError, match=r"reshape it to\s+\(B, 1, 1, 1\)"):
        G.classifier_guided_eps(lambda e, g, a, s: e - s * (1 - a).sqrt() * g if len(a) != e.shape[-1] else
                                _guided(e, g, a, s))


def test_label_dropout_drawn_with_bernoulli_passes_too():
    """torch.bernoulli draws one uniform per entry from the generator and compares it with p: the
    same labels as the uniforms of the exercise, so a student who uses it is not marked wrong."""

    def bernoulli(y, p, null_label, generator):
        dropped = torch.bernoulli(torch.full((len(y),), p), generator=generator).bool()
        return torch.where(dropped, torch.full_like(y, null_label), y)

    assert G.drop_labels(bernoulli) is True


def test_toy_denoiser_is_a_conditional_model_that_the_library_can_guide():
    """The check's stand-in model behaves as the U-Net does for ClassifierFreeGuidance: labels in
    [0, 10], 10 the null label, and a different estimate for each label."""
    model = G.ToyConditionalDenoiser((1, 2, 2))
    x, t = torch.randn(3, 1, 2, 2, dtype=torch.float64), torch.tensor([0, 500, 999])
    outs = [model(x, t, torch.full((3,), k)) for k in range(G.NUM_CLASSES + 1)]
    assert all(not torch.allclose(outs[0], o) for o in outs[1:])
    with pytest.raises(AssertionError, match="without labels"):
        model(x, t)


def test_checks_run_in_well_under_a_second():
    for check, right in ((G.cfg_eps, _cfg), (G.eps_from_score, _eps_from_score), (G.classifier_guided_eps, _guided),
                         (G.drop_labels, _drop), (G.cfg_forward, _forward)):
        start = time.perf_counter()
        check(right)
        assert time.perf_counter() - start < 0.5, f"{check.__name__} is too slow for instant feedback"

"""guidance.py against closed forms: a two-Gaussian mixture in 1D, where every score is exact.

Class k in {0, 1} has x_0 ~ N(mu_k, s^2), with equal priors. Under the forward process
x_t | k ~ N(a mu_k, v) with a = sqrt(alpha_bar_t), v = a^2 s^2 + (1 - alpha_bar_t), so the exact
noise predictions are eps(x_t, t, k) = sigma (x_t - a mu_k) / v (sigma = sqrt(1 - alpha_bar_t)),
and the unconditional one is their average weighted by p(k | x_t). No training: the tests check
the guidance formulas and their meaning exactly.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from diffusion_edu.guidance import ClassifierFreeGuidance, ClassifierGuidance
from diffusion_edu.samplers import ddim_sample, ddpm_sample
from diffusion_edu.schedules import linear_schedule

SCHEDULE = linear_schedule(1000)
MU, S = torch.tensor([-2.0, 2.0], dtype=torch.float64), 0.5


def _moments(t):
    ab = SCHEDULE.alpha_bar[t].reshape(-1, 1)  # (B, 1)
    a, sigma = ab.sqrt(), (1 - ab).sqrt()
    return a, sigma, a**2 * S**2 + sigma**2


def log_posterior(x, t):
    """log p(k | x_t) for both classes: (B, 2)."""
    a, _, v = _moments(t)
    log_n = -(x - a * MU) ** 2 / (2 * v)  # (B, 2): equal variances and priors cancel
    return log_n - torch.logsumexp(log_n, dim=1, keepdim=True)


class MixtureDenoiser(nn.Module):
    """The exact eps of the mixture, conditional on y (label 2 = null: unconditional)."""

    class config:
        num_classes = 2
        in_channels = 1

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x, t, y=None):
        self.calls += 1
        a, sigma, v = _moments(t)
        eps_k = sigma * (x - a * MU) / v  # (B, 2): eps given each class
        if y is None:
            y = torch.full((len(x),), 2)
        weights = log_posterior(x, t).exp()  # (B, 2)
        uncond = (weights * eps_k).sum(1, keepdim=True)  # (B, 1)
        cond = eps_k.gather(1, y.clamp(max=1)[:, None])  # (B, 1)
        return torch.where((y == 2)[:, None], uncond, cond)


class MixtureClassifier(nn.Module):
    """The exact noisy classifier: logits = log p(k | x_t)."""

    def forward(self, x, t):
        return log_posterior(x, t)


def test_cfg_is_the_formula_and_w0_w1_are_unconditional_and_conditional():
    model = MixtureDenoiser()
    x = torch.randn(6, 1, dtype=torch.float64)
    t = torch.tensor([0, 10, 200, 500, 800, 999])
    y = torch.tensor([0, 1, 0, 1, 0, 1])
    cond, uncond = model(x, t, y), model(x, t, torch.full_like(y, 2))
    torch.testing.assert_close(ClassifierFreeGuidance(model, 3.0)(x, t, y), uncond + 3.0 * (cond - uncond))
    torch.testing.assert_close(ClassifierFreeGuidance(model, 0.0)(x, t, y), uncond)
    torch.testing.assert_close(ClassifierFreeGuidance(model, 1.0)(x, t, y), cond)


def test_cfg_evaluates_both_halves_in_one_forward_pass():
    model = MixtureDenoiser()
    ClassifierFreeGuidance(model, 2.5)(torch.zeros(4, 1, dtype=torch.float64), torch.full((4,), 100), torch.zeros(4, dtype=torch.long))
    assert model.calls == 1


def test_cfg_batch_trick_matches_two_passes_of_a_unet():
    from diffusion_edu.models.unet import UNet, UNetConfig

    torch.manual_seed(0)
    unet = UNet(UNetConfig(base_channels=8, channel_mults=(1, 2), num_classes=3)).eval()
    nn.init.normal_(unet.out_conv.weight, std=0.1)
    x, t, y = torch.randn(5, 1, 8, 8), torch.randint(0, 1000, (5,)), torch.tensor([0, 1, 2, 0, 1])
    with torch.no_grad():
        guided = ClassifierFreeGuidance(unet, 4.0)(x, t, y)
        cond, uncond = unet(x, t, y=y), unet(x, t, y=torch.full_like(y, 3))
    torch.testing.assert_close(guided, uncond + 4.0 * (cond - uncond), rtol=1e-4, atol=1e-5)


def _sample(model, y, eta=0.0, n_steps=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(y), 1, generator=g, dtype=torch.float64)
    return ddim_sample(model, x.shape, SCHEDULE, n_steps=n_steps, eta=eta, x_start=x, generator=g, y=y)


def test_cfg_with_w1_samples_the_class_and_w0_the_mixture():
    n = 4000
    y = torch.zeros(n, dtype=torch.long)
    conditional = _sample(ClassifierFreeGuidance(MixtureDenoiser(), 1.0), y)
    assert abs(conditional.mean().item() - MU[0].item()) < 0.05
    assert abs(conditional.std().item() - S) < 0.05
    unconditional = _sample(ClassifierFreeGuidance(MixtureDenoiser(), 0.0), y)
    assert abs((unconditional > 0).double().mean().item() - 0.5) < 0.05, "w=0 ignores the label: both modes"


def test_cfg_above_1_pushes_samples_away_from_the_other_class_and_narrows_them():
    """w > 1 samples (approximately) p(x) p(y|x)^w: more confidently class 0, less varied."""
    y = torch.zeros(4000, dtype=torch.long)
    plain = _sample(ClassifierFreeGuidance(MixtureDenoiser(), 1.0), y)
    strong = _sample(ClassifierFreeGuidance(MixtureDenoiser(), 4.0), y)
    assert strong.mean() < plain.mean() - 0.1, (strong.mean(), plain.mean())
    assert (strong > 0).sum() == 0 and strong.std() < plain.std()


def test_classifier_guidance_with_s1_turns_the_unconditional_eps_into_the_conditional_one():
    """Bayes: grad log p(x_t | y) = grad log p(x_t) + grad log p(y | x_t), exactly."""
    model = MixtureDenoiser()
    guided = ClassifierGuidance(lambda x, t: model(x, t), MixtureClassifier(), SCHEDULE, 1.0)
    x = torch.randn(8, 1, dtype=torch.float64) * 3
    t = torch.tensor([1, 50, 100, 300, 500, 700, 900, 999])
    y = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    torch.testing.assert_close(guided(x, t, y), model(x, t, y), rtol=1e-8, atol=1e-10)


def test_classifier_guidance_samples_the_class_with_ddpm():
    model = MixtureDenoiser()
    guided = ClassifierGuidance(lambda x, t: model(x, t), MixtureClassifier(), SCHEDULE, 1.0)
    y = torch.ones(2000, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    x = ddpm_sample(guided, (2000, 1), SCHEDULE, generator=g, y=y)
    assert abs(x.mean().item() - MU[1].item()) < 0.06 and abs(x.std().item() - S) < 0.06


@pytest.mark.parametrize("w", [-1.0, "2"])
def test_bad_scales_are_refused(w):
    with pytest.raises(ValueError, match="guidance scale"):
        ClassifierFreeGuidance(MixtureDenoiser(), w)


def test_cfg_needs_a_conditional_model():
    from diffusion_edu.models.unet import UNet, UNetConfig

    guided = ClassifierFreeGuidance(UNet(UNetConfig(base_channels=8, channel_mults=(1,))), 2.0)
    with pytest.raises(ValueError, match=r"unconditional \(num_classes=None\): it has no null label"):
        guided(torch.zeros(1, 1, 8, 8), torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long))

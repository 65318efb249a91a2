"""losses.py: the regression targets eps, x0 and v, and the timesteps they are drawn at."""
from __future__ import annotations

import pytest
import torch

from conftest import gaussian_eps_model, max_abs_error
from diffusion_edu.forward import q_sample, v_from_x0_eps
from diffusion_edu.losses import Loss, diffusion_loss, sample_timesteps
from diffusion_edu.models import MLPDenoiser
from diffusion_edu.schedules import linear_schedule

SCHEDULE = linear_schedule(1000)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def oracle(prediction: str, point: torch.Tensor):
    """The perfect denoiser for the one-point data set {point}: it knows x0, hence eps and v."""
    eps_model = gaussian_eps_model(SCHEDULE, point, s=0.0)

    def model(xt, t):
        eps = eps_model(xt, t)
        if prediction == "eps":
            return eps
        if prediction == "x0":
            return point.expand_as(xt).clone()
        return v_from_x0_eps(point.expand_as(xt), eps, t, SCHEDULE)

    return model


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_the_perfect_denoiser_of_one_point_data_has_zero_loss(prediction):
    point = torch.tensor([0.5, -1.5], dtype=torch.float64)
    x0 = point.expand(512, 2)
    out = diffusion_loss(oracle(prediction, point), x0, SCHEDULE, prediction, seeded(0))
    assert out.loss.item() < 1e-16


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_the_perfect_denoiser_of_another_prediction_has_a_positive_loss(prediction):
    # the targets differ: an eps-model scored as an x0-model is wrong (the loss can tell them apart)
    point = torch.tensor([0.5, -1.5], dtype=torch.float64)
    other = {"eps": "x0", "x0": "v", "v": "eps"}[prediction]
    out = diffusion_loss(oracle(other, point), point.expand(512, 2), SCHEDULE, prediction, seeded(0))
    assert out.loss.item() > 0.1


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_loss_is_the_mean_squared_error_to_the_target(prediction):
    torch.manual_seed(0)
    model = MLPDenoiser(dim=2, hidden=16, n_blocks=1)
    x0 = torch.randn(64, 2, generator=seeded(1))
    out = diffusion_loss(model, x0, SCHEDULE, prediction, seeded(2))

    # redo the draws in the documented order: t, then eps, from the same generator
    g = seeded(2)
    t = torch.randint(0, 1000, (64,), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    xt, _ = q_sample(x0, t, SCHEDULE, eps=eps)
    target = {"eps": eps, "x0": x0, "v": v_from_x0_eps(x0, eps, t, SCHEDULE)}[prediction]
    per_example = ((model(xt, t) - target) ** 2).mean(dim=1)  # (64,)

    assert isinstance(out, Loss)
    assert out.loss.shape == () and out.per_example.shape == (64,) and out.t.shape == (64,)
    assert torch.equal(out.t, t)
    assert max_abs_error(out.per_example, per_example) < 1e-6
    assert abs(out.loss.item() - per_example.mean().item()) < 1e-6
    assert not out.per_example.requires_grad and out.loss.requires_grad


def test_per_example_loss_averages_over_all_trailing_dims():
    x0 = torch.zeros(4, 3, 5, 5)
    out = diffusion_loss(lambda xt, t: torch.ones_like(xt), x0, SCHEDULE, "x0", seeded(0))
    assert max_abs_error(out.per_example, torch.ones(4)) == 0


def test_loss_passes_model_kwargs():
    seen = {}

    def model(xt, t, label):
        seen["label"] = label
        return torch.zeros_like(xt)

    diffusion_loss(model, torch.zeros(4, 2), SCHEDULE, generator=seeded(0), label=3)
    assert seen == {"label": 3}


def test_sample_timesteps_covers_0_to_T_minus_1_uniformly():
    t = sample_timesteps(100_000, 10, seeded(0))
    assert t.dtype == torch.long and t.shape == (100_000,)
    counts = torch.bincount(t, minlength=10).double()
    assert counts.shape == (10,)  # nothing at 10 or above
    # each count is Binomial(1e5, 0.1): sd = 95; allow 5 sd
    assert max_abs_error(counts, torch.full((10,), 10_000.0, dtype=torch.float64)) < 5 * 95


def test_sample_timesteps_rejects_an_empty_batch():
    with pytest.raises(ValueError, match="batch_size must be positive, got 0"):
        sample_timesteps(0, 1000)


def test_loss_rejects_unknown_prediction():
    with pytest.raises(ValueError, match=r"unknown prediction 'score'.*\('eps', 'x0', 'v'\)"):
        diffusion_loss(lambda xt, t: xt, torch.zeros(4, 2), SCHEDULE, "score")


def test_loss_rejects_a_model_that_changes_the_shape():
    with pytest.raises(ValueError, match=r"returned shape \(4, 3\) for input \(4, 2\)"):
        diffusion_loss(lambda xt, t: torch.zeros(4, 3), torch.zeros(4, 2), SCHEDULE)

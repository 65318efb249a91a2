"""Shared fixtures: one small trained 2D model for the whole session, and exact denoisers.

The suite must run in about a minute and a half on a 2-core machine, so the smoke-size swiss-roll
model is trained once (a few seconds) and its samples are drawn once; the training and metric
tests read them from :func:`trained_swiss_roll`.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from diffusion_edu.data import sample_toy
from diffusion_edu.metrics import sliced_wasserstein
from diffusion_edu.models import MLPDenoiser
from diffusion_edu.samplers import ddim_sample, ddpm_sample
from diffusion_edu.schedules import Schedule, cosine_schedule, gather, linear_schedule
from diffusion_edu.train import TrainConfig, TrainResult, train

# The tests' tensors are tiny: one thread is as fast as two here, and it keeps the run time
# independent of whatever else the machine is doing (two threads on a busy 2-core machine are
# ten times slower than one).
torch.set_num_threads(1)

# The settings under which diffusers' schedulers use the same schedules as the library
# (shared by the sampler tests that compare with diffusers).
F64 = torch.float64
SCHEDULES = {"linear": linear_schedule(1000), "cosine": cosine_schedule(1000)}
DIFFUSERS_SETTINGS = {
    "linear": dict(beta_start=1e-4, beta_end=0.02, beta_schedule="linear"),
    "cosine": dict(beta_schedule="squaredcos_cap_v2"),
}
PREDICTION_TYPES = {"eps": "epsilon", "x0": "sample", "v": "v_prediction"}


def max_abs_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b|, the one way this suite compares tensors (a sum would let errors cancel)."""
    assert a.shape == b.shape, f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}"
    return (a.double() - b.double()).abs().max().item()


def swd(x: torch.Tensor, y: torch.Tensor, n_projections: int = 256) -> float:
    """Sliced Wasserstein-2 with projections seeded 0, as in the lead's measurements."""
    return sliced_wasserstein(x, y, n_projections, generator=torch.Generator().manual_seed(0))


def gaussian_eps_model(schedule: Schedule, mu: torch.Tensor, s: float):
    """The exact eps-predictor E[eps | x_t] when x_0 ~ N(mu, s^2 I):

        E[eps | x_t] = sqrt(1 - alpha_bar_t) (x_t - sqrt(alpha_bar_t) mu) / (alpha_bar_t s^2 + 1 - alpha_bar_t)

    (x_t and eps are jointly Gaussian with Cov(eps, x_t) = sqrt(1 - alpha_bar_t)). With s = 0 it
    is the denoiser of the one-point data set {mu}.
    """

    def model(xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        alpha_bar = gather(schedule.alpha_bar, t, xt)  # (B, 1)
        mean = alpha_bar.sqrt() * mu.to(xt.dtype)
        return (1 - alpha_bar).sqrt() * (xt - mean) / (alpha_bar * s**2 + 1 - alpha_bar)

    return model


@dataclass
class TrainedToy:
    """A trained smoke-size model, its samples, and the reference numbers to judge them by."""

    schedule: Schedule
    data: torch.Tensor  # (50000, 2) training set
    result: TrainResult
    raw_model: torch.nn.Module  # the trained (non-EMA) weights
    reference: torch.Tensor  # (2000, 2) fresh data, seed 5
    swd_baseline: float  # data (seed 5) vs data (seed 6): "as good as the data" at 2000 points
    swd_ddpm: float  # 2000 DDPM samples (clip_x0=3) vs the reference
    swd_ddim20: float  # 2000 DDIM samples, 20 steps, eta=0, clip_x0=3
    swd_noise: float  # pure N(0, I) vs the reference
    swd_untrained_ddpm: float  # DDPM samples of a freshly initialised model
    swd_untrained_ddim20: float


N_SAMPLES = 2000


@pytest.fixture(scope="session")
def trained_swiss_roll() -> TrainedToy:
    """The lead's smoke recipe: MLPDenoiser(hidden=64), 600 steps of batch 256, linear T=1000."""
    schedule = linear_schedule(1000)
    data = sample_toy("swiss_roll", 50_000, seed=0)
    torch.manual_seed(0)
    model = MLPDenoiser(hidden=64)
    untrained = MLPDenoiser(hidden=64).eval()  # other random weights: a model that learned nothing
    result = train(model, data, schedule, TrainConfig(steps=600, batch_size=256, progress=False))

    reference = sample_toy("swiss_roll", N_SAMPLES, seed=5)
    shape = (N_SAMPLES, 2)

    def ddpm(m):
        return ddpm_sample(m, shape, schedule, clip_x0=3.0, generator=torch.Generator().manual_seed(1))

    def ddim20(m):
        return ddim_sample(m, shape, schedule, n_steps=20, clip_x0=3.0,
                           generator=torch.Generator().manual_seed(1))

    return TrainedToy(
        schedule=schedule,
        data=data,
        result=result,
        raw_model=model,
        reference=reference,
        swd_baseline=swd(reference, sample_toy("swiss_roll", N_SAMPLES, seed=6)),
        swd_ddpm=swd(ddpm(result.model), reference),
        swd_ddim20=swd(ddim20(result.model), reference),
        swd_noise=swd(torch.randn(shape, generator=torch.Generator().manual_seed(7)), reference),
        swd_untrained_ddpm=swd(ddpm(untrained), reference),
        swd_untrained_ddim20=swd(ddim20(untrained), reference),
    )


def assert_check_accepts_right_and_names_wrong(check, right, wrong, words: str) -> None:
    """An exercise check passes the right answer, and fails a wrong one with a message that names
    the mistake (contains ``words``)."""
    assert check(right) is True
    with pytest.raises(AssertionError) as failure:
        check(wrong)
    message = str(failure.value)
    assert words in message, f"{check.__name__}: expected the message to mention {words!r}, got: {message}"

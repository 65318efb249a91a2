"""The training objective: noise the data, ask the model to undo it, measure the error.

Ho et al. (2020) train with the "simple" loss

    L_simple = E_{t, x_0, eps} || eps - eps_theta(x_t, t) ||^2,
    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,   t ~ Uniform{0, ..., T-1}.

The same recipe with another regression target gives the x0- and v-prediction losses
(Salimans & Ho, 2022): the model output is compared with x_0 or with
v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from .forward import _check_prediction, q_sample, v_from_x0_eps
from .schedules import Schedule


class Loss(NamedTuple):
    """The batch loss, and what the training loop needs to report it per timestep."""

    loss: Tensor  # () mean over the batch: what the optimizer minimises
    per_example: Tensor  # (B,) mean squared error of each example
    t: Tensor  # (B,) the timesteps drawn


def sample_timesteps(batch_size: int, T: int, generator: torch.Generator | None = None) -> Tensor:
    """t ~ Uniform{0, ..., T-1}, shape (batch_size,), on the CPU."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    return torch.randint(0, T, (batch_size,), generator=generator)


def diffusion_loss(
    model: nn.Module,
    x0: Tensor,
    schedule: Schedule,
    prediction: str = "eps",
    generator: torch.Generator | None = None,
    **model_kwargs,
) -> Loss:
    """Mean squared error between the model output at (x_t, t) and the ``prediction`` target.

    x0: (B, ...) clean data. The model is called as ``model(xt, t, **model_kwargs)`` with t of
    shape (B,), and must return a tensor shaped like x0.
    """
    _check_prediction(prediction)
    t = sample_timesteps(x0.shape[0], schedule.T, generator).to(x0.device)  # (B,)
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
    xt, eps = q_sample(x0, t, schedule, eps=eps)
    if prediction == "eps":
        target = eps
    elif prediction == "x0":
        target = x0
    else:
        target = v_from_x0_eps(x0, eps, t, schedule)
    output = model(xt, t, **model_kwargs)
    if output.shape != x0.shape:
        raise ValueError(
            f"the model returned shape {tuple(output.shape)} for input {tuple(x0.shape)}: "
            "a denoiser must return a tensor shaped like its input"
        )
    per_example = ((output - target) ** 2).flatten(1).mean(dim=1)  # (B,)
    return Loss(per_example.mean(), per_example.detach(), t)

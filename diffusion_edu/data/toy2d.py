"""2D toy distributions: small enough to train in seconds, easy to see whether samples are right.

Each function draws n points, shape (n, 2), scaled so each coordinate has a standard deviation
near 1 (the scale the noise schedules assume), from a ``torch.Generator`` for reproducibility.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def swiss_roll(n: int, generator: torch.Generator | None = None, noise: float = 0.3) -> Tensor:
    """A 2D spiral: angle theta in [1.5 pi, 4.5 pi], point theta (cos theta, sin theta) + noise."""
    theta = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator))  # (n,)
    x = torch.stack([theta * torch.cos(theta), theta * torch.sin(theta)], dim=1)  # (n, 2)
    x = x + noise * torch.randn(n, 2, generator=generator)
    return x / 7.5


def two_moons(n: int, generator: torch.Generator | None = None, noise: float = 0.06) -> Tensor:
    """Two interleaved half circles (the classic ``make_moons``), centred and scaled."""
    upper = torch.rand(n, generator=generator) < 0.5  # (n,) which moon
    angle = math.pi * torch.rand(n, generator=generator)
    x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle))
    pts = torch.stack([x, y], dim=1) + noise * torch.randn(n, 2, generator=generator)
    return (pts - torch.tensor([0.5, 0.25])) / torch.tensor([0.87, 0.5])


def eight_gaussians(n: int, generator: torch.Generator | None = None, std: float = 0.1) -> Tensor:
    """A mixture of 8 Gaussians with centres equally spaced on a circle of radius sqrt(2)."""
    k = torch.randint(0, 8, (n,), generator=generator)
    angle = 2 * math.pi * k / 8
    centres = math.sqrt(2) * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)  # (n, 2)
    return centres + std * torch.randn(n, 2, generator=generator)


def checkerboard(n: int, generator: torch.Generator | None = None) -> Tensor:
    """Uniform on the dark squares of a 4x4 checkerboard over [-2, 2]^2, scaled by 1/1.15."""
    x = 4 * torch.rand(n, generator=generator) - 2  # (n,) in [-2, 2]
    y = torch.rand(n, generator=generator) + 2 * torch.randint(0, 2, (n,), generator=generator) - 2
    y = y + (torch.floor(x) % 2)  # shift every other column up by one square
    return torch.stack([x, y], dim=1) / 1.15


TOY_DATASETS = {
    "swiss_roll": swiss_roll,
    "two_moons": two_moons,
    "eight_gaussians": eight_gaussians,
    "checkerboard": checkerboard,
}


def sample_toy(name: str, n: int, seed: int | None = None, generator: torch.Generator | None = None) -> Tensor:
    """n points (n, 2) from the toy distribution ``name``, seeded by ``seed`` or ``generator``."""
    if name not in TOY_DATASETS:
        raise ValueError(f"unknown toy dataset {name!r}: expected one of {sorted(TOY_DATASETS)}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if generator is None and seed is not None:
        generator = torch.Generator().manual_seed(seed)
    return TOY_DATASETS[name](n, generator)

"""Procedural pictures: images drawn by code, so chapters can noise a real-looking image offline."""
from __future__ import annotations

import torch
from torch import Tensor


def landscape(size: int = 64) -> Tensor:
    """A landscape: sky gradient, sun, two hills and a house. Returns (3, size, size) in [-1, 1].

    It has large smooth regions and sharp edges, so a reader can watch the fine detail vanish
    under noise before the coarse layout does.
    """
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    sky_top, sky_bottom = torch.tensor([0.25, 0.45, 0.85]), torch.tensor([0.75, 0.88, 1.0])
    img = sky_top[:, None, None] * (1 - y) + sky_bottom[:, None, None] * y  # (3, H, W)

    def paint(mask: Tensor, rgb: tuple[float, float, float]) -> None:
        img[:, mask] = torch.tensor(rgb)[:, None]

    paint((x - 0.78) ** 2 + (y - 0.2) ** 2 < 0.1**2, (1.0, 0.8, 0.2))  # sun
    paint(y > 0.62 + 0.12 * torch.cos(6 * x), (0.3, 0.6, 0.25))  # far hill
    paint(y > 0.78 + 0.06 * torch.sin(9 * x + 1), (0.15, 0.45, 0.15))  # near hill
    house = (x > 0.2) & (x < 0.42) & (y > 0.5) & (y < 0.72)
    paint(house, (0.85, 0.3, 0.25))  # walls
    paint((y < 0.5) & (y > 0.34) & ((x - 0.31).abs() < (y - 0.34) * 0.75), (0.45, 0.2, 0.15))  # roof
    paint((x > 0.28) & (x < 0.34) & (y > 0.6) & (y < 0.72), (0.35, 0.2, 0.1))  # door
    return img * 2 - 1

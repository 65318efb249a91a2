"""Telling a network which timestep it is at: the sinusoidal time embedding.

A denoiser must know how noisy its input is. The timestep t (an integer) is mapped to a vector of
sines and cosines at geometrically spaced frequencies (Vaswani et al., 2017; Ho et al., 2020):

    emb(t)_i       = sin(t * w_i),   emb(t)_{i+d/2} = cos(t * w_i),   w_i = max_period^(-i / (d/2))

Nearby timesteps get similar vectors, and a small MLP on top turns it into features.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def sinusoidal_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """t: (B,) integer or real timesteps -> (B, dim) embedding. ``dim`` must be even."""
    if dim % 2:
        raise ValueError(f"the embedding dimension must be even, got {dim}")
    if t.ndim != 1:
        raise ValueError(f"t must have shape (B,), got {tuple(t.shape)}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)  # (dim/2,)
    angles = t.float()[:, None] * freqs[None, :]  # (B, dim/2)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)  # (B, dim)


class TimeEmbedding(nn.Module):
    """sinusoidal_embedding(t) followed by Linear -> SiLU -> Linear: (B,) -> (B, out_dim)."""

    def __init__(self, out_dim: int, sinusoid_dim: int = 64):
        super().__init__()
        self.sinusoid_dim = sinusoid_dim
        self.mlp = nn.Sequential(
            nn.Linear(sinusoid_dim, out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim)
        )

    def forward(self, t: Tensor) -> Tensor:
        weight = self.mlp[0].weight
        return self.mlp(sinusoidal_embedding(t, self.sinusoid_dim).to(weight.dtype))  # (B, out_dim)

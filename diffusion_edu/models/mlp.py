"""A small MLP denoiser for low-dimensional data (the 2D toys of chapter 2).

    h = W_in x_t
    h = h + Block(h + e(t))      repeated n_blocks times, Block = LayerNorm -> Linear -> SiLU -> Linear
    out = W_out SiLU(LayerNorm(h))

e(t) is the :class:`TimeEmbedding`. The residual connections let the network start close to the
identity on h, which makes the deep stack train quickly.
"""
from __future__ import annotations

from torch import Tensor, nn

from .embedding import TimeEmbedding


class ResidualBlock(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden)
        )

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        return h + self.net(h + emb)


class MLPDenoiser(nn.Module):
    """(x_t, t) -> prediction, for x_t of shape (B, dim) and t of shape (B,)."""

    def __init__(self, dim: int = 2, hidden: int = 128, n_blocks: int = 3, sinusoid_dim: int = 64):
        super().__init__()
        self.dim = dim
        self.time_embedding = TimeEmbedding(hidden, sinusoid_dim)
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(ResidualBlock(hidden) for _ in range(n_blocks))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"MLPDenoiser expects x of shape (B, {self.dim}), got {tuple(x.shape)}")
        if t.shape != (x.shape[0],):
            raise ValueError(f"t must have shape (B,) = ({x.shape[0]},), got {tuple(t.shape)}")
        emb = self.time_embedding(t)  # (B, hidden)
        h = self.inp(x)  # (B, hidden)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h)  # (B, dim)

"""Numbers that say how good samples are.

Sliced Wasserstein distance (Rabin et al., 2011; Bonneel et al., 2015). The Wasserstein-p
distance between two distributions is costly in several dimensions but has a closed form in
one: sort both samples and compare them quantile by quantile. So project onto random unit
directions theta and average:

    SW_p(X, Y) = ( E_theta  W_p^p( <theta, X>, <theta, Y> ) )^(1/p),
    W_p^p(u, v) = int_0^1 | F_u^{-1}(q) - F_v^{-1}(q) |^p dq     (1D, via sorted samples)

Even two independent samples of the same distribution are not at distance 0: compare a model's
number with that data-vs-data baseline (what "as good as the data" looks like at this sample size).
"""
from __future__ import annotations

import torch
from torch import Tensor


def sliced_wasserstein(
    x: Tensor,
    y: Tensor,
    n_projections: int = 256,
    p: int = 2,
    generator: torch.Generator | None = None,
) -> float:
    """SW_p between point clouds x: (N, D) and y: (M, D), with ``n_projections`` random directions.

    N and M may differ: both sorted projections are read at the same M' = max(N, M) quantile
    levels (linear interpolation), which is exact when N = M.
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must be point clouds (N, D) and (M, D) with the same D, got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    if n_projections < 1 or p < 1:
        raise ValueError(f"n_projections and p must be >= 1, got {n_projections} and {p}")
    x, y = x.detach().double().cpu(), y.detach().double().cpu()
    theta = torch.randn(x.shape[1], n_projections, generator=generator, dtype=torch.float64)
    theta = theta / theta.norm(dim=0, keepdim=True)  # (D, P) unit directions
    qx = _quantiles(torch.sort(x @ theta, dim=0).values, max(len(x), len(y)))  # (M', P)
    qy = _quantiles(torch.sort(y @ theta, dim=0).values, max(len(x), len(y)))
    return ((qx - qy).abs() ** p).mean().item() ** (1 / p)


def _quantiles(sorted_values: Tensor, n: int) -> Tensor:
    """Read sorted samples (N, P) at n evenly spaced quantile levels: (n, P)."""
    N = sorted_values.shape[0]
    if N == n:
        return sorted_values
    pos = (torch.arange(n, dtype=torch.float64) + 0.5) / n * N - 0.5  # fractional index
    pos = pos.clamp(0, N - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=N - 1)
    w = (pos - lo)[:, None]
    return sorted_values[lo] * (1 - w) + sorted_values[hi] * w

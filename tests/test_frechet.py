"""metrics.py: the Frechet distance, against scipy's matrix square root and closed forms."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from diffusion_edu.metrics import frechet_distance

F64 = torch.float64


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def correlated_features(n: int, d: int, seed: int) -> torch.Tensor:
    """(n, d) features with a full, anisotropic covariance and a nonzero mean."""
    g = seeded(seed)
    mixing = torch.randn(d, d, generator=g, dtype=F64)
    return torch.randn(n, d, generator=g, dtype=F64) @ mixing + torch.randn(d, generator=g, dtype=F64)


def scipy_frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """The formula as FID's reference code computes it: scipy.linalg.sqrtm of the product S_a S_b."""
    a, b = a.numpy(), b.numpy()
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
    diff = a.mean(0) - b.mean(0)
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def with_exact_moments(n: int, mean: torch.Tensor, std: torch.Tensor, seed: int) -> torch.Tensor:
    """n points whose sample mean is exactly ``mean`` and sample covariance exactly diag(std^2)."""
    z = torch.randn(n, len(mean), generator=seeded(seed), dtype=F64)
    z = z - z.mean(0)
    w, V = torch.linalg.eigh(torch.cov(z.T))
    z = z @ V @ torch.diag(w.rsqrt()) @ V.T  # sample covariance now I
    return mean + z * std


@pytest.mark.parametrize("d", [1, 2, 8, 64])
def test_frechet_distance_equals_scipy_sqrtm(d):
    a, b = correlated_features(500, d, seed=0), correlated_features(400, d, seed=1)
    expected = scipy_frechet(a, b)
    assert abs(frechet_distance(a, b) - expected) < 1e-8 * (1 + expected)


def test_frechet_distance_equals_scipy_for_nearby_sets():
    # two draws of one distribution: the trace terms nearly cancel, the hard case for precision
    a, b = correlated_features(2000, 16, seed=0), correlated_features(2000, 16, seed=0)
    b = b + 0.01 * torch.randn(b.shape, generator=seeded(3), dtype=F64)
    expected = scipy_frechet(a, b)
    assert abs(frechet_distance(a, b) - expected) < 1e-8 * (1 + expected)


def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    # for S_a = diag(s_a^2), S_b = diag(s_b^2): FD = |mu_a - mu_b|^2 + sum (s_a - s_b)^2
    mean_a, std_a = torch.tensor([0.0, 1.0, -2.0, 0.5], dtype=F64), torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=F64)
    mean_b, std_b = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=F64), torch.tensor([0.5, 2.0, 1.5, 1.0], dtype=F64)
    a, b = with_exact_moments(300, mean_a, std_a, seed=0), with_exact_moments(200, mean_b, std_b, seed=1)
    expected = (mean_a - mean_b).square().sum() + (std_a - std_b).square().sum()
    assert abs(frechet_distance(a, b) - expected.item()) < 1e-10


def test_frechet_distance_of_a_shift_is_the_squared_shift():
    a = correlated_features(300, 5, seed=0)
    shift = torch.tensor([1.0, -2.0, 0.0, 0.5, 3.0], dtype=F64)
    assert abs(frechet_distance(a, a + shift) - shift.square().sum().item()) < 1e-9


def test_frechet_distance_of_a_set_to_itself_is_zero():
    a = correlated_features(300, 32, seed=0)
    assert frechet_distance(a, a) < 1e-9
    assert frechet_distance(a, a[torch.randperm(300, generator=seeded(1))]) < 1e-9  # order does not matter


def test_frechet_distance_is_symmetric_and_accepts_float32():
    a, b = correlated_features(300, 8, seed=0), correlated_features(200, 8, seed=1)
    assert abs(frechet_distance(a, b) - frechet_distance(b, a)) < 1e-9 * frechet_distance(a, b)
    assert abs(frechet_distance(a.float(), b.float()) - frechet_distance(a, b)) < 1e-5 * frechet_distance(a, b)


def test_frechet_distance_with_fewer_points_than_dimensions_is_finite_and_nonnegative():
    # singular covariances (N <= D): eigenvalues that rounding makes negative are clamped
    a, b = correlated_features(10, 64, seed=0), correlated_features(12, 64, seed=1)
    distance = frechet_distance(a, b)
    assert np.isfinite(distance) and distance >= 0
    assert frechet_distance(a, a) < 1e-8 * distance


def test_frechet_distance_rejects_mismatched_or_too_small_sets():
    with pytest.raises(ValueError, match=r"\(N, D\) and \(M, D\) with the same D, got \(5, 3\) and \(5, 4\)"):
        frechet_distance(torch.zeros(5, 3), torch.zeros(5, 4))
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(torch.zeros(5), torch.zeros(5))
    with pytest.raises(ValueError, match="at least 2 feature vectors per set, got 1 and 5"):
        frechet_distance(torch.zeros(1, 3), torch.zeros(5, 3))

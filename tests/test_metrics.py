"""metrics.py: the sliced Wasserstein distance."""
from __future__ import annotations

import pytest
import torch

from diffusion_edu.metrics import sliced_wasserstein


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def cloud(n: int, d: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=seeded(seed))


def test_distance_of_a_cloud_to_itself_is_zero():
    x = cloud(500)
    assert sliced_wasserstein(x, x, generator=seeded(0)) == 0.0
    # the order of the points does not matter
    assert sliced_wasserstein(x, x[torch.randperm(500, generator=seeded(1))], generator=seeded(0)) == 0.0


@pytest.mark.parametrize("d", [1, 2, 5])
def test_a_shift_by_d_is_at_distance_norm_d_over_sqrt_D(d):
    # per direction theta the projected clouds differ by theta.shift exactly, so
    # SW_2^2 = E_theta (theta.shift)^2 = |shift|^2 / D for theta uniform on the sphere
    x = cloud(300, d)
    shift = torch.linspace(0.5, 1.5, d)
    distance = sliced_wasserstein(x, x + shift, n_projections=4096, generator=seeded(0))
    expected = shift.norm().item() / d**0.5
    assert abs(distance - expected) < 0.03 * expected


def test_a_shift_matches_the_exact_average_over_the_drawn_directions():
    x, shift = cloud(200, 2).double(), torch.tensor([0.3, -0.4], dtype=torch.float64)
    theta = torch.randn(2, 16, generator=seeded(0), dtype=torch.float64)
    theta = theta / theta.norm(dim=0, keepdim=True)
    exact = ((shift @ theta) ** 2).mean().sqrt().item()
    assert abs(sliced_wasserstein(x, x + shift, n_projections=16, generator=seeded(0)) - exact) < 1e-12


def test_sliced_wasserstein_is_symmetric():
    x, y = cloud(400, seed=0), 0.5 * cloud(400, seed=1) + 1
    assert sliced_wasserstein(x, y, generator=seeded(0)) == pytest.approx(
        sliced_wasserstein(y, x, generator=seeded(0)), rel=1e-12
    )


def test_sw1_of_a_shift_in_1d_is_the_shift():
    x = cloud(100, 1)
    assert sliced_wasserstein(x, x + 0.7, p=1, generator=seeded(0)) == pytest.approx(0.7, rel=1e-6)


def test_unequal_sizes_are_compared_at_common_quantiles():
    x, y = cloud(3000, 2, seed=0), cloud(1000, 2, seed=1)
    same = sliced_wasserstein(x, y, generator=seeded(0))
    shifted = sliced_wasserstein(x, y + torch.tensor([1.0, 0.0]), generator=seeded(0))
    assert same < 0.1
    assert abs(shifted - 1 / 2**0.5) < 0.1
    assert sliced_wasserstein(y, x, generator=seeded(0)) == pytest.approx(same, rel=1e-12)


def test_unequal_sizes_of_the_same_quantile_grid_are_at_distance_0():
    # x_i = (i + 0.5) / N and y_j = (j + 0.5) / M are the mid-quantiles of U(0, 1): the quantile
    # function of x, linearly interpolated at y's levels, is y itself (but at the two ends, where
    # it is clamped to x's extreme points)
    x = ((torch.arange(100) + 0.5) / 100)[:, None].double()  # (100, 1)
    y = ((torch.arange(300) + 0.5) / 300)[:, None].double()  # (300, 1)
    assert sliced_wasserstein(x, y, generator=seeded(0)) < 5e-4
    assert sliced_wasserstein(y, x, generator=seeded(0)) < 5e-4


def test_distance_grows_with_the_gap_between_distributions():
    x = cloud(1000, 2, seed=0)
    near = sliced_wasserstein(x, cloud(1000, 2, seed=1) + 0.2, generator=seeded(0))
    far = sliced_wasserstein(x, cloud(1000, 2, seed=1) + 2.0, generator=seeded(0))
    assert near < far


def test_projections_are_reproduced_by_the_generator():
    x, y = cloud(300, seed=0), cloud(300, seed=1) * 2
    a = sliced_wasserstein(x, y, n_projections=8, generator=seeded(5))
    b = sliced_wasserstein(x, y, n_projections=8, generator=seeded(5))
    c = sliced_wasserstein(x, y, n_projections=8, generator=seeded(6))
    assert a == b
    assert a != c


@pytest.mark.parametrize("x_shape, y_shape", [((10, 2), (10, 3)), ((10,), (10,)), ((10, 2, 1), (10, 2, 1))])
def test_wrong_shapes_are_rejected(x_shape, y_shape):
    with pytest.raises(ValueError, match=r"point clouds \(N, D\) and \(M, D\) with the same D"):
        sliced_wasserstein(torch.zeros(x_shape), torch.zeros(y_shape))


def test_projection_count_and_p_must_be_positive():
    with pytest.raises(ValueError, match="n_projections and p must be >= 1, got 0 and 2"):
        sliced_wasserstein(cloud(5), cloud(5), n_projections=0)
    with pytest.raises(ValueError, match="got 16 and 0"):
        sliced_wasserstein(cloud(5), cloud(5), n_projections=16, p=0)

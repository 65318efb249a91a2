"""data/: the 2D toy distributions and the procedural test card."""
from __future__ import annotations

import pytest
import torch

from conftest import max_abs_error
from diffusion_edu.data import TOY_DATASETS, pictures, sample_toy

# landscape is called through its module: imported bare, pytest would collect it as a test

NAMES = sorted(TOY_DATASETS)


@pytest.mark.parametrize("name", NAMES)
def test_toy_data_is_n_points_in_2d(name):
    x = sample_toy(name, 1000, seed=0)
    assert x.shape == (1000, 2)
    assert x.dtype == torch.float32
    assert torch.isfinite(x).all()


@pytest.mark.parametrize("name", NAMES)
def test_toy_data_is_reproduced_by_its_seed(name):
    assert max_abs_error(sample_toy(name, 500, seed=3), sample_toy(name, 500, seed=3)) == 0
    assert max_abs_error(sample_toy(name, 500, seed=3), sample_toy(name, 500, seed=4)) > 0.1


@pytest.mark.parametrize("name", NAMES)
def test_seed_and_generator_give_the_same_points(name):
    by_seed = sample_toy(name, 200, seed=11)
    by_generator = sample_toy(name, 200, generator=torch.Generator().manual_seed(11))
    assert max_abs_error(by_seed, by_generator) == 0


@pytest.mark.parametrize("name", NAMES)
def test_toy_data_has_the_scale_the_schedules_assume(name):
    x = sample_toy(name, 20_000, seed=0)
    std = x.std(0)
    assert torch.all((std > 0.8) & (std < 1.2)), f"per-coordinate std {std.tolist()}"
    assert x.mean(0).abs().max().item() < 0.3
    assert x.abs().max().item() < 3


def test_eight_gaussians_sit_on_a_circle_of_radius_sqrt2():
    radius = sample_toy("eight_gaussians", 5000, seed=0).norm(dim=1)
    assert abs(radius.mean().item() - 2**0.5) < 0.01


def test_checkerboard_points_lie_on_dark_squares():
    x = sample_toy("checkerboard", 5000, seed=0) * 1.15  # back to the [-2, 2]^2 board
    column, row = torch.floor(x[:, 0]), torch.floor(x[:, 1])
    assert torch.all((column + row) % 2 == 0)


def test_unknown_toy_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown toy dataset 'swissroll'.*'swiss_roll'"):
        sample_toy("swissroll", 10)


@pytest.mark.parametrize("n", [0, -1, 2.0])
def test_toy_data_needs_a_positive_int_count(n):
    with pytest.raises(ValueError, match="n must be a positive int"):
        sample_toy("two_moons", n)


@pytest.mark.parametrize("size", [8, 32, 65])
def test_landscape_is_3_by_size_by_size_in_minus1_1(size):
    img = pictures.landscape(size)
    assert img.shape == (3, size, size)
    assert img.min().item() >= -1 and img.max().item() <= 1
    assert img.std().item() > 0.2  # a picture, not a flat colour


def test_landscape_is_the_same_every_time():
    assert max_abs_error(pictures.landscape(32), pictures.landscape(32)) == 0


def test_landscape_rejects_tiny_sizes():
    with pytest.raises(ValueError, match="size must be an int >= 8, got 4"):
        pictures.landscape(4)

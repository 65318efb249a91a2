"""models/: the sinusoidal time embedding and the MLP denoiser."""
from __future__ import annotations

import math

import pytest
import torch

from conftest import max_abs_error
from diffusion_edu.models import MLPDenoiser, TimeEmbedding, count_parameters, sinusoidal_embedding


def test_sinusoidal_embedding_has_shape_B_by_dim():
    assert sinusoidal_embedding(torch.arange(7), 64).shape == (7, 64)


def test_sinusoidal_embedding_is_sines_then_cosines_at_geometric_frequencies():
    t = torch.tensor([0, 1, 37, 999])
    emb = sinusoidal_embedding(t, 8, max_period=10_000.0)
    freqs = torch.tensor([10_000.0 ** (-i / 4) for i in range(4)])
    angles = t.double()[:, None] * freqs.double()[None, :]
    expected = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    assert max_abs_error(emb, expected) < 1e-4  # float32 angles up to 999 rad
    assert max_abs_error(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4)) == 0


def test_different_timesteps_get_different_embeddings():
    emb = sinusoidal_embedding(torch.arange(1000), 64)  # (1000, 64)
    distances = torch.cdist(emb, emb) + torch.eye(1000) * 1e9
    assert distances.min().item() > 1e-2
    # and neighbouring steps are closer than distant ones
    assert (emb[500] - emb[501]).norm() < (emb[500] - emb[900]).norm()


def test_sinusoidal_embedding_rejects_odd_dim_and_non_vector_t():
    with pytest.raises(ValueError, match="must be even, got 7"):
        sinusoidal_embedding(torch.arange(3), 7)
    with pytest.raises(ValueError, match=r"t must have shape \(B,\), got \(3, 1\)"):
        sinusoidal_embedding(torch.zeros(3, 1), 8)


def test_time_embedding_maps_B_to_B_by_out_dim():
    assert TimeEmbedding(32, sinusoid_dim=16)(torch.arange(5)).shape == (5, 32)


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_mlp_denoiser_returns_the_input_shape(dim):
    torch.manual_seed(0)
    model = MLPDenoiser(dim=dim, hidden=32, n_blocks=2)
    x = torch.randn(9, dim)
    out = model(x, torch.randint(0, 1000, (9,)))
    assert out.shape == (9, dim)
    assert torch.isfinite(out).all()


def test_mlp_denoiser_output_depends_on_t():
    torch.manual_seed(0)
    model = MLPDenoiser(dim=2, hidden=32)
    x = torch.randn(4, 2)
    assert max_abs_error(model(x, torch.full((4,), 10)), model(x, torch.full((4,), 900))) > 1e-4


def test_mlp_denoiser_is_differentiable_in_every_parameter():
    torch.manual_seed(0)
    model = MLPDenoiser(dim=2, hidden=16, n_blocks=2)
    model(torch.randn(8, 2), torch.randint(0, 1000, (8,))).pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_count_parameters_counts_trainable_parameters():
    model = MLPDenoiser(dim=2, hidden=16, n_blocks=1, sinusoid_dim=8)
    # time embedding 8*16+16 + 16*16+16; input 2*16+16; block LN 2*16, 2 x (16*16+16); out LN 2*16, 16*2+2
    expected = (8 * 16 + 16 + 16 * 16 + 16) + (2 * 16 + 16) + (2 * 16 + 2 * (16 * 16 + 16)) + (2 * 16 + 16 * 2 + 2)
    assert count_parameters(model) == expected
    model.inp.requires_grad_(False)
    assert count_parameters(model) == expected - (2 * 16 + 16)


def test_mlp_denoiser_rejects_x_of_the_wrong_dim():
    model = MLPDenoiser(dim=2, hidden=16)
    with pytest.raises(ValueError, match=r"expects x of shape \(B, 2\), got \(4, 3\)"):
        model(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expects x of shape \(B, 2\), got \(2,\)"):
        model(torch.zeros(2), torch.zeros(1, dtype=torch.long))


def test_mlp_denoiser_rejects_t_of_the_wrong_shape():
    model = MLPDenoiser(dim=2, hidden=16)
    with pytest.raises(ValueError, match=r"t must have shape \(B,\) = \(4,\), got \(\)"):
        model(torch.zeros(4, 2), torch.tensor(5))
    with pytest.raises(ValueError, match=r"t must have shape \(B,\) = \(4,\), got \(3,\)"):
        model(torch.zeros(4, 2), torch.zeros(3, dtype=torch.long))


def test_embedding_frequencies_span_one_to_one_over_max_period():
    # the slowest sine has period ~ 2 pi max_period: t = 1000 turns it by far less than a radian
    emb = sinusoidal_embedding(torch.tensor([1000]), 64)
    slowest_angle = math.asin(emb[0, 31].item())
    assert 0 < slowest_angle < 0.2

"""checks/unet.py: the checks of exercise 3 accept a right answer and name each typical mistake."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from diffusion_edu.checks import unet as U
from conftest import assert_check_accepts_right_and_names_wrong


# ------------------------------------------------------------------ answers, right and wrong
def _embedding(t, dim, cos_first=False, interleave=False, exponent_div=None, t_scale=1.0, linear=False):
    half = dim // 2
    i = torch.arange(half, dtype=torch.float64)
    freqs = torch.exp(-math.log(10_000.0) * i / (exponent_div(half, dim) if exponent_div else half))
    if linear:
        freqs = torch.linspace(1, 1e-4, half, dtype=torch.float64)
    angles = t.double()[:, None] / t_scale * freqs[None, :]  # (B, dim/2)
    sin, cos = torch.sin(angles), torch.cos(angles)
    if interleave:
        return torch.stack([sin, cos], dim=2).reshape(len(t), dim)
    return torch.cat([cos, sin] if cos_first else [sin, cos], dim=1)


def _receptive_field(layers, mistake=None):
    r, jump = (0 if mistake == "whole kernels" else 1), 1
    for k, s in layers:
        if mistake == "own stride":
            jump *= s
        r += (k if mistake == "whole kernels" else k - 1) * (1 if mistake == "no jump" else jump)
        if mistake != "own stride":
            jump *= s
    return r


def _res_block(block, x, emb, mistake=None):
    return U._block_variant(block, x, emb, mistake)


def _res_block_without_skip_conv(block, x, emb):  # adds x itself: breaks when the channels change
    h = block.conv1(F.silu(block.norm1(x)))
    h = h + block.emb_proj(F.silu(emb))[:, :, None, None]
    return x + block.conv2(F.silu(block.norm2(h)))


def _unet(model, x, t, mistake=None):
    """A student's general loop (not the check's unrolled reference), with optional mistakes."""
    emb = model.time_embedding(t)
    h = model.stem(x)
    skips = [h]
    for level in model.down:
        for block in level.blocks:
            h = block(h, emb)
            skips.append(h)
        if level.resample is not None:
            h = level.resample(h)
            skips.append(h)
    h = model.mid_block2(model.mid_attention(model.mid_block1(h, emb)), emb)
    for level in model.up:
        for block in level.blocks:
            skip = skips.pop()
            h = block(torch.cat([skip, h] if mistake == "skip first" else [h, skip], dim=0 if mistake == "batch axis" else 1), emb)
        if level.resample is not None:
            h = level.resample(h)
    return model.out_conv(F.silu(model.out_norm(h)))


def _unet_calls_the_model(model, x, t):
    return model(x, t)


CASES = [
    # (check, right answer, wrong answer, words the message must contain)
    (U.sinusoidal_embedding, _embedding, lambda t, d: _embedding(t, d, cos_first=True), "sines and cosines are swapped"),
    (U.sinusoidal_embedding, _embedding, lambda t, d: _embedding(t, d, interleave=True), "interleaved"),
    (U.sinusoidal_embedding, _embedding, lambda t, d: _embedding(t, d, linear=True), "evenly spaced"),
    (U.sinusoidal_embedding, _embedding, lambda t, d: _embedding(t, d, exponent_div=lambda h, d: h - 1), "divides by dim/2 - 1"),
    (U.sinusoidal_embedding, _embedding, lambda t, d: _embedding(t, d, exponent_div=lambda h, d: d), "divides by dim, not dim/2"),
    (U.sinusoidal_embedding, _embedding, lambda t, d: _embedding(t, d, t_scale=1000.0), "divided by T = 1000"),
    (U.sinusoidal_embedding, _embedding, lambda t, d: None, "replace the `...`"),
    (U.sinusoidal_embedding, _embedding, lambda t, d: 2 * _embedding(t, d), "largest error"),
    (U.receptive_field, _receptive_field, lambda layers: _receptive_field(layers, "no jump"), "the strides are missing"),
    (U.receptive_field, _receptive_field, lambda layers: _receptive_field(layers, "own stride"), "own stride was counted"),
    (U.receptive_field, _receptive_field, lambda layers: _receptive_field(layers, "whole kernels"), "adds k - 1 pixels, not k"),
    (U.receptive_field, _receptive_field, lambda layers: None, "replace the `...`"),
    (U.receptive_field, _receptive_field, lambda layers: [3], "should return a number"),
    (U.res_block, _res_block, lambda *a: _res_block(*a, mistake="no residual"), "the residual is missing"),
    (U.res_block, _res_block, lambda *a: _res_block(*a, mistake="no silu on emb"), "SiLU before block.emb_proj"),
    (U.res_block, _res_block, lambda *a: _res_block(*a, mistake="emb at the end"), "between the two convolutions"),
    (U.res_block, _res_block, lambda *a: _res_block(*a, mistake="silu before norm"), "SiLU comes after GroupNorm"),
    (U.res_block, _res_block, _res_block_without_skip_conv, "block.skip, a 1x1 convolution"),
    (U.res_block, _res_block, lambda block, x, emb: block(x, emb), "do not call block(x, emb)"),
    (U.unet_forward, _unet, lambda *a: U._unet_variant(*a, mistake="skips in order"), "last in, first out"),
    (U.unet_forward, _unet, lambda *a: _unet(*a, mistake="skip first"), "[skip, h]"),
    (U.unet_forward, _unet, lambda *a: _unet(*a, mistake="batch axis"), "along the channel axis"),
    (U.unet_forward, _unet, lambda *a: U._unet_variant(*a, mistake="no mid attention"), "mid_attention) was left out"),
    (U.unet_forward, _unet, lambda *a: U._unet_variant(*a, mistake="no out norm"), "GroupNorm and SiLU come before the last"),
    (U.unet_forward, _unet, _unet_calls_the_model, "do not call model(x, t)"),
]


@pytest.mark.parametrize("check, right, wrong, words", CASES, ids=[f"{c.__name__}-{w[:24]}" for c, _, _, w in CASES])
def test_checks_accept_the_right_answer_and_name_the_mistake_in_a_wrong_one(check, right, wrong, words):
    assert_check_accepts_right_and_names_wrong(check, right, wrong, words)


def test_the_checks_reference_forward_is_the_library_unet():
    # the mistakes are computed from the check's own unrolled forward: it must be the library's
    model = U.randomise_(U.UNet(U.TWO_LEVELS), std=0.3).eval()
    x, t = torch.randn(2, 1, 16, 16), torch.tensor([3, 700])
    with torch.no_grad():
        assert (U._unet_variant(model, x, t) - model(x, t)).abs().max().item() < 1e-5


def test_checks_leave_the_global_random_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    U.res_block(_res_block)
    U.unet_forward(_unet)
    assert torch.equal(torch.rand(3), expected)

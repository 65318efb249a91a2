"""models/receptive_field.py: the receptive field in theory and measured by gradients agree."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from diffusion_edu.models import UNet, UNetConfig
from diffusion_edu.models.receptive_field import (
    conv_receptive_field,
    effective_receptive_field,
    frozen_norm_statistics,
    gradient_map,
    measured_receptive_field,
    randomise_,
    unet_layers,
    unet_receptive_field,
)

NARROW = UNetConfig(base_channels=8, groups=4, attention_heads=2, mid_attention=False)  # the default's layout


@pytest.mark.parametrize("layers, r", [
    ([], 1),
    ([(3, 1)], 3),
    ([(3, 1), (3, 1)], 5),
    ([(3, 1)] * 10, 21),
    ([(3, 2), (3, 1)], 7),  # the second conv's 2 extra pixels are 2 image pixels apart
    ([(7, 2), (3, 2), (3, 1)], 7 + 2 * 2 + 2 * 4),
    ([(3, 2), (1, 0.5), (3, 1)], 5),  # down, nearest x2, conv: 3 + 2 * 1
])
def test_conv_receptive_field_follows_r_equals_1_plus_sum_of_k_minus_1_times_jump(layers, r):
    assert conv_receptive_field(layers) == r


def test_conv_receptive_field_rejects_a_bad_layer():
    with pytest.raises(ValueError, match=r"\(kernel >= 1, stride > 0\) pairs, got \(3, 0\)"):
        conv_receptive_field([(3, 0)])


def _measure(layers_modules, size):
    x = torch.randn(1, 1, size, size, requires_grad=True)
    out = layers_modules(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()  # the centre of the output
    return measured_receptive_field(x.grad[0, 0])


def test_measured_field_of_plain_conv_stacks_matches_the_formula():
    torch.manual_seed(0)
    one = nn.Conv2d(1, 1, 3, padding=1)
    two = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 1, 3, padding=1))
    strided = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.Conv2d(2, 1, 3, padding=1))
    assert _measure(one, 15) == 3 == conv_receptive_field([(3, 1)])
    assert _measure(two, 15) == 5 == conv_receptive_field([(3, 1), (3, 1)])
    assert _measure(strided, 16) == 7 == conv_receptive_field([(3, 2), (3, 1)])


def test_unet_layers_follow_the_longest_path_of_the_default_unet():
    layers = unet_layers(UNetConfig())
    names = [name for name, _, _ in layers]
    assert names[0] == "stem" and names[-1] == "out_conv"
    assert [s for _, _, s in layers].count(2) == 2 and [s for _, _, s in layers].count(0.5) == 2
    # 1 stem + 3 levels x 1 block x 2 down + 2 mid blocks x 2 + 3 levels x 2 blocks x 2 up + 1 out, plus 4 resamplings
    assert len([k for _, k, _ in layers if k == 3]) == 1 + 6 + 4 + 12 + 2 + 2 + 1
    assert unet_receptive_field(UNetConfig()) == 133


@pytest.mark.parametrize("mults, expected", [((1,), 25), ((1, 2), 61), ((1, 2, 2), 133)])
def test_measured_receptive_field_of_a_unet_without_attention_matches_the_theory(mults, expected):
    config = replace(NARROW, channel_mults=mults)
    assert unet_receptive_field(config) == expected
    model = randomise_(UNet(config))
    grad = gradient_map(model, size=expected + 20 - (expected + 20) % 4)  # a canvas wider than the field
    assert measured_receptive_field(grad) == expected


def test_attention_in_the_middle_makes_the_field_the_whole_image():
    model = randomise_(UNet(replace(NARROW, channel_mults=(1, 2), mid_attention=True)))
    assert measured_receptive_field(gradient_map(model, size=80)) == 80


def test_without_frozen_statistics_groupnorm_reaches_every_pixel():
    model = randomise_(UNet(replace(NARROW, channel_mults=(1,))))
    assert measured_receptive_field(gradient_map(model, size=40, freeze_norm_statistics=False)) == 40
    assert measured_receptive_field(gradient_map(model, size=40)) == 25


def test_frozen_statistics_change_no_value_and_are_undone():
    model = randomise_(UNet(replace(NARROW, channel_mults=(1, 2), mid_attention=True))).eval()
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([3, 300])
    before = model(x, t)
    with frozen_norm_statistics(model):
        during = model(x, t)
    assert (during - before).abs().max().item() < 1e-5
    assert all("forward" not in vars(m) for m in model.modules())  # the class's forward is back


def test_at_initialisation_the_output_ignores_the_input():
    # the zero-initialised out_conv cuts every path: why gradient_map needs randomise_ first
    assert gradient_map(UNet(NARROW), size=16).abs().max().item() == 0


def test_effective_receptive_field_is_the_centred_box_holding_a_fraction_of_the_gradient():
    grad = torch.zeros(9, 9)
    grad[4, 4], grad[4, 6], grad[0, 0] = 0.9, 0.09, 0.01
    assert effective_receptive_field(grad, 0.5) == 1
    assert effective_receptive_field(grad, 0.95) == 5  # reaches column 6: half-width 2
    assert effective_receptive_field(grad, 1.0) == 9

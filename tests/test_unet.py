"""models/unet.py: the image denoiser. Small configs keep every test well under a second."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import max_abs_error
from diffusion_edu.models import UNet, UNetConfig, count_parameters, shape_trace

TINY = UNetConfig(base_channels=8, channel_mults=(1, 2), blocks_per_level=1, attention_levels=(1,),
                  attention_heads=2, groups=4)


def randomise(model: nn.Module) -> nn.Module:
    """Overwrite every parameter with noise: the zero-initialised output layers would otherwise
    hide whether the rest of the network reaches the output."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    return model


@pytest.mark.parametrize("config, size", [
    (TINY, 8),
    (UNetConfig(in_channels=3, base_channels=8, channel_mults=(1, 2, 2), blocks_per_level=1,
                attention_levels=(), attention_heads=2, groups=4), 16),
    (UNetConfig(in_channels=3, base_channels=8, channel_mults=(1, 1, 2, 2), blocks_per_level=2,
                attention_levels=(2, 3), attention_heads=2, groups=8, dropout=0.1), 32),
    (UNetConfig(base_channels=8, channel_mults=(2,), blocks_per_level=1, attention_levels=(0,),
                attention_heads=2, groups=4, num_classes=3), 6),
    (UNetConfig(base_channels=8, channel_mults=(1, 2), attention_levels=(), mid_attention=False,
                groups=4), 8),
])
def test_output_has_the_shape_of_the_input(config, size):
    model = randomise(UNet(config))
    x = torch.randn(3, config.in_channels, size, size)
    out = model(x, torch.tensor([0, 500, 999]))
    assert out.shape == x.shape
    assert torch.isfinite(out).all()


def test_out_channels_can_differ_from_in_channels():
    model = UNet(UNetConfig(in_channels=1, out_channels=2, base_channels=8, channel_mults=(1,),
                            attention_levels=(), attention_heads=2, groups=4))
    assert model(torch.randn(2, 1, 4, 4), torch.tensor([1, 2])).shape == (2, 2, 4, 4)


def test_untrained_unet_predicts_zero():
    # the output convolution starts at zero, so training starts from the "predict the mean" model
    out = UNet(TINY)(torch.randn(2, 1, 8, 8), torch.tensor([3, 4]))
    assert out.abs().max().item() == 0


def test_output_depends_on_t():
    model = randomise(UNet(TINY))
    x = torch.randn(2, 1, 8, 8)
    assert max_abs_error(model(x, torch.tensor([10, 10])), model(x, torch.tensor([900, 900]))) > 1e-3


def test_class_label_changes_the_output_and_none_means_the_null_label():
    config = UNetConfig(**{**TINY.__dict__, "num_classes": 10})
    model = randomise(UNet(config)).eval()
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([100, 100])
    out3 = model(x, t, torch.tensor([3, 3]))
    out7 = model(x, t, torch.tensor([7, 7]))
    assert max_abs_error(out3, out7) > 1e-3
    null = model(x, t, torch.tensor([10, 10]))  # label num_classes is the null label
    assert max_abs_error(model(x, t), null) == 0  # y=None is the null label for every example
    mixed = model(x, t, torch.tensor([3, 10]))  # labels are per example
    assert max_abs_error(mixed[0], out3[0]) < 1e-5 and max_abs_error(mixed[1], null[1]) < 1e-5


def test_every_parameter_gets_a_gradient():
    config = UNetConfig(**{**TINY.__dict__, "num_classes": 4})
    model = randomise(UNet(config))
    model(torch.randn(4, 1, 8, 8), torch.tensor([1, 2, 3, 4]), torch.tensor([0, 1, 2, 4])).pow(2).mean().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []


def test_default_digits_config_has_about_a_million_parameters():
    config = UNetConfig()  # the digits16 model
    assert (config.in_channels, config.num_classes) == (1, None)
    assert 0.9e6 <= count_parameters(UNet(config)) <= 1.1e6
    assert count_parameters(UNet(config)) == 1_079_905  # the number the book quotes
    with_classes = count_parameters(UNet(UNetConfig(num_classes=10)))
    assert with_classes - count_parameters(UNet(config)) == 11 * 4 * config.base_channels  # one row per label + null


def test_shape_trace_visits_every_level_down_and_up():
    config = UNetConfig(base_channels=8, channel_mults=(1, 2, 2), blocks_per_level=1, attention_levels=(2,),
                        attention_heads=2, groups=4, num_classes=10)
    trace = shape_trace(UNet(config), torch.randn(2, 1, 16, 16), torch.tensor([5, 6]), torch.tensor([1, 2]))
    names = [name for name, _ in trace]
    shapes = dict(trace)
    assert trace[0] == ("input", (2, 1, 16, 16)) and trace[-1] == ("out_conv", (2, 1, 16, 16))
    assert shapes["time_embedding"] == (2, 32) and shapes["class_embedding"] == (2, 32)
    for level, (c, s) in enumerate([(8, 16), (16, 8), (16, 4)]):
        assert shapes[f"down.{level}.blocks.0"] == (2, c, s, s)
        assert shapes[f"up.{2 - level}.blocks.1"] == (2, c, s, s)  # up.0 is the lowest resolution
    # resampling changes the resolution and moves to the next level's channels
    assert shapes["down.0.resample"] == (2, 16, 8, 8) and shapes["up.1.resample"] == (2, 8, 16, 16)
    assert shapes["up.0.blocks.0 input (h + skip)"] == (2, 16 + 16, 4, 4)
    assert shapes["up.2.blocks.1 input (h + skip)"] == (2, 8 + 8, 16, 16)  # the last skip: the stem's output
    assert {"mid_block1", "mid_attention", "mid_block2", "down.2.attentions.0", "up.0.attentions.1"} <= set(names)
    assert names.index("mid_attention") < names.index("up.0.blocks.0")


def test_wrong_channels_are_rejected_with_the_expected_shape():
    model = UNet(TINY)
    with pytest.raises(ValueError, match=r"expects x of shape \(B, 1, H, W\), got \(2, 3, 8, 8\)"):
        model(torch.randn(2, 3, 8, 8), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="is the channel axis second"):
        model(torch.randn(2, 8, 8, 1), torch.tensor([1, 2]))


def test_sizes_not_divisible_by_the_downsampling_factor_are_rejected():
    model = UNet(UNetConfig(base_channels=8, channel_mults=(1, 2, 2), attention_heads=2, groups=4))
    with pytest.raises(ValueError, match="halves the image 2 times: H and W must be divisible by 4, got 18x16"):
        model(torch.randn(1, 1, 18, 16), torch.tensor([1]))


def test_bad_t_labels_and_context_are_rejected():
    model = UNet(UNetConfig(**{**TINY.__dict__, "num_classes": 10}))
    x = torch.randn(2, 1, 8, 8)
    with pytest.raises(ValueError, match=r"t must have shape \(B,\) = \(2,\), got \(\)"):
        model(x, torch.tensor(5))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\] \(10 is the null label\), got min 0, max 11"):
        model(x, torch.tensor([1, 2]), torch.tensor([0, 11]))
    with pytest.raises(ValueError, match="y must be long labels"):
        model(x, torch.tensor([1, 2]), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"no cross-attention \(context_dim=None\)"):
        model(x, torch.tensor([1, 2]), context=torch.randn(2, 5, 16))
    with pytest.raises(ValueError, match="unconditional"):
        UNet(TINY)(x, torch.tensor([1, 2]), torch.tensor([0, 1]))
    E = 4 * TINY.base_channels  # the time embedding's width
    assert model(x, torch.tensor([1, 2]), embedding=torch.randn(2, E)).shape == x.shape
    with pytest.raises(ValueError, match=rf"embedding .* must have shape \(B, E\) = \(2, {E}\), got \(2, {E + 1}\)"):
        model(x, torch.tensor([1, 2]), embedding=torch.randn(2, E + 1))
    with pytest.raises(ValueError, match=r"must have shape \(B, E\)"):
        model(x, torch.tensor([1, 2]), embedding=torch.randn(E))  # one embedding for the whole batch


def test_config_rejects_channels_that_groupnorm_cannot_split():
    with pytest.raises(ValueError, match="12 channels cannot be split into 8 GroupNorm groups"):
        UNetConfig(base_channels=12, groups=8)
    with pytest.raises(ValueError, match=r"attention_levels must be in \[0, 1\]"):
        UNetConfig(base_channels=8, channel_mults=(1, 2), attention_levels=(2,), groups=4, attention_heads=2)


def test_without_mid_attention_the_trace_has_no_attention():
    config = UNetConfig(base_channels=8, channel_mults=(1, 2), mid_attention=False, groups=4)
    names = [name for name, _ in shape_trace(UNet(config), torch.randn(1, 1, 8, 8), torch.tensor([0]))]
    assert "mid_block1" in names and not any("attention" in name for name in names)


def test_config_lists_become_tuples_so_json_round_trips():
    config = UNetConfig(base_channels=8, channel_mults=[1, 2], attention_levels=[1], groups=4, attention_heads=2)
    assert config.channel_mults == (1, 2) and config.attention_levels == (1,)
    assert config == UNetConfig(base_channels=8, channel_mults=(1, 2), attention_levels=(1,), groups=4, attention_heads=2)


def test_runs_under_bf16_autocast_and_matches_float32_roughly():
    model = randomise(UNet(TINY))
    x, t = torch.randn(4, 1, 8, 8), torch.tensor([1, 10, 100, 900])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = model(x, t)
    high = model(x, t)
    assert low.shape == x.shape and torch.isfinite(low).all()
    assert max_abs_error(low.float(), high) < 0.05 * high.abs().max().item()


def test_skip_connections_carry_the_input_past_the_bottleneck():
    model = randomise(UNet(TINY))
    with torch.no_grad():  # cut the way down: the lower level now sees a constant
        model.down[0].resample.conv.weight.zero_()
    t = torch.tensor([50, 50])
    x = torch.randn(2, 1, 8, 8)
    # only the skips of level 0 can bring x to the output now
    assert max_abs_error(model(x, t), model(x + 1.0, t)) > 1e-3


def test_unet_runs_in_float64():
    from diffusion_edu.models.unet import UNet, UNetConfig

    model = UNet(UNetConfig(base_channels=8, channel_mults=(1, 2))).double()
    out = model(torch.randn(2, 1, 8, 8, dtype=torch.float64), torch.tensor([0, 999]))
    assert out.dtype == torch.float64

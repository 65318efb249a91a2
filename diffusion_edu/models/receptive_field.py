"""Which input pixels can one output pixel see? The receptive field, in theory and measured.

**In theory** (Araujo, Norris & Sim, 2019, "Computing receptive fields of convolutional neural
networks", Distill): a chain of layers with kernel sizes k_l and strides s_l, l = 1 .. L, from
input to output, gives an output pixel a receptive field of side

    r = 1 + sum_l (k_l - 1) * j_l,      j_l = s_1 * s_2 * ... * s_{l-1}   (j_1 = 1)

pixels: layer l widens the field by k_l - 1 of *its input's* pixels, and each of those is j_l
input-image pixels apart. Nearest-neighbour upsampling by 2 is a layer with k = 1 and s = 1/2:
it widens nothing, and halves the spacing of the layers after it. A U-Net has many paths from
input to output (every skip is a shortcut); the longest one, through the bottleneck, has the
largest field, and :func:`unet_layers` lists its layers.

**Measured**: the gradient of one output pixel with respect to the input image is non-zero
exactly at the pixels the output depends on (:func:`gradient_map`). Two details matter:

- The library's U-Net starts with its last convolution (and the second convolution of every
  residual block) at zero, so at initialisation the output ignores the input and the gradient
  is zero everywhere. :func:`randomise_` gives every weight a random value first.
- GroupNorm divides by a mean and a standard deviation taken over the *whole* feature map, so
  strictly every output depends, very weakly, on every input pixel. That path carries two
  numbers per group, not where anything is; to measure the spatial wiring, :func:`gradient_map`
  holds those statistics fixed (``freeze_norm_statistics=True``).
"""
from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn

from .unet import UNetConfig


def conv_receptive_field(layers: Sequence[tuple[int, float]]) -> int:
    """Side r of the receptive field of a chain of (kernel, stride) layers, input to output.

    r = 1 + sum_l (k_l - 1) j_l with j_l the product of the strides before layer l. A stride of
    1/2 is an upsampling by 2 (with kernel 1). One 3x3 conv: 3; two: 5; no layer at all: 1.
    """
    r, jump = 1.0, 1.0  # jump: input pixels between neighbouring pixels of the current layer
    for kernel, stride in layers:
        if kernel < 1 or stride <= 0:
            raise ValueError(f"layers must be (kernel >= 1, stride > 0) pairs, got ({kernel}, {stride})")
        r += (kernel - 1) * jump
        jump *= stride
    if r != int(r):
        raise ValueError(f"the receptive field came out fractional ({r}): is an upsampling followed by an even kernel?")
    return int(r)


def unet_layers(config: UNetConfig) -> list[tuple[str, int, float]]:
    """(name, kernel, stride) of the longest path through a U-Net of ``config``, input to output.

    The path runs stem -> every ResBlock's two 3x3 convs down -> middle -> every ResBlock up ->
    out_conv, with the stride-2 convolutions and the (nearest x2, 3x3 conv) upsamplings between
    levels. Left out: 1x1 convolutions and normalisation (with its statistics held fixed) see one
    pixel, and attention sees everything.
    """
    def block(name):
        return [(f"{name}.conv1", 3, 1), (f"{name}.conv2", 3, 1)]

    levels = len(config.channel_mults)
    layers = [("stem", 3, 1)]
    for level in range(levels):
        for b in range(config.blocks_per_level):
            layers += block(f"down.{level}.blocks.{b}")
        if level + 1 < levels:
            layers.append((f"down.{level}.resample", 3, 2))
    layers += block("mid_block1") + block("mid_block2")
    for i, level in enumerate(reversed(range(levels))):  # up.0 is the lowest resolution
        for b in range(config.blocks_per_level + 1):
            layers += block(f"up.{i}.blocks.{b}")
        if level > 0:
            layers += [(f"up.{i}.resample (nearest x2)", 1, 0.5), (f"up.{i}.resample.conv", 3, 1)]
    layers.append(("out_conv", 3, 1))
    return layers


def unet_receptive_field(config: UNetConfig) -> int:
    """The theoretical receptive field of the convolutions of a U-Net (attention not counted)."""
    return conv_receptive_field([(k, s) for _, k, s in unet_layers(config)])


def randomise_(model: nn.Module, std: float = 0.2, seed: int = 0) -> nn.Module:
    """Overwrite every parameter of ``model`` in place with N(0, std^2) noise; returns ``model``.

    Undoes the zero initialisations (out_conv, each ResBlock's conv2, each attention's proj), which
    would otherwise cut the input off from the output and make every gradient zero.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            noise = torch.randn(p.shape, generator=generator)
            p.copy_(std * noise)
    return model


def _group_norm_fixed_statistics(norm: nn.GroupNorm, x: Tensor) -> Tensor:
    """GroupNorm whose mean and variance are treated as constants by autograd."""
    B, C = x.shape[:2]
    groups = x.reshape(B, norm.num_groups, -1)  # (B, G, C/G * H * W)
    mean = groups.mean(-1, keepdim=True).detach()
    var = groups.var(-1, unbiased=False, keepdim=True).detach()
    h = ((groups - mean) / (var + norm.eps).sqrt()).reshape(x.shape)  # (B, C, H, W)
    if norm.affine:
        shape = (1, C) + (1,) * (x.ndim - 2)
        h = h * norm.weight.reshape(shape) + norm.bias.reshape(shape)
    return h


@contextlib.contextmanager
def frozen_norm_statistics(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, every GroupNorm of ``model`` computes the same values, but gradients do
    not flow through its mean and variance (the global path every normalisation opens)."""
    norms = [m for m in model.modules() if isinstance(m, nn.GroupNorm)]
    for m in norms:
        m.forward = functools.partial(_group_norm_fixed_statistics, m)
    try:
        yield model
    finally:
        for m in norms:
            del m.forward  # back to the class's forward


def gradient_map(
    model: nn.Module, size: int, t: int = 500, channels: int = 1, seed: int = 0,
    freeze_norm_statistics: bool = True,
) -> Tensor:
    """|d out[0, 0, size/2, size/2] / d x|, summed over input channels: (size, size).

    ``x`` is one (1, channels, size, size) image of standard normal noise (from ``seed``) at
    timestep ``t``; the model runs on a copy, in eval mode (no dropout), in float32 on the CPU.
    A gradient is zero exactly where no path leads from the pixel to the output: tiny ones (far out
    in the field, 1e-20 and less) stay non-zero, since float32 underflows only below 1e-38.
    """
    model = copy.deepcopy(model).float().eval()
    x = torch.randn(1, channels, size, size, generator=torch.Generator().manual_seed(seed))
    x.requires_grad_(True)
    context = frozen_norm_statistics(model) if freeze_norm_statistics else contextlib.nullcontext()
    with context:
        out = model(x, torch.tensor([t]))  # (1, C_out, size, size)
    out[0, 0, size // 2, size // 2].backward()
    return x.grad[0].abs().sum(0)  # (size, size)


def measured_receptive_field(grad: Tensor) -> int:
    """Side of the smallest square box holding every non-zero entry of a (H, W) gradient map."""
    rows = grad.abs().sum(1).nonzero()
    cols = grad.abs().sum(0).nonzero()
    if len(rows) == 0:
        return 0
    return int(max(rows.max() - rows.min(), cols.max() - cols.min()).item()) + 1


def effective_receptive_field(grad: Tensor, fraction: float = 0.99) -> int:
    """Side of the smallest square, centred on the output pixel (H/2, W/2), that holds ``fraction``
    of the total |gradient| of a (H, W) map: the pixels that carry most of the influence.

    Deep convolutional networks spread their influence like a Gaussian, so this *effective*
    receptive field is far smaller than the theoretical one (Luo et al., 2016).
    """
    H, W = grad.shape
    total = grad.abs().sum()
    for half in range(max(H, W)):
        box = grad[max(0, H // 2 - half): H // 2 + half + 1, max(0, W // 2 - half): W // 2 + half + 1]  # (<= 2 half + 1, ...)
        if box.abs().sum() >= fraction * total * (1 - 1e-6):  # float32 sums: a hair of tolerance
            return 2 * half + 1
    return 2 * max(H, W) - 1


__all__ = [
    "conv_receptive_field",
    "effective_receptive_field",
    "frozen_norm_statistics",
    "gradient_map",
    "measured_receptive_field",
    "randomise_",
    "unet_layers",
    "unet_receptive_field",
]

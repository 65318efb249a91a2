"""Checks for the exercises of chapter 3, the U-Net: time embedding, receptive field, residual
block and the forward pass with its skip connections.

The networks here are tiny and their weights random (:func:`randomise_`): the library starts
every ResBlock's second convolution and the output convolution at zero, and with those zeros
many wrong answers would give the right numbers.
"""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import Tensor

from ..models.embedding import sinusoidal_embedding as library_embedding
from ..models.receptive_field import conv_receptive_field, randomise_
from ..models.unet import ResBlock, UNet, UNetConfig
from ._verdict import generator, limited, verdict

MAX_PERIOD = 10_000.0
# the model of question 4: two levels (16x16 and 8x8), one block per level, attention in the middle
TWO_LEVELS = UNetConfig(base_channels=8, channel_mults=(1, 2), blocks_per_level=1, groups=4, attention_heads=2)


# ------------------------------------------------------------------ q1: the time embedding
def sinusoidal_embedding(fn) -> bool:
    """fn(t: (B,) long, dim: int) -> (B, dim): [sin(t w_i) for i < dim/2, cos(t w_i) for i < dim/2],
    w_i = 10000^(-i / (dim/2))."""
    fn = limited(fn)
    t = torch.tensor([0, 1, 7, 100, 999])
    for dim in (8, 32):
        half = dim // 2
        i = torch.arange(half, dtype=torch.float64)

        def embed(freqs, steps=t.double(), interleave=False, cos_first=False):
            angles = steps[:, None] * freqs[None, :]  # (B, dim/2)
            sin, cos = torch.sin(angles), torch.cos(angles)
            if interleave:
                return torch.stack([sin, cos], dim=2).reshape(len(steps), dim)  # (B, dim)
            return torch.cat([cos, sin] if cos_first else [sin, cos], dim=1)  # (B, dim)

        geometric = MAX_PERIOD ** (-i / half)
        verdict(
            fn(t.clone(), dim), library_embedding(t, dim), f"sinusoidal_embedding(t, dim={dim})",
            hint="emb[:, i] = sin(t w_i) and emb[:, dim/2 + i] = cos(t w_i) for i = 0 .. dim/2 - 1, "
                 "with w_i = 10000^(-i / (dim/2))",
            mistakes={
                "sines and cosines are swapped: the first dim/2 columns hold sin(t w_i), the last dim/2 cos(t w_i)":
                    embed(geometric, cos_first=True),
                "sines and cosines are interleaved (sin, cos, sin, cos, ...), as in the transformer paper; "
                "the library puts all the sines first, then all the cosines": embed(geometric, interleave=True),
                "the frequencies are evenly spaced (linspace); they must be geometric, each a constant factor "
                "below the previous: w_i = 10000^(-i / (dim/2))": embed(torch.linspace(1, 1 / MAX_PERIOD, half, dtype=torch.float64)),
                "the exponent divides by dim/2 - 1: w_i = 10000^(-i / (dim/2)), so the slowest frequency is "
                "10000^(-(dim/2 - 1)/(dim/2)), just above 1/10000": embed(MAX_PERIOD ** (-i / (half - 1))),
                "the exponent divides by dim, not dim/2: w_i = 10000^(-i / (dim/2))": embed(MAX_PERIOD ** (-i / dim)),
                "t was divided by T = 1000: the embedding takes the integer timestep t itself": embed(geometric, steps=t.double() / 1000),
            },
            rtol=1e-3, atol=1e-3,  # the library computes in float32: about 1e-4 off at t = 999
        )
    return True


# ------------------------------------------------------------------ q2: the receptive field
def _as_number(value, what: str) -> float:
    if value is None or value is Ellipsis:
        raise AssertionError(f"{what} returned {value!r}: replace the `...` with your code and `return` the result")
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if not isinstance(value, numbers.Real):
        raise AssertionError(f"{what} should return a number (the side of the field, in pixels), got {type(value).__name__}")
    return float(value)


def receptive_field(fn) -> bool:
    """fn(layers: list of (kernel, stride), input to output) -> int: r = 1 + sum_l (k_l - 1) j_l."""
    fn = limited(fn)
    cases = [
        [(3, 1)],
        [(3, 1), (3, 1)],
        [(5, 1), (3, 1), (3, 1)],
        [(3, 1), (3, 2), (3, 1), (3, 2), (3, 1)],
        [(7, 2), (3, 2), (3, 1), (3, 1)],
        [(1, 1), (3, 2), (1, 1), (3, 1)],
        [],
    ]
    for layers in cases:
        what = f"receptive_field({layers})"
        got = _as_number(fn(list(layers)), what)
        expected = conv_receptive_field(layers)
        if got == expected:
            continue
        no_jump = 1 + sum(k - 1 for k, _ in layers)
        own_stride, jump = 1, 1
        for k, s in layers:
            jump *= s
            own_stride += (k - 1) * jump
        whole_kernels, jump = 0, 1
        for k, s in layers:
            whole_kernels += k * jump
            jump *= s
        mistakes = [
            (no_jump, "the strides are missing: after a stride-2 layer, one pixel of the next layer's input is 2 "
                      "image pixels wide, so each layer adds (k - 1) j pixels, with j the product of the strides "
                      "before it"),
            (own_stride, "a layer's own stride was counted in its jump: the k - 1 pixels a layer adds are spaced by "
                         "the strides of the layers *before* it (j_1 = 1), its own stride only spreads the layers "
                         "after it"),
            (whole_kernels, "each layer adds k - 1 pixels, not k: two stacked 3x3 convolutions see 5 pixels, not 6 "
                            "(the second kernel overlaps the first one's field); start from r = 1"),
        ]
        for wrong, message in mistakes:
            if got == wrong != expected:
                raise AssertionError(f"{what} is not right: {message}")
        raise AssertionError(
            f"{what} returned {got:g}, which is not right. Hint: r = 1 + sum over layers of (k_l - 1) j_l, "
            "where j_l is the product of the strides of the layers before layer l"
        )
    return True


# ------------------------------------------------------------------ q3: the residual block
class _NoCall(ResBlock):
    """A ResBlock that refuses to run itself: the answer must use its layers."""

    def forward(self, x, emb):
        raise AssertionError("use the block's layers (block.norm1, block.conv1, ...): do not call block(x, emb)")


def _block_variant(block: ResBlock, x: Tensor, emb: Tensor, mistake: str | None = None) -> Tensor:
    """The ResBlock's forward, or one typical mistake in it."""
    pre = F.silu(block.norm1(x)) if mistake != "silu before norm" else block.norm1(F.silu(x))
    h = block.conv1(pre)  # (B, C_out, H, W)
    e = block.emb_proj(F.silu(emb) if mistake != "no silu on emb" else emb)[:, :, None, None]  # (B, C_out, 1, 1)
    if mistake != "emb at the end":
        h = h + e
    post = F.silu(block.norm2(h)) if mistake != "silu before norm" else block.norm2(F.silu(h))
    h = block.conv2(block.dropout(post))
    if mistake == "emb at the end":
        h = h + e
    return h if mistake == "no residual" else block.skip(x) + h


def _shape_hint(what: str, error: Exception, hint: str) -> AssertionError:
    return AssertionError(f"{what} raised {type(error).__name__}: {error}\nHint: {hint}")


def res_block(fn) -> bool:
    """fn(block: ResBlock, x: (B, C_in, H, W), emb: (B, E)) -> (B, C_out, H, W), as block(x, emb)."""
    fn = limited(fn)
    for seed, (c_in, c_out) in enumerate(((8, 8), (8, 16))):
        with torch.random.fork_rng():  # building a layer draws from the global generator: leave it as it was
            block = randomise_(_NoCall(c_in, c_out, emb_dim=12, groups=4, dropout=0.0), std=0.3, seed=seed).eval()
        g = generator(seed)
        x = torch.randn(3, c_in, 6, 6, generator=g)
        emb = torch.randn(3, 12, generator=g)
        what = f"res_block with {c_in} -> {c_out} channels"
        try:
            got = fn(block, x.clone(), emb.clone())
        except RuntimeError as e:
            raise _shape_hint(what, e, "the embedding goes through SiLU and block.emb_proj to (B, C_out), then "
                              "[:, :, None, None] makes it (B, C_out, 1, 1) to add to every pixel; when C_in != C_out "
                              "the input reaches the sum through block.skip, a 1x1 convolution") from None
        with torch.no_grad():
            expected = _block_variant(block, x, emb)
            mistakes = {
                "the residual is missing: the block returns block.skip(x) + h, so that it can start as the identity":
                    _block_variant(block, x, emb, "no residual"),
                "the embedding goes through SiLU before block.emb_proj: h + emb_proj(SiLU(emb))":
                    _block_variant(block, x, emb, "no silu on emb"),
                "the embedding is added at the end; it belongs between the two convolutions, after conv1, so "
                "that the second convolution can mix it with the features": _block_variant(block, x, emb, "emb at the end"),
                "SiLU comes after GroupNorm, not before: conv(SiLU(GroupNorm(h)))": _block_variant(block, x, emb, "silu before norm"),
            }
        verdict(
            got, expected, what,
            hint="h = conv1(SiLU(norm1(x))); h = h + emb_proj(SiLU(emb)) per channel; "
                 "h = conv2(dropout(SiLU(norm2(h)))); return skip(x) + h",
            mistakes=mistakes, rtol=1e-4, atol=1e-5,
        )
    return True


# ------------------------------------------------------------------ q4: the forward pass
class _NoForward(UNet):
    """A UNet that refuses to run itself: the answer must use its parts."""

    def forward(self, *args, **kwargs):
        raise AssertionError("write the forward pass from the model's parts: do not call model(x, t)")


def _unet_variant(model: UNet, x: Tensor, t: Tensor, mistake: str | None = None) -> Tensor:
    """The forward pass of a two-level, one-block U-Net, or one typical mistake in it."""
    emb = model.time_embedding(t)  # (B, E)
    h = model.stem(x)  # (B, C, H, W)
    skips = [h]
    h = model.down[0].blocks[0](h, emb)
    skips.append(h)
    h = model.down[0].resample(h)  # (B, 2C, H/2, W/2)
    skips.append(h)
    h = model.down[1].blocks[0](h, emb)
    skips.append(h)
    h = model.mid_block1(h, emb)
    if mistake != "no mid attention":
        h = model.mid_attention(h)
    h = model.mid_block2(h, emb)
    order = [3, 2, 1, 0] if mistake != "skips in order" else [2, 3, 0, 1]
    for level, pair in ((0, order[:2]), (1, order[2:])):
        for block, k in zip(model.up[level].blocks, pair):
            both = [skips[k], h] if mistake == "skip first" else [h, skips[k]]
            h = block(torch.cat(both, dim=1), emb)  # (B, C_h + C_skip, ...) -> (B, C_level, ...)
        if model.up[level].resample is not None:
            h = model.up[level].resample(h)  # (B, C, H, W)
    if mistake == "no out norm":
        return model.out_conv(h)
    return model.out_conv(F.silu(model.out_norm(h)))  # (B, 1, H, W)


def unet_forward(fn) -> bool:
    """fn(model: UNet of TWO_LEVELS, x: (B, 1, 16, 16), t: (B,)) -> (B, 1, 16, 16), as model(x, t)."""
    fn = limited(fn)
    for seed in (0, 1):
        with torch.random.fork_rng():
            model = randomise_(_NoForward(TWO_LEVELS), std=0.3, seed=seed).eval()
        g = generator(seed)
        x = torch.randn(2, 1, 16, 16, generator=g)
        t = torch.randint(0, 1000, (2,), generator=g)
        what = f"unet_forward (seed {seed})"
        try:
            got = fn(model, x.clone(), t.clone())
        except RuntimeError as e:
            raise _shape_hint(what, e, "concatenate h and a skip along the channel axis, torch.cat([h, skip], dim=1); "
                              "the encoder keeps 4 tensors (stem, down[0] block, down[0] resample, down[1] block) and "
                              "each of the 4 decoder blocks takes one, of its own resolution, last kept first used") from None
        with torch.no_grad():
            expected = _unet_variant(model, x, t)
            mistakes = {
                "the skips are used in the wrong order: the decoder takes them last in, first out (skips.pop()), so "
                "the first block of a level gets the *last* tensor the encoder kept at that resolution":
                    _unet_variant(model, x, t, "skips in order"),
                "the concatenation is [skip, h]; the decoder blocks were built for torch.cat([h, skip], dim=1)":
                    _unet_variant(model, x, t, "skip first"),
                "the self-attention in the middle (model.mid_attention) was left out": _unet_variant(model, x, t, "no mid attention"),
                "the output head is out_conv(SiLU(out_norm(h))): GroupNorm and SiLU come before the last convolution":
                    _unet_variant(model, x, t, "no out norm"),
            }
        verdict(
            got, expected, what,
            hint="emb = time_embedding(t); stem; down blocks and resample, keeping every output as a skip; "
                 "mid_block1, mid_attention, mid_block2; each up block on torch.cat([h, skips.pop()], dim=1), then "
                 "resample; out_conv(SiLU(out_norm(h)))",
            mistakes=mistakes, rtol=1e-4, atol=1e-5,
        )
    return True

"""A small U-Net denoiser for images: (x_t, t[, y]) -> a tensor shaped like x_t.

The U-Net (Ronneberger et al., 2015) encodes the image at decreasing resolutions and decodes it
back, and every decoder level concatenates the encoder's features of the same resolution (the
skip connections), so fine detail need not pass through the bottleneck. Ho et al. (2020) made it
the denoiser of diffusion models by adding the timestep to every residual block; Dhariwal &
Nichol (2021) tuned it (attention at low resolutions, class conditioning, more heads). This file
is a small version of theirs, for 16x16 and 32x32 images on a CPU:

    emb = TimeEmbedding(t) [+ ClassEmbedding(y)]                       (B, E),  E = 4 C
    h   = stem conv 3x3                                                (B, C_0, H, W)
    down: for each level l = 0 .. L-1 (resolution H / 2^l, channels C_l = C * mults[l]):
              blocks_per_level x ResBlock(h, emb) [-> SelfAttention], each output kept as a skip
              a conv of stride 2 halves H and W and goes to C_{l+1} channels (not at the last
              level); its output is kept as a skip too
    middle: ResBlock -> SelfAttention -> ResBlock                      (B, C_{L-1}, H/2^(L-1), .)
    up:   for each level from L-1 back to 0:
              (blocks_per_level + 1) x ResBlock(concat(h, skip), emb) [-> SelfAttention],
              taking the skips in the reverse order they were kept
              nearest-neighbour upsampling and a conv double H and W and go to C_{l-1} channels
              (not at level 0)
    out = conv 3x3 (SiLU(GroupNorm(h)))                                (B, out_channels, H, W)

The resampling convolutions change the number of channels (as in lucidrains'
denoising-diffusion-pytorch), so no full-resolution convolution runs at a lower level's width.

Each ResBlock is  GroupNorm -> SiLU -> conv 3x3 -> + Linear(SiLU(emb)) -> GroupNorm -> SiLU ->
dropout -> conv 3x3, plus the (1x1-projected) input: the embedding is *added* to the features
after the first convolution, one learned projection per block. The class label y is embedded
into the same space and added to the time embedding; label ``num_classes`` is the "null" label
(no class), which classifier-free guidance (Ho & Salimans, 2022) trains by dropping labels.

Text conditioning (Rombach et al., 2022, the U-Net of Stable Diffusion) adds cross-attention:
with ``UNetConfig(context_dim=D)``, every attention site (each attention level and the middle)
follows its self-attention with a :class:`CrossAttention` layer whose queries come from the
image and whose keys and values come from a ``context`` (B, L, D) of token features, one per
word of the caption. ``forward(x, t, context=...)`` hands the context to every site.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .embedding import TimeEmbedding


@dataclass(frozen=True)
class UNetConfig:
    """The sizes of a U-Net. The defaults are the digits16 model: 16x16 grey, 1,079,905 parameters.

    They were chosen for speed on a laptop CPU: one ResBlock per level on the way down and
    self-attention only in the middle (4x4) give the most training steps per second at about a
    million parameters, and in a fixed time budget learned better digits than a narrower, deeper
    net (base 16, mults (1, 2, 4), two blocks per level). Training is about 1.6x faster again under
    ``torch.autocast("cpu", dtype=torch.bfloat16)`` on CPUs with native bf16 (AVX512-BF16 or AMX).
    """

    in_channels: int = 1
    base_channels: int = 32  # C: channels of level 0
    channel_mults: tuple[int, ...] = (1, 2, 2)  # level l has C * mults[l] channels at H / 2^l
    blocks_per_level: int = 1  # ResBlocks per level on the way down (one more on the way up)
    attention_levels: tuple[int, ...] = ()  # levels with self-attention after every block
    mid_attention: bool = True  # self-attention in the middle, at the lowest resolution
    attention_heads: int = 4
    groups: int = 8  # GroupNorm groups; every level's channels must be divisible by it
    num_classes: int | None = None  # None: unconditional; else labels 0..num_classes-1 (+ null)
    context_dim: int | None = None  # None: no text; else cross-attention on a (B, L, D) context
    dropout: float = 0.0
    out_channels: int | None = None  # None: same as in_channels

    def __post_init__(self):
        for name in ("channel_mults", "attention_levels"):  # lists (from JSON) become tuples
            object.__setattr__(self, name, tuple(getattr(self, name)))
        levels = len(self.channel_mults)
        if levels < 1 or any(m < 1 for m in self.channel_mults):
            raise ValueError(f"channel_mults must be positive ints, one per level, got {self.channel_mults}")
        for name in ("in_channels", "base_channels", "blocks_per_level", "attention_heads", "groups"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if any(not 0 <= level < levels for level in self.attention_levels):
            raise ValueError(f"attention_levels must be in [0, {levels - 1}], got {self.attention_levels}")
        attending = set(self.attention_levels) | ({levels - 1} if self.mid_attention else set())
        for level, m in enumerate(self.channel_mults):
            c = self.base_channels * m
            if c % self.groups:
                raise ValueError(f"{c} channels cannot be split into {self.groups} GroupNorm groups")
            if level in attending and c % self.attention_heads:
                raise ValueError(f"{c} channels cannot be split into {self.attention_heads} attention heads")
        if self.context_dim is not None and (self.context_dim < 1 or not attending):
            raise ValueError(f"context_dim must be None or positive, with at least one attention site "
                             f"(attention_levels or mid_attention) to host cross-attention, got {self.context_dim}")
        if self.num_classes is not None and self.num_classes < 1:
            raise ValueError(f"num_classes must be None or positive, got {self.num_classes}")

    @property
    def downsamplings(self) -> int:
        """How many times the image is halved: H and W must be divisible by 2 ** this."""
        return len(self.channel_mults) - 1


class ResBlock(nn.Module):
    """x (B, C_in, H, W), emb (B, E) -> (B, C_out, H, W): two convs, emb added between them."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, dropout: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb_proj = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # the block starts as the identity (Ho et al., 2020)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, C_out, H, W)
        h = h + self.emb_proj(F.silu(emb))[:, :, None, None]  # (B, C_out, 1, 1) broadcast
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H*W positions of a feature map (Vaswani et al., 2017):

        x + proj( softmax(q k^T / sqrt(hs)) v ),   q, k, v = 1x1 convs of GroupNorm(x), per head

    Every position can look at every other one: a 4x4 map has 16 positions, so it is cheap there.
    """

    def __init__(self, channels: int, heads: int, groups: int):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        B, C, H, W = x.shape
        qkv = self.qkv(self.norm(x))  # (B, 3C, H, W)
        qkv = qkv.reshape(B, 3, self.heads, C // self.heads, H * W)  # (B, 3, nh, hs, HW)
        q, k, v = qkv.transpose(-1, -2).unbind(1)  # each (B, nh, HW, hs)
        h = F.scaled_dot_product_attention(q, k, v)  # (B, nh, HW, hs)
        h = h.transpose(-1, -2).reshape(B, C, H, W)  # (B, C, H, W)
        return x + self.proj(h)


def attention_weights(q: Tensor, k: Tensor) -> Tensor:
    """softmax(q k^T / sqrt(d)) over the keys: q (..., N, d), k (..., M, d) -> (..., N, M).

    Row n is a distribution over the M keys: how much query n takes from each of them.
    """
    return torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)


class CrossAttention(nn.Module):
    """Attention from the image to a caption: x (B, C, H, W), context (B, L, D) -> (B, C, H, W).

        x + proj( softmax(q k^T / sqrt(hs)) v ),   q = 1x1 conv of GroupNorm(x)      (B, nh, HW, hs)
                                                   k, v = Linear(context)            (B, nh, L, hs)

    Each of the H*W positions asks "which words are about me?": row p of the softmax is a
    distribution over the L tokens, and the position receives the values of the words it attends
    to. With ``record = True`` the layer keeps its last attention weights (B, nh, HW, L) in
    ``attention``, for pictures of where each word lands.
    """

    def __init__(self, channels: int, context_dim: int, heads: int, groups: int):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.kv = nn.Linear(context_dim, 2 * channels)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)  # starts as the identity, like the other residual layers
        nn.init.zeros_(self.proj.bias)
        self.record = False
        self.attention: Tensor | None = None

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        B, C, H, W = x.shape
        hs = C // self.heads
        q = self.q(self.norm(x)).reshape(B, self.heads, hs, H * W).transpose(-1, -2)  # (B, nh, HW, hs)
        k, v = self.kv(context).reshape(B, -1, 2, self.heads, hs).permute(2, 0, 3, 1, 4)  # each (B, nh, L, hs)
        weights = attention_weights(q, k)  # (B, nh, HW, L)
        if self.record:
            self.attention = weights.detach()
        h = (weights @ v).transpose(-1, -2).reshape(B, C, H, W)  # (B, C, H, W)
        return x + self.proj(h)


class Downsample(nn.Module):
    """(B, C_in, H, W) -> (B, C_out, H/2, W/2) by a 3x3 convolution of stride 2."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """(B, C_in, H, W) -> (B, C_out, 2H, 2W): nearest-neighbour upsampling, then a 3x3 convolution."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Level(nn.Module):
    """One resolution of the encoder or decoder: ResBlocks, optional attention, a resampler."""

    def __init__(self, blocks: list[ResBlock], attention: list[SelfAttention], resample: nn.Module | None,
                 cross_attention: list[CrossAttention] = ()):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.attentions = nn.ModuleList(attention)  # empty, or one per block
        self.cross_attentions = nn.ModuleList(cross_attention)  # empty, or one per block (text models)
        self.resample = resample


class UNet(nn.Module):
    """The U-Net of the module docstring: forward(x (B, C, H, W), t (B,), y (B,) | None)."""

    def __init__(self, config: UNetConfig = UNetConfig()):
        super().__init__()
        self.config = cfg = config
        emb_dim = 4 * cfg.base_channels  # as in Ho et al. (2020)
        self.time_embedding = TimeEmbedding(emb_dim, sinusoid_dim=cfg.base_channels)
        self.class_embedding = None
        if cfg.num_classes is not None:  # one extra row: label num_classes means "no label"
            self.class_embedding = nn.Embedding(cfg.num_classes + 1, emb_dim)
        channels = [cfg.base_channels * m for m in cfg.channel_mults]  # per level
        self.stem = nn.Conv2d(cfg.in_channels, channels[0], 3, padding=1)

        def block(c_in, c_out):
            return ResBlock(c_in, c_out, emb_dim, cfg.groups, cfg.dropout)

        def attention(c, level, n):  # n attention layers if this level has attention, else none
            if level not in cfg.attention_levels:
                return []
            return [SelfAttention(c, cfg.attention_heads, cfg.groups) for _ in range(n)]

        def cross_attention(c, level, n):  # n cross-attention layers where there is attention and text
            if level not in cfg.attention_levels or cfg.context_dim is None:
                return []
            return [CrossAttention(c, cfg.context_dim, cfg.attention_heads, cfg.groups) for _ in range(n)]

        skip_channels = [channels[0]]  # channels of every tensor the encoder keeps, in order
        self.down = nn.ModuleList()
        for level, c in enumerate(channels):
            blocks = [block(c, c) for _ in range(cfg.blocks_per_level)]
            skip_channels += [c] * cfg.blocks_per_level
            resample = None
            if level + 1 < len(channels):  # halve H and W, and move to the next level's channels
                resample = Downsample(c, channels[level + 1])
                skip_channels.append(channels[level + 1])
            n = cfg.blocks_per_level
            self.down.append(Level(blocks, attention(c, level, n), resample, cross_attention(c, level, n)))

        self.mid_block1 = block(c, c)
        self.mid_attention = SelfAttention(c, cfg.attention_heads, cfg.groups) if cfg.mid_attention else None
        self.mid_cross_attention = None
        if cfg.mid_attention and cfg.context_dim is not None:
            self.mid_cross_attention = CrossAttention(c, cfg.context_dim, cfg.attention_heads, cfg.groups)
        self.mid_block2 = block(c, c)

        self.up = nn.ModuleList()
        for level in reversed(range(len(channels))):
            blocks = []
            for _ in range(cfg.blocks_per_level + 1):  # one per skip the encoder kept at this resolution
                blocks.append(block(c + skip_channels.pop(), channels[level]))
                c = channels[level]
            n = cfg.blocks_per_level + 1
            attentions, cross_attentions = attention(c, level, n), cross_attention(c, level, n)
            resample = None
            if level > 0:  # double H and W, and move to the previous level's channels
                resample = Upsample(c, channels[level - 1])
                c = channels[level - 1]
            self.up.append(Level(blocks, attentions, resample, cross_attentions))

        self.out_norm = nn.GroupNorm(cfg.groups, c)
        self.out_conv = nn.Conv2d(c, cfg.out_channels or cfg.in_channels, 3, padding=1)
        nn.init.zeros_(self.out_conv.weight)  # the untrained model predicts 0
        nn.init.zeros_(self.out_conv.bias)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None, context: Tensor | None = None,
                embedding: Tensor | None = None) -> Tensor:
        """x: (B, in_channels, H, W), t: (B,) timesteps, y: (B,) labels in [0, num_classes]
        (num_classes = null label; y=None means null for every example), context: (B, L,
        context_dim) token features for cross-attention (text models only), embedding: (B, E)
        added to the time embedding, E = 4 * base_channels (a text model's pooled caption).
        Returns (B, out_channels, H, W)."""
        self._check_inputs(x, t, y, context, embedding)
        emb = self.time_embedding(t)  # (B, E)
        if embedding is not None:
            emb = emb + embedding  # (B, E)
        if self.class_embedding is not None:
            if y is None:
                y = torch.full_like(t, self.config.num_classes, dtype=torch.long)  # all null
            emb = emb + self.class_embedding(y)  # (B, E)

        h = self.stem(x)  # (B, C_0, H, W)
        skips = [h]
        for level in self.down:
            for i, block in enumerate(level.blocks):
                h = self._attend(level, i, block(h, emb), context)
                skips.append(h)
            if level.resample is not None:
                h = level.resample(h)  # (B, C_{l+1}, H_l / 2, W_l / 2)
                skips.append(h)

        h = self.mid_block1(h, emb)
        if self.mid_attention is not None:
            h = self.mid_attention(h)
        if self.mid_cross_attention is not None:
            h = self.mid_cross_attention(h, context)
        h = self.mid_block2(h, emb)

        for level in self.up:
            for i, block in enumerate(level.blocks):
                h = torch.cat([h, skips.pop()], dim=1)  # (B, C_h + C_skip, H_l, W_l)
                h = self._attend(level, i, block(h, emb), context)
            if level.resample is not None:
                h = level.resample(h)  # (B, C_{l-1}, 2 H_l, 2 W_l)
        return self.out_conv(F.silu(self.out_norm(h)))  # (B, out_channels, H, W)

    @staticmethod
    def _attend(level: Level, i: int, h: Tensor, context: Tensor | None) -> Tensor:
        """The attention site after block i of a level: self-attention, then (text models)
        cross-attention on ``context``."""
        if len(level.attentions):
            h = level.attentions[i](h)
        if len(level.cross_attentions):
            h = level.cross_attentions[i](h, context)
        return h

    def null_condition(self, y: Tensor) -> Tensor:
        """The null label for every example of ``y`` (B,): (B,) filled with num_classes."""
        if self.config.num_classes is None:
            raise ValueError("this UNet is unconditional (num_classes=None): it has no null label")
        return torch.full_like(y, self.config.num_classes)

    def check_condition(self, y: Tensor) -> None:
        """Raise a ValueError unless ``y`` is a batch of labels this model reads: (B,) long in
        [0, num_classes] (num_classes is the null label)."""
        cfg = self.config
        if cfg.num_classes is None:
            raise ValueError("this UNet is unconditional (num_classes=None): it takes no labels y")
        if y.ndim != 1 or y.dtype != torch.long:
            raise ValueError(f"y must be long labels of shape (B,), got {y.dtype} {tuple(y.shape)}")
        if len(y) and (y.min() < 0 or y.max() > cfg.num_classes):
            raise ValueError(
                f"labels must be in [0, {cfg.num_classes}] ({cfg.num_classes} is the null label), "
                f"got min {y.min().item()}, max {y.max().item()}"
            )

    def _check_inputs(self, x: Tensor, t: Tensor, y: Tensor | None, context: Tensor | None,
                      embedding: Tensor | None = None) -> None:
        cfg = self.config
        factor = 2**cfg.downsamplings
        if x.ndim != 4 or x.shape[1] != cfg.in_channels:
            raise ValueError(
                f"UNet expects x of shape (B, {cfg.in_channels}, H, W), got {tuple(x.shape)}"
                + (": is the channel axis second (NCHW)?" if x.ndim == 4 and x.shape[-1] == cfg.in_channels else "")
            )
        if x.shape[2] % factor or x.shape[3] % factor:
            raise ValueError(
                f"UNet with {len(cfg.channel_mults)} levels halves the image {cfg.downsamplings} times: "
                f"H and W must be divisible by {factor}, got {x.shape[2]}x{x.shape[3]}"
            )
        if t.shape != (x.shape[0],):
            raise ValueError(f"t must have shape (B,) = ({x.shape[0]},), got {tuple(t.shape)}")
        if y is not None and len(y) != len(x):
            raise ValueError(f"y must have one label per image: ({x.shape[0]},), got {tuple(y.shape)}")
        if y is not None:
            self.check_condition(y)
        if cfg.context_dim is None:
            if context is not None:
                raise ValueError("this UNet has no cross-attention (context_dim=None): it takes no context")
        elif context is None or context.ndim != 3 or context.shape[0] != x.shape[0] or context.shape[2] != cfg.context_dim:
            raise ValueError(f"this UNet attends to a context of shape (B, L, {cfg.context_dim}) = "
                             f"({x.shape[0]}, L, {cfg.context_dim}), got "
                             f"{None if context is None else tuple(context.shape)}")
        emb_dim = self.time_embedding.mlp[-1].out_features  # E
        if embedding is not None and embedding.shape != (x.shape[0], emb_dim):
            raise ValueError(f"embedding is added to the time embedding: it must have shape (B, E) = "
                             f"({x.shape[0]}, {emb_dim}), got {tuple(embedding.shape)}")


def shape_trace(model: UNet, x: Tensor, t: Tensor, y: Tensor | None = None,
                context: Tensor | None = None) -> list[tuple[str, tuple[int, ...]]]:
    """Run ``model`` once and list (name, output shape) of every stage, in the order run.

    Names are the modules' names: ``down.l`` is encoder level l (resolution H / 2^l), ``up.0`` the
    first decoder level (the lowest resolution). Decoder blocks are preceded by an
    "... input (h + skip)" entry: the shape after the concatenation with the skip.
    """
    trace = [("input", tuple(x.shape))]
    handles = []
    stages = (ResBlock, SelfAttention, CrossAttention, Downsample, Upsample, TimeEmbedding)

    def record(name):
        return lambda module, inputs, output: trace.append((name, tuple(output.shape)))

    def record_concat(name):
        return lambda module, inputs: trace.append((f"{name} input (h + skip)", tuple(inputs[0].shape)))

    for name, module in model.named_modules():
        if name.startswith("up.") and isinstance(module, ResBlock):
            handles.append(module.register_forward_pre_hook(record_concat(name)))
        if isinstance(module, stages) or name in ("stem", "out_conv", "class_embedding"):
            handles.append(module.register_forward_hook(record(name)))
    try:
        with torch.no_grad():
            model(x, t, y, context)
    finally:
        for handle in handles:
            handle.remove()
    return trace


__all__ = ["UNetConfig", "UNet", "ResBlock", "SelfAttention", "CrossAttention", "attention_weights", "Downsample", "Upsample", "shape_trace"]

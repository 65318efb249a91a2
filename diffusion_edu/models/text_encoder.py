"""A small text encoder: token ids (B, L) -> one feature vector per token (B, L, D).

Stable Diffusion reads its prompt with CLIP's text transformer (12 layers, width 768, trained on
400 million image-caption pairs to place a caption near its image). Ours has the same structure
at a toy scale and is trained *with* the U-Net, from scratch, on the shapes captions:

    h = token_embedding[tokens] + position_embedding                    (B, L, D)
    for each layer:  h = h + SelfAttention(LayerNorm(h))               every token sees every token
                     h = h + MLP(LayerNorm(h))                          Linear(D, 4D) -> GELU -> Linear
    context = LayerNorm(h)                                              (B, L, D)

The position embedding is what tells "a red circle" from "circle a red". Self-attention lets a
token's feature depend on its neighbours (the word "left" after "top" means something else than
after "middle"). The U-Net reads the context through cross-attention
(:class:`~diffusion_edu.models.unet.CrossAttention`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class TransformerBlock(nn.Module):
    """A pre-norm transformer encoder layer (Vaswani et al., 2017): (B, L, D) -> (B, L, D)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} cannot be split into {heads} attention heads")
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, h: Tensor) -> Tensor:
        B, L, D = h.shape
        qkv = self.qkv(self.norm1(h)).reshape(B, L, 3, self.heads, D // self.heads)  # (B, L, 3, nh, hs)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, nh, L, hs)
        attended = F.scaled_dot_product_attention(q, k, v)  # (B, nh, L, hs)
        h = h + self.proj(attended.transpose(1, 2).reshape(B, L, D))
        return h + self.mlp(self.norm2(h))


class TextEncoder(nn.Module):
    """forward(tokens (B, L) long) -> context (B, L, dim); see the module docstring."""

    def __init__(self, vocab_size: int, length: int, dim: int = 64, layers: int = 2, heads: int = 4):
        super().__init__()
        self.vocab_size, self.length = vocab_size, length
        self.token_embedding = nn.Embedding(vocab_size, dim)
        self.position_embedding = nn.Parameter(0.02 * torch.randn(length, dim))
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: Tensor) -> Tensor:
        if tokens.ndim != 2 or tokens.shape[1] != self.length or tokens.dtype != torch.long:
            raise ValueError(f"TextEncoder expects long token ids of shape (B, {self.length}), "
                             f"got {tokens.dtype} {tuple(tokens.shape)}")
        if len(tokens) and (tokens.min() < 0 or tokens.max() >= self.vocab_size):
            raise ValueError(f"token ids must be in [0, {self.vocab_size - 1}], got min {tokens.min().item()}, "
                             f"max {tokens.max().item()}")
        h = self.token_embedding(tokens) + self.position_embedding  # (B, L, D)
        for block in self.blocks:
            h = block(h)
        return self.norm(h)  # (B, L, D)


__all__ = ["TextEncoder", "TransformerBlock"]

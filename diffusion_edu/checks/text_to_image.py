"""Checks for the exercises of chapter 7, text to image: tokens, cross-attention weights and the
per-word maps made from them.

Every check compares the student's function with the library's own (:mod:`diffusion_edu.tokenizer`,
:func:`~diffusion_edu.models.unet.attention_weights`, :func:`~diffusion_edu.models.text_to_image.token_maps`)
on seeded random inputs, and names the typical mistakes.
"""
from __future__ import annotations

import torch

from ..data.shapes import make_shapes
from ..models.text_to_image import token_maps
from ..models import unet
from ..tokenizer import CaptionTokenizer
from ._verdict import generator, limited, verdict

TOKENIZER = CaptionTokenizer()


# ------------------------------------------------------------------------- q1: tokens
def tokenize(fn) -> bool:
    """fn(caption, index, length) -> (length,) long tensor: <start>, one id per word, <pad> after."""
    fn = limited(fn)
    hint = ("start with index['<start>'], then index[word] for each word of caption.split(), then "
            "index['<pad>'] until the tensor has `length` entries")
    captions = ["", "a big red circle in the middle", *make_shapes(6, 16, seed=7).captions]
    for caption in captions:
        what = f"tokenize({caption!r}, index, length={TOKENIZER.length})"
        got = fn(caption, dict(TOKENIZER.index), TOKENIZER.length)
        if got is None or got is Ellipsis:
            raise AssertionError(f"{what} returned {got!r}: replace the `...` with your code and `return` the result")
        if not isinstance(got, torch.Tensor):
            try:
                got = torch.tensor(got)
            except (TypeError, ValueError):
                raise AssertionError(f"{what} should return a tensor of token ids, got {type(got).__name__}") from None
        if got.dtype.is_floating_point:
            raise AssertionError(f"{what} should return integer token ids (dtype torch.long): an embedding "
                                 f"table is indexed by them, got {got.dtype}")
        expected = TOKENIZER.encode(caption)[0]  # (L,)
        words = [TOKENIZER.index[w] for w in caption.split()]
        if got.shape != expected.shape:
            if got.tolist() == words or got.tolist() == [1, *words]:
                raise AssertionError(f"{what} is not padded: every caption must have the same length L = "
                                     f"{TOKENIZER.length}, so that a batch is one (B, L) tensor. Hint: {hint}")
            raise AssertionError(f"{what} has shape {tuple(got.shape)}, expected ({TOKENIZER.length},). Hint: {hint}")
        if torch.equal(got.long(), expected):
            continue
        pad = TOKENIZER.length - len(words)
        mistakes = {
            "the <start> token is missing: every caption begins with it (it is all the empty caption has)":
                torch.tensor(words + [0] * pad),
            "the padding is on the wrong side: <start> and the words come first, <pad> fills the end":
                torch.tensor([0] * (pad - 1) + [1] + words),
        }
        for message, wrong in mistakes.items():
            if torch.equal(got.long(), wrong):
                raise AssertionError(f"{what} is not right: {message}")
        if got[len(words) + 1 :].ne(0).any() and torch.equal(got[: len(words) + 1].long(), expected[: len(words) + 1]):
            raise AssertionError(f"{what} pads with {got[-1].item()}: the padding token is index['<pad>'] = 0")
        raise AssertionError(f"{what} gives {got.tolist()}, which is not the caption's tokens. Hint: {hint}")
    return True


# ------------------------------------------------------------------------- q2: attention weights
def attention_weights(fn) -> bool:
    """fn(q (B, nh, N, d), k (B, nh, M, d)) -> softmax(q k^T / sqrt(d)) over the M keys: (B, nh, N, M)."""
    fn = limited(fn)
    hint = "scores = q @ k.transpose(-1, -2) / sqrt(d), then a softmax over the last axis (the keys: the tokens)"
    for seed, (B, nh, N, M, d) in enumerate([(2, 4, 16, 9, 8), (1, 2, 64, 9, 16), (3, 1, 4, 5, 32)]):
        g = generator(seed)
        q, k = 2 * torch.randn(B, nh, N, d, generator=g), 2 * torch.randn(B, nh, M, d, generator=g)
        what = f"attention_weights(q {tuple(q.shape)}, k {tuple(k.shape)})"
        scores = q @ k.transpose(-1, -2)  # (B, nh, N, M)
        got = fn(q.clone(), k.clone())
        if isinstance(got, torch.Tensor) and got.shape == (B, nh, M, N):
            raise AssertionError(f"{what} has shape {tuple(got.shape)}: q and k are swapped. The image positions "
                                 "ask (queries, rows) and the tokens answer (keys, columns): q @ k^T is (N, M)")
        verdict(got, unet.attention_weights(q, k), what, hint, mistakes={
            "the softmax runs over the wrong axis: each query's weights over the keys must sum to 1 "
            "(dim=-1); dim=-2 makes each token's weights over the positions sum to 1":
                torch.softmax(scores / d**0.5, dim=-2),
            "the scores are not scaled: divide q k^T by sqrt(d) before the softmax, or the softmax "
            "saturates as d grows": torch.softmax(scores, dim=-1),
            "the scores are divided by d: the scale is 1 / sqrt(d)": torch.softmax(scores / d, dim=-1),
            "these are the scores before the softmax: the weights are softmax(q k^T / sqrt(d))": scores / d**0.5,
        })
    return True


# ------------------------------------------------------------------------- q3: per-token maps
def word_maps(fn) -> bool:
    """fn(weights (B, nh, HW, L)) -> (B, L, h, w): mean over heads, one square map per token."""
    fn = limited(fn)
    hint = ("average over the heads (dim 1), move the token axis before the positions "
            "(.transpose(1, 2)), then reshape the HW positions into (h, w) with h = w = sqrt(HW)")
    for seed, (B, nh, side, L) in enumerate([(2, 4, 4, 9), (1, 2, 8, 9), (3, 1, 2, 5)]):
        weights = torch.softmax(3 * torch.randn(B, nh, side * side, L, generator=generator(seed)), dim=-1)
        what = f"word_maps(weights {tuple(weights.shape)})"
        mean = weights.mean(1)  # (B, HW, L)
        verdict(fn(weights.clone()), token_maps(weights), what, hint, mistakes={
            "the positions are scrambled: reshaping (B, HW, L) straight to (B, L, h, w) mixes tokens and "
            "positions; transpose the token axis forward first": mean.reshape(B, L, side, side),
            "each map is transposed (rows and columns swapped): the U-Net flattened positions row by row, "
            "so position p is row p // w, column p % w": token_maps(weights).transpose(-1, -2),
            "the heads are summed: average them (the mean keeps each position's weights summing to 1)":
                nh * token_maps(weights) if nh > 1 else torch.full_like(token_maps(weights), float("nan")),
        })
    return True


__all__ = ["tokenize", "attention_weights", "word_maps"]

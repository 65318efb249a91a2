"""Tokens: turning a caption into the integers a text encoder embeds.

A tokenizer splits text into pieces from a fixed vocabulary and gives each piece its index.
Stable Diffusion uses CLIP's tokenizer: byte-pair encoding over ~49,000 sub-word pieces, every
caption wrapped in start and end tokens and padded to 77. Our captions come from a closed
language of 20-odd words ("a small red circle in the top left"), so a *word-level* tokenizer is
enough and easier to read:

    "a big blue triangle in the middle"
      -> <start> a big blue triangle in the middle <pad>       (L = 1 + the longest caption)
      ->    1    2  9  ...                          0

Every caption gets the same length L, as in CLIP, so a batch is one (B, L) tensor. The empty
caption "" is <start> followed by padding: the *null* caption, which classifier-free guidance
trains with (caption dropout) and uses as its unconditional branch.
"""
from __future__ import annotations

import itertools

import torch
from torch import Tensor

from .data.shapes import ATTRIBUTES, VOCABULARY, caption

PAD, START = "<pad>", "<start>"
_LONGEST = max(len(caption(*combo).split()) for combo in itertools.product(*ATTRIBUTES.values()))  # 8


class CaptionTokenizer:
    """Word-level tokenizer: ``encode(captions) -> (B, L)`` long tensor, ``decode`` back.

    ``words`` is the vocabulary (default: every word of the shapes captions); token 0 is <pad>,
    token 1 is <start>, word k of ``words`` is token k + 2. ``max_words`` fixes L = 1 + max_words.
    """

    def __init__(self, words: tuple[str, ...] = VOCABULARY, max_words: int = _LONGEST):
        if len(set(words)) != len(words) or PAD in words or START in words:
            raise ValueError("words must be distinct and must not contain the special tokens")
        self.vocabulary = (PAD, START, *words)  # token id -> piece
        self.index = {word: i for i, word in enumerate(self.vocabulary)}  # piece -> token id
        self.max_words = max_words
        self.length = 1 + max_words  # L

    def __len__(self) -> int:
        return len(self.vocabulary)

    def pieces(self, text: str) -> list[str]:
        """The tokens of one caption as strings, without padding: ["<start>", "a", "big", ...]."""
        words = text.lower().split()
        unknown = [w for w in words if w not in self.index or w in (PAD, START)]
        if unknown:
            raise ValueError(f"unknown word(s) {unknown} in caption {text!r}: this tokenizer knows only "
                             f"{' '.join(self.vocabulary[2:])}")
        if len(words) > self.max_words:
            raise ValueError(f"caption {text!r} has {len(words)} words, more than max_words={self.max_words}")
        return [START, *words]

    def encode(self, texts: str | list[str]) -> Tensor:
        """One caption or a list of B captions -> token ids (B, L), padded with <pad> (0)."""
        if isinstance(texts, str):
            texts = [texts]
        tokens = torch.zeros(len(texts), self.length, dtype=torch.long)  # (B, L), all <pad>
        for row, text in enumerate(texts):
            ids = [self.index[piece] for piece in self.pieces(text)]
            tokens[row, : len(ids)] = torch.tensor(ids)
        return tokens

    def decode(self, tokens: Tensor) -> list[str]:
        """Token ids (B, L) -> captions, without <start> and <pad>."""
        return [" ".join(self.vocabulary[i] for i in row.tolist() if i > 1) for row in tokens]

    def null(self, batch: int) -> Tensor:
        """The tokens of the empty caption, (batch, L): <start> and padding."""
        return self.encode([""] * batch)


__all__ = ["CaptionTokenizer", "PAD", "START"]

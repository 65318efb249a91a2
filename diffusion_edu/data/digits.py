"""Handwritten digits, 16x16: the course's first real images.

scikit-learn ships the UCI "optical recognition of handwritten digits" set (Alpaydin & Kaynak,
1998) inside the package, so it loads offline: 1,797 grey 8x8 images of the digits 0-9, written
by 43 people, with pixel values 0..16. For diffusion we

1. split it once, 80/20 and stratified by label (``random_state=0``): 1,437 training and 360 test
   images, every digit in the same proportion in both;
2. scale the pixels to [-1, 1], the range the schedules assume: x = p / 8 - 1;
3. upsample each pixel to a 2x2 block (nearest neighbour), to 16x16, so a U-Net has room for
   two downsamplings (16 -> 8 -> 4) and the samples are big enough to look at.

The upsampling adds no information: a 16x16 sample that is not made of 2x2 blocks shows what the
model invented.
"""
from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

SPLITS = ("train", "test")
N_CLASSES = 10
IMAGE_SIZE = 16


@lru_cache(maxsize=None)
def _digits_split() -> dict[str, tuple[Tensor, Tensor]]:
    """Load, split, scale and upsample once per process (about 50 ms): {split: (images, labels)}."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    pixels = torch.as_tensor(bunch.images, dtype=torch.float32)  # (1797, 8, 8), values 0..16
    labels = torch.as_tensor(bunch.target, dtype=torch.long)  # (1797,)
    index = torch.arange(len(labels))
    train_idx, test_idx = train_test_split(
        index.numpy(), test_size=0.2, stratify=labels.numpy(), random_state=0
    )
    images = pixels / 8.0 - 1.0  # 0..16 -> [-1, 1]
    images = images[:, None]  # (1797, 1, 8, 8)
    images = images.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # (1797, 1, 16, 16)
    out = {}
    for split, idx in (("train", train_idx), ("test", test_idx)):
        idx = torch.as_tensor(idx)
        out[split] = (images[idx].contiguous(), labels[idx].contiguous())
    return out


def load_digits16(split: str = "train") -> tuple[Tensor, Tensor]:
    """The digits at 16x16 in [-1, 1]: images (N, 1, 16, 16) float32 and labels (N,) long.

    ``split`` is "train" (N = 1437) or "test" (N = 360). The split is fixed, so the test images
    are never seen in training by any chapter. Returns fresh copies: changing them in place does
    not change what the next call returns.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    images, labels = _digits_split()[split]
    return images.clone(), labels.clone()


__all__ = ["load_digits16", "N_CLASSES", "IMAGE_SIZE"]

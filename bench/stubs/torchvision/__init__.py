"""A stand-in for torchvision, used only while bench/ imports denoising-diffusion-pytorch.

That package imports ``torchvision.transforms`` and ``torchvision.utils`` at import time, for its
image-folder Trainer and its FID helper, neither of which the benchmark uses. Anything that does
call into this stand-in fails loudly: it has no functions at all.
"""
from . import transforms, utils  # noqa: F401

__version__ = "0+stand-in"

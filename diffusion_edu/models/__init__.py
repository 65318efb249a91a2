"""Denoising networks. Each takes (x_t, t[, y]) and returns a tensor shaped like x_t; none knows the schedule."""
from torch import nn

from .embedding import TimeEmbedding, sinusoidal_embedding
from .mlp import MLPDenoiser
from .unet import UNet, UNetConfig, shape_trace


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "MLPDenoiser", "UNet", "UNetConfig", "shape_trace", "TimeEmbedding", "sinusoidal_embedding",
    "count_parameters",
]

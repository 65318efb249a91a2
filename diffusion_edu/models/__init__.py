"""Denoising networks. Each takes (x_t, t[, y]) and returns a tensor shaped like x_t; none knows the schedule."""
import torch
from torch import Tensor, nn

from .embedding import TimeEmbedding, sinusoidal_embedding
from .mlp import MLPDenoiser
from .unet import UNet, UNetConfig, shape_trace


def null_condition(model: nn.Module, y: Tensor) -> Tensor:
    """The "no condition" input of a conditional ``model`` for a batch ``y``: the model's own
    ``null_condition(y)`` (the empty caption's tokens for a text model), or else the null label
    ``model.config.num_classes`` for every example (what classifier-free guidance trains with)."""
    if hasattr(model, "null_condition"):
        return model.null_condition(y)
    num_classes = getattr(getattr(model, "config", None), "num_classes", None)
    if num_classes is None:
        raise ValueError("this model is unconditional: it has no null condition. Classifier-free guidance and "
                         "label dropout need UNetConfig(num_classes=...) or a TextToImage model")
    return torch.full_like(y, num_classes)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = [
    "MLPDenoiser", "UNet", "UNetConfig", "shape_trace", "TimeEmbedding", "sinusoidal_embedding",
    "count_parameters", "null_condition",
]

"""A small CNN that classifies 16x16 images: the "oracle" that judges generated images.

A diffusion model's samples cannot be checked against a formula, so we ask a network trained on
the real data what it sees (the idea behind the Inception score and FID, Salimans et al., 2016;
Heusel et al., 2017, with a small network trained on our own data set instead of Inception-v3):

    x (B, C, 16, 16) -> [Conv3x3 -> ReLU -> Conv3x3 -> ReLU -> MaxPool2]  x2  -> (B, 2w, 4, 4)
                     -> flatten -> Linear -> ReLU = features (B, feature_dim)   "what it sees"
                     -> Linear = logits (B, n_classes)                           "what it says"

:meth:`ImageClassifier.features` returns the penultimate activations, for the Frechet distance
(:func:`~diffusion_edu.metrics.oracle_frechet`); the logits give the class probabilities for
:func:`~diffusion_edu.metrics.oracle_scores`. It is trained with
:func:`~diffusion_edu.train.train_classifier`. It sees clean images only: classifier guidance
needs a classifier of noisy images x_t, which is another network.
"""
from __future__ import annotations

from torch import Tensor, nn

from .embedding import TimeEmbedding


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """Two 3x3 convolutions (same size) with ReLUs, then halve the height and width."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
    )


class ImageClassifier(nn.Module):
    """(B, in_channels, image_size, image_size) images in [-1, 1] -> (B, n_classes) logits.

    ``width`` is the number of channels of the first block (the second has 2 * width);
    ``image_size`` must be divisible by 4 (two halvings).
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, width: int = 16,
                 feature_dim: int = 64, image_size: int = 16):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be divisible by 4 (two 2x poolings), got {image_size}")
        if n_classes < 2:
            raise ValueError(f"a classifier needs n_classes >= 2, got {n_classes}")
        self.in_channels, self.image_size = in_channels, image_size
        self.n_classes, self.feature_dim = n_classes, feature_dim
        self.conv = nn.Sequential(conv_block(in_channels, width), conv_block(width, 2 * width))
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * (image_size // 4) ** 2, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, n_classes)

    def features(self, x: Tensor) -> Tensor:
        """The penultimate activations (B, feature_dim), the input of the last linear layer."""
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"ImageClassifier expects x of shape (B, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}")
        h = self.conv(x)  # (B, 2 * width, image_size / 4, image_size / 4)
        return self.embed(h)  # (B, feature_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))  # (B, n_classes)


class NoisyImageClassifier(ImageClassifier):
    """p(y | x_t, t): the classifier of classifier guidance (Dhariwal & Nichol, 2021).

    The same network as :class:`ImageClassifier`, told the timestep: a time embedding is added to
    the features (one learned shift per feature), so one set of weights classifies clean digits
    at t = 0 and faint shapes in heavy noise at t = 900. forward(x_t (B, C, H, W), t (B,))
    returns logits (B, n_classes). Trained by :func:`~diffusion_edu.train.train_classifier` with
    a ``schedule``, which noises every batch at random timesteps.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, width: int = 16,
                 feature_dim: int = 64, image_size: int = 16):
        super().__init__(in_channels, n_classes, width, feature_dim, image_size)
        self.time_embedding = TimeEmbedding(feature_dim, sinusoid_dim=32)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        if t.shape != (x.shape[0],):
            raise ValueError(f"t must have shape (B,) = ({x.shape[0]},), got {tuple(t.shape)}")
        h = self.features(x) + self.time_embedding(t)  # (B, feature_dim)
        return self.head(h)  # (B, n_classes)

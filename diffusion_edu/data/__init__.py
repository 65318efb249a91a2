"""Data sets the course generates itself: nothing is downloaded."""
from .pictures import landscape
from .toy2d import TOY_DATASETS, sample_toy

__all__ = ["TOY_DATASETS", "sample_toy", "landscape"]

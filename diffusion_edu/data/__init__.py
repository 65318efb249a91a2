"""Data sets the course generates itself: nothing is downloaded."""
from .pictures import test_card
from .toy2d import TOY_DATASETS, sample_toy

__all__ = ["TOY_DATASETS", "sample_toy", "test_card"]

"""Data sets the course generates or ships with its dependencies: nothing is downloaded."""
from .digits import load_digits16
from .pictures import landscape
from .shapes import VOCABULARY, ShapeLabels, ShapesData, make_shapes
from .toy2d import TOY_DATASETS, sample_toy

__all__ = [
    "TOY_DATASETS", "sample_toy", "landscape", "load_digits16",
    "make_shapes", "ShapesData", "ShapeLabels", "VOCABULARY",
]

"""Shapes with captions: procedural images for conditioning, guidance and text-to-image.

Every image is one coloured shape on a plain grey background, described by four attributes:

    shape     circle, square, triangle
    colour    red, orange, yellow, green, blue, purple
    size      small, big
    position  a 3x3 grid: top left, top middle, top right, middle left, middle, ...

and a caption that says exactly these four things: "a small red circle in the top left". There
are 3 * 6 * 2 * 9 = 324 combinations; an image is fully determined by its combination (hard
masks, no antialiasing, no jitter), so a caption is never ambiguous and a model's sample can be
checked attribute by attribute. The randomness is in which combinations are drawn, seeded by
``seed`` or ``generator``. At 16x16 a small shape is about 4 pixels across, so circle, square and
triangle differ by a few pixels only; at 32x32 they are plain to see.

Composition experiments hold combinations out: ``make_shapes(..., held_out=[("blue", "triangle")])``
never draws a blue triangle, though it draws blue things and triangles; ``from_held_out=True``
draws only the held-out combinations, to test whether a model can compose what it never saw.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor

SHAPES = ("circle", "square", "triangle")
COLOURS = {  # RGB in [0, 1]
    "red": (0.90, 0.10, 0.10),
    "orange": (1.00, 0.55, 0.00),
    "yellow": (0.95, 0.90, 0.10),
    "green": (0.10, 0.70, 0.20),
    "blue": (0.15, 0.30, 0.95),
    "purple": (0.60, 0.15, 0.75),
}
SIZES = ("small", "big")
ROWS, COLUMNS = ("top", "middle", "bottom"), ("left", "middle", "right")
POSITIONS = tuple(  # row-major: index = 3 * row + column; the centre is just "middle"
    "middle" if (r, c) == ("middle", "middle") else f"{r} {c}" for r in ROWS for c in COLUMNS
)
BACKGROUND = (0.5, 0.5, 0.5)  # grey: every colour stands out from it

ATTRIBUTES = {"shape": SHAPES, "colour": tuple(COLOURS), "size": SIZES, "position": POSITIONS}

# geometry, as fractions of the image side: centres of the grid cells (on pixel boundaries for
# sides divisible by 4, so every shape is symmetric) and half-sizes h of the shapes
_CENTRES = (0.25, 0.5, 0.75)
_HALF_SIZE = {"small": 0.12, "big": 0.21}


def caption(shape: str, colour: str, size: str, position: str) -> str:
    """The caption of one combination: caption("circle", "red", "small", "top left")
    == "a small red circle in the top left"."""
    return f"a {size} {colour} {shape} in the {position}"


VOCABULARY: tuple[str, ...] = tuple(  # every word a caption uses, in order of first appearance
    dict.fromkeys(
        word
        for combo in itertools.product(SHAPES, COLOURS, SIZES, POSITIONS)
        for word in caption(*combo).split()
    )
)


@dataclass
class ShapeLabels:
    """Integer attribute labels, each (N,) long: an index into SHAPES, COLOURS, SIZES, POSITIONS."""

    shape: Tensor
    colour: Tensor
    size: Tensor
    position: Tensor

    def __getitem__(self, index) -> ShapeLabels:
        return ShapeLabels(*(getattr(self, name)[index] for name in ATTRIBUTES))


@dataclass
class ShapesData:
    """A drawn data set: images (N, 3, S, S) in [-1, 1], their labels and their captions."""

    images: Tensor
    labels: ShapeLabels
    captions: list[str]

    def __len__(self) -> int:
        return len(self.captions)


def draw(shape: str, colour: str, size: str, position: str, image_size: int = 16) -> Tensor:
    """Draw one combination: (3, image_size, image_size) in [-1, 1].

    A pixel belongs to the shape when its centre does: the mask is hard (0 or 1), so every pixel
    is either the background or the shape's colour.
    """
    _check_image_size(image_size)
    for name, value in zip(ATTRIBUTES, (shape, colour, size, position)):
        if value not in ATTRIBUTES[name]:
            raise ValueError(f"unknown {name} {value!r}: expected one of {ATTRIBUTES[name]}")
    u = (torch.arange(image_size, dtype=torch.float32) + 0.5) / image_size  # pixel centres in (0, 1)
    y, x = torch.meshgrid(u, u, indexing="ij")  # (S, S) each
    row, column = divmod(POSITIONS.index(position), 3)
    dx, dy = x - _CENTRES[column], y - _CENTRES[row]  # (S, S) offsets from the shape's centre
    h = _HALF_SIZE[size]
    if shape == "circle":
        mask = dx**2 + dy**2 <= h**2
    elif shape == "square":  # half side 0.85 h: about the circle's area
        mask = (dx.abs() <= 0.85 * h) & (dy.abs() <= 0.85 * h)
    else:  # triangle pointing up: apex at dy = -1.2 h, base at dy = +h, base half-width 1.25 h
        mask = (dy >= -1.2 * h) & (dy <= h) & (dx.abs() <= 1.25 * (dy + 1.2 * h) / 2.2)
    background = torch.tensor(BACKGROUND)[:, None, None]  # (3, 1, 1)
    rgb = torch.tensor(COLOURS[colour])[:, None, None]  # (3, 1, 1)
    image = torch.where(mask, rgb, background)  # (3, S, S) in [0, 1]
    return image * 2 - 1


_COMBINATIONS = tuple(itertools.product(SHAPES, COLOURS, SIZES, POSITIONS))  # (shape, colour, size, position)
_COMBINATION_LABELS = torch.tensor(  # (324, 4): the same combinations as indices into ATTRIBUTES
    list(itertools.product(*(range(len(options)) for options in ATTRIBUTES.values())))
)


@lru_cache(maxsize=8)
def _all_images(image_size: int) -> Tensor:
    """Every combination drawn once: (324, 3, S, S), in the order of _COMBINATIONS."""
    return torch.stack([draw(*combo, image_size=image_size) for combo in _COMBINATIONS])


def _held_out_mask(held_out) -> Tensor:
    """(324,) bool: True for the combinations that match any of the ``held_out`` value tuples."""
    mask = torch.zeros(len(_COMBINATIONS), dtype=torch.bool)
    for values in held_out:
        if isinstance(values, str):
            values = (values,)
        wanted = {}  # attribute -> value
        for value in values:
            owners = [name for name, options in ATTRIBUTES.items() if value in options]
            if not owners:
                raise ValueError(
                    f"held_out names {value!r}, which is no shape, colour, size or position: "
                    f"expected words from {ATTRIBUTES}"
                )
            if owners[0] in wanted:
                raise ValueError(
                    f"held_out entry {tuple(values)} names two {owners[0]}s "
                    f"({wanted[owners[0]]!r} and {value!r}): no image has both"
                )
            wanted[owners[0]] = value
        keys = list(ATTRIBUTES)
        matches = [all(combo[keys.index(k)] == v for k, v in wanted.items()) for combo in _COMBINATIONS]
        mask |= torch.tensor(matches)
    return mask


def make_shapes(
    n: int,
    image_size: int = 16,
    held_out=(),
    from_held_out: bool = False,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> ShapesData:
    """Draw ``n`` images, uniformly over the allowed combinations of attributes.

    held_out: entries such as ("blue", "triangle"), ("small", "top left") or "purple"; an image
    matching every value of any entry is never drawn. With ``from_held_out=True`` only such
    images are drawn (the test set of a composition experiment). ``image_size`` is 16 or 32
    (any size >= 8 works). Deterministic for a given ``seed`` or ``generator`` state; with
    neither, draws from torch's global generator (as ``sample_toy`` does).
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    _check_image_size(image_size)
    if seed is not None and generator is not None:
        raise ValueError("pass seed or generator, not both")
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    held = _held_out_mask(held_out)
    allowed = torch.nonzero(held if from_held_out else ~held).squeeze(1)  # (K,) combination indices
    if len(allowed) == 0:
        raise ValueError(
            "no combination is left to draw from: "
            + ("held_out is empty" if from_held_out else f"held_out={held_out!r} removes them all")
        )
    combo = allowed[torch.randint(0, len(allowed), (n,), generator=generator)]  # (n,)
    images = _all_images(image_size)[combo]  # (n, 3, S, S), a copy
    labels = ShapeLabels(*_COMBINATION_LABELS[combo].T.contiguous())  # four (n,) index tensors
    return ShapesData(images, labels, [caption(*_COMBINATIONS[i]) for i in combo.tolist()])


@lru_cache(maxsize=8)
def _templates(image_size: int) -> tuple[Tensor, Tensor]:
    """The masks of every (shape, size, position) drawn once, (54, S*S) bool, and their labels (54, 3)."""
    keys = list(itertools.product(range(len(SHAPES)), range(len(SIZES)), range(len(POSITIONS))))
    masks = [draw(SHAPES[a], "red", SIZES[b], POSITIONS[c], image_size)[0] > 0 for a, b, c in keys]
    return torch.stack(masks).flatten(1), torch.tensor(keys)  # red's channel 0 is 0.9: shape pixels > 0


def read_attributes(images: Tensor, tolerance: float = 0.2) -> ShapeLabels:
    """Read shape, colour, size and position back from images (N, 3, S, S) in [-1, 1], by rule.

    The judge of the text-to-image chapter, with nothing learned in it:

    1. the *foreground* is every pixel whose colour differs from the grey background by more than
       ``tolerance`` (in [0, 1] units) in some channel;
    2. shape, size and position: the drawn mask (of 3 x 2 x 9 = 54) with the largest overlap
       (intersection over union) with the foreground;
    3. colour: the palette colour nearest to the foreground's mean colour.

    A drawn image is read back exactly (a test checks all 324). An image with no foreground gets
    -1 for every attribute, which matches no caption.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"read_attributes expects RGB images (N, 3, S, S), got {tuple(images.shape)}")
    rgb = (images.float().cpu() + 1) / 2  # (N, 3, S, S) in [0, 1]
    background = torch.tensor(BACKGROUND)[:, None, None]
    foreground = ((rgb - background).abs() > tolerance).any(dim=1).flatten(1)  # (N, S*S) bool
    masks, keys = _templates(images.shape[-1])  # (54, S*S), (54, 3)
    inter = foreground.float() @ masks.float().T  # (N, 54)
    union = foreground.sum(1, keepdim=True) + masks.sum(1) - inter  # (N, 54)
    best = (inter / union.clamp(min=1)).argmax(1)  # (N,)
    area = foreground.sum(1).clamp(min=1)  # (N,)
    mean_rgb = (rgb.flatten(2) * foreground[:, None]).sum(2) / area[:, None]  # (N, 3)
    palette = torch.tensor(list(COLOURS.values()))  # (6, 3)
    colour = torch.cdist(mean_rgb, palette).argmin(1)  # (N,)
    empty = foreground.sum(1) == 0  # (N,)
    shape, size, position = (torch.where(empty, -1, keys[best, k]) for k in range(3))
    return ShapeLabels(shape, torch.where(empty, -1, colour), size, position)


def attribute_accuracy(images: Tensor, requested: ShapeLabels) -> dict[str, float]:
    """How often the images show what was requested: the fraction right for each attribute, for
    colour and shape together (the composition test) and for all four."""
    read = read_attributes(images)
    right = {name: getattr(read, name) == getattr(requested, name).cpu() for name in ATTRIBUTES}  # (N,) bools
    return {
        **{name: r.float().mean().item() for name, r in right.items()},
        "colour_and_shape": (right["colour"] & right["shape"]).float().mean().item(),
        "all": torch.stack(list(right.values())).all(0).float().mean().item(),
    }


def _check_image_size(image_size) -> None:
    if not isinstance(image_size, int) or image_size < 8:
        raise ValueError(f"image_size must be an int >= 8 (16 and 32 are the course's), got {image_size!r}")


__all__ = [
    "SHAPES", "COLOURS", "SIZES", "POSITIONS", "ATTRIBUTES", "VOCABULARY", "BACKGROUND",
    "ShapeLabels", "ShapesData", "caption", "draw", "make_shapes", "read_attributes", "attribute_accuracy",
]

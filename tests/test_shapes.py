"""data/shapes.py: procedural shapes with attribute labels and captions."""
from __future__ import annotations

import pytest
import torch

from conftest import max_abs_error
from diffusion_edu.data import VOCABULARY, make_shapes
from diffusion_edu.data.shapes import ATTRIBUTES, BACKGROUND, COLOURS, SHAPES, caption, draw


@pytest.mark.parametrize("image_size", [16, 32])
def test_shapes_are_rgb_images_in_minus_one_one(image_size):
    data = make_shapes(50, image_size, seed=0)
    assert data.images.shape == (50, 3, image_size, image_size) and data.images.dtype == torch.float32
    assert data.images.min() >= -1 and data.images.max() <= 1
    assert len(data) == 50 and len(data.captions) == 50
    for name in ATTRIBUTES:
        assert getattr(data.labels, name).shape == (50,) and getattr(data.labels, name).dtype == torch.long


def test_shapes_are_reproduced_by_their_seed():
    a, b = make_shapes(64, 16, seed=3), make_shapes(64, 16, seed=3)
    assert max_abs_error(a.images, b.images) == 0 and a.captions == b.captions
    assert a.captions != make_shapes(64, 16, seed=4).captions
    by_generator = make_shapes(64, 16, generator=torch.Generator().manual_seed(3))
    assert by_generator.captions == a.captions


def test_caption_states_the_labels():
    data = make_shapes(200, 16, seed=1)
    for i, text in enumerate(data.captions):
        names = {k: options[getattr(data.labels, k)[i]] for k, options in ATTRIBUTES.items()}
        assert text == f"a {names['size']} {names['colour']} {names['shape']} in the {names['position']}"
    assert caption("circle", "red", "small", "top left") == "a small red circle in the top left"


def test_image_shows_its_colour_and_only_its_colour_on_the_background():
    data = make_shapes(100, 16, seed=2)
    background = torch.tensor(BACKGROUND) * 2 - 1
    for image, colour in zip(data.images, data.labels.colour):
        rgb = torch.tensor(list(COLOURS.values())[colour]) * 2 - 1
        pixels = image.flatten(1).T  # (S*S, 3)
        is_shape = (pixels - rgb).abs().max(1).values < 1e-6
        is_background = (pixels - background).abs().max(1).values < 1e-6
        assert (is_shape | is_background).all()  # hard masks: no third colour anywhere
        assert 5 <= is_shape.sum() <= 100


def test_position_and_size_are_where_the_caption_says():
    big = draw("square", "red", "big", "top left", 32)
    small = draw("square", "red", "small", "bottom right", 32)
    def mask(img):
        return (img - img[:, :1, :1]).abs().amax(0) > 0  # (S, S) pixels unlike the corner
    rows, cols = mask(big).nonzero().float().mean(0)
    assert rows < 12 and cols < 12
    rows, cols = mask(small).nonzero().float().mean(0)
    assert rows > 20 and cols > 20
    assert mask(big).sum() > 2 * mask(small).sum()


def test_the_three_shapes_look_different():
    images = [draw(shape, "blue", "small", "middle", 16) for shape in SHAPES]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert max_abs_error(images[i], images[j]) > 0


def test_held_out_combinations_are_never_drawn():
    held_out = [("blue", "triangle"), ("small", "top left")]
    data = make_shapes(2000, 16, held_out=held_out, seed=0)
    assert not any("blue triangle" in c for c in data.captions)
    assert not any(c.startswith("a small") and c.endswith("top left") for c in data.captions)
    assert any("blue" in c for c in data.captions) and any("triangle" in c for c in data.captions)


def test_from_held_out_draws_only_the_held_out_combinations():
    data = make_shapes(300, 16, held_out=[("blue", "triangle")], from_held_out=True, seed=0)
    assert all("blue triangle" in c for c in data.captions)
    assert len(set(data.captions)) == 2 * 9  # every size and position of the blue triangle


def test_held_out_rejects_unknown_words_and_impossible_combinations():
    with pytest.raises(ValueError, match="'pink', which is no shape, colour, size or position"):
        make_shapes(4, held_out=[("pink", "circle")])
    with pytest.raises(ValueError, match="names two colours"):
        make_shapes(4, held_out=[("red", "blue")])
    with pytest.raises(ValueError, match="no combination is left"):
        make_shapes(4, held_out=["small", "big"])


def test_vocabulary_covers_every_caption_word_and_nothing_else():
    words = {w for shape in SHAPES for colour in COLOURS for size in ATTRIBUTES["size"]
             for position in ATTRIBUTES["position"] for w in caption(shape, colour, size, position).split()}
    assert set(VOCABULARY) == words
    assert len(VOCABULARY) == len(set(VOCABULARY))
    assert all(w in VOCABULARY for c in make_shapes(100, seed=0).captions for w in c.split())


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        make_shapes(0)
    with pytest.raises(ValueError, match="image_size must be an int >= 8"):
        make_shapes(4, image_size=4)
    with pytest.raises(ValueError, match="unknown shape 'star'"):
        draw("star", "red", "big", "middle")


def test_the_same_seed_draws_the_same_combinations_at_every_size():
    small, large = make_shapes(40, 16, seed=9), make_shapes(40, 32, seed=9)
    assert small.captions == large.captions
    assert torch.equal(small.labels.shape, large.labels.shape)


def test_labels_can_be_indexed_like_the_images():
    data = make_shapes(10, seed=0)
    subset = data.labels[2:5]
    assert torch.equal(subset.colour, data.labels.colour[2:5]) and subset.position.shape == (3,)


# ------------------------------------------------------------------ reading the attributes back
@pytest.mark.parametrize("image_size", [16, 32])
def test_every_drawn_combination_is_read_back_exactly(image_size):
    from diffusion_edu.data.shapes import _COMBINATIONS, read_attributes

    images = torch.stack([draw(*combo, image_size=image_size) for combo in _COMBINATIONS])  # (324, 3, S, S)
    read = read_attributes(images)
    for k, name in enumerate(ATTRIBUTES):
        expected = torch.tensor([ATTRIBUTES[name].index(combo[k]) for combo in _COMBINATIONS])
        assert torch.equal(getattr(read, name), expected), f"{name} misread"


def test_reading_survives_mild_noise_and_catches_wrong_images():
    from diffusion_edu.data.shapes import attribute_accuracy

    data = make_shapes(300, 16, seed=5)
    noise = 0.1 * torch.randn(data.images.shape, generator=torch.Generator().manual_seed(0))
    assert attribute_accuracy((data.images + noise).clamp(-1, 1), data.labels)["all"] == 1.0
    other = make_shapes(300, 16, seed=6)  # other images for the same requests: mostly wrong
    scores = attribute_accuracy(other.images, data.labels)
    assert abs(scores["colour"] - 1 / 6) < 0.08 and abs(scores["shape"] - 1 / 3) < 0.1
    assert scores["colour_and_shape"] < 0.15 and scores["all"] < 0.02


def test_a_blank_image_matches_no_caption():
    from diffusion_edu.data.shapes import attribute_accuracy, read_attributes

    blank = torch.full((4, 3, 16, 16), 0.0)  # the grey background: 0.5 in [0, 1] is 0 in [-1, 1]
    assert (read_attributes(blank).colour == -1).all()
    assert attribute_accuracy(blank, make_shapes(4, 16, seed=0).labels)["all"] == 0.0
    with pytest.raises(ValueError, match=r"RGB images \(N, 3, S, S\)"):
        read_attributes(torch.zeros(4, 1, 16, 16))

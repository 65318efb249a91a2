"""viz: the parts of figures that readers of the built book rely on."""
import re

import torch

from diffusion_edu import viz


def test_animation_html_carries_alt_text():
    """The animation's image gets alt text (a screen reader's description), by default made from
    the arguments; the built book's browser test fails on an animation without one."""
    xs = torch.randn(11, 20, 2)  # (S+1, B, 2)
    ts = list(range(9, -1, -1))
    html = viz.animate_trajectory(xs, ts, n_frames=3).to_jshtml()
    (img,) = re.findall(r'<img[^>]*id="_anim_img[^>]*>', html)
    assert 'alt="Animation in 3 frames of 20 points along the reverse process' in img

    html = viz.animate_trajectory(xs, ts, n_frames=3, alt='Noise <folds> into "data"').to_jshtml()
    assert 'alt="Noise &lt;folds&gt; into &quot;data&quot;"' in html


def test_image_grid_keeps_a_long_row_of_images_within_the_page():
    """A one-row mosaic of many images (chapter 4's samples over training) must not become a
    figure wider than a page: at most about 9 inches."""
    fig = viz.image_grid({f"row {i}": torch.zeros(12, 1, 16, 16) for i in range(5)}, ncols=12, panels_per_row=1)
    width, height = fig.get_size_inches()
    assert width <= 9.5 and height < 9, (width, height)
    square = viz.image_grid(torch.zeros(64, 1, 16, 16))
    assert 2 < square.get_size_inches()[0] < 4, "a square mosaic stays about 2.6 inches"


def test_quality_over_training_draws_both_metrics_and_the_reference_lines():
    floor, noise = {"frechet": 40.0, "confident": 0.99}, {"frechet": 2000.0, "confident": 0.7}
    fig = viz.plot_quality_over_training([10, 100, 1000], [900.0, 120.0, 45.0], [0.3, 0.8, 0.95], floor, noise)
    left, right = fig.axes
    assert left.get_yscale() == "log"
    assert list(left.lines[0].get_ydata()) == [900.0, 120.0, 45.0]
    assert list(right.lines[0].get_ydata()) == [0.3, 0.8, 0.95]
    assert {line.get_ydata()[0] for line in left.lines[1:]} == {40.0, 2000.0}


def test_class_fractions_has_one_bar_per_class_and_set():
    fig = viz.plot_class_fractions({"real": torch.full((10,), 0.1), "generated": torch.linspace(0, 0.2, 10)})
    (ax,) = fig.axes
    assert len(ax.patches) == 20

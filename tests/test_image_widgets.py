"""The image-trajectory widget and its static twin: each frame shows the images of the step it
names, labelled with that step's true timestep."""
import numpy as np
import pytest
import torch

from diffusion_edu import viz, widgets


def _trajectory(S=25, B=3):
    g = torch.Generator().manual_seed(0)
    xs = torch.rand(S + 1, B, 1, 4, 4, generator=g) * 2 - 1  # (S+1, B, C, H, W)
    x0s = torch.rand(S, B, 1, 4, 4, generator=g) * 2 - 1  # (S, B, C, H, W)
    ts = [40 * k for k in range(S)][::-1]  # t visited: 960, 920, ..., 0
    return xs, x0s, ts


def test_image_trajectory_scrubber_labels_each_position_with_the_true_t_and_shows_its_images():
    xs, x0s, ts = _trajectory()
    w = widgets.image_trajectory_scrubber(xs, x0s, ts, every=10, index=2)
    slider = w.children[0]
    assert slider.max == 3, "positions 0, 10, 20 and the final sample 25"
    for position, k in enumerate([0, 10, 20, 25]):
        view = w.f(position)
        ax_xt, ax_x0 = view.figure.axes
        assert ax_xt.get_title() in view.alt
        assert ax_xt.get_title() == (f"t={ts[k]}" if k < len(ts) else "final sample")
        np.testing.assert_allclose(ax_xt.images[0].get_array(), viz.to_rgb(xs[k][2]))
        if k < len(ts):
            np.testing.assert_allclose(ax_x0.images[0].get_array(), viz.to_rgb(x0s[k][2]))
        else:
            assert not ax_x0.images, "after the last step there is no estimate to show"


def test_image_trajectory_scrubber_rejects_a_non_positive_stride():
    xs, x0s, ts = _trajectory()
    with pytest.raises(ValueError, match="every"):
        widgets.image_trajectory_scrubber(xs, x0s, ts, every=0)


def test_image_trajectory_strip_titles_its_columns_with_their_timesteps():
    xs, x0s, ts = _trajectory()
    fig = viz.image_trajectory(xs, x0s, ts, n_frames=6)
    frames = np.unique(np.linspace(0, len(ts), 6).round().astype(int))
    titles = [ax.get_title() for ax in fig.axes[: 2 * len(frames) : 1] if ax.get_title()]
    assert titles == [f"t={ts[k]}" for k in frames[:-1]] + ["final sample"]
    assert frames[0] == 0 and frames[-1] == len(ts), "from the starting noise to the sample"


def test_image_trajectory_rejects_mismatched_lengths():
    xs, x0s, ts = _trajectory()
    with pytest.raises(ValueError, match="S\\+1"):
        viz.image_trajectory(xs[:-1], x0s, ts)


def test_image_grid_draws_one_mosaic_per_panel_with_every_image():
    images = torch.linspace(-1, 1, 10).reshape(10, 1, 1, 1).expand(10, 1, 3, 2)  # image i is constant
    fig = viz.image_grid({"a": images, "b": images[:4]}, ncols=4)
    (a,), (b,) = (ax.images for ax in fig.axes)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    mosaic = a.get_array()
    assert mosaic.shape == (3 * 3 + 2, 4 * 2 + 3), "3 rows of 4 images, 1-pixel gaps"
    assert mosaic[4, 3] == pytest.approx(viz.to_rgb(images[5])[0, 0]), "row 1, column 1 holds image 5"
    assert b.get_array().shape == (3, 4 * 2 + 3)

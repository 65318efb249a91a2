"""Widgets wire sliders to viz functions; what they show must match the slider's position."""
import torch

from diffusion_edu import widgets


def test_trajectory_scrubber_labels_each_position_with_the_step_it_shows():
    xs = torch.randn(26, 5, 2)  # 25 steps
    ts = list(range(24, -1, -1))  # t visited: 24, 23, ..., 0
    w = widgets.trajectory_scrubber(xs, ts, every=10)
    slider = w.children[0]
    assert slider.max == 3, "positions 0, 10, 20 and the final sample 25"
    titles = [w.f(p).axes[0].get_title() for p in range(slider.max + 1)]
    assert titles == ["start: pure noise", f"after step t={ts[9]}", f"after step t={ts[19]}", "after step t=0"]

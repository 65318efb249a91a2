"""Widgets wire sliders to viz functions; what they show must match the slider's position."""
import ipywidgets
import torch

from diffusion_edu import viz, widgets
from diffusion_edu.schedules import make_schedule


def test_trajectory_scrubber_labels_each_position_with_the_step_it_shows():
    xs = torch.randn(26, 5, 2)  # 25 steps
    ts = list(range(24, -1, -1))  # t visited: 24, 23, ..., 0
    w = widgets.trajectory_scrubber(xs, ts, every=10)
    slider = w.children[0]
    assert slider.max == 3, "positions 0, 10, 20 and the final sample 25"
    views = [w.f(p) for p in range(slider.max + 1)]
    titles = [view.figure.axes[0].get_title() for view in views]
    assert titles == ["start: pure noise", f"after step t={ts[9]}", f"after step t={ts[19]}", "after step t=0"]
    assert "after 10 of 25 steps (t = 15)" in views[1].alt


def test_every_widget_view_is_displayed_as_an_image_with_alt_text():
    """ipywidgets' interactive does not display what its function returns unless asked to: the
    widget showed its controls and no image, in a live kernel and in the built book."""
    image = torch.zeros(1, 8, 8)
    w = widgets.noising_explorer(image, [make_schedule("cosine", 100), make_schedule("linear", 100)])
    (output,) = [child for child in w.children if isinstance(child, ipywidgets.Output)]
    assert w.auto_display
    html = w.result._repr_html_()
    assert html.startswith('<img alt="The image noised to t = 25 under the cosine schedule (alpha_bar = ')
    assert 'src="data:image/png;base64,' in html


def test_a_described_figure_escapes_its_alt_text():
    fig = viz.new_figure((1, 1))
    html = viz.DescribedFigure(fig, 'a "quoted" <caption>')._repr_html_()
    assert html.startswith('<img alt="a &quot;quoted&quot; &lt;caption&gt;" src="data:image/png;base64,')

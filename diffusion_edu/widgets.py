"""Interactive versions of figures: sliders wired to the same functions :mod:`viz` uses.

Each widget needs a live kernel (Jupyter, Colab). The built book keeps only a snapshot, so every
chapter also shows the static figure the widget is built from.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as W
from torch import Tensor

from . import viz
from .schedules import Schedule


def noising_explorer(image: Tensor, schedules: Sequence[Schedule]) -> W.Widget:
    """A slider over t and a schedule picker, showing x_t and its pixel histogram."""
    by_name = {s.name: s for s in schedules}
    T = schedules[0].T
    return W.interactive(
        lambda schedule, t: viz.noised_image_panel(image, by_name[schedule], t),
        schedule=W.Dropdown(options=list(by_name), description="schedule"),
        t=W.IntSlider(value=T // 4, min=0, max=T - 1, step=max(1, T // 100), description="t",
                      continuous_update=False),
    )


def trajectory_scrubber(xs: Tensor, ts: Sequence[int], lim: float = 3.0, data: Tensor | None = None) -> W.Widget:
    """A slider over the steps of a 2D reverse trajectory (xs: (S+1, B, 2))."""
    def show(step: int):
        fig = viz.new_figure((4.2, 4.2))
        title = "start: pure noise" if step == 0 else f"after step t={ts[step - 1]}"
        viz.trajectory_frame(fig.subplots(), xs[step], title, lim, data)
        return fig

    return W.interactive(
        show, step=W.IntSlider(value=0, min=0, max=len(xs) - 1, description="step", continuous_update=False)
    )

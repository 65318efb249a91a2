"""Interactive versions of figures: sliders wired to the same functions :mod:`viz` uses.

Each widget needs a live kernel (Jupyter, Colab) to respond; the built book keeps a snapshot of
its first view, and every chapter also shows the static figure the widget is built from. Every
view is displayed as a :class:`viz.DescribedFigure`, an image with alt text saying what it shows.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as W
from torch import Tensor

from . import viz
from .schedules import Schedule


def _interactive(show, **controls) -> W.Widget:
    """ipywidgets' ``interactive`` that displays what ``show`` returns (by default it does not):
    the first view at once, and a new one whenever a control changes."""
    return W.interactive(show, {"auto_display": True}, **controls)


def noising_explorer(image: Tensor, schedules: Sequence[Schedule]) -> W.Widget:
    """A slider over t and a schedule picker, showing x_t and its pixel histogram."""
    by_name = {s.name: s for s in schedules}
    T = schedules[0].T

    def show(schedule: str, t: int) -> viz.DescribedFigure:
        ab = by_name[schedule].alpha_bar[t].item()
        return viz.DescribedFigure(viz.noised_image_panel(image, by_name[schedule], t),
                                   f"The image noised to t = {t} under the {schedule} schedule (alpha_bar = "
                                   f"{ab:.3f}), and the histogram of its pixel values against N(0, 1)")

    return _interactive(
        show,
        schedule=W.Dropdown(options=list(by_name), description="schedule"),
        t=W.IntSlider(value=T // 4, min=0, max=T - 1, step=max(1, T // 100), description="t",
                      continuous_update=False),
    )


def _frames(n_states: int, every: int) -> list[int]:
    """Indices 0, every, 2 every, ... into a trajectory of n_states states, always ending on the
    last one (the final sample)."""
    if every < 1:
        raise ValueError(f"every must be a positive int, got {every}")
    frames = list(range(0, n_states, every))
    if frames[-1] != n_states - 1:
        frames.append(n_states - 1)  # always end on the sample
    return frames


def _frame_slider(show, frames: list[int]) -> W.Widget:
    """A "step" slider over positions 0 .. len(frames) - 1, redrawn by ``show(position)``."""
    return _interactive(
        show,
        position=W.IntSlider(value=0, min=0, max=len(frames) - 1, description="step", continuous_update=False),
    )


def trajectory_scrubber(
    xs: Tensor, ts: Sequence[int], every: int = 1, lim: float = 3.0, data: Tensor | None = None
) -> W.Widget:
    """A slider over the steps of a 2D reverse trajectory (xs: (S+1, B, 2), ts: (S,)), moving
    ``every`` steps at a time; the last position is always the final sample."""
    frames = _frames(len(xs), every)

    def show(position: int) -> viz.DescribedFigure:
        k = frames[position]  # index into xs: x[k] is the state after k steps
        fig = viz.new_figure((4.2, 4.2))
        title = "start: pure noise" if k == 0 else f"after step t={ts[k - 1]}"
        viz.trajectory_frame(fig.subplots(), xs[k], title, lim, data)
        where = "at the start, pure noise" if k == 0 else f"after {k} of {len(ts)} steps (t = {ts[k - 1]})"
        return viz.DescribedFigure(fig, f"Scatter plot of {xs.shape[1]} points of the reverse process {where}"
                                   + (", over the data in grey" if data is not None else ""))

    return _frame_slider(show, frames)


def image_trajectory_scrubber(
    xs: Tensor, x0s: Tensor, ts: Sequence[int], every: int = 1, index: int = 0
) -> W.Widget:
    """A slider over the frames of an image trajectory (xs: (S+1, B, C, H, W), x0s: (S, B, C, H, W),
    ts: (S,), as in :class:`~diffusion_edu.samplers.Trajectory`), showing x_t and the estimate
    x0_hat of image ``index`` side by side, titled with the true t of the frame; it moves
    ``every`` steps at a time and its last position is always the final sample. Frames are
    drawn by :func:`viz.image_trajectory_frame`, as in the static :func:`viz.image_trajectory`."""
    frames = _frames(len(xs), every)

    def show(position: int) -> viz.DescribedFigure:
        fig = viz.new_figure((4.6, 2.6))
        ax_xt, ax_x0 = fig.subplots(1, 2)
        k = frames[position]
        title = viz.image_trajectory_frame(ax_xt, ax_x0, xs, x0s, ts, k, index)
        ax_xt.set_title(title)
        if k < len(ts):
            ax_xt.set_xlabel("$x_t$")
            ax_x0.set_xlabel(r"the model's estimate $\hat x_0$")
        return viz.DescribedFigure(fig, f"Sample {index} of the reverse process, {title}: left the current "
                                   "image x_t, right the model's estimate of the clean image x_0")

    return _frame_slider(show, frames)


def guidance_explorer(sample, max_scale: float, classes: Sequence[int], step: float = 0.5) -> W.Widget:
    """A guidance-scale slider (0 to ``max_scale``) and a class picker; each change calls
    ``sample(w, label)`` (a function of the notebook that returns images (N, C, H, W), from the
    same starting noise every time) and shows them in one row with :func:`viz.image_grid`."""
    if max_scale <= 0:
        raise ValueError(f"max_scale must be positive, got {max_scale}")

    def show(w: float, label: int) -> viz.DescribedFigure:
        images = sample(w, label)
        return viz.DescribedFigure(viz.image_grid({f"class {label}, w = {w:g}": images}, ncols=len(images)),
                                   f"{len(images)} images generated for class {label} at guidance scale w = {w:g}")

    return _interactive(
        show,
        w=W.FloatSlider(value=min(1.0, max_scale), min=0.0, max=max_scale, step=step, description="w",
                        continuous_update=False),
        label=W.Dropdown(options=list(classes), value=next(iter(classes)), description="class"),
    )


def prompt_box(model, schedule: Schedule, n: int = 4, steps: int = 20,
               caption: str = "a small blue triangle in the top left", w: float = 3.0) -> W.Widget:
    """A caption box (starting with ``caption``), a guidance-scale slider and a seed: *Generate*
    samples ``n`` images of the caption from ``model`` (a TextToImage) with DDIM and
    classifier-free guidance, and shows them."""
    from IPython.display import display

    from .evaluate import generate
    from .guidance import ClassifierFreeGuidance

    text = W.Text(value=caption, description="caption", continuous_update=False,
                  layout=W.Layout(width="32em"))
    scale = W.FloatSlider(value=w, min=0.0, max=20.0, step=0.5, description="w", continuous_update=False)
    seed = W.IntText(value=0, description="seed", layout=W.Layout(width="12em"))
    button = W.Button(description="Generate", button_style="primary")
    out = W.Output()

    def show(_=None):
        with out:
            out.clear_output(wait=True)
            try:
                tokens = model.tokenizer.encode([text.value] * n)
            except ValueError as error:  # a word the tokenizer does not know: say which
                print(error)
                return
            device = next(model.parameters()).device
            images = generate(ClassifierFreeGuidance(model, scale.value), schedule, n, "ddim", steps,
                              seed=seed.value, y=tokens.to(device))
            display(viz.DescribedFigure(viz.captioned_images(images, [text.value] * n, ncols=n),
                                        f"{n} images generated for the caption '{text.value}' at guidance "
                                        f"scale w = {scale.value:g}, seed {seed.value}"))

    button.on_click(show)
    text.observe(show, names="value")  # Enter (or leaving the box) generates too
    show()
    return W.VBox([text, W.HBox([scale, seed, button]), out])


# --- chapter 8: sound -----------------------------------------------------------------------
def note_explorer(
    make_note, pitches: Sequence[int], instruments: Sequence[str], max_scale: float, sr: int, hop: int,
    step: float = 0.5,
) -> W.Widget:
    """A pitch picker (MIDI numbers, shown with note names), an instrument picker and a guidance
    scale slider; each change calls ``make_note(pitch, instrument, w)`` (a function of the notebook
    that returns a generated log-mel image (1, n_mels, N) and its waveform (T,)) and shows the
    image with :func:`viz.plot_mel_images` and an audio player."""
    from IPython.display import Audio, display

    if max_scale <= 0:
        raise ValueError(f"max_scale must be positive, got {max_scale}")

    def show(pitch: int, instrument: str, w: float):
        image, waveform = make_note(pitch, instrument, w)
        name = f"{viz.note_name(pitch)} (MIDI {pitch}), {instrument}"
        display(viz.DescribedFigure(viz.plot_mel_images({f"{name}, w = {w:g}": image}, sr, hop),
                                    f"Log-mel spectrogram of the generated note {name}, at guidance scale "
                                    f"w = {w:g}"))
        display(Audio(waveform.detach().cpu().numpy(), rate=sr))

    pitches = list(pitches)
    return W.interactive(
        show,
        pitch=W.Dropdown(options=[(f"{viz.note_name(m)} (MIDI {m})", m) for m in pitches],
                         value=pitches[len(pitches) // 2], description="pitch"),
        instrument=W.Dropdown(options=list(instruments), value=instruments[0], description="instrument"),
        w=W.FloatSlider(value=min(2.0, max_scale), min=0.0, max=max_scale, step=step, description="w",
                        continuous_update=False),
    )

"""Figures for the book. Every function returns the matplotlib Figure (or animation) it made.

Each figure is made by pyplot and closed at once (:func:`new_figure`), so a notebook shows it
exactly once, when a cell returns it, and nothing leaks between cells. Colours come from the
Okabe-Ito palette, which stays distinguishable under the common forms of colour blindness.
``viz`` reads results and draws them; it never trains or samples.
"""
from __future__ import annotations

from html import escape
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure
from torch import Tensor

from .forward import q_sample
from .schedules import Schedule

# Okabe & Ito (2008): black, orange, sky blue, bluish green, yellow, blue, vermillion, purple
PALETTE = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
COLORS = PALETTE[1:] + PALETTE[:1]  # start with orange: black is for data


def new_figure(figsize: tuple[float, float], dpi: float | None = None) -> Figure:
    """A new figure that pyplot does not keep open: it shows only where a cell returns it."""
    fig = plt.figure(figsize=figsize, dpi=dpi, layout="constrained")
    plt.close(fig)
    return fig


def to_rgb(img: Tensor) -> np.ndarray:
    """(3, H, W) or (1, H, W) or (H, W) tensor in [-1, 1] -> (H, W, 3) or (H, W) array in [0, 1]."""
    img = img.detach().float().cpu()
    if img.ndim == 3:
        img = img.permute(1, 2, 0)
        if img.shape[2] == 1:
            img = img[:, :, 0]
    return ((img.clamp(-1, 1) + 1) / 2).numpy()


# ------------------------------------------------------------------------------ chapter 1
def plot_schedules(schedules: Sequence[Schedule]) -> Figure:
    """Three panels against t: beta_t, alpha_bar_t, and log-SNR(t), one line per schedule."""
    fig = new_figure((12, 3.4))
    axes = fig.subplots(1, 3)
    for color, s in zip(COLORS, schedules):
        t = np.arange(s.T)
        axes[0].plot(t, s.beta.numpy(), color=color, label=s.name)
        axes[1].plot(t, s.alpha_bar.numpy(), color=color, label=s.name)
        axes[2].plot(t, s.log_snr.numpy(), color=color, label=s.name)
    axes[0].set(title=r"noise added per step $\beta_t$", yscale="log", ylabel=r"$\beta_t$")
    axes[1].set(title=r"signal variance left $\bar\alpha_t$", ylabel=r"$\bar\alpha_t$")
    axes[2].set(title=r"log signal-to-noise ratio $\lambda_t$", ylabel=r"$\log(\bar\alpha_t / (1-\bar\alpha_t))$")
    for ax in axes:
        ax.set_xlabel("timestep t")
        ax.grid(alpha=0.3)
    axes[1].legend()
    return fig


def noising_strip(
    image: Tensor, schedules: Sequence[Schedule], timesteps: Sequence[int], seed: int = 0
) -> Figure:
    """A grid of x_t for one image: one row per schedule, one column per t, the same noise eps.

    This is the static version of the noising widget.
    """
    eps = torch.randn(image.shape, generator=torch.Generator().manual_seed(seed))
    fig = new_figure((1.6 * len(timesteps), 1.8 * len(schedules)))
    axes = np.atleast_2d(fig.subplots(len(schedules), len(timesteps)))
    for row, s in zip(axes, schedules):
        for ax, t in zip(row, timesteps):
            xt, _ = q_sample(image[None], t, s, eps=eps[None])
            ax.imshow(to_rgb(xt[0]), interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"t={t}  " + r"$\bar\alpha$" + f"={s.alpha_bar[t]:.2f}", fontsize=8)
        row[0].set_ylabel(s.name)
    return fig


def noised_image_panel(image: Tensor, schedule: Schedule, t: int, seed: int = 0) -> Figure:
    """x_t for one t (left) and the histogram of its pixel values against N(0, 1) (right)."""
    eps = torch.randn(image.shape, generator=torch.Generator().manual_seed(seed))
    xt, _ = q_sample(image[None], t, schedule, eps=eps[None])
    fig = new_figure((8, 3.4))
    ax_img, ax_hist = fig.subplots(1, 2, width_ratios=[1, 1.4])
    ax_img.imshow(to_rgb(xt[0]), interpolation="nearest")
    ax_img.set(xticks=[], yticks=[], title=f"{schedule.name} schedule, t={t}")
    grid = np.linspace(-4, 4, 200)
    ax_hist.hist(xt.flatten().numpy(), bins=60, range=(-4, 4), density=True, color=COLORS[2], label="pixels of $x_t$")
    ax_hist.plot(grid, np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), color=PALETTE[0], label="N(0, 1)")
    ab = schedule.alpha_bar[t].item()
    ax_hist.set(xlabel="pixel value", ylabel="density",
                title=rf"$\bar\alpha_t$={ab:.3f}: signal scaled by {ab**0.5:.2f}, noise std {(1 - ab)**0.5:.2f}")
    ax_hist.legend(loc="upper right")
    return fig


# ------------------------------------------------------------------------------ chapter 2
def plot_points(clouds: dict[str, Tensor], lim: float = 3.0, size: float = 3.0) -> Figure:
    """Scatter plots of 2D point clouds side by side, one panel per entry of ``clouds``."""
    fig = new_figure((3.2 * len(clouds), 3.3))
    axes = np.atleast_1d(fig.subplots(1, len(clouds)))
    for i, (ax, (title, pts)) in enumerate(zip(axes, clouds.items())):
        pts = pts.detach().cpu()
        ax.scatter(pts[:, 0], pts[:, 1], s=size, alpha=0.5, color=PALETTE[0] if i == 0 else PALETTE[5], linewidths=0)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=title, xlabel="$x_1$", ylabel="$x_2$")
    return fig


def plot_loss(losses: Sequence[float], window: int = 100) -> Figure:
    """Training loss per step (faint) and its moving average over ``window`` steps."""
    losses = np.asarray(losses)
    fig = new_figure((7, 3.2))
    ax = fig.subplots()
    ax.plot(losses, color=COLORS[2], alpha=0.35, lw=0.8, label="per step")
    if len(losses) >= window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window - 1, len(losses)), smooth, color=COLORS[0], label=f"mean of {window} steps")
    ax.set(xlabel="training step", ylabel="loss (mean squared error)", yscale="log", title="Training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_t_bucket_loss(bucket_loss: Tensor, edges: Tensor) -> Figure:
    """Bar chart of the loss per range of timesteps (from :class:`~diffusion_edu.train.TrainResult`)."""
    fig = new_figure((7, 3.2))
    ax = fig.subplots()
    labels = [f"{a}-{b - 1}" for a, b in zip(edges[:-1].tolist(), edges[1:].tolist())]
    ax.bar(labels, bucket_loss.numpy(), color=COLORS[4])
    ax.set(xlabel="timestep range", ylabel="mean loss", yscale="log", title="Loss per timestep range (end of training)")
    ax.tick_params(axis="x", labelrotation=45)
    return fig


def _late_heavy(last: int, n: int) -> np.ndarray:
    """n indices from 0 to ``last``, denser towards the end, where a reverse trajectory changes most."""
    u = np.linspace(0, 1, n)
    return np.unique((last * (1 - (1 - u) ** 2)).round().astype(int))


def trajectory_frame(ax, x: Tensor, title: str, lim: float = 3.0, data: Tensor | None = None):
    """Draw one frame of a 2D reverse trajectory on ``ax`` (data in grey behind, if given)."""
    ax.clear()
    if data is not None:
        ax.scatter(data[:, 0], data[:, 1], s=2, color="#BBBBBB", linewidths=0)
    ax.scatter(x[:, 0], x[:, 1], s=3, color=COLORS[5], alpha=0.6, linewidths=0)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=title, xlabel="$x_1$", ylabel="$x_2$")


class DescribedFigure:
    """A figure shown as an image with alt text: what a widget displays.

    A figure displayed by a notebook cell gets its alt text from the cell's ``mystnb.image.alt``
    metadata; a figure inside a widget's output has no cell, so this object renders itself as an
    ``<img>`` with ``alt`` (its PNG embedded), in a live kernel and in the built book alike.
    ``figure`` stays available for whoever wants to inspect what was drawn.
    """

    def __init__(self, figure: Figure, alt: str):
        self.figure, self.alt = figure, alt

    def _repr_html_(self) -> str:
        import base64
        import io

        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", bbox_inches="tight")  # as the inline backend does
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        return f'<img alt="{escape(self.alt)}" src="data:image/png;base64,{data}">'

    def __repr__(self) -> str:
        return f"<figure: {self.alt}>"


class DescribedAnimation(FuncAnimation):
    """A FuncAnimation that carries a description of what it shows into its HTML.

    ``to_jshtml()`` writes ``alt`` as the alt text of the animation's image, so that a screen
    reader can say what the animation shows (a figure's alt text comes from the notebook cell's
    ``mystnb.image.alt`` metadata, which does not reach HTML outputs).
    """

    def __init__(self, fig: Figure, func, *, alt: str, **kwargs):
        super().__init__(fig, func, **kwargs)
        self.alt = alt

    def to_jshtml(self, *args, **kwargs) -> str:
        html = super().to_jshtml(*args, **kwargs)
        return html.replace('<img id="_anim_img', f'<img alt="{escape(self.alt)}" id="_anim_img', 1)


def animate_trajectory(
    xs: Tensor, ts: Sequence[int], n_frames: int = 40, lim: float = 3.0, data: Tensor | None = None,
    alt: str | None = None,
) -> DescribedAnimation:
    """An animation of 2D points along a reverse trajectory (xs: (S+1, B, 2), ts: (S,)).

    Show it in a notebook or the built book with ``IPython.display.HTML(anim.to_jshtml())``.
    ``alt`` describes it for readers who cannot see it; by default, a description made from
    the arguments.
    """
    idx = _late_heavy(len(xs) - 1, n_frames)
    fig = new_figure((4.2, 4.2), dpi=72)  # every frame is embedded in the page: keep them small
    ax = fig.subplots()

    def draw(i):
        k = idx[i]
        label = "start: pure noise" if k == 0 else f"after step t={ts[k - 1]}"
        trajectory_frame(ax, xs[k], label, lim, data)

    if alt is None:
        alt = (f"Animation in {len(idx)} frames of {xs.shape[1]} points along the reverse process, "
               f"from pure Gaussian noise to the points after the last step, t={ts[-1]}"
               + (", drawn over the training data in grey." if data is not None else "."))
    return DescribedAnimation(fig, draw, frames=len(idx), interval=120, alt=alt)


def trajectory_strip(xs: Tensor, ts: Sequence[int], n_panels: int = 6, lim: float = 3.0) -> Figure:
    """Snapshots of a 2D reverse trajectory, left to right from noise to samples (denser at the end)."""
    idx = _late_heavy(len(xs) - 1, n_panels)
    fig = new_figure((2.4 * n_panels, 2.6))
    for ax, k in zip(fig.subplots(1, n_panels), idx):
        trajectory_frame(ax, xs[k], "noise" if k == 0 else f"after t={ts[k - 1]}", lim)
    return fig


def plot_quality_vs_steps(
    results: dict[str, dict[int, float]], baseline: float, ylabel: str, ceiling: float | None = None,
    baseline_range: tuple[float, float] | None = None,
) -> Figure:
    """Metric against number of sampling steps, one line per sampler, with the data baseline
    (dashed), the range it varies over between data samples (shaded, if given: differences
    within it are noise) and the value for pure noise (dotted, if given)."""
    fig = new_figure((6.5, 3.6))
    ax = fig.subplots()
    markers = "osD^v"
    for i, (name, by_steps) in enumerate(results.items()):
        steps = sorted(by_steps)
        ax.plot(steps, [by_steps[s] for s in steps], marker=markers[i % 5], color=COLORS[i], label=name)
    ax.axhline(baseline, color=PALETTE[0], ls="--", label="data vs data")
    if baseline_range is not None:
        ax.axhspan(*baseline_range, color=PALETTE[0], alpha=0.12, lw=0, label="data vs data, range")
    if ceiling is not None:
        ax.axhline(ceiling, color=PALETTE[0], ls=":", label="pure noise")
    ax.set(xscale="log", yscale="log", xlabel="sampling steps (model evaluations)", ylabel=ylabel,
           title="Sample quality against sampling cost")
    all_steps = sorted({s for by_steps in results.values() for s in by_steps})
    ax.set_xticks(all_steps, labels=[str(s) for s in all_steps])  # label the step counts measured
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return fig


# ------------------------------------------------------------------------------ chapters 4-5
def tile(images: Tensor, ncols: int = 8, pad: int = 1) -> np.ndarray:
    """Images (N, C, H, W) in [-1, 1] as one mosaic array in [0, 1], ``ncols`` per row, with
    ``pad`` white pixels between them; (rows*(H+pad)-pad, ncols*(W+pad)-pad[, 3])."""
    if images.ndim != 4 or len(images) < 1:
        raise ValueError(f"images must be a batch (N, C, H, W) with N >= 1, got shape {tuple(images.shape)}")
    n, _, h, w = images.shape
    ncols = min(ncols, n)
    nrows = -(-n // ncols)  # ceil(n / ncols)
    first = to_rgb(images[0])
    canvas = np.ones((nrows * (h + pad) - pad, ncols * (w + pad) - pad, *first.shape[2:]))
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        canvas[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = to_rgb(img)
    return canvas


def image_grid(panels: dict[str, Tensor] | Tensor, ncols: int = 8, panels_per_row: int | None = None) -> Figure:
    """One mosaic of images per entry of ``panels`` ({title: (N, C, H, W) in [-1, 1]}), side by side,
    ``panels_per_row`` to a row (default: all in one row), ``ncols`` images to a mosaic row."""
    if isinstance(panels, Tensor):
        panels = {"": panels}
    if not panels:
        raise ValueError("panels is empty: pass {title: images (N, C, H, W)}")
    per_row = panels_per_row or len(panels)
    rows = -(-len(panels) // per_row)
    mosaics = {title: tile(images, ncols) for title, images in panels.items()}
    height, width = next(iter(mosaics.values())).shape[:2]
    # about 2.6 inches per square panel; a wide mosaic (one row of many images) at most 9 inches in all
    scale = min(2.6 / max(height, width) * max(1.0, width / height), 9.0 / (per_row * width))
    fig = new_figure((per_row * width * scale + 0.2, rows * (height * scale + 0.35)))
    axes = np.atleast_1d(fig.subplots(rows, per_row)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, (title, mosaic) in zip(axes, mosaics.items()):
        ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
    return fig


def image_trajectory_frame(
    ax_xt, ax_x0, xs: Tensor, x0s: Tensor, ts: Sequence[int], k: int, index: int = 0
) -> str:
    """Draw frame ``k`` of image ``index`` of a reverse trajectory: x[k] on ``ax_xt`` and the
    estimate x0[k] on ``ax_x0`` (xs: (S+1, B, C, H, W), x0s: (S, B, C, H, W), ts: (S,), as in
    :class:`~diffusion_edu.samplers.Trajectory`). Frame k < S is the input of the step at
    t = ts[k] and that step's estimate of x_0; frame S is the final sample (and ``ax_x0`` stays
    empty). Returns the frame's label, "t=..." or "final sample"."""
    S = len(ts)
    if len(xs) != S + 1 or len(x0s) != S:
        raise ValueError(f"expected xs (S+1, ...) and x0s (S, ...) for S={S} timesteps, got {len(xs)} and {len(x0s)}")
    if not 0 <= k <= S:
        raise ValueError(f"frame k must lie in [0, S]=[0, {S}], got {k}")
    ax_xt.imshow(to_rgb(xs[k][index]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    if k < S:
        ax_x0.imshow(to_rgb(x0s[k][index]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    for ax in (ax_xt, ax_x0):
        ax.set_xticks([]), ax.set_yticks([])
    ax_x0.spines[:].set_visible(k < S)
    return f"t={ts[k]}" if k < S else "final sample"


def image_trajectory(
    xs: Tensor, x0s: Tensor, ts: Sequence[int], frames: Sequence[int] | None = None, n_frames: int = 8,
    index: int = 0,
) -> Figure:
    """Image ``index`` along a reverse trajectory, one column per frame (see
    :func:`image_trajectory_frame`): x_t on top, the model's estimate x0_hat made from it below,
    each column titled with its timestep. ``frames`` picks the columns (default: ``n_frames``
    evenly spaced from the starting noise to the final sample). The static twin of
    :func:`~diffusion_edu.widgets.image_trajectory_scrubber`."""
    if frames is None:
        frames = np.unique(np.linspace(0, len(ts), n_frames).round().astype(int)).tolist()
    fig = new_figure((1.3 * len(frames) + 0.5, 3.0))
    axes = np.asarray(fig.subplots(2, len(frames), squeeze=False))
    for (top, bottom), k in zip(axes.T, frames):
        top.set_title(image_trajectory_frame(top, bottom, xs, x0s, ts, k, index), fontsize=9)
    axes[0, 0].set_ylabel("$x_t$")
    axes[1, 0].set_ylabel(r"estimate $\hat x_0$")
    return fig


def plot_quality_over_training(
    steps: Sequence[int], frechet: Sequence[float], confident: Sequence[float], floor: dict, noise: dict | None = None
) -> Figure:
    """Two panels against training steps: the Frechet distance (log scale) and the confident
    fraction, with the real-data values (``floor``: {"frechet", "confident"}) dashed and, if
    given, pure noise's dotted."""
    fig = new_figure((8.5, 3.2))
    left, right = fig.subplots(1, 2)
    for ax, values, key, label in ((left, frechet, "frechet", "Frechet distance (lower is better)"),
                                   (right, confident, "confident", "confident fraction (higher is better)")):
        ax.plot(steps, values, marker="o", color=COLORS[0], label="generated")
        ax.axhline(floor[key], color=PALETTE[0], ls="--", label="real images")
        if noise is not None:
            ax.axhline(noise[key], color=PALETTE[0], ls=":", label="pure noise")
        ax.set(xlabel="training steps", ylabel=label)
        ax.grid(alpha=0.3, which="both")
    left.set_yscale("log")
    right.set_ylim(-0.02, 1.02)
    left.legend(fontsize=8)
    return fig


def plot_class_fractions(fractions: dict[str, Tensor]) -> Figure:
    """Grouped bars: the fraction of images the oracle assigns to each class, one colour per set
    ({name: (n_classes,) fractions}); a uniform 1/n_classes line for reference."""
    fig = new_figure((6.5, 3.0))
    ax = fig.subplots()
    n_classes = len(next(iter(fractions.values())))
    width = 0.8 / len(fractions)
    for i, (name, values) in enumerate(fractions.items()):
        values = torch.as_tensor(values, dtype=torch.float64).detach().cpu().numpy()  # (n_classes,)
        ax.bar(np.arange(n_classes) + (i - (len(fractions) - 1) / 2) * width, values, width,
               color=COLORS[i], label=name)
    ax.axhline(1 / n_classes, color=PALETTE[0], ls="--", lw=1, label="uniform")
    ax.set(xticks=range(n_classes), xlabel="class predicted by the oracle", ylabel="fraction of images")
    ax.legend(fontsize=8)
    return fig


# ------------------------------------------------------------------------------ chapter 6
def plot_accuracy_vs_t(timesteps: Sequence[int], accuracies: dict[str, Sequence[float]], chance: float) -> Figure:
    """Classification accuracy on noised images x_t against the timestep t, one line per classifier
    ({name: accuracy at each of ``timesteps``}), with the accuracy of guessing (``chance``) dotted."""
    fig = new_figure((6.5, 3.4))
    ax = fig.subplots()
    for i, (name, values) in enumerate(accuracies.items()):
        ax.plot(list(timesteps), list(values), marker="os^D"[i % 4], color=COLORS[i], label=name)
    ax.axhline(chance, color=PALETTE[0], ls=":", label="guessing")
    ax.set(xlabel="timestep t of the noised test digits", ylabel="accuracy", ylim=(0, 1.02),
           title="Classifying noisy digits: accuracy against t")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


GUIDANCE_PANELS = (  # (key, y label, title)
    ("accuracy", "oracle accuracy on the requested class", "Adherence (higher: follows the label)"),
    ("diversity", "mean feature distance within a class", "Diversity (higher: more varied)"),
    ("frechet", "Frechet distance to the test digits", "Quality (lower: closer to real)"),
)


def plot_guidance_sweep(
    scales: Sequence[float], results: dict[str, Sequence[float]], real: dict[str, float],
    scale_name: str = "guidance scale $w$", real_range: dict[str, tuple[float, float]] | None = None,
) -> Figure:
    """Three panels against the guidance scale: adherence (``results["accuracy"]``), diversity
    (``results["diversity"]``) and the Frechet distance (``results["frechet"]``), each a list with
    one value per entry of ``scales``. ``real`` holds the same three numbers for real digits
    (dashed); ``real_range`` the range each varies over between sets of real digits (shaded)."""
    fig = new_figure((12, 3.4))
    axes = fig.subplots(1, 3)
    for ax, (key, ylabel, title) in zip(axes, GUIDANCE_PANELS):
        ax.plot(list(scales), list(results[key]), marker="o", color=COLORS[0], label="generated")
        ax.axhline(real[key], color=PALETTE[0], ls="--", label="real digits")
        if real_range is not None and key in real_range:
            ax.axhspan(*real_range[key], color=PALETTE[0], alpha=0.12, lw=0, label="real digits, range")
        ax.set(xlabel=scale_name, ylabel=ylabel, title=title)
        ax.set_xticks(list(scales), labels=[f"{s:g}" for s in scales])
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0, 1.02)
    axes[2].legend(fontsize=8)
    return fig


# ------------------------------------------------------------------------------ chapter 7
def captioned_images(images: Tensor, captions: Sequence[str], ncols: int = 4) -> Figure:
    """Images (N, C, H, W) in [-1, 1], each titled with its caption (wrapped onto two lines)."""
    if len(images) != len(captions):
        raise ValueError(f"one caption per image: got {len(images)} images and {len(captions)} captions")
    rows = -(-len(images) // ncols)
    fig = new_figure((2.0 * ncols, 2.25 * rows))
    axes = np.atleast_1d(fig.subplots(rows, ncols)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, image, text in zip(axes, images, captions):
        ax.imshow(to_rgb(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        words = text.split()
        ax.set_title(" ".join(words[:4]) + "\n" + " ".join(words[4:]), fontsize=8)
    return fig


def plot_word_attention(images: Tensor, maps: Tensor, pieces: Sequence[Sequence[str]]) -> Figure:
    """One row per caption: its image (B, C, H, W), then the attention map (B, L, h, w) of each of
    its tokens ``pieces[b]`` (the padding tokens' maps summed into one, labelled "<pad> x k")."""
    rows, columns = len(images), 1 + max(len(p) for p in pieces) + 1
    fig = new_figure((1.15 * columns, 1.45 * rows))
    axes = np.asarray(fig.subplots(rows, columns)).reshape(rows, columns)
    vmax = maps.max().item()
    for b in range(rows):
        for ax in axes[b]:
            ax.set_axis_off()
        axes[b, 0].imshow(to_rgb(images[b]), interpolation="nearest")
        axes[b, 0].set_title("image", fontsize=8)
        n = len(pieces[b])
        panels = [(word, maps[b, i]) for i, word in enumerate(pieces[b])]
        if n < maps.shape[1]:
            panels.append((f"<pad> x {maps.shape[1] - n}", maps[b, n:].sum(0)))
        for ax, (word, heat) in zip(axes[b, 1:], panels):
            ax.imshow(heat.numpy(), cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
            ax.set_title(word, fontsize=8)
    return fig


def plot_similarity(matrix: Tensor, labels: Sequence[str], title: str = "") -> Figure:
    """A square matrix (K, K) as a heat map with ``labels`` on both axes."""
    k = len(labels)
    fig = new_figure((0.3 * k + 2.2, 0.3 * k + 1.2))
    ax = fig.subplots()
    shown = ax.imshow(matrix.numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(k), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(k), labels, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.colorbar(shown, ax=ax, shrink=0.8)
    return fig


def plot_adherence_vs_w(sweep: dict[float, dict[str, dict[str, float]]]) -> Figure:
    """``sweep[w][set_name]`` = scores from :func:`~diffusion_edu.data.shapes.attribute_accuracy`:
    one panel per set (e.g. held-out and seen captions), colour-and-shape and all-attribute
    accuracy against the guidance scale w."""
    ws = sorted(sweep)
    names = list(sweep[ws[0]])
    fig = new_figure((4.2 * len(names), 3.2))
    axes = np.atleast_1d(fig.subplots(1, len(names), sharey=True))
    for ax, name in zip(axes, names):
        for colour, (key, label) in zip(COLORS, [("colour_and_shape", "colour and shape right"),
                                                 ("all", "all four attributes right")]):
            ax.plot(ws, [sweep[w][name][key] for w in ws], "o-", color=colour, label=label)
        ax.set(xlabel="guidance scale w", title=f"{name} captions", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("fraction of samples")
    axes[0].legend(fontsize=8, loc="lower right")
    return fig


# --- chapter 8: sound -----------------------------------------------------------------------
def plot_waveform(x: Tensor, sr: float, zoom: tuple[float, float] | None = None, title: str = "") -> Figure:
    """A waveform x (T,) against time in seconds; with ``zoom`` = (start, end) in seconds, a second
    panel shows that stretch up close (a few periods of a note)."""
    x = x.detach().double().cpu().flatten()
    t = np.arange(len(x)) / sr
    fig = new_figure((10, 2.8))
    axes = np.atleast_1d(fig.subplots(1, 2 if zoom else 1, width_ratios=[2, 1] if zoom else None))
    axes[0].plot(t, x.numpy(), color=COLORS[4], lw=0.6)
    axes[0].set(xlabel="time (s)", ylabel="amplitude", title=title or "Waveform")
    if zoom:
        axes[0].axvspan(*zoom, color=COLORS[0], alpha=0.3, lw=0)
        keep = (t >= zoom[0]) & (t <= zoom[1])
        axes[1].plot(1000 * t[keep], x.numpy()[keep], color=COLORS[4], lw=1.0)
        axes[1].set(xlabel="time (ms)", title=f"Close up: {1000 * zoom[0]:.0f} to {1000 * zoom[1]:.0f} ms")
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig


def plot_harmonic_mixes(mixes: dict[str, dict[int, float]]) -> Figure:
    """One bar chart per timbre: the amplitude a_k of harmonic k ({name: {k: a_k}}), relative to the
    strongest, so that the mixes compare at a glance."""
    fig = new_figure((2.6 * len(mixes), 2.6))
    axes = np.atleast_1d(fig.subplots(1, len(mixes), sharey=True))
    k_max = max(max(m) for m in mixes.values())
    colors = [COLORS[k] for k in (0, 1, 2, 4, 5, 6, 3)]  # yellow last: faint on white
    for ax, color, (name, mix) in zip(axes, colors, mixes.items()):
        peak = max(mix.values())
        ax.bar(list(mix), [a / peak for a in mix.values()], color=color)
        ax.set(title=name, xlabel="harmonic k (frequency k f0)", xlim=(0.3, k_max + 0.7))
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("amplitude $a_k$ (strongest = 1)")
    return fig


def plot_spectrograms(
    panels: dict[str, Tensor], sr: float, hop: int | dict[str, int], fmax: float | None = None,
    floor_db: float = -80.0,
) -> Figure:
    """Magnitude spectrograms ({title: S (F, N)}, F = n_fft // 2 + 1 bins from 0 to sr / 2) side by
    side, in decibels (20 log10 S, relative to the largest value of each, floored at ``floor_db``),
    time in seconds across and frequency in Hz up (up to ``fmax``, default sr / 2). ``hop`` (in
    samples) places the frames in time: one for all panels, or {title: hop} when they differ."""
    fig = new_figure((min(3.2 * len(panels), 12), 3.0))
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    fmax = fmax or sr / 2
    for ax, (title, S) in zip(axes, panels.items()):
        S = S.detach().double().cpu()
        db = 20 * torch.log10(S.clamp(min=1e-12) / S.max()).clamp(min=floor_db)  # (F, N)
        n_frames = S.shape[1]
        panel_hop = hop[title] if isinstance(hop, dict) else hop
        extent = (0, (n_frames - 1) * panel_hop / sr, 0, sr / 2)
        shown = ax.imshow(db.numpy(), origin="lower", aspect="auto", cmap="magma", extent=extent,
                          vmin=floor_db, vmax=0, interpolation="nearest")
        ax.set(title=title, xlabel="time (s)", ylim=(0, fmax))
    axes[0].set_ylabel("frequency (Hz)")
    fig.colorbar(shown, ax=axes.tolist(), shrink=0.9, label="dB (max = 0)")
    return fig


def plot_mel_images(
    panels: dict[str, Tensor], sr: float, hop: int, ncols: int | None = None, title_size: float = 9
) -> Figure:
    """Normalised log-mel images ({title: (n_mels, N) or (1, n_mels, N)} in [-1, 1]) side by side,
    lowest band at the bottom, time in seconds across: the pictures the diffusion model sees."""
    ncols = ncols or len(panels)
    rows = -(-len(panels) // ncols)
    fig = new_figure((min(2.3 * ncols, 12) + 0.8, 2.3 * rows + 0.2))
    axes = np.atleast_1d(fig.subplots(rows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    for ax, (title, image) in zip(axes, panels.items()):
        image = image.detach().float().cpu().reshape(image.shape[-2:])  # (n_mels, N)
        n_mels, n_frames = image.shape
        extent = (0, (n_frames - 1) * hop / sr, -0.5, n_mels - 0.5)
        shown = ax.imshow(image.numpy(), origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1,
                          extent=extent, interpolation="nearest")
        ax.set_title(title, fontsize=title_size)
    for ax in axes.reshape(rows, ncols)[:, 0]:
        ax.set_ylabel("mel band")
    for ax in axes.reshape(rows, ncols)[-1]:
        ax.set_xlabel("time (s)")
    fig.colorbar(shown, ax=axes.tolist(), shrink=0.9, label="normalised log-mel")
    return fig


def plot_mel_scales(f: Tensor, scales: dict[str, Tensor]) -> Figure:
    """Mel scales against frequency: left, each scale ({name: m(f)}) divided by its value at the
    highest f (the two scales count different units); right, the width of a band of equal mel, in
    Hz, at each frequency (df/dm, again per unit of each scale's whole range)."""
    f = f.detach().double().cpu()
    fig = new_figure((10, 3.2))
    left, right = fig.subplots(1, 2)
    left.plot(f.numpy(), (f / f[-1]).numpy(), color=PALETTE[0], ls=":", label="linear (Hz)")
    for color, (name, m) in zip(COLORS, scales.items()):
        m = m.detach().double().cpu()
        left.plot(f.numpy(), (m / m[-1]).numpy(), color=color, label=name)
        width = torch.diff(f) / torch.diff(m / m[-1])  # Hz per unit of the normalised scale
        right.plot(f[1:].numpy(), width.numpy() / 100, color=color, label=name)  # Hz per 1% of the range
    left.set(xlabel="frequency f (Hz)", ylabel="mel / mel at the top", title="Mel scales, normalised")
    right.set(xlabel="frequency f (Hz)", ylabel="Hz per 1% of the mel range",
              title="How wide an equal-mel step is", yscale="log")
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    return fig


def plot_filterbank(filterbanks: dict[str, Tensor], bin_freqs: Tensor, fmax: float | None = None) -> Figure:
    """Mel filterbanks ({title: M (n_mels, F)}) as their triangles, one line per band, against
    the FFT bin frequency in Hz (``bin_freqs``, (F,)), one panel per filterbank."""
    fig = new_figure((5.0 * len(filterbanks), 3.0))
    axes = np.atleast_1d(fig.subplots(1, len(filterbanks)))
    f = bin_freqs.detach().double().cpu().numpy()
    for ax, (title, M) in zip(axes, filterbanks.items()):
        M = M.detach().double().cpu().numpy()
        for i, row in enumerate(M):
            ax.plot(f, row, color=COLORS[i % 7], lw=0.8)
        ax.set(title=title, xlabel="frequency (Hz)", ylabel="weight $M[i, k]$", xlim=(0, fmax or f[-1]))
        ax.grid(alpha=0.3)
    return fig


def plot_convergence(curves: dict[str, Tensor]) -> Figure:
    """Spectral convergence ||S - |STFT(x_n)| || / ||S|| against the iteration n, one line per
    run ({name: (n_iter,)}), on a log scale."""
    fig = new_figure((6.5, 3.4))
    ax = fig.subplots()
    for i, (name, sc) in enumerate(curves.items()):
        sc = sc.detach().double().cpu().numpy()
        ax.plot(np.arange(1, len(sc) + 1), sc, color=COLORS[i], label=name)
    ax.set(xlabel="iteration n", ylabel="spectral convergence $SC_n$", yscale="log",
           title="Griffin-Lim: how far the magnitude is from the wanted one")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def plot_yin(d: Tensor, d_prime: Tensor, sr: float, period: float, threshold: float, found: float | None = None) -> Figure:
    """YIN for one frame: the difference function d(tau) (left) and its cumulative mean normalised
    version d'(tau) (right) against the lag tau (samples; ms on top), with the true period (dashed),
    the threshold (dotted) and the lag YIN found (a dot), if given."""
    tau = np.arange(len(d))
    fig = new_figure((10, 3.0))
    left, right = fig.subplots(1, 2)
    left.plot(tau, d.detach().double().cpu().numpy(), color=COLORS[4])
    right.plot(tau, d_prime.detach().double().cpu().numpy(), color=COLORS[4])
    right.axhline(threshold, color=PALETTE[0], ls=":", label=f"threshold {threshold:g}")
    if found is not None:
        right.plot([found], [np.interp(found, tau, d_prime.detach().double().cpu().numpy())], "o",
                   color=COLORS[5], label=f"first dip: tau = {found:.1f}")
    for ax in (left, right):
        ax.axvline(period, color=COLORS[0], ls="--", label=f"period sr / f0 = {period:.1f}")
        for k in range(2, int(tau[-1] / period) + 1):
            ax.axvline(k * period, color=COLORS[0], ls="--", alpha=0.35)
        ax.set_xlabel("lag tau (samples)")
        ax.grid(alpha=0.3)
        top = ax.secondary_xaxis("top", functions=(lambda s: 1000 * s / sr, lambda ms: ms * sr / 1000))
        top.set_xlabel("lag (ms)")
    left.set(ylabel="d(tau)", title="Difference function")
    right.set(ylabel="d'(tau)", title="Cumulative mean normalised difference")
    right.legend(fontsize=8)
    return fig


def plot_pitch_errors(errors: dict[str, Tensor], limit: float = 1200.0) -> Figure:
    """For each set of notes ({name: |pitch error| in cents, (n,), NaN = no pitch found}) the
    fraction of notes whose error is at most x, against x (log scale, up to ``limit`` cents: an
    octave). The curve of a set with notes without pitch ends below 1: those notes are never within
    x. Sets whose name starts with "real" are drawn dashed in black: the reference."""
    fig = new_figure((6.5, 3.6))
    ax = fig.subplots()
    x = np.logspace(-1, np.log10(limit), 300)
    colors = iter([COLORS[k % 7] for k in (0, 1, 2, 4, 5, 6, 3)] * len(errors))  # yellow last: faint on white
    for name, err in errors.items():
        err = err.detach().double().cpu().numpy()
        within = [(err <= v).sum() / len(err) for v in x]  # NaN <= v is False
        real = name.startswith("real")
        ax.plot(x, within, color=PALETTE[0] if real else next(colors), ls="--" if real else "-", label=name)
    ax.axvline(50, color=PALETTE[0], ls=":", lw=1)
    ax.text(52, 0.02, "50 cents:\nhalf-way to the\nnext semitone", fontsize=7)
    ax.set(xscale="log", xlabel="absolute pitch error (cents)", ylabel="fraction of notes within it",
           ylim=(0, 1.02), title="Pitch error of notes heard through Griffin-Lim")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def spectrogram_trajectory_frame(ax_xt, ax_x0, xs: Tensor, x0s: Tensor, ts: Sequence[int], k: int,
                                 index: int = 0) -> str:
    """Draw frame ``k`` of log-mel image ``index`` of a reverse trajectory (as
    :func:`image_trajectory_frame`, but as spectrograms: lowest band at the bottom, in colour):
    x[k] on ``ax_xt``, the estimate x0[k] on ``ax_x0``. Returns the frame's label."""
    S = len(ts)
    if len(xs) != S + 1 or len(x0s) != S:
        raise ValueError(f"expected xs (S+1, ...) and x0s (S, ...) for S={S} timesteps, got {len(xs)} and {len(x0s)}")
    if not 0 <= k <= S:
        raise ValueError(f"frame k must lie in [0, S]=[0, {S}], got {k}")
    style = {"origin": "lower", "aspect": "auto", "cmap": "magma", "vmin": -1, "vmax": 1, "interpolation": "nearest"}
    ax_xt.clear()
    ax_x0.clear()
    ax_xt.imshow(xs[k][index].reshape(xs.shape[-2:]).float().numpy(), **style)
    ax_x0.imshow((x0s[min(k, S - 1)] if k < S else xs[S])[index].reshape(xs.shape[-2:]).float().numpy(), **style)
    ax_xt.set_title(f"$x_t$, t={ts[k]}" + (" (noise)" if k == 0 else "") if k < S else "final sample", fontsize=9)
    ax_x0.set_title(f"estimate $\\hat x_0$ at t={ts[k]}" if k < S else "final sample", fontsize=9)
    for ax in (ax_xt, ax_x0):
        ax.set_xticks([])
        ax.set_ylabel("mel band")
    return f"t={ts[k]}" if k < S else "final sample"


def animate_spectrogram_trajectory(
    xs: Tensor, x0s: Tensor, ts: Sequence[int], index: int = 0, n_frames: int = 12, alt: str | None = None,
) -> DescribedAnimation:
    """An animation of log-mel image ``index`` along a reverse trajectory (xs: (S+1, B, 1, n_mels, N),
    x0s: (S, B, 1, n_mels, N), ts: (S,), as in :class:`~diffusion_edu.samplers.Trajectory`): x_t
    and the model's estimate of x_0 side by side, ``n_frames`` frames (denser at the end), ending
    on the final sample. Show it with ``IPython.display.HTML(anim.to_jshtml())``."""
    idx = _late_heavy(len(xs) - 1, n_frames)
    fig = new_figure((5.6, 2.6), dpi=72)  # every frame is embedded in the page: keep them small
    ax_xt, ax_x0 = fig.subplots(1, 2)

    def draw(i):
        spectrogram_trajectory_frame(ax_xt, ax_x0, xs, x0s, ts, int(idx[i]), index)

    if alt is None:
        alt = (f"Animation in {len(idx)} frames of a log-mel spectrogram along the reverse process: left, "
               f"x_t from pure noise to the final sample; right, the model's estimate of the clean "
               f"spectrogram at each step, after the last step t={ts[-1]}.")
    return DescribedAnimation(fig, draw, frames=len(idx), interval=250, alt=alt)


NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(midi: int) -> str:
    """A MIDI note number as a note name with its octave: 60 -> "C4" (middle C), 69 -> "A4"."""
    midi = int(midi)
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"

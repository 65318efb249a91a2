"""Generate many images and judge them: the measurement behind every "how good is it?" of the book.

    samples = generate(model, schedule, n, sampler="ddim", steps=50)   # (n, C, H, W) in [-1, 1]
    report  = judge(samples, oracle, real_images)                        # the numbers

``judge`` asks the oracle classifier (a CNN trained on the real labelled data) two questions:

- does each image look like *some* class? The confident fraction: max_k p(k | x) > 0.9;
- do the images, as a set, look like the real ones? The Frechet distance between the oracle's
  penultimate features of the samples and of real held-out images (FID in miniature).

Both numbers mean something only next to a baseline: :func:`real_baseline` computes them for
real images (the best a model can do) so every table in the book carries its floor.
"""
from __future__ import annotations

import time

import torch
from torch import Tensor, nn

from .metrics import oracle_frechet, oracle_scores
from .samplers import ddim_sample, ddpm_sample, dpmpp_2m_sample
from .schedules import Schedule

SAMPLERS = ("ddpm", "ddim", "dpmpp_2m")


@torch.no_grad()
def generate(
    model: nn.Module,
    schedule: Schedule,
    n: int,
    sampler: str = "ddim",
    steps: int = 50,
    seed: int = 0,
    batch_size: int = 250,
    image_shape: tuple[int, ...] | None = None,
    clip_x0: float | None = 1.0,
    eta: float = 0.0,
    **model_kwargs,
) -> Tensor:
    """``n`` samples (n, C, H, W) from ``model`` in batches of ``batch_size``, seeded by ``seed``.

    ``sampler`` is "ddpm" (all T steps; ``steps`` is ignored), "ddim" (with ``eta``; eta=1 is
    ancestral sampling on a subset of the steps, DDPM with skipping) or "dpmpp_2m";
    ``image_shape`` (C, H, W) defaults to the U-Net's (in_channels, 16, 16). Predicted images are
    clipped to [-clip_x0, clip_x0] at every step (None: no clipping); the output is clamped to
    [-1, 1]. All n starting noises are drawn first, so every sampler and batch size starts from
    the same noise for the same seed (the ancestral samplers' step noise comes after). ``model_kwargs`` (e.g. ``y`` labels, shape (n,)) are sliced per batch.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}: expected one of {SAMPLERS}")
    if n < 1 or batch_size < 1:
        raise ValueError(f"n and batch_size must be positive, got n={n}, batch_size={batch_size}")
    if image_shape is None:
        image_shape = (model.config.in_channels, 16, 16)
    device = next(model.parameters()).device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    starts = torch.randn((n, *image_shape), generator=generator)  # (n, C, H, W): the same for every sampler
    chunks = []
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start)
        x_start = starts[start : start + size].to(device)  # (b, C, H, W)
        kwargs = {k: v[start : start + size] for k, v in model_kwargs.items()}
        common = dict(clip_x0=clip_x0, generator=generator, device=device, x_start=x_start, **kwargs)
        if sampler == "ddpm":
            x = ddpm_sample(model, x_start.shape, schedule, **common)
        elif sampler == "ddim":
            x = ddim_sample(model, x_start.shape, schedule, n_steps=steps, eta=eta, **common)
        else:
            x = dpmpp_2m_sample(model, x_start.shape, schedule, n_steps=steps, **common)
        chunks.append(x.clamp(-1, 1).cpu())
    return torch.cat(chunks)  # (n, C, H, W)


def judge(samples: Tensor, oracle: nn.Module, real: Tensor, threshold: float = 0.9) -> dict:
    """The oracle's verdict on ``samples`` (N, C, H, W) against ``real`` images (M, C, H, W):
    ``confident`` (fraction with max probability > threshold), ``frechet`` (to ``real``) and
    ``class_balance`` (1 = every class equally often; see :func:`~diffusion_edu.metrics.oracle_scores`)."""
    scores = oracle_scores(oracle, samples, threshold)
    return {
        "confident": scores["confident_fraction"],
        "frechet": oracle_frechet(oracle, samples, real),
        "class_balance": scores["class_balance"],
    }


def real_baseline(oracle: nn.Module, real_a: Tensor, real_b: Tensor, threshold: float = 0.9) -> dict:
    """:func:`judge` applied to real images ``real_a`` against other real images ``real_b``: the
    floor of the Frechet distance (finite samples of the same distribution are not at 0) and the
    confident fraction of real data (the oracle's own ceiling)."""
    return judge(real_a, oracle, real_b, threshold)


def timed_generate(*args, **kwargs) -> tuple[Tensor, float]:
    """:func:`generate`, and the seconds it took."""
    start = time.perf_counter()
    samples = generate(*args, **kwargs)
    return samples, time.perf_counter() - start


__all__ = ["SAMPLERS", "generate", "judge", "real_baseline", "timed_generate"]

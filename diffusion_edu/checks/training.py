"""Checks for the exercises of chapter 4, training on images: the loss, the EMA, the Frechet distance."""
from __future__ import annotations

import torch

from .. import metrics, schedules
from ._verdict import as_tensor, generator, limited, verdict

SCHEDULE = schedules.cosine_schedule(1000)


def _toy_denoiser(xt, t):
    """A fixed stand-in for a U-Net: any function of (x_t, t) shaped like x_t will do."""
    return 0.5 * xt + 1e-3 * t.double().reshape(-1, *([1] * (xt.ndim - 1)))


def image_loss(fn) -> bool:
    """fn(model, x0: (B, C, H, W), t: (B,) long, eps: like x0, alpha_bar: (T,)) -> the scalar loss."""
    fn = limited(fn)
    ab = SCHEDULE.alpha_bar
    g = generator(3)
    # B = W = 4: an alpha_bar of shape (B,) that is not reshaped broadcasts along the width
    for shape, t in (((4, 1, 4, 4), torch.tensor([0, 10, 500, 999])), ((3, 3, 2, 5), torch.tensor([7, 7, 900]))):
        x0 = torch.randn(shape, generator=g, dtype=torch.float64)
        eps = torch.randn(shape, generator=g, dtype=torch.float64)
        a = ab[t].reshape(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        expected = ((_toy_denoiser(xt, t) - eps) ** 2).mean()
        mistakes = {
            "the square roots are missing from x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps":
                ((_toy_denoiser(a * x0 + (1 - a) * eps, t) - eps) ** 2).mean(),
            "the target is eps, the noise that was added, not x_0": ((_toy_denoiser(xt, t) - x0) ** 2).mean(),
            "that is the sum of squared errors; the loss is their mean over all elements":
                ((_toy_denoiser(xt, t) - eps) ** 2).sum(),
        }
        if shape[0] == shape[-1]:
            flat = ab[t]  # (B,) broadcast against the last axis (W), not per example
            wrong_xt = flat.sqrt() * x0 + (1 - flat).sqrt() * eps
            mistakes["alpha_bar_t must be picked per example and reshaped to (B, 1, 1, 1): a (B,) tensor "
                     "broadcasts along the image width"] = ((_toy_denoiser(wrong_xt, t) - eps) ** 2).mean()
        try:
            value = fn(_toy_denoiser, x0.clone(), t.clone(), eps.clone(), ab.clone())
        except RuntimeError as error:
            raise AssertionError(
                f"image_loss raised {error!r} for x0 of shape {shape}: pick alpha_bar[t] per example and "
                "reshape it to (B, 1, 1, 1) so it broadcasts against the images"
            ) from None
        got = as_tensor(value, f"image_loss for x0 of shape {shape}")
        if got.ndim != 0:
            raise AssertionError(f"image_loss should return a scalar (a 0-d tensor), got shape {tuple(got.shape)}: "
                                 "take the mean over the batch and every pixel")
        verdict(got, expected, f"image_loss for x0 of shape {shape}",
                hint="noise x_0 to x_t in closed form, call model(x_t, t), and average (model output - eps)^2",
                mistakes=mistakes)
    return True


def ema_update(fn) -> bool:
    """fn(ema: list of tensors, params: list of tensors, decay: float) -> the new EMA tensors (a list)."""
    fn = limited(fn)
    g = generator(4)
    ema = [torch.randn(3, 2, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)]
    params = [torch.randn(3, 2, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)]
    for decay in (0.9, 0.995):
        result = fn([e.clone() for e in ema], [p.clone() for p in params], decay)
        if result is None or result is Ellipsis:
            as_tensor(result, "ema_update")  # raises with the "replace the ..." message
        if not isinstance(result, (list, tuple)) or len(result) != len(ema):
            raise AssertionError(f"ema_update should return a list of {len(ema)} tensors, one per parameter")
        for i, (e, p, got) in enumerate(zip(ema, params, result)):
            verdict(
                got, decay * e + (1 - decay) * p, f"ema_update, parameter {i}, decay={decay}",
                hint="theta_ema <- decay * theta_ema + (1 - decay) * theta: the average moves a little towards "
                     "the current weights",
                mistakes={
                    "the weights are swapped: decay multiplies the running average, (1 - decay) the current weights":
                        decay * p + (1 - decay) * e,
                    "that is the current weights: the average should move only (1 - decay) of the way towards them": p,
                    "that is the old average unchanged: add (1 - decay) of the current weights": e,
                },
                rtol=1e-6, atol=1e-9,
            )
    return True


def frechet_distance(fn) -> bool:
    """fn(features_a: (N, D), features_b: (M, D)) -> the Frechet distance as a float (or 0-d tensor)."""
    fn = limited(fn)
    g = generator(5)
    for n, m, d in ((300, 200, 4), (500, 400, 8)):
        a = torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.randn(d, d, generator=g, dtype=torch.float64)
        b = 3.0 + 0.7 * torch.randn(m, d, generator=g, dtype=torch.float64)  # means far apart: the mean term counts
        expected = metrics.frechet_distance(a, b)
        mu_a, mu_b = a.mean(0), b.mean(0)
        cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
        eig = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0)
        mean_term = (mu_a - mu_b).square().sum()
        mistakes = {
            "the cross term is -2 Tr (S_a S_b)^(1/2): the factor 2 is missing":
                mean_term + cov_a.trace() + cov_b.trace() - eig.sqrt().sum(),
            "(S_a S_b)^(1/2) is a matrix square root, not the square root of each entry: take the square roots "
            "of the eigenvalues of S_a S_b":
                mean_term + cov_a.trace() + cov_b.trace() - 2 * (cov_a @ cov_b).clamp(min=0).sqrt().trace(),
            "only the means are compared: the covariance terms Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) are missing": mean_term,
            "the mean term is the squared distance ||mu_a - mu_b||^2, not the distance":
                (mu_a - mu_b).norm() + cov_a.trace() + cov_b.trace() - 2 * eig.sqrt().sum(),
        }
        value = fn(a.clone(), b.clone())
        if isinstance(value, float):
            value = torch.tensor(value, dtype=torch.float64)
        verdict(
            value, torch.tensor(expected, dtype=torch.float64), f"frechet_distance with N={n}, M={m}, D={d}",
            hint="||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), with sample covariances (torch.cov of the "
                 "transposed features) and Tr (S_a S_b)^(1/2) = sum of the square roots of the eigenvalues of S_a S_b",
            mistakes={k: v.reshape(()) for k, v in mistakes.items()},
            rtol=2e-2, atol=1e-6,  # dividing the covariances by N instead of N - 1 is fine
        )
    return True

"""Guidance: steer a sampler towards a class by changing the noise estimate it is given.

Every sampler of :mod:`diffusion_edu.samplers` asks ``model(x_t, t, **kwargs)`` for eps. A guided
sampler is the same sampler with a *guided* model, so guidance works with DDPM, DDIM and
DPM-Solver++ alike. Both guides here are modules that wrap a denoiser and take labels ``y``.

**Classifier-free guidance** (Ho & Salimans, 2022). One model is trained both with labels and,
a fraction of the time, with the null label (``TrainConfig(label_dropout=...)``), so it predicts
eps given y and eps given nothing. Sampling extrapolates from the second towards the first:

    eps_guided = eps(x_t, t, null) + w * (eps(x_t, t, y) - eps(x_t, t, null))

In this course's convention w = 0 is unconditional, w = 1 plainly conditional, and w > 1
pushes further in the direction that makes the image look like class y. (Ho & Salimans write
(1 + w') eps_cond - w' eps_uncond, so their w' = w - 1.) In score form, with
score = -eps / sqrt(1 - alpha_bar_t), this is grad log p(x_t) + w grad log p(y | x_t), the
gradient of log p(x_t) p(y | x_t)^w: sharpening the class posterior by the power w.

**Classifier guidance** (Dhariwal & Nichol, 2021) gets grad log p(y | x_t) from a separate
classifier trained on noisy images x_t (it must see noise: a clean-image classifier's gradient
is meaningless at large t). With eps = -sqrt(1 - alpha_bar_t) score,

    eps_guided = eps(x_t, t) - s * sqrt(1 - alpha_bar_t) * grad_x log p_phi(y | x_t, t).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .models import null_condition
from .schedules import Schedule


class ClassifierFreeGuidance(nn.Module):
    """``model`` guided by classifier-free guidance of scale ``w``: forward(x, t, y) returns
    eps(x, null) + w (eps(x, y) - eps(x, null)) (see the module docstring).

    For w not in {0, 1} both estimates come from *one* forward pass of a doubled batch
    (conditional and unconditional halves), which on most hardware costs less than two passes.
    """

    def __init__(self, model: nn.Module, w: float):
        super().__init__()
        if not isinstance(w, (int, float)) or w < 0:
            raise ValueError(f"the guidance scale w must be a number >= 0 (0: unconditional, 1: conditional), got {w!r}")
        self.model, self.w = model, float(w)
        self.config = model.config  # what samplers and evaluate read (channels, num_classes)

    def forward(self, x: Tensor, t: Tensor, y: Tensor) -> Tensor:
        """x (B, C, H, W), t (B,), y: labels (B,) or caption tokens (B, L) -> guided eps."""
        null = null_condition(self.model, y)  # (B,) null labels or (B, L) empty captions
        if self.w == 0:
            return self.model(x, t, y=null)
        if self.w == 1:
            return self.model(x, t, y=y)
        both = self.model(torch.cat([x, x]), torch.cat([t, t]), y=torch.cat([y, null]))  # (2B, ...)
        eps_cond, eps_uncond = both.chunk(2)  # (B, ...) each
        return eps_uncond + self.w * (eps_cond - eps_uncond)


class ClassifierGuidance(nn.Module):
    """``model`` (eps-prediction) guided by the gradient of a noise-aware ``classifier(x_t, t)``
    (logits) with scale ``s``: forward(x, t, y) returns
    eps(x, t) - s sqrt(1 - alpha_bar_t) grad_x log p(y | x_t, t)."""

    def __init__(self, model: nn.Module, classifier: nn.Module, schedule: Schedule, s: float):
        super().__init__()
        if not isinstance(s, (int, float)) or s < 0:
            raise ValueError(f"the classifier guidance scale s must be a number >= 0, got {s!r}")
        self.model, self.classifier, self.schedule, self.s = model, classifier, schedule, float(s)
        self.config = getattr(model, "config", None)

    def forward(self, x: Tensor, t: Tensor, y: Tensor) -> Tensor:
        eps = self.model(x, t)
        if self.s == 0:
            return eps
        with torch.enable_grad():
            x_in = x.detach().requires_grad_(True)
            log_p = self.classifier(x_in, t).log_softmax(dim=1)  # (B, n_classes)
            chosen = log_p.gather(1, y[:, None]).sum()  # sum over the batch: each x only affects its own term
            (grad,) = torch.autograd.grad(chosen, x_in)  # (B, C, H, W)
        sigma = (1 - self.schedule.alpha_bar.to(x.device)[t]).sqrt().to(x.dtype)  # (B,)
        return eps - self.s * sigma.reshape(-1, *([1] * (x.ndim - 1))) * grad


__all__ = ["ClassifierFreeGuidance", "ClassifierGuidance"]

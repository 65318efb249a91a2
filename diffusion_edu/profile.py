"""Profiles: one notebook, three sizes.

A profile changes *sizes and step counts*, never the code path. The same chapter runs as a
seconds-long smoke test in CI, a few-minutes run on a laptop CPU, and a full run on a GPU:

- ``smoke``: the smallest sizes that still exercise every line (CI, nbval).
- ``cpu``: what a 2-core laptop trains in a few minutes per chapter.
- ``gpu``: full size, for a CUDA GPU (Colab's T4 is enough).

The profile is picked from the hardware (``gpu`` when CUDA is available, else ``cpu``) and can be
overridden with the environment variable ``DIFFUSION_EDU_PROFILE``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

import torch

ENV_VAR = "DIFFUSION_EDU_PROFILE"


@dataclass(frozen=True)
class Profile:
    """Sizes and step counts for one profile. Add a field here when a chapter needs a size."""

    name: str
    device: str
    # chapter 2: DDPM on 2D data
    toy_steps: int  # training steps of the 2D denoiser
    toy_batch: int  # batch size
    toy_hidden: int  # width of the MLP denoiser
    toy_samples: int  # points generated for figures and metrics
    ddim_steps: int  # steps of the fast sampler
    swd_projections: int  # random directions in the sliced Wasserstein distance
    anim_frames: int  # frames in trajectory animations
    image_size: int  # side of the procedural picture in chapter 1
    # chapters 3-5: images
    image_train_steps: int  # training steps of the digits U-Net in chapter 4
    image_batch: int  # its batch size
    eval_samples: int  # generated images judged by the oracle per measurement
    sampler_steps: tuple[int, ...]  # step counts compared in chapter 5
    # chapters 6-7: conditioning and guidance
    guidance_scales: tuple[float, ...]  # classifier-free guidance scales w swept in chapter 6
    text_train_steps: int  # training steps of the text-conditional shapes U-Net in chapter 7
    text_guidance_scales: tuple[float, ...]  # guidance scales w swept for the text model in chapter 7


PROFILES = {
    "smoke": Profile("smoke", "cpu", toy_steps=600, toy_batch=256, toy_hidden=64,
                     toy_samples=500, ddim_steps=20, swd_projections=64, anim_frames=8,
                     image_size=32, image_train_steps=40, image_batch=32, eval_samples=50,
                     sampler_steps=(5, 10), guidance_scales=(0.0, 1.0, 3.0), text_train_steps=20,
                     text_guidance_scales=(0.0, 3.0, 16.0)),
    "cpu": Profile("cpu", "cpu", toy_steps=8000, toy_batch=1024, toy_hidden=128,
                   toy_samples=2000, ddim_steps=50, swd_projections=256, anim_frames=40,
                   image_size=64, image_train_steps=1200, image_batch=128, eval_samples=600,
                   sampler_steps=(5, 10, 20, 50), guidance_scales=(0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0),
                   text_train_steps=600, text_guidance_scales=(0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 16.0, 20.0)),
    "gpu": Profile("gpu", "cuda", toy_steps=20000, toy_batch=4096, toy_hidden=256,
                   toy_samples=5000, ddim_steps=50, swd_projections=512, anim_frames=60,
                   image_size=128, image_train_steps=4000, image_batch=128, eval_samples=1000,
                   sampler_steps=(5, 10, 20, 50, 100, 250, 1000),
                   guidance_scales=(0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0), text_train_steps=4000,
                   text_guidance_scales=(0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 16.0, 20.0)),
}


def get_profile(name: str | None = None) -> Profile:
    """Return the profile named ``name``, else ``$DIFFUSION_EDU_PROFILE``, else from the hardware.

    >>> get_profile("smoke").toy_steps
    600
    """
    chosen = name or os.environ.get(ENV_VAR) or ("gpu" if torch.cuda.is_available() else "cpu")
    chosen = chosen.strip().lower()
    if chosen not in PROFILES:
        raise ValueError(
            f"unknown profile {chosen!r}: expected one of {sorted(PROFILES)} "
            f"(set by the argument or ${ENV_VAR})"
        )
    profile = PROFILES[chosen]
    if profile.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "profile 'gpu' needs a CUDA device, and torch sees none: "
            f"choose {ENV_VAR}=cpu, or run on a machine with a GPU"
        )
    return profile


def describe(profile: Profile) -> str:
    """One line a chapter prints so the reader knows which sizes it ran with."""
    sizes = ", ".join(f"{f.name}={getattr(profile, f.name)}" for f in fields(profile)[2:])
    return f"profile {profile.name!r} on {profile.device}: {sizes}"


__all__ = ["Profile", "PROFILES", "get_profile", "describe", "replace"]

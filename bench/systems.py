"""The systems the digits benchmark compares: the course's U-Net and two libraries' models.

Every system is a model, a training loss and a sampler, written against that system's own API.
The training loop, the data and the judge are shared (``digits_vs_peers.py``); what differs is
what each library brings. Each system has a *recipe*: the optimiser settings it trains with.

    tuned    AdamW 1e-3, 100 warm-up steps then cosine decay, gradient clipping at 1, EMA 0.995
    default  what a newcomer following the library's README gets (lucidrains: Adam 8e-5, its
             EMA, pred_v and the sigmoid schedule; the Hugging Face course: AdamW 4e-4, constant,
             no clipping, no EMA)

The peers are imported only when their system is built, so the course's system runs without them.
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

STUBS = Path(__file__).parent / "stubs"  # a stand-in torchvision for denoising-diffusion-pytorch


@dataclass(frozen=True)
class Recipe:
    """Optimiser settings: AdamW (or Adam) with an optional warm-up + cosine schedule."""

    name: str
    lr: float
    optimizer: str = "adamw"  # "adamw" or "adam"
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_cosine: bool = True  # False: constant learning rate
    grad_clip: float | None = 1.0
    ema: str | None = "course"  # "course" (diffusion_edu.train.EMA 0.995), "lucidrains" (ema_pytorch), None


TUNED = Recipe("tuned", lr=1e-3)
LUCIDRAINS_DEFAULT = Recipe("default", lr=8e-5, optimizer="adam", betas=(0.9, 0.99), warmup_cosine=False,
                            ema="lucidrains")
HF_COURSE = Recipe("default", lr=4e-4, warmup_cosine=False, grad_clip=None, ema=None)


@dataclass
class Built:
    """A system ready to train: the trainable module, its loss on a batch x_0 (B, 1, 16, 16) in
    [-1, 1], and a sampler of n images (n, 1, 16, 16) in [-1, 1] from given weights."""

    model: nn.Module
    loss: Callable[[Tensor, torch.Generator], Tensor]
    sample: Callable[[nn.Module, int, int], Tensor]  # (weights to sample with, n, seed) -> images
    parameters: int


@dataclass(frozen=True)
class System:
    name: str  # e.g. "course", "diffusers-tuned"
    label: str  # for tables and plots
    build: Callable[[], Built]
    recipe: Recipe
    needs: tuple[str, ...] = ()  # packages it imports


# --------------------------------------------------------------------------------- the course
def build_course() -> Built:
    """The digits16 U-Net of chapter 4 (diffusion_edu.models.unet.UNet, 1.08M parameters), its
    eps-prediction loss under the cosine schedule, and its DDIM sampler (50 steps, eta = 0)."""
    from diffusion_edu.evaluate import generate
    from diffusion_edu.losses import diffusion_loss
    from diffusion_edu.models.unet import UNet, UNetConfig
    from diffusion_edu.schedules import make_schedule

    model, schedule = UNet(UNetConfig()), make_schedule("cosine", 1000)

    def loss(x0, generator):
        return diffusion_loss(model, x0, schedule, "eps", generator).loss

    def sample(weights, n, seed):
        return generate(weights, schedule, n, "ddim", 50, seed=seed)

    return Built(model, loss, sample, _count(model))


# ------------------------------------------------------------------------ diffusers (HF course)
def build_diffusers() -> Built:
    """diffusers' UNet2DModel as the Hugging Face diffusion course builds it (two ResNet layers
    per block, attention at the lowest resolution), channels (24, 48, 48): 0.92M parameters.
    DDPMScheduler with the cosine schedule for training, DDIMScheduler (50 steps, eta = 0) for
    sampling."""
    from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel

    model = UNet2DModel(sample_size=16, in_channels=1, out_channels=1, layers_per_block=2,
                        block_out_channels=(24, 48, 48), norm_num_groups=8,
                        down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
                        up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"))
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")

    def loss(x0, generator):
        noise = torch.randn(x0.shape, generator=generator).to(x0.device)
        t = torch.randint(0, 1000, (len(x0),), generator=generator).to(x0.device)
        noisy = scheduler.add_noise(x0, noise, t)
        return nn.functional.mse_loss(model(noisy, t).sample, noise)

    @torch.no_grad()
    def sample(weights, n, seed):
        ddim = DDIMScheduler.from_config(scheduler.config)
        ddim.set_timesteps(50)
        device = next(weights.parameters()).device
        x = torch.randn((n, 1, 16, 16), generator=torch.Generator().manual_seed(seed)).to(device)
        for t in ddim.timesteps:
            x = ddim.step(weights(x, t).sample, t, x, eta=0.0).prev_sample
        return x.clamp(-1, 1).cpu()

    return Built(model, loss, sample, _count(model))


# ---------------------------------------------------------------- denoising-diffusion-pytorch
@contextlib.contextmanager
def stand_in_torchvision():
    """Put a stand-in ``torchvision`` first on the import path while denoising-diffusion-pytorch
    is imported. That package imports torchvision at import time, for its image-folder Trainer
    and FID helper only (neither is used here), and torchvision's wheels do not load against
    this machine's CPU build of torch. A real torchvision, if one is importable, is left alone.
    The importing module keeps its references to the stand-in; ``sys.modules`` does not."""
    try:
        import torchvision  # noqa: F401
        yield
        return
    except Exception:  # not installed, or installed but broken
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
    sys.path.insert(0, str(STUBS))
    try:
        yield
    finally:  # gone again, so that nothing imported later (diffusers) takes it for torchvision
        sys.path.remove(str(STUBS))
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]


def build_lucidrains(objective: str = "pred_noise", beta_schedule: str = "cosine") -> Built:
    """lucidrains' ``Unet(dim=24, dim_mults=(1, 2, 2))`` (0.83M parameters) inside its
    ``GaussianDiffusion`` (1000 steps; DDIM with 50 steps and eta = 0 for sampling). The tuned
    system predicts eps under the cosine schedule; the library's defaults are v-prediction and
    a sigmoid schedule."""
    with stand_in_torchvision():
        from denoising_diffusion_pytorch import GaussianDiffusion, Unet

    unet = Unet(dim=24, dim_mults=(1, 2, 2), channels=1)
    diffusion = GaussianDiffusion(unet, image_size=16, timesteps=1000, sampling_timesteps=50,
                                  objective=objective, beta_schedule=beta_schedule)

    def loss(x0, generator):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))  # it draws t and noise itself
        return diffusion((x0 + 1) / 2)  # it takes images in [0, 1]

    @torch.no_grad()
    def sample(weights, n, seed):
        torch.manual_seed(seed)
        return (weights.sample(batch_size=n) * 2 - 1).clamp(-1, 1).cpu()

    return Built(diffusion, loss, sample, _count(unet))


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


SYSTEMS = {
    s.name: s
    for s in (
        System("course", "diffusion_edu UNet (this course)", build_course, TUNED),
        System("diffusers-tuned", "diffusers UNet2DModel, tuned recipe", build_diffusers, TUNED, ("diffusers",)),
        System("diffusers-course", "diffusers UNet2DModel, HF course recipe", build_diffusers, HF_COURSE,
               ("diffusers",)),
        System("lucidrains-tuned", "denoising-diffusion-pytorch Unet, tuned recipe", build_lucidrains, TUNED,
               ("denoising_diffusion_pytorch",)),
        System("lucidrains-default", "denoising-diffusion-pytorch Unet, its defaults",
               lambda: build_lucidrains("pred_v", "sigmoid"), LUCIDRAINS_DEFAULT, ("denoising_diffusion_pytorch",)),
    )
}

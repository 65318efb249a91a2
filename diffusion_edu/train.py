"""The one training loop of the course.

    repeat for `steps` steps:
        x_0 ~ data (a random batch), with its labels y if given
        y <- null label with probability label_dropout (one model, conditional and not: the
             training half of classifier-free guidance)
        loss = diffusion_loss(model, x_0, y=y)  (see losses.py), optionally under bf16 autocast
        AdamW step, with linear warm-up then cosine decay of the learning rate,
        gradient clipping, and an exponential moving average (EMA) of the weights

It reports a loss history, the loss per timestep bucket (the first place to look when samples
come out as noise: which noise levels has the model not learned?), and throughput. A loss that
becomes NaN or infinite stops training with a message instead of silently producing noise.

:func:`train_classifier` is the one other loop: it fits the "oracle" classifier that judges
generated images (cross-entropy, AdamW, the same learning-rate schedule, random shifts as
augmentation).
"""
from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm import tqdm

from .forward import q_sample
from .losses import diffusion_loss, sample_timesteps
from .metrics import classifier_accuracy
from .models import null_condition
from .schedules import Schedule


@dataclass(frozen=True)
class TrainConfig:
    """Everything the loop needs besides model, data and schedule."""

    steps: int
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 100
    grad_clip: float | None = 1.0  # max gradient norm; None to disable
    ema_decay: float | None = 0.995  # None to disable the EMA
    prediction: str = "eps"  # what the model predicts: "eps", "x0" or "v"
    seed: int = 0
    t_buckets: int = 10  # bins of t for the per-timestep loss
    progress: bool = True  # show a tqdm progress bar (on stderr)
    bf16: bool = False  # run forward and loss under bfloat16 autocast (weights stay float32)
    label_dropout: float = 0.0  # with labels: probability of replacing a label by the null label
    snapshots: tuple[int, ...] = ()  # after these step counts, keep a copy of the (EMA) model

    def __post_init__(self):
        for name in ("steps", "batch_size", "t_buckets"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {self.ema_decay}")
        object.__setattr__(self, "snapshots", tuple(self.snapshots))
        if any(not isinstance(s, int) or not 1 <= s <= self.steps for s in self.snapshots):
            raise ValueError(f"snapshots are step counts in [1, steps={self.steps}], got {self.snapshots}")
        if not 0 <= self.label_dropout < 1:
            raise ValueError(f"label_dropout must be in [0, 1), got {self.label_dropout}")


@dataclass
class TrainResult:
    """What a run produced. ``model`` is the EMA copy when the EMA is on (sample from it)."""

    model: nn.Module
    losses: list[float]  # loss of every step
    t_bucket_loss: Tensor  # (t_buckets,) mean loss per range of t over the last fifth of training
    t_bucket_edges: Tensor  # (t_buckets + 1,) the ranges: bucket i holds edges[i] <= t < edges[i+1]
    seconds: float
    snapshots: dict[int, nn.Module] = field(default_factory=dict)  # step count -> copy of the model then
    steps_per_second: float = field(init=False)

    def __post_init__(self):
        self.steps_per_second = len(self.losses) / max(self.seconds, 1e-9)


class EMA:
    """Exponential moving average of a model's weights: theta_ema <- d theta_ema + (1 - d) theta.

    The decay is warmed up as min(d, (1 + n) / (10 + n)) after n updates, so the average is not
    dominated by the random initial weights in short runs.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for p_ema, p in zip(self.model.parameters(), model.parameters()):
            p_ema.lerp_(p.detach(), 1 - d)
        for b_ema, b in zip(self.model.buffers(), model.buffers()):
            b_ema.copy_(b)


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate multiplier: linear from 0 to 1 over warm-up, then cosine from 1 down to 0.1."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def bf16_supported(device: torch.device | str) -> bool:
    """Whether bfloat16 autocast runs natively on ``device``: on a CPU it needs AVX512-BF16 or
    AMX (emulated bf16 is many times slower than float32); on CUDA, compute capability 8 (Ampere)
    or newer."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def autocast(device: torch.device, enabled: bool):
    """The bfloat16 autocast context of ``train`` (a no-op when not enabled)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def train(model: nn.Module, data: Tensor, schedule: Schedule, config: TrainConfig,
          labels: Tensor | None = None) -> TrainResult:
    """Train ``model`` to denoise ``data`` (N, ...) under ``schedule``; see the module docstring.

    Batches are drawn at random from ``data`` with a generator seeded by ``config.seed``, and
    moved to the model's device. With ``labels`` (N, ...) (long: class labels (N,), or caption
    tokens (N, L) for a text model), the model is called as ``model(x_t, t, y=labels_of_the_batch)``,
    and ``config.label_dropout`` of them are replaced by the model's null condition (the null
    label, or the empty caption: :func:`~diffusion_edu.models.null_condition`). ``config.bf16`` on a device without native
    bfloat16 warns and trains in float32 (emulated bf16 would be slower, not faster).
    """
    if not isinstance(data, Tensor) or data.ndim < 2 or len(data) < 1:
        raise ValueError(f"data must be a tensor (N, ...) with N >= 1 examples, got {getattr(data, 'shape', type(data))}")
    _check_labels(model, data, labels, config)
    device = next(model.parameters()).device
    use_bf16 = config.bf16 and bf16_supported(device)
    if config.bf16 and not use_bf16:
        warnings.warn(f"bf16 was asked for, but {device.type} here has no native bfloat16: "
                      "training in float32 instead", stacklevel=2)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    lr_at = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_cosine(s, config.warmup_steps, config.steps)
    )
    ema = EMA(model, config.ema_decay) if config.ema_decay else None
    edges = torch.linspace(0, schedule.T, config.t_buckets + 1).long()
    bucket_sum = torch.zeros(config.t_buckets, dtype=torch.float64)
    bucket_count = torch.zeros(config.t_buckets, dtype=torch.float64)
    tail_start = config.steps - max(1, config.steps // 5)

    losses: list[float] = []
    snapshots: dict[int, nn.Module] = {}
    model.train()
    start = time.perf_counter()
    bar = tqdm(range(config.steps), desc="training", disable=not config.progress,
               file=sys.stderr, mininterval=1.0, smoothing=0.1)
    for step in bar:
        idx = torch.randint(0, len(data), (config.batch_size,), generator=generator)
        x0 = data[idx].to(device)
        model_kwargs = {}
        if labels is not None:
            y = labels[idx]  # (B,) labels or (B, L) tokens
            if config.label_dropout:
                dropped = torch.rand(len(y), generator=generator) < config.label_dropout  # (B,)
                dropped = dropped.reshape(-1, *([1] * (y.ndim - 1)))  # broadcasts over a caption's tokens
                y = torch.where(dropped, null_condition(model, y), y)
            model_kwargs["y"] = y.to(device)
        with autocast(device, use_bf16):
            out = diffusion_loss(model, x0, schedule, config.prediction, generator, **model_kwargs)
        loss_value = out.loss.item()
        if not math.isfinite(loss_value):
            bar.close()
            raise FloatingPointError(
                f"the loss became {loss_value} at step {step}: training stopped. Likely causes: a "
                f"learning rate too high (lr={config.lr}), NaN or inf in the data, or no "
                f"gradient clipping (grad_clip={config.grad_clip})"
            )
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        if config.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        lr_at.step()
        if ema is not None:
            ema.update(model)
        losses.append(loss_value)
        if step + 1 in config.snapshots:
            snapshots[step + 1] = copy.deepcopy(ema.model if ema is not None else model).eval()
        if step >= tail_start:
            bucket = torch.bucketize(out.t.cpu(), edges[1:], right=True)  # (B,) in [0, t_buckets)
            bucket_sum.index_add_(0, bucket, out.per_example.double().cpu())
            bucket_count.index_add_(0, bucket, torch.ones_like(bucket, dtype=torch.float64))
        if step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}", refresh=False)
    seconds = time.perf_counter() - start
    bar.close()
    model.eval()
    return TrainResult(
        model=ema.model if ema is not None else model,
        losses=losses,
        t_bucket_loss=(bucket_sum / bucket_count.clamp(min=1)).float(),
        t_bucket_edges=edges,
        seconds=seconds,
        snapshots=snapshots,
    )


@torch.no_grad()
def _accuracy_at_t0(model: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 500) -> float:
    """Accuracy of a noisy classifier model(x_t, t) on clean images (t = 0)."""
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size].to(device)  # (b, C, H, W)
        logits = model(x, torch.zeros(len(x), dtype=torch.long, device=device))
        correct += (logits.argmax(1).cpu() == labels[start : start + batch_size]).sum().item()
    return correct / len(images)


def _check_labels(model: nn.Module, data: Tensor, labels: Tensor | None, config: TrainConfig) -> None:
    """Validate ``labels`` against ``data`` and the model (with its ``check_condition`` if it has one)."""
    if labels is None:
        if config.label_dropout:
            raise ValueError(f"label_dropout={config.label_dropout} needs labels: pass labels=(N,) to train")
        return
    if not isinstance(labels, Tensor) or labels.ndim < 1 or len(labels) != len(data) or labels.dtype != torch.long:
        raise ValueError(f"labels must be a long tensor with one row per example, (N,) = ({len(data)},) or "
                         f"(N, L) caption tokens, got {getattr(labels, 'dtype', type(labels))} "
                         f"{tuple(getattr(labels, 'shape', ()))}")
    if hasattr(model, "check_condition") and getattr(getattr(model, "config", None), "num_classes", 0) is not None:
        model.check_condition(labels)
        return
    num_classes = getattr(getattr(model, "config", None), "num_classes", None)
    if num_classes is None:
        raise ValueError("labels were given, but the model is unconditional: build it with "
                         "UNetConfig(num_classes=...) or train without labels")
    if labels.ndim != 1 or (len(labels) and (labels.min() < 0 or labels.max() >= num_classes)):
        raise ValueError(f"labels must be (N,) in [0, {num_classes - 1}] for a model with num_classes={num_classes}, "
                         f"got min {labels.min().item()}, max {labels.max().item()}")


# ---------------------------------------------------------------------- the oracle classifier
@dataclass
class ClassifierResult:
    """What :func:`train_classifier` produced."""

    model: nn.Module  # the trained classifier, in eval mode
    losses: list[float]  # cross-entropy of every step
    train_accuracy: float  # on all training images, without augmentation
    eval_accuracy: float | None  # on (eval_images, eval_labels) if given
    seconds: float


def random_shift(images: Tensor, max_shift: int, generator: torch.Generator, fill: float = -1.0) -> Tensor:
    """Move each image (B, C, H, W) by its own random (dy, dx) in [-max_shift, max_shift]^2 pixels,
    filling the uncovered border with ``fill`` (the background, -1 for images in [-1, 1])."""
    B, _, H, W = images.shape  # (B, C, H, W)
    padded = nn.functional.pad(images, (max_shift,) * 4, value=fill)  # (B, C, H + 2m, W + 2m)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, B), generator=generator).to(images.device)  # (B,) each
    rows = dy[:, None] + torch.arange(H, device=images.device)  # (B, H)
    cols = dx[:, None] + torch.arange(W, device=images.device)  # (B, W)
    batch = torch.arange(B, device=images.device)[:, None, None]  # (B, 1, 1)
    shifted = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return shifted.permute(0, 3, 1, 2)  # (B, C, H, W)


def train_classifier(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    steps: int = 600,
    batch_size: int = 128,
    lr: float = 3e-3,
    seed: int = 0,
    augment: int = 2,
    eval_images: Tensor | None = None,
    eval_labels: Tensor | None = None,
    progress: bool = True,
    schedule: Schedule | None = None,
) -> ClassifierResult:
    """Fit ``model`` to predict labels (N,) from images (N, C, H, W) by minimising cross-entropy,

        loss = -mean_i log softmax(model(x_i))[y_i],

    with AdamW and the learning rate of :func:`warmup_cosine` (warm-up over the first 5% of
    steps). ``augment`` is the largest random shift in pixels (0 for none): a 2-pixel shift is one
    pixel of the 8x8 digits. Batches and shifts are drawn from a generator seeded by ``seed``.
    The defaults with ``ImageClassifier()`` reach 99% on the digits' test split (about a minute
    on two CPU cores).

    With a ``schedule``, the classifier learns p(y | x_t, t) for classifier guidance: every batch
    is noised to x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps at timesteps t drawn
    uniformly, and the model is called as ``model(x_t, t)``. Accuracies are then reported on
    clean images (t = 0).
    """
    if not isinstance(images, Tensor) or images.ndim != 4 or len(images) < 1:
        raise ValueError(f"images must be a tensor (N, C, H, W) with N >= 1, got {getattr(images, 'shape', type(images))}")
    if labels.shape != (len(images),) or labels.dtype != torch.long:
        raise ValueError(f"labels must be a long tensor of shape (N,) = ({len(images)},), got "
                         f"{labels.dtype} {tuple(labels.shape)}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if augment < 0:
        raise ValueError(f"augment is the largest shift in pixels, >= 0, got {augment}")
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    lr_at = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_cosine(s, max(1, steps // 20), steps))

    losses: list[float] = []
    model.train()
    start = time.perf_counter()
    bar = tqdm(range(steps), desc="training classifier", disable=not progress,
               file=sys.stderr, mininterval=1.0, smoothing=0.1)
    for step in bar:
        idx = torch.randint(0, len(images), (batch_size,), generator=generator)
        x, y = images[idx], labels[idx]  # (B, C, H, W), (B,)
        if augment:
            x = random_shift(x, augment, generator)
        if schedule is None:
            logits = model(x.to(device))  # (B, n_classes)
        else:
            t = sample_timesteps(len(x), schedule.T, generator)  # (B,)
            x, _ = q_sample(x, t, schedule, eps=torch.randn(x.shape, generator=generator))
            logits = model(x.to(device), t.to(device))
        loss = nn.functional.cross_entropy(logits, y.to(device))
        if not math.isfinite(loss.item()):
            bar.close()
            raise FloatingPointError(f"the loss became {loss.item()} at step {step}: training stopped "
                                     f"(lr={lr} too high, or NaN in the images?)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr_at.step()
        losses.append(loss.item())
        if step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}", refresh=False)
    seconds = time.perf_counter() - start
    bar.close()
    model.eval()
    evaluated = eval_images is not None and eval_labels is not None
    accuracy = classifier_accuracy if schedule is None else _accuracy_at_t0
    return ClassifierResult(
        model=model,
        losses=losses,
        train_accuracy=accuracy(model, images, labels),
        eval_accuracy=accuracy(model, eval_images, eval_labels) if evaluated else None,
        seconds=seconds,
    )


if __name__ == "__main__":  # python -m diffusion_edu.train RECIPE: reproduce a shipped checkpoint
    from diffusion_edu.recipes import main

    main()

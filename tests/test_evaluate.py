"""evaluate.py: generate images in seeded batches, and judge them with the oracle.

The oracle is the shipped digits16_oracle; the "model" here is untrained or an exact denoiser,
so these tests check plumbing and the meaning of the numbers, not a trained model's quality
(tests/test_checkpoints.py holds the shipped digits16 model to the issue's targets).
"""
from __future__ import annotations

import pytest
import torch

from diffusion_edu import checkpoints
from diffusion_edu.data.digits import load_digits16
from diffusion_edu.evaluate import SAMPLERS, generate, judge, real_baseline, timed_generate
from diffusion_edu.models.unet import UNet, UNetConfig
from diffusion_edu.schedules import make_schedule

SCHEDULE = make_schedule("cosine", 100)


@pytest.fixture(scope="module")
def tiny_unet():
    torch.manual_seed(0)
    model = UNet(UNetConfig(base_channels=8, channel_mults=(1, 2), mid_attention=False, num_classes=3))
    torch.nn.init.normal_(model.out_conv.weight, std=0.05)  # not the zero output of a fresh U-Net
    return model.eval()


@pytest.fixture(scope="module")
def oracle():
    return checkpoints.load("digits16_oracle")[0]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_generate_is_seeded_batched_and_clamped(tiny_unet, sampler):
    a = generate(tiny_unet, SCHEDULE, 7, sampler, steps=4, seed=3, batch_size=3)
    b = generate(tiny_unet, SCHEDULE, 7, sampler, steps=4, seed=3, batch_size=3)
    assert a.shape == (7, 1, 16, 16)
    assert a.min() >= -1 and a.max() <= 1
    if sampler != "ddpm":
        assert torch.equal(a, b), "a deterministic sampler with the same seed gives the same images"
    c = generate(tiny_unet, SCHEDULE, 7, sampler, steps=4, seed=4, batch_size=3)
    assert not torch.equal(a, c), "another seed gives other images"


def test_batching_does_not_change_the_images(tiny_unet):
    """The starting noise is drawn batch by batch from one generator: the same n images either way."""
    one = generate(tiny_unet, SCHEDULE, 6, "ddim", steps=3, seed=0, batch_size=6)
    two = generate(tiny_unet, SCHEDULE, 6, "ddim", steps=3, seed=0, batch_size=2)
    torch.testing.assert_close(one, two, rtol=1e-4, atol=1e-5)


def test_labels_are_sliced_per_batch(tiny_unet):
    y = torch.tensor([0, 1, 2, 0, 1])
    batched = generate(tiny_unet, SCHEDULE, 5, "ddim", steps=3, seed=0, batch_size=2, y=y)
    whole = generate(tiny_unet, SCHEDULE, 5, "ddim", steps=3, seed=0, batch_size=5, y=y)
    torch.testing.assert_close(batched, whole, rtol=1e-4, atol=1e-5)
    seen = []
    handle = tiny_unet.register_forward_pre_hook(lambda m, args, kwargs: seen.append(kwargs["y"]), with_kwargs=True)
    try:
        generate(tiny_unet, SCHEDULE, 5, "ddim", steps=1, seed=0, batch_size=2, y=y)
    finally:
        handle.remove()
    assert [s.tolist() for s in seen] == [[0, 1], [2, 0], [1]], "each batch gets its own slice of the labels"


def test_bad_arguments_say_what_was_expected(tiny_unet):
    with pytest.raises(ValueError, match="unknown sampler 'heun'.*ddpm"):
        generate(tiny_unet, SCHEDULE, 2, "heun")
    with pytest.raises(ValueError, match="n and batch_size must be positive"):
        generate(tiny_unet, SCHEDULE, 0)


def test_real_digits_are_judged_real_and_noise_is_not(oracle):
    train_images, _ = load_digits16("train")
    test_images, _ = load_digits16("test")
    floor = real_baseline(oracle, train_images[:360], test_images)
    noise = judge(torch.randn(360, 1, 16, 16).clamp(-1, 1), oracle, test_images)
    assert floor["confident"] > 0.95 and floor["class_balance"] > 0.95
    assert floor["frechet"] < 60, floor
    assert noise["frechet"] > 10 * floor["frechet"], (noise, floor)
    one_class = judge(train_images[:360][oracle(train_images[:360]).argmax(1) == 3], oracle, test_images)
    assert one_class["class_balance"] < 0.2 and one_class["frechet"] > 3 * floor["frechet"], "a single digit is a poor set"


def test_timed_generate_returns_seconds(tiny_unet):
    images, seconds = timed_generate(tiny_unet, SCHEDULE, 2, "ddim", steps=2)
    assert images.shape == (2, 1, 16, 16) and seconds > 0

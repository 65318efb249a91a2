"""Recipes: how each shipped checkpoint was made, as data plus one short function each.

    python -m diffusion_edu.train digits16          # retrain a checkpoint from its recipe
    python -m diffusion_edu.train digits16 --steps 500 --out /tmp/ckpt   # a shorter run elsewhere

A recipe fixes everything that decides the result: data, model config, schedule, training
config and seed. Rerunning it reproduces the checkpoint up to floating-point differences between
machines (the checkpoint's JSON records where and how long it trained).
"""
from __future__ import annotations

import argparse
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from . import checkpoints
from .schedules import make_schedule
from .train import TrainConfig, bf16_supported, train, train_classifier

DIGITS16 = dict(
    schedule=("cosine", 1000),
    train=TrainConfig(steps=4000, batch_size=128, lr=1e-3, warmup_steps=100, grad_clip=1.0,
                      ema_decay=0.995, prediction="eps", seed=0, bf16=True),
)
DIGITS16_ORACLE = dict(steps=600, batch_size=128, lr=3e-3, seed=0, augment=2)
DIGITS16_COND = dict(  # the digits16 recipe, plus labels (dropped 15% of the time, for CFG)
    schedule=("cosine", 1000),
    train=replace(DIGITS16["train"], label_dropout=0.15),
)
DIGITS16_NOISY_CLASSIFIER = dict(steps=3000, batch_size=128, lr=3e-3, seed=0, augment=2)
SHAPES16_TEXT = dict(  # captions -> 16x16 shapes; three colour-shape pairs never seen in training
    schedule=("cosine", 1000),
    held_out=(("red", "triangle"), ("green", "circle"), ("blue", "square")),
    n_images=20000,
    word_dropout=0.0,  # colour and shape words dropped to <pad> in training; 0.2 measured worse (below)
    unet=dict(in_channels=3, base_channels=32, channel_mults=(1, 2, 2), attention_levels=(1, 2), context_dim=64),
    # no transformer layers in the text encoder, and the pooled caption added to the time
    # embedding. Held-out colour-shape pairs drawn right (108 samples, DDIM-50, best w):
    # 2 layers, cross-attention only: 27%; 0 layers, cross-attention only: 65% (w >= 5);
    # 0 layers + word dropout 0.2: 37%; 0 layers + pooled caption: 96% (w = 12; 93% on 216 fresh
    # samples). Seen captions: 100% for all. Chapter 7 shows the three shipped ones.
    text=dict(text_dim=64, text_layers=0, text_heads=4, pooled=True),
    train=replace(DIGITS16["train"], steps=3500, label_dropout=0.1),
)

NOTES_PITCH = dict(  # log-mel images of synthetic notes (64 x 32), labelled by pitch and instrument
    schedule=("cosine", 1000),
    n_notes=4000,
    unet=dict(in_channels=1, base_channels=24, channel_mults=(1, 2, 2, 2), num_classes=25 * 4),
    train=replace(DIGITS16["train"], steps=2500, batch_size=64, label_dropout=0.1),
)


def _device_note(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    threads = torch.get_num_threads()
    return f"{platform.processor() or platform.machine()} CPU, {threads} thread{'s' if threads != 1 else ''}"


def _train_denoiser(name: str, recipe: dict, train_config, model, data, labels, device: str):
    """What every denoiser recipe shares: train ``model`` on ``data`` (with ``labels``, or None)
    under the recipe's schedule, and record how, where and how long. Returns the training
    result, the schedule and the metadata so far (the caller adds its measurements)."""
    schedule = make_schedule(*recipe["schedule"])
    start = time.perf_counter()
    result = train(model, data, schedule, train_config, labels=labels)
    meta = {
        "recipe": name, "schedule": {"name": recipe["schedule"][0], "T": recipe["schedule"][1]},
        "train_config": asdict(train_config), "trained_on": _device_note(device),
        "bf16_used": train_config.bf16 and bf16_supported(device),
        "train_seconds": round(time.perf_counter() - start, 1),
        "final_loss": sum(result.losses[-100:]) / min(100, len(result.losses)),
    }
    return result, schedule, meta


def _train_digits_unet(name: str, recipe: dict, config, steps: int | None, out: Path | None, device: str,
                      with_labels: bool, measure) -> Path:
    """What the digits U-Net recipes share: train on the training digits (with their labels or
    not), record how, where and how long, measure the result with ``measure(model, schedule)``,
    and save the EMA model as checkpoint ``name``."""
    from .data.digits import load_digits16
    from .models.unet import UNet

    train_config = recipe["train"] if steps is None else replace(recipe["train"], steps=steps)
    images, labels = load_digits16("train")
    torch.manual_seed(train_config.seed)
    model = UNet(config).to(device)
    result, schedule, meta = _train_denoiser(name, recipe, train_config, model, images,
                                             labels if with_labels else None, device)
    meta.update(measure(result.model, schedule))
    return checkpoints.save(name, result.model, "UNet", config, meta, folder=out)


def digits16(steps: int | None = None, out: Path | None = None, device: str = "cpu") -> Path:
    """An unconditional U-Net (~1M parameters) on scikit-learn's digits, 16x16, cosine schedule."""
    from .models.unet import UNetConfig

    return _train_digits_unet("digits16", DIGITS16, UNetConfig(), steps, out, device, with_labels=False,
                              measure=lambda model, schedule: {"quality": digits16_quality(model, schedule)})


def digits16_quality(model, schedule, n: int = 500, steps: int = 50, seed: int = 0) -> dict:
    """The issue's measurement of a digits16 model: ``n`` DDIM samples with ``steps`` steps, judged
    by the shipped oracle against the 360 test digits, next to 500 real training digits."""
    from .data.digits import load_digits16
    from .evaluate import generate, judge

    oracle, _ = checkpoints.load("digits16_oracle")
    test_images, _ = load_digits16("test")
    train_images, _ = load_digits16("train")
    samples = generate(model, schedule, n, "ddim", steps, seed=seed)
    verdict = judge(samples, oracle.to("cpu"), test_images)
    floor = judge(train_images[:n], oracle, test_images)
    return {"sampler": f"ddim-{steps}", "n": n, "seed": seed, **verdict,
            "real_confident": floor["confident"], "real_frechet": floor["frechet"]}


def digits16_oracle(steps: int | None = None, out: Path | None = None, device: str = "cpu") -> Path:
    """The judge for digits16 samples: a small CNN trained on the real training digits."""
    from .data.digits import load_digits16
    from .models.classifier import ImageClassifier

    settings = DIGITS16_ORACLE if steps is None else {**DIGITS16_ORACLE, "steps": steps}
    images, labels = load_digits16("train")
    test_images, test_labels = load_digits16("test")
    torch.manual_seed(settings["seed"])
    model = ImageClassifier(in_channels=1, n_classes=10).to(device)
    start = time.perf_counter()
    result = train_classifier(model, images, labels, eval_images=test_images, eval_labels=test_labels, **settings)
    meta = {
        "recipe": "digits16_oracle", "train_settings": settings, "trained_on": _device_note(device),
        "train_seconds": round(time.perf_counter() - start, 1), "test_accuracy": result.eval_accuracy,
    }
    config = {"in_channels": 1, "n_classes": 10}
    return checkpoints.save("digits16_oracle", result.model, "ImageClassifier", config, meta, folder=out, half=False)


def digits16_cond(steps: int | None = None, out: Path | None = None, device: str = "cpu") -> Path:
    """A class-conditional U-Net on the digits (label embedding added to the time embedding),
    trained with label dropout so one model is also unconditional: classifier-free guidance."""
    from .models.unet import UNetConfig

    return _train_digits_unet("digits16_cond", DIGITS16_COND, UNetConfig(num_classes=10), steps, out, device,
                              with_labels=True,
                              measure=lambda model, schedule: {"guidance": digits16_cond_quality(model, schedule)})


def digits16_cond_quality(model, schedule, scales=(0.0, 1.0, 2.0, 3.0, 5.0), n: int = 500, steps: int = 50) -> dict:
    """For each CFG scale w: DDIM samples of n requested digits (n / 10 of each), the oracle's
    accuracy on the requested digit, its confident fraction and the Frechet distance."""
    from .data.digits import load_digits16
    from .evaluate import generate, judge
    from .guidance import ClassifierFreeGuidance
    from .metrics import classifier_accuracy

    oracle, _ = checkpoints.load("digits16_oracle")
    test_images, _ = load_digits16("test")
    requested = torch.arange(n) % 10  # (n,)
    results = {}
    for w in scales:
        samples = generate(ClassifierFreeGuidance(model, w), schedule, n, "ddim", steps, seed=0, y=requested)
        results[str(w)] = {**judge(samples, oracle, test_images),
                           "accuracy": classifier_accuracy(oracle, samples, requested)}
    return {"sampler": f"ddim-{steps}", "n": n, "by_w": results}


def digits16_noisy_classifier(steps: int | None = None, out: Path | None = None, device: str = "cpu") -> Path:
    """p(y | x_t, t) on the digits, for classifier guidance: the oracle's network told t, trained
    on images noised at random timesteps of the digits16 schedule."""
    from .data.digits import load_digits16
    from .models.classifier import NoisyImageClassifier

    settings = DIGITS16_NOISY_CLASSIFIER if steps is None else {**DIGITS16_NOISY_CLASSIFIER, "steps": steps}
    images, labels = load_digits16("train")
    test_images, test_labels = load_digits16("test")
    torch.manual_seed(settings["seed"])
    model = NoisyImageClassifier(in_channels=1, n_classes=10).to(device)
    schedule = make_schedule(*DIGITS16["schedule"])
    start = time.perf_counter()
    result = train_classifier(model, images, labels, eval_images=test_images, eval_labels=test_labels,
                              schedule=schedule, **settings)
    meta = {
        "recipe": "digits16_noisy_classifier", "train_settings": settings,
        "schedule": {"name": DIGITS16["schedule"][0], "T": DIGITS16["schedule"][1]},
        "trained_on": _device_note(device), "train_seconds": round(time.perf_counter() - start, 1),
        "test_accuracy_t0": result.eval_accuracy,
    }
    config = {"in_channels": 1, "n_classes": 10}
    return checkpoints.save("digits16_noisy_classifier", result.model, "NoisyImageClassifier", config, meta,
                            folder=out, half=False)


def shapes16_text_model(text_layers: int | None = None, pooled: bool | None = None, **unet_changes):
    """An untrained text-to-image model of the shapes16_text recipe (``unet_changes`` override
    the U-Net's sizes, ``text_layers`` the text encoder's depth, ``pooled`` whether the pooled
    caption joins the time embedding)."""
    from .data.shapes import VOCABULARY
    from .models.text_to_image import TextToImage, TextToImageConfig
    from .models.unet import UNetConfig
    from .tokenizer import CaptionTokenizer

    unet = UNetConfig(**{**SHAPES16_TEXT["unet"], **unet_changes})
    text = dict(SHAPES16_TEXT["text"])
    if text_layers is not None:
        text["text_layers"] = text_layers
    if pooled is not None:
        text["pooled"] = pooled
    return TextToImage(TextToImageConfig(unet, VOCABULARY, CaptionTokenizer().max_words, **text))


def drop_words(tokens, p: float, seed: int = 0):
    """Word dropout for the shapes captions: in each caption (tokens (N, L)), replace the colour
    word and, independently, the shape word by <pad> with probability ``p`` each. The model then
    also learns what "triangle" alone and "red" alone ask for, which helps it combine words it
    never saw together. (Positions 3 and 4 hold the colour and the shape: <start> a size colour
    shape in the ...)."""
    generator = torch.Generator().manual_seed(seed)
    tokens = tokens.clone()
    for position in (3, 4):  # colour, shape
        dropped = torch.rand(len(tokens), generator=generator) < p  # (N,)
        tokens[dropped, position] = 0  # <pad>
    return tokens


def _train_shapes_text(name: str, text_layers: int, pooled: bool, steps: int | None, out: Path | None,
                       device: str) -> Path:
    """Train the shapes16_text recipe with a text encoder of ``text_layers`` transformer layers
    (with or without the ``pooled`` caption), measure it and save it as checkpoint ``name``."""
    from .data.shapes import make_shapes

    recipe = SHAPES16_TEXT
    train_config = recipe["train"] if steps is None else replace(recipe["train"], steps=steps)
    data = make_shapes(recipe["n_images"], 16, held_out=recipe["held_out"], seed=train_config.seed)
    torch.manual_seed(train_config.seed)
    model = shapes16_text_model(text_layers, pooled).to(device)
    tokens = drop_words(model.tokenizer.encode(data.captions), recipe["word_dropout"], train_config.seed)  # (N, L)
    result, schedule, meta = _train_denoiser(name, recipe, train_config, model, data.images, tokens, device)
    meta.update(held_out=recipe["held_out"], n_images=recipe["n_images"], word_dropout=recipe["word_dropout"],
                guidance=shapes16_text_quality(result.model, schedule))
    return checkpoints.save(name, result.model, "TextToImage", result.model.config, meta, folder=out)


def shapes16_text(steps: int | None = None, out: Path | None = None, device: str = "cpu") -> Path:
    """Text to image in miniature: caption token embeddings (no transformer layers) read by a
    U-Net through cross-attention and, pooled into one vector, added to its time embedding;
    trained together on 16x16 shapes and their captions, 10% of the captions dropped (for CFG)."""
    return _train_shapes_text("shapes16_text", 0, True, steps, out, device)


def shapes16_text_crossattention(steps: int | None = None, out: Path | None = None, device: str = "cpu") -> Path:
    """The same without the pooled caption: the U-Net reads the caption through cross-attention
    only. Chapter 7 measures what the pooled vector adds on unseen colour-shape pairs."""
    return _train_shapes_text("shapes16_text_crossattention", 0, False, steps, out, device)


def shapes16_text_2layers(steps: int | None = None, out: Path | None = None, device: str = "cpu") -> Path:
    """Cross-attention only, with two transformer layers in the text encoder, which mix every word
    into every token: chapter 7 measures what that does to unseen colour-shape pairs."""
    return _train_shapes_text("shapes16_text_2layers", 2, False, steps, out, device)


def shapes16_text_quality(model, schedule, scales=(0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 16.0, 20.0), repeats: int = 2, steps: int = 50) -> dict:
    """For each CFG scale w: DDIM samples of every held-out combination (``repeats`` each) and of
    as many training combinations, read back by rule (:func:`~diffusion_edu.data.shapes.read_attributes`)."""
    from .data.shapes import attribute_accuracy, make_shapes
    from .evaluate import generate
    from .guidance import ClassifierFreeGuidance

    held_out = SHAPES16_TEXT["held_out"]
    n = 18 * len(held_out) * repeats  # 18 sizes x positions per colour-shape pair
    sets = {"held_out": make_shapes(n, 16, held_out=held_out, from_held_out=True, seed=1),
            "seen": make_shapes(n, 16, held_out=held_out, seed=1)}
    results = {}
    for w in scales:
        guided = ClassifierFreeGuidance(model, w)
        results[str(w)] = {
            name: attribute_accuracy(generate(guided, schedule, n, "ddim", steps, seed=0,
                                              y=model.tokenizer.encode(data.captions)), data.labels)
            for name, data in sets.items()
        }
    return {"sampler": f"ddim-{steps}", "n": n, "by_w": results}


def note_label(pitch, instrument):
    """The notes model's class: (MIDI pitch - 48) * 4 + instrument index, in [0, 100)."""
    from .audio.notes import NOTES

    return (pitch - NOTES.pitches[0]) * 4 + instrument


def notes_pitch(steps: int | None = None, out: Path | None = None, device: str = "cpu") -> Path:
    """A class-conditional U-Net on the log-mel images of synthetic notes: one class per (pitch,
    instrument) pair, 25 pitches (MIDI 48-72) x 4 instruments, with label dropout for CFG."""
    from .audio.notes import make_notes
    from .models.unet import UNet, UNetConfig

    recipe = NOTES_PITCH
    train_config = recipe["train"] if steps is None else replace(recipe["train"], steps=steps)
    data = make_notes(recipe["n_notes"], seed=train_config.seed)
    torch.manual_seed(train_config.seed)
    config = UNetConfig(**recipe["unet"])
    model = UNet(config).to(device)
    result, schedule, meta = _train_denoiser("notes_pitch", recipe, train_config, model, data.images,
                                             note_label(data.pitch, data.instrument), device)
    meta.update(n_notes=recipe["n_notes"], pitch=notes_pitch_quality(result.model, schedule))
    return checkpoints.save("notes_pitch", result.model, "UNet", config, meta, folder=out)


def notes_pitch_quality(model, schedule, scales=(1.0, 2.0, 4.0), n: int = 100, steps: int = 50) -> dict:
    """For each CFG scale w: one note of every (pitch, instrument) pair (n of them, cycling),
    sampled with DDIM, turned into audio by Griffin-Lim and judged by the YIN pitch estimator:
    the median and 90th percentile of the absolute pitch error in cents, the fraction within 50
    cents, and the fraction where no pitch was found."""
    from .audio.notes import NOTES, image_to_waveform, midi_to_hz
    from .audio.pitch import cents, estimate_pitch
    from .evaluate import generate
    from .guidance import ClassifierFreeGuidance

    labels = torch.arange(n) % 100  # (n,)
    pitch = labels // 4 + NOTES.pitches[0]  # (n,) MIDI
    results = {}
    for w in scales:
        images = generate(ClassifierFreeGuidance(model, w), schedule, n, "ddim", steps, seed=0,
                          image_shape=(1, NOTES.n_mels, NOTES.n_frames), y=labels)
        waves, _ = image_to_waveform(images, generator=torch.Generator().manual_seed(0))
        errors = cents(estimate_pitch(waves, NOTES.sr), midi_to_hz(pitch)).abs()  # (n,), NaN where no pitch
        found = errors[~errors.isnan()]
        results[str(w)] = {
            "median_cents": found.median().item() if len(found) else float("nan"),
            "p90_cents": found.quantile(0.9).item() if len(found) else float("nan"),
            "within_50_cents": (found < 50).sum().item() / n,
            "no_pitch": 1 - len(found) / n,
        }
    return {"sampler": f"ddim-{steps}", "n": n, "griffin_lim_iterations": 100, "by_w": results}


RECIPES = {"digits16": digits16, "digits16_oracle": digits16_oracle, "digits16_cond": digits16_cond,
           "digits16_noisy_classifier": digits16_noisy_classifier, "shapes16_text": shapes16_text,
           "shapes16_text_crossattention": shapes16_text_crossattention,
           "shapes16_text_2layers": shapes16_text_2layers, "notes_pitch": notes_pitch}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m diffusion_edu.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", choices=sorted(RECIPES))
    parser.add_argument("--steps", type=int, help="override the recipe's number of training steps")
    parser.add_argument("--out", type=Path, help="folder for the checkpoint (default: the package's own)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    path = RECIPES[args.recipe](steps=args.steps, out=args.out, device=args.device)
    print(f"wrote {path} and {path.with_suffix('.json')}")

"""models/classifier.py, train.train_classifier and the oracle metrics (oracle_scores, oracle_frechet)."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from conftest import max_abs_error
from diffusion_edu.data.digits import load_digits16
from diffusion_edu.metrics import classifier_accuracy, frechet_distance, oracle_frechet, oracle_scores
from diffusion_edu.models.classifier import ImageClassifier
from diffusion_edu.train import ClassifierResult, random_shift, train_classifier


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def digits_oracle() -> ClassifierResult:
    """A narrow classifier (width 8), 300 steps of batch 64 on the digits: about 3 s on one core."""
    images, labels = load_digits16("train")
    test_images, test_labels = load_digits16("test")
    torch.manual_seed(0)
    model = ImageClassifier(in_channels=1, n_classes=10, width=8, feature_dim=64)
    return train_classifier(model, images, labels, steps=300, batch_size=64, lr=3e-3, seed=0,
                            eval_images=test_images, eval_labels=test_labels, progress=False)


# ------------------------------------------------------------------------------------ model
@pytest.mark.parametrize("in_channels", [1, 3])
def test_classifier_gives_logits_and_features_of_the_documented_shapes(in_channels):
    model = ImageClassifier(in_channels=in_channels, n_classes=7, width=4, feature_dim=64)
    x = torch.randn(5, in_channels, 16, 16, generator=seeded(0))
    assert model(x).shape == (5, 7)
    assert model.features(x).shape == (5, 64)
    # the logits are the last layer applied to the features
    assert max_abs_error(model(x), model.head(model.features(x))) == 0


def test_classifier_rejects_images_of_the_wrong_shape():
    model = ImageClassifier(in_channels=1, width=4)
    with pytest.raises(ValueError, match=r"expects x of shape \(B, 1, 16, 16\), got \(2, 3, 16, 16\)"):
        model(torch.zeros(2, 3, 16, 16))
    with pytest.raises(ValueError, match="divisible by 4"):
        ImageClassifier(image_size=18)


# ---------------------------------------------------------------------------- augmentation
def test_random_shift_moves_each_image_by_at_most_max_shift_and_fills_the_border():
    images = torch.full((64, 1, 16, 16), -1.0)
    images[:, :, 7, 8] = 1.0  # one bright pixel
    shifted = random_shift(images, 2, seeded(0))
    assert shifted.shape == images.shape
    rows, cols = torch.nonzero(shifted[:, 0] == 1.0, as_tuple=True)[1:]
    assert len(rows) == 64  # the pixel survives, once per image
    assert (rows - 7).abs().max() <= 2 and (cols - 8).abs().max() <= 2
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10  # and moves to many places
    assert torch.all((shifted == 1.0) | (shifted == -1.0))  # whole pixels: no interpolation
    assert max_abs_error(random_shift(images, 0, seeded(0)), images) == 0


# -------------------------------------------------------------------------------- training
def test_a_few_hundred_steps_classify_the_digits_test_split_above_90_percent(digits_oracle):
    assert len(digits_oracle.losses) == 300
    assert sum(digits_oracle.losses[-20:]) / 20 < 0.5 * digits_oracle.losses[0]
    assert digits_oracle.eval_accuracy > 0.90  # measured 0.972
    assert digits_oracle.train_accuracy > 0.90
    assert not digits_oracle.model.training


def test_train_classifier_is_reproduced_by_its_seed():
    images = torch.randn(64, 1, 16, 16, generator=seeded(0))
    labels = torch.randint(0, 2, (64,), generator=seeded(1))
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = ImageClassifier(n_classes=2, width=2, feature_dim=8)
        results.append(train_classifier(model, images, labels, steps=5, batch_size=16, seed=3, progress=False))
    assert results[0].losses == results[1].losses


def test_train_classifier_rejects_bad_labels_and_step_counts():
    model, images = ImageClassifier(width=2), torch.zeros(8, 1, 16, 16)
    with pytest.raises(ValueError, match=r"labels must be a long tensor of shape \(N,\) = \(8,\)"):
        train_classifier(model, images, torch.zeros(8), steps=1, progress=False)
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        train_classifier(model, images, torch.zeros(8, dtype=torch.long), steps=0, progress=False)


# ------------------------------------------------------------------------------ oracle scores
class FixedLogits(nn.Module):
    """A stand-in classifier: features are the image's first pixels, the logits are the features."""

    def __init__(self):
        super().__init__()
        self.head = nn.Identity()
        self.dummy = nn.Parameter(torch.zeros(1))  # so that it has a device

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :3]  # (B, 3)


def images_with_logits(logits: list[list[float]]) -> torch.Tensor:
    x = torch.zeros(len(logits), 1, 4, 4)
    x.view(len(logits), -1)[:, :3] = torch.tensor(logits)
    return x


def test_oracle_scores_count_confident_images_and_predicted_classes():
    big, uniform = 10.0, 0.0
    images = images_with_logits([[big, 0, 0], [big, 0, 0], [0, big, 0], [uniform] * 3])
    scores = oracle_scores(FixedLogits(), images, threshold=0.9)
    assert scores["confident_fraction"] == 0.75  # p = e^10 / (e^10 + 2) > 0.9 three times; 1/3 once
    assert abs(scores["mean_max_probability"] - (3 * math.exp(10) / (math.exp(10) + 2) + 1 / 3) / 4) < 1e-6
    # argmax of the uniform row is class 0: fractions 3/4, 1/4, 0
    assert max_abs_error(scores["class_fractions"], torch.tensor([0.75, 0.25, 0.0])) < 1e-12
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert abs(scores["class_balance"] - entropy / math.log(3)) < 1e-12


def test_class_balance_is_one_for_equal_classes_and_zero_for_a_single_class():
    balanced = images_with_logits([[5, 0, 0], [0, 5, 0], [0, 0, 5]])
    collapsed = images_with_logits([[0, 5, 0]] * 3)
    assert abs(oracle_scores(FixedLogits(), balanced)["class_balance"] - 1) < 1e-12
    assert oracle_scores(FixedLogits(), collapsed)["class_balance"] == 0


def test_oracle_frechet_is_the_frechet_distance_of_the_features():
    a = torch.randn(50, 1, 4, 4, generator=seeded(0))
    b = torch.randn(40, 1, 4, 4, generator=seeded(1)) + 1
    expected = frechet_distance(a.flatten(1)[:, :3], b.flatten(1)[:, :3])
    assert abs(oracle_frechet(FixedLogits(), a, b) - expected) < 1e-9
    assert oracle_frechet(FixedLogits(), a, a) < 1e-9


def test_the_trained_oracle_tells_real_digits_from_noise(digits_oracle):
    oracle = digits_oracle.model
    train_images, _ = load_digits16("train")
    test_images, test_labels = load_digits16("test")
    noise = torch.randn(360, 1, 16, 16, generator=seeded(0))
    real = oracle_scores(oracle, test_images)
    assert real["class_balance"] > 0.99  # the test split is stratified: 10% of each digit
    assert real["confident_fraction"] > oracle_scores(oracle, noise)["confident_fraction"]
    assert abs(classifier_accuracy(oracle, test_images, test_labels) - digits_oracle.eval_accuracy) < 1e-12
    real_vs_real = oracle_frechet(oracle, train_images[:500], test_images)
    assert 10 * real_vs_real < oracle_frechet(oracle, noise, test_images)


def test_oracle_scores_reject_a_threshold_outside_0_1():
    with pytest.raises(ValueError, match=r"threshold must be a probability in \(0, 1\), got 1.5"):
        oracle_scores(FixedLogits(), torch.zeros(2, 1, 4, 4), threshold=1.5)


# ------------------------------------------------------------------ the noisy classifier (classifier guidance)
def test_noisy_classifier_learns_clean_digits_and_is_told_the_timestep():
    from diffusion_edu.models.classifier import NoisyImageClassifier
    from diffusion_edu.schedules import make_schedule

    images, labels = load_digits16("train")
    test_images, test_labels = load_digits16("test")
    torch.manual_seed(0)
    model = NoisyImageClassifier()
    seen_t = []
    model.register_forward_pre_hook(lambda m, args: seen_t.append(args[1]))
    result = train_classifier(model, images, labels, steps=150, eval_images=test_images, eval_labels=test_labels,
                              schedule=make_schedule("cosine", 1000), progress=False)
    t = torch.cat(seen_t[:150])
    assert t.min() >= 0 and t.max() <= 999 and t.float().std() > 200, "trained at timesteps spread over [0, T)"
    assert result.eval_accuracy > 0.6, f"after 150 noisy steps the clean test accuracy should be well above chance, got {result.eval_accuracy}"
    x = test_images[:4]
    with torch.no_grad():
        assert not torch.allclose(model(x, torch.zeros(4, dtype=torch.long)), model(x, torch.full((4,), 900)))


def test_noisy_classifier_wants_one_timestep_per_image():
    from diffusion_edu.models.classifier import NoisyImageClassifier

    with pytest.raises(ValueError, match=r"t must have shape \(B,\) = \(2,\)"):
        NoisyImageClassifier()(torch.zeros(2, 1, 16, 16), torch.zeros(3, dtype=torch.long))

"""Chapter 6's measurements and figures: within-class diversity, the guidance-sweep and
accuracy-against-t plots, and the guidance explorer widget."""
import numpy as np
import pytest
import torch

from diffusion_edu import viz, widgets
from diffusion_edu.metrics import classifier_outputs, within_class_diversity
from diffusion_edu.models.classifier import ImageClassifier


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    return ImageClassifier(in_channels=1, n_classes=10).eval()  # untrained: any fixed feature map will do


def _images(n, spread, seed):
    """n images (n, 1, 16, 16): one base image plus noise of standard deviation ``spread``."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 1, 16, 16, generator=g) * 2 - 1
    return (base + spread * torch.randn(n, 1, 16, 16, generator=g)).clamp(-1, 1)


def test_diversity_of_identical_images_is_zero(classifier):
    images = _images(1, 0.0, 0).expand(12, 1, 16, 16)
    labels = torch.arange(12) % 3
    assert within_class_diversity(classifier, images, labels) == pytest.approx(0.0, abs=1e-6)


def test_diversity_grows_with_the_variation_within_a_class(classifier):
    labels = torch.arange(40) % 4
    values = [within_class_diversity(classifier, _images(40, spread, 1), labels) for spread in (0.05, 0.3, 1.0)]
    assert 0 < values[0] < values[1] < values[2]


def test_diversity_compares_images_only_within_their_class(classifier):
    """Two classes, each made of copies of one image: the images differ across classes, not within."""
    a, b = _images(1, 0.0, 2), _images(1, 0.0, 3)
    images = torch.cat([a.expand(5, 1, 16, 16), b.expand(5, 1, 16, 16)])
    labels = torch.tensor([0] * 5 + [1] * 5)
    assert within_class_diversity(classifier, images, labels) == pytest.approx(0.0, abs=1e-6)
    mixed = torch.tensor([0, 1] * 5)  # the same images, each class now holding both
    assert within_class_diversity(classifier, images, mixed) > 0


def test_diversity_is_the_mean_pairwise_feature_distance_averaged_over_classes(classifier):
    images, labels = _images(9, 0.5, 4), torch.tensor([0, 0, 0, 0, 1, 1, 1, 2, 2])
    _, features = classifier_outputs(classifier, images)
    features = features.double()
    per_class = []
    for k in range(3):
        f = features[labels == k]
        d = torch.cdist(f, f)  # (n_k, n_k), zero diagonal
        per_class.append((d.sum() / (len(f) * (len(f) - 1))).item())
    assert within_class_diversity(classifier, images, labels) == pytest.approx(sum(per_class) / 3, rel=1e-9)


def test_diversity_skips_classes_with_one_image_and_rejects_sets_without_pairs(classifier):
    images = _images(5, 0.5, 5)
    with_single = within_class_diversity(classifier, images, torch.tensor([0, 0, 0, 0, 7]))
    assert with_single == pytest.approx(within_class_diversity(classifier, images[:4], torch.zeros(4, dtype=torch.long)))
    with pytest.raises(ValueError, match="at least two images"):
        within_class_diversity(classifier, images, torch.arange(5))
    with pytest.raises(ValueError, match="labels must have shape"):
        within_class_diversity(classifier, images, torch.zeros(4, dtype=torch.long))


def test_guidance_sweep_draws_three_panels_with_the_real_reference():
    scales = (0.0, 1.0, 3.0)
    results = {"accuracy": [0.1, 0.98, 1.0], "diversity": [70.0, 35.0, 31.0], "frechet": [60.0, 35.0, 70.0]}
    real = {"accuracy": 0.99, "diversity": 37.0, "frechet": 50.0}
    fig = viz.plot_guidance_sweep(scales, results, real, real_range={"frechet": (40.0, 70.0)})
    axes = fig.axes
    assert len(axes) == 3
    for ax, (key, _, title) in zip(axes, viz.GUIDANCE_PANELS):
        assert ax.get_title() == title
        line, reference = ax.lines[0], ax.lines[1]
        np.testing.assert_allclose(line.get_xdata(), scales)
        np.testing.assert_allclose(line.get_ydata(), results[key])
        assert reference.get_ydata()[0] == real[key]
    assert len(axes[2].patches) == 1 and not axes[0].patches, "the shaded range only where it is given"


def test_accuracy_vs_t_draws_one_line_per_classifier_and_chance():
    fig = viz.plot_accuracy_vs_t([0, 500, 999], {"a": [1.0, 0.8, 0.1], "b": [1.0, 0.4, 0.1]}, chance=0.1)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == ["a", "b", "guessing"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1.0, 0.4, 0.1])


def test_guidance_explorer_regenerates_with_the_chosen_scale_and_class():
    asked = []

    def sample(w, label):
        asked.append((w, label))
        return torch.full((4, 1, 2, 2), w / 10 - 0.5)  # constant images that encode w

    explorer = widgets.guidance_explorer(sample, max_scale=8.0, classes=range(10))
    slider, picker = explorer.children[:2]
    assert (slider.min, slider.max) == (0.0, 8.0) and list(picker.options) == list(range(10))
    view = explorer.f(3.0, 7)
    assert asked[-1] == (3.0, 7)
    assert view.alt == "4 images generated for class 7 at guidance scale w = 3"
    (ax,) = view.figure.axes
    assert ax.get_title() == "class 7, w = 3"
    np.testing.assert_allclose(ax.images[0].get_array()[0, 0], viz.to_rgb(sample(3.0, 7)[0])[0, 0])
    with pytest.raises(ValueError, match="max_scale"):
        widgets.guidance_explorer(sample, max_scale=0.0, classes=range(10))

"""Numbers that say how good samples are.

Sliced Wasserstein distance (Rabin et al., 2011; Bonneel et al., 2015). The Wasserstein-p
distance between two distributions is costly in several dimensions but has a closed form in
one: sort both samples and compare them quantile by quantile. So project onto random unit
directions theta and average:

    SW_p(X, Y) = ( E_theta  W_p^p( <theta, X>, <theta, Y> ) )^(1/p),
    W_p^p(u, v) = int_0^1 | F_u^{-1}(q) - F_v^{-1}(q) |^p dq     (1D, via sorted samples)

Even two independent samples of the same distribution are not at distance 0: compare a model's
number with that data-vs-data baseline (what "as good as the data" looks like at this sample size).

Frechet distance (Heusel et al., 2017: the formula of FID). Fit a Gaussian to each set of
feature vectors, N(mu_a, S_a) and N(mu_b, S_b), and take the Wasserstein-2 distance between the
two Gaussians, squared (Dowson & Landau, 1982):

    FD = || mu_a - mu_b ||^2 + Tr( S_a + S_b - 2 (S_a S_b)^(1/2) )

On images the features come from a classifier (FID uses Inception-v3; this course uses the small
:class:`~diffusion_edu.models.classifier.ImageClassifier` trained on the data set, an "oracle"),
so the number measures differences the classifier can see. It has the same floor as SW: real vs
real images of another draw score above 0, and that baseline is the number to compare with.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def sliced_wasserstein(
    x: Tensor,
    y: Tensor,
    n_projections: int = 256,
    p: int = 2,
    generator: torch.Generator | None = None,
) -> float:
    """SW_p between point clouds x: (N, D) and y: (M, D), with ``n_projections`` random directions.

    N and M may differ: both sorted projections are read at the same M' = max(N, M) quantile
    levels (linear interpolation), which is exact when N = M.
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must be point clouds (N, D) and (M, D) with the same D, got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    if n_projections < 1 or p < 1:
        raise ValueError(f"n_projections and p must be >= 1, got {n_projections} and {p}")
    x, y = x.detach().double().cpu(), y.detach().double().cpu()
    theta = torch.randn(x.shape[1], n_projections, generator=generator, dtype=torch.float64)
    theta = theta / theta.norm(dim=0, keepdim=True)  # (D, P) unit directions
    qx = _quantiles(torch.sort(x @ theta, dim=0).values, max(len(x), len(y)))  # (M', P)
    qy = _quantiles(torch.sort(y @ theta, dim=0).values, max(len(x), len(y)))
    return ((qx - qy).abs() ** p).mean().item() ** (1 / p)


def _quantiles(sorted_values: Tensor, n: int) -> Tensor:
    """Read sorted samples (N, P) at n evenly spaced quantile levels: (n, P)."""
    N = sorted_values.shape[0]
    if N == n:
        return sorted_values
    pos = (torch.arange(n, dtype=torch.float64) + 0.5) / n * N - 0.5  # fractional index
    pos = pos.clamp(0, N - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=N - 1)
    w = (pos - lo)[:, None]
    return sorted_values[lo] * (1 - w) + sorted_values[hi] * w


# ------------------------------------------------------------------------ Frechet distance
def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """FD between feature sets (N, D) and (M, D): || mu_a - mu_b ||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)).

    S_a, S_b are the sample covariances (divided by N-1, as FID's reference code). S_a S_b is not
    symmetric, so its square root is taken through a symmetric matrix with the same eigenvalues:

        Tr (S_a S_b)^(1/2) = sum_i sqrt(lambda_i),   lambda_i = eigenvalues of S_a^(1/2) S_b S_a^(1/2)

    with S_a^(1/2) from the eigendecomposition S_a = V diag(w) V^T. Everything is in float64, and
    eigenvalues that rounding makes slightly negative (the covariances are only positive
    semi-definite: N <= D makes them singular) are clamped to 0.
    """
    if features_a.ndim != 2 or features_b.ndim != 2 or features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            f"features must be (N, D) and (M, D) with the same D, got {tuple(features_a.shape)} "
            f"and {tuple(features_b.shape)}"
        )
    if len(features_a) < 2 or len(features_b) < 2:
        raise ValueError(
            f"a covariance needs at least 2 feature vectors per set, got {len(features_a)} and {len(features_b)}"
        )
    a, b = features_a.detach().double().cpu(), features_b.detach().double().cpu()
    mu_a, mu_b = a.mean(0), b.mean(0)  # (D,)
    D = a.shape[1]
    cov_a, cov_b = torch.cov(a.T).reshape(D, D), torch.cov(b.T).reshape(D, D)  # (D, D), also for D = 1
    sqrt_cov_a = _sqrtm_psd(cov_a)
    middle = sqrt_cov_a @ cov_b @ sqrt_cov_a  # (D, D), symmetric PSD
    eigenvalues = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0)
    trace_sqrt = eigenvalues.sqrt().sum()
    distance = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)


def _sqrtm_psd(matrix: Tensor) -> Tensor:
    """The symmetric square root V diag(sqrt(w)) V^T of a symmetric PSD matrix (D, D)."""
    w, V = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (V * w.clamp(min=0).sqrt()) @ V.T


# ---------------------------------------------------------------------------- oracle scores
@torch.no_grad()
def classifier_outputs(classifier: nn.Module, images: Tensor, batch_size: int = 256) -> tuple[Tensor, Tensor]:
    """Run ``classifier`` over images (N, C, H, W) in batches, in eval mode, on its device:
    returns (logits (N, n_classes), features (N, feature_dim)), both on the CPU."""
    if images.ndim != 4 or len(images) < 1:
        raise ValueError(f"images must be a batch (N, C, H, W) with N >= 1, got {tuple(images.shape)}")
    device = next(classifier.parameters()).device
    was_training = classifier.training
    classifier.eval()
    logits, features = [], []
    for batch in images.split(batch_size):
        h = classifier.features(batch.to(device))  # (b, feature_dim)
        features.append(h.cpu())
        logits.append(classifier.head(h).cpu())  # (b, n_classes)
    classifier.train(was_training)
    return torch.cat(logits), torch.cat(features)


def classifier_accuracy(classifier: nn.Module, images: Tensor, labels: Tensor) -> float:
    """Fraction of images (N, C, H, W) whose most probable class is the label (N,)."""
    logits, _ = classifier_outputs(classifier, images)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape (N,) = ({len(images)},), got {tuple(labels.shape)}")
    return (logits.argmax(1) == labels.cpu()).double().mean().item()


def oracle_scores(classifier: nn.Module, images: Tensor, threshold: float = 0.9) -> dict:
    """What a classifier trained on real data (the "oracle") says about generated images (N, C, H, W).

    - ``confident_fraction``: fraction with max_k p(k | x) > ``threshold``, images that look like
      some class (real test images are the baseline);
    - ``mean_max_probability``: the mean of max_k p(k | x);
    - ``class_fractions``: (n_classes,) fraction of images predicted as each class;
    - ``class_balance``: entropy of class_fractions / log(n_classes): 1 when every class is
      generated equally often, 0 when a single class is (mode collapse).
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be a probability in (0, 1), got {threshold}")
    logits, _ = classifier_outputs(classifier, images)
    probabilities = logits.double().softmax(dim=1)  # (N, n_classes)
    max_probability, predicted = probabilities.max(dim=1)  # (N,), (N,)
    n_classes = probabilities.shape[1]
    fractions = torch.bincount(predicted, minlength=n_classes).double() / len(predicted)  # (n_classes,)
    entropy = -(fractions[fractions > 0] * fractions[fractions > 0].log()).sum().item()
    return {
        "confident_fraction": (max_probability > threshold).double().mean().item(),
        "mean_max_probability": max_probability.mean().item(),
        "class_fractions": fractions,
        "class_balance": entropy / math.log(n_classes) if n_classes > 1 else 1.0,
    }


def oracle_frechet(classifier: nn.Module, images_a: Tensor, images_b: Tensor) -> float:
    """:func:`frechet_distance` between the classifier's features of images_a and images_b."""
    _, features_a = classifier_outputs(classifier, images_a)
    _, features_b = classifier_outputs(classifier, images_b)
    return frechet_distance(features_a, features_b)


# ------------------------------------------------------------------------ chapter 6: diversity
def within_class_diversity(classifier: nn.Module, images: Tensor, labels: Tensor) -> float:
    """How different images of the same class are, as the classifier sees them.

    For each class k with at least two images, the mean Euclidean distance between the
    classifier's features (its penultimate layer, as for the Frechet distance) of every pair of
    images labelled k; then the mean over those classes:

        D = 1/|K| sum_{k in K} 1/(n_k (n_k - 1)) sum_{i != j, y_i = y_j = k} || f(x_i) - f(x_j) ||

    images: (N, C, H, W), labels: (N,), e.g. the class each sample was *asked* for. D = 0 when
    all images of each class are identical; it grows as they vary. The mean over pairs does not
    depend on n_k on average (unlike the Frechet distance), so sets of different sizes compare.
    """
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape (N,) = ({len(images)},), got {tuple(labels.shape)}")
    _, features = classifier_outputs(classifier, images)  # (N, D)
    features, labels = features.double(), labels.cpu()
    per_class = []
    for k in labels.unique().tolist():
        f = features[labels == k]  # (n_k, D)
        if len(f) >= 2:
            per_class.append(torch.pdist(f).mean().item())  # mean over the n_k (n_k - 1) / 2 pairs
    if not per_class:
        raise ValueError("within_class_diversity needs at least two images of some class, "
                         f"got {len(images)} images with labels {sorted(labels.unique().tolist())}")
    return sum(per_class) / len(per_class)

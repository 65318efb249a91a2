"""data/digits.py: scikit-learn's 8x8 digits, split 80/20, scaled to [-1, 1], upsampled to 16x16."""
from __future__ import annotations

import pytest
import torch

from conftest import max_abs_error
from diffusion_edu.data import load_digits16


def test_digits_have_the_documented_shapes_and_dtypes():
    images, labels = load_digits16("train")
    assert images.shape == (1437, 1, 16, 16) and images.dtype == torch.float32
    assert labels.shape == (1437,) and labels.dtype == torch.long
    test_images, test_labels = load_digits16("test")
    assert test_images.shape == (360, 1, 16, 16) and test_labels.shape == (360,)


def test_digits_are_scaled_to_minus_one_one_in_seventeen_levels():
    images, _ = load_digits16("train")
    assert images.min().item() == -1.0 and images.max().item() == 1.0
    levels = (images + 1) * 8  # back to the original 0..16
    assert max_abs_error(levels, levels.round()) < 1e-5
    assert len(levels.round().unique()) == 17


def test_train_and_test_together_are_the_1797_sklearn_digits_once_each():
    from sklearn.datasets import load_digits

    original = torch.as_tensor(load_digits().images, dtype=torch.float32)  # (1797, 8, 8)
    ours = torch.cat([load_digits16("train")[0], load_digits16("test")[0]])[:, 0, ::2, ::2]  # (1797, 8, 8)
    ours = (ours + 1) * 8

    def as_sorted_rows(x):  # the images as a sorted list of pixel tuples: order does not matter
        return sorted(map(tuple, x.flatten(1).round().long().tolist()))

    assert as_sorted_rows(ours) == as_sorted_rows(original)


def test_split_is_stratified_by_label():
    _, train_labels = load_digits16("train")
    _, test_labels = load_digits16("test")
    train_share = train_labels.bincount(minlength=10) / len(train_labels)
    test_share = test_labels.bincount(minlength=10) / len(test_labels)
    assert max_abs_error(train_share, test_share) < 0.01  # unstratified, some digit would be off by ~2%
    assert (test_labels.bincount(minlength=10) >= 35).all()


def test_each_pixel_becomes_a_2x2_block():
    images, _ = load_digits16("test")
    small = images[:, :, ::2, ::2]  # (N, 1, 8, 8) top-left pixel of every block
    nearest = small.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    assert max_abs_error(images, nearest) == 0


def test_digits_are_the_same_on_every_call_and_callers_cannot_corrupt_the_cache():
    first, first_labels = load_digits16("train")
    first[:] = 0.0  # a caller writing into its copy
    again, again_labels = load_digits16("train")
    assert again.min().item() == -1.0
    assert torch.equal(first_labels, again_labels)
    assert max_abs_error(again, load_digits16("train")[0]) == 0


def test_digits_split_is_the_sklearn_split_with_random_state_0():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    _, _, _, y_test = train_test_split(bunch.images, bunch.target, test_size=0.2,
                                       stratify=bunch.target, random_state=0)
    assert load_digits16("test")[1].tolist() == list(y_test)


def test_unknown_split_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'test'\), got 'val'"):
        load_digits16("val")

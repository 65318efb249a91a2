"""The checks of exercise 7 (text to image): each accepts the right answer, written as a student
would, and names each typical mistake in its message."""
import math

import pytest
import torch

from conftest import assert_check_accepts_right_and_names_wrong
from diffusion_edu.checks import text_to_image as C


# ------------------------------------------------------------------ answers, right and wrong
def _tokenize(caption, index, length, start=True, pad_left=False, pad_id=None, as_list=False):
    ids = ([index["<start>"]] if start else []) + [index[w] for w in caption.split()]
    pad = [index["<pad>"] if pad_id is None else pad_id] * (length - len(ids))
    ids = pad + ids if pad_left else ids + pad
    return ids if as_list else torch.tensor(ids)


def _weights(q, k, dim=-1, scale="sqrt", softmax=True, swap=False):
    d = q.shape[-1]
    scores = k @ q.transpose(-1, -2) if swap else q @ k.transpose(-1, -2)
    scores = scores / {"sqrt": math.sqrt(d), "none": 1.0, "d": d}[scale]
    return torch.softmax(scores, dim=dim) if softmax else scores


def _maps(weights, transpose_first=True, flip=False, reduce="mean"):
    B, nh, HW, L = weights.shape
    side = math.isqrt(HW)
    merged = weights.mean(1) if reduce == "mean" else weights.sum(1)  # (B, HW, L)
    maps = merged.transpose(1, 2).reshape(B, L, side, side) if transpose_first else merged.reshape(B, L, side, side)
    return maps.transpose(-1, -2) if flip else maps


CASES = [
    (C.tokenize, _tokenize, lambda *a: None, "replace the `...`"),
    (C.tokenize, _tokenize, lambda *a: [float(i) for i in _tokenize(*a, as_list=True)],
     "integer token ids"),
    (C.tokenize, _tokenize, lambda *a: _tokenize(*a, start=False), "<start> token is missing"),
    (C.tokenize, _tokenize, lambda *a: _tokenize(*a, pad_left=True), "wrong side"),
    (C.tokenize, _tokenize, lambda *a: _tokenize(*a, pad_id=-1), "padding token is index['<pad>']"),
    (C.tokenize, _tokenize, lambda c, i, n: _tokenize(c, i, n)[: len(c.split()) + 1], "not padded"),
    (C.attention_weights, _weights, lambda q, k: None, "replace the `...`"),
    (C.attention_weights, _weights, lambda q, k: _weights(q, k, dim=-2), "wrong axis"),
    (C.attention_weights, _weights, lambda q, k: _weights(q, k, scale="none"), "not scaled"),
    (C.attention_weights, _weights, lambda q, k: _weights(q, k, scale="d"), "divided by d"),
    (C.attention_weights, _weights, lambda q, k: _weights(q, k, softmax=False), "before the softmax"),
    (C.attention_weights, _weights, lambda q, k: _weights(q, k, swap=True), "q and k are swapped"),
    (C.word_maps, _maps, lambda w: None, "replace the `...`"),
    (C.word_maps, _maps, lambda w: _maps(w, transpose_first=False), "scrambled"),
    (C.word_maps, _maps, lambda w: _maps(w, flip=True), "transposed"),
    (C.word_maps, _maps, lambda w: _maps(w, reduce="sum"), "heads are summed"),
    (C.word_maps, _maps, lambda w: 1.01 * _maps(w), "largest error"),
]


@pytest.mark.parametrize("check, right, wrong, words", CASES, ids=[f"{c.__name__}-{w[:24]}" for c, _, _, w in CASES])
def test_checks_accept_the_right_answer_and_name_the_mistake_in_a_wrong_one(check, right, wrong, words):
    assert_check_accepts_right_and_names_wrong(check, right, wrong, words)


def test_a_list_of_ints_is_accepted_for_tokens():
    assert C.tokenize(lambda *a: _tokenize(*a, as_list=True)) is True

"""The checks of exercise 8 (sound): each accepts the right answer, written as a student would,
and names each typical mistake in its message."""
import math
import time

import pytest
import torch

from diffusion_edu.checks import sound as S
from conftest import assert_check_accepts_right_and_names_wrong


# ------------------------------------------------------------------ answers, right and wrong
def _hz_to_mel(f, log=torch.log10, corner=700.0, one=1.0):
    return 2595.0 * log(one + f / corner)


def _mel_to_hz(m, power=lambda x: 10**x, corner=700.0, minus=1.0):
    return corner * (power(m / 2595.0) - minus)


def _filterbank(edges, f, slaney=False, swapped=False, whole_width=False, clip=True, n_bands=None, factor=2.0,
                norm_width="base", transposed=False):
    """Written as a student would: a loop over the bands."""
    n_mels = len(edges) - 2 if n_bands is None else n_bands
    rows = []
    for i in range(n_mels):
        lower, centre, upper = edges[i], edges[i + 1], edges[min(i + 2, len(edges) - 1)]
        if whole_width:
            rising, falling = (f - lower) / (upper - lower), (upper - f) / (upper - lower)
        elif swapped:
            rising, falling = (f - lower) / (upper - centre), (upper - f) / (centre - lower)
        else:
            rising, falling = (f - lower) / (centre - lower), (upper - f) / (upper - centre)
        row = torch.minimum(rising, falling)
        row = torch.clamp(row, min=0) if clip else row
        if slaney:
            width = upper - lower if norm_width == "base" else centre - lower
            row = row * factor / width
        rows.append(row)
    M = torch.stack(rows)
    return M.T if transposed else M


def _cents(f_est, f_ref, log=torch.log2, factor=1200.0, sign=1.0):
    return sign * factor * log(f_est / f_ref)


def _cmnd(d, set_first=True, mean=True, count_plus_one=False, global_mean=False, first=1.0):
    tau = torch.arange(d.shape[-1], dtype=d.dtype)
    running = torch.cumsum(d, dim=-1)  # d(0) = 0
    if global_mean:
        out = d / d[..., 1:].mean(dim=-1, keepdim=True)
    elif not mean:
        out = d / running
    else:
        out = d * (tau + 1 if count_plus_one else tau) / running
    if set_first:
        out[..., 0] = first
    return out


CASES = [
    # (check, right answer, wrong answer, words the message must contain)
    (S.hz_to_mel, _hz_to_mel, lambda f: None, "replace the `...`"),
    (S.hz_to_mel, _hz_to_mel, lambda f: _hz_to_mel(f, log=torch.log), "natural log"),
    (S.hz_to_mel, _hz_to_mel, lambda f: _hz_to_mel(f, corner=1000.0), "700 and 1000 are mixed up"),
    (S.hz_to_mel, _hz_to_mel, lambda f: _hz_to_mel(f, one=0.0), "the 1 + is missing"),
    (S.hz_to_mel, _hz_to_mel, lambda f: 15 + torch.log(f / 1000) / (math.log(6.4) / 27), "largest error"),
    (S.mel_to_hz, _mel_to_hz, lambda m: None, "replace the `...`"),
    (S.mel_to_hz, _mel_to_hz, lambda m: _mel_to_hz(m, power=torch.exp), "inverse of log10 is 10^x"),
    (S.mel_to_hz, _mel_to_hz, lambda m: _mel_to_hz(m, minus=0.0), "the - 1 is missing"),
    (S.mel_to_hz, _mel_to_hz, lambda m: _mel_to_hz(m, corner=1000.0), "700 and 1000 are mixed up"),
    (S.mel_to_hz, _mel_to_hz, lambda m: _hz_to_mel(m), "forward formula"),
    (S.triangular_filterbank, _filterbank, lambda e, f, slaney=False: None, "replace the `...`"),
    (S.triangular_filterbank, _filterbank, lambda e, f, slaney=False: _filterbank(e, f, slaney, swapped=True),
     "each other's widths"),
    (S.triangular_filterbank, _filterbank, lambda e, f, slaney=False: _filterbank(e, f, slaney, whole_width=True),
     "peak at 1/2"),
    (S.triangular_filterbank, _filterbank, lambda e, f, slaney=False: _filterbank(e, f, slaney, clip=False),
     "max(0, ...)"),
    (S.triangular_filterbank, _filterbank, lambda e, f, slaney=False: _filterbank(e, f, slaney, n_bands=len(e) - 1),
     "off by one"),
    (S.triangular_filterbank, _filterbank, lambda e, f, slaney=False: _filterbank(e, f, slaney, transposed=True),
     "transposed"),
    (S.triangular_filterbank, _filterbank, lambda e, f, slaney=False: _filterbank(e, f, False),
     "Slaney normalisation is missing"),
    (S.triangular_filterbank, _filterbank, lambda e, f, slaney=False: _filterbank(e, f, slaney, factor=1.0),
     "factor 2 is missing"),
    (S.triangular_filterbank, _filterbank, lambda e, f, slaney=False: _filterbank(e, f, slaney, norm_width="rise"),
     "wrong width"),
    (S.triangular_filterbank, _filterbank, lambda e, f, slaney=False: _filterbank(e, f, True),
     "with slaney=False each triangle peaks at 1"),
    (S.cents, _cents, lambda a, b: None, "replace the `...`"),
    (S.cents, _cents, lambda a, b: _cents(a, b, log=torch.log), "natural log"),
    (S.cents, _cents, lambda a, b: _cents(a, b, log=torch.log10), "log10"),
    (S.cents, _cents, lambda a, b: _cents(a, b, factor=1.0), "factor 1200 is missing"),
    (S.cents, _cents, lambda a, b: _cents(a, b, factor=100.0), "1200, not 100"),
    (S.cents, _cents, lambda a, b: _cents(a, b, factor=12.0), "semitones"),
    (S.cents, _cents, lambda a, b: _cents(a, b, sign=-1.0), "sign is flipped"),
    (S.cumulative_mean_normalized_difference, _cmnd, lambda d: None, "replace the `...`"),
    (S.cumulative_mean_normalized_difference, _cmnd, lambda d: _cmnd(d, set_first=False), "d'(0)"),
    (S.cumulative_mean_normalized_difference, _cmnd, lambda d: _cmnd(d, first=0.0), "d'(0) must be 1"),
    (S.cumulative_mean_normalized_difference, _cmnd, lambda d: d.clone(), "this is d itself"),
    (S.cumulative_mean_normalized_difference, _cmnd, lambda d: _cmnd(d, mean=False), "running sum, not the running mean"),
    (S.cumulative_mean_normalized_difference, _cmnd, lambda d: _cmnd(d, count_plus_one=True), "off by one"),
    (S.cumulative_mean_normalized_difference, _cmnd, lambda d: _cmnd(d, global_mean=True), "mean over all lags"),
    (S.cumulative_mean_normalized_difference, _cmnd, lambda d: 1.01 * _cmnd(d), "largest error"),
]


@pytest.mark.parametrize("check, right, wrong, words", CASES, ids=[f"{c.__name__}-{w[:24]}" for c, _, _, w in CASES])
def test_checks_accept_the_right_answer_and_name_the_mistake_in_a_wrong_one(check, right, wrong, words):
    assert_check_accepts_right_and_names_wrong(check, right, wrong, words)


def test_the_natural_log_form_of_the_htk_scale_is_accepted():
    """1127 ln(1 + f / 700) is the same scale (2595 / ln 10 = 1127.0), to 6 digits."""
    assert S.hz_to_mel(lambda f: 2595.0 / math.log(10) * torch.log1p(f / 700))


def test_a_vectorised_filterbank_is_accepted():
    def vectorised(edges, f, slaney=False):
        lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
        M = torch.clamp(torch.minimum((f - lower) / (centre - lower), (upper - f) / (upper - centre)), min=0)
        return M * 2 / (upper - lower) if slaney else M

    assert S.triangular_filterbank(vectorised)


def test_checks_run_in_well_under_a_second():
    for check, right in ((S.hz_to_mel, _hz_to_mel), (S.mel_to_hz, _mel_to_hz), (S.triangular_filterbank, _filterbank),
                         (S.cents, _cents), (S.cumulative_mean_normalized_difference, _cmnd)):
        start = time.perf_counter()
        check(right)
        assert time.perf_counter() - start < 0.5, f"{check.__name__} is too slow for instant feedback"


def test_filterbank_mistakes_differ_from_the_right_answer_in_every_setting():
    """A mistake that equals the right answer on some input could not be named there."""
    from diffusion_edu.audio.mel import mel_frequencies
    from diffusion_edu.audio.stft import fft_frequencies

    for sr, n_fft, n_mels, fmin, fmax, htk in S.FILTERBANK_SETTINGS:
        edges, f = mel_frequencies(n_mels + 2, fmin, fmax, htk), fft_frequencies(sr, n_fft)
        for slaney in (False, True):
            right = _filterbank(edges, f, slaney)
            for variant in ({"swapped": True}, {"whole_width": True}, {"clip": False}):
                assert not torch.allclose(right, _filterbank(edges, f, slaney, **variant)), (sr, slaney, variant)

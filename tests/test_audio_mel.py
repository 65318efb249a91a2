"""audio/mel.py: the mel scales, the filterbank (against librosa), log-mels and their normalisation."""
from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import torch

from conftest import max_abs_error
from diffusion_edu.audio.mel import (
    denormalize_log_mel,
    hz_to_mel,
    log_mel,
    mel_filterbank,
    mel_frequencies,
    mel_spectrogram,
    mel_to_hz,
    normalize_log_mel,
)

FREQUENCIES = torch.tensor([0.0, 20.0, 440.0, 999.0, 1000.0, 1001.0, 4000.0, 8000.0, 22050.0], dtype=torch.float64)


# --------------------------------------------------------------------------------- the mel scales
@pytest.mark.parametrize("htk", [False, True])
def test_hz_to_mel_and_back_equal_librosa(htk):
    mels = hz_to_mel(FREQUENCIES, htk)
    assert np.abs(mels.numpy() - librosa.hz_to_mel(FREQUENCIES.numpy(), htk=htk)).max() < 1e-10
    assert np.abs(mel_to_hz(mels, htk).numpy() - librosa.mel_to_hz(mels.numpy(), htk=htk)).max() < 1e-8
    assert max_abs_error(mel_to_hz(mels, htk), FREQUENCIES) < 1e-8  # an exact inverse


def test_mel_scales_follow_their_formulas():
    assert hz_to_mel(1000.0, htk=True).item() == pytest.approx(2595 * math.log10(1 + 1000 / 700), rel=1e-12)
    assert hz_to_mel(500.0).item() == pytest.approx(7.5, rel=1e-12)  # Slaney: linear, 200/3 Hz per mel
    assert hz_to_mel(1000.0).item() == pytest.approx(15.0, rel=1e-12)
    assert hz_to_mel(6400.0).item() == pytest.approx(15.0 + 27.0, rel=1e-12)  # 27 mel per factor 6.4
    assert hz_to_mel(2000.0).item() - hz_to_mel(1000.0).item() == pytest.approx(
        hz_to_mel(4000.0).item() - hz_to_mel(2000.0).item(), rel=1e-12)  # logarithmic above 1 kHz


def test_mel_frequencies_are_evenly_spaced_in_mel():
    for htk in (False, True):
        f = mel_frequencies(10, 30.0, 7000.0, htk)
        assert f[0].item() == pytest.approx(30.0) and f[-1].item() == pytest.approx(7000.0)
        steps = hz_to_mel(f, htk).diff()
        assert max_abs_error(steps, torch.full_like(steps, steps[0].item())) < 1e-10


# ------------------------------------------------------------------------------ the filterbank
SETTINGS = [  # (sr, n_fft, n_mels, fmin, fmax)
    (16000, 1024, 64, 0.0, 8000.0),  # the notes' settings
    (16000, 1024, 32, 0.0, None),
    (22050, 2048, 128, 0.0, None),  # librosa's defaults
    (16000, 512, 40, 50.0, 7000.0),
    (44100, 2048, 64, 20.0, 16000.0),
]


@pytest.mark.parametrize("sr, n_fft, n_mels, fmin, fmax", SETTINGS)
@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("norm", ["slaney", None])
def test_filterbank_equals_librosa(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk=htk, norm=norm)
    reference = librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm, dtype=np.float64
    )
    assert ours.shape == reference.shape == (n_mels, n_fft // 2 + 1)
    # measured: at most 3e-16 (slaney, peaks ~0.01-0.06) and 3e-14 (norm None, peaks 1)
    assert np.abs(ours.numpy() - reference).max() < 1e-10


def test_unnormalised_triangles_add_up_to_one_between_the_first_and_last_centre():
    M = mel_filterbank(16000, 1024, 32, 0.0, 8000.0, norm=None)  # (32, 513)
    f = torch.arange(513, dtype=torch.float64) * 16000 / 1024
    centres = mel_frequencies(34, 0.0, 8000.0)[1:-1]
    inside = (f >= centres[0]) & (f <= centres[-1])
    assert max_abs_error(M[:, inside].sum(0), torch.ones(int(inside.sum()), dtype=torch.float64)) < 1e-12
    assert (M >= 0).all() and M.max() <= 1


def test_slaney_triangles_have_area_one_hz():
    sr, n_fft = 16000, 16384  # fine bins: the sum approximates the integral of each triangle
    M = mel_filterbank(sr, n_fft, 32, 0.0, 8000.0, norm="slaney")
    area = M.sum(1) * sr / n_fft  # (32,) sum_k M[i, k] * (bin spacing in Hz)
    assert max_abs_error(area, torch.ones(32, dtype=torch.float64)) < 1e-4  # measured 2.7e-5


def test_mel_spectrogram_sums_the_bins_of_each_band():
    S = torch.rand(2, 513, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    M = mel_filterbank(16000, 1024, 64, 0.0, 8000.0)
    mel = mel_spectrogram(S, M)
    assert mel.shape == (2, 64, 7)
    assert max_abs_error(mel[1, :, 3], (M * S[1, :, 3]).sum(1)) < 1e-12


# ------------------------------------------------------------------ log-mel and normalisation
def test_log_mel_is_floored():
    mel = torch.tensor([0.0, 1e-9, 1e-5, 1.0, 10.0], dtype=torch.float64)
    expected = torch.tensor([math.log(1e-5)] * 3 + [0.0, math.log(10.0)], dtype=torch.float64)
    assert max_abs_error(log_mel(mel, floor=1e-5), expected) < 1e-15


def test_normalisation_maps_the_range_to_minus_one_one_and_is_inverted_exactly():
    log_min, log_max = -9.0, 2.0
    ends = normalize_log_mel(torch.tensor([log_min, log_max], dtype=torch.float64), log_min, log_max)
    assert ends.tolist() == [-1.0, 1.0]
    x = torch.linspace(-12.0, 4.0, 101, dtype=torch.float64)  # also outside the range: affine, no clamp
    y = normalize_log_mel(x, log_min, log_max)
    assert max_abs_error(denormalize_log_mel(y, log_min, log_max), x) < 1e-14
    assert y.min() < -1 and y.max() > 1


def test_bad_filterbank_arguments_are_rejected():
    with pytest.raises(ValueError, match=r"fmax <= sr / 2 = 8000 Hz.*Nyquist"):
        mel_filterbank(16000, 1024, 32, 0.0, 10000.0)
    with pytest.raises(ValueError, match="contain no FFT bin.*use fewer mel bands or a larger n_fft"):
        mel_filterbank(16000, 256, 128)
    with pytest.raises(ValueError, match="norm must be 'slaney'"):
        mel_filterbank(16000, 1024, 32, norm="l2")
    with pytest.raises(ValueError, match="513 frequency bins but the filterbank expects 257"):
        mel_spectrogram(torch.rand(513, 4), mel_filterbank(16000, 512, 32))
    with pytest.raises(ValueError, match="floor must be > 0"):
        log_mel(torch.rand(3), floor=0.0)
    with pytest.raises(ValueError, match="log_min must be below log_max"):
        normalize_log_mel(torch.rand(3), 2.0, -9.0)

"""audio/stft.py: the short-time Fourier transform, its inverse, and agreement with librosa."""
from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import torch

from conftest import max_abs_error
from diffusion_edu.audio.stft import fft_frequencies, frame_count, frame_times, istft, magnitude_spectrogram, stft

SR = 16000


def random_waveform(shape, dtype=torch.float64, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("n_fft, hop", [(1024, 256), (512, 128), (400, 200)])
def test_istft_of_stft_gives_the_waveform_back(n_fft, hop):
    x = random_waveform((3, 8000))
    assert max_abs_error(istft(stft(x, n_fft, hop), n_fft, hop, length=8000), x) < 1e-12  # measured 2e-15
    x32 = x[0].float()  # float32: rounding of the FFTs only
    assert max_abs_error(istft(stft(x32, n_fft, hop), n_fft, hop, length=8000), x32) < 1e-5  # measured 7e-7


def test_stft_equals_librosa_stft():
    x = random_waveform((2, 7000))
    ours = stft(x, 1024, 256).numpy()
    reference = librosa.stft(x.numpy(), n_fft=1024, hop_length=256)  # centred, zero-padded, Hann
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() < 1e-10  # measured 4e-14


def test_stft_has_F_bins_and_one_frame_per_hop():
    x = random_waveform(7936)
    X = stft(x, 1024, 256)
    assert X.shape == (513, frame_count(7936, 256)) == (513, 32) and X.is_complex()
    assert stft(random_waveform((5, 7936)), 1024, 256).shape == (5, 513, 32)
    assert np.allclose(fft_frequencies(SR, 1024).numpy(), np.fft.rfftfreq(1024, 1 / SR), rtol=0, atol=1e-9)
    assert fft_frequencies(SR, 1024)[1].item() == SR / 1024  # the frequency resolution sr / n_fft
    assert frame_times(32, SR, 256)[1].item() == 256 / SR  # the time resolution hop / sr


@pytest.mark.parametrize("f0", [625.0, 440.0, 3000.0])
def test_a_pure_sine_peaks_at_its_frequency_bin(f0):
    t = torch.arange(SR, dtype=torch.float64) / SR
    S = magnitude_spectrogram(0.5 * torch.sin(2 * math.pi * f0 * t), 1024, 256)  # (513, N)
    peaks = S[:, 4:-4].argmax(dim=0)  # every frame away from the edges
    assert (peaks == round(f0 * 1024 / SR)).all()
    if f0 == 625.0:  # exactly bin 40: peak = amplitude * sum(window) / 2 = 0.5 * 512 / 2
        assert max_abs_error(S[40, 4:-4], torch.full_like(S[40, 4:-4], 128.0)) < 1e-9


def test_magnitude_is_the_absolute_value_of_the_stft():
    x = random_waveform(4000)
    assert max_abs_error(magnitude_spectrogram(x, 512, 128), stft(x, 512, 128).abs()) == 0


def test_bad_sizes_and_shapes_are_rejected():
    x = random_waveform(4000)
    with pytest.raises(ValueError, match=r"hop must be an int in \[1, n_fft / 2\] = \[1, 512\], got 600"):
        stft(x, 1024, 600)
    with pytest.raises(ValueError, match=r"real float tensor \(T,\) or \(B, T\), got \(1, 2, 4000\)"):
        stft(x.reshape(1, 2, 2000).repeat(1, 1, 2), 1024, 256)
    with pytest.raises(ValueError, match="too few for frames of n_fft = 1024"):
        stft(x[:300], 1024, 256)
    with pytest.raises(ValueError, match="is it a magnitude"):
        istft(stft(x).abs(), 1024, 256)
    with pytest.raises(ValueError, match=r"F = n_fft // 2 \+ 1 = 257"):
        istft(stft(x, 1024, 256), 512, 128)

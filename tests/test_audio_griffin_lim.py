"""audio/griffin_lim.py: mel -> linear inversion, and phase reconstruction by (fast) Griffin-Lim."""
from __future__ import annotations

import math

import pytest
import torch

from conftest import max_abs_error
from diffusion_edu.audio.griffin_lim import griffin_lim, mel_to_linear, spectral_convergence
from diffusion_edu.audio.mel import mel_filterbank, mel_spectrogram
from diffusion_edu.audio.notes import NOTES, midi_to_hz, synthesize_note
from diffusion_edu.audio.stft import magnitude_spectrogram, stft

T = NOTES.n_samples  # 7936 samples: 32 frames of hop 256


@pytest.fixture(scope="module")
def note():
    """A harmonic note (middle C, string: 15 harmonics) and its magnitude spectrogram (513, 32)."""
    x = synthesize_note(midi_to_hz(60).item(), "string", T, generator=torch.Generator().manual_seed(1))
    return x.double(), magnitude_spectrogram(x.double())


def relative_mel_error(S, mel, M):
    return ((mel_spectrogram(S, M) - mel).norm() / mel.norm()).item()


# ------------------------------------------------------------------------------ mel -> linear
def test_mel_to_linear_gives_a_magnitude_with_the_same_mel(note):
    _, S = note
    M = mel_filterbank(16000, 1024, 64, 0.0, 8000.0)
    mel = mel_spectrogram(S, M)  # (64, 32)
    errors = {n: relative_mel_error(mel_to_linear(mel, M, n_iter=n), mel, M) for n in (0, 20, 100)}
    # measured 0.12 (clipped pinv), 1.1e-2, 3.8e-4 (and 8e-8 after 300): projected gradient
    # fits what the clipping broke
    assert errors[100] < 2e-3 and errors[100] < errors[20] < errors[0]
    S_star = mel_to_linear(mel, M)
    assert S_star.shape == (513, 32) and (S_star >= 0).all()


def test_mel_to_linear_with_no_iterations_is_the_clipped_pseudo_inverse(note):
    _, S = note
    M = mel_filterbank(16000, 1024, 64, 0.0, 8000.0)
    mel = mel_spectrogram(S, M)
    expected = torch.clamp(torch.linalg.pinv(M) @ mel, min=0.0)
    assert max_abs_error(mel_to_linear(mel, M, n_iter=0), expected) < 1e-12
    unclipped = torch.linalg.pinv(M) @ mel  # fits exactly, but is no magnitude: it has negatives
    assert relative_mel_error(unclipped, mel, M) < 1e-10 and (unclipped < 0).any()


def test_mel_to_linear_works_on_batches_in_float32(note):
    _, S = note
    M = mel_filterbank(16000, 1024, 64, 0.0, 8000.0)
    mel = mel_spectrogram(torch.stack([S, 2 * S]).float(), M)  # (2, 64, 32)
    S_star = mel_to_linear(mel, M)
    assert S_star.shape == (2, 513, 32) and S_star.dtype == torch.float32
    assert relative_mel_error(S_star[1].double(), mel[1].double(), M) < 2e-3  # measured 3.8e-4
    assert max_abs_error(S_star[1], 2 * S_star[0]) < 1e-3 * S_star.max().item()  # linear in the mel


# ------------------------------------------------------------------------------- Griffin-Lim
def test_fast_griffin_lim_converges_on_a_harmonic_note(note):
    _, S = note
    x, convergence = griffin_lim(S, n_iter=100, length=T, generator=torch.Generator().manual_seed(0))
    assert x.shape == (T,) and convergence.shape == (100,)
    # measured SC after 1, 10, 25, 50, 100 iterations: 0.67, 0.17, 0.073, 0.042, 0.015
    # (0.032 in float32): 0.05 leaves room for another random draw of the initial phase
    assert convergence[-1] < 0.05
    assert convergence[-1] < convergence[24] < convergence[9] < convergence[0]


def test_plain_griffin_lim_never_gets_worse_and_momentum_is_faster(note):
    _, S = note
    generator = torch.Generator().manual_seed(0)
    _, plain = griffin_lim(S, n_iter=100, momentum=0.0, length=T, generator=generator)
    # measured SC after 1, 10, 25, 50, 100 iterations: 0.67, 0.24, 0.19, 0.13, 0.047; it falls at
    # every iteration, by 6e-4 at least (each round is a pair of projections: Griffin & Lim, 1984)
    assert plain.diff().max() <= 0
    _, fast = griffin_lim(S, n_iter=100, momentum=0.99, length=T, generator=torch.Generator().manual_seed(0))
    assert fast[-1] < 0.5 * plain[-1]  # measured 0.015 against 0.047


def test_the_last_convergence_is_that_of_the_returned_waveform(note):
    _, S = note
    x, convergence = griffin_lim(S, n_iter=20, length=T, generator=torch.Generator().manual_seed(0))
    assert spectral_convergence(S, stft(x)).item() == pytest.approx(convergence[-1].item(), rel=1e-9)


def test_a_consistent_spectrogram_with_its_own_phase_has_convergence_zero(note):
    x, S = note
    assert spectral_convergence(S, stft(x)).item() < 1e-12
    assert spectral_convergence(S, 1.1 * stft(x)).item() == pytest.approx(0.1, rel=1e-9)


def test_griffin_lim_is_reproduced_by_its_seed_and_zeros_needs_none(note):
    _, S = note
    a, _ = griffin_lim(S, n_iter=5, generator=torch.Generator().manual_seed(3))
    b, _ = griffin_lim(S, n_iter=5, generator=torch.Generator().manual_seed(3))
    c, _ = griffin_lim(S, n_iter=5, generator=torch.Generator().manual_seed(4))
    assert max_abs_error(a, b) == 0 and max_abs_error(a, c) > 1e-3
    z1, conv = griffin_lim(S, n_iter=5, init="zeros")
    z2, _ = griffin_lim(S, n_iter=5, init="zeros")
    assert max_abs_error(z1, z2) == 0 and conv[-1] < conv[0]


def test_griffin_lim_runs_on_a_batch(note):
    _, S = note
    x, convergence = griffin_lim(torch.stack([S, 0.5 * S]), n_iter=10, init="zeros")
    assert x.shape == (2, (32 - 1) * 256) and convergence.shape == (2, 10)
    # magnitudes scaled by 0.5 from the same zero phase: the same phases, half the waveform
    assert max_abs_error(x[1], 0.5 * x[0]) < 1e-9 and max_abs_error(convergence[0], convergence[1]) < 1e-9


def test_bad_griffin_lim_input_is_rejected(note):
    _, S = note
    with pytest.raises(ValueError, match=r"magnitudes >= 0 .*F = n_fft // 2 \+ 1 = 513.*complex"):
        griffin_lim(stft(note[0]))
    with pytest.raises(ValueError, match="magnitudes >= 0"):
        griffin_lim(-S)
    with pytest.raises(ValueError, match="F = n_fft // 2 \\+ 1 = 257"):
        griffin_lim(S, n_fft=512, hop=128)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        griffin_lim(S, momentum=1.0)
    with pytest.raises(ValueError, match="init must be 'random' or 'zeros', got 'ones'"):
        griffin_lim(S, init="ones")
    with pytest.raises(ValueError, match="length=8000 samples gives 1 \\+ length // hop = 32 frames"):
        griffin_lim(torch.cat([S, S[:, :1]], dim=1), length=8000)
    with pytest.raises(ValueError, match="mel has 32 bands but the filterbank has 64 rows"):
        mel_to_linear(torch.rand(32, 5), mel_filterbank(16000, 1024, 64))
    assert math.isfinite(griffin_lim(S, n_iter=1, init="zeros")[1].item())

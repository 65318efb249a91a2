"""audio/notes.py: synthetic instrument notes, their log-mel images, and the data set."""
from __future__ import annotations

import math

import pytest
import torch

from conftest import max_abs_error
from diffusion_edu.audio.mel import denormalize_log_mel, mel_spectrogram
from diffusion_edu.audio.notes import (
    INSTRUMENT_NAMES,
    INSTRUMENTS,
    NOTES,
    NoteConfig,
    adsr_envelope,
    hz_to_midi,
    image_to_waveform,
    make_notes,
    midi_to_hz,
    note_image,
    synthesize_note,
)
from diffusion_edu.audio.stft import magnitude_spectrogram

SR = 16000


def test_midi_numbers_and_hertz_follow_equal_temperament():
    assert midi_to_hz(69).item() == 440.0
    assert midi_to_hz(60).item() == pytest.approx(261.6255653, rel=1e-9)  # middle C
    assert midi_to_hz(81).item() == pytest.approx(880.0, rel=1e-12)  # an octave doubles
    assert midi_to_hz(70).item() / midi_to_hz(69).item() == pytest.approx(2 ** (1 / 12), rel=1e-12)
    m = torch.arange(48, 73, dtype=torch.float64)
    assert max_abs_error(hz_to_midi(midi_to_hz(m)), m) < 1e-12


def test_adsr_envelope_passes_through_its_corners():
    sr, n = 1000, 1000  # 1 s at 1 kHz: sample i is at i ms
    A = adsr_envelope(n, sr, attack=0.1, decay=0.1, sustain=0.6, release=0.2)
    assert A[0].item() == 0.0 and A[50].item() == pytest.approx(0.5)  # half-way up the attack
    assert A[100].item() == pytest.approx(1.0) and A[150].item() == pytest.approx(0.8)
    assert max_abs_error(A[200:800], torch.full((600,), 0.6, dtype=torch.float64)) < 1e-12  # sustain
    assert A[900].item() == pytest.approx(0.3) and A[-1].item() == pytest.approx(0.6 * 0.001 / 0.2)
    assert (A >= 0).all() and (A <= 1).all()


def harmonic_amplitudes(x: torch.Tensor, f0: float, n_harmonics: int) -> torch.Tensor:
    """|sum_j w_j x_j exp(-2 pi i k f0 j / sr)| for k = 1 ... n, on the sustained middle of the note."""
    segment = x[len(x) // 3 : 2 * len(x) // 3].double()  # inside the sustain of every instrument
    t = torch.arange(len(segment), dtype=torch.float64) / SR
    window = torch.hann_window(len(segment), periodic=False, dtype=torch.float64)
    k = torch.arange(1, n_harmonics + 1, dtype=torch.float64)[:, None]
    return (segment * window * torch.exp(-2j * math.pi * k * f0 * t)).sum(-1).abs()  # (n,)


@pytest.mark.parametrize("instrument", INSTRUMENT_NAMES)
def test_each_instrument_has_its_harmonic_mix(instrument):
    f0 = midi_to_hz(57).item()  # 220 Hz: 15 harmonics below 8 kHz
    x = synthesize_note(f0, instrument, NOTES.n_samples, generator=torch.Generator().manual_seed(0))
    measured = harmonic_amplitudes(x, f0, 15)
    measured = measured / measured[0]  # relative to the fundamental
    timbre = INSTRUMENTS[instrument].harmonics
    expected = torch.tensor([timbre.get(k, 0.0) / timbre[1] for k in range(1, 16)], dtype=torch.float64)
    assert max_abs_error(measured, expected) < 0.01  # measured at most 3e-3 (noise and leakage)


def test_clarinet_has_no_even_harmonics_and_flute_only_three():
    f0 = 220.0
    clarinet = harmonic_amplitudes(synthesize_note(f0, "clarinet", NOTES.n_samples, noise=0.0), f0, 12)
    assert clarinet[1::2].max() < 1e-4 * clarinet[0]  # k = 2, 4, ... 12
    flute = harmonic_amplitudes(synthesize_note(f0, "flute", NOTES.n_samples, noise=0.0), f0, 12)
    assert flute[3:].max() < 1e-4 * flute[0]


def test_harmonics_above_the_nyquist_frequency_are_left_out():
    f0 = 3000.0  # a string has 15 harmonics; only 3000 and 6000 Hz lie below 8000 Hz
    x = synthesize_note(f0, "string", NOTES.n_samples, noise=0.0)
    spectrum = torch.fft.rfft(x.double()).abs()  # (T / 2 + 1,) bins of sr / T Hz

    def bin_of(f):
        return round(f * len(x) / SR)

    # 9000 Hz would alias to 16000 - 9000 = 7000 Hz, 12000 Hz to 4000 Hz
    assert spectrum[bin_of(7000.0)] < 1e-3 * spectrum[bin_of(3000.0)]
    assert spectrum[bin_of(4000.0)] < 1e-3 * spectrum[bin_of(3000.0)]
    assert spectrum[bin_of(6000.0)] > 0.1 * spectrum[bin_of(3000.0)]


def test_notes_are_reproduced_by_their_seed_and_peak_at_the_amplitude():
    def note(seed):
        return synthesize_note(440.0, "brass", NOTES.n_samples, generator=torch.Generator().manual_seed(seed))

    assert max_abs_error(note(0), note(0)) == 0 and max_abs_error(note(0), note(1)) > 0.01
    clean = synthesize_note(440.0, "brass", NOTES.n_samples, noise=0.0)
    # the peak is at the end of the attack, where the envelope is 1: amplitude * peak of the tone
    assert 0.48 < clean.abs().max().item() <= 0.5
    clean = synthesize_note(440.0, "brass", NOTES.n_samples, noise=0.0, generator=torch.Generator().manual_seed(0))
    noise = note(0) - clean  # the same phases: only the noise differs
    assert noise.std().item() == pytest.approx(0.5 * 0.003, rel=0.05)  # amplitude * noise


def test_note_config_gives_a_64_by_32_image_in_minus_one_one():
    assert NOTES.n_samples == 31 * 256 and NOTES.filterbank().shape == (64, 513)
    x = synthesize_note(midi_to_hz(60).item(), "flute", NOTES.n_samples, generator=torch.Generator().manual_seed(0))
    image = note_image(x)
    assert image.shape == (64, 32) and image.dtype == torch.float32
    assert image.min() == -1 and image.max() < 0.9  # -1: the floor, under which the noise lies
    # the image is the normalised log of the mel: undo the normalisation, and exp gives the mel
    mel = denormalize_log_mel(image.double(), NOTES.log_min, NOTES.log_max).exp()
    expected = mel_spectrogram(magnitude_spectrogram(x.double()), NOTES.filterbank()).clamp(min=math.exp(-5))
    assert ((mel - expected).abs() / expected).max() < 1e-5  # float32 rounding
    hiss = 0.5 * 0.003 * torch.randn(NOTES.n_samples, generator=torch.Generator().manual_seed(0))
    assert (note_image(hiss) == -1).all()  # the synthesis noise alone is below the floor


def test_make_notes_draws_labelled_images_in_range():
    data = make_notes(40, seed=0)
    assert len(data) == 40 and data.waveforms.shape == (40, NOTES.n_samples)
    assert data.images.shape == (40, 1, 64, 32) and data.images.dtype == torch.float32
    # measured over 400 notes: images in [-1, 0.80], two pixels in three at the floor -1
    assert data.images.min() == -1 and data.images.max() < 0.9
    assert 0.5 < (data.images == -1).float().mean() < 0.8
    assert data.pitch.min() >= 48 and data.pitch.max() <= 72 and data.pitch.dtype == torch.long
    assert set(data.instrument.tolist()) == set(range(len(INSTRUMENT_NAMES)))
    assert max_abs_error(data.images[3, 0], note_image(data.waveforms[3])) == 0  # image of its waveform


def test_make_notes_is_reproduced_by_its_seed():
    a, b, c = make_notes(8, seed=5), make_notes(8, seed=5), make_notes(8, seed=6)
    assert max_abs_error(a.waveforms, b.waveforms) == 0 and torch.equal(a.pitch, b.pitch)
    assert max_abs_error(a.waveforms, c.waveforms) > 0.01
    by_generator = make_notes(8, generator=torch.Generator().manual_seed(5))
    assert max_abs_error(a.images, by_generator.images) == 0


def test_make_notes_can_draw_from_some_instruments_only():
    data = make_notes(20, instruments=("clarinet", "brass"), seed=0)
    assert set(data.instrument.tolist()) <= {INSTRUMENT_NAMES.index("clarinet"), INSTRUMENT_NAMES.index("brass")}
    narrow = make_notes(10, config=NoteConfig(pitches=(60, 60)), seed=0)
    assert (narrow.pitch == 60).all()


def test_image_to_waveform_returns_a_note_with_the_same_image():
    data = make_notes(2, seed=1)
    x, convergence = image_to_waveform(data.images, generator=torch.Generator().manual_seed(0))  # (2, 1, 64, 32)
    assert x.shape == (2, NOTES.n_samples) and convergence.shape == (2, 100)
    # over 100 notes, the image of the rebuilt note differs from the original by 0.004 (median)
    # and 0.024 (mean) on the [-1, 1] scale; the largest differences are at the edges of the
    # floor, where a quiet band falls just below or above it
    difference = (note_image(x) - data.images[:, 0]).abs()
    assert difference.median() < 0.02 and difference.mean() < 0.06


def test_bad_note_arguments_are_rejected():
    with pytest.raises(ValueError, match="unknown instrument 'piano': expected one of"):
        synthesize_note(440.0, "piano", 1000)
    with pytest.raises(ValueError, match=r"f0 must be in \(0, sr / 2\) = \(0, 8000\) Hz"):
        synthesize_note(9000.0, "flute", 1000)
    with pytest.raises(ValueError, match="longer than the note"):
        synthesize_note(440.0, "string", 1000)  # 1000 samples = 62.5 ms
    with pytest.raises(ValueError, match="n must be a positive int"):
        make_notes(0)
    with pytest.raises(ValueError, match="instruments must be names from"):
        make_notes(4, instruments=("kazoo",))
    with pytest.raises(ValueError, match=r"\(B, 1, n_mels, N\) with n_mels=64, got \(32, 32\)"):
        image_to_waveform(torch.zeros(32, 32))

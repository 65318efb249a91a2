"""viz and widgets of chapter 8 (sound): each figure draws what it says, with units, and the
animation and the widget work without a trained model."""
import re

import torch
from matplotlib.figure import Figure

from diffusion_edu import viz, widgets
from diffusion_edu.audio import (
    INSTRUMENT_NAMES,
    INSTRUMENTS,
    NOTES,
    fft_frequencies,
    hz_to_mel,
    mel_filterbank,
)

SR, HOP = NOTES.sr, NOTES.hop


def test_note_names_follow_midi_numbers():
    assert [viz.note_name(m) for m in (48, 57, 60, 61, 69, 72)] == ["C3", "A3", "C4", "C#4", "A4", "C5"]


def test_waveform_has_a_close_up_panel_in_milliseconds():
    x = torch.sin(2 * torch.pi * 220 * torch.arange(8000) / SR)
    fig = viz.plot_waveform(x, SR, zoom=(0.1, 0.12))
    whole, close = fig.axes
    assert whole.get_xlabel() == "time (s)" and close.get_xlabel() == "time (ms)"
    assert 0.1 * 1000 <= min(close.lines[0].get_xdata()) and max(close.lines[0].get_xdata()) <= 120
    assert len(viz.plot_waveform(x, SR).axes) == 1


def test_harmonic_mixes_draw_one_bar_per_harmonic():
    fig = viz.plot_harmonic_mixes({name: INSTRUMENTS[name].harmonics for name in INSTRUMENT_NAMES})
    assert [len(ax.patches) for ax in fig.axes] == [len(INSTRUMENTS[n].harmonics) for n in INSTRUMENT_NAMES]
    assert max(p.get_height() for p in fig.axes[0].patches) == 1.0  # relative to the strongest


def test_spectrograms_are_in_decibels_with_time_and_frequency_axes():
    S = torch.rand(513, 32) + 0.01
    fig = viz.plot_spectrograms({"a": S, "b": 2 * S}, SR, HOP, fmax=4000)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "frequency (Hz)" and ax.get_xlabel() == "time (s)" and ax.get_ylim() == (0, 4000)
    image = ax.images[0]
    assert image.get_array().max() == 0.0  # the largest value is 0 dB
    assert image.get_extent()[1] == (32 - 1) * HOP / SR
    per_panel = viz.plot_spectrograms({"a": S, "b": S[:, :8]}, SR, {"a": HOP, "b": 4 * HOP})
    assert per_panel.axes[1].images[0].get_extent()[1] == 7 * 4 * HOP / SR


def test_mel_images_show_the_lowest_band_at_the_bottom():
    image = torch.full((1, 64, 32), -1.0)
    image[0, 0] = 1.0  # the lowest band bright
    fig = viz.plot_mel_images({"low": image, "also low": image[0]}, SR, HOP)
    shown = fig.axes[0].images[0]
    assert shown.origin == "lower" and shown.get_array()[0].max() == 1.0
    assert fig.axes[0].get_ylabel() == "mel band"


def test_mel_scales_are_normalised_to_their_top():
    f = torch.linspace(0, 8000, 101, dtype=torch.float64)
    fig = viz.plot_mel_scales(f, {"HTK": hz_to_mel(f, htk=True), "Slaney": hz_to_mel(f)})
    left = fig.axes[0]
    assert all(abs(line.get_ydata()[-1] - 1.0) < 1e-12 for line in left.lines)


def test_filterbank_draws_one_triangle_per_band():
    fig = viz.plot_filterbank({"16 bands": mel_filterbank(SR, 1024, 16)}, fft_frequencies(SR, 1024))
    assert len(fig.axes[0].lines) == 16


def test_convergence_and_pitch_errors_are_on_log_scales():
    fig = viz.plot_convergence({"plain": torch.linspace(1, 0.1, 10), "fast": torch.linspace(1, 0.01, 10)})
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].lines) == 2
    errors = torch.tensor([1.0, 10.0, float("nan"), 300.0])
    fig = viz.plot_pitch_errors({"real notes": errors, "generated": errors})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.lines[0].get_ydata()[-1] == 0.75  # three of four within 1200 cents: NaN counts as a miss


def test_yin_marks_the_period_and_the_threshold():
    tau = torch.arange(200, dtype=torch.float64)
    d = 1 - torch.cos(2 * torch.pi * tau / 50)
    fig = viz.plot_yin(d, d, SR, 50.0, 0.15, found=50.0)
    assert isinstance(fig, Figure) and len(fig.axes[0].lines) >= 2
    assert any(line.get_ydata()[0] == 0.15 for line in fig.axes[1].lines)


def test_spectrogram_animation_carries_alt_text_and_ends_on_the_sample():
    xs = torch.randn(6, 2, 1, 64, 32)  # (S+1, B, 1, n_mels, N)
    x0s = torch.randn(5, 2, 1, 64, 32)
    ts = [800, 600, 400, 200, 0]
    anim = viz.animate_spectrogram_trajectory(xs, x0s, ts, n_frames=4)
    html = anim.to_jshtml()
    (img,) = re.findall(r'<img[^>]*id="_anim_img[^>]*>', html)
    assert 'alt="Animation in' in img
    html = viz.animate_spectrogram_trajectory(xs, x0s, ts, n_frames=3, alt="Noise <clears>").to_jshtml()
    assert 'alt="Noise &lt;clears&gt;"' in html
    fig = viz.new_figure((4, 2))
    a, b = fig.subplots(1, 2)
    assert viz.spectrogram_trajectory_frame(a, b, xs, x0s, ts, 5) == "final sample"


def test_note_explorer_calls_the_generator_with_the_picked_note():
    calls = []

    def make_note(pitch, instrument, w):
        calls.append((pitch, instrument, w))
        return torch.zeros(1, 64, 32), 0.1 * torch.sin(torch.arange(7936.0) / 10)

    box = widgets.note_explorer(make_note, range(48, 73), INSTRUMENT_NAMES, max_scale=8.0, sr=SR, hop=HOP)
    pitch = box.children[0]
    assert pitch.options[0] == ("C3 (MIDI 48)", 48)
    assert calls == [(60, "flute", 2.0)]  # the middle pitch, the first instrument, w = 2

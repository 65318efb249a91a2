"""Checks for the exercises of chapter 8, sound: the mel scale, the mel filterbank, cents and YIN.

Every check compares the student's function with :mod:`diffusion_edu.audio` (which the tests
compare with librosa) in float64, and names the typical slips: a natural log where log10
belongs, 700 and 1000 mixed up, triangles with the wrong edges, n_mels + 2 edges miscounted,
Slaney's factor forgotten, cents without log2 or without 1200, a missing cumulative mean.
"""
from __future__ import annotations

import torch

from ..audio import mel as mel_ref
from ..audio import pitch as pitch_ref
from ..audio.notes import midi_to_hz, synthesize_note
from ..audio.stft import fft_frequencies
from ._verdict import as_tensor, generator, limited, verdict

F64 = torch.float64
FREQUENCIES = torch.tensor([20.0, 100.0, 440.0, 999.0, 1000.0, 1001.0, 4000.0, 8000.0, 22050.0], dtype=F64)


# ------------------------------------------------------------------------------ q1: the mel scale
def hz_to_mel(fn) -> bool:
    """fn(f) -> m = 2595 log10(1 + f / 700), elementwise (HTK's mel scale)."""
    fn = limited(fn)
    hint = "m = 2595 log10(1 + f / 700): torch.log10, and 700 Hz inside the logarithm"
    for what, f in (("hz_to_mel(f)", FREQUENCIES.clone()),
                    ("hz_to_mel on a (2, 3) tensor including f = 0", torch.tensor([[0.0, 50.0, 300.0],
                                                                                  [2000.0, 6000.0, 7999.0]], dtype=F64))):
        verdict(
            fn(f.clone()), 2595.0 * torch.log10(1 + f / 700), what, hint=hint,
            mistakes={
                "this uses the natural log: HTK's formula has log10 (2595 ln(...) is 2.3 times too large; the "
                "natural-log form of the same scale is 1127 ln(1 + f / 700))": 2595.0 * torch.log(1 + f / 700),
                "700 and 1000 are mixed up: the frequency is divided by 700 Hz inside the log (1000 Hz is the "
                "frequency that the scale maps to about 1000 mel)": 2595.0 * torch.log10(1 + f / 1000),
                "this is Slaney's mel scale (librosa's default); this question asks for HTK's, "
                "2595 log10(1 + f / 700)": mel_ref.hz_to_mel(f, htk=False),
                "the 1 + is missing: log10(1 + f / 700), so that 0 Hz is 0 mel": 2595.0 * torch.log10(f / 700),
            },
            rtol=1e-6, atol=1e-8,
        )
    return True


def mel_to_hz(fn) -> bool:
    """fn(m) -> f = 700 (10^(m / 2595) - 1), elementwise: the inverse of the HTK mel scale."""
    fn = limited(fn)
    hint = "solve m = 2595 log10(1 + f / 700) for f: f = 700 (10^(m / 2595) - 1)"
    for what, f in (("mel_to_hz(m)", FREQUENCIES.clone()), ("mel_to_hz(m) at m = 0", torch.zeros(3, dtype=F64))):
        m = 2595.0 * torch.log10(1 + f / 700)
        verdict(
            fn(m.clone()), f, what, hint=hint,
            mistakes={
                "this uses e^(m / 2595): the inverse of log10 is 10^x (torch.pow(10, x) or 10 ** x)":
                    700 * torch.expm1(m / 2595),
                "the - 1 is missing: 10^(m / 2595) = 1 + f / 700, so f = 700 (10^(m / 2595) - 1)":
                    700 * 10 ** (m / 2595),
                "700 and 1000 are mixed up: f = 700 (10^(m / 2595) - 1)": 1000 * (10 ** (m / 2595) - 1),
                "this is the forward formula, hz_to_mel: mel_to_hz must undo it": 2595.0 * torch.log10(1 + m / 700),
            },
            rtol=1e-6, atol=1e-6,
        )
    return True


# ----------------------------------------------------------------------------- q2: the filterbank
FILTERBANK_SETTINGS = (  # (sr, n_fft, n_mels, fmin, fmax, htk)
    (16000, 1024, 64, 0.0, 8000.0, False),  # the notes of chapter 8
    (16000, 512, 40, 50.0, 7000.0, True),
    (22050, 2048, 128, 0.0, 11025.0, False),  # librosa's defaults
)


def _triangles(edges, f, *, swapped=False, whole_width=False, clip=True, in_mel=False, htk=False):
    """The filterbank and its typical mistakes (keyword arguments name the variant), peak 1."""
    if in_mel:
        edges, f = mel_ref.hz_to_mel(edges, htk), mel_ref.hz_to_mel(f, htk)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (n_mels, 1) each
    if whole_width:
        rising, falling = (f - lower) / (upper - lower), (upper - f) / (upper - lower)
    elif swapped:
        rising, falling = (f - lower) / (upper - centre), (upper - f) / (centre - lower)
    else:
        rising, falling = (f - lower) / (centre - lower), (upper - f) / (upper - centre)
    M = torch.minimum(rising, falling)
    return M.clamp(min=0) if clip else M


def triangular_filterbank(fn) -> bool:
    """fn(edges, bin_freqs, slaney=False) -> M (n_mels, F): band i rises from edges[i] to 1 at
    edges[i+1] and falls to 0 at edges[i+2]; with slaney, each triangle times 2 / (f_{i+2} - f_i)."""
    fn = limited(fn)
    hint = ("band i is max(0, min((f - f_i) / (f_{i+1} - f_i), (f_{i+2} - f) / (f_{i+2} - f_{i+1}))), for "
            "i = 0, ..., n_mels - 1; with slaney=True, multiply band i by 2 / (f_{i+2} - f_i)")
    for sr, n_fft, n_mels, fmin, fmax, htk in FILTERBANK_SETTINGS:
        edges = mel_ref.mel_frequencies(n_mels + 2, fmin, fmax, htk)  # (n_mels + 2,)
        f = fft_frequencies(sr, n_fft)  # (F,)
        for slaney in (False, True):
            what = (f"triangular_filterbank(edges, bin_freqs, slaney={slaney}) with {n_mels + 2} edges "
                    f"({'HTK' if htk else 'Slaney'} mel scale) and {len(f)} bins")
            got = as_tensor(fn(edges.clone(), f.clone(), slaney=slaney), what)
            if got.ndim == 2 and got.shape[1] == len(f) and got.shape[0] in (n_mels + 2, n_mels + 1, n_mels - 1):
                raise AssertionError(
                    f"{what} has {got.shape[0]} bands, expected n_mels = len(edges) - 2 = {n_mels}: off by one. "
                    f"Band i uses three edges, f_i, f_{{i+1}}, f_{{i+2}}; the first and last edges are only the feet "
                    f"of the outermost triangles")
            if got.ndim == 2 and got.shape == (len(f), n_mels):
                raise AssertionError(f"{what} has shape {tuple(got.shape)}: transposed. M is (n_mels, F), one row "
                                     f"per band, so that mel = M @ S for a spectrogram S (F, N)")
            expected = mel_ref.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk=htk, norm="slaney" if slaney else None)
            lower, upper = edges[:-2, None], edges[2:, None]
            scale = 2.0 / (upper - lower) if slaney else 1.0
            peak_one = mel_ref.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk=htk, norm=None)
            mistakes = {
                "the rising and falling edges have each other's widths: the rising edge is divided by "
                "f_{i+1} - f_i (its own width), the falling edge by f_{i+2} - f_{i+1}":
                    scale * _triangles(edges, f, swapped=True),
                "the triangles peak at 1/2: each edge is divided by its own width (f_{i+1} - f_i rising, "
                "f_{i+2} - f_{i+1} falling), not by the whole base f_{i+2} - f_i": scale * _triangles(edges, f, whole_width=True),
                "negative weights: outside its triangle a band's weight is 0, so take max(0, ...)":
                    scale * _triangles(edges, f, clip=False),
                "the triangles are straight lines in mel, but the filterbank's triangles are straight in Hz "
                "(f_k and the edges in Hz, as librosa does)": scale * _triangles(edges, f, in_mel=True, htk=htk),
            }
            if slaney:
                mistakes.update({
                    "Slaney normalisation is missing: with slaney=True, multiply band i by 2 / (f_{i+2} - f_i), "
                    "which gives each triangle area 1 (in Hz)": peak_one,
                    "the factor 2 is missing: a triangle of base f_{i+2} - f_i and height 1 has area "
                    "(f_{i+2} - f_i) / 2, so the factor is 2 / (f_{i+2} - f_i)": peak_one / (upper - lower),
                    "the normalisation uses the wrong width: divide by the whole base f_{i+2} - f_i, from the "
                    "triangle's first foot to its last": peak_one * 2.0 / (edges[1:-1, None] - lower),
                })
            else:
                mistakes["this is Slaney-normalised: with slaney=False each triangle peaks at 1"] = \
                    peak_one * 2.0 / (upper - lower)
            verdict(got, expected, what, hint=hint, mistakes=mistakes, rtol=1e-6, atol=1e-9)
    return True


# ------------------------------------------------------------------------------ q3: cents and YIN
def cents(fn) -> bool:
    """fn(f_est, f_ref) -> 1200 log2(f_est / f_ref), elementwise."""
    fn = limited(fn)
    g = generator(8)
    hint = "cents = 1200 log2(f_est / f_ref): 1200 cents to the octave (a factor 2), 100 to the semitone"
    f_ref = 440.0 * 2 ** torch.linspace(-2, 1, 9, dtype=F64)
    f_est = f_ref * 2 ** (torch.randn(9, generator=g, dtype=F64) / 6)  # a few semitones off, both ways
    for what, est, ref in (("cents(f_est, f_ref)", f_est, f_ref),
                           ("cents of an octave and a semitone up", torch.tensor([880.0, 440.0 * 2 ** (1 / 12)], dtype=F64),
                            torch.tensor([440.0, 440.0], dtype=F64))):
        ratio = est / ref
        verdict(
            fn(est.clone(), ref.clone()), 1200 * torch.log2(ratio), what, hint=hint,
            mistakes={
                "this uses the natural log: cents count octaves with log2 (1200 per factor 2)":
                    1200 * torch.log(ratio),
                "this uses log10: cents count octaves with log2 (1200 per factor 2)": 1200 * torch.log10(ratio),
                "the factor 1200 is missing: log2 gives octaves, and an octave is 1200 cents": torch.log2(ratio),
                "the factor is 1200, not 100: log2 gives octaves, an octave is 12 semitones of 100 cents":
                    100 * torch.log2(ratio),
                "this is in semitones (12 log2): a cent is a hundredth of a semitone, so 1200 log2":
                    12 * torch.log2(ratio),
                "the sign is flipped: a frequency above the reference is a positive error, 1200 log2(f_est / f_ref)":
                    -1200 * torch.log2(ratio),
            },
            rtol=1e-6, atol=1e-6,
        )
    return True


def _difference_functions(tau_max: int = 120) -> torch.Tensor:
    """d(tau) of three frames of synthetic notes (A3 string, C5 flute, E3 clarinet): (3, tau_max + 1)."""
    g = generator(9)
    notes = [synthesize_note(midi_to_hz(m).item(), name, 8000, generator=g).double()
             for m, name in ((57, "string"), (72, "flute"), (52, "clarinet"))]
    frames = torch.stack([x[4000 : 4000 + 400 + tau_max] for x in notes])  # (3, W + tau_max), W = 400
    return pitch_ref.difference_function(frames, tau_max)


def cumulative_mean_normalized_difference(fn) -> bool:
    """fn(d) -> d' with d'(0) = 1, d'(tau) = d(tau) / ((1 / tau) sum_{k=1}^{tau} d(k)), along the last dim."""
    fn = limited(fn)
    hint = ("d'(tau) = d(tau) * tau / (d(1) + ... + d(tau)) for tau >= 1 (torch.cumsum gives the running sums), "
            "and d'(0) = 1")
    d = _difference_functions()  # (3, 121)
    tau = torch.arange(d.shape[-1], dtype=F64)
    running = torch.cumsum(d, dim=-1)  # d(0) = 0, so this is sum_{k=1}^{tau} d(k)
    expected = pitch_ref.cumulative_mean_normalized_difference(d)
    for what, dd, exp in (("cumulative_mean_normalized_difference(d) for d of shape (3, 121)", d, expected),
                          ("cumulative_mean_normalized_difference(d) for one frame, d of shape (121,)", d[0], expected[0])):
        got = as_tensor(fn(dd.clone()), what)
        if got.shape == exp.shape and not torch.isfinite(got[..., 0]).all():
            raise AssertionError(f"{what}: d'(0) is {got[..., 0].flatten()[0].item()}, the 0 / 0 of the formula at "
                                 f"tau = 0. By definition d'(0) = 1: set it after computing the rest")
        sums = (running if dd.ndim == 2 else running[0]).clamp(min=1e-300)  # sum_{k=1}^{tau} d(k)
        mistakes = {
            "d'(0) must be 1 (by definition; the formula is 0 / 0 there)": torch.where(tau == 0, 0.0, dd * tau / sums),
            "this is d itself: divide d(tau) by its running mean (1 / tau) sum_{k=1}^{tau} d(k)": dd,
            "this divides by the running sum, not the running mean: multiply by tau "
            "(the mean of tau terms is their sum / tau)": torch.where(tau == 0, 1.0, dd / sums),
            "off by one in the count: the mean runs over k = 1, ..., tau, which is tau terms, not tau + 1":
                torch.where(tau == 0, 1.0, dd * (tau + 1) / sums),
            "this divides by the mean over all lags, not the cumulative mean up to tau":
                torch.where(tau == 0, 1.0, dd / dd[..., 1:].mean(dim=-1, keepdim=True)),
        }
        verdict(got, exp, what, hint=hint, mistakes=mistakes, rtol=1e-6, atol=1e-9)
    return True


"""Pitch estimation with YIN: how the audio chapter judges a generated note without listening.

A note of fundamental frequency f0 repeats itself every P = sr / f0 samples. YIN (de Cheveigne &
Kawahara, 2002) looks for that period in each frame x_0 ... x_{W-1} (plus tau_max samples of
look-ahead) with the *difference function*

    d(tau) = sum_{j=0}^{W-1} (x_j - x_{j+tau})^2 = E_0 + E_tau - 2 r(tau)

(E_0, E_tau: energies of the frame and of the frame shifted by tau; r(tau) = sum_j x_j x_{j+tau},
computed for every tau at once with an FFT). d(P) is near 0 for a periodic x. Because d also
dips at 2P, 3P, ... and is 0 at tau = 0, YIN normalises it by its running mean,

    d'(0) = 1,    d'(tau) = d(tau) / ((1 / tau) sum_{k=1}^{tau} d(k)),

and takes the *first* dip of d' below a threshold: the first local minimum of d' with
d' < threshold, between tau_min = sr / fmax and tau_max = sr / fmin. (The threshold is 0.15
here; YIN's 0.1 is enough for clean notes, but notes rebuilt by Griffin-Lim are less exactly
periodic and some dip only to 0.1-0.15.) A parabola through d at tau - 1, tau, tau + 1 refines
the period between samples:

    tau* = tau + (d(tau - 1) - d(tau + 1)) / (2 (d(tau - 1) - 2 d(tau) + d(tau + 1))),
    f0 = sr / tau*.

A frame with no dip below the threshold (noise: d' stays near 1) or no energy (silence: an RMS
below 1e-4) has no pitch: its estimate is NaN. A note's pitch is the median over its frames that have one; NaN
if none does. Errors are measured in cents, hundredths of a semitone:

    cents = 1200 log2(f_est / f_ref)      (100 cents = 1 semitone; 50 cents = half-way to the next)
"""
from __future__ import annotations

import torch
from torch import Tensor


def difference_function(frames: Tensor, tau_max: int) -> Tensor:
    """d(tau) = sum_{j<W} (x_j - x_{j+tau})^2 for tau = 0 ... tau_max: (..., W + tau_max) -> (..., tau_max + 1).

    The last tau_max samples of each frame are look-ahead: W = frames.shape[-1] - tau_max.
    """
    W = frames.shape[-1] - tau_max
    if W < 1:
        raise ValueError(f"frames of {frames.shape[-1]} samples are too short for tau_max = {tau_max}")
    x = frames.double()
    n = 1 << (x.shape[-1] - 1).bit_length()  # FFT size >= W + tau_max: no circular wrap-around
    head = x[..., :W]  # (..., W)
    r = torch.fft.irfft(torch.fft.rfft(head, n).conj() * torch.fft.rfft(x, n), n)[..., : tau_max + 1]  # r(tau)
    energy = torch.nn.functional.pad(torch.cumsum(x**2, dim=-1), (1, 0))  # (..., W + tau_max + 1)
    E_tau = energy[..., W : W + tau_max + 1] - energy[..., : tau_max + 1]  # sum_{j<W} x_{j+tau}^2
    E_0 = E_tau[..., :1]
    d = (E_0 + E_tau - 2 * r).clamp(min=0.0)  # (..., tau_max + 1); rounding could dip below 0
    d[..., 0] = 0.0  # exactly, where the FFT leaves a rounding error
    return d


def cumulative_mean_normalized_difference(d: Tensor) -> Tensor:
    """d'(0) = 1, d'(tau) = d(tau) tau / sum_{k=1}^{tau} d(k): (..., tau_max + 1) -> same shape."""
    tau = torch.arange(d.shape[-1], dtype=d.dtype, device=d.device)  # (tau_max + 1,)
    running_sum = torch.cumsum(d, dim=-1) - d[..., :1]  # sum_{k=1}^{tau} d(k)
    d_prime = d * tau / running_sum.clamp(min=1e-300)
    d_prime[..., 0] = 1.0
    return d_prime


def pitch_track(
    x: Tensor,
    sr: float,
    fmin: float = 60.0,
    fmax: float = 1000.0,
    frame_length: int = 1024,
    hop: int = 256,
    threshold: float = 0.15,
    silence: float = 1e-4,
) -> Tensor:
    """f0 in Hz of every frame of x (T,) or (B, T): (n_frames,) or (B, n_frames), NaN where none.

    Frames start every ``hop`` samples and hold frame_length + sr / fmin samples; a frame whose
    RMS is below ``silence`` or whose d' never dips below ``threshold`` gets NaN.
    """
    if not (isinstance(x, Tensor) and x.is_floating_point() and x.ndim in (1, 2)):
        raise ValueError(f"x must be a real float waveform (T,) or (B, T), got {getattr(x, 'shape', type(x))}")
    if not 0 < fmin < fmax <= sr / 2:
        raise ValueError(f"need 0 < fmin < fmax <= sr / 2 = {sr / 2:g} Hz, got fmin={fmin}, fmax={fmax}")
    tau_min, tau_max = max(int(sr / fmax), 2), int(sr / fmin) + 1
    if x.shape[-1] < frame_length + tau_max + 1:
        raise ValueError(
            f"x has {x.shape[-1]} samples; one frame needs frame_length + sr / fmin + 2 = "
            f"{frame_length + tau_max + 1}: pass a longer waveform, or a smaller frame_length or larger fmin"
        )
    frames = x.unfold(-1, frame_length + tau_max + 1, hop)  # (..., n_frames, W + tau_max + 1)
    d = difference_function(frames, tau_max + 1)  # (..., n_frames, tau_max + 2): one extra for the parabola
    d_prime = cumulative_mean_normalized_difference(d)[..., : tau_max + 1]
    # the first local minimum of d' below the threshold, with tau in [tau_min, tau_max]
    left, centre, right = d_prime[..., :-2], d_prime[..., 1:-1], d_prime[..., 2:]  # tau - 1, tau, tau + 1
    dip = (centre <= left) & (centre < right) & (centre < threshold)  # (..., n_frames, tau_max - 1): tau = 1 ...
    dip[..., : tau_min - 1] = False
    has_dip = dip.any(dim=-1)  # (..., n_frames)
    tau = dip.float().argmax(dim=-1) + 1  # (..., n_frames): the first True, as a lag
    # parabolic interpolation of d around tau
    d_left, d_centre, d_right = (d.gather(-1, (tau + k).unsqueeze(-1)).squeeze(-1) for k in (-1, 0, 1))
    curvature = d_left - 2 * d_centre + d_right
    shift = torch.where(curvature > 0, (d_left - d_right) / (2 * curvature.clamp(min=1e-300)), 0.0).clamp(-1, 1)
    f0 = sr / (tau.double() + shift)
    rms = frames[..., :frame_length].double().pow(2).mean(-1).sqrt()  # (..., n_frames)
    voiced = has_dip & (rms >= silence)
    return torch.where(voiced, f0, torch.full_like(f0, float("nan")))


def estimate_pitch(x: Tensor, sr: float, **kwargs) -> Tensor:
    """The pitch of a note in Hz: the median of :func:`pitch_track` over its frames that have one.

    x: (T,) -> a 0-dim tensor; (B, T) -> (B,). NaN means "no pitch": silence or noise, or frames
    too irregular for any dip of d' below the threshold. ``kwargs`` go to :func:`pitch_track`.
    """
    return torch.nanmedian(pitch_track(x, sr, **kwargs), dim=-1).values


def cents(f_est: Tensor | float, f_ref: Tensor | float) -> Tensor:
    """1200 log2(f_est / f_ref): the error of a frequency in cents (NaN stays NaN)."""
    f_est, f_ref = torch.as_tensor(f_est, dtype=torch.float64), torch.as_tensor(f_ref, dtype=torch.float64)
    return 1200.0 * torch.log2(f_est / f_ref)

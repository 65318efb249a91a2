"""The mel scale, the mel filterbank, and the normalised log-mel spectrogram a diffusion model sees.

Pitch is heard on a roughly logarithmic scale: 100 -> 200 Hz sounds as far as 1000 -> 2000 Hz.
The *mel* scale spaces frequencies the way they are heard. Two formulas are in use:

- HTK (Young et al., The HTK Book, 2009; after O'Shaughnessy, 1987):

      m = 2595 log10(1 + f / 700),          f = 700 (10^(m / 2595) - 1)

- Slaney (Auditory Toolbox, 1998; librosa's default): linear below 1 kHz, logarithmic above,

      m = f / (200/3)                                  for f < 1000 Hz   (so 1000 Hz = 15 mel)
      m = 15 + log(f / 1000) / (log(6.4) / 27)         for f >= 1000 Hz  (27 mel per factor 6.4)

A *mel filterbank* turns the F = n_fft/2 + 1 bins of a magnitude spectrogram S into n_mels bands:
n_mels + 2 frequencies f_0 < f_1 < ... evenly spaced in mel between fmin and fmax are the edges,
and band i is a triangle that rises from 0 at f_i to 1 at f_{i+1} and falls back to 0 at f_{i+2}:

    M[i, k] = max(0, min((f_k - f_i) / (f_{i+1} - f_i), (f_{i+2} - f_k) / (f_{i+2} - f_{i+1})))

With Slaney normalisation each triangle is scaled by 2 / (f_{i+2} - f_i), to area 1 (in Hz):
a wide high band then does not outweigh a narrow low one. mel = M @ S is (n_mels, N): a smaller
picture, fine where hearing is fine and coarse where it is coarse. These are the conventions of
``librosa.filters.mel``; the tests compare with it.

For a diffusion model the mel spectrogram is compressed and scaled:

    log_mel = log(max(mel, floor))                          (a floor keeps log finite in silence)
    y = 2 (log_mel - log_min) / (log_max - log_min) - 1     (in [-1, 1] like the images)

with *fixed* constants log_min = log(floor) and log_max, so that the exact inverse
log_mel = (y + 1) / 2 (log_max - log_min) + log_min maps a generated y back to a spectrogram.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

# Slaney's mel scale: linear (200/3 Hz per mel) up to 1000 Hz = 15 mel, then 27 mel per factor 6.4
_SLANEY_HZ_PER_MEL = 200.0 / 3
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL  # 15
_SLANEY_LOG_STEP = math.log(6.4) / 27  # natural log of the frequency ratio per mel above 1 kHz


def hz_to_mel(f: Tensor | float, htk: bool = False) -> Tensor:
    """f (Hz) -> m (mel): 2595 log10(1 + f / 700) with ``htk``, else Slaney's (see the module)."""
    f = f if isinstance(f, Tensor) and f.is_floating_point() else torch.as_tensor(f, dtype=torch.float64)
    if htk:
        return 2595.0 * torch.log10(1.0 + f / 700.0)
    linear = f / _SLANEY_HZ_PER_MEL
    log_ratio = torch.log(f.clamp(min=_SLANEY_BREAK_HZ) / _SLANEY_BREAK_HZ)  # log(f / 1000 Hz), 0 below
    logarithmic = _SLANEY_BREAK_MEL + log_ratio / _SLANEY_LOG_STEP
    return torch.where(f >= _SLANEY_BREAK_HZ, logarithmic, linear)


def mel_to_hz(m: Tensor | float, htk: bool = False) -> Tensor:
    """m (mel) -> f (Hz), the inverse of :func:`hz_to_mel`: 700 (10^(m / 2595) - 1) with ``htk``."""
    m = m if isinstance(m, Tensor) and m.is_floating_point() else torch.as_tensor(m, dtype=torch.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    linear = m * _SLANEY_HZ_PER_MEL
    above_break = m.clamp(min=_SLANEY_BREAK_MEL) - _SLANEY_BREAK_MEL  # mel above 1 kHz (0 below)
    logarithmic = _SLANEY_BREAK_HZ * torch.exp(_SLANEY_LOG_STEP * above_break)
    return torch.where(m >= _SLANEY_BREAK_MEL, logarithmic, linear)


def mel_frequencies(n: int, fmin: float, fmax: float, htk: bool = False) -> Tensor:
    """n frequencies (Hz) from fmin to fmax, evenly spaced on the mel scale: (n,) float64."""
    mels = torch.linspace(hz_to_mel(fmin, htk).item(), hz_to_mel(fmax, htk).item(), n, dtype=torch.float64)
    return mel_to_hz(mels, htk)


def mel_filterbank(
    sr: float,
    n_fft: int,
    n_mels: int,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> Tensor:
    """The triangular filters M of the module docstring: (n_mels, n_fft // 2 + 1) float64.

    ``fmax`` defaults to the Nyquist frequency sr / 2; ``norm="slaney"`` scales each triangle to
    area 1 (in Hz), ``norm=None`` leaves its peak at 1. Equals ``librosa.filters.mel`` with the
    same arguments.
    """
    fmax = sr / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sr / 2:
        raise ValueError(
            f"mel filterbank needs 0 <= fmin < fmax <= sr / 2 = {sr / 2:g} Hz, got fmin={fmin}, "
            f"fmax={fmax}: no frequency above the Nyquist frequency sr / 2 is in the spectrogram"
        )
    if not isinstance(n_mels, int) or n_mels < 1:
        raise ValueError(f"n_mels must be a positive int, got {n_mels!r}")
    if norm not in ("slaney", None):
        raise ValueError(f"norm must be 'slaney' (each triangle of area 1) or None (peak 1), got {norm!r}")
    f_k = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * sr / n_fft  # (F,) bin frequencies
    edges = mel_frequencies(n_mels + 2, fmin, fmax, htk)  # (n_mels + 2,) f_0 ... f_{n_mels + 1}
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]  # (n_mels, 1) each
    rising = (f_k - lower) / (centre - lower)  # (n_mels, F)
    falling = (upper - f_k) / (upper - centre)  # (n_mels, F)
    M = torch.clamp(torch.minimum(rising, falling), min=0.0)  # (n_mels, F)
    if norm == "slaney":
        M = M * 2.0 / (upper - lower)  # each triangle of area 1 Hz * (1 / Hz)
    empty = (M.amax(dim=1) == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(
            f"mel bands {empty} contain no FFT bin: the bands are narrower than the bin spacing "
            f"sr / n_fft = {sr / n_fft:g} Hz; use fewer mel bands or a larger n_fft"
        )
    return M


def mel_spectrogram(S: Tensor, filterbank: Tensor) -> Tensor:
    """mel = M @ S: magnitudes S (..., F, N) summed into bands by M (n_mels, F) -> (..., n_mels, N)."""
    if S.shape[-2] != filterbank.shape[-1]:
        raise ValueError(
            f"the spectrogram has {S.shape[-2]} frequency bins but the filterbank expects "
            f"{filterbank.shape[-1]} (= n_fft // 2 + 1): were they made with the same n_fft?"
        )
    return filterbank.to(S.dtype) @ S  # (..., n_mels, N)


def log_mel(mel: Tensor, floor: float = 1e-5) -> Tensor:
    """log(max(mel, floor)): the natural log, floored so that silence gives log(floor), not -inf."""
    if floor <= 0:
        raise ValueError(f"floor must be > 0 (the log of 0 is -inf), got {floor}")
    return torch.log(torch.clamp(mel, min=floor))


def normalize_log_mel(log_mel: Tensor, log_min: float, log_max: float) -> Tensor:
    """y = 2 (log_mel - log_min) / (log_max - log_min) - 1: [log_min, log_max] -> [-1, 1].

    An affine map, not a clamp: values outside [log_min, log_max] land outside [-1, 1], and
    :func:`denormalize_log_mel` undoes it exactly.
    """
    _check_range(log_min, log_max)
    return 2.0 * (log_mel - log_min) / (log_max - log_min) - 1.0


def denormalize_log_mel(y: Tensor, log_min: float, log_max: float) -> Tensor:
    """log_mel = (y + 1) / 2 (log_max - log_min) + log_min, the inverse of :func:`normalize_log_mel`."""
    _check_range(log_min, log_max)
    return (y + 1.0) / 2.0 * (log_max - log_min) + log_min


def _check_range(log_min: float, log_max: float) -> None:
    if not log_min < log_max:
        raise ValueError(f"log_min must be below log_max, got log_min={log_min}, log_max={log_max}")

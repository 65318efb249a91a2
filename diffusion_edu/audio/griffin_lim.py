"""From a picture back to sound: mel -> linear magnitude -> waveform by Griffin-Lim.

A diffusion model generates a (log-)mel spectrogram: magnitudes only, in coarse bands. Two steps
turn it into audio.

1. **Mel to linear.** mel = M S with M the (n_mels, F) filterbank and n_mels < F: many S give
   the same mel. :func:`mel_to_linear` picks one that is non-negative (a magnitude) and fits,

       S* = argmin_{S >= 0} ||M S - mel||_F^2,

   by projected gradient descent (each step a gradient step, then negatives set to 0, with
   momentum) started from the least-squares solution pinv(M) mel clipped at 0.

2. **Magnitude to waveform.** The phase is missing. Griffin & Lim (1984) alternate two
   projections: give the current STFT the wanted magnitude S, keeping its phase (P_S), then make it
   the STFT of an actual signal (P_C = STFT o ISTFT, since not every complex array is an STFT):

       c_n = P_C(P_S(c_{n-1})),    P_S(c) = S e^{i angle(c)},    P_C(c) = STFT(ISTFT(c))

   Each round cannot increase the distance between S e^{i angle(c)} and the nearest consistent
   STFT. The fast Griffin-Lim of Perraudin, Balazs & Sondergaard (2013) adds momentum alpha:

       c_n = P_C(P_S(t_{n-1})),    t_n = c_n + alpha (c_n - c_{n-1})

   (alpha = 0 is the original; alpha = 0.99 is the paper's choice and converges much faster.)
   Progress is measured by the *spectral convergence* of the waveform x_n = ISTFT(P_S(t_{n-1})):

       SC_n = || S - |STFT(x_n)| ||_F / || S ||_F        (0 when x_n has exactly magnitude S)

Shapes: S is (F, N) or (B, F, N), mel (n_mels, N) or (B, n_mels, N).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .stft import istft, stft


def mel_to_linear(mel: Tensor, filterbank: Tensor, n_iter: int = 100) -> Tensor:
    """S* = argmin_{S >= 0} ||M S - mel||^2 by accelerated projected gradient: (..., n_mels, N) -> (..., F, N).

    Starts from S_0 = max(pinv(M) mel, 0) (``n_iter=0`` returns it); each step is a gradient
    step of size 1 / L, L = ||M||_2^2 (the largest eigenvalue of M^T M, which makes the step
    safe), followed by setting negatives to 0, taken from a point pushed forward by momentum
    (FISTA: Beck & Teboulle, 2009; plain projected gradient needs ten times more steps):

        S_n = max(Y_n - M^T (M Y_n - mel) / L, 0)
        Y_{n+1} = S_n + (t_n - 1) / t_{n+1} (S_n - S_{n-1}),   t_{n+1} = (1 + sqrt(1 + 4 t_n^2)) / 2
    """
    if mel.shape[-2] != filterbank.shape[0]:
        raise ValueError(
            f"mel has {mel.shape[-2]} bands but the filterbank has {filterbank.shape[0]} rows "
            f"(n_mels): the mel spectrogram must be (..., n_mels, N)"
        )
    if not isinstance(n_iter, int) or n_iter < 0:
        raise ValueError(f"n_iter must be an int >= 0, got {n_iter!r}")
    M = filterbank.to(device=mel.device, dtype=mel.dtype)  # (n_mels, F)
    S = torch.clamp(torch.linalg.pinv(M) @ mel, min=0.0)  # (..., F, N)
    step = 1.0 / torch.linalg.matrix_norm(M, ord=2) ** 2
    Y, t = S, 1.0
    for _ in range(n_iter):
        S_prev = S
        S = torch.clamp(Y - step * (M.T @ (M @ Y - mel)), min=0.0)  # (..., F, N)
        t_next = (1 + math.sqrt(1 + 4 * t**2)) / 2
        Y, t = S + (t - 1) / t_next * (S - S_prev), t_next
    return S


def spectral_convergence(S: Tensor, X: Tensor) -> Tensor:
    """SC = ||S - |X| ||_F / ||S||_F over the last two dims: how far |X| is from the wanted S, (...)."""
    return torch.linalg.matrix_norm(S - X.abs()) / torch.linalg.matrix_norm(S)


def griffin_lim(
    S: Tensor,
    n_fft: int = 1024,
    hop: int = 256,
    n_iter: int = 100,
    momentum: float = 0.99,
    init: str = "random",
    length: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """(Fast) Griffin-Lim: a waveform whose STFT magnitude is close to S (Perraudin et al., 2013).

    S: magnitudes (F, N) or (B, F, N). ``init`` is the starting phase: "random" (uniform in
    [0, 2 pi), drawn from ``generator``) or "zeros". ``momentum`` alpha = 0 is the original
    algorithm of Griffin & Lim (1984). ``length`` is the number of samples wanted (default
    (N - 1) hop). Returns ``(x, convergence)``: the waveform x_{n_iter}, (T,) or (B, T), and SC_n
    of every iteration n = 1 ... n_iter, (n_iter,) or (B, n_iter); the last is that of x.
    """
    if S.is_complex() or S.ndim not in (2, 3) or S.shape[-2] != n_fft // 2 + 1 or (S < 0).any():
        raise ValueError(
            f"griffin_lim expects magnitudes >= 0 of shape (F, N) or (B, F, N) with "
            f"F = n_fft // 2 + 1 = {n_fft // 2 + 1}, got {'complex' if S.is_complex() else 'real'} "
            f"{tuple(S.shape)}: pass |STFT|, made with the same n_fft"
        )
    if not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive int, got {n_iter!r}")
    if length is not None and 1 + length // hop != S.shape[-1]:
        raise ValueError(
            f"length={length} samples gives 1 + length // hop = {1 + length // hop} frames, but S has "
            f"{S.shape[-1]}: pass the length of the waveform S was made from"
        )
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1) (0.99 is fast Griffin-Lim's), got {momentum}")
    if init == "random":
        angle = 2 * math.pi * torch.rand(S.shape, generator=generator, dtype=S.dtype).to(S.device)
        t = torch.polar(torch.ones_like(S), angle)  # (..., F, N) unit phases
    elif init == "zeros":
        t = torch.ones_like(S, dtype=torch.complex128 if S.dtype == torch.float64 else torch.complex64)
    else:
        raise ValueError(f"init must be 'random' or 'zeros', got {init!r}")
    c_prev = torch.zeros_like(t)
    convergence = []
    for _ in range(n_iter):
        x = istft(torch.polar(S, t.angle()), n_fft, hop, length)  # ISTFT(P_S(t)) = ISTFT(S e^{i angle(t)}): (..., T)
        c = stft(x, n_fft, hop)  # P_C(P_S(t)): the STFT of an actual signal
        convergence.append(spectral_convergence(S, c))
        t = c + momentum * (c - c_prev)  # momentum 0: t = c, plain Griffin-Lim
        c_prev = c
    return x, torch.stack(convergence, dim=-1)  # (..., T), (..., n_iter)

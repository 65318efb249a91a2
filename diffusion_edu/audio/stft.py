"""The short-time Fourier transform: a sound as a picture of frequency against time.

A waveform x (T samples at sample rate sr, in Hz) is cut into overlapping frames of n_fft
samples, ``hop`` samples apart; each frame is multiplied by a window w (a periodic Hann window,
which falls smoothly to 0 at the frame's edges so that the cut adds no clicks) and Fourier
transformed (Allen, 1977):

    X[k, n] = sum_{j=0}^{n_fft-1} w[j] x[n hop + j - n_fft/2] exp(-2 pi i j k / n_fft)

for frequency bins k = 0, ..., n_fft/2 (bin k is the frequency f_k = k sr / n_fft) and frames
n = 0, ..., T // hop. The signal is zero-padded by n_fft/2 at both ends ("centred" frames), so
frame n is centred on sample n hop, at time t_n = n hop / sr.

The two sizes trade against each other:

- frequency resolution  sr / n_fft:  bins are sr / n_fft Hz apart (16000 / 1024 = 15.6 Hz);
  a longer window separates closer frequencies ...
- time resolution       hop / sr:    frames are hop / sr s apart (256 / 16000 = 16 ms), and each
  frame sees n_fft / sr s of sound (64 ms): ... but smears events over a longer time.

The magnitude |X| (the *spectrogram*) is the picture; the phase angle(X) is what a picture
leaves out (see :mod:`diffusion_edu.audio.griffin_lim` to get it back). With hop <= n_fft / 2
the overlapping Hann windows add up to a constant, and the inverse STFT (overlap-add of the
inverse FFTs, divided by the summed squared window) gives x back exactly (Griffin & Lim, 1984).

Shapes: a waveform is (T,) or (B, T); its STFT is (F, N) or (B, F, N) with F = n_fft // 2 + 1
frequency bins and N = 1 + T // hop frames. The same conventions as ``librosa.stft`` (centred
frames, zero padding, periodic Hann window): the tests compare with it.
"""
from __future__ import annotations

import torch
from torch import Tensor


def stft(x: Tensor, n_fft: int = 1024, hop: int = 256) -> Tensor:
    """X[k, n] = sum_j w[j] x[n hop + j - n_fft/2] exp(-2 pi i j k / n_fft): complex (..., F, N).

    ``x`` is a real waveform (T,) or (B, T); the window is a periodic Hann window of n_fft
    samples, frames are centred (zero padding of n_fft/2 at both ends).
    """
    _check_sizes(n_fft, hop)
    _check_waveform(x, n_fft)
    window = torch.hann_window(n_fft, periodic=True, dtype=x.dtype, device=x.device)  # (n_fft,)
    return torch.stft(
        x, n_fft, hop_length=hop, window=window, center=True, pad_mode="constant", return_complex=True
    )  # (..., F, N)


def istft(X: Tensor, n_fft: int = 1024, hop: int = 256, length: int | None = None) -> Tensor:
    """The inverse of :func:`stft`: overlap-add of the inverse FFTs of the frames.

        x[j] = sum_n w[j - n hop] ifft(X[:, n])[j - n hop] / sum_n w[j - n hop]^2

    ``X`` is complex (F, N) or (B, F, N); pass ``length`` (the original T) to get exactly T
    samples back (otherwise (N - 1) hop). For any complex X, consistent or not, the result is
    the waveform whose STFT is closest to X in the least-squares sense (Griffin & Lim, 1984).
    """
    _check_sizes(n_fft, hop)
    if not X.is_complex() or X.ndim not in (2, 3) or X.shape[-2] != n_fft // 2 + 1:
        raise ValueError(
            f"istft expects a complex STFT (F, N) or (B, F, N) with F = n_fft // 2 + 1 = "
            f"{n_fft // 2 + 1}, got {'complex' if X.is_complex() else 'real'} {tuple(X.shape)}: "
            f"was it made with another n_fft, or is it a magnitude?"
        )
    real_dtype = X.real.dtype
    window = torch.hann_window(n_fft, periodic=True, dtype=real_dtype, device=X.device)
    return torch.istft(X, n_fft, hop_length=hop, window=window, center=True, length=length)  # (..., T)


def magnitude_spectrogram(x: Tensor, n_fft: int = 1024, hop: int = 256) -> Tensor:
    """S = |STFT(x)|, the magnitude spectrogram: real (..., F, N), >= 0."""
    return stft(x, n_fft, hop).abs()


def fft_frequencies(sr: float, n_fft: int) -> Tensor:
    """f_k = k sr / n_fft for k = 0, ..., n_fft / 2: the centre frequency of each bin, in Hz (F,)."""
    return torch.arange(n_fft // 2 + 1, dtype=torch.float64) * sr / n_fft


def frame_times(n_frames: int, sr: float, hop: int) -> Tensor:
    """t_n = n hop / sr: the time at the centre of each frame, in seconds (N,)."""
    return torch.arange(n_frames, dtype=torch.float64) * hop / sr


def frame_count(n_samples: int, hop: int) -> int:
    """N = 1 + T // hop: how many centred frames a waveform of T samples has."""
    return 1 + n_samples // hop


def _check_sizes(n_fft: int, hop: int) -> None:
    if not isinstance(n_fft, int) or n_fft < 2:
        raise ValueError(f"n_fft (the frame length in samples) must be an int >= 2, got {n_fft!r}")
    if not isinstance(hop, int) or not 1 <= hop <= n_fft // 2:
        raise ValueError(
            f"hop must be an int in [1, n_fft / 2] = [1, {n_fft // 2}], got {hop!r}: with less than "
            f"half-overlapping frames the Hann windows leave gaps and the STFT cannot be inverted"
        )


def _check_waveform(x: Tensor, n_fft: int) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.ndim not in (1, 2):
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"a waveform must be a real float tensor (T,) or (B, T), got {shape}")
    if x.shape[-1] <= n_fft // 2:
        raise ValueError(
            f"the waveform has {x.shape[-1]} samples, too few for frames of n_fft = {n_fft}: "
            f"centred frames need more than n_fft / 2 = {n_fft // 2}"
        )

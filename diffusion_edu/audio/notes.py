"""Synthetic instrument notes: the audio chapter's data set, and the picture a diffusion model sees.

A note of fundamental frequency f0 is a sum of harmonics k f0, each with its own amplitude a_k
and a random starting phase phi_k, shaped in time by an envelope A(t) and dusted with noise:

    x(t) = amplitude (A(t) sum_k a_k sin(2 pi k f0 t + phi_k) / peak + sigma eps(t)),    eps ~ N(0, 1)

(the harmonic sum is divided by its peak, so that every note has the same loudness: amplitude
0.5; the noise is 50 dB below it, sigma = 0.003). The
*timbre*, what tells a flute from a clarinet at the same pitch, is the mix a_k: a flute has few
harmonics, a clarinet mostly odd ones, a string the whole 1/k series of a sawtooth, brass many
with the strongest in the middle. The envelope is ADSR: a linear *attack* from 0 to 1, *decay*
to the *sustain* level, which holds until the *release* falls back to 0 at the end.

Pitch is given in Hz or as a MIDI note number m (60 = middle C, 69 = A4 = 440 Hz, +1 = one
semitone up): f0 = 440 * 2^((m - 69) / 12).

Every note becomes an image (:func:`note_image`) with the settings of :class:`NoteConfig`:

- sr = 16000 Hz: notes up to MIDI 72 (523 Hz) keep 15 harmonics below the Nyquist frequency
  8000 Hz;
- n_fft = 1024 (64 ms frames, bins 15.6 Hz apart, 8 per harmonic of the lowest note) and
  hop = 256 (16 ms): the 75 % overlap Griffin-Lim needs to find a good phase;
- n_frames = 32 frames: a note lasts (32 - 1) 256 / 16000 = 0.496 s;
- n_mels = 64 mel bands from 0 to 8000 Hz, 46 Hz apart below 1 kHz: each harmonic of the
  lowest note (131 Hz apart) gets about three bands of its own. With 32 bands (91 Hz apart)
  the harmonics of low notes merge, and after mel -> Griffin-Lim the pitch of many notes
  could not be found at all (a test measures the round trip with 64: median about 1.5 cents).
- So an image is 64 mel bands x 32 frames, which a U-Net halves three times (to 8 x 4).
- The log-mel is floored at exp(log_min) and mapped to [-1, 1] with the fixed range
  [log_min, log_max] = [-5, 2] (a range of 7 nepers, about 60 dB). The notes' log-mels reach
  1.3 at most; the noise, 50 dB below the note, lies at about -6.4 (-5.3 at most), under the
  floor: the image shows the note on a flat background at -1 (two pixels in three), not the
  hiss, and the images lie in [-1, 0.8], leaving room for a generated image to overshoot.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor

from .griffin_lim import griffin_lim, mel_to_linear
from .mel import denormalize_log_mel, log_mel, mel_filterbank, mel_spectrogram, normalize_log_mel
from .stft import magnitude_spectrogram


def midi_to_hz(m: Tensor | float) -> Tensor:
    """f = 440 * 2^((m - 69) / 12): MIDI note number (69 = A4) -> frequency in Hz."""
    return 440.0 * 2.0 ** ((torch.as_tensor(m, dtype=torch.float64) - 69.0) / 12.0)


def hz_to_midi(f: Tensor | float) -> Tensor:
    """m = 69 + 12 log2(f / 440): frequency in Hz -> MIDI note number (fractional between notes)."""
    return 69.0 + 12.0 * torch.log2(torch.as_tensor(f, dtype=torch.float64) / 440.0)


@dataclass(frozen=True)
class Instrument:
    """A timbre: harmonic number k -> amplitude a_k, and an ADSR envelope (seconds, level, seconds)."""

    harmonics: dict[int, float]
    attack: float
    decay: float
    sustain: float
    release: float


INSTRUMENTS = {
    "flute": Instrument({1: 1.0, 2: 0.3, 3: 0.1}, attack=0.08, decay=0.05, sustain=0.8, release=0.1),
    "clarinet": Instrument(
        {1: 1.0, 3: 0.6, 5: 0.4, 7: 0.25, 9: 0.15, 11: 0.1}, attack=0.03, decay=0.05, sustain=0.9, release=0.06
    ),
    "string": Instrument({k: 1.0 / k for k in range(1, 16)}, attack=0.1, decay=0.1, sustain=0.9, release=0.1),
    "brass": Instrument(
        {k: k * math.exp(-k / 3) for k in range(1, 13)}, attack=0.05, decay=0.1, sustain=0.7, release=0.08
    ),
}
INSTRUMENT_NAMES = tuple(INSTRUMENTS)  # an instrument's label is its index in this tuple


def adsr_envelope(n_samples: int, sr: float, attack: float, decay: float, sustain: float, release: float) -> Tensor:
    """A(t): linear 0 -> 1 over ``attack`` s, 1 -> sustain over ``decay`` s, hold, sustain -> 0 over
    the last ``release`` s: (n_samples,) float64."""
    if attack + decay + release > n_samples / sr:
        raise ValueError(
            f"attack + decay + release = {attack + decay + release:g} s is longer than the note "
            f"({n_samples / sr:g} s)"
        )
    t = torch.arange(n_samples, dtype=torch.float64) / sr  # (T,) seconds
    end = n_samples / sr
    rise = t / attack
    fall = 1.0 - (1.0 - sustain) * (t - attack) / decay
    hold = torch.full_like(t, sustain)
    envelope = torch.where(t < attack, rise, torch.where(t < attack + decay, fall, hold))
    return envelope * torch.clamp((end - t) / release, max=1.0)  # the release scales it down to 0


def synthesize_note(
    f0: float,
    instrument: str,
    n_samples: int,
    sr: int = 16000,
    noise: float = 0.003,
    amplitude: float = 0.5,
    generator: torch.Generator | None = None,
) -> Tensor:
    """x(t) = amplitude (A(t) sum_k a_k sin(2 pi k f0 t + phi_k) / peak + noise eps(t)): (n_samples,) float32.

    Harmonics at or above the Nyquist frequency sr / 2 are left out (they would alias). The
    phases phi_k and the noise eps are drawn from ``generator``. For a MIDI note m pass
    ``f0=midi_to_hz(m)``.
    """
    if instrument not in INSTRUMENTS:
        raise ValueError(f"unknown instrument {instrument!r}: expected one of {INSTRUMENT_NAMES}")
    if not 0 < f0 < sr / 2:
        raise ValueError(f"f0 must be in (0, sr / 2) = (0, {sr / 2:g}) Hz, got {f0}")
    timbre = INSTRUMENTS[instrument]
    kept = [h for h in timbre.harmonics if h * f0 < sr / 2]  # the harmonics below the Nyquist frequency
    k = torch.tensor(kept, dtype=torch.float64)[:, None]  # (K, 1)
    a = torch.tensor([timbre.harmonics[h] for h in kept], dtype=torch.float64)[:, None]  # (K, 1)
    phi = 2 * math.pi * torch.rand(len(kept), 1, generator=generator, dtype=torch.float64)  # (K, 1)
    t = torch.arange(n_samples, dtype=torch.float64) / sr  # (T,)
    tone = (a * torch.sin(2 * math.pi * k * f0 * t + phi)).sum(0)  # (K, T) -> (T,)
    envelope = adsr_envelope(n_samples, sr, timbre.attack, timbre.decay, timbre.sustain, timbre.release)
    eps = torch.randn(n_samples, generator=generator, dtype=torch.float64)
    return (amplitude * envelope * tone / tone.abs().max() + amplitude * noise * eps).float()


@dataclass(frozen=True)
class NoteConfig:
    """The spectrogram settings of the note images (the module docstring explains each choice)."""

    sr: int = 16000
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 64
    n_frames: int = 32
    fmin: float = 0.0
    fmax: float = 8000.0
    log_min: float = -5.0  # the floor: log_mel = log(max(mel, exp(log_min)))
    log_max: float = 2.0
    pitches: tuple[int, int] = (48, 72)  # MIDI C3 ... C5, both included

    @property
    def n_samples(self) -> int:
        """T = (n_frames - 1) hop: the length of a note with exactly n_frames centred frames."""
        return (self.n_frames - 1) * self.hop

    def filterbank(self) -> Tensor:
        """The (n_mels, n_fft // 2 + 1) Slaney mel filterbank of these settings."""
        return _filterbank(self.sr, self.n_fft, self.n_mels, self.fmin, self.fmax).clone()  # built once


NOTES = NoteConfig()


@lru_cache(maxsize=8)
def _filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> Tensor:
    return mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney")


def note_image(waveform: Tensor, config: NoteConfig = NOTES) -> Tensor:
    """waveform (..., T) -> normalised log-mel (..., n_mels, N) in about [-1, 1].

    y = normalize(log(max(M |STFT(x)|, exp(log_min)))) with the fixed [log_min, log_max].
    """
    S = magnitude_spectrogram(waveform, config.n_fft, config.hop)  # (..., F, N)
    mel = mel_spectrogram(S, config.filterbank())  # (..., n_mels, N)
    return normalize_log_mel(log_mel(mel, math.exp(config.log_min)), config.log_min, config.log_max)


def image_to_waveform(
    image: Tensor,
    config: NoteConfig = NOTES,
    n_iter: int = 100,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Normalised log-mel (n_mels, N), (B, n_mels, N) or (B, 1, n_mels, N) -> waveform (T,) or (B, T).

    The inverse of :func:`note_image` as far as one exists: exp of the denormalised log-mel,
    :func:`mel_to_linear`, then ``n_iter`` iterations of fast Griffin-Lim from a random phase.
    Returns ``(waveform, convergence)`` as :func:`griffin_lim` does.
    """
    if image.ndim == 4 and image.shape[1] == 1:  # (B, 1, n_mels, N), as the data set and a U-Net hold them
        image = image[:, 0]  # (B, n_mels, N)
    if image.ndim not in (2, 3) or image.shape[-2] != config.n_mels:
        raise ValueError(
            f"expected a log-mel image (n_mels, N), (B, n_mels, N) or (B, 1, n_mels, N) with "
            f"n_mels={config.n_mels}, got {tuple(image.shape)}"
        )
    mel = torch.exp(denormalize_log_mel(image, config.log_min, config.log_max))  # (..., n_mels, N)
    S = mel_to_linear(mel, config.filterbank())  # (..., F, N)
    length = (image.shape[-1] - 1) * config.hop
    x, convergence = griffin_lim(S, config.n_fft, config.hop, n_iter, length=length, generator=generator)
    return x.float(), convergence


@dataclass
class NotesData:
    """Drawn notes: waveforms (N, T), images (N, 1, n_mels, n_frames), MIDI pitch (N,), instrument (N,)."""

    waveforms: Tensor
    images: Tensor
    pitch: Tensor
    instrument: Tensor

    def __len__(self) -> int:
        return len(self.pitch)


def make_notes(
    n: int,
    instruments: tuple[str, ...] = INSTRUMENT_NAMES,
    config: NoteConfig = NOTES,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> NotesData:
    """Draw ``n`` notes: MIDI pitch uniform in config.pitches (both ends included), instrument
    uniform over ``instruments``, phases and noise random. Deterministic given ``seed`` or
    ``generator``. ``instrument`` labels index INSTRUMENT_NAMES, whichever instruments are drawn.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    unknown = [name for name in instruments if name not in INSTRUMENTS]
    if unknown or not instruments:
        raise ValueError(f"instruments must be names from {INSTRUMENT_NAMES}, got {instruments!r}")
    if seed is not None and generator is not None:
        raise ValueError("pass seed or generator, not both")
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    low, high = config.pitches
    pitch = torch.randint(low, high + 1, (n,), generator=generator)  # (n,) MIDI numbers
    choice = torch.randint(0, len(instruments), (n,), generator=generator)  # (n,) into instruments
    instrument = torch.tensor([INSTRUMENT_NAMES.index(instruments[i]) for i in choice.tolist()])
    waveforms = torch.stack([
        synthesize_note(midi_to_hz(m).item(), INSTRUMENT_NAMES[i], config.n_samples, config.sr, generator=generator)
        for m, i in zip(pitch.tolist(), instrument.tolist())
    ])  # (n, T)
    images = note_image(waveforms, config).float().unsqueeze(1)  # (n, 1, n_mels, n_frames)
    return NotesData(waveforms, images, pitch, instrument)

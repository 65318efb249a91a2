"""Audio as pictures: spectrograms, the mel scale, phase reconstruction, synthetic notes, pitch.

- :mod:`~diffusion_edu.audio.stft`         the short-time Fourier transform and its inverse
- :mod:`~diffusion_edu.audio.mel`          the mel scale, the mel filterbank, normalised log-mels
- :mod:`~diffusion_edu.audio.griffin_lim`  mel -> linear magnitude -> waveform (Griffin-Lim)
- :mod:`~diffusion_edu.audio.notes`        synthetic instrument notes and their log-mel images
- :mod:`~diffusion_edu.audio.pitch`        YIN pitch estimation and errors in cents

Written from scratch with torch only; the tests compare with librosa.
"""
from .griffin_lim import griffin_lim, mel_to_linear, spectral_convergence
from .mel import (
    denormalize_log_mel,
    hz_to_mel,
    log_mel,
    mel_filterbank,
    mel_frequencies,
    mel_spectrogram,
    mel_to_hz,
    normalize_log_mel,
)
from .notes import (
    INSTRUMENT_NAMES,
    INSTRUMENTS,
    NOTES,
    Instrument,
    NoteConfig,
    NotesData,
    adsr_envelope,
    hz_to_midi,
    image_to_waveform,
    make_notes,
    midi_to_hz,
    note_image,
    synthesize_note,
)
from .pitch import cents, estimate_pitch, pitch_track
from .stft import fft_frequencies, frame_count, frame_times, istft, magnitude_spectrogram, stft

__all__ = [
    "stft", "istft", "magnitude_spectrogram", "fft_frequencies", "frame_times", "frame_count",
    "hz_to_mel", "mel_to_hz", "mel_frequencies", "mel_filterbank", "mel_spectrogram",
    "log_mel", "normalize_log_mel", "denormalize_log_mel",
    "mel_to_linear", "griffin_lim", "spectral_convergence",
    "midi_to_hz", "hz_to_midi", "Instrument", "INSTRUMENTS", "INSTRUMENT_NAMES", "adsr_envelope",
    "synthesize_note", "NoteConfig", "NOTES", "note_image", "image_to_waveform", "NotesData", "make_notes",
    "pitch_track", "estimate_pitch", "cents",
]

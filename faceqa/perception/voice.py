"""Voice activity: where someone speaks in an audio track (Silero VAD, from the ``silero-vad`` wheel).

The model (TorchScript, MIT) reads 512-sample windows of 16 kHz audio (32 ms) and gives the
probability that they hold speech; :func:`speech_probability` runs it over a track and
:func:`speech_at` samples the result at video frame times. Only the model file is read from the
wheel (its package is never imported: importing it changes torch's thread count).
"""

from __future__ import annotations

import numpy as np

from faceqa.media.audio import SPEECH_RATE, AudioTrack

WINDOW = 512
"""Samples per model step at 16 kHz (32 ms)."""


def load_vad(path) -> object:
    """The Silero VAD TorchScript model at ``path`` (the registry's loader)."""
    import torch

    model = torch.jit.load(str(path), map_location="cpu")
    model.eval()
    return model


def speech_probability(audio: AudioTrack) -> tuple[np.ndarray, np.ndarray]:
    """(window centre times in seconds, speech probability per 32 ms window) of a 16 kHz track."""
    import torch

    from faceqa.errors import InvalidInputError
    from faceqa.models import get_model
    from faceqa.torch_threads import one_thread

    if audio.rate != SPEECH_RATE:
        raise InvalidInputError(f"{audio.path}: voice activity needs {SPEECH_RATE} Hz audio, got {audio.rate}")
    model = get_model("silero_vad")
    n = len(audio.samples) // WINDOW
    probs = np.zeros(n, np.float32)
    # one 512-sample step is too small to share: 10x faster on one thread; no re-optimising on first calls
    with one_thread(), torch.inference_mode(), torch.jit.optimized_execution(False):
        model.reset_states()
        x = torch.from_numpy(np.ascontiguousarray(audio.samples[:n * WINDOW].reshape(n, WINDOW)))
        for i in range(n):
            probs[i] = float(model(x[i:i + 1], SPEECH_RATE))
    times = (np.arange(n) + 0.5) * WINDOW / SPEECH_RATE
    return times, probs


def speech_at(times_s: np.ndarray, audio: AudioTrack, smooth_s: float = 0.25) -> np.ndarray:
    """Speech probability (0..1) at each of ``times_s`` (video frame times), smoothed over ``smooth_s``."""
    from scipy.ndimage import uniform_filter1d

    t, p = speech_probability(audio)
    if not len(p):
        return np.zeros(len(times_s), np.float32)
    p = uniform_filter1d(p, max(1, int(round(smooth_s * SPEECH_RATE / WINDOW))), mode="nearest")
    return np.interp(np.asarray(times_s, np.float64), t, p).astype(np.float32)

"""Speech synthesised for tests with eSpeak NG (the library and its voice data ship in the
``espeakng-loader`` wheel, a test dependency only; called through ctypes, nothing installed system-wide)."""

from __future__ import annotations

import ctypes

import numpy as np

_LIB = None
_CHUNKS: list[np.ndarray] = []
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def _collect(wav, n, _events):
    if n > 0:
        _CHUNKS.append(np.ctypeslib.as_array(wav, (n,)).copy())
    return 0


_KEEP = _CALLBACK(_collect)


def _lib():
    global _LIB
    if _LIB is None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        rate = lib.espeak_Initialize(1, 0, espeakng_loader.get_data_path().encode(), 0)  # 1: retrieval mode
        lib.espeak_SetSynthCallback(_KEEP)
        lib.espeak_SetVoiceByName(b"en-us")
        lib.espeak_SetParameter(1, 150, 0)  # words per minute
        _LIB = (lib, rate)
    return _LIB


def speak(text: str, rate: int = 16000) -> np.ndarray:
    """``text`` spoken by eSpeak NG, mono float32 at ``rate`` Hz."""
    from scipy.signal import resample_poly

    lib, native = _lib()
    _CHUNKS.clear()
    data = text.encode()
    lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 0, None, None)
    lib.espeak_Synchronize()
    x = np.concatenate(_CHUNKS).astype(np.float64) / 32768.0
    return resample_poly(x, rate, native).astype(np.float32)


def utterance(sentences: list[str], gap_s: float = 1.0, lead_s: float = 0.5, rate: int = 16000
              ) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Sentences separated by ``gap_s`` of silence (``lead_s`` before and after); returns the samples
    and each sentence's (start_s, end_s) as synthesised (including eSpeak's own short edges)."""
    parts, spans, t = [np.zeros(int(lead_s * rate), np.float32)], [], lead_s
    for i, s in enumerate(sentences):
        x = speak(s, rate)
        parts.append(x)
        spans.append((t, t + len(x) / rate))
        t += len(x) / rate
        pause = gap_s if i < len(sentences) - 1 else lead_s
        parts.append(np.zeros(int(pause * rate), np.float32))
        t += pause
    return np.concatenate(parts), spans

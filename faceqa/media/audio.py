"""The audio track of a video, decoded and resampled to mono float32 at 16 kHz (speech models' rate).

Decoded with PyAV (FFmpeg). A still image, a frame folder or a video without sound raises
:class:`~faceqa.errors.NoAudioError`; a corrupt file raises :class:`~faceqa.errors.MediaReadError`,
both naming the input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceqa.errors import MediaNotFoundError, MediaReadError, NoAudioError

SPEECH_RATE = 16000


@dataclass
class AudioTrack:
    """Mono samples in [-1, 1] at ``rate`` Hz, from ``path``; the first sample is at ``start_s`` on the
    file's clock (a container may start its audio and video streams at different times)."""

    samples: np.ndarray
    rate: int
    path: str
    start_s: float = 0.0

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate


def read_audio(path: str | os.PathLike, rate: int = SPEECH_RATE) -> AudioTrack:
    """Decode the first audio stream of a video file to mono float32 at ``rate`` Hz."""
    import av

    p = Path(path)
    if not p.exists():
        raise MediaNotFoundError(f"{p}: no such file")
    if p.is_dir():
        raise NoAudioError(f"{p}: a frame folder has no audio track")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaReadError(f"{p}: cannot be read as audio/video ({exc})") from None
    with container:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise NoAudioError(f"{p}: the file has no audio track")
        stream = streams[0]
        start_s = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks = []
        try:
            for frame in container.decode(stream):
                chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
        except av.error.FFmpegError as exc:
            raise MediaReadError(f"{p}: the audio track is corrupt ({exc})") from None
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if not len(samples):
        raise NoAudioError(f"{p}: the audio track is empty")
    return AudioTrack(samples, rate, str(p), start_s)


def video_start_s(path: str | os.PathLike) -> float:
    """Time (s) of the first video frame on the file's clock (0 for a file without one or a folder)."""
    import av

    p = Path(path)
    if p.is_dir():
        return 0.0
    try:
        with av.open(str(p)) as container:
            streams = [s for s in container.streams if s.type == "video"]
            if not streams or streams[0].start_time is None:
                return 0.0
            return float(streams[0].start_time * streams[0].time_base)
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaReadError(f"{p}: cannot be read as audio/video ({exc})") from None


def write_wav(path: str | os.PathLike, samples: np.ndarray, rate: int = SPEECH_RATE) -> Path:
    """Write mono float samples in [-1, 1] as a 16-bit PCM ``.wav``."""
    import wave

    p = Path(path)
    pcm = (np.clip(np.asarray(samples, np.float64), -1, 1) * 32767).astype("<i2")
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
    return p

"""Talking heads from a still face and speech (``faceqa lipsync``): the zero-resource stand-in for
recorded audio-visual corpora (synthetic visual streams for AV-HuBERT fine-tuning).

1. **Phones** with timings from PocketSphinx's phone-loop search (:func:`faceqa.speech.recognize_phones`).
2. **Visemes**: each ARPAbet phone maps to a mouth shape (:data:`VISEMES`): jaw drop, lips parted,
   rounded, spread or pressed shut. The targets are placed on a 10 ms grid over each phone's time,
   scaled by the voice's loudness (a loud vowel opens wider) and gated by voice activity (the mouth
   rests closed where Silero VAD hears no speech), then smoothed (Gaussian, ``smooth_s``) so the
   mouth glides between shapes (coarticulation).
3. **Mesh-guided warps**: :class:`faceqa.synth.warp.FaceWarper` (the muscle model placed on the face's
   478-point mesh) opens the jaw (AU26), parts the lips (AU25), rounds (AU23), spreads (AU20) or
   presses (AU24) them at each frame's amounts, with blinks (AU45, every 2-6 s) and a slow small head
   motion (yaw and pitch within ``head_deg`` degrees).
4. The frames and the audio are muxed into one file (H.264 + AAC) with the mouth at zero offset.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from faceqa.media.audio import AudioTrack

VISEMES: dict[str, tuple[float, float, float, float, float]] = {}
"""ARPAbet phone -> (jaw AU26, lips apart AU25, round AU23, spread AU20, press AU24), each 0..1."""
_GROUPS = {
    (0.0, 0.0, 0.0, 0.0, 0.8): ("P", "B", "M"),
    (0.15, 0.35, 0.0, 0.1, 0.0): ("F", "V"),
    (0.25, 0.5, 0.0, 0.2, 0.0): ("TH", "DH", "T", "D", "N", "L", "S", "Z", "K", "G", "NG", "HH", "Y"),
    (0.25, 0.45, 0.5, 0.0, 0.0): ("SH", "ZH", "CH", "JH", "R", "ER"),
    (0.15, 0.3, 0.8, 0.0, 0.0): ("W", "UW", "UH"),
    (0.45, 0.7, 0.6, 0.0, 0.0): ("OW", "OY", "AO"),
    (0.75, 0.9, 0.0, 0.0, 0.0): ("AA", "AW", "AY"),
    (0.55, 0.8, 0.0, 0.1, 0.0): ("AH", "AE", "EH", "EY"),
    (0.3, 0.55, 0.0, 0.5, 0.0): ("IH", "IY"),
}
for _shape, _phones in _GROUPS.items():
    for _ph in _phones:
        VISEMES[_ph] = _shape
_KEYS = ((26, "both"), (25, "both"), (23, "both"), (20, "both"), (24, "both"))
STEP_S = 0.01


def mouth_amounts(audio: AudioTrack, times_s: np.ndarray, smooth_s: float = 0.035) -> dict[tuple[int, str], np.ndarray]:
    """Per frame time (s from the audio's start): AU amounts of the mouth, from phones, loudness and VAD."""
    from scipy.ndimage import gaussian_filter1d

    from faceqa.audiovisual.sync import voice_envelope
    from faceqa.perception.voice import speech_probability
    from faceqa.speech.recognize import recognize_phones

    n = int(np.ceil(audio.duration_s / STEP_S)) + 1
    grid = np.arange(n) * STEP_S
    target = np.zeros((n, len(_KEYS)))
    for ph in recognize_phones(audio):
        shape = VISEMES.get(ph.phone)
        if shape is not None:
            target[int(ph.start_s / STEP_S):int(np.ceil(ph.end_s / STEP_S))] = shape
    te, env = voice_envelope(audio)
    loud = np.interp(grid, te - audio.start_s, env, left=env.min() if len(env) else 0.0)
    if len(env):
        lo, hi = np.percentile(env, 20), np.percentile(env, 98)
        loud = np.clip((loud - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    tv, p = speech_probability(audio)
    voiced = np.interp(grid, tv, (p >= 0.5).astype(float)) if len(p) else np.zeros(n)
    gain = np.clip(1.4 * (0.5 + 0.5 * loud), 0.0, 1.0) * gaussian_filter1d(voiced, 0.02 / STEP_S)
    target[:, :4] *= gain[:, None]  # the press (AU24) is a closure, not louder with the voice
    target[:, 4] *= voiced > 0.5
    target = np.clip(gaussian_filter1d(target, smooth_s / STEP_S, axis=0) * [1.4, 1.2, 1.0, 1.0, 1.0], 0.0, 1.0)
    return {k: np.interp(times_s, grid, target[:, i]) for i, k in enumerate(_KEYS)}


def _blinks(n: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    t = float(rng.uniform(0.8, 2.5))
    length = 0.15 * fps
    while t * fps < n:
        start = t * fps
        x = (np.arange(n) - start) / length
        inside = (x >= 0) & (x < 1)
        out[inside] = np.sin(np.pi * x[inside]) ** 0.7
        t += float(rng.uniform(2.0, 6.0))
    return out


def render_talking_head(image: np.ndarray, audio: AudioTrack, fps: float = 25.0, head_deg: float = 1.5,
                        seed: int = 0, landmarks: np.ndarray | None = None):
    """Yield RGB frames of ``image``'s face speaking ``audio`` (frame i at i / fps s of the audio)."""
    from faceqa.synth.clips import face_warper, find_landmarks

    if landmarks is None:
        landmarks = find_landmarks(image)
    warper = face_warper(image, landmarks)
    n = max(1, int(np.floor(audio.duration_s * fps)))
    t = np.arange(n) / fps
    mouth = mouth_amounts(audio, t)
    rng = np.random.default_rng(seed)
    blink = _blinks(n, fps, rng)
    phase = rng.uniform(0, 2 * np.pi, 4)
    yaw = head_deg * (0.6 * np.sin(2 * np.pi * 0.23 * t + phase[0]) + 0.4 * np.sin(2 * np.pi * 0.61 * t + phase[1]))
    pitch = 0.6 * head_deg * (0.6 * np.sin(2 * np.pi * 0.31 * t + phase[2])
                              + 0.4 * np.sin(2 * np.pi * 0.47 * t + phase[3]))
    for i in range(n):
        amounts = {k: float(v[i]) for k, v in mouth.items() if v[i] > 1e-3}
        if blink[i] > 1e-3:
            amounts[(45, "both")] = float(blink[i])
        amounts[("yaw", "both")] = float(yaw[i])
        amounts[("pitch", "both")] = float(pitch[i])
        yield warper.warp(image, amounts)


def write_video_with_audio(frames, audio: AudioTrack, out: str | os.PathLike, fps: float) -> Path:
    """Mux RGB ``frames`` (H.264, yuv420p, CRF 18) and ``audio`` (AAC, 16 kHz mono) into ``out`` (.mp4)."""
    from fractions import Fraction

    import av

    out = Path(out)
    with av.open(str(out), "w") as container:
        video = None
        sound = container.add_stream("aac", rate=audio.rate, layout="mono")
        for image in frames:
            if video is None:
                h, w = image.shape[:2]
                video = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                video.width, video.height = w - w % 2, h - h % 2
                video.pix_fmt = "yuv420p"
                video.options = {"crf": "18", "preset": "veryfast"}
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:video.height, :video.width]), format="rgb24")
            container.mux(video.encode(frame))
        if video is not None:
            container.mux(video.encode(None))
        pcm = np.clip(audio.samples, -1, 1).astype(np.float32)[None, :]
        chunk = 1024
        for k in range(0, pcm.shape[1], chunk):
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, k:k + chunk]), format="fltp", layout="mono")
            af.sample_rate = audio.rate
            af.pts = k
            container.mux(sound.encode(af))
        container.mux(sound.encode(None))
    return out


def lipsync(image_path: str | os.PathLike, audio_path: str | os.PathLike, out: str | os.PathLike,
            fps: float = 25.0, head_deg: float = 1.5, seed: int = 0) -> dict:
    """Write ``out`` (.mp4): the face in ``image_path`` speaking the speech in ``audio_path``."""
    from faceqa.errors import InvalidInputError
    from faceqa.media import read_image
    from faceqa.media.audio import read_audio

    out = Path(out)
    if out.suffix.lower() != ".mp4" or not out.parent.is_dir():
        raise InvalidInputError(f"{out}: --out must be an .mp4 file in an existing folder")
    from faceqa.synth.clips import find_landmarks

    image = read_image(image_path)
    landmarks = find_landmarks(image, name=str(image_path))
    audio = read_audio(audio_path)
    audio = AudioTrack(audio.samples, audio.rate, audio.path, 0.0)
    write_video_with_audio(render_talking_head(image, audio, fps, head_deg, seed, landmarks), audio, out, fps)
    return {"out": str(out), "image": str(image_path), "audio": str(audio_path), "fps": fps,
            "frames": max(1, int(np.floor(audio.duration_s * fps))), "duration_s": round(audio.duration_s, 3)}

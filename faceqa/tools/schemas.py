"""The agent tools' argument schemas (pydantic) and descriptions: one :class:`ToolSpec` per tool.

The LangChain toolkit and the MCP server both build their tools from :data:`TOOL_SPECS`, so an
agent sees the same names, arguments and descriptions through either. Arguments are validated
against these models before a tool runs (unknown arguments are refused).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from faceqa.errors import InvalidInputError
from faceqa.perception.identity import DEFAULT_THRESHOLD

MEDIA_HELP = ("Path of an image, a video file or a folder of frame images, relative to the allowed folder "
              "(or an http(s) URL where URL fetching is enabled).")
FPS_HELP = "Frame rate of the media (SAMM and CASME II frame folders: 200); default: the video's own, or 30."


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnalyzeFacesArgs(_Args):
    """Arguments of ``analyze_faces``."""

    media: str = Field(description=MEDIA_HELP)
    fps: float | None = Field(None, gt=0, description=FPS_HELP)
    start: int | None = Field(None, ge=0, description="First frame index to analyse (default: the first).")
    end: int | None = Field(None, ge=0, description="Last frame index to analyse, inclusive (default: the last).")
    every: int = Field(1, ge=1, description="Analyse one frame in `every` (raise it for long videos).")


class VerifyFacesArgs(_Args):
    """Arguments of ``verify_faces``."""

    image_a: str = Field(description="Path of the first image (its largest face is compared).")
    image_b: str = Field(description="Path of the second image (its largest face is compared).")
    threshold: float | None = Field(None, gt=0, le=2, description="Distance at or below which the faces are the "
                                                                  f"same person (default {DEFAULT_THRESHOLD}).")


class IdentifyFacesArgs(_Args):
    """Arguments of ``identify_faces``."""

    media: str = Field(description=MEDIA_HELP)
    top_k: int = Field(3, ge=1, le=20, description="Closest enrolled persons listed per face.")
    every: int = Field(1, ge=1, description="Videos: analyse one frame in `every`.")


class ActionUnitsArgs(_Args):
    """Arguments of ``action_units``."""

    media: str = Field(description=MEDIA_HELP)
    onset: int | None = Field(None, ge=0, description="Onset frame index: the neutral reference (default: the "
                                                      "first frame).")
    offset: int | None = Field(None, ge=0, description="Offset frame index, inclusive (default: the last frame).")
    fps: float | None = Field(None, gt=0, description=FPS_HELP)
    include_inactive: bool = Field(False, description="Also list the measured AUs that are not active.")


class SpotExpressionsArgs(_Args):
    """Arguments of ``spot_expressions``."""

    media: str = Field(description=MEDIA_HELP)
    fps: float | None = Field(None, gt=0, description=FPS_HELP)
    start: int | None = Field(None, ge=0, description="First frame index to search (default: the first).")
    end: int | None = Field(None, ge=0, description="Last frame index to search, inclusive (default: the last).")
    mode: Literal["auto", "clip", "long"] = Field("auto", description=(
        "'clip': motion measured from the first frame (a short clip that starts neutral); 'long': from a "
        "rolling baseline (long videos); 'auto': clip up to 6 s, long beyond."))


class AskFaceQuestionArgs(_Args):
    """Arguments of ``ask_face_question``."""

    media: str = Field(description=MEDIA_HELP)
    question: str = Field(min_length=1, max_length=2000, description="The question, in English.")
    fps: float | None = Field(None, gt=0, description=FPS_HELP)
    onset: int | None = Field(None, ge=0, description="Onset frame of the clip the question is about.")
    offset: int | None = Field(None, ge=0, description="Offset frame of the clip the question is about.")
    compare: str | None = Field(None, description="A second image or video, for questions such as 'are these the "
                                                  "same person?'.")


class DeidentifyFacesArgs(_Args):
    """Arguments of ``deidentify_faces``."""

    media: str = Field(description=MEDIA_HELP)
    out: str = Field(description="New output path under the allowed folder: an image file for an image; .mp4, "
                                 ".avi or a new folder for a video. Existing files are never overwritten.")
    method: Literal["blur", "pixelate", "mask", "eyebar"] = Field("blur", description=(
        "blur: Gaussian blur of the face; pixelate: coarse blocks; mask: solid fill; eyebar: a bar over the eyes."))


class ProtectFaceArgs(_Args):
    """Arguments of ``protect_face``."""

    image: str = Field(description="Path of the photo to protect (its largest face is changed).")
    target: str = Field(description="Path of a photo of another person: recognizers should read the face as theirs.")
    out: str = Field(description="New output image path under the allowed folder (.png keeps the change intact). "
                                 "Existing files are never overwritten.")
    steps: int = Field(60, ge=1, le=200, description="Most optimisation steps (about a second each on a CPU).")


class AuditEmbeddingLeakageArgs(_Args):
    """Arguments of ``audit_embedding_leakage``."""

    folder: str = Field(description="Folder under the allowed folder with one subfolder of face photos per identity "
                                    "(at least three identities).")
    held_out: int = Field(1, ge=1, le=20, description="Identities held out to test the attack on.")
    steps: int = Field(20, ge=1, le=100, description="Reconstruction steps per face.")


class AssessQualityArgs(_Args):
    """Arguments of ``assess_quality``."""

    media: str = Field(description=MEDIA_HELP)
    every: int = Field(1, ge=1, description="Analyse one frame in `every`.")


class TranscribeSpeechArgs(_Args):
    """Arguments of ``transcribe_speech``."""

    media: str = Field(description="Path of a video file with a sound track, relative to the allowed folder.")


class HesitancyCuesArgs(_Args):
    """Arguments of ``hesitancy_cues``."""

    media: str = Field(description="Path of a video file of one talking face with its sound, relative to the "
                                   "allowed folder.")


class AudioVideoSyncArgs(_Args):
    """Arguments of ``audio_video_sync``."""

    media: str = Field(description="Path of a video file of a talking face with its sound, relative to the "
                                   "allowed folder.")
    max_lag_ms: float = Field(1000.0, gt=0, le=3000, description="Largest offset searched, in milliseconds.")


class ScoreFaceAttributeArgs(_Args):
    """Arguments of ``score_face_attribute``."""

    media: str = Field(description="Path of an image, relative to the allowed folder; its largest face is scored.")
    model: str = Field(description="Folder of an attribute model trained with `faceqa attributes train`, relative "
                                   "to the allowed folder.")


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its name, what it does (for the model), its arguments, whether it writes files,
    and the faceqa module it needs (the tool is offered only when that module is installed)."""

    name: str
    description: str
    args_schema: type[BaseModel]
    writes: bool = False
    module: str = "faceqa.perception"

    def available(self) -> bool:
        """Whether the module behind the tool can be imported here."""
        return importlib.util.find_spec(self.module) is not None


TOOL_SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("analyze_faces", (
        "Detect and track the faces in an image, a video or a folder of frames. Returns JSON: media size and "
        "frame rate, frames analysed, frames with a face, and per tracked face: face_id, frames seen, first_s "
        "and last_s (seconds), mean_size_px, mean head pose (yaw, pitch, roll in degrees) and the dominant "
        "expression with scores over angry, disgust, fear, happy, sad, surprise, neutral. Use it for: how many "
        "faces, when is a face visible, head pose, overall expression."), AnalyzeFacesArgs),
    ToolSpec("verify_faces", (
        "Decide whether the largest faces of two images are the same person (SFace 128-D identity embedding, "
        "euclidean distance of unit vectors). Returns JSON: same (true/false), distance, threshold, model (same "
        "when distance <= threshold; same-person pairs are typically near 0.8, different people near 1.35)."),
        VerifyFacesArgs, module="faceqa.perception.identity"),
    ToolSpec("identify_faces", (
        "Identify every face of an image or video against the gallery of enrolled known people (open set). "
        "Returns JSON: persons enrolled, threshold, and per face (per track in a video): face_id, frame and "
        "time_s used, bbox, identity (a name, or \"unknown\" when no enrolled person is within the threshold), "
        "known, distance and the closest matches (person, distance)."),
        IdentifyFacesArgs, module="faceqa.gallery.recognize"),
    ToolSpec("action_units", (
        "Measure facial action units (FACS AUs) in a clip as the change from its onset frame to its offset "
        "frame, per side of the face. Returns JSON: onset, offset, fps, the active AUs strongest first (au "
        "number, name, side L/R/both, L and R intensity on the FACS 0-5 scale, intensity and its letter "
        "A-E), and the emotion deduced from them (fine and coarse class). Use it for: which AUs, is AU X "
        "shown, left or right side, which emotion in "
        "a micro-expression clip."), ActionUnitsArgs, module="faceqa.evidence"),
    ToolSpec("spot_expressions", (
        "Find the expression events in a video or frame folder: onset, apex and offset (frames and seconds), "
        "micro (<= 0.5 s) or macro, peak intensity (0-5), the AUs with sides and intensities, whether the "
        "person was talking, and the likely emotion of each event; "
        "head motion, blinks and talking are suppressed. Returns JSON: fps, mode, frames, counts (events, "
        "micro, macro) and events in time order. Use it for: when does she smile, how many (micro-)expressions, "
        "what is the type of the N-th event."), SpotExpressionsArgs, module="faceqa.evidence"),
    ToolSpec("ask_face_question", (
        "Answer a natural-language question about the faces in the media with faceqa's question answerer "
        "(micro-expression questions in the MEGC style: emotion class, action units, sides, counts of events; "
        "and free-form face questions: how many faces, who is this, head pose, is the video sharp enough, are "
        "these the same person with `compare`). Returns JSON: question, kind (the question type understood), "
        "text (the answer), evidence (the facts it rests on), confidence 0..1, tool_calls, answerer (composer "
        "or llm) and note. Prefer it for MEGC-style questions."),
        AskFaceQuestionArgs, module="faceqa.qa"),
    ToolSpec("deidentify_faces", (
        "Protect (de-identify) every face of an image or video and write the result to a new file: blur, "
        "pixelate, solid mask or eye bar, following faces over time so that no frame leaks a face. Returns "
        "JSON: out (the written path), method and settings, frames, frames with faces, faces protected, "
        "tracks, seconds."), DeidentifyFacesArgs, writes=True, module="faceqa.privacy"),
    ToolSpec("protect_face", (
        "Protect a photo against face recognition (MAP-style): a slight expression change and a bounded, smooth "
        "texture change on the face, optimised so that the SFace recognizer matches the face to the person in "
        "`target` instead of the true one; writes the result to a new file. A white-box attack on SFace: it may "
        "not fool other recognizers. Returns JSON: out, steps, seconds, AU amounts, white_box cosines and "
        "evaluation (per recognizer sface / dlib: matches_source, matches_target, success; psnr, ssim, "
        "expression before and after)."), ProtectFaceArgs, writes=True, module="faceqa.privacy"),
    ToolSpec("audit_embedding_leakage", (
        "Audit how much identity leaks from face embeddings (FEM-style): learn a KAN and an MLP mapping dlib "
        "embeddings to SFace's, reconstruct held-out people's faces from their dlib embeddings through SFace, "
        "and count how often dlib accepts the reconstruction as the person. Slow (minutes). Returns JSON: "
        "train/test face counts, the no-attack baseline, and per mapper (kan, mlp) cosine_fidelity, "
        "fidelity_above_match, attack_success_dlib, mean_dlib_distance, attack_success_sface, and seconds."),
        AuditEmbeddingLeakageArgs, module="faceqa.privacy"),
    ToolSpec("assess_quality", (
        "Rate the quality of an image or video for face analysis: a score in [0, 1] per clip from sharpness, "
        "noise, exposure, motion blur, face size and head pose. Returns JSON: score, face_score, image_score, "
        "coverage (fraction of frames with a face), components, and the worst frames with their weakest "
        "component. Use it for: is the video sharp enough, can the answer be trusted."),
        AssessQualityArgs, module="faceqa.quality"),
    ToolSpec("transcribe_speech", (
        "Transcribe the speech in a video's sound track (English, PocketSphinx) with word timings, and measure "
        "how it is spoken. Returns JSON: transcript, words (word, start_s, end_s, prob), voice spans (seconds), "
        "speech_s and speech_ratio, words, words_per_min, pauses and long_pauses, filled_pauses (uh, um, ...), "
        "pitch (f0_mean_hz, f0_std_semitones) and energy statistics. Use it for: what is said and when, does "
        "the person hesitate or pause, how fast do they speak."), TranscribeSpeechArgs, module="faceqa.speech"),
    ToolSpec("hesitancy_cues", (
        "Measure ambivalence/hesitancy cues of a talking-face video (as in the ABAW BAH task): the face's "
        "expression probabilities and AU intensities pooled over the clip (mean, std, quantiles), speech cues "
        "(pauses, filled pauses, rate, pitch), transcript sentiment (VADER) and hedges, and conflict features "
        "(face valence vs words' valence, mixed signals). Returns JSON: transcript, face, speech, text, conflict "
        "(each null when that modality is missing) and timing_s. No trained classifier ships: report the cues, "
        "not a verdict."), HesitancyCuesArgs, module="faceqa.hesitancy"),
    ToolSpec("audio_video_sync", (
        "Estimate the offset between a talking-face video's sound and picture from the lips and the voice "
        "(cross-correlation of lip opening and mouth darkness with the voice's energy). Returns JSON: "
        "offset_ms (> 0 when the audio lags the video), confidence in [0, 1] (how much the best lag stands "
        "out; below about 0.3 do not trust it) and correlation. Use it for: is this video dubbed or out of "
        "sync, by how much."), AudioVideoSyncArgs, module="faceqa.audiovisual"),
    ToolSpec("score_face_attribute", (
        "Score the largest face of an image with a face-attribute regressor that the user trained on their own "
        "labelled faces (`faceqa attributes train`: a Broad Learning System or a baseline over EfficientNet and "
        "face-mesh features). Returns JSON: media, model, target (the attribute's name, the score column it "
        "learnt), score, bbox of the face, n_train (faces it was trained on) and cv (its k-fold Pearson, MAE, "
        "RMSE, or null). Use it when the user names such a model folder and asks for that attribute."),
        ScoreFaceAttributeArgs, module="faceqa.attributes"),
)
"""Every tool, in the order they are offered."""


def spec(name: str) -> ToolSpec:
    """The :class:`ToolSpec` called ``name``."""
    for s in TOOL_SPECS:
        if s.name == name:
            return s
    raise InvalidInputError(f"unknown tool {name!r}: choose one of {', '.join(s.name for s in TOOL_SPECS)}")

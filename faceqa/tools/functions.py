"""The agent tools as plain Python functions returning compact, JSON-ready dicts.

:class:`FaceTools` holds a :class:`~faceqa.tools.safety.ToolPolicy`; each public method is one tool
of :data:`~faceqa.tools.schemas.TOOL_SPECS` and takes the same arguments as its schema;
:meth:`FaceTools.call` runs a tool by name from a dict of arguments, validated, one call at a time.
Every path goes through the policy first; results name the media as the caller wrote it. The tools
that read a clip share one pass over it (:func:`~faceqa.qa.clip.analyze_clip`, cached), so
successive calls about the same clip decode it once.

>>> tools = FaceTools(ToolPolicy(["."]))                          # doctest: +SKIP
>>> tools.spot_expressions("clip.mp4")["counts"]                  # doctest: +SKIP
{'events': 1, 'micro': 1, 'macro': 0}
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from faceqa.deadline import deadline
from faceqa.errors import InvalidInputError, LimitExceededError, TimeLimitError
from faceqa.jsonable import to_jsonable
from faceqa.tools.safety import ToolPolicy
from faceqa.tools.schemas import TOOL_SPECS, ToolSpec, spec

MAX_EVENTS = 50
"""Most events ``spot_expressions`` lists (the earliest; ``counts`` always covers all)."""
MAX_AUDIT_PHOTOS = 200
"""Most photos ``audit_embedding_leakage`` reads (each is meshed and embedded twice)."""


def compact_json(result: Any) -> str:
    """``result`` as one line of JSON (numpy values converted, NaN as null): what a model reads."""
    return json.dumps(to_jsonable(result), separators=(",", ":"), ensure_ascii=False)


def validation_message(name: str, exc: ValidationError) -> str:
    """A one-line summary of a pydantic validation error of tool ``name``'s arguments."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        parts.append(f"{where}: {err['msg']}")
    return f"{name}: invalid arguments ({'; '.join(parts)})"


def _confined(tool: Callable[..., dict]) -> Callable[..., dict]:
    """A tool method whose arguments are validated against its schema (as by :meth:`FaceTools.call`,
    so direct calls get the same one-line errors) and which runs inside its policy's confinement
    (inputs checked on the opened file)."""
    signature = inspect.signature(tool)

    @functools.wraps(tool)
    def run(self: FaceTools, *args: Any, **kwargs: Any) -> dict:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as exc:
            raise InvalidInputError(f"{tool.__name__}: {exc}") from None
        arguments = {k: v for k, v in bound.arguments.items() if k != "self"}
        try:
            checked = spec(tool.__name__).args_schema.model_validate(arguments)
        except ValidationError as exc:
            raise InvalidInputError(validation_message(tool.__name__, exc)) from None
        with self.policy.confined():
            return tool(self, **checked.model_dump())

    return run


def _round(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


class FaceTools:
    """The faceqa tools behind one safety policy.

    Args:
        policy: what the tools may read (default: :class:`ToolPolicy` over the current directory).
        gallery: gallery URI for ``identify_faces`` (default: ``$FACEQA_HOME/gallery.sqlite``).
        answerer: ``ask_face_question``'s answerer: ``"auto"``, ``"composer"`` or ``"llm"``.
        bundle: adapter bundle folder for the LLM answerer.
    """

    def __init__(self, policy: ToolPolicy | None = None, gallery: str | os.PathLike[str] | None = None,
                 answerer: str = "auto", bundle: str | os.PathLike[str] | None = None):
        self.policy = policy or ToolPolicy()
        self.gallery = gallery
        self.answerer = answerer
        self.bundle = bundle
        self._lock = threading.Lock()
        self._attribute_models: dict[tuple, Any] = {}

    @staticmethod
    def specs() -> list[ToolSpec]:
        """The tools offered here: every spec whose backing module is installed."""
        return [s for s in TOOL_SPECS if s.available()]

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> dict:
        """Validate ``arguments`` against tool ``name``'s schema and run it (InvalidInputError on bad arguments).

        Calls run one at a time (the models are shared and not thread-safe), so agent frameworks
        and MCP clients that run tool calls in parallel threads stay correct. Each call runs under
        the policy's time limit (``max_call_s``, :mod:`faceqa.deadline`), waiting for the one before
        included: past it, TimeLimitError.
        """
        s = spec(name)
        if not s.available():
            raise InvalidInputError(f"tool {name!r} is not available here ({s.module} is not installed)")
        try:
            args = s.args_schema.model_validate(arguments or {})
        except ValidationError as exc:
            raise InvalidInputError(validation_message(name, exc)) from None
        limit = self.policy.max_call_s
        with deadline(limit, name):
            if not self._lock.acquire(timeout=limit):
                raise TimeLimitError(f"{name}: the tools were busy with an earlier call for {limit:g} s (the limit)")
            try:
                with self.policy.confined():
                    return getattr(self, name)(**args.model_dump())
            finally:
                self._lock.release()

    def close(self) -> None:
        """Release downloaded files."""
        self.policy.close()

    @cached_property
    def _qa(self):
        from faceqa.qa import FaceQA

        return FaceQA(answerer=self.answerer, bundle=self.bundle, gallery=self.gallery)

    # -- the tools -----------------------------------------------------------------------------

    @_confined
    def analyze_faces(self, media: str, fps: float | None = None, start: int | None = None, end: int | None = None,
                      every: int = 1) -> dict:
        """Faces found and tracked: counts, per-track timing, size, mean head pose, dominant expression."""
        from faceqa.qa.clip import analyze_clip

        m = self.policy.check_media(media, fps=fps, start=start, end=end, every=every)
        analysis = analyze_clip(m.path, fps=fps, start=m.start, end=m.end, every=every)
        return to_jsonable(analysis.faces | {"media": m.name})

    @_confined
    def verify_faces(self, image_a: str, image_b: str, threshold: float | None = None) -> dict:
        """Whether the largest faces of two images are the same person: ``same``, ``distance``, ``threshold``,
        ``model`` (the identity model, SFace by default)."""
        from faceqa.perception.identity import verify

        a = self.policy.check_media(image_a)
        b = self.policy.check_media(image_b)
        result = verify(a.path, b.path, threshold=threshold)
        return {"image_a": a.name, "image_b": b.name, "same": bool(result["same"]),
                "distance": _round(result["distance"], 4), "threshold": result["threshold"], "model": result["model"]}

    @_confined
    def identify_faces(self, media: str, top_k: int = 3, every: int = 1) -> dict:
        """Each face (or video track) identified against the gallery, open-set."""
        from faceqa.qa.clip import analyze_clip

        m = self.policy.check_media(media, every=every)
        result = analyze_clip(m.path, every=every).identify(self.gallery, top_k=top_k)
        for face in result["faces"]:
            if face["distance"] is not None:
                face["distance"] = _round(face["distance"], 4)
            for match in face["matches"]:
                match["distance"] = _round(match["distance"], 4)
        return to_jsonable(result | {"media": m.name})

    @_confined
    def action_units(self, media: str, onset: int | None = None, offset: int | None = None, fps: float | None = None,
                     include_inactive: bool = False) -> dict:
        """AU intensity (0-5, FACS A-E) from the onset to the offset frame, per side, and the emotion deduced
        from the active AUs."""
        from faceqa.evidence.spotting import expression_aus
        from faceqa.facs.deduction import deduce
        from faceqa.qa.clip import analyze_clip

        m = self.policy.check_media(media, fps=fps, start=onset, end=offset)
        ev = analyze_clip(m.path, fps=fps, start=m.start, end=m.end, mode="clip").evidence
        table = ev.au_summary()
        active = table[table["active"]]
        rows = table if include_inactive else active
        aus = [{"au": int(r.au), "name": r.name, "side": r.side, "L": _round(r.L), "R": _round(r.R),
                "intensity": _round(r.intensity), "letter": r.letter,
                **({"active": bool(r.active)} if include_inactive else {})}
               for r in rows.itertuples(index=False)]
        emotion = None
        if len(active):
            d = deduce(expression_aus(ev.active_aus()))
            emotion = {"fine": d.fine, "coarse": d.coarse,
                       "scores": {k: _round(v) for k, v in sorted(d.scores.items(), key=lambda kv: -kv[1])[:3]}}
        frames = ev.table["frame"]
        return {"media": m.name, "onset": int(frames.iloc[0]), "offset": int(frames.iloc[-1]), "fps": ev.fps,
                "aus": aus, "emotion": emotion}

    @_confined
    def spot_expressions(self, media: str, fps: float | None = None, start: int | None = None,
                         end: int | None = None, mode: str = "auto") -> dict:
        """Expression events (onset/apex/offset, micro or macro, AUs with sides, likely emotion), in time order."""
        from faceqa.evidence.spotting import expression_aus
        from faceqa.facs.deduction import deduce
        from faceqa.qa.clip import analyze_clip

        m = self.policy.check_media(media, fps=fps, start=start, end=end)
        ev = analyze_clip(m.path, fps=fps, start=m.start, end=m.end, mode=mode).evidence
        events = [e.to_dict(emotion=deduce(expression_aus(e.aus)), digits=3) for e in ev.events[:MAX_EVENTS]]
        kinds = [e.kind for e in ev.events]
        out = {"media": m.name, "fps": ev.fps, "mode": ev.mode, "frames": len(ev.table),
               "counts": {"events": len(kinds), "micro": kinds.count("micro"), "macro": kinds.count("macro")},
               "events": events}
        if len(ev.events) > MAX_EVENTS:
            out["events_not_listed"] = len(ev.events) - MAX_EVENTS
        return to_jsonable(out)

    @_confined
    def ask_face_question(self, media: str, question: str, fps: float | None = None, onset: int | None = None,
                          offset: int | None = None, compare: str | None = None) -> dict:
        """faceqa's answer to a question about the media, with its evidence, confidence and tool calls.

        ``onset``/``offset`` are passed on as given: they also choose how FaceQA reads the clip
        (a given range is read from its onset), so the checked bound is not substituted here.
        """
        m = self.policy.check_media(media, fps=fps, start=onset, end=offset)
        other = self.policy.check_media(compare).path if compare is not None else None
        answer = self._qa.ask(m.path, question, fps=fps, onset=onset, offset=offset, compare=other)
        return to_jsonable(answer.to_dict() | {"media": m.name})

    @_confined
    def deidentify_faces(self, media: str, out: str, method: str = "blur") -> dict:
        """Every face protected with ``method`` and written to the new file ``out``."""
        from faceqa.privacy import deidentify

        m = self.policy.check_media(media)
        target = self.policy.output_path(out)
        result = deidentify(m.path, method, out=target)
        return to_jsonable(result | {"media": m.name, "out": out})

    @_confined
    def protect_face(self, image: str, target: str, out: str, steps: int = 60) -> dict:
        """The largest face of ``image`` protected towards ``target``'s identity, written to the new file ``out``."""
        from faceqa.privacy.protect import protect_image

        a = self.policy.check_media(image)
        b = self.policy.check_media(target)
        if a.info.kind != "image" or b.info.kind != "image":
            raise InvalidInputError("protect_face: image and target must be single images")
        dest = self.policy.output_path(out)
        result = protect_image(a.path, b.path, dest, evaluate=True, steps=steps)
        return to_jsonable(result | {"image": a.name, "target": b.name, "out": out})

    @_confined
    def audit_embedding_leakage(self, folder: str, held_out: int = 1, steps: int = 20) -> dict:
        """The leakage audit on a folder of identity subfolders (every photo checked by the policy)."""
        from faceqa.privacy.audit import audit_photos, photos_by_folder

        root = self.policy.resolve(folder)
        if not root.is_dir():
            raise InvalidInputError(f"{folder}: not a folder")
        photos, labels = photos_by_folder(root)
        paths = [self.policy.check_media(f"{folder.rstrip('/')}/{p.parent.name}/{p.name}").path for p in photos]
        if len(paths) > MAX_AUDIT_PHOTOS:
            raise LimitExceededError(f"{folder}: {len(paths)} photos, over the {MAX_AUDIT_PHOTOS}-photo limit")
        if len(set(labels)) <= held_out:
            raise InvalidInputError(f"{folder}: need more than {held_out} identity subfolders with photos")
        return to_jsonable(audit_photos(paths, labels, held_out=held_out, steps=steps) | {"folder": folder})

    @_confined
    def assess_quality(self, media: str, every: int = 1) -> dict:
        """Clip and face quality in [0, 1] with its components and the worst frames."""
        from faceqa.qa.clip import analyze_clip

        m = self.policy.check_media(media, every=every)
        return to_jsonable(analyze_clip(m.path, every=every).quality | {"media": m.name})

    @_confined
    def transcribe_speech(self, media: str) -> dict:
        """Transcript with word timings, voice spans, pauses, rate, pitch and energy."""
        from faceqa.speech import speech_evidence

        m = self.policy.check_media(media)
        ev = speech_evidence(m.path)
        words = [{"word": w.word, "start_s": _round(w.start_s, 2), "end_s": _round(w.end_s, 2), "prob": _round(w.prob)}
                 for w in ev.words]
        voice = [[_round(a, 2), _round(b, 2)] for a, b, _ in ev.voice]
        return to_jsonable(ev.summary() | {"media": m.name, "path": m.name, "words_timed": words, "voice": voice})

    @_confined
    def hesitancy_cues(self, media: str) -> dict:
        """Face, speech, text and conflict cues of hesitancy."""
        from faceqa.hesitancy import hesitancy_cues

        m = self.policy.check_media(media)
        return to_jsonable(hesitancy_cues(m.path).to_dict() | {"media": m.name, "path": m.name})

    @_confined
    def audio_video_sync(self, media: str, max_lag_ms: float = 1000.0) -> dict:
        """Audio-video offset (ms, > 0: audio lags) and its confidence."""
        from faceqa.audiovisual import av_sync

        m = self.policy.check_media(media)
        return to_jsonable(av_sync(m.path, max_lag_s=max_lag_ms / 1000.0).to_dict() | {"media": m.name})

    @_confined
    def score_face_attribute(self, media: str, model: str) -> dict:
        """The user's attribute model's score of the largest face of an image."""
        from faceqa.attributes.store import AttributeModel

        m = self.policy.check_media(media)
        if m.info.kind != "image":
            raise InvalidInputError(f"{media}: score_face_attribute reads an image, not a {m.info.kind}")
        folder = self.policy.resolve(model)
        key = (str(folder), os.path.getmtime(folder / "weights.npz") if (folder / "weights.npz").exists() else None)
        if key not in self._attribute_models:
            self._attribute_models[key] = AttributeModel.load(folder)
        attr = self._attribute_models[key]
        featurizer = attr.featurizer()
        face = featurizer.locate(m.path, m.name)
        score = float(attr.predict_features(featurizer.transform([face]))[0])
        cv = {k: _round(attr.cv[k]) for k in ("pearson", "mae", "rmse")} if attr.cv else None
        return {"media": m.name, "model": model, "target": attr.target, "score": _round(score, 4),
                "bbox": [round(float(v), 1) for v in face.bbox], "n_train": attr.n_train, "cv": cv}

"""Training configuration, read from a TOML or JSON file (``faceqa train --config FILE``).

Example (TOML)::

    output_dir = "runs/smollm2"
    data_root = "../shared/data"        # MEGC QA + CAS(ME)^3 labels
    mode = "annotations"                # or "media" (needs media_root and licensed videos)
    sources = ["megc2025", "casme3"]
    holdout = 0.2                       # fraction of subjects held out (subject split)
    folds = 0                           # > 0: subject-grouped k-fold (folds >= #subjects: LOSO)
    head_steps = 1500                   # AU-head pretraining steps (graph only, cheap) before the LLM
    steps = 400
    batch_size = 4                      # clips per step, each with all its questions packed
    ccr_every = 4                       # counterfactual consistency on every 4th step
    lr = 3e-4
    [model]                             # AULLMConfig fields
    base_model = "smollm2"
    lora_r = 16
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from faceqa.aullm.config import AULLMConfig
from faceqa.errors import InvalidInputError
from faceqa.safeio import check_path, display, read_text


@dataclass
class TrainConfig:
    """Everything a training run needs (see the module docstring for a file example).

    Attributes:
        output_dir: where checkpoints, logs and the final bundle go.
        data_root: folder with the label files (../shared/data layout).
        mode: ``"annotations"`` (evidence synthesised from AU labels) or ``"media"`` (evidence
            computed from the clips under ``media_root``).
        media_root: clip folders/videos named by the MEGC clip id (media mode).
        sources: label sources in ``data_root`` (``megc2025``, ``casme3``).
        others: also train on and score CAS(ME)^3's clips labelled ``others`` (left out by default);
            they follow their subject's side of a split dealt without them.
        qa_files: further training files in MEGC ME-VQA JSONL format (e.g. your own licensed data).
        fps: frame rate of frame folders under ``media_root`` (SAMM/CASME II: 200; default 30).
        holdout: fraction of each dataset's subjects held out for evaluation.
        folds: subject-grouped k-fold instead (0: off); the final bundle is trained on the first fold.
        head_steps, head_batch_size: steps and clips per step of the AU-head pretraining (the graph
            alone, on synthesised evidence; seconds on a CPU) that runs before the LLM is trained, so
            the premises the LLM learns to read come from a head that already works.
        steps, batch_size, grad_accum, lr, weight_decay, warmup: optimisation (``lr`` for LoRA);
            ``batch_size`` counts clips, each with all its questions (packed behind one prefix).
        questions_per_clip: ask only this many of a clip's questions per step, drawn at random (0: all).
        ccr_every: counterfactual consistency regularisation on every n-th step (0: never; 1: all).
        oracle_dropout: share of training clips whose oracle AU channel is left empty (as from video).
        mirror: share of training clips seen mirrored (left and right AU sides swapped, in the labels and
            so in the evidence synthesised from them; annotation mode), which balances the side answers.
        deduction_folds: the emotion candidates of a training clip come from a deduction model fitted
            without its subject's fold (this many folds of training subjects; 0: the shipped model).
        evidence_lr_scale: the projector, graph (and vision encoder) learn at ``lr`` times this: they
            start from random weights, the LLM from pretrained ones.
        eval_every, save_every, log_every: in steps.
        mixed_precision: ``"no"``, ``"bf16"`` or ``"fp16"`` (GPU).
        gradient_checkpointing: trade compute for memory in the LLM.
        seed: everything random (splits, synthesis, init).
        threads: torch CPU threads (0: torch's default); on a busy shared CPU 1 is often fastest.
        eval_clips: held-out clips scored (0: all, the default): otherwise a sample of that many, drawn
            with the seed in proportion to each dataset's share.
        lvqa: also score the ME-LVQA question types on the held-out subjects' CAS(ME)^3 long videos.
        eval_videos: held-out long videos scored (0: all): otherwise a seeded sample of that many.
        init_bundle: start from this trained bundle's weights (LoRA, projector, graph) instead of new
            ones, and skip the AU-head stage: a second stage of training (e.g. class-balanced).
        init_config: the config that trains ``init_bundle`` first when that folder does not exist yet
            (its ``output_dir``/bundle must be ``init_bundle``), so one command reproduces both stages.
        balance: clips are drawn with weight ``1 / n ** balance``, n the training clips of their
            (dataset, class): 0 uniform over clips, 1 uniform over classes.
        eval_workers: processes the held-out evaluation runs in (each loads the bundle; 1: in this one).
        calibration_clips: training clips (a seeded sample by dataset share, or ``"all"`` of them) on
            which the LLM's class priors are measured after training (:mod:`faceqa.aullm.calibration`;
            0: no calibration). The AU-list stop bias is fitted on the same clips.
        calibration_strength: how much of those priors the class answers divide out (1: all, 0: none),
            or ``"fit"``: per label set, the strength and the weight of the premises' emotion
            candidates (:mod:`faceqa.aullm.calibration`) that give the best unweighted F1 on those clips.
        model: the AULLM++ configuration.
    """

    output_dir: str = "runs/aullm"
    data_root: str = "../shared/data"
    mode: str = "annotations"
    media_root: str | None = None
    sources: list[str] = field(default_factory=lambda: ["megc2025", "casme3"])
    others: bool = False
    qa_files: list[str] = field(default_factory=list)
    fps: float | None = None
    holdout: float = 0.2
    folds: int = 0
    head_steps: int = 0
    head_batch_size: int = 64
    steps: int = 400
    batch_size: int = 4
    questions_per_clip: int = 0
    ccr_every: int = 1
    oracle_dropout: float = 0.5
    mirror: float = 0.0
    deduction_folds: int = 4
    grad_accum: int = 1
    lr: float = 3e-4
    evidence_lr_scale: float = 4.0
    weight_decay: float = 0.01
    warmup: int = 20
    eval_every: int = 0
    save_every: int = 100
    log_every: int = 10
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    seed: int = 0
    threads: int = 0
    eval_clips: int = 0
    lvqa: bool = True
    eval_videos: int = 0
    eval_workers: int = 1
    init_bundle: str | None = None
    init_config: str | None = None
    balance: float = 0.0
    calibration_clips: int | str = 0
    calibration_strength: float | str = 1.0
    model: AULLMConfig = field(default_factory=AULLMConfig)

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> TrainConfig:
        """Build from a dict, refusing unknown keys and bad values with the key named."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"{source}: unknown training config keys {unknown}")
        model = data.get("model", {})
        model_known = {f.name for f in fields(AULLMConfig)}
        bad = sorted(set(model) - model_known)
        if bad:
            raise InvalidInputError(f"{source}: unknown [model] keys {bad}")
        cfg = cls(**{k: v for k, v in data.items() if k != "model"}, model=AULLMConfig(**model))
        if cfg.mode not in ("annotations", "media"):
            raise InvalidInputError(f"{source}: mode must be 'annotations' or 'media', got {cfg.mode!r}")
        if cfg.mode == "media" and not cfg.media_root:
            raise InvalidInputError(f"{source}: mode 'media' needs media_root")
        if not 0 <= cfg.balance <= 1:
            raise InvalidInputError(f"{source}: balance must be in [0, 1], got {cfg.balance}")
        if cfg.eval_workers < 1:
            raise InvalidInputError(f"{source}: eval_workers must be >= 1, got {cfg.eval_workers}")
        for name, keyword in (("calibration_clips", "all"), ("calibration_strength", "fit")):
            value = getattr(cfg, name)
            if value != keyword and (isinstance(value, (str, bool)) or value < 0):
                raise InvalidInputError(f"{source}: {name} must be a number >= 0 or \"{keyword}\", got {value!r}")
        if cfg.mixed_precision not in ("no", "bf16", "fp16"):
            raise InvalidInputError(f"{source}: mixed_precision must be no, bf16 or fp16")
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a ``.toml`` or ``.json`` file; relative paths in it are taken from the file's folder."""
        path = check_path(path, "--config")
        text = read_text(path, "training config")
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
            raise InvalidInputError(f"{display(path)}: cannot parse ({e})") from None
        except RecursionError:
            raise InvalidInputError(f"{display(path)}: nested too deeply") from None
        if not isinstance(data, dict):
            raise InvalidInputError(f"{display(path)}: expected a table of settings, got {type(data).__name__}")
        for key in ("output_dir", "data_root", "media_root", "init_bundle", "init_config"):
            if data.get(key) and not Path(data[key]).is_absolute():
                data[key] = str((path.parent / data[key]).resolve())
        data["qa_files"] = [f if Path(f).is_absolute() else str((path.parent / f).resolve())
                            for f in data.get("qa_files", [])]
        return cls.from_dict(data, str(path))

"""The training loop (nanoGPT-sized): pretrain the AU head, then sample, forward, backward, step; evaluate; save.

Two stages:

1. **AU head** (``head_steps``): the R-AUGNN alone learns to name the AUs from synthesised
   evidence (asymmetric loss, large batches; seconds per hundred steps on a CPU), so the premises
   the LLM then reads already mean something;
2. **AULLM++** (``steps``): each step takes ``batch_size`` clips with all their questions packed
   behind one prefix (:mod:`faceqa.train.batches`); LoRA, projector and graph learn together from
   the language-model loss, the AU loss and, every ``ccr_every``-th step, counterfactual
   consistency.

A second stage starts from a trained bundle (``init_bundle``; no AU-head stage), typically with
class-balanced clip sampling (``balance``). After training, :func:`finish` calibrates the LLM's class
priors and AU-list stop on training clips (``calibration_clips``; :mod:`faceqa.aullm.calibration`), scores the
held-out clips (in ``eval_workers`` processes) and writes the bundle; :func:`evaluate_bundle` (``faceqa
train --evaluate BUNDLE``) runs that end again on a trained bundle.

HF Accelerate runs the same code on the CPU, one GPU, or many (``accelerate launch -m faceqa.cli.main
train --config FILE``), with mixed precision on GPU. Checkpoints (``output_dir/checkpoint``: model,
optimiser, scheduler and torch/NumPy RNG state, plus ``progress.json`` with the step and the state
of the sampling generator) are written every ``save_every`` steps and when a run ends, and a run
started again with the same ``output_dir`` resumes from the last one and continues the same loss
curve. ``log.jsonl`` gets one line per ``log_every`` steps (losses, learning rate, wall and CPU
seconds, seconds per step). The final adapter bundle goes to ``output_dir/bundle`` with its class
vocabularies, held-out scores (LLM and composer side by side on every held-out clip), the routing
table derived from them, every held-out answer, and the model card.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from faceqa.aullm.answerer import LLMAnswerer, dataset_key
from faceqa.aullm.bundle import create_model, save_pretrained
from faceqa.aullm.calibration import Calibration
from faceqa.aullm.decoding import ClassVocab
from faceqa.aullm.features import collate, features_from_labels
from faceqa.aullm.losses import asymmetric_loss
from faceqa.errors import InvalidInputError
from faceqa.megc.splits import subject_folds
from faceqa.train.batches import Deductions, annotation_features, au_targets, make_batch, media_features
from faceqa.train.card import loss_curve, model_card
from faceqa.train.config import TrainConfig
from faceqa.train.evaluate import evaluate_answerers, lvqa_videos, routing_table
from faceqa.train.examples import casme3_others, load_clips, qa_examples, split_by_subject, subject_key


def _schedule(cfg: TrainConfig):
    def factor(step: int) -> float:
        if step < cfg.warmup:
            return (step + 1) / max(1, cfg.warmup)
        progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return factor


def split(cfg: TrainConfig):
    """(train clips, held-out clips) by subject, per the config (first fold when ``folds`` > 0).

    With ``others``, CAS(ME)^3's ``others`` clips join the side of their subject; the subjects are
    dealt without them, so the split is the one a run without them has (subjects that have only
    ``others`` clips train)."""
    clips = load_clips(cfg.data_root, tuple(cfg.sources), tuple(cfg.qa_files))
    if cfg.folds:
        held = subject_folds([subject_key(c) for c in clips], cfg.folds, cfg.seed)[0]
    else:
        held = {subject_key(c) for c in split_by_subject(clips, cfg.holdout, cfg.seed)[1]}
    if cfg.others and "casme3" in cfg.sources:
        clips += casme3_others(cfg.data_root)
    return [c for c in clips if subject_key(c) not in held], [c for c in clips if subject_key(c) in held]


def held_out_sample(clips: list, n: int, seed: int) -> list:
    """``n`` of the held-out ``clips`` (all when ``n`` is 0 or not smaller), drawn with ``seed`` in proportion to
    each dataset's share (at least one each), in their original order."""
    if not n or n >= len(clips):
        return list(clips)
    rng = np.random.default_rng(seed)
    by_dataset: dict[str, list[int]] = {}
    for i, c in enumerate(clips):
        by_dataset.setdefault(str(c.dataset), []).append(i)
    keep: list[int] = []
    for ds in sorted(by_dataset):
        idx = by_dataset[ds]
        k = min(len(idx), max(1, round(n * len(idx) / len(clips))))
        keep += [int(i) for i in rng.choice(idx, k, replace=False)]
    return [clips[i] for i in sorted(keep)]


def class_vocab(clips) -> dict[str, dict]:
    """Per dataset, the fine and coarse classes and AU numbers its training clips carry (``vocab.json``)."""
    from faceqa.facs.emotion_classes import COARSE_CLASSES, FINE_CLASSES

    out: dict[str, dict] = {}
    for ds in sorted({dataset_key(c.dataset) for c in clips}):
        mine = [c for c in clips if dataset_key(c.dataset) == ds]
        fine = {c.fine for c in mine if c.fine}
        coarse = {c.coarse for c in mine if c.coarse}
        out[ds] = ClassVocab(tuple(f for f in FINE_CLASSES if f in fine),
                             tuple(k for k in COARSE_CLASSES if k in coarse), ()).to_dict()
    aus = sorted({a.number for c in clips for a in c.aus})
    for v in out.values():
        v["aus"] = aus
    return out


def class_balance(clips, power: float) -> np.ndarray:
    """Sampling probabilities that weight each clip by ``1 / n ** power``, n the clips of its (dataset, class).

    The class is the fine class (the coarse one where a dataset has no fine labels); ``power`` 0 is
    uniform over clips, 1 uniform over (dataset, class) cells.
    """
    from collections import Counter

    cells = [(dataset_key(c.dataset), c.fine or c.coarse) for c in clips]
    count = Counter(cells)
    w = np.array([count[cell] ** -float(power) for cell in cells])
    return w / w.sum()


def start_from(cfg: TrainConfig):
    """The model of the bundle ``cfg.init_bundle``, trainable, to train further (its [model] must match cfg's)."""
    from faceqa.aullm.bundle import from_pretrained
    from faceqa.aullm.config import AULLMConfig

    folder = Path(cfg.init_bundle)
    if (folder / "config.json").is_file():
        saved = AULLMConfig.load(folder / "config.json")
        differ = [k for k in ("base_model", "prompt", "n_content_tokens", "n_instruction_tokens", "lora_r",
                              "lora_targets", "dtype") if getattr(saved, k) != getattr(cfg.model, k)]
        if differ:
            raise InvalidInputError(f"init_bundle {folder}: its [model] differs from this config's in {differ}")
    model = from_pretrained(folder, trainable=True)
    model.decoder().calibration = Calibration()
    return model


def mirrored(clip):
    """The clip seen in a mirror: every left AU right and every right AU left."""
    from dataclasses import replace

    from faceqa.facs.au_codes import AUCode

    swap = {"L": "R", "R": "L", None: None}
    return replace(clip, aus=tuple(AUCode(a.number, swap[a.side], a.intensity, a.lip) for a in clip.aus))


def _examples(clip, rng: np.random.Generator, k: int):
    options = qa_examples(clip, rng)
    if k and len(options) > k:
        options = [options[i] for i in sorted(rng.choice(len(options), size=k, replace=False))]
    return options


def pretrain_head(model, clips, cfg: TrainConfig, rng: np.random.Generator, log, progress: bool) -> None:
    """Stage 1: the graph's AU head on synthesised evidence (asymmetric loss)."""
    gnn = model.gnn
    opt = torch.optim.AdamW(gnn.parameters(), lr=cfg.lr * cfg.evidence_lr_scale, weight_decay=cfg.weight_decay)
    gnn.train()
    t0, c0 = time.perf_counter(), time.process_time()
    with_aus = [c for c in clips if c.aus]
    bar = tqdm(range(cfg.head_steps), desc="AU head", unit="step", disable=not progress)
    for step in bar:
        picks = [with_aus[i] for i in rng.integers(len(with_aus), size=cfg.head_batch_size)]
        feats = collate([features_from_labels(list(c.aus), model.node_aus, rng, cfg.oracle_dropout) for c in picks])
        targets = torch.stack([au_targets(c.aus, model.node_aus) for c in picks])
        _, logits = gnn(feats.nodes.to(model.device))
        loss = asymmetric_loss(logits, targets.to(logits.device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % max(1, cfg.log_every * 10) == 0 or step + 1 == cfg.head_steps:
            log.write(json.dumps({"stage": "head", "step": step + 1, "au": round(loss.item(), 5),
                                  "seconds": round(time.perf_counter() - t0, 1),
                                  "cpu_seconds": round(time.process_time() - c0, 1)}) + "\n")
            log.flush()
            bar.set_postfix(au=round(loss.item(), 4))


def train(cfg: TrainConfig, progress: bool = True, model=None, on_step: Callable[[int, dict], None] | None = None
          ) -> dict:
    """Train per ``cfg``; returns {"bundle": path, "scores": held-out scores, "steps": n, "training": {...}}.

    ``on_step(step, record)`` is called after every step (the record holds the losses).
    """
    from accelerate import Accelerator

    if cfg.init_bundle and cfg.init_config and not Path(cfg.init_bundle).exists():
        first = TrainConfig.load(cfg.init_config)
        if Path(first.output_dir) / "bundle" != Path(cfg.init_bundle):
            raise InvalidInputError(f"init_config {cfg.init_config} writes {Path(first.output_dir) / 'bundle'}, "
                                    f"not init_bundle {cfg.init_bundle}")
        train(first, progress, on_step=on_step)
    out_dir = Path(cfg.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, gradient_accumulation_steps=cfg.grad_accum)
    train_clips, test_clips = split(cfg)
    deductions = Deductions(cfg.data_root, train_clips, cfg.deduction_folds, cfg.seed)
    model = model or (start_from(cfg) if cfg.init_bundle else create_model(cfg.model))
    if cfg.gradient_checkpointing:
        model.llm.gradient_checkpointing_enable()
        model.llm.enable_input_require_grads()
    params = [p for p in model.parameters() if p.requires_grad]
    evidence = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("llm.")]
    ids = {id(p) for p in evidence}
    optimizer = torch.optim.AdamW([{"params": [p for p in params if id(p) not in ids], "lr": cfg.lr},
                                   {"params": evidence, "lr": cfg.lr * cfg.evidence_lr_scale}],
                                  weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(cfg))
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    core = accelerator.unwrap_model(model)
    media = cfg.mode == "media"
    crops = bool(cfg.model.vision_encoder)
    features = (media_features(cfg.media_root, core.node_aus, cfg.fps, crops) if media
                else annotation_features(core.node_aus, cfg.oracle_dropout))
    ckpt = out_dir / "checkpoint"
    rng = np.random.default_rng(cfg.seed)
    progress_file = ckpt / "progress.json"
    state = json.loads(progress_file.read_text()) if progress_file.exists() else {"step": 0, "head_done": False}
    log = (out_dir / "log.jsonl").open("a")
    timing = state.get("timing", {"seconds": 0.0, "cpu_seconds": 0.0, "head_seconds": 0.0})

    def save(step: int) -> None:
        accelerator.save_state(str(ckpt))
        progress_file.write_text(json.dumps({"step": step, "head_done": True, "rng": rng.bit_generator.state,
                                             "timing": timing}))

    if progress_file.exists():
        accelerator.load_state(str(ckpt))
        if "rng" in state:
            rng.bit_generator.state = state["rng"]
    start = int(state["step"])
    if not state.get("head_done") and cfg.head_steps and start == 0 and not cfg.init_bundle:
        t = time.perf_counter()
        pretrain_head(core, train_clips, cfg, rng, log, progress)
        timing["head_seconds"] = round(time.perf_counter() - t, 1)
        if cfg.save_every:
            save(0)
    model.train()
    bar = tqdm(range(start, cfg.steps), desc="training", unit="step", disable=not progress, initial=start,
               total=cfg.steps)
    t_window, c_window, n_window = time.perf_counter(), time.process_time(), 0
    step = start
    weights = class_balance(train_clips, cfg.balance) if cfg.balance else None
    for step in bar:
        if weights is None:
            picks = [train_clips[i] for i in rng.integers(len(train_clips), size=cfg.batch_size)]
        else:
            picks = [train_clips[i] for i in rng.choice(len(train_clips), size=cfg.batch_size, p=weights)]
        if cfg.mirror and not media:
            picks = [mirrored(c) if rng.random() < cfg.mirror else c for c in picks]
        clip_examples = [ex for ex in (_examples(c, rng, cfg.questions_per_clip) for c in picks) if ex]
        ccr = bool(cfg.model.ccr_weight) and cfg.ccr_every > 0 and step % cfg.ccr_every == 0
        batch = make_batch(clip_examples, core, rng, features, counterfactuals=ccr, synthesise=not media,
                           deductions=deductions)
        t, c = time.perf_counter(), time.process_time()
        with accelerator.accumulate(model):
            out = model(**batch.model_kwargs())
            accelerator.backward(out["loss"])
            accelerator.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        timing["seconds"] = round(timing["seconds"] + time.perf_counter() - t, 2)
        timing["cpu_seconds"] = round(timing["cpu_seconds"] + time.process_time() - c, 2)
        n_window += 1
        rec = {"step": step + 1, "lr": scheduler.get_last_lr()[0], "questions": len(batch.questions),
               "ccr_step": ccr} | {k: round(v.item(), 4) for k, v in out.items() if k != "logits"}
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            rec |= {"s_per_step": round((time.perf_counter() - t_window) / n_window, 2),
                    "cpu_s_per_step": round((time.process_time() - c_window) / n_window, 2),
                    "seconds": timing["seconds"], "cpu_seconds": timing["cpu_seconds"]}
            t_window, c_window, n_window = time.perf_counter(), time.process_time(), 0
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar.set_postfix(loss=rec["loss"], lm=rec["lm"])
        if cfg.save_every and (step + 1) % cfg.save_every == 0 and step + 1 < cfg.steps:
            save(step + 1)
        if on_step is not None:
            on_step(step + 1, rec)
    log.close()
    if cfg.save_every or start < cfg.steps:
        save(cfg.steps)
    training = {"steps": cfg.steps, "head_steps": cfg.head_steps, "batch_size": cfg.batch_size} | timing
    training["loss_curve"] = loss_curve(out_dir / "log.jsonl")
    if cfg.init_bundle and (Path(cfg.init_bundle) / "scores.json").is_file():
        training["init"] = json.loads((Path(cfg.init_bundle) / "scores.json").read_text()).get("training", {})
    bundle = finish(cfg, core, train_clips, test_clips, deductions, training, out_dir / "bundle", progress)
    return bundle | {"steps": cfg.steps, "training": training}


def finish(cfg: TrainConfig, core, train_clips: list, test_clips: list, deductions: Deductions, training: dict,
           bundle: Path, progress: bool = True) -> dict:
    """After training: measure the class priors (calibration), score the held-out clips, write the bundle.

    Returns ``{"bundle": folder, "scores": held-out scores}``. The weights are written first, so
    that ``eval_workers`` processes can load them.
    """
    from faceqa.aullm.calibration import fit_calibration, measure, save_calibration
    from faceqa.facs.deduction import DeductionModel

    core.eval()
    vocab = class_vocab(train_clips)
    answerer = LLMAnswerer(core, {k: ClassVocab.from_dict(v) for k, v in vocab.items()})
    heldout_model = (DeductionModel.from_json(deductions.heldout.to_json()) if deductions.heldout is not None
                     else None)
    save_pretrained(core, bundle, vocab=vocab)
    if heldout_model is not None:
        (bundle / "deduction_heldout.json").write_text(json.dumps(heldout_model.to_json()) + "\n")
    calibration = None
    (bundle / "calibration.json").unlink(missing_ok=True)  # a re-scored bundle keeps no stale priors
    if cfg.calibration_clips:
        every = cfg.calibration_clips == "all"
        sample = train_clips if every else held_out_sample(train_clips, cfg.calibration_clips, cfg.seed)
        fitted, report = fit_calibration(measure(answerer, sample, deductions, progress), cfg.calibration_strength)
        core.decoder().calibration = fitted
        calibration = {"clips": len(sample)} | report
        drawn = "every training clip" if every else "training clips (seeded sample by dataset share)"
        save_calibration(bundle, fitted, f"{len(sample)} {drawn}, AU-label evidence", report)
    test = held_out_sample(test_clips, cfg.eval_clips, cfg.seed)
    held_keys = sorted({subject_key(c) for c in test_clips})
    media = cfg.mode == "media"
    videos = lvqa_videos(cfg.data_root, held_keys) if cfg.lvqa and not media else {}
    all_videos = len(videos)
    if cfg.eval_videos and cfg.eval_videos < len(videos):
        keep = np.random.default_rng(cfg.seed).choice(sorted(videos), cfg.eval_videos, replace=False)
        videos = {k: videos[k] for k in sorted(keep)}
    modes = ("video",) if media else ("labels", "video")
    scores, rows = evaluate_answerers(answerer, test, heldout_model, cfg.seed, modes, videos, progress,
                                      cfg.eval_workers, bundle)
    info = {"train_clips": len(train_clips), "held_out_clips": len(test_clips), "scored_clips": len(test),
            "held_out_videos": all_videos, "scored_videos": len(videos),
            "held_out_subjects": held_keys, "steps": cfg.steps,
            "head_steps": cfg.head_steps, "seed": cfg.seed, "calibration": calibration}
    save_pretrained(core, bundle, scores=scores | {"routing": routing_table(scores), "split": info,
                                                   "training": training},
                    card=model_card(cfg, scores, info, training), heldout=rows)
    return {"bundle": str(bundle), "scores": scores}


def evaluate_bundle(cfg: TrainConfig, bundle: str | Path, progress: bool = True) -> dict:
    """Re-run :func:`finish` on a trained bundle (calibration, every held-out score, card) without training.

    The bundle must have been trained with ``cfg`` (same data, split and seed); its recorded training
    figures (``scores.json`` -> ``training``) are kept.
    """
    from faceqa.aullm.bundle import from_pretrained

    bundle = Path(bundle)
    scores_file = bundle / "scores.json"
    training = json.loads(scores_file.read_text()).get("training", {}) if scores_file.is_file() else {}
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    core = from_pretrained(bundle)
    core.decoder().calibration = Calibration()
    train_clips, test_clips = split(cfg)
    deductions = Deductions(cfg.data_root, train_clips, cfg.deduction_folds, cfg.seed)
    return finish(cfg, core, train_clips, test_clips, deductions, training, bundle, progress) | {"training": training}

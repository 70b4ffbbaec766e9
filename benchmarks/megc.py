"""``faceqa megc predict`` throughput on this CPU: questions per second.

1. Grounded composer from oracle AU labels (``--au-labels``): the MEGC 2025 ME-VQA training file
   (992 questions, AUs from its own answers) and ME-LVQA gold built from the CAS(ME)^3 part A
   annotations (5567 questions, events as labels). Answering only: no video.
2. Grounded composer from video: ``--clips`` generated 3 s, 30 fps clips (a real face with one
   injected micro-expression) under a media root, six ME-VQA 2025 questions each, answered end to
   end (decode, perception, evidence pass, deduction, composer).
3. The LLM answerer, when ``faceqa.aullm.answerer.default_bundle_path()`` finds an installed
   bundle: the first ``--llm-clips`` clips of (1), from the same oracle labels.
4. The held-out emotion scores of the oracle-label path (``faceqa megc heldout``).

    python benchmarks/megc.py [--data ../shared/data] [--clips 8] [--llm-clips 30]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = ("What is the coarse expression class?", "What is the fine-grained expression class?",
             "What is the action unit?", "Is the action unit lip corner puller shown on the face?",
             "Is the action unit lip corner puller located on the left or right face?",
             "What is the action unit present, and based on it, what is the fine-grained expression and the coarse "
             "expression class?")


def oracle(data: Path, tmp: Path, answerer: str, clips: int | None = None) -> list[dict]:
    """Throughput of predict from oracle labels on the training file and the CAS(ME)^3 LVQA gold."""
    from faceqa.megc.gold import au_labels_from_qa, casme3_videos, lvqa_gold
    from faceqa.megc.io import read_qa_file, write_jsonl
    from faceqa.megc.labels import write_csv
    from faceqa.megc.predict import predict
    from faceqa.qa import FaceQA

    train = data / "vqa/megc2025_mevqa/me_vqa_samm_casme2_smic.jsonl"
    write_csv(tmp / "train_labels.csv", au_labels_from_qa(train), ("video", "aus"))
    ann = data / "labels/casme3_official"
    rows, events, _ = lvqa_gold(casme3_videos(ann / "casme3_partA_all_expressions_v2.csv",
                                              ann / "casme3_partA_ME_labels_v2.csv"))
    write_jsonl(tmp / "lvqa_gold.jsonl", rows)
    write_csv(tmp / "lvqa_events.csv", events)
    jobs = [("me-vqa 2025 train", train, tmp / "train_labels.csv"),
            ("me-lvqa casme3 gold", tmp / "lvqa_gold.jsonl", tmp / "lvqa_events.csv")]
    out = []
    for name, questions, labels in jobs:
        if clips is not None:
            keep = set(list(read_qa_file(questions).clips())[:clips])
            subset = [r.fields for r in read_qa_file(questions).rows if r.clip in keep]
            questions = tmp / f"{questions.stem}.subset.jsonl"
            write_jsonl(questions, subset)
        s = predict(questions, tmp / f"{name.replace(' ', '_')}.{answerer}.jsonl", au_labels=labels,
                    qa=FaceQA(answerer=answerer), overwrite=True, progress=False)
        out.append({"job": name, "answerer": answerer, "questions": s.questions, "failed": s.failed,
                    "seconds": round(s.seconds, 2), "questions_per_s": round(s.questions_per_second, 1)})
    return out


def video(n: int, tmp: Path) -> dict:
    """Throughput of predict from generated clips under a media root (composer)."""
    import numpy as np
    from skimage import data

    from faceqa.megc.io import write_jsonl
    from faceqa.megc.predict import predict
    from faceqa.qa import FaceQA
    from faceqa.synth import make_clip, random_clip_spec

    face = np.ascontiguousarray(data.astronaut()[0:360, 45:405])
    root = tmp / "media"
    rows = []
    for i in range(n):
        spec = random_clip_spec(500 + i, fps=30.0, duration_s=3.0, micro=True)
        make_clip(face, spec, root / f"{i}" / f"clip{i}")
        ev = spec.events[0]
        for k, q in enumerate(QUESTIONS, 1):
            rows.append({"id": f"samm_test_{i}_{k}", "dataset": "samm_test", "image_id": f"{i}_clip{i}",
                         "subject": i, "filename": f"clip{i}", "onset_frame": max(0, ev.onset - 5),
                         "offset_frame": ev.offset + 5, "question": q, "answer": ""})
    write_jsonl(tmp / "video_q.jsonl", rows)
    qa = FaceQA(answerer="composer")
    s = predict(tmp / "video_q.jsonl", tmp / "video_pred.jsonl", media_root=root, qa=qa, fps=30.0, overwrite=True,
                progress=False)
    return {"job": "me-vqa from video (generated clips)", "answerer": "composer", "clips": n,
            "questions": s.questions, "failed": s.failed, "seconds": round(s.seconds, 2),
            "questions_per_s": round(s.questions_per_second, 2), "seconds_per_clip": round(s.seconds / n, 2)}


def main() -> None:
    """Print one JSON line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("FACEQA_TEST_DATA",
                                                                         REPO.parent / "shared" / "data")))
    parser.add_argument("--clips", type=int, default=8, help="generated clips for the video measurement")
    parser.add_argument("--llm-clips", type=int, default=30, help="clips per job for the LLM measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        have_data = (args.data / "vqa").is_dir()
        if have_data:
            for r in oracle(args.data, tmp, "composer"):
                print(json.dumps(r))
        else:
            print(json.dumps({"skipped": f"oracle-label jobs: no data at {args.data}"}))
        print(json.dumps(video(args.clips, tmp)))
        try:
            from faceqa.aullm.answerer import default_bundle_path
        except ImportError as exc:
            print(json.dumps({"skipped": f"LLM answerer: not importable ({exc})"}))
        else:
            bundle = default_bundle_path()
            if bundle is None:
                print(json.dumps({"skipped": "LLM answerer: no bundle installed"}))
            elif have_data:
                for r in oracle(args.data, tmp, "llm", clips=args.llm_clips):
                    print(json.dumps(r | {"bundle": str(bundle)}))
        if have_data:
            from faceqa.megc.heldout import heldout_report

            report = heldout_report(args.data)
            for name, sec in [("overall", report["overall"]), *report["datasets"].items()]:
                figures = {k: {m: round(v, 4) for m, v in sec[k].items() if m in ("uf1", "uar", "accuracy", "n")}
                           for k in ("coarse", "fine") if k in sec}
                figures["text"] = {m: round(v, 4) for m, v in sec["text"].items() if m != "n"}
                print(json.dumps({"heldout": name, "protocol": report["protocol"]} | figures))


if __name__ == "__main__":
    main()

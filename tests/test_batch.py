"""Many clips at once: ``faceqa analyze DIR --out OUT_DIR/`` (resume, failures), and the same work on a local
Ray (``ray.init(num_cpus=2)``) giving the same results as the local run, for analyze and megc predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from media_fixtures import write_video
from PIL import Image

from faceqa.cli.main import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, astronaut) -> Path:
    """Two short clips, an image, a frame folder and a broken file."""
    root = tmp_path_factory.mktemp("corpus")
    face = np.ascontiguousarray(astronaut[20:276, 120:376])
    write_video(root / "a.mp4", [np.roll(face, 2 * i, axis=1) for i in range(3)])
    write_video(root / "b.mp4", [np.roll(face, -2 * i, axis=0) for i in range(3)])
    Image.fromarray(face).save(root / "still.png")
    (root / "frames").mkdir()
    for i in range(2):
        Image.fromarray(np.roll(face, i, axis=1)).save(root / "frames" / f"img{i}.png")
    (root / "broken.mp4").write_bytes(b"not a video")
    (root / "notes.txt").write_text("not media")
    return root


def test_analyze_corpus_writes_one_table_per_clip_resumes_and_records_failures(corpus, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyze", str(corpus), "--out", f"{out}/", "--no-progress", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["clips"], result["analysed"], result["failed"]) == (5, 4, 1)
    assert sorted(p.name for p in out.glob("*.parquet")) == ["a.mp4.parquet", "b.mp4.parquet", "frames.parquet",
                                                             "still.png.parquet"]
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures["clip"]) == ["broken.mp4"] and "cannot open video" in failures["error"][0]
    assert len(pd.read_parquet(out / "a.mp4.parquet")) >= 3
    assert [json.loads(line)["clip"] for line in (out / "summary.jsonl").read_text().splitlines()] == [
        "a.mp4", "b.mp4", "frames", "still.png"]
    assert main(["analyze", str(corpus / "*.mp4"), "--out", str(out), "--no-progress", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["clips"], again["analysed"], again["already_done"], again["failed"]) == (3, 0, 2, 1)


def _megc_files(tmp_path: Path) -> tuple[Path, Path]:
    questions, labels = tmp_path / "q.jsonl", tmp_path / "labels.csv"
    asked = ("What is the coarse expression class?", "What is the action unit?")
    rows = [{"video_id": f"samm_test_c{i}_{k}", "video": f"c{i}", "question": q, "answer": ""}
            for i in range(4) for k, q in enumerate(asked)]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    labels.write_text("video,aus\nc0,12\nc1,4+7\nc2,R14\n")  # c3: no labels, fails
    return questions, labels


def test_ray_runs_the_same_work_as_the_local_run(corpus, tmp_path, capsys):
    ray = pytest.importorskip("ray")
    local, remote = tmp_path / "local", tmp_path / "ray"
    questions, labels = _megc_files(tmp_path)
    megc = ["megc", "predict", "--questions", str(questions), "--au-labels", str(labels), "--no-llm", "--no-progress"]
    assert main(["analyze", str(corpus / "*.mp4"), "--out", f"{local}/", "--no-progress"]) == 0
    assert main([*megc, "--out", str(local / "pred.jsonl")]) == 0
    from faceqa.batch import start_local_ray

    start_local_ray(num_cpus=2, include_dashboard=False, log_to_driver=False,
                    runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    try:
        assert main(["analyze", str(corpus / "*.mp4"), "--out", f"{remote}/", "--ray", "auto", "--workers", "1",
                     "--no-progress"]) == 0
        assert main([*megc, "--out", str(remote / "pred.jsonl"), "--ray", "auto", "--workers", "1"]) == 0
    finally:
        ray.shutdown()
    capsys.readouterr()
    for name in ("a.mp4.parquet", "b.mp4.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(local / name), pd.read_parquet(remote / name))
    assert (local / "pred.jsonl").read_text() == (remote / "pred.jsonl").read_text()
    assert (local / "pred.errors.csv").read_text() == (remote / "pred.errors.csv").read_text()
    assert (local / "failures.csv").read_text() == (remote / "failures.csv").read_text()


@pytest.mark.parametrize("workers", [1, 2])
def test_run_batch_gives_every_result_and_records_failures(workers):
    from batch_workers import Square

    from faceqa.batch import run_batch

    results = {r.task: r for r in run_batch([3, -1, 2, 5], Square(), workers=workers)}
    assert {t: r.value for t, r in results.items() if r.ok} == {3: 9, 2: 4, 5: 25}
    assert results[-1].error == "ValueError: negative: -1"
    assert all(r.peak_mb > 0 and r.pid for r in results.values())

"""Hesitancy cues and the prototype-augmented fusion model (on generated data: no BAH data is here)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from faceqa.hesitancy.cues import HesitancyCues, conflict_cues, pool, text_cues

DIMS = {"face": 12, "speech": 6, "text": 4, "conflict": 3}


def generated(n: int, seed: int, missing: float = 0.25) -> tuple[list[dict], list[int]]:
    """Cue vectors whose class shifts a few features of every modality; modalities go missing at random."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for _ in range(n):
        y = int(rng.integers(0, 2))
        row = {}
        for m, d in DIMS.items():
            x = rng.normal(0, 1, d).astype(np.float32)
            x[:2] += 1.2 * (2 * y - 1)
            row[m] = None if rng.random() < missing else x
        if all(v is None for v in row.values()):
            row["face"] = rng.normal(0, 1, DIMS["face"]).astype(np.float32)
        rows.append(row)
        labels.append(y)
    return rows, labels


def test_fusion_learns_and_handles_missing_modalities(tmp_path):
    from faceqa.hesitancy.model import FusionConfig, PrototypeFusion, macro_f1, predict, train

    rows, labels = generated(160, 0)
    model = PrototypeFusion(FusionConfig(dims=DIMS))
    losses = train(model, rows, labels, epochs=80)
    assert losses[-1] < losses[0]
    test_rows, test_labels = generated(120, 1)
    f1 = macro_f1(np.array(test_labels), predict(model, test_rows).argmax(1), 2)
    assert f1 > 0.85
    only_speech = [{"speech": r["speech"]} if r["speech"] is not None else {"face": r["face"]} for r in test_rows]
    assert macro_f1(np.array(test_labels), predict(model, only_speech).argmax(1), 2) > 0.7
    nothing = predict(model, [{}])
    assert np.isfinite(nothing).all() and nothing.sum() == pytest.approx(1.0)
    model.save_pretrained(tmp_path / "m")
    again = PrototypeFusion.from_pretrained(tmp_path / "m")
    assert np.allclose(predict(again, test_rows[:10]), predict(model, test_rows[:10]), atol=1e-6)


def test_train_hesitancy_cli_on_a_bah_folder(tmp_path, capsys):
    """A BAH-format folder whose cues are already measured (features/*.json): the CLI trains and saves."""
    from faceqa.cli.main import main

    rows, labels = generated(80, 2, missing=0.0)
    (tmp_path / "features").mkdir()
    names = []
    for i, row in enumerate(rows):
        name = f"p{i:03d}.mp4"
        names.append(name)
        cues = {m: {f"x{j:02d}": float(v) for j, v in enumerate(row[m])} for m in DIMS}
        (tmp_path / "features" / f"{name}.json").write_text(json.dumps(
            {"path": name, "duration_s": 10.0, "transcript": "", **cues}))
    split = ["val" if i % 4 == 0 else "train" for i in range(len(rows))]
    pd.DataFrame({"video": names, "label": ["hesitant" if y else "not_hesitant" for y in labels],
                  "split": split}).to_csv(tmp_path / "labels.csv", index=False)
    out = tmp_path / "model"
    assert main(["train-hesitancy", "--data", str(tmp_path), "--out", str(out), "--epochs", "100", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["classes"] == ["hesitant", "not_hesitant"] and r["train"] == 60 and r["val"] == 20
    assert r["val_macro_f1"] > 0.8
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()


def test_bad_bah_folder_is_a_one_line_error(tmp_path, capsys):
    from faceqa.cli.main import main

    assert main(["train-hesitancy", "--data", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "labels.csv" in err and str(tmp_path) in err and err.count("\n") == 1


def test_text_and_conflict_cues():
    assert text_cues("") is None
    t = text_cues("I love it, it is great, but maybe I am not sure")
    assert t["vader_compound"] > 0 and t["hedges_per_100_words"] > 0 and t["words"] == 12
    frames = pd.DataFrame({"emotion_happy": [0.1, 0.0], "emotion_angry": [0.5, 0.6], "emotion_disgust": [0.1, 0.1],
                           "emotion_fear": [0.0, 0.0], "emotion_sad": [0.1, 0.1], "emotion_neutral": [0.2, 0.2],
                           "au_12_L": [2.0, 1.0], "au_4_L": [1.0, 3.0]})
    c = conflict_cues(frames, t)
    assert c["face_valence"] < 0 < c["text_valence"] and c["valence_sign_conflict"] == 1.0
    assert c["smile_with_frown"] == pytest.approx(1.0)
    p = pool(frames, "emotion_")
    assert p["emotion_angry_mean"] == pytest.approx(0.55) and "emotion_angry_q90" in p
    cues = HesitancyCues("x.mp4", 1.0, p, None, t, c)
    v = cues.vectors()
    assert v["speech"] is None and len(v["face"]) == len(p) and v["text"].dtype == np.float32

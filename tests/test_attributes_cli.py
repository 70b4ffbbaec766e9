"""``faceqa attributes train|predict``, the model folder, the feature table, label CSV errors and the agent tool.

Faces: skimage's astronaut, cut and lit six ways (the score is the lighting), and a blank image
without a face; one training run (EfficientNet + geometry, BLS, 2 folds) is shared by the tests.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from faceqa.attributes import FEATURE_SETS, AttributeModel, FaceFeaturizer, FeatureSet, register_feature_set
from faceqa.attributes.features import FaceSample, parse_sets
from faceqa.attributes.regressors import make_regressor
from faceqa.attributes.train import read_labels
from faceqa.cli.main import main
from faceqa.errors import IncompatibleBundleError, InvalidInputError, MediaNotFoundError, ModelUnavailableError
from faceqa.tools import FaceTools, ToolPolicy

LIGHT = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, astronaut) -> dict:
    root = tmp_path_factory.mktemp("attributes")
    (root / "img").mkdir()
    rows = ["file,light,person"]
    for i, light in enumerate(LIGHT):
        x0 = 40 + 12 * i
        face = np.clip(astronaut[10:370, x0:x0 + 360].astype(np.float32) * light, 0, 255).astype(np.uint8)
        if i % 2:
            face = face[:, ::-1]
        Image.fromarray(face).resize((256, 256)).save(root / "img" / f"a{i}.png")
        rows.append(f"img/a{i}.png,{light},p{i % 3}")
    Image.fromarray(np.full((128, 128, 3), 128, np.uint8)).save(root / "img" / "blank.png")
    rows.append("img/blank.png,1.0,p0")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return {"root": root, "csv": root / "labels.csv"}


@pytest.fixture(scope="module")
def trained(labelled) -> dict:
    out, stdout, stderr = labelled["root"] / "model", io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["attributes", "train", "--csv", str(labelled["csv"]), "--target", "light", "--out", str(out),
                     "--folds", "2", "--group", "person", "--param", "n_enhancement=50", "--json", "--no-progress"])
    assert code == 0, stderr.getvalue()
    return {"out": out, "report": json.loads(stdout.getvalue()), "stderr": stderr.getvalue()}


def test_train_reports_k_fold_metrics_and_saves_the_model(trained):
    report = trained["report"]
    assert report["rows"] == 7 and report["faces"] == 6
    assert list(report["skipped"]) == ["8"] and "blank.png: no face found" in report["skipped"]["8"]
    assert "skipped line 8" in trained["stderr"]
    cv = report["cv"]
    assert cv["folds"] == 2 and cv["grouped"] and {"pearson", "mae", "rmse", "fit_s", "std", "pooled"} <= set(cv)
    meta = json.loads((trained["out"] / "attribute_model.json").read_text())
    assert meta["target"] == "light" and meta["model"] == "bls" and meta["feature_sets"] == ["cnn", "geometry"]
    assert meta["n_features"] == 2024 + 22 and meta["n_train"] == 6 and meta["config"]["n_enhancement"] == 50
    assert meta["config"]["alpha"] == "auto"
    assert meta["fitted_alpha"] == AttributeModel.load(trained["out"]).regressor.alpha_ > 0


def test_predict_scores_faces_and_names_images_without_one(trained, labelled, capsys):
    img = labelled["root"] / "img"
    code = main(["attributes", "predict", str(trained["out"]), str(img / "a3.png"), str(img / "blank.png"),
                 "--json", "--no-progress"])
    out = capsys.readouterr()
    assert code == 2 and "blank.png: no face found" in out.err
    rows = json.loads(out.out)
    assert rows[0]["target"] == "light" and np.isfinite(rows[0]["score"]) and "error" in rows[1]
    assert abs(rows[0]["score"] - 1.0) < 0.3  # a training face, scored near its label
    with pytest.raises(ModelUnavailableError, match="not an attribute model folder"):
        AttributeModel.load(img)


def test_the_agent_tool_uses_the_users_model(trained, labelled):
    tools = FaceTools(ToolPolicy([labelled["root"]]))
    out = tools.call("score_face_attribute", {"media": "img/a3.png", "model": "model"})
    assert out["target"] == "light" and out["n_train"] == 6 and set(out["cv"]) == {"pearson", "mae", "rmse"}
    assert np.isfinite(out["score"]) and len(out["bbox"]) == 4
    with pytest.raises(InvalidInputError, match="invalid arguments"):
        tools.call("score_face_attribute", {"media": "img/a3.png"})


def test_retraining_into_a_model_folder_needs_force(trained, labelled, capsys):
    code = main(["attributes", "train", "--csv", str(labelled["csv"]), "--target", "light", "--out",
                 str(trained["out"])])
    assert code == 2 and "already holds a model; pass --force" in capsys.readouterr().err


def test_bad_label_files_are_clear_errors(tmp_path, labelled):
    def write(text: str):
        p = tmp_path / "bad.csv"
        p.write_text(text)
        return p

    with pytest.raises(MediaNotFoundError, match="no such CSV file"):
        read_labels(tmp_path / "none.csv", "score")
    with pytest.raises(InvalidInputError, match="no column 'score' \\(columns: image, light\\)"):
        read_labels(write("image,light\na.png,1\n"), "score")
    with pytest.raises(InvalidInputError, match="which column holds the image paths"):
        read_labels(write("picture,score\na.png,1\n"), "score")
    with pytest.raises(InvalidInputError, match="must hold numbers; not at line 3 \\('high'\\), line 4 \\(''\\)"):
        read_labels(write(f"image,score\n{labelled['root']}/img/a0.png,1\nb.png,high\nc.png,\n"), "score")
    with pytest.raises(InvalidInputError, match="image files not found: line 2 \\('missing.png'\\)"):
        read_labels(write("image,score\nmissing.png,1\n"), "score")
    with pytest.raises(InvalidInputError, match="no rows under the header"):
        read_labels(write("image,score\n"), "score")
    with pytest.raises(InvalidInputError, match="not a readable CSV"):
        read_labels(write(""), "score")
    table = read_labels(labelled["csv"], "light", group_column="person")
    assert len(table.images) == 7 and table.groups[:3] == ["p0", "p1", "p2"] and table.lines[0] == 2


def test_the_feature_table_takes_new_sets(tmp_path):
    """A set registered later trains, saves and loads; a model whose set is gone is refused."""
    register_feature_set(FeatureSet("spread", "landmark spread (test)", lambda: ["spread_x", "spread_y"],
                                    lambda faces: np.stack([f.landmarks[:, :2].std(0) for f in faces])))
    try:
        rng = np.random.default_rng(0)
        faces = [FaceSample(f"f{i}", np.zeros((8, 8, 3), np.uint8), (0, 0, 8, 8), rng.random((468, 3)) * (i + 1),
                            np.zeros((224, 224, 3), np.uint8)) for i in range(8)]
        featurizer = FaceFeaturizer("spread")
        x = featurizer.transform(faces)
        assert x.shape == (8, 2) and featurizer.columns() == ["spread_x", "spread_y"]
        model = AttributeModel("size", make_regressor("ridge", alpha=0.1).fit(x, np.arange(8.0)), ("spread",),
                               featurizer.columns(), 8)
        again = AttributeModel.load(model.save(tmp_path / "m"))
        assert np.allclose(again.predict_features(x), model.predict_features(x))
        assert np.corrcoef(again.predict_features(x), np.arange(8.0))[0, 1] > 0.99
    finally:
        del FEATURE_SETS["spread"]
    with pytest.raises(IncompatibleBundleError, match="feature set 'spread', which this faceqa does not have"):
        AttributeModel.load(tmp_path / "m")
    with pytest.raises(InvalidInputError, match="unknown feature set 'arcface'"):
        parse_sets("cnn,arcface")


def test_the_sface_set_is_the_recognizers_embedding(astronaut):
    from faceqa.perception.identity import get_embedder

    featurizer = FaceFeaturizer("sface,geometry")
    face = featurizer.locate(astronaut, "astronaut")
    x = featurizer.transform([face, face])
    assert x.shape == (2, 128 + 22) and featurizer.columns()[0] == "sface_0"
    own = get_embedder("sface").embed(astronaut, face.bbox, face.landmarks)
    np.testing.assert_allclose(x[0, :128], own, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(x[:, :128], axis=1), 1, atol=1e-5)

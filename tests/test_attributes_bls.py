"""BLS exactness (ridge without enhancement nodes; incremental == retraining), ER-BLS, baselines and folds.

Tolerances: "equal" means the largest prediction difference is at most ``TOL`` times the targets'
standard deviation (1e-8; measured differences are about 1e-11), with float64 throughout.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from faceqa.attributes import BLSRegressor, ERBLSRegressor, MLPRegressor, RidgeRegressor, make_regressor
from faceqa.attributes.evaluate import cross_validate, fold_indices, pearson, regression_metrics
from faceqa.attributes.regressors import restore_regressor
from faceqa.errors import InvalidInputError

TOL = 1e-8


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 40)) @ rng.standard_normal((40, 40)) / 6  # correlated columns
    y = x[:, :5].sum(1) + np.tanh(x[:, 5]) + 0.3 * x[:, 6] ** 2 + 0.2 * rng.standard_normal(300) + 3.0
    return x, y


def _close(a: np.ndarray, b: np.ndarray, y: np.ndarray) -> bool:
    return float(np.abs(a - b).max()) <= TOL * float(y.std())


def _ridge_by_centering(z: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Ridge with an unpenalised intercept computed another way: centre, then least squares on [Z; sqrt(a) I]."""
    zc, yc = z - z.mean(0), y - y.mean()
    k = z.shape[1]
    w = np.linalg.lstsq(np.vstack([zc, np.sqrt(alpha) * np.eye(k)]), np.concatenate([yc, np.zeros(k)]),
                        rcond=None)[0]
    return zc @ w + y.mean()


def test_without_enhancement_nodes_bls_is_ridge(data):
    x, y = data
    identity = BLSRegressor(mapping="identity", n_enhancement=0, alpha=3.0).fit(x, y)
    assert _close(identity.predict(x), RidgeRegressor(alpha=3.0).fit(x, y).predict(x), y)
    sparse = BLSRegressor(n_windows=4, nodes_per_window=10, n_enhancement=0, alpha=3.0).fit(x, y)
    assert sparse.n_nodes == 40
    assert _close(sparse.predict(x), _ridge_by_centering(sparse.feature_nodes(x), y, 3.0), y)
    assert _close(identity.predict(x), _ridge_by_centering((x - x.mean(0)) / x.std(0), y, 3.0), y)
    few = x[:25]  # fewer samples than features: the dual solve
    assert _close(RidgeRegressor(alpha=3.0).fit(few, y[:25]).predict(few),
                  _ridge_by_centering((few - few.mean(0)) / few.std(0), y[:25], 3.0), y)


def test_new_samples_incrementally_equal_retraining(data):
    x, y = data
    model = BLSRegressor(n_windows=4, nodes_per_window=10, n_enhancement=60, alpha=1.0).fit(x[:100], y[:100])
    for start in range(100, 300, 50):
        model.partial_fit(x[start:start + 50], y[start:start + 50])
    retrained = copy.deepcopy(model).fit_weights(x, y)
    assert _close(model.predict(x), retrained.predict(x), y)
    assert np.abs(model.coef_ - retrained.coef_).max() < 1e-8


def test_new_enhancement_nodes_incrementally_equal_retraining(data):
    x, y = data
    model = BLSRegressor(n_windows=4, nodes_per_window=10, n_enhancement=20, alpha=1.0).fit(x, y)
    before = model.predict(x)
    model.add_enhancement_nodes(30).add_enhancement_nodes(25)
    assert model.n_nodes == 40 + 20 + 30 + 25
    retrained = copy.deepcopy(model).fit_weights(x, y)
    assert _close(model.predict(x), retrained.predict(x), y)
    assert np.mean((model.predict(x) - y) ** 2) < np.mean((before - y) ** 2)  # more nodes fit the training set closer


def test_nodes_and_samples_mixed_and_several_targets(data):
    x, y = data
    y2 = np.stack([y, -2 * y + x[:, 3]], axis=1)
    model = BLSRegressor(n_windows=3, nodes_per_window=8, n_enhancement=10, alpha=0.5).partial_fit(x[:150], y2[:150])
    model.add_enhancement_nodes(15).partial_fit(x[150:], y2[150:]).add_enhancement_nodes(5)
    retrained = copy.deepcopy(model).fit_weights(x, y2)
    assert model.predict(x).shape == (300, 2)
    assert float(np.abs(model.predict(x) - retrained.predict(x)).max()) <= TOL * float(y2.std())
    with pytest.raises(InvalidInputError, match="2 targets given, the model was fitted on 1|1 targets given"):
        model.partial_fit(x[:5], y[:5])


def test_save_and_restore_every_regressor(data):
    x, y = data
    small_bls = {"nodes_per_window": 5, "n_enhancement": 20}
    for kind, params in (("bls", small_bls), ("ridge", {}), ("mlp", {"epochs": 5}),
                         ("erbls", {"steps": 5, "connection_dim": 16, "bls": small_bls})):
        model = make_regressor(kind, **params).fit(x, y)
        state = {k: np.asarray(v) for k, v in model.state().items()}
        again = restore_regressor(kind, model.config(), state)
        assert np.array_equal(again.predict(x[:20]), model.predict(x[:20])), kind
    small = BLSRegressor(nodes_per_window=5, n_enhancement=5)
    loaded = restore_regressor("bls", small.config(), small.fit(x, y).state())
    with pytest.raises(InvalidInputError, match="loaded from disk"):
        loaded.partial_fit(x[:5], y[:5])


def test_er_bls_learns_and_grows_incrementally(data):
    x, y = data
    model = ERBLSRegressor(connection_dim=32, steps=30, batch=128,
                           bls={"nodes_per_window": 5, "n_enhancement": 40}).fit(x[:240], y[:240])
    assert pearson(y[240:], model.predict(x[240:])) > 0.8
    model.partial_fit(x[240:], y[240:]).add_enhancement_nodes(10)
    retrained = copy.deepcopy(model.bls).fit_weights(model.connect(x), y)
    assert _close(model.predict(x), retrained.predict(model.connect(x)), y)


def test_bls_and_ridge_generalise_on_a_smooth_target(data):
    x, y = data
    for kind, params in (("bls", {"nodes_per_window": 10, "n_enhancement": 100, "alpha": 1.0}),
                         ("ridge", {"alpha": 1.0})):
        cv = cross_validate(lambda kind=kind, params=params: make_regressor(kind, **params), x, y, k=3)
        assert cv["mean"]["pearson"] > 0.8, (kind, cv["mean"])
        assert set(cv["folds"][0]) == {"pearson", "mae", "rmse", "fit_s", "n_train", "n_test"}


def test_feature_blocks_weigh_each_set_equally(data):
    x, y = data
    model = RidgeRegressor(blocks=[38, 2]).fit(x, y)
    xs = model.scaler.transform(x)
    assert np.isclose((xs[:, :38] ** 2).sum(1).mean(), (xs[:, 38:] ** 2).sum(1).mean())
    assert np.isclose(xs.var(0).mean(), 1.0)
    with pytest.raises(InvalidInputError, match="cover 30 columns, not 40"):
        BLSRegressor(blocks=[20, 10]).fit(x, y)


def test_grouped_folds_keep_each_group_whole():
    groups = [f"v{i // 7}" for i in range(60)]
    folds = fold_indices(60, 5, groups)
    assert sorted(np.concatenate(folds).tolist()) == list(range(60))
    for f in folds:
        inside = {groups[i] for i in f}
        assert all(groups[j] not in inside for g in folds if g is not f for j in g)
    with pytest.raises(InvalidInputError, match="3 groups cannot be split into 5 folds"):
        fold_indices(9, 5, ["a", "b", "c"] * 3)


def test_metrics():
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert m["mae"] == pytest.approx(2 / 3) and m["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert m["pearson"] == pytest.approx(np.corrcoef([1, 2, 3], [1, 2, 5])[0, 1])


def test_bad_inputs_are_clear_errors(data):
    x, y = data
    with pytest.raises(InvalidInputError, match="300 feature rows but 10 targets"):
        BLSRegressor().fit(x, y[:10])
    with pytest.raises(InvalidInputError, match="NaN or inf"):
        RidgeRegressor().fit(np.full((4, 2), np.nan), np.zeros(4))
    with pytest.raises(InvalidInputError, match="unknown model 'svm'"):
        make_regressor("svm")
    with pytest.raises(InvalidInputError, match="model 'bls'.*unexpected keyword"):
        make_regressor("bls", windows=3)
    with pytest.raises(InvalidInputError, match="fit the BLS before"):
        BLSRegressor().add_enhancement_nodes(3)
    assert isinstance(MLPRegressor(epochs=1).fit(x, y).predict(x[:1]), np.ndarray)

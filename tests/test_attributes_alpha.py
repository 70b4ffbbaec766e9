"""The ridge penalty chosen by closed-form leave-one-out error (``alpha="auto"``, the default of ridge and BLS)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from faceqa.attributes import BLSRegressor, RidgeRegressor
from faceqa.attributes.alpha import ALPHA_GRID, check_alpha, choose_alpha, loo_errors
from faceqa.attributes.regressors import make_regressor, restore_regressor
from faceqa.attributes.ridge import ridge_system, with_bias
from faceqa.errors import InvalidInputError

PENALTIES = (1e-2, 0.3, 3.0, 100.0)


def _explicit_loo(a: np.ndarray, y: np.ndarray, lam: float) -> float:
    """Leave each sample out, solve ridge (unpenalised intercept) on the rest, score it: the definition."""
    n = len(a)
    y = y.reshape(n, -1)
    errors = []
    for i in range(n):
        rest = np.arange(n) != i
        w, _ = ridge_system(with_bias(a[rest]), y[rest], lam)
        errors.append(y[i] - with_bias(a[i:i + 1])[0] @ w)
    return float(np.mean(np.square(errors) / y.var(0)))


@pytest.mark.parametrize(("n", "k", "targets"), [(40, 10, 1), (15, 30, 1), (30, 30, 1), (40, 10, 2)])
def test_closed_form_leave_one_out_equals_the_explicit_loop(n, k, targets):
    """Both sides of the eigendecomposition (more samples than columns, and fewer), and two targets."""
    rng = np.random.default_rng(n + k + targets)
    a = rng.standard_normal((n, k)) * rng.uniform(0.5, 3.0, k) + rng.standard_normal(k)
    y = (a[:, :1] - a[:, 1:2] + rng.standard_normal((n, targets))).squeeze()
    closed = loo_errors(a, y, PENALTIES)
    explicit = np.array([_explicit_loo(a, y, lam) for lam in PENALTIES])
    assert np.allclose(closed, explicit, rtol=1e-8), (closed, explicit)


def test_the_choice_follows_the_noise():
    """A clean linear target gets a small penalty, the same target drowned in noise a larger one, pure noise a
    large one."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 20))
    clean = x @ rng.standard_normal(20)
    assert choose_alpha(x, clean + 0.01 * rng.standard_normal(120)) <= 0.1
    assert 1.0 <= choose_alpha(x, clean + 5.0 * rng.standard_normal(120)) < ALPHA_GRID[-1]
    assert choose_alpha(x, rng.standard_normal(120)) >= 100.0


def test_auto_is_the_default_and_is_recorded_and_reloaded():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 30))
    y = x[:, :3].sum(1) + np.tanh(x[:, 3]) + rng.standard_normal(200)
    for kind, params in (("ridge", {}), ("bls", {"nodes_per_window": 5, "n_enhancement": 30})):
        model = make_regressor(kind, **params).fit(x, y)
        assert model.alpha == "auto" and model.alpha_ in ALPHA_GRID, kind
        again = restore_regressor(kind, model.config(), {k: np.asarray(v) for k, v in model.state().items()})
        assert again.alpha_ == model.alpha_ and np.array_equal(again.predict(x), model.predict(x)), kind
    ridge = RidgeRegressor().fit(x, y)
    assert ridge.alpha_ == choose_alpha(ridge.scaler.transform(x), y)
    fixed = RidgeRegressor(alpha=ridge.alpha_).fit(x, y)
    assert np.allclose(fixed.predict(x), ridge.predict(x)) and fixed.alpha_ == ridge.alpha_


def test_incremental_updates_keep_the_chosen_penalty_and_stay_exact():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((240, 25))
    y = x[:, :4].sum(1) + 0.3 * x[:, 4] ** 2 + 0.5 * rng.standard_normal(240)
    model = BLSRegressor(n_windows=4, nodes_per_window=8, n_enhancement=30).fit(x[:120], y[:120])
    chosen = model.alpha_
    assert chosen == choose_alpha(model.nodes(x[:120])[:, 1:], y[:120])
    model.partial_fit(x[120:], y[120:]).add_enhancement_nodes(20)
    retrained = copy.deepcopy(model).fit_weights(x, y)
    assert model.alpha_ == retrained.alpha_ == chosen
    assert float(np.abs(model.predict(x) - retrained.predict(x)).max()) <= 1e-8 * float(y.std())


def test_few_samples_and_bad_penalties():
    x, y = np.array([[0.0], [1.0]]), np.array([1.0, 3.0])
    assert RidgeRegressor().fit(x, y).alpha_ in ALPHA_GRID  # leave-one-out is defined from two samples on
    assert check_alpha("auto") == "auto" and check_alpha(2) == 2.0
    for bad in (0, -1.0, "big", float("nan"), None):
        with pytest.raises(InvalidInputError, match="alpha must be a positive number or 'auto'"):
            BLSRegressor(alpha=bad)
    with pytest.raises(InvalidInputError, match="design .* targets"):
        loo_errors(np.zeros((5, 2)), np.zeros(4))

"""The rest reference of long mode (faceqa/evidence/neutral.py) on measurements made by faceqa's forward model."""

import numpy as np
import pytest

from faceqa.evidence.au_intensity import INTENSITY_AUS, expression_readings, noise_levels
from faceqa.evidence.face_geometry import MEASURES
from faceqa.evidence.neutral import excess, long_reference, rolling_rest
from tests.signal_fixtures import measurements_of

FPS = 25.0


def _intensities(n: int, **aus: np.ndarray | float) -> np.ndarray:
    out = np.zeros((n, len(INTENSITY_AUS)))
    for name, value in aus.items():
        out[:, INTENSITY_AUS.index(int(name[2:]))] = value
    return out


def _noisy(y: np.ndarray, seed: int = 0, scale: float = 0.5) -> np.ndarray:
    """``y`` plus Gaussian noise of ``scale`` times each measurement's nominal noise level."""
    return y + np.random.default_rng(seed).normal(0.0, scale, y.shape) * noise_levels()


def test_excess_is_how_far_each_frame_reads_above_the_others():
    a = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    brute = [sum(np.clip(a[r] - a[t], 0, None).sum() for t in range(3)) / 3 for r in range(3)]
    assert excess(a) == pytest.approx(brute)
    assert excess(np.array([[0.0], [1.0], [2.0]])) == pytest.approx([0.0, 1 / 3, 1.0])


def test_excess_leaves_out_rows_with_nan():
    a = np.array([[0.0], [np.nan], [3.0]])
    cost = excess(a)
    assert cost[1] == np.inf and cost[0] == 0.0 and cost[2] == pytest.approx(1.5)
    assert np.isinf(excess(np.full((4, 2), np.nan))).all()


def test_a_person_who_smiles_most_of_the_time_keeps_the_rest_as_reference():
    n = 400
    smile = np.full(n, 4.0)
    smile[::3] = 0.0  # one frame in three at rest, the other two smiling broadly
    y = _noisy(measurements_of(_intensities(n, au12=smile, au6=smile / 2)), scale=0.1)
    y = y - y[1]  # measured, as in long mode, from a first frame that smiles
    # (from there the rest frames read as nothing on the non-negative AU scale: the calmest frames
    # by the summed AU intensity were the smiling ones)
    ref = long_reference(y, FPS, expression_readings)
    rest = y[::3].mean(axis=0)
    geometry = slice(0, len(MEASURES))
    corner = MEASURES.index("corner_up_L")
    assert abs(ref[200, corner] - rest[corner]) < 0.01
    assert np.abs(ref[:, geometry] - rest[geometry]).max() < 0.02
    assert np.abs(ref[:, geometry] - y[1, geometry]).max() > 0.08  # not the smile


def test_the_reference_follows_slow_drift_and_ignores_brief_expressions():
    n = 1500  # 60 s
    brows = np.zeros(n)
    for start in range(100, n, 250):
        brows[start:start + 25] = 3.0  # 1 s brow raises
    y = _noisy(measurements_of(_intensities(n, au1=brows, au2=brows)), seed=1)
    drift = np.linspace(0.0, 0.05, n)[:, None] * np.ones(y.shape[1])
    ref = long_reference(y + drift, FPS, expression_readings)
    geometry = slice(0, len(MEASURES))
    assert np.abs(ref[:, geometry] - drift[:, geometry]).max() < 0.01
    rel = (y + drift - ref)[:, MEASURES.index("brow_inner_L")]
    assert rel[110] > 0.05 and abs(np.median(rel[:100])) < 0.005


def test_rows_without_readings_are_not_taken_as_rest():
    n = 200
    y = _noisy(measurements_of(_intensities(n, au12=3.0)), seed=2)
    y[:40] = 0.0  # the rest...
    readings = expression_readings(y)
    readings[:40] = np.nan  # ...is unread: what is read is all smile
    ref = rolling_rest(y, readings, FPS, window_s=4.0)
    corner = MEASURES.index("corner_up_L")
    assert np.all(ref[:, corner] > 0.05)

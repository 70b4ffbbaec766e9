"""The rest reference of long mode (faceqa/evidence/neutral.py) on measurements made by faceqa's forward model."""

import numpy as np
import pytest

from faceqa.evidence.au_intensity import INTENSITY_AUS, noise_levels, unexplained
from faceqa.evidence.face_geometry import MEASURES
from faceqa.evidence.neutral import calm_rest, excess, long_reference, misfit, rising_rest, rolling_rest
from tests.signal_fixtures import measurements_of

FPS = 25.0
GEOMETRY = slice(0, len(MEASURES))
CORNER = MEASURES.index("corner_up_L")


def _intensities(n: int, **aus: np.ndarray | float) -> np.ndarray:
    out = np.zeros((n, len(INTENSITY_AUS)))
    for name, value in aus.items():
        out[:, INTENSITY_AUS.index(int(name[2:]))] = value
    return out


def _noisy(y: np.ndarray, seed: int = 0, scale: float = 0.5) -> np.ndarray:
    """``y`` plus Gaussian noise of ``scale`` times each measurement's nominal noise level."""
    return y + np.random.default_rng(seed).normal(0.0, scale, y.shape) * noise_levels()


def _smiler(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Measurements of a person at rest one frame in three and smiling broadly the other two, from a
    smiling first frame (as long mode measures them); and the rest frames' mean."""
    smile = np.full(n, 4.0)
    smile[::3] = 0.0
    y = _noisy(measurements_of(_intensities(n, au12=smile, au6=smile / 2)), scale=0.1)
    y = y - y[1]
    return y, y[::3].mean(axis=0)


def test_excess_is_how_far_each_frame_reads_above_the_others():
    a = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    brute = [sum(np.clip(a[r] - a[t], 0, None).sum() for t in range(3)) / 3 for r in range(3)]
    assert excess(a) == pytest.approx(brute)
    assert excess(np.array([[0.0], [1.0], [2.0]])) == pytest.approx([0.0, 1 / 3, 1.0])


def test_excess_leaves_out_rows_with_nan():
    cost = excess(np.array([[0.0], [np.nan], [3.0]]))
    assert cost[1] == np.inf and cost[0] == 0.0 and cost[2] == pytest.approx(1.5)
    assert np.isinf(excess(np.full((4, 2), np.nan))).all()


def test_unexplained_is_what_would_need_negative_aus():
    smile = measurements_of(_intensities(1, au12=4.0, au6=2.0))
    assert unexplained(smile)[0] < 1.0  # made by AUs: explained
    assert unexplained(-smile)[0] > 50.0  # a smile undone: no AU lowers the corners and the cheeks so
    assert np.isnan(unexplained(np.full((1, smile.shape[1]), np.nan))[0])


def test_a_constant_smiler_keeps_the_rest_as_reference():
    y, rest = _smiler()
    calm, rising, ref = calm_rest(y, FPS), rising_rest(y, FPS), long_reference(y, FPS)
    assert abs(calm[200, CORNER] - y[1, CORNER]) < 0.01  # the calm frames are the smiles...
    assert abs(rising[200, CORNER] - rest[CORNER]) < 0.01  # ...the frames the others rise from, the rest
    assert misfit(y - rising, FPS).max() < misfit(y - calm, FPS).min()
    assert np.abs(ref[:, GEOMETRY] - rest[GEOMETRY]).max() < 0.02


def test_the_reference_follows_slow_drift_and_ignores_brief_expressions():
    n = 1500  # 60 s
    brows = np.zeros(n)
    for start in range(100, n, 250):
        brows[start:start + 25] = 3.0  # 1 s brow raises
    y = _noisy(measurements_of(_intensities(n, au1=brows, au2=brows)), seed=1)
    drift = np.linspace(0.0, 0.05, n)[:, None] * np.ones(y.shape[1])
    ref = long_reference(y + drift, FPS)
    assert np.abs(ref[:, GEOMETRY] - drift[:, GEOMETRY]).max() < 0.01
    rel = (y + drift - ref)[:, MEASURES.index("brow_inner_L")]
    assert rel[110] > 0.05 and abs(np.median(rel[:100])) < 0.005


def test_rows_without_a_cost_are_not_taken_as_rest():
    n = 200
    y = _noisy(measurements_of(_intensities(n, au12=3.0)), seed=2)
    y[:40] = 0.0  # the rest, unread below: what is read is all smile
    cost = np.r_[np.full(40, np.nan), np.zeros(n - 40)]
    ref = rolling_rest(y, lambda lo, hi: cost[lo:hi], FPS, window_s=4.0)
    assert np.all(ref[:, CORNER] > 0.05)


def test_a_track_without_any_reading_gets_a_zero_reference():
    y = np.full((60, len(noise_levels())), np.nan)
    assert np.array_equal(long_reference(y, FPS), np.zeros_like(y))

"""The rest reference of long mode (faceqa/evidence/neutral.py) on measurements made by faceqa's forward model."""

import numpy as np

from faceqa.evidence.au_intensity import INTENSITY_AUS, expression_energy, noise_levels
from faceqa.evidence.face_geometry import MEASURES
from faceqa.evidence.neutral import long_reference, rolling_rest
from tests.signal_fixtures import measurements_of

FPS = 25.0
GEOMETRY = slice(0, len(MEASURES))


def _intensities(n: int, **aus: np.ndarray | float) -> np.ndarray:
    out = np.zeros((n, len(INTENSITY_AUS)))
    for name, value in aus.items():
        out[:, INTENSITY_AUS.index(int(name[2:]))] = value
    return out


def _noisy(y: np.ndarray, seed: int) -> np.ndarray:
    """``y`` plus Gaussian noise of half each measurement's nominal noise level."""
    return y + np.random.default_rng(seed).normal(0.0, 0.5, y.shape) * noise_levels()


def test_the_reference_follows_slow_drift_and_ignores_brief_expressions():
    n = 1500  # 60 s
    brows = np.zeros(n)
    for start in range(100, n, 250):
        brows[start:start + 25] = 3.0  # 1 s brow raises
    y = _noisy(measurements_of(_intensities(n, au1=brows, au2=brows)), seed=1)
    drift = np.linspace(0.0, 0.05, n)[:, None] * np.ones(y.shape[1])
    ref = long_reference(y + drift, FPS, expression_energy)
    assert np.abs(ref[:, GEOMETRY] - drift[:, GEOMETRY]).max() < 0.01
    rel = (y + drift - ref)[:, MEASURES.index("brow_inner_L")]
    assert rel[110] > 0.05 and abs(np.median(rel[:100])) < 0.005


def test_an_expression_held_for_most_of_a_window_is_not_the_reference():
    n = 750  # 30 s: a 6 s smile in the middle, rest around it
    smile = np.zeros(n)
    smile[300:450] = 4.0
    y = _noisy(measurements_of(_intensities(n, au12=smile, au6=smile / 2)), seed=3)
    ref = long_reference(y, FPS, expression_energy)
    corner = MEASURES.index("corner_up_L")
    assert np.abs(ref[:, corner]).max() < 0.01
    assert (y - ref)[375, corner] > 0.1


def test_rows_without_an_energy_are_not_taken_as_rest():
    n = 200
    y = _noisy(measurements_of(_intensities(n, au12=3.0)), seed=2)
    y[:40] = 0.0  # the rest, unread below: what is read is all smile
    energy = np.r_[np.full(40, np.nan), np.zeros(n - 40)]
    ref = rolling_rest(y, energy, FPS, window_s=4.0)
    assert np.all(ref[:, MEASURES.index("corner_up_L")] > 0.05)


def test_a_track_without_any_reading_gets_a_zero_reference():
    y = np.full((60, len(noise_levels())), np.nan)
    assert np.array_equal(long_reference(y, FPS, expression_energy), np.zeros_like(y))

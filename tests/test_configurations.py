"""Reading a run of expressive frames as the expressions it holds (faceqa.evidence.configurations)."""

import numpy as np
import pytest
from signal_fixtures import measured_shape

from faceqa.evidence.au_intensity import INTENSITY_AUS
from faceqa.evidence.configurations import piecewise_constant, similar_shapes, split_configurations
from faceqa.evidence.spotting import SpotConfig, spot_intervals


def _brute_force(x: np.ndarray, penalty: float, min_len: int) -> float:
    """The least penalised squared error over every partition into pieces of >= min_len rows."""
    n = len(x)
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    for b in range(1, n + 1):
        for a in range(0, b - min_len + 1):
            piece = x[a:b]
            best[b] = min(best[b], best[a] + ((piece - piece.mean(axis=0)) ** 2).sum() + penalty)
    return best[n]


def _cost(x: np.ndarray, pieces: list[tuple[int, int]], penalty: float) -> float:
    return sum(((x[a:b] - x[a:b].mean(axis=0)) ** 2).sum() for a, b in pieces) + penalty * (len(pieces) - 1)


@pytest.mark.parametrize("seed", range(6))
def test_the_pruned_fit_is_the_exact_optimum(seed):
    rng = np.random.default_rng(seed)
    x = np.repeat(rng.uniform(0, 4, (6, 3)), rng.integers(2, 9, 6), axis=0) + rng.normal(0, 0.4, (1, 3))
    x = x + rng.normal(0, 0.5, x.shape)
    penalty, min_len = float(rng.uniform(0.5, 6)), int(rng.integers(1, 4))
    pieces = piecewise_constant(x, penalty, min_len)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(x)
    assert all(b0 == a1 for (_, b0), (a1, _) in zip(pieces[:-1], pieces[1:], strict=True))
    assert min(b - a for a, b in pieces) >= min_len
    assert _cost(x, pieces, penalty) == pytest.approx(_brute_force(x, penalty, min_len))


def test_steps_are_found_where_they_are_and_the_penalty_decides_how_many():
    x = np.r_[np.zeros(20), np.full(15, 3.0), np.full(25, 1.0)][:, None]
    x = x + np.random.default_rng(0).normal(0, 0.1, x.shape)
    assert piecewise_constant(x, 5.0, 3) == [(0, 20), (20, 35), (35, 60)]
    assert piecewise_constant(x, 1e4, 3) == [(0, 60)]
    assert piecewise_constant(x[:4], 5.0, 3) == [(0, 4)]


def test_one_expression_growing_stays_whole_and_a_new_shape_starts_another():
    j = {au: INTENSITY_AUS.index(au) for au in (4, 6, 12)}
    x = np.zeros((90, len(INTENSITY_AUS)))
    x[0:8, j[12]] = 0.5  # a smile rising,
    x[8:30, j[12]] = 2.0
    x[30:50, j[12]], x[30:50, j[6]] = 4.0, 2.5  # broadening with the cheeks raised: the same smile
    x[50:80, j[4]] = 3.0  # then a frown: a new expression, fading out
    x[80:90, j[4]] = 0.5
    assert split_configurations(measured_shape(x), x, 50.0, 3, active=1.0, similar=0.6) == [(0, 49), (50, 89)]
    assert similar_shapes(x[10], x[40], 0.6) and not similar_shapes(x[40], x[60], 0.6)
    assert not similar_shapes(x[10], np.zeros(len(INTENSITY_AUS)), 0.6)
    # the AUs read are not what is split: a smile whose reading swaps AU12 for AU6 for a while, on one
    # measured shape, is one expression
    swapped = x.copy()
    swapped[20:30, j[12]], swapped[20:30, j[6]] = 0.0, 2.0
    assert split_configurations(measured_shape(x), swapped, 50.0, 3, active=1.0, similar=0.6) == [(0, 49), (50, 89)]


def test_spotting_splits_a_chain_of_faces_unless_the_person_talks_through_it():
    from faceqa.evidence.face_geometry import MEASURES

    fps = 30.0
    j = {au: INTENSITY_AUS.index(au) for au in (1, 2, 4, 12)}
    signals = np.zeros((200, len(INTENSITY_AUS)))
    signals[20:60, j[12]] = 3.0  # smile, brows up, frown back to back, each 40 frames
    signals[60:100, j[1]] = 3.0
    signals[100:140, j[4]] = 3.0
    signals[20:140, j[2]] = 2.2  # held through all three: the AUs' intervals chain into one group
    apart = spot_intervals(signals, measured_shape(signals), fps, SpotConfig())
    assert [(a, b) for a, _, b in apart] == [(20, 59), (60, 99), (100, 139)]
    talking = np.zeros(200, bool)
    talking[10:150] = True
    kept = spot_intervals(signals, measured_shape(signals), fps, SpotConfig(), talking)
    assert [(a, b) for a, _, b in kept] == [(20, 139)]
    # overlapping intervals that do not group (a brow raise rising again as the first one fades) are
    # one event while the person talks, two otherwise
    signals[:] = 0.0
    signals[20:62, j[1]] = 3.0
    signals[56:100, j[2]] = 3.0
    shape = measured_shape(signals)
    assert len(spot_intervals(signals, shape, fps, SpotConfig())) == 2
    assert [(a, b) for a, _, b in spot_intervals(signals, shape, fps, SpotConfig(), talking)] == [(20, 99)]
    with pytest.raises(ValueError, match="talking mask of shape"):
        spot_intervals(signals, shape, fps, SpotConfig(), talking[:100])
    # talk_strict: inside talked-through runs only the brow raises and smiles are events
    signals[:] = 0.0
    signals[30:70, j[4]] = 3.0  # a frown spoken through (speech moves the brows too)
    signals[90:110, j[1]] = 3.0  # a brow raise
    signals[90:112, j[2]] = 2.5
    shape = measured_shape(signals)
    assert [(a, b) for a, _, b in spot_intervals(signals, shape, fps, SpotConfig(), talking)] == [(30, 69), (90, 111)]
    strict = SpotConfig(talk_strict=1.0)
    assert [(a, b) for a, _, b in spot_intervals(signals, shape, fps, strict, talking)] == [(90, 111)]
    assert len(spot_intervals(signals, shape, fps, strict)) == 2  # no talking: both, as always
    signals[:] = 0.0
    signals[20:80, j[12]] = 3.0  # a smile spoken through, brows raised as it fades: groups that overlap
    signals[70:100, j[1]] = 3.0  # but do not group are one event, since events never overlap
    assert [(a, b) for a, _, b in spot_intervals(signals, measured_shape(signals), fps, strict, talking)] == [(20, 99)]
    # the split itself does not cut a smile held for 4 s under speech-like mouth motion (the lips open and
    # close at 4 Hz by 0.15 IOD, 25 noise units, nearly the smile's own 30): its pieces point the same way
    signals[:] = 0.0
    signals[20:140, j[12]] = 3.0
    shape = measured_shape(signals)
    syllables = 0.5 - 0.5 * np.cos(2 * np.pi * 4 * np.arange(120) / fps)
    shape[20:140, MEASURES.index("mouth_open")] += 0.15 / 0.006 * syllables
    assert [(a, b) for a, _, b in spot_intervals(signals, shape, fps, SpotConfig())] == [(20, 139)]
    with pytest.raises(ValueError, match=r"shape of shape \(100, 65\) for 200 frames"):
        spot_intervals(signals, shape[:100], fps, SpotConfig())



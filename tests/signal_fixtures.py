"""What AU signals look like as measurements: for tests of the spotting that needs both."""

from __future__ import annotations

import numpy as np

from faceqa.evidence.au_intensity import INTENSITY_AUS, MIDLINE_AUS, basis, noise_levels


def measurements_of(signals: np.ndarray) -> np.ndarray:
    """The measured change (T, measurements), IOD, that per-AU intensities (T, n_aus) make with each
    lateral AU on both sides: faceqa's own forward model (signatures at intensity E = 5)."""
    per_side = [signals[:, j] for j, au in enumerate(INTENSITY_AUS)
                for _ in ((0,) if au in MIDLINE_AUS else (0, 1))]
    return np.stack(per_side, axis=1) @ basis().T / 5.0


def measured_shape(signals: np.ndarray) -> np.ndarray:
    """:func:`measurements_of` in units of each measurement's noise level."""
    return measurements_of(signals) / noise_levels()

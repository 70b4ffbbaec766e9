"""Media input: images, videos and frame folders as one streaming sequence of frames."""

from faceqa.media.ordering import frame_number, natural_key
from faceqa.media.sources import Frame, Media, MediaInfo, as_rgb, open_media, read_image

__all__ = ["Frame", "Media", "MediaInfo", "as_rgb", "frame_number", "natural_key", "open_media", "read_image"]

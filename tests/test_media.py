"""Media input: images (EXIF, gray, RGBA), videos, frame folders, ranges and every bad input."""

from __future__ import annotations

import numpy as np
import pytest
from media_fixtures import write_video
from PIL import Image

from faceqa.errors import EmptyMediaError, FaceQAError, InvalidInputError, MediaNotFoundError, MediaReadError
from faceqa.media import frame_number, natural_key, open_media, read_image


def test_natural_order_and_frame_numbers():
    names = ["img10.jpg", "img2.jpg", "img1.jpg", "img46.jpg"]
    assert sorted(names, key=natural_key) == ["img1.jpg", "img2.jpg", "img10.jpg", "img46.jpg"]
    assert frame_number("img46.jpg") == 46
    assert frame_number("006_1_2_0001.jpg") == 1
    assert frame_number("0123.jpg") == 123
    assert frame_number("neutral.jpg") is None


def test_image_variants(tmp_path, astronaut):
    Image.fromarray(astronaut).convert("L").save(tmp_path / "gray.png")
    Image.fromarray(astronaut).convert("RGBA").save(tmp_path / "rgba.png")
    g = read_image(tmp_path / "gray.png")
    assert g.shape == (512, 512, 3) and g.dtype == np.uint8
    assert np.array_equal(g[..., 0], g[..., 1])
    assert read_image(tmp_path / "rgba.png").shape == (512, 512, 3)


def test_exif_rotation_is_applied(tmp_path, astronaut):
    tall = np.ascontiguousarray(astronaut[:, :300])  # 512 x 300
    im = Image.fromarray(tall)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    im.save(tmp_path / "rot.jpg", exif=exif)
    out = read_image(tmp_path / "rot.jpg")
    assert out.shape[:2] == (300, 512)


def test_video_stream_range_and_stride(tmp_path, astronaut):
    frames = [np.full((64, 80, 3), i * 10, np.uint8) for i in range(12)]
    path = write_video(tmp_path / "ramp.mp4", frames, fps=20)
    media = open_media(path)
    assert media.info.kind == "video" and media.info.fps == pytest.approx(20)
    assert (media.info.width, media.info.height) == (80, 64)
    got = list(media)
    assert [f.index for f in got] == list(range(12))
    assert got[3].time_s == pytest.approx(3 / 20)
    sub = list(open_media(path, start=2, end=9, every=3))
    assert [f.index for f in sub] == [2, 5, 8]
    assert len(open_media(path, start=2, end=9, every=3)) == 3
    assert abs(int(sub[1].image.mean()) - 50) < 8  # frame content follows the index
    assert open_media(path, fps=200).info.fps == 200


@pytest.mark.parametrize("names, fps, expect", [
    (["img46.jpg", "img47.jpg", "img100.jpg", "img48.jpg"], 200, [46, 47, 48, 100]),  # CASME II
    (["006_1_2_0003.jpg", "006_1_2_0001.jpg", "006_1_2_0002.jpg"], 200, [1, 2, 3]),  # SAMM
    (["12.jpg", "2.jpg", "1.jpg"], None, [1, 2, 12]),  # CAS(ME)^3
])
def test_frame_folders(tmp_path, names, fps, expect):
    for i, n in enumerate(names):
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(tmp_path / n)
    media = open_media(tmp_path, fps=fps)
    assert media.info.kind == "frames"
    assert media.info.fps == (fps or 30)
    frames = list(media)
    assert [f.index for f in frames] == expect
    assert frames[1].time_s == pytest.approx(1 / (fps or 30))
    onset, offset = expect[1], expect[-1]
    assert [f.index for f in open_media(tmp_path, start=onset, end=offset)] == expect[1:]


def test_array_source(astronaut):
    frames = list(open_media(astronaut))
    assert len(frames) == 1 and frames[0].image.shape == (512, 512, 3)
    with pytest.raises(InvalidInputError):
        open_media(np.zeros((5,)))


def test_bad_inputs_name_the_input(tmp_path):
    cases = []
    with pytest.raises(MediaNotFoundError) as e:
        open_media(tmp_path / "missing.mp4")
    cases.append(e)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(EmptyMediaError) as e:
        open_media(tmp_path / "empty.mp4")
    cases.append(e)
    (tmp_path / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(MediaReadError) as e:
        open_media(tmp_path / "corrupt.mp4")
    cases.append(e)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(MediaReadError) as e:
        open_media(tmp_path / "broken.jpg")
    cases.append(e)
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(EmptyMediaError) as e:
        open_media(tmp_path / "empty_dir")
    cases.append(e)
    with pytest.raises(InvalidInputError):
        open_media(tmp_path / "missing.mp4", start=5, end=2)
    for c in cases:
        assert isinstance(c.value, FaceQAError)
        assert str(tmp_path) in str(c.value)
        assert "\n" not in str(c.value)


def test_range_outside_video(tmp_path):
    path = write_video(tmp_path / "short.mp4", [np.zeros((32, 32, 3), np.uint8)] * 5)
    with pytest.raises(EmptyMediaError, match="no frame in range"):
        open_media(path, start=50, end=60)


def test_prefetch_keeps_order_and_raises_the_producers_error():
    from faceqa.media.prefetch import prefetch

    assert list(prefetch(range(100), size=3)) == list(range(100))

    def broken():
        yield 1
        raise EmptyMediaError("clip.mp4: gone")

    got = []
    with pytest.raises(EmptyMediaError, match="clip.mp4"):
        for x in prefetch(broken()):
            got.append(x)
    assert got == [1]
    gen = prefetch(iter(range(10**6)), size=2)
    assert next(gen) == 0
    gen.close()  # stops the producer thread

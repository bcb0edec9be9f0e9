import numpy as np
import pytest
from PIL import Image

from latentlab.config import UserError
from latentlab.data import load_photo


def test_exif_rotation_is_applied(tmp_path):
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20] = (255, 0, 0)  # left half red
    a[:, 20:] = (0, 0, 255)
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display": the left half ends up on top
    path = tmp_path / "phone.jpg"
    im.save(path, exif=exif, quality=95)
    out = load_photo(path, 16, crop="none")
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    assert out[:6, :, 0].min() > 200 and out[-6:, :, 2].min() > 200


@pytest.mark.parametrize("mode,color,expected", [
    ("L", 90, (90, 90, 90)),
    ("RGBA", (0, 0, 0, 0), (255, 255, 255)),
    ("RGBA", (0, 200, 0, 255), (0, 200, 0)),
    ("LA", (50, 255), (50, 50, 50)),
    ("P", 7, None),
    ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
    ("1", 1, (255, 255, 255)),
])
def test_modes_are_converted_to_rgb(tmp_path, mode, color, expected):
    path = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    Image.new(mode, (20, 20), color).save(path)
    out = load_photo(path, 8)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    if expected is not None:
        assert np.abs(out.astype(int) - expected).max() <= 3


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((20, 20), 32768, np.uint16)).save(path)
    out = load_photo(path, 8)
    assert abs(int(out[0, 0, 0]) - 128) <= 1


def test_large_photo_center_crop(tmp_path):
    a = np.zeros((300, 600, 3), np.uint8)
    a[:, 150:450] = (0, 255, 0)  # the centre square
    path = tmp_path / "wide.jpg"
    Image.fromarray(a).save(path, quality=95)
    out = load_photo(path, 16)
    assert out[:, 1:-1, 1].min() > 200 and out[:, 1:-1, 0].max() < 40


def test_unreadable_and_missing_files_are_user_errors(tmp_path):
    bad = tmp_path / "photo.jpg"
    bad.write_text("not a photo")
    with pytest.raises(UserError, match="photo.jpg: cannot read image"):
        load_photo(bad, 16)
    with pytest.raises(UserError, match="nothere.png: no such file"):
        load_photo(tmp_path / "nothere.png", 16)
    with pytest.raises(UserError, match="not a file"):
        load_photo(tmp_path, 16)
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    with pytest.raises(UserError, match="tiny.png"):
        load_photo(tiny, 16)

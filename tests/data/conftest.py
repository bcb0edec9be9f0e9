import numpy as np
import pytest
from PIL import Image


def save_image(path, size=(24, 24), color=(200, 60, 30), mode="RGB", fmt=None, **kw):
    """Write a small solid image (a face stand-in) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path, format=fmt, **kw)
    return path


@pytest.fixture
def make_image():
    return save_image


@pytest.fixture
def cache(tmp_path):
    d = tmp_path / "cache"
    d.mkdir()
    return d


@pytest.fixture
def bad_mix(tmp_path):
    """A folder with 5 usable images (one of each odd kind) and 4 that must be skipped."""
    d = tmp_path / "mix"
    save_image(d / "good.jpg", (40, 30), (10, 200, 10))
    save_image(d / "gray.png", (30, 30), 128, mode="L")
    save_image(d / "alpha.png", (30, 30), (255, 0, 0, 0), mode="RGBA")
    Image.fromarray(np.full((30, 30), 65535, np.uint16)).save(d / "sixteen.png")
    save_image(d / "sub" / "huge.jpg", (6000, 4000), (0, 0, 250), quality=30)
    full = save_image(d / "trunc_src.jpg", (64, 64), (1, 2, 3))
    noise = (np.random.default_rng(0).integers(0, 255, (64, 64, 3))).astype(np.uint8)
    Image.fromarray(noise).save(full)
    data = full.read_bytes()
    full.unlink()
    (d / "truncated.jpg").write_bytes(data[: len(data) // 2])
    Image.fromarray(noise).save(d / "png_src.png")
    png = (d / "png_src.png").read_bytes()
    (d / "png_src.png").unlink()
    (d / "truncated.png").write_bytes(png[: len(png) // 2])
    (d / "notes.jpg").write_text("this is not an image\n")
    save_image(d / "dot.png", (1, 1), (0, 0, 0))
    (d / "readme.txt").write_text("ignored: not an image extension\n")
    return d

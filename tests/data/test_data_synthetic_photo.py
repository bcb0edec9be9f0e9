"""The renderer's photographic mode: the synthetic-photo source (latentlab/data/synthetic_photo.py)."""

import numpy as np
import pytest

from latentlab.config import UserError
from latentlab.data import open_source
from latentlab.data.faces import detect_faces, face_rate
from latentlab.data.sources import is_synthetic, parse_spec
from latentlab.data.synthetic import render_face
from latentlab.data.synthetic_photo import GREY_FRACTION, render_photo
from latentlab.data.synthetic_render import render_many


def test_deterministic_per_index_with_the_cartoon_faces_factors():
    a, fa = render_photo(11, 32)
    b, fb = render_photo(11, 32)
    assert a.dtype == np.uint8 and a.shape == (32, 32, 3) and np.array_equal(a, b) and fa == fb
    cartoon, fc = render_face(11, 32)
    assert fa == fc  # same face, same labels
    assert np.abs(a.astype(np.int16) - cartoon).mean() > 8  # but not the same picture
    images, factors = render_many(11, 13, 32, "photo")
    assert np.array_equal(images[0], a) and factors.shape == (2, len(fa))


def test_photos_are_harder_than_the_cartoons_yet_still_faces():
    """Noise and texture lift the high frequencies of flat cartoon regions; some photos are greyscale;
    the framing varies; the face detector finds fewer faces than in the cartoons, but many."""
    photos, _ = render_many(0, 120, 64, "photo")
    cartoons, _ = render_many(0, 120, 64)
    grey = [np.abs(p[..., 0].astype(int) - p[..., 2]).max() <= 12 for p in photos]
    assert 0.03 < np.mean(grey) < 3 * GREY_FRACTION
    # the cartoon's backdrop is a smooth gradient; photographs have texture almost everywhere

    def roughness(images):
        x = images.astype(np.float32)
        return np.abs(np.diff(x, axis=2)).mean()

    assert roughness(photos) > 1.2 * roughness(cartoons)
    # framing varies: the detected face boxes move and change size more than the cartoons' do

    def boxes(images):
        found = [detect_faces(img, eyes=False) for img in images[:40]]
        return np.array([f[0].box for f in found if f])

    assert boxes(photos)[:, 2].std() > 1.15 * boxes(cartoons)[:, 2].std()
    assert 0.3 < face_rate(photos) < face_rate(cartoons)  # measured: 49% against 78% at 64 px


def test_the_source_spec_opens_a_cache_of_its_own_with_labels(tmp_path):
    assert is_synthetic("synthetic-photo") and is_synthetic("synthetic-photo:40") and not is_synthetic("photos/")
    src = parse_spec("synthetic-photo:24")
    assert src.kind == "synthetic" and src.style == "photo" and src.synthetic_count == 24
    assert parse_spec("synthetic").identity() != parse_spec("synthetic-photo").identity()
    with pytest.raises(UserError, match="synthetic-photo:COUNT"):
        parse_spec("synthetic-photo:many")
    photo = open_source("synthetic-photo:24", 16, cache_dir=tmp_path, holdout=4, progress=lambda *_: None)
    plain = open_source("synthetic:24", 16, cache_dir=tmp_path, holdout=4, progress=lambda *_: None)
    assert photo.cache_path != plain.cache_path and photo.cache_path.name.startswith("synthetic-photo-16px")
    assert np.array_equal(photo.images[5], render_photo(5, 16)[0])
    assert not np.array_equal(photo.images[5], plain.images[5])
    assert photo.labels.keys() == plain.labels.keys()
    assert all(np.array_equal(photo.labels[k], plain.labels[k]) for k in photo.labels)

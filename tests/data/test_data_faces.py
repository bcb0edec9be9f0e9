import numpy as np
import pytest

from latentlab.data.faces import Face, detect_faces, face_rate
from latentlab.data.synthetic_render import render_many

# Faces of the synthetic set that the frontal cascade finds (checked once: a stable property of the
# deterministic renderer and the cascade files, not of timing).
FOUND = [1, 2, 3, 5]


def _noise(n, size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def test_a_synthetic_face_is_found_with_its_eyes_in_the_upper_half():
    img = render_many(1, 2, 256)[0][0]
    faces = detect_faces(img)
    assert faces and isinstance(faces[0], Face)
    f = faces[0]
    x, y, w, h = f.box
    assert x < 128 < x + w and y < 128 < y + h  # the face is centred in the render
    assert 0.3 * 256 < w < 256
    assert f.has_eyes and f.score > 0
    (lx, ly), (rx, ry) = f.left_eye, f.right_eye
    assert x < lx < rx < x + w  # left eye is left in the picture
    assert y < ly < y + h / 2 + 0.1 * h and y < ry < y + h / 2 + 0.1 * h
    assert abs(ly - ry) < 0.1 * w


def test_a_small_model_output_is_upscaled_and_its_box_is_in_its_own_pixels():
    img = render_many(1, 2, 32)[0][0]
    faces = detect_faces(img, eyes=False)
    assert faces
    x, y, w, _ = faces[0].box
    assert -4 < x < 16 and -4 < y < 16 and 12 < w < 40


def test_noise_and_flat_pictures_have_no_face():
    assert detect_faces(_noise(1, 200)[0]) == []
    assert detect_faces(np.full((64, 64, 3), 128, np.uint8)) == []


def test_face_rate_separates_faces_from_noise():
    faces = render_many(0, 8, 32)[0]
    rate = face_rate(faces)
    assert rate >= 0.5
    assert face_rate(faces[FOUND]) == 1.0
    assert face_rate(_noise(16, 32)) == 0.0
    assert face_rate(_noise(0, 32)) == 0.0


def test_face_rate_takes_images_larger_than_the_upscale_size():
    faces = render_many(1, 3, 160)[0]
    assert face_rate(faces) > 0


@pytest.mark.parametrize("bad", [np.zeros((4, 8, 8), np.uint8), np.zeros((2, 8, 8, 3), np.float32),
                                 np.zeros((8, 8, 3), np.uint8)])
def test_face_rate_refuses_anything_but_a_uint8_batch(bad):
    with pytest.raises(ValueError, match="uint8"):
        face_rate(bad)


def test_detect_faces_refuses_a_gray_array():
    with pytest.raises(ValueError, match="RGB"):
        detect_faces(np.zeros((8, 8), np.uint8))

"""The reconstruction figures of latentlab.metrics.recon on images whose answer is known."""

import numpy as np
import pytest
import torch

from latentlab.data.synthetic_render import render_many
from latentlab.metrics.recon import high_frequency_ratio, identity, mae, reconstruction_figures


@pytest.fixture(scope="module")
def faces():
    return render_many(0, 16, 32)[0]


def _blur(images: np.ndarray) -> np.ndarray:
    a = images.astype(np.float64)
    out = (a + np.roll(a, 1, 1) + np.roll(a, -1, 1) + np.roll(a, 1, 2) + np.roll(a, -1, 2)) / 5
    return out.round().astype(np.uint8)


def _checkerboard(images: np.ndarray, amplitude: int = 24) -> np.ndarray:
    yy, xx = np.indices(images.shape[1:3])
    pattern = np.where((yy + xx) % 2 == 0, amplitude, -amplitude)[None, :, :, None]
    return np.clip(images.astype(np.int32) + pattern, 0, 255).astype(np.uint8)


def test_a_perfect_reconstruction(faces):
    f = reconstruction_figures(faces, faces)
    assert f["mae"] == 0 and f["identity"] == 1 and f["hf_ratio"] == pytest.approx(1.0)


def test_float_and_uint8_inputs_agree(faces):
    as_float = torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert mae(faces, as_float) < 1e-6
    assert high_frequency_ratio(faces, as_float) == pytest.approx(1.0)


def test_speckle_raises_and_blur_lowers_the_high_frequency_ratio(faces):
    assert high_frequency_ratio(faces, _checkerboard(faces)) > 1.5
    assert high_frequency_ratio(faces, _blur(faces)) < 0.8


def test_identity_counts_reconstructions_nearest_their_own_input(faces):
    shuffled = faces[np.r_[1:len(faces), 0]]  # every reconstruction is another face
    assert identity(faces, shuffled) == 0
    assert identity(faces, _blur(faces)) == 1
    assert mae(faces, np.full_like(faces, 255)) == pytest.approx(1 - faces.mean() / 255)

import math

import numpy as np
import pytest
import torch

from latentlab.config import UserError
from latentlab.latent import ease, lerp, random_keyframes, seed_latent, slerp, truncate


def test_slerp_hits_endpoints_and_keeps_type():
    a, b = seed_latent(1, 16), seed_latent(2, 16)
    out = slerp(a, b, np.array([0.0, 1.0]))
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (2, 16)
    np.testing.assert_allclose(out[0], a, atol=1e-6)
    np.testing.assert_allclose(out[1], b, atol=1e-6)
    t_out = slerp(torch.from_numpy(a), torch.from_numpy(b), 0.25)
    assert isinstance(t_out, torch.Tensor) and t_out.dtype == torch.float32
    np.testing.assert_allclose(t_out.numpy(), slerp(a, b, 0.25), atol=1e-6)


def test_slerp_keeps_typical_norm_where_lerp_shrinks():
    a, b = seed_latent(3, 512), seed_latent(4, 512)
    mid_s = np.linalg.norm(slerp(a, b, 0.5))
    mid_l = np.linalg.norm(lerp(a, b, 0.5))
    ends = (np.linalg.norm(a) + np.linalg.norm(b)) / 2
    assert abs(mid_s - ends) / ends < 0.03
    assert mid_l < 0.8 * ends  # nearly orthogonal Gaussians: about 1/sqrt(2)


def test_slerp_constant_angular_speed():
    a = seed_latent(5, 32)
    b = seed_latent(6, 32)
    b = b / np.linalg.norm(b) * np.linalg.norm(a)
    path = slerp(a, b, np.linspace(0, 1, 9)).astype(np.float64)
    unit = path / np.linalg.norm(path, axis=1, keepdims=True)
    steps = np.arccos(np.clip((unit[1:] * unit[:-1]).sum(1), -1, 1))
    np.testing.assert_allclose(steps, steps.mean(), rtol=1e-3)


def test_slerp_parallel_falls_back_to_lerp():
    a = seed_latent(7, 8)
    out = slerp(a, 2 * a, np.linspace(0, 1, 5))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, lerp(a, 2 * a, np.linspace(0, 1, 5)), atol=1e-5)
    zero = slerp(np.zeros(8, np.float32), a, 0.5)
    np.testing.assert_allclose(zero, a / 2, atol=1e-6)


def test_slerp_antipodal_is_finite_and_turns_through_a_right_angle():
    a = seed_latent(8, 8)
    out = slerp(a, -a, np.array([0.0, 0.5, 1.0]))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], a, atol=1e-5)
    np.testing.assert_allclose(out[2], -a, atol=1e-5)
    assert abs(np.dot(out[1], a)) < 1e-4 * np.dot(a, a)
    assert math.isclose(np.linalg.norm(out[1]), np.linalg.norm(a), rel_tol=1e-5)


def test_slerp_batches_rows_and_times():
    a = random_keyframes(4, 8, 0)
    b = random_keyframes(4, 8, 10)
    t = np.array([0.0, 0.3, 0.6, 1.0])
    out = slerp(a, b, t)
    for i in range(4):
        np.testing.assert_allclose(out[i], slerp(a[i], b[i], t[i]), atol=1e-6)


def test_truncate_modes():
    z = seed_latent(9, 1000)
    np.testing.assert_allclose(truncate(z, 0.5), z * 0.5)
    assert truncate(z, 1.0) is z
    clipped = truncate(z, 0.9, mode="clip")
    assert np.abs(clipped).max() == pytest.approx(1.6448536, rel=1e-5)
    inside = np.abs(z) < 1.6
    np.testing.assert_array_equal(clipped[inside], z[inside])
    assert torch.equal(truncate(torch.ones(3), 0.5), torch.full((3,), 0.5))
    for bad in (0.0, -1.0, 1.5, float("nan")):
        with pytest.raises(UserError, match="truncation psi"):
            truncate(z, bad)
    with pytest.raises(UserError, match="truncation mode"):
        truncate(z, 0.5, mode="squash")


@pytest.mark.parametrize("name", ["linear", "smooth", "cosine"])
def test_easing_fixed_ends_monotone(name):
    t = np.linspace(0, 1, 101)
    e = ease(name, t)
    assert e[0] == pytest.approx(0) and e[-1] == pytest.approx(1)
    assert (np.diff(e) >= 0).all()
    if name != "linear":  # zero speed at the keyframes
        assert e[1] < 0.01 * 0.1


def test_unknown_easing():
    with pytest.raises(UserError, match="easing"):
        ease("bounce", 0.5)


def test_seed_latent_is_documented_torch_generator_draw():
    expected = torch.randn(12, generator=torch.Generator().manual_seed(42)).numpy()
    np.testing.assert_array_equal(seed_latent(42, 12), expected)
    np.testing.assert_array_equal(seed_latent(42, 12), seed_latent(42, 12))
    assert not np.array_equal(seed_latent(42, 12), seed_latent(43, 12))
    kf = random_keyframes(3, 12, seed=40)
    for i in range(3):
        np.testing.assert_array_equal(kf[i], seed_latent(40 + i, 12))
    with pytest.raises(UserError):
        seed_latent(-1, 12)

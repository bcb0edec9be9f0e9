import json

import numpy as np
import pytest
import torch

from latentlab.config import UserError
from latentlab.latent import (
    grid_keyframes,
    grid_walks,
    parse_grid,
    parse_seeds,
    random_keyframes,
    save_bookmarks,
    seed_latent,
    walk_keyframes,
    walk_length,
    walk_path,
    walk_slice,
)


@pytest.mark.parametrize("k,n", [(2, 1), (3, 7), (5, 4)])
@pytest.mark.parametrize("interp", ["slerp", "lerp"])
def test_frame_counts_and_keyframes_hit_exactly(k, n, interp):
    kf = random_keyframes(k, 8, seed=k)
    path = walk_path(kf, n, interp=interp, ease="smooth")
    assert path.shape == ((k - 1) * n + 1, 8) == (walk_length(k, n), 8)
    np.testing.assert_array_equal(path[::n], kf)
    np.testing.assert_array_equal(path[-1], kf[-1])
    looped = walk_path(kf, n, interp=interp, loop=True)
    assert looped.shape == (k * n, 8) == (walk_length(k, n, loop=True), 8)
    np.testing.assert_array_equal(looped[::n], kf)


def test_loop_closes_smoothly():
    kf = random_keyframes(4, 16, seed=1)
    path = walk_path(kf, 10, loop=True)
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    closing = np.linalg.norm(path[-1] - path[0])  # the step from the last frame back to frame 0
    assert closing <= 1.5 * steps.max()
    assert closing < 0.2 * np.linalg.norm(kf[-1] - kf[0])
    open_path = walk_path(kf, 10)
    np.testing.assert_array_equal(open_path[-1], kf[-1])


def test_smooth_easing_lingers_at_keyframes():
    kf = random_keyframes(2, 16, seed=2)
    lin = np.linalg.norm(np.diff(walk_path(kf, 20, interp="lerp"), axis=0), axis=1)
    smooth = np.linalg.norm(np.diff(walk_path(kf, 20, interp="lerp", ease="smooth"), axis=0), axis=1)
    np.testing.assert_allclose(lin, lin.mean(), rtol=1e-4)
    assert smooth[0] < 0.2 * lin[0] and smooth[10] > lin[10]


def test_walk_slice_matches_full_path_and_torch():
    kf = random_keyframes(3, 8, seed=3)
    full = walk_path(kf, 6, loop=True, ease="cosine")
    np.testing.assert_array_equal(walk_slice(kf, 6, "slerp", "cosine", True, 5, 13), full[5:13])
    t = walk_path(torch.from_numpy(kf), 6, loop=True, ease="cosine")
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), full, atol=1e-6)


def test_single_keyframe_and_grid_walks():
    kf = random_keyframes(1, 8, seed=4)
    assert walk_path(kf, 5).shape == (1, 8)
    assert walk_path(kf, 5, loop=True).shape == (5, 8)
    cells = grid_keyframes(2, 3, 3, 8, seed=5)
    assert cells.shape == (6, 3, 8)
    np.testing.assert_array_equal(grid_keyframes(1, 1, 3, 8, seed=5)[0], random_keyframes(3, 8, seed=5))
    walks = grid_walks(cells, 4, loop=True)
    assert walks.shape == (12, 6, 8)
    for w in range(6):
        np.testing.assert_allclose(walks[:, w], walk_path(cells[w], 4, loop=True), atol=1e-6)


@pytest.mark.parametrize("bad", [{"frames_per_segment": 0}, {"frames_per_segment": 2.5},
                                 {"interp": "cubic"}, {"ease": "bounce"}])
def test_bad_walk_options(bad):
    args = {"frames_per_segment": 4, "interp": "slerp", "ease": "linear"} | bad
    with pytest.raises(UserError):
        walk_path(random_keyframes(2, 8), **args)
    with pytest.raises(UserError):
        walk_path(np.zeros((0, 8), np.float32), 4)


def test_parse_grid_and_seeds():
    assert parse_grid("3x4") == (3, 4) and parse_grid((2, 2)) == (2, 2)
    assert parse_seeds("1, 2,3") == [1, 2, 3] and parse_seeds([5]) == [5]
    for bad in ("3", "0x2", "ax2"):
        with pytest.raises(UserError, match="grid"):
            parse_grid(bad)
    for bad in ("", "1,x", "-1"):
        with pytest.raises(UserError, match="seeds"):
            parse_seeds(bad)


def test_walk_keyframes_sources(tmp_path):
    assert walk_keyframes(8, n_keyframes=3, cells=4, seed=2).shape == (4, 3, 8)
    np.testing.assert_array_equal(walk_keyframes(8, seeds="7,9")[0], np.stack([seed_latent(7, 8), seed_latent(9, 8)]))
    marks = tmp_path / "marks.json"
    save_bookmarks(marks, [{"name": "a", "z": np.ones(8)}, {"name": "b", "z": -np.ones(8), "seed": 3}])
    np.testing.assert_array_equal(walk_keyframes(8, latents_file=marks)[0, 1], -np.ones(8, np.float32))
    with pytest.raises(UserError, match="one keyframe source"):
        walk_keyframes(8, seeds="1", latents_file=marks)
    with pytest.raises(UserError, match="grid"):
        walk_keyframes(8, seeds="1,2", cells=4)
    with pytest.raises(UserError, match="shaped"):
        walk_keyframes(8, keyframes=np.zeros((3, 5)))
    with pytest.raises(UserError, match="NaN"):
        walk_keyframes(8, keyframes=np.full((2, 8), np.nan))
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"format": "latentlab-bookmarks", "version": 1, "latent_dim": 8, "bookmarks": []}))
    with pytest.raises(UserError, match="no bookmarks"):
        walk_keyframes(8, latents_file=empty)

import os

import av
import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.config import ModelConfig, UserError
from latentlab.inference.render import Renderer, upscale
from latentlab.latent import grid_keyframes, save_bookmarks, seed_latent
from latentlab.media import video
from latentlab.media.video import open_writer, write_walk
from latentlab.models import build_models
from tests.nets import vivid


@pytest.fixture(scope="module")
def renderer():
    torch.manual_seed(0)
    g = build_models(ModelConfig(arch="dcgan", image_size=32, latent_dim=8, g_width=4, d_width=4))["G"]
    return Renderer(vivid(g))


def decode(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        return frames, stream.average_rate, stream.codec_context.width, stream.codec_context.height


def mad(a, b) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def first_keyframe_render(renderer, size=None, seed=0):
    img = renderer.render_uint8(grid_keyframes(1, 1, 1, renderer.latent_dim, seed)[0])[0]
    return upscale(img, size) if size else img


# GIF: 256 colours for the tiny random generator's saturated, noisy pictures cost a little more.
@pytest.mark.parametrize("name,fps,tol", [("walk.mp4", 30, 8), ("walk.webm", 24, 8), ("walk.gif", 25, 10)])
def test_each_format_decodes_to_the_expected_frames(tmp_path, renderer, name, fps, tol):
    out = tmp_path / name
    calls = []
    result = write_walk(renderer, out, n_keyframes=3, frames=5, fps=fps, size=64,
                        progress=lambda d, t: calls.append((d, t)), batch=4)
    assert result.path == out and result.frames == 11 and not result.cancelled
    frames, rate, width, height = decode(out)
    assert len(frames) == 11
    assert rate == fps
    assert (width, height) == (64, 64) and frames[0].shape == (64, 64, 3)
    assert mad(frames[0], first_keyframe_render(renderer, 64)) < tol
    assert mad(frames[0], frames[5]) > 3 * tol  # the walk moves: the check above is not vacuous
    assert calls[-1] == (11, 11) and [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert os.listdir(tmp_path) == [name]  # no temporary file left


def test_png_sequence_is_lossless(tmp_path, renderer):
    out = tmp_path / "frames"
    result = write_walk(renderer, str(out) + "/", seeds="3,4", frames=4, fps=12)
    assert result.frames == 5
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"frame-{i:05d}.png" for i in range(5)]
    first = np.asarray(Image.open(out / files[0]))
    np.testing.assert_array_equal(first, renderer.render_uint8(seed_latent(3, 8)[None])[0])
    np.testing.assert_array_equal(np.asarray(Image.open(out / files[-1])),
                                  renderer.render_uint8(seed_latent(4, 8)[None])[0])
    with pytest.raises(UserError, match="already holds frame"):
        write_walk(renderer, out, seeds="3,4", frames=2)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert write_walk(renderer, empty, seeds="1", frames=2, loop=True).frames == 2
    assert len(list(empty.iterdir())) == 2


def test_gif_loops_forever_and_keeps_average_rate(tmp_path, renderer):
    out = tmp_path / "walk.gif"
    write_walk(renderer, out, n_keyframes=2, frames=15, fps=30, loop=True)
    with Image.open(out) as img:
        assert img.info["loop"] == 0
        assert img.n_frames == 30
        total_ms = 0
        for i in range(img.n_frames):
            img.seek(i)
            total_ms += img.info["duration"]
    assert abs(total_ms - 1000) <= 10  # 30 frames at 30 fps, in whole centiseconds
    with pytest.raises(UserError, match="GIF"):
        write_walk(renderer, tmp_path / "fast.gif", frames=2, fps=60)


def test_loop_last_frame_leads_into_first(tmp_path, renderer):
    out = tmp_path / "loop.mp4"
    write_walk(renderer, out, n_keyframes=3, frames=12, loop=True, size=64)
    frames, *_ = decode(out)
    assert len(frames) == 36
    step = np.mean([mad(frames[i], frames[i + 1]) for i in range(len(frames) - 1)])
    closing = mad(frames[-1], frames[0])
    assert closing < 2.5 * step
    assert closing < 0.3 * mad(frames[24], frames[0])  # frame 24 is keyframe 2, far from keyframe 0


def test_grid_and_odd_sizes(tmp_path, renderer):
    out = tmp_path / "grid.mp4"
    result = write_walk(renderer, out, grid="2x3", n_keyframes=2, frames=3, size=64, seed=5)
    frames, _, width, height = decode(out)
    assert (width, height) == (3 * 64 + 4, 2 * 64 + 2) == (result.width, result.height)
    assert len(frames) == 4
    cells = grid_keyframes(2, 3, 2, 8, seed=5)
    expected = upscale(renderer.render_uint8(cells[:, 0]), 64)
    assert mad(frames[0][:64, :64], expected[0]) < 8
    assert mad(frames[0][66:130, 132:196], expected[5]) < 8
    assert mad(frames[0][66:130, 132:196], expected[4]) > 20  # cells are distinct walks
    assert frames[0][:, 64:66].mean() < 20  # the black gap
    odd = write_walk(renderer, tmp_path / "odd.mp4", n_keyframes=2, frames=2, size=33, upscale="bicubic")
    frames, _, width, height = decode(tmp_path / "odd.mp4")
    assert (width, height) == (34, 34) == (odd.width, odd.height)  # 4:2:0 needs even sides


def test_bookmarks_as_keyframes(tmp_path, renderer):
    marks = tmp_path / "marks.json"
    z = seed_latent(9, 8) * 0.5
    save_bookmarks(marks, [{"name": "a", "z": z}, {"name": "b", "z": seed_latent(10, 8)}])
    out = tmp_path / "marks.gif"
    write_walk(renderer, out, latents_file=marks, frames=3, fps=20)
    frames, *_ = decode(out)
    assert len(frames) == 4
    assert mad(frames[0], renderer.render_uint8(z[None])[0]) < 8


@pytest.mark.parametrize("target,kwargs,match", [
    ("walk.avi", {}, "unknown video type"),
    ("missing/walk.mp4", {}, "does not exist"),
    ("walk.mp4", {"frames": 0}, "frames per segment"),
    ("walk.mp4", {"fps": 0}, "fps"),
    ("walk.mp4", {"interp": "cubic"}, "interpolation"),
    ("walk.mp4", {"truncation": 1.5}, "truncation"),
    ("walk.mp4", {"grid": "0x2"}, "grid"),
    ("walk.mp4", {"seeds": "1,2", "latents_file": "x.json"}, "one keyframe source"),
    ("walk.mp4", {"latents_file": "nowhere.json"}, "no such bookmarks"),
    ("walk.mp4", {"size": 0}, "size"),
])
def test_bad_input_fails_before_any_work(tmp_path, renderer, target, kwargs, match):
    calls = []
    renderer_generate = renderer.generate
    renderer.generate = lambda z: calls.append(1) or renderer_generate(z)
    try:
        with pytest.raises(UserError, match=match):
            write_walk(renderer, tmp_path / target, **({"n_keyframes": 2, "frames": 2} | kwargs))
    finally:
        del renderer.generate
    assert calls == []
    assert os.listdir(tmp_path) == []


def test_target_that_is_a_file_parent_or_folder(tmp_path, renderer):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="does not exist"):
        write_walk(renderer, tmp_path / "file" / "walk.mp4", frames=2)
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        write_walk(renderer, tmp_path / "dir.mp4", frames=2)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_folder(tmp_path, renderer):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(UserError, match="not writable"):
            write_walk(renderer, locked / "walk.mp4", frames=2)
    finally:
        locked.chmod(0o700)


def test_unwritable_check_uses_access(tmp_path, renderer, monkeypatch):
    monkeypatch.setattr(video.os, "access", lambda *a, **k: False)
    with pytest.raises(UserError, match="not writable"):
        write_walk(renderer, tmp_path / "walk.mp4", frames=2)
    assert os.listdir(tmp_path) == []


def test_grid_too_large_for_memory(tmp_path, renderer, monkeypatch):
    monkeypatch.setattr(video, "_available_bytes", lambda: 8 << 20)
    with pytest.raises(UserError, match="GiB per frame"):
        write_walk(renderer, tmp_path / "huge.mp4", grid="8x8", size=256, frames=2)
    assert os.listdir(tmp_path) == []


def test_missing_encoder_is_a_user_error(tmp_path, renderer, monkeypatch):
    monkeypatch.setattr(video, "have_encoder", lambda name: name != "libvpx-vp9")
    with pytest.raises(UserError, match="no libvpx-vp9 encoder"):
        write_walk(renderer, tmp_path / "walk.webm", frames=2)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["walk.mp4", "walk.gif", "frames/"])
def test_cancel_leaves_nothing(tmp_path, renderer, name):
    done = []
    result = write_walk(renderer, str(tmp_path / name), n_keyframes=3, frames=8, batch=4,
                        progress=lambda d, t: done.append(d), cancel=lambda: len(done) >= 2)
    assert result.cancelled and result.path is None and result.frames == 8
    assert os.listdir(tmp_path) == []


def test_interrupt_midway_leaves_nothing(tmp_path, renderer):
    calls = []
    real = renderer.generate

    def flaky(z):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(z)

    renderer.generate = flaky
    try:
        with pytest.raises(KeyboardInterrupt):
            write_walk(renderer, tmp_path / "walk.mp4", n_keyframes=3, frames=8, batch=4)
    finally:
        del renderer.generate
    assert os.listdir(tmp_path) == []


def test_writer_rejects_wrong_frames_and_cleans_up(tmp_path):
    with pytest.raises(ValueError, match="uint8"), open_writer(tmp_path / "w.mp4", 30, (16, 8)) as writer:
        writer.write(np.zeros((8, 16, 3), np.uint8))
        writer.write(np.zeros((16, 16, 3), np.uint8))
    assert os.listdir(tmp_path) == []
    with open_writer(tmp_path / "w.mp4", 30, (16, 8)) as writer:
        writer.write(np.zeros((3, 8, 16, 3), np.uint8))
    assert oct(os.stat(tmp_path / "w.mp4").st_mode & 0o777) != oct(0o600)  # normal permissions
    assert len(decode(tmp_path / "w.mp4")[0]) == 3


def test_pipelined_walk_is_pixel_identical_to_rendering_each_frame_in_order(tmp_path, renderer):
    """The reference path: every frame rendered on its own, in order, on this thread. The walk renders
    in batches on a second thread while this one writes: same PNGs, same order, nothing extra."""
    from latentlab.inference.render import frames_rgb
    from latentlab.latent import walk_path

    out = tmp_path / "frames"
    result = write_walk(renderer, out, n_keyframes=3, frames=7, size=64, grid=(1, 2), batch=3, seed=4)
    kf = grid_keyframes(1, 2, 3, renderer.latent_dim, 4)
    paths = [walk_path(cell_kf, 7) for cell_kf in kf]  # (cells, frames, nz)
    names = sorted(os.listdir(out))
    assert result.frames == len(names) == len(paths[0]) == 15
    for i, name in enumerate(names):
        assert name == f"frame-{i:05d}.png"
        z = np.stack([p[i] for p in paths])
        want = frames_rgb(renderer.generate(z), 1, 2, 64)[0]
        np.testing.assert_array_equal(np.asarray(Image.open(out / name)), want)

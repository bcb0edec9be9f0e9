"""`latentlab timelapse`: a run's sample grids, in step order, to a video."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentlab.config import UserError
from latentlab.media.timelapse import label_corner, write_timelapse

pytestmark = pytest.mark.timeout(60)
STEPS = (3, 6, 9, 12, 15)


def grid(step: int) -> np.ndarray:
    """A 38x38 grid of 4 flat-coloured 16 px cells that differ from step to step (flat blocks keep
    H.264 close to exact)."""
    rng = np.random.default_rng(step)
    img = np.full((38, 38, 3), 255, np.uint8)
    for r in range(2):
        for c in range(2):
            img[2 + r * 18: 18 + r * 18, 2 + c * 18: 18 + c * 18] = rng.integers(30, 225, 3)
    return img


def make_run(root: Path, steps=STEPS) -> Path:
    (root / "samples").mkdir(parents=True)
    (root / "config.toml").write_text('name = "t"\n')
    # Written out of order, with a half-written grid's temporary name and a reconstruction grid
    # beside them: neither belongs in the video.
    for step in reversed(steps):
        Image.fromarray(grid(step)).save(root / "samples" / f"step-{step:08d}.png")
    Image.fromarray(grid(99)).save(root / "samples" / ".step-00000099.tmp.png")
    Image.fromarray(grid(98)).save(root / "samples" / "recon-00000003.png")
    with open(root / "metrics.jsonl", "w") as f:
        for step in range(1, max(steps) + 1):
            f.write(json.dumps({"step": step, "epoch": step // 5}) + "\n")
    return root


def up(img: np.ndarray, f: int) -> np.ndarray:
    return img.repeat(f, 0).repeat(f, 1)


def decode(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def png_frames(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("frame-*.png"))]


def test_png_folder_is_every_grid_in_step_order_plus_the_hold(tmp_path):
    run = make_run(tmp_path / "run")
    result = write_timelapse(run, tmp_path / "frames/", fps=10, size=76, hold_last=0.3)
    frames = png_frames(tmp_path / "frames")
    assert result.frames == len(frames) == len(STEPS) + 3
    for frame, step in zip(frames, list(STEPS) + [STEPS[-1]] * 3):
        np.testing.assert_array_equal(frame, up(grid(step), 2))


def test_mp4_first_and_last_frames_are_the_grids_upscaled(tmp_path):
    run = make_run(tmp_path / "run")
    out = tmp_path / "t.mp4"
    write_timelapse(run, out, fps=25, size=76)
    frames = decode(out)
    assert len(frames) == len(STEPS)
    for frame, step in ((frames[0], STEPS[0]), (frames[-1], STEPS[-1])):
        diff = np.abs(frame.astype(int) - up(grid(step), 2).astype(int))
        assert diff.mean() < 3 and np.percentile(diff, 99) < 20, (diff.mean(), diff.max())
    # the others are the grids in step order, not in the order they were written
    for frame, step in zip(frames, STEPS):
        assert np.abs(frame.astype(int) - up(grid(step), 2)).mean() < 3


def test_gif_frames_are_exact_and_the_default_size_is_a_whole_multiple(tmp_path):
    run = make_run(tmp_path / "run")
    out = tmp_path / "t.gif"
    result = write_timelapse(run, out, fps=10, start=6, stop=12, hold_last=0.2)
    assert (result.width, result.height) == (38 * 14, 38 * 14)  # the first multiple of 38 >= 512 px
    frames = decode(out)
    assert len(frames) == 3 + 2
    np.testing.assert_array_equal(frames[0], up(grid(6), 14))
    np.testing.assert_array_equal(frames[-1], up(grid(12), 14))


def test_label_changes_pixels_only_in_its_corner(tmp_path):
    run = make_run(tmp_path / "run")
    write_timelapse(run, tmp_path / "plain/", size=300)
    write_timelapse(run, tmp_path / "label/", size=300, label=True)
    plain, labelled = png_frames(tmp_path / "plain"), png_frames(tmp_path / "label")
    left, top, right, bottom = label_corner(300, 300)
    for a, b in zip(plain, labelled):
        changed = np.any(a != b, axis=2)
        assert changed.any()
        outside = changed.copy()
        outside[top:bottom, left:right] = False
        assert not outside.any()
    # the label says which step: two frames' labels differ
    assert np.any(labelled[0][top:, :right] != labelled[1][top:, :right])


def test_a_run_without_grids_is_one_clear_error(tmp_path):
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    (run / "config.toml").write_text("")
    with pytest.raises(UserError, match="no sample grids"):
        write_timelapse(run, tmp_path / "t.mp4")
    assert not (tmp_path / "t.mp4").exists()
    make_run(tmp_path / "run2")
    with pytest.raises(UserError, match="between steps 100"):
        write_timelapse(tmp_path / "run2", tmp_path / "t.mp4", start=100)
    assert list(tmp_path.glob("*.mp4")) == [] and list(tmp_path.glob(".t.mp4*")) == []


def test_cancel_leaves_no_file(tmp_path):
    run = make_run(tmp_path / "run")
    result = write_timelapse(run, tmp_path / "t.mp4", cancel=lambda: True)
    assert result.cancelled and result.path is None
    assert list(tmp_path.iterdir()) == [run]


def test_cli_exit_codes(tmp_path, capsys):
    from latentlab.cli import main

    run = make_run(tmp_path / "run")
    assert main(["timelapse", str(run), "--out", str(tmp_path / "t.webm"), "--label", "--hold-last", "1",
                 "--fps", "5"]) == 0
    assert len(decode(tmp_path / "t.webm")) == len(STEPS) + 5
    capsys.readouterr()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.toml").write_text("")
    assert main(["timelapse", str(empty), "--out", str(tmp_path / "e.mp4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no sample grids" in err[0]


@pytest.mark.parametrize("name", ["tiny", "dcgan", "torchgan2015", "vaegan"])
def test_every_preset_writes_enough_grids_for_a_timelapse(name):
    from latentlab.config import load_preset

    cfg = load_preset(name)
    t, d = cfg.train, cfg.data
    steps = t.steps or t.epochs * ((d.synthetic_count - d.holdout) // t.batch)
    assert d.source == "synthetic" and steps // t.sample_every >= 100


def x264_settings(path: Path) -> str:
    """The option string x264 writes into every H.264 stream it encodes (an SEI message)."""
    data = path.read_bytes()
    start = data.index(b"x264 - core")
    return data[start: data.index(b"\0", start)].decode("ascii", "replace")


def test_mp4_is_encoded_with_the_measured_preset_or_the_one_asked_for(tmp_path):
    """ultrafast at crf 18 by default (no CABAC, no deblocking); --preset veryfast reaches x264 as asked,
    at the same crf; any other name is one clear error before a file exists."""
    run = make_run(tmp_path / "run")
    write_timelapse(run, tmp_path / "fast.mp4", size=76)
    fast = x264_settings(tmp_path / "fast.mp4")
    assert "cabac=0" in fast and "deblock=0" in fast and "crf=18.0" in fast, fast
    write_timelapse(run, tmp_path / "small.mp4", size=76, preset="veryfast")
    small = x264_settings(tmp_path / "small.mp4")
    assert "cabac=1" in small and "deblock=1" in small and "crf=18.0" in small, small
    with pytest.raises(UserError, match="--preset must be one of ultrafast, superfast, veryfast"):
        write_timelapse(run, tmp_path / "bad.mp4", preset="turbo")
    assert not (tmp_path / "bad.mp4").exists()

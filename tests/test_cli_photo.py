"""`latentlab align` and `latentlab project` end to end, in this process (exit codes and messages are
the same as from a shell), on a tiny generator with fixed weights saved as a checkpoint."""

import subprocess

import numpy as np
import pytest
from PIL import Image

from latentlab.config import Config, ModelConfig
from latentlab.inference.render import Renderer
from latentlab.latent.bookmarks import load_bookmarks
from latentlab.run.checkpoint import save_checkpoint
from tests.data.test_data_align import _png_header
from tests.devices import DEVICES
from tests.test_photo import NZ, tiny_dcgan

PAD = 2


def cli(capsys, *args):
    from latentlab.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A 32 px DCGAN checkpoint 'trained on synthetic faces' (fixed varied weights)."""
    path = tmp_path_factory.mktemp("project") / "g.safetensors"
    cfg = Config(name="tiny-photo", model=ModelConfig("dcgan", 32, NZ, 8, 8, 8)).validate()
    tensors = {f"G.{k}": v.contiguous() for k, v in tiny_dcgan().state_dict().items()}
    save_checkpoint(path, tensors, {"config": cfg.to_toml(), "arch": "dcgan", "step": 1, "epoch": 0})
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from latentlab.data.synthetic import render_face

    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    picture = np.clip(rng.normal(120, 10, (150, 200, 3)), 0, 255).astype(np.uint8)
    picture[20:132, 70:182] = render_face(1, 112)[0]  # a face the cascades find, off centre
    Image.fromarray(picture).save(folder / "portrait.jpg", quality=95)
    Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(folder / "noise.png")
    Image.new("RGB", (1, 1)).save(folder / "dot.png")
    (folder / "notes.jpg").write_text("shopping list")
    _png_header(folder / "huge.png", 20000, 20000)
    return folder


def cells(png, rows, cols, cell):
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape == (rows * (cell + PAD) - PAD, cols * (cell + PAD) - PAD, 3)
    return [[image[r * (cell + PAD):r * (cell + PAD) + cell, c * (cell + PAD):c * (cell + PAD) + cell]
             for c in range(cols)] for r in range(rows)]


@pytest.mark.parametrize("device", DEVICES)
def test_project_writes_rows_and_latents_that_walk_reads(checkpoint, photos, tmp_path, capsys, device):
    out, latents = tmp_path / "pairs.png", tmp_path / "z.json"
    result = cli(capsys, "project", checkpoint, photos / "portrait.jpg", "--out", out, "--latents", latents,
                 "--steps", 8, "--restarts", 2, "--size", 32, "--device", device)
    assert result.returncode == 0, result.stderr
    assert "step 8/8" in result.stderr and "mean error" in result.stderr
    row = cells(out, 1, 3, 32)[0]
    marks = load_bookmarks(latents, latent_dim=NZ)
    assert len(marks) == 1 and marks[0].name == "photo portrait"
    renderer = Renderer.from_checkpoint(checkpoint)
    np.testing.assert_allclose(row[2].astype(int), renderer.render_uint8(marks[0].z)[0].astype(int), atol=2)
    assert row[1].std() > 10  # the aligned face, not a flat cell
    walk = cli(capsys, "walk", checkpoint, "--latents", latents, "--out", str(tmp_path / "frames") + "/",
               "--frames", 2, "--device", device)
    assert walk.returncode == 0, walk.stderr
    frame = np.asarray(Image.open(min((tmp_path / "frames").glob("*.png"))).convert("RGB"))
    np.testing.assert_allclose(frame.astype(int), renderer.render_uint8(marks[0].z)[0].astype(int), atol=2)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("command", ["walk", "project"])
def test_device_cuda_without_a_gpu_is_one_line(checkpoint, photos, tmp_path, capsys, command):
    extra = ["--latents", tmp_path / "z.json"] if command == "walk" else [photos / "portrait.jpg"]
    out = tmp_path / ("w.gif" if command == "walk" else "p.png")
    result = cli(capsys, command, checkpoint, *(extra if command == "project" else []), "--out", out,
                 "--device", "cuda")
    assert result.returncode == 2 and "no CUDA GPU" in result.stderr and not out.exists()


def test_align_writes_the_face_at_the_convention(photos, tmp_path, capsys):
    from latentlab.data.align import align_photo, convention, read_photo

    out = tmp_path / "aligned"
    result = cli(capsys, "align", photos / "portrait.jpg", "--out", out, "--crop", "synthetic", "--size", 48)
    assert result.returncode == 0, result.stderr
    written = np.asarray(Image.open(out / "portrait.png"))
    expected, _ = align_photo(read_photo(photos / "portrait.jpg").pixels, convention("synthetic"), 48)
    np.testing.assert_array_equal(written, expected.image)
    again = cli(capsys, "align", photos / "portrait.jpg", "--out", out)
    assert again.returncode == 2 and "portrait.png already exists" in again.stderr


def test_align_like_a_checkpoint_uses_its_size_and_convention(checkpoint, photos, tmp_path, capsys):
    result = cli(capsys, "align", photos / "portrait.jpg", "--out", tmp_path / "a", "--like", checkpoint)
    assert result.returncode == 0, result.stderr
    assert "synthetic, none crop, 32 px" in result.stderr
    assert Image.open(tmp_path / "a" / "portrait.png").size == (32, 32)


def test_a_box_overrides_the_detector(checkpoint, photos, tmp_path, capsys):
    result = cli(capsys, "align", photos / "noise.png", "--out", tmp_path / "b", "--box", "40,30,60,60", "--size", 32)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "b" / "noise.png").exists()


@pytest.mark.parametrize("name,message", [
    ("noise.png", "noise.png: no face found; draw a box around the face (or pass --box X,Y,W,H"),
    ("notes.jpg", "notes.jpg: not an image"),
    ("dot.png", r"dot.png: too small (1×1 px)"),
    ("huge.png", "huge.png: too large (400 megapixels"),
])
def test_bad_photos_are_one_line_and_nothing_is_written(checkpoint, photos, tmp_path, capsys, name, message):
    out = tmp_path / "pairs.png"
    result = cli(capsys, "project", checkpoint, photos / name, "--out", out, "--latents", tmp_path / "z.json",
                 "--steps", 2)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not out.exists() and not (tmp_path / "z.json").exists()


def test_a_bad_photo_among_good_ones_is_skipped_with_a_warning(checkpoint, photos, tmp_path, capsys):
    out = tmp_path / "pairs.png"
    result = cli(capsys, "project", checkpoint, photos / "notes.jpg", photos / "portrait.jpg", "--out", out,
                 "--steps", 2, "--restarts", 1, "--size", 32)
    assert result.returncode == 0, result.stderr
    assert "notes.jpg: not an image; skipped" in result.stderr and "1 skipped" in result.stderr
    cells(out, 1, 3, 32)


def test_encode_refuses_a_gan_and_points_at_project(checkpoint, photos, tmp_path, capsys):
    result = cli(capsys, "encode", checkpoint, photos / "portrait.jpg", "--out", tmp_path / "x.png")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "encode needs a VAE/GAN checkpoint" in result.stderr and "latentlab project" in result.stderr
    assert not (tmp_path / "x.png").exists()

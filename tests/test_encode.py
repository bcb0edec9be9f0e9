"""`latentlab encode` and `latentlab attributes` end to end, on a tiny VAE/GAN trained here."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.config import UserError, load_preset
from latentlab.data import load_photo
from latentlab.inference.encode import (
    attributes_path,
    identity_matches,
    load_encoder_model,
    pairs_image,
    photo_crop,
    read_attributes,
)
from latentlab.train.engine import Trainer
from tests.train.helpers import tiny_config

ROOT = Path(__file__).resolve().parent.parent
S = 32  # the tiny models' image size
PAD = 2  # the grid's gap (latentlab.run.grids.tile)


def run_cli(*args, timeout=240):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "latentlab", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def cli(capsys, *args):
    """The CLI in this process (cheaper than a subprocess; exit codes and messages are the same)."""
    from latentlab.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def train_tiny(arch, out, cache_dir):
    cfg = tiny_config(arch, steps=3, cache_dir=cache_dir, checkpoint_every=3)
    for _ in Trainer(cfg, out).run():
        pass
    return out / "checkpoints" / "latest.safetensors"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("encode-models")
    return {"vaegan": train_tiny("vaegan", root / "vaegan", root), "dcgan": train_tiny("dcgan", root / "dcgan", root)}


@pytest.fixture
def vaegan(models, tmp_path):
    """A private copy, so vectors stored beside it by one test do not leak into another."""
    path = tmp_path / "model.safetensors"
    path.write_bytes(models["vaegan"].read_bytes())
    return path


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    folder.mkdir()
    # A landscape JPEG whose EXIF says "rotate 90° clockwise": it must arrive upright (portrait).
    left_right = np.zeros((40, 60, 3), np.uint8)
    left_right[:, :30] = (230, 40, 40)
    left_right[:, 30:] = (40, 40, 230)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(left_right).save(folder / "rotated.jpg", exif=exif.tobytes(), quality=95)
    Image.fromarray(rng.integers(0, 256, (50, 70), dtype=np.uint8), "L").save(folder / "gray.png")
    rgba = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
    rgba[..., 3] = 128
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    return folder


def cells(png, rows, cols, cell=S):
    """Split a grid written by latentlab.run.grids.tile back into (rows, cols, cell, cell, 3)."""
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape == (rows * (cell + PAD) + PAD, cols * (cell + PAD) + PAD, 3)
    return np.stack([np.stack([image[PAD + r * (cell + PAD):PAD + r * (cell + PAD) + cell,
                                     PAD + c * (cell + PAD):PAD + c * (cell + PAD) + cell] for c in range(cols)])
                     for r in range(rows)])


# -- encode ------------------------------------------------------------------------------------------
def test_encode_writes_input_and_reconstruction_pairs(vaegan, photos, tmp_path):
    out = tmp_path / "pairs.png"
    names = ["rotated.jpg", "gray.png", "broken.jpg", "rgba.png"]
    result = run_cli("encode", vaegan, *(photos / n for n in names), "--out", out)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "broken.jpg" in warnings[0] and "skipped" in warnings[0]
    grid = cells(out, rows=3, cols=2)  # the unreadable photo has no row
    renderer = load_encoder_model(vaegan)
    for row, name in zip(grid, ["rotated.jpg", "gray.png", "rgba.png"]):
        expected_input = load_photo(photos / name, S, "center")  # synthetic data: centre crop
        np.testing.assert_array_equal(row[0], expected_input)
        expected_rec = renderer.render_uint8(renderer.encode_mu(expected_input))[0]
        assert np.abs(row[1].astype(int) - expected_rec.astype(int)).max() <= 1
    upright = grid[0, 0]
    assert upright[2, S // 2, 0] > 150 and upright[-3, S // 2, 2] > 150  # red on top, blue below after EXIF
    gray = grid[1, 0].astype(int)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()


def test_encode_cell_size_and_crop_option(vaegan, photos, tmp_path, capsys):
    out = tmp_path / "big.png"
    result = cli(capsys, "encode", vaegan, photos / "gray.png", "--out", out, "--size", 64, "--crop", "none")
    assert result.returncode == 0, result.stderr
    grid = cells(out, rows=1, cols=2, cell=64)
    squeezed = load_photo(photos / "gray.png", S, "none")
    np.testing.assert_array_equal(grid[0, 0][::2, ::2], squeezed)  # nearest ×2 of the un-cropped photo


def test_encode_refuses_a_gan_only_checkpoint(models, photos, tmp_path):
    result = run_cli("encode", models["dcgan"], photos / "gray.png", "--out", tmp_path / "x.png")
    assert result.returncode == 2
    assert "has no encoder (it is a dcgan model); encode needs a VAE/GAN checkpoint" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_encode_with_only_unreadable_photos_is_an_error(vaegan, photos, tmp_path, capsys):
    out = tmp_path / "none.png"
    result = cli(capsys, "encode", vaegan, photos / "broken.jpg", photos / "missing.png", "--out", out)
    assert result.returncode == 2
    assert "broken.jpg" in result.stderr and "missing.png" in result.stderr
    assert "latentlab: error: none of the 2 photo(s) could be read" in result.stderr
    assert not out.exists()


def test_encode_bad_out_is_refused(vaegan, photos, tmp_path, capsys):
    result = cli(capsys, "encode", vaegan, photos / "gray.png", "--out", tmp_path / "pairs.jpg")
    assert result.returncode == 2 and "name a .png file" in result.stderr


def test_photo_crop_follows_the_training_data():
    cfg = load_preset("vaegan")
    cfg.data.source = "synthetic"
    assert photo_crop(cfg) == "center"  # rendered whole, whatever data.crop says
    cfg.data.source, cfg.data.crop = "celeba:/data/celeba", "celeba148"
    assert photo_crop(cfg) == "celeba148"
    cfg.data.crop = "auto"
    assert photo_crop(cfg) == "celeba148"
    cfg.data.source = "lfw:/data/lfw"
    assert photo_crop(cfg) == "lfw150"
    cfg.data.source = "/photos"
    assert photo_crop(cfg) == "center"


def test_pairs_image_layout():
    a = np.full((2, 4, 4, 3), 10, np.uint8)
    b = np.full((2, 4, 4, 3), 200, np.uint8)
    image = pairs_image(a, b)
    assert image.shape == (2 * 6 + 2, 2 * 6 + 2, 3)
    assert image[2, 2, 0] == 10 and image[2, 8, 0] == 200 and image[8, 2, 0] == 10 and image[8, 8, 0] == 200


def test_identity_matches_counts_nearest_reconstruction():
    class Ident(torch.nn.Module):  # a perfect autoencoder: each reconstruction is its own input
        latent_dim = 3 * 4 * 4

        def forward(self, x):
            return (x.flatten(1), None) if x.dim() == 4 else x.view(-1, 3, 4, 4)

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    net = Ident().eval()
    assert identity_matches(net, net, images).all()

    class Swap(Ident):  # decodes every image as the next one: no identity at all
        def forward(self, x):
            return (x.flatten(1), None) if x.dim() == 4 else x.view(-1, 3, 4, 4).roll(1, 0)

    assert not identity_matches(Swap().eval(), net, images).any()


# -- attributes --------------------------------------------------------------------------------------
@pytest.fixture
def celeba(tmp_path):
    """A CelebA-shaped source: img_align_celeba/ + list_attr_celeba.txt, where no image is Bald."""
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(2)
    rows = []
    for i in range(8):
        name = f"{i + 1:06d}.jpg"
        img = rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)
        img[:, :, 0] = 255 if i % 2 == 0 else 0  # Smiling ones are red, the others are not
        Image.fromarray(img).save(root / "img_align_celeba" / name)
        rows.append(f"{name} {1 if i % 2 == 0 else -1} {1 if i < 3 else -1} -1")
    (root / "list_attr_celeba.txt").write_text("8\nSmiling Eyeglasses Bald\n" + "\n".join(rows) + "\n")
    return root


def test_attributes_listing_when_none_stored(vaegan, capsys):
    result = cli(capsys, "attributes", vaegan)
    assert result.returncode == 0, result.stderr
    assert "no attribute vectors stored" in result.stdout


def test_attributes_from_labels_store_round_trip_and_list(vaegan, celeba):
    result = run_cli("attributes", vaegan, "--data", f"celeba:{celeba}")
    assert result.returncode == 0, result.stderr
    assert "Bald: skipped (no positive examples)" in result.stderr  # noted, not fatal, when not asked for
    path = attributes_path(vaegan)
    assert path == vaegan.with_name("model.attributes.safetensors") and path.is_file()
    stored = read_attributes(vaegan)
    assert sorted(stored.vectors) == ["Eyeglasses", "Smiling"]
    assert stored.counts == {"Smiling": (4, 4), "Eyeglasses": (3, 5)}
    assert stored.sources["Smiling"] == f"celeba:{celeba}"
    # The stored vector points from mean mu over the others to mean mu over Smiling images, and is
    # as long as the standard deviation of all images' mu along that direction.
    renderer = load_encoder_model(vaegan)
    images = np.stack([load_photo(p, S, "center") for p in sorted((celeba / "img_align_celeba").iterdir())])
    mu = renderer.encode_mu(images).astype(np.float64)
    diff = mu[0::2].mean(axis=0) - mu[1::2].mean(axis=0)
    unit = diff / np.linalg.norm(diff)
    spread = (mu @ unit).std()
    np.testing.assert_allclose(stored.vectors["Smiling"], unit * spread, rtol=1e-3, atol=1e-5)
    assert stored.separations["Smiling"] == pytest.approx(np.linalg.norm(diff) / spread, rel=1e-3)
    lines = run_cli("attributes", vaegan).stdout.splitlines()
    assert lines[0].split() == ["attribute", "with", "without", "norm", "separation", "kind", "accuracy"]
    smiling = next(line.split() for line in lines if line.startswith("Smiling"))
    assert smiling[1:3] == ["4", "4"] and float(smiling[3]) == pytest.approx(spread, abs=1e-3)
    assert float(smiling[4]) == pytest.approx(np.linalg.norm(diff) / spread, abs=0.01)


def test_attribute_without_examples_is_refused_by_name(vaegan, celeba, capsys):
    result = cli(capsys, "attributes", vaegan, "--data", f"celeba:{celeba}", "--attr", "Smiling", "--attr", "Bald")
    assert result.returncode == 2
    assert "'Bald'" in result.stderr and "no positive" in result.stderr
    assert not attributes_path(vaegan).exists()  # nothing half-stored


def test_attributes_from_two_folders_merge_with_stored(vaegan, celeba, tmp_path, capsys):
    assert cli(capsys, "attributes", vaegan, "--data", f"celeba:{celeba}", "--attr", "Eyeglasses").returncode == 0
    with_dir, without_dir = tmp_path / "with", tmp_path / "without"
    for folder, color in ((with_dir, 250), (without_dir, 5)):
        folder.mkdir()
        for i in range(3 if color > 100 else 2):
            Image.fromarray(np.full((40, 40, 3), color, np.uint8)).save(folder / f"{i}.png")
    result = cli(capsys, "attributes", vaegan, "--with", with_dir, "--without", without_dir, "--name", "bright")
    assert result.returncode == 0, result.stderr
    stored = read_attributes(vaegan)
    assert sorted(stored.vectors) == ["Eyeglasses", "bright"] and stored.counts["bright"] == (3, 2)
    assert "bright" in cli(capsys, "attributes", vaegan).stdout


def test_attributes_empty_folder_is_refused_by_name(vaegan, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "some").mkdir()
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "some" / "a.png")
    result = cli(capsys, "attributes", vaegan, "--with", tmp_path / "empty", "--without", tmp_path / "some",
                     "--name", "smiling")
    assert result.returncode == 2 and "'smiling'" in result.stderr and "--with" in result.stderr


def test_attributes_need_an_encoder(models, celeba, capsys):
    result = cli(capsys, "attributes", models["dcgan"], "--data", f"celeba:{celeba}")
    assert result.returncode == 2 and "has no encoder (it is a dcgan model)" in result.stderr


def test_load_encoder_model_refuses_gan(models):
    with pytest.raises(UserError, match="dcgan"):
        load_encoder_model(models["dcgan"])

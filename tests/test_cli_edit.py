"""`latentlab edit`, `walk --direction` and `attributes --with/--without` on every model kind: a
trained tiny run, the demo VAE/GAN, an imported netG. In this process (same exit codes and
messages as from a shell)."""

import shutil
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.latent.attributes import AttributeSet, read_attributes, store_attributes
from latentlab.latent.bookmarks import load_bookmarks


def cli(capsys, *args):
    from latentlab.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


@pytest.fixture(scope="module")
def kinds(tmp_path_factory, tiny_cli_run):
    """name -> a private checkpoint of each kind, each with a stored 'smile' and 'glasses' direction."""
    from latentlab.cli import main
    from latentlab.resources import demo_checkpoint
    from tests.models.test_models_dcgan_import import ExampleNetG

    root = tmp_path_factory.mktemp("edit-kinds")
    paths = {"trained": root / "trained.safetensors", "demo": root / "demo.safetensors",
             "imported": root / "imported.safetensors"}
    shutil.copy(tiny_cli_run / "checkpoints" / "latest.safetensors", paths["trained"])
    shutil.copy(demo_checkpoint(), paths["demo"])
    torch.manual_seed(0)
    torch.save(ExampleNetG(8, 4).state_dict(), root / "netG.pth")
    assert main(["import-dcgan", str(root / "netG.pth"), "--out", str(paths["imported"]), "--nz", "8",
                 "--ngf", "4"]) == 0
    from latentlab.inference.api import load

    for path in paths.values():
        nz = load(path).latent_dim
        rng = np.random.default_rng(nz)
        attrs = AttributeSet()
        for name in ("smile", "glasses"):
            attrs.add(name, rng.normal(size=nz).astype(np.float32), counts=(40, 40), source="test", kind="taught",
                      accuracy=0.9)
        store_attributes(path, attrs, replace=True)
    return paths


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    from latentlab.data.synthetic import render_face

    folder = tmp_path_factory.mktemp("edit-photos")
    rng = np.random.default_rng(0)
    picture = np.clip(rng.normal(120, 10, (150, 200, 3)), 0, 255).astype(np.uint8)
    picture[20:132, 70:182] = render_face(1, 112)[0]
    Image.fromarray(picture).save(folder / "portrait.jpg", quality=95)
    (folder / "notes.jpg").write_text("shopping list")
    return folder


@pytest.mark.parametrize("kind", ["trained", "demo", "imported"])
def test_edit_writes_input_found_edited_rows_for_every_model(kinds, photo, kind, tmp_path, capsys):
    out, marks = tmp_path / "rows.png", tmp_path / "edited.json"
    result = cli(capsys, "edit", kinds[kind], photo / "portrait.jpg", "--direction", "smile=+2", "--direction",
                 "glasses=-1", "--out", out, "--latents", marks, "--steps", "20", "--size", "32")
    assert result.returncode == 0, result.stderr
    assert "1 input | found | edited row(s) (smile +2, glasses -1" in result.stderr
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (32, 3 * 32 + 2 * 2, 3)
    found, edited = image[:, 34:66].astype(int), image[:, 68:100].astype(int)
    if kind == "demo":  # the trained 6-step and the imported random G render nearly flat grey
        assert np.abs(found - edited).mean() > 3  # the edit changed the face
    from latentlab.inference.api import load

    model = load(kinds[kind])
    (mark,) = load_bookmarks(marks, model.latent_dim)
    # The edited latent is the found one (the same projection, from the cache) moved by +2 smile and
    # -1 glasses; rendering it gives the third cell.
    aligned, _ = model.align(photo / "portrait.jpg")
    start = model.project_aligned(aligned, steps=20).z[0]
    np.testing.assert_allclose(mark.z, start + 2 * model.direction("smile") - model.direction("glasses"), atol=1e-5)
    from latentlab.inference.photo import rows_image

    rendered = rows_image([[model.render(mark.z).images[0]]], 32)
    np.testing.assert_allclose(rendered, edited, atol=1)
    again = cli(capsys, "edit", kinds[kind], photo / "portrait.jpg", "--direction", "smile=0", "--out",
                tmp_path / "zero.png", "--steps", "20", "--size", "32")
    assert again.returncode == 0
    zero = np.asarray(Image.open(tmp_path / "zero.png").convert("RGB"))
    np.testing.assert_array_equal(zero[:, 34:66], zero[:, 68:100])  # amount 0: edited == found (cached projection)
    np.testing.assert_array_equal(zero[:, 34:66], image[:, 34:66])


@pytest.mark.parametrize("args, message", [
    (["--direction", "smle=1"], "unknown direction 'smle'; this model has: glasses, smile"),
    (["--direction", "smile"], "--direction 'smile': write NAME=AMOUNT"),
    (["--direction", "smile=lots"], "write NAME=AMOUNT"),
    (["--direction", "smile=99"], "-20 to 20"),
    (["--direction", "smile=1", "--keep", "hat"], "unknown direction 'hat'"),
])
def test_edit_mistakes_are_one_line_and_write_nothing(kinds, photo, tmp_path, capsys, args, message):
    out = tmp_path / "rows.png"
    result = cli(capsys, "edit", kinds["imported"], photo / "portrait.jpg", *args, "--out", out)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_edit_refuses_a_model_without_directions_and_a_faceless_photo(kinds, photo, tmp_path, capsys):
    bare = tmp_path / "bare.safetensors"
    shutil.copy(kinds["imported"], bare)
    result = cli(capsys, "edit", bare, photo / "portrait.jpg", "--direction", "smile=1", "--out", tmp_path / "r.png")
    assert result.returncode == 2 and "this model has: none stored" in result.stderr
    result = cli(capsys, "edit", kinds["imported"], photo / "notes.jpg", "--direction", "smile=1", "--out",
                 tmp_path / "r.png")
    assert result.returncode == 2 and "notes.jpg" in result.stderr and not (tmp_path / "r.png").exists()


@pytest.mark.parametrize("kind", ["trained", "imported"])
def test_walk_along_a_direction(kinds, kind, tmp_path, capsys):
    from latentlab.inference.api import load
    from latentlab.latent import seed_latent

    out = tmp_path / "walk"
    result = cli(capsys, "walk", kinds[kind], "--out", f"{out}/", "--direction", "smile", "--from", "-2", "--to", "2",
                 "--seeds", "7", "--frames", "4")
    assert result.returncode == 0, result.stderr
    frames = sorted(out.glob("*.png"))
    assert len(frames) == 5 and "along smile from -2 to +2" in result.stderr
    model = load(kinds[kind])
    z = seed_latent(7, model.latent_dim)
    expected = model.render(np.stack([model.edit(z, smile=t) for t in (-2.0, 0.0, 2.0)])).images
    for frame, want in zip((frames[0], frames[2], frames[4]), expected):
        np.testing.assert_allclose(np.asarray(Image.open(frame).convert("RGB")), want, atol=2)


def test_walk_direction_mistakes(kinds, tmp_path, capsys):
    result = cli(capsys, "walk", kinds["imported"], "--out", tmp_path / "w.gif", "--direction", "smiel")
    assert result.returncode == 2 and "unknown direction 'smiel'; this model has: glasses, smile" in result.stderr
    result = cli(capsys, "walk", kinds["imported"], "--out", tmp_path / "w.gif", "--from", "-1")
    assert result.returncode == 2 and "go with --direction" in result.stderr
    result = cli(capsys, "walk", kinds["imported"], "--out", tmp_path / "w.gif", "--direction", "smile",
                 "--from", "1", "--to", "1")
    assert result.returncode == 2 and "nothing to walk" in result.stderr
    result = cli(capsys, "walk", kinds["imported"], "--out", tmp_path / "w.gif", "--direction", "smile", "--to", "50")
    assert result.returncode == 2 and "--to" in result.stderr and "-20 to 20" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w.gif").exists()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Bright and dark face-like squares: three with, three without."""
    root = tmp_path_factory.mktemp("attr-folders")
    rng = np.random.default_rng(4)
    for name, level in (("with", 200), ("without", 50)):
        (root / name).mkdir()
        for i in range(3):
            Image.fromarray(np.clip(rng.normal(level, 20, (40, 40, 3)), 0, 255).astype(np.uint8)).save(
                root / name / f"{i}.png")
    return root


@pytest.mark.parametrize("kind", ["imported", "demo"])
def test_attributes_from_folders_for_every_model(kinds, folders, kind, tmp_path, capsys):
    ckpt = tmp_path / "m.safetensors"
    shutil.copy(kinds[kind], ckpt)
    shutil.copy(kinds[kind].with_name(kinds[kind].stem + ".attributes.safetensors"),
                tmp_path / "m.attributes.safetensors")
    result = cli(capsys, "attributes", ckpt, "--with", folders / "with", "--without", folders / "without",
                 "--name", "bright")
    assert result.returncode == 0, result.stderr
    assert "stored direction 'bright' (3 with, 3 without; held-out accuracy" in result.stderr
    stored = read_attributes(ckpt)
    assert sorted(stored) == ["bright", "glasses", "smile"] and stored.kind("bright") == "folders"
    assert stored.counts["bright"] == (3, 3)
    listing = cli(capsys, "attributes", ckpt).stdout
    assert "folders" in listing and "taught" in listing
    assert cli(capsys, "attributes", ckpt, "--remove", "bright").returncode == 0
    assert "bright" not in read_attributes(ckpt)


def test_ctrl_c_during_attributes_stores_nothing_and_keeps_the_projections_done(kinds, folders, tmp_path, capsys,
                                                                                   monkeypatch):
    from latentlab.inference import photo

    ckpt = tmp_path / "m.safetensors"
    shutil.copy(kinds["imported"], ckpt)
    real, calls = photo.project_many, []

    def interrupted_on_the_second_folder(*args, **kwargs):
        calls.append(len(args[1]))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(photo, "project_many", interrupted_on_the_second_folder)
    args = ("attributes", ckpt, "--with", folders / "with", "--without", folders / "without", "--name", "bright",
            "--steps", "5")
    result = cli(capsys, *args)
    assert result.returncode == 130 and "interrupted" in result.stderr
    assert read_attributes(ckpt) is None  # nothing half-stored
    calls.clear()
    assert cli(capsys, *args).returncode == 0
    assert calls == [3]  # the --with photos came from the cache; only --without was projected
    assert read_attributes(ckpt).counts["bright"] == (3, 3)

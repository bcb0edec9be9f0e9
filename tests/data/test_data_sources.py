import json
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentlab.config import UserError
from latentlab.data import BatchFeeder, default_cache_dir, open_source
from latentlab.data import cache as cache_mod

ATTRS = ["Eyeglasses", "Male", "Smiling"]


def _celeba_rows(n):
    rows = []
    for i in range(1, n + 1):
        values = [1 if i % 2 else -1, -1, 1 if i % 3 == 0 else -1]
        rows.append(f"{i:06d}.jpg " + " ".join(f"{v:2d}" for v in values))
    return f"{n}\n" + " ".join(ATTRS) + "\n" + "\n".join(rows) + "\n"


def _celeba_image(path, i):
    # Inside the VAE/GAN crop (rows 40:188, cols 15:163) green, outside red.
    a = np.zeros((218, 178, 3), np.uint8)
    a[...] = (220, 0, 0)
    a[40:188, 15:163] = (0, 200, 0)
    a[0, 0] = i  # each file differs
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path, quality=95)


def test_folder_recursive_with_every_extension(tmp_path, cache, make_image):
    d = tmp_path / "faces"
    for i, ext in enumerate(["jpg", "jpeg", "png", "bmp", "webp", "tif", "gif", "JPG"]):
        make_image(d / f"level{i % 2}" / f"img{i}.{ext}", (20, 20), (30 * i, 100, 50))
    (d / "level0" / "notes.txt").write_text("x")
    seen = []
    s = open_source(str(d), 16, holdout=2, cache_dir=cache, progress=lambda done, total: seen.append((done, total)))
    assert len(s) == 8 and s.skipped == 0 and s.holdout == 2 and s.crop == "center"
    assert s.images.dtype == np.uint8 and s.images.shape == (8, 16, 16, 3)
    assert seen[-1] == (8, 8)
    assert s.labels == {}


def test_zip_source_ignores_metadata_members(tmp_path, cache, make_image):
    src = tmp_path / "src"
    for i in range(3):
        make_image(src / f"{i}.png", (20, 20), (i * 80, 10, 10))
    z = tmp_path / "faces.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for i in range(3):
            zf.write(src / f"{i}.png", f"faces/{i}.png")
        zf.writestr("faces/readme.txt", "hello")
        zf.writestr("__MACOSX/faces/._0.png", b"\0\5junk")
        zf.writestr("faces/broken.png", b"\x89PNG\r\n\x1a\nnope")
    s = open_source(str(z), 8, holdout=0, cache_dir=cache)
    assert len(s) == 3 and s.skipped == 1
    assert s.images[2, 4, 4, 0] > 140 and s.images[0, 4, 4, 0] < 20  # sorted member order


def test_celeba_folder_layout_labels_and_auto_crop(tmp_path, cache):
    root = tmp_path / "celeba"
    for i in range(1, 7):
        _celeba_image(root / "img_align_celeba" / f"{i:06d}.jpg", i)
    (root / "list_attr_celeba.txt").write_text(_celeba_rows(8))
    s = open_source(f"celeba:{root}", 16, arch="vaegan", holdout=0, cache_dir=cache)
    assert s.crop == "celeba148" and len(s) == 6
    assert set(s.labels) == set(ATTRS)
    assert s.labels["Eyeglasses"].tolist() == [True, False, True, False, True, False]
    assert s.labels["Smiling"].tolist() == [False, False, True, False, False, True]
    assert not s.labels["Male"].any()
    # Everything kept is inside the crop: green, with no red from the border.
    assert s.images[:, 2:-2, 2:-2, 1].min() > 150 and s.images[:, 2:-2, 2:-2, 0].max() < 60
    dc = open_source(f"celeba:{root / 'img_align_celeba'}", 16, arch="dcgan", holdout=0, cache_dir=cache)
    assert dc.crop == "center" and set(dc.labels) == set(ATTRS)
    assert dc.images[:, 0, :, 0].mean() > 100  # center crop keeps the red band above the face box


def test_celeba_zip_with_attributes_inside(tmp_path, cache):
    src = tmp_path / "src"
    for i in range(1, 5):
        _celeba_image(src / f"{i:06d}.jpg", i)
    z = tmp_path / "img_align_celeba.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for i in range(1, 5):
            zf.write(src / f"{i:06d}.jpg", f"img_align_celeba/{i:06d}.jpg")
        zf.writestr("list_attr_celeba.txt", _celeba_rows(4))
    s = open_source(f"celeba:{z}", 8, holdout=0, cache_dir=cache)
    assert len(s) == 4 and s.labels["Eyeglasses"].tolist() == [True, False, True, False]


def test_celeba_labels_dropped_when_incomplete(tmp_path, cache):
    root = tmp_path / "c"
    for i in range(1, 4):
        _celeba_image(root / "img_align_celeba" / f"{i:06d}.jpg", i)
    (root / "list_attr_celeba.txt").write_text(_celeba_rows(2))  # no row for 000003.jpg
    s = open_source(f"celeba:{root}", 8, holdout=0, cache_dir=cache)
    assert len(s) == 3 and s.labels == {}


def test_lfw_tgz_uses_the_2015_crop(tmp_path, cache):
    src = tmp_path / "lfw-deepfunneled"
    for person in ("Ada_Lovelace", "Alan_Turing"):
        for k in (1, 2):
            a = np.zeros((250, 250, 3), np.uint8)
            a[50:200, 50:200] = (0, 0, 230)  # the 150x150 the crop keeps
            save = src / person / f"{person}_{k:04d}.jpg"
            save.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(a).save(save, quality=95)
    tgz = tmp_path / "lfw-deepfunneled.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(src, arcname="lfw-deepfunneled")
    s = open_source(f"lfw:{tgz}", 16, holdout=0, cache_dir=cache)
    assert s.crop == "lfw150" and len(s) == 4 and s.skipped == 0
    inner = s.images[:, 1:-1, 1:-1]  # the outermost pixels may blend a little of the JPEG-scaled edge
    assert inner[..., 2].min() > 180 and inner[..., :2].max() < 50
    assert s.images[..., 2].mean() > 200
    folder = open_source(f"lfw:{src}", 16, holdout=0, cache_dir=cache)
    assert folder.crop == "lfw150" and np.array_equal(np.sort(folder.images, axis=0), np.sort(s.images, axis=0))


def test_center_and_none_crops(tmp_path, cache):
    a = np.zeros((200, 100, 3), np.uint8)
    a[:50] = (255, 0, 0)
    a[50:150] = (0, 255, 0)
    a[150:] = (0, 0, 255)
    d = tmp_path / "tall"
    d.mkdir()
    Image.fromarray(a).save(d / "tall.png")
    center = open_source(str(d), 16, crop="center", holdout=0, cache_dir=cache).images[0]
    assert center[..., 1].min() > 250 and center[..., 0].max() < 5  # only the middle square
    squash = open_source(str(d), 16, crop="none", holdout=0, cache_dir=cache).images[0]
    assert squash[0, :, 0].min() > 250 and squash[-1, :, 2].min() > 250 and squash[8, :, 1].min() > 250


def test_bad_image_mix_trains_on_the_good_ones(bad_mix, cache):
    s = open_source(str(bad_mix), 16, holdout=0, cache_dir=cache)
    assert len(s) == 5 and s.skipped == 4
    reasons = " ".join(s.skipped_files)
    for name in ("truncated.jpg", "truncated.png", "notes.jpg", "dot.png"):
        assert name in reasons
    by_name = dict(zip(["alpha", "good", "gray", "sixteen", "huge"], s.images))  # sorted: sub/ last
    assert by_name["alpha"].min() == 255  # fully transparent composited on white
    assert abs(int(by_name["gray"][0, 0, 0]) - 128) <= 1 and by_name["gray"].std() < 1
    assert by_name["sixteen"].min() == 255  # 16-bit white scaled to 8-bit white
    assert by_name["huge"][8, 8, 2] > 230 and by_name["huge"][8, 8, 0] < 20
    feeder = BatchFeeder(s, batch=2, seed=0)
    x = feeder.get(0)
    assert x.shape == (2, 3, 16, 16) and feeder.steps_per_epoch == 2
    meta = json.loads(next(cache.glob("*.json")).read_text())
    assert meta["skipped"] == 4


def test_decompression_bomb_is_skipped_not_fatal(tmp_path, cache, monkeypatch, make_image):
    d = tmp_path / "b"
    make_image(d / "big.png", (100, 100))
    make_image(d / "ok.png", (10, 10))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    s = open_source(str(d), 8, holdout=0, cache_dir=cache)
    assert len(s) == 1 and s.skipped == 1


@pytest.mark.parametrize("kind", ["empty", "only_bad", "missing", "text_only"])
def test_no_readable_images_is_a_user_error_before_training(tmp_path, cache, kind, make_image):
    d = tmp_path / "src"
    if kind != "missing":
        d.mkdir()
    if kind == "only_bad":
        (d / "a.jpg").write_text("no")
        make_image(d / "b.png", (2, 2))
    if kind == "text_only":
        (d / "a.txt").write_text("no")
    with pytest.raises(UserError) as err:
        open_source(str(d), 16, cache_dir=cache)
    msg = str(err.value)
    assert str(d) in msg and "\n" not in msg
    if kind == "missing":
        assert "no such file or folder" in msg
    else:
        assert f"no readable images ({2 if kind == 'only_bad' else 0} files skipped)" in msg
    assert not list(cache.glob("*.json")) and not list(cache.glob("*.npy"))


def test_unknown_file_and_bad_specs(tmp_path, cache):
    f = tmp_path / "faces.txt"
    f.write_text("x")
    for spec in (str(f), "synthetic:zero", "synthetic:0", "celeba:"):
        with pytest.raises(UserError):
            open_source(spec, 16, cache_dir=cache)
    bad_zip = tmp_path / "x.zip"
    bad_zip.write_text("not a zip")
    with pytest.raises(UserError, match="x.zip"):
        open_source(str(bad_zip), 16, cache_dir=cache)
    with pytest.raises(UserError, match="crop"):
        open_source("synthetic", 16, crop="square", cache_dir=cache)


def test_cache_is_reused_without_decoding_and_rebuilt_when_files_change(tmp_path, cache, monkeypatch, make_image):
    d = tmp_path / "faces"
    for i in range(4):
        make_image(d / f"{i}.png", (20, 20), (i * 60, 0, 0))
    first = open_source(str(d), 8, holdout=0, cache_dir=cache)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(cache_mod, "decode", no_decoding)
    second = open_source(str(d), 8, holdout=0, cache_dir=cache)
    assert second.fingerprint == first.fingerprint
    assert isinstance(second.images, np.memmap) and np.array_equal(second.images, first.images)
    monkeypatch.undo()
    make_image(d / "4.png", (20, 20), (0, 0, 255))
    third = open_source(str(d), 8, holdout=0, cache_dir=cache)
    assert third.fingerprint != first.fingerprint and len(third) == 5
    fourth = open_source(str(d), 12, holdout=0, cache_dir=cache)
    assert fourth.fingerprint != third.fingerprint


def test_interrupted_build_leaves_no_cache(tmp_path, cache, monkeypatch, make_image):
    d = tmp_path / "faces"
    for i in range(6):
        make_image(d / f"{i}.png", (20, 20))
    real = cache_mod.decode
    calls = {"n": 0}

    def dies_midway(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_mod, "decode", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        open_source(str(d), 8, cache_dir=cache)
    assert list(cache.iterdir()) == []
    monkeypatch.undo()
    assert len(open_source(str(d), 8, holdout=0, cache_dir=cache)) == 6


def test_damaged_cache_is_rebuilt(tmp_path, cache, make_image):
    d = tmp_path / "faces"
    for i in range(3):
        make_image(d / f"{i}.png", (20, 20))
    first = open_source(str(d), 8, holdout=0, cache_dir=cache)
    npy = first.cache_path
    del first
    npy.write_bytes(npy.read_bytes()[:200])  # truncated on disk
    again = open_source(str(d), 8, holdout=0, cache_dir=cache)
    assert again.images.shape == (3, 8, 8, 3)


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "envcache"))
    s = open_source("synthetic", 8, synthetic_count=4, holdout=1)
    assert s.cache_path.parent == tmp_path / "envcache"


@pytest.mark.parametrize(("platform", "environ", "expected"), [
    ("linux", {"LATENTLAB_CACHE": "/srv/cache"}, "/srv/cache"),
    ("darwin", {"LATENTLAB_CACHE": "/srv/cache", "XDG_CACHE_HOME": "/x"}, "/srv/cache"),
    ("linux", {"XDG_CACHE_HOME": "/xdg"}, "/xdg/latentlab"),
    ("linux", {"XDG_CACHE_HOME": "relative/ignored"}, "~/.cache/latentlab"),
    ("linux", {}, "~/.cache/latentlab"),
    ("freebsd14", {"XDG_CACHE_HOME": "/xdg"}, "/xdg/latentlab"),
    ("darwin", {"XDG_CACHE_HOME": "/xdg"}, "~/Library/Caches/latentlab"),
    ("win32", {"LOCALAPPDATA": "/users/ada/AppData/Local"}, "/users/ada/AppData/Local/latentlab/Cache"),
    ("win32", {}, "~/AppData/Local/latentlab/Cache"),
])
def test_default_cache_dir_follows_the_platform(platform, environ, expected):
    assert default_cache_dir(platform, environ) == Path(os.path.expanduser(expected))


def test_default_cache_dir_reads_xdg_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("LATENTLAB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir("linux") == tmp_path / "xdg" / "latentlab"


def test_cut_off_tgz_yields_the_images_before_the_damage(tmp_path, cache, make_image):
    src = tmp_path / "people"
    for i in range(30):
        noise = np.random.default_rng(i).integers(0, 255, (40, 40, 3)).astype(np.uint8)
        src.mkdir(exist_ok=True)
        Image.fromarray(noise).save(src / f"p{i:02d}.png")
    tgz = tmp_path / "people.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(src, arcname="people")
    data = tgz.read_bytes()
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(data[: len(data) // 2])
    s = open_source(f"lfw:{cut}", 8, holdout=0, cache_dir=cache)
    assert 5 < len(s) < 30
    garbage = tmp_path / "garbage.tgz"
    garbage.write_bytes(b"\x1f\x8b" + b"\0" * 50)
    with pytest.raises(UserError, match="garbage.tgz"):
        open_source(str(garbage), 8, cache_dir=cache)


def test_symlink_loop_in_a_folder_is_walked_once(tmp_path, cache, make_image):
    d = tmp_path / "faces"
    make_image(d / "a" / "1.png", (20, 20))
    (d / "a" / "loop").symlink_to(d)
    s = open_source(str(d), 8, holdout=0, cache_dir=cache)
    assert len(s) == 1

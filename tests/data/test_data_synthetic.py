import numpy as np

from latentlab.data import open_source
from latentlab.data.synthetic import FACTORS, HAIR_STYLES, binary_labels, render_face, sample_factors


def test_same_index_renders_identical_pixels_and_factors():
    a, fa = render_face(7, 32)
    b, fb = render_face(7, 32)
    assert a.dtype == np.uint8 and a.shape == (32, 32, 3)
    assert np.array_equal(a, b)
    assert fa == fb
    assert list(fa) == FACTORS


def test_different_indices_differ_and_vary():
    faces = [render_face(i, 16)[0].astype(np.int16) for i in range(12)]
    for i in range(len(faces)):
        for j in range(i + 1, len(faces)):
            assert np.abs(faces[i] - faces[j]).mean() > 3
    factors = [sample_factors(i) for i in range(300)]
    styles = {HAIR_STYLES[int(f["hair_style"])] for f in factors}
    assert styles == set(HAIR_STYLES)
    smiles = np.array([f["smile"] for f in factors])
    assert smiles.min() < -0.4 and smiles.max() > 0.8
    tones = np.array([f["skin_tone"] for f in factors])
    assert tones.min() < 0.1 and tones.max() > 0.85
    labels = [binary_labels(f) for f in factors]
    for name in ("smiling", "glasses", "bald", "long_hair", "blond_hair", "dark_hair", "pale_skin", "beard"):
        share = np.mean([lab[name] for lab in labels])
        assert 0.03 < share < 0.97, name


def test_faces_are_centred_with_background_at_the_corners():
    img, _ = render_face(3, 64)
    img = img.astype(np.float32)
    corners = np.stack([img[:4, :4], img[:4, -4:]]).reshape(-1, 3).mean(0)
    centre = img[28:36, 28:36].reshape(-1, 3).mean(0)
    assert np.abs(corners - centre).sum() > 20  # a face, not a flat field
    assert img.std() > 20


def test_smile_factor_bends_the_mouth(monkeypatch):
    """Corners above the centre for a smile, below for a frown: compare the dark mouth line's rows."""
    from latentlab.data import synthetic

    base = synthetic.sample_factors(11)
    base.update(glasses=0.0, beard=0.0, yaw=0.0, tilt=0.0, light_strength=0.0, mouth_width=1.0)

    def mouth_rows(smile):
        f = dict(base, smile=smile)
        img = synthetic._draw(f, 128).mean(axis=2)
        rows = slice(80, 112)
        centre = img[rows, 62:66].mean(axis=1).argmin()
        corners = img[rows, 52:56].mean(axis=1).argmin()
        return centre, corners

    c, k = mouth_rows(1.0)
    assert k < c  # smile: corners higher (smaller row)
    c, k = mouth_rows(-1.0)
    assert k > c


def test_synthetic_source_has_labels_factors_and_last_images_held_out(cache):
    s = open_source("synthetic", 16, synthetic_count=40, holdout=8, cache_dir=cache)
    assert len(s) == 40 and s.images.shape == (40, 16, 16, 3) and s.skipped == 0
    assert s.holdout == 8 and s.train_count == 32
    assert np.array_equal(s.images[0], render_face(0, 16)[0])
    assert np.array_equal(s.images[39], render_face(39, 16)[0])
    assert {"smiling", "glasses", "dark_hair"} <= set(s.labels)
    for name, values in s.labels.items():
        assert values.dtype == bool and values.shape == (40,)
        assert values[5] == binary_labels(render_face(5, 16)[1])[name]
    assert np.allclose(s.factors["smile"][:3], [render_face(i, 16)[1]["smile"] for i in range(3)])
    again = open_source("synthetic:40", 16, holdout=8, cache_dir=cache)
    assert again.fingerprint == s.fingerprint
    other = open_source("synthetic", 16, synthetic_count=41, cache_dir=cache)
    assert other.fingerprint != s.fingerprint


def test_large_sets_render_half_in_a_helper_process_with_identical_faces(cache, monkeypatch):
    from latentlab.data import cache as cache_mod

    monkeypatch.setattr(cache_mod, "PARALLEL_RENDER_MIN", 16)
    seen = []
    s = open_source("synthetic", 8, synthetic_count=40, cache_dir=cache, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (40, 40)
    for i in (0, 19, 20, 39):  # both halves
        img, fac = render_face(i, 8)
        assert np.array_equal(s.images[i], img)
        assert s.factors["smile"][i] == np.float32(fac["smile"])
    assert sorted(p.suffix for p in cache.iterdir()) == [".json", ".npy", ".npz"]  # helper file removed


def test_helper_process_failure_falls_back_to_rendering_here(cache, monkeypatch):
    from latentlab.data import cache as cache_mod

    monkeypatch.setattr(cache_mod, "PARALLEL_RENDER_MIN", 16)
    monkeypatch.setattr(cache_mod.sys, "executable", "/nonexistent/python")
    s = open_source("synthetic", 8, synthetic_count=24, cache_dir=cache)
    assert np.array_equal(s.images[23], render_face(23, 8)[0])


def test_reopening_a_synthetic_set_renders_nothing(cache, monkeypatch):
    from latentlab.data import synthetic_render

    first = open_source("synthetic", 8, synthetic_count=12, holdout=2, cache_dir=cache)

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(synthetic_render, "render_many", no_render)
    again = open_source("synthetic", 8, synthetic_count=12, holdout=2, cache_dir=cache)
    assert np.array_equal(again.images, first.images) and again.labels.keys() == first.labels.keys()


def test_renderer_and_cache_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, latentlab.data, latentlab.data.synthetic; "
            "latentlab.data.synthetic.render_face(0, 16); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_killed_cache_build_leaves_temporary_files_the_next_build_removes(tmp_path):
    """A build killed mid-way leaves its temporary files (hundreds of MB for a large source); the next
    build on this host removes those of dead processes and leaves a live build's alone."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = ("import sys; from latentlab.data import open_source; "
            "open_source('synthetic', 32, synthetic_count=200000, cache_dir=sys.argv[1])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=dict(os.environ, PYTHONPATH=str(root)))
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not list(tmp_path.glob(".*.build-*.tmp")):
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    left = list(tmp_path.glob(".*.build-*.tmp"))
    assert left, "the build never started writing"
    live = tmp_path / f".other.npy.0000.build-{socket.gethostname()}-{os.getppid()}.tmp"
    elsewhere = tmp_path / ".other.npy.0000.build-another-host-1.tmp"
    live.write_bytes(b"a build still running")
    elsewhere.write_bytes(b"a build on another machine sharing the folder")
    data = open_source("synthetic", 32, synthetic_count=16, cache_dir=tmp_path)
    assert len(data) == 16
    assert not any(p.exists() for p in left)
    assert live.exists() and elsewhere.exists()

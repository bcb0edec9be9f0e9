"""A built wheel installed into a fresh virtual environment carries the app, the CLI, the presets and the demo.

The wheel is built from a copy of the project's tracked files, installed without its dependencies
into a new venv whose only link to this environment is a .pth file naming the site-packages that
already hold torch, PySide6 and the rest (so nothing is downloaded and nothing heavy is copied), and
every command runs with its working directory outside the checkout and no PYTHONPATH.
"""

import zipfile
from pathlib import Path

import pytest

from devtools.wheel_venv import ROOT, build_wheel, install_into_new_venv, isolated_env, run


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin folder, environment, working folder) of a non-editable install of a fresh wheel."""
    base = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(base / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    assert "latentlab/_resources/presets/tiny.toml" in names
    assert not [n for n in names if n.startswith(("resources/", "tests/", "scripts/", "devtools/"))]
    bindir = install_into_new_venv(wheel, base / "venv")
    work = base / "work"
    work.mkdir()
    return bindir, isolated_env(bindir, base), work


def _latentlab(installed, *args):
    bindir, env, work = installed
    return run([bindir / "latentlab", *args], cwd=work, env=env)


def test_the_installed_package_is_the_wheel(installed):
    bindir, env, work = installed
    code = ("import latentlab, latentlab.resources as r; "
            "print(latentlab.__file__); print(r.demo_checkpoint()); print(latentlab.__version__)")
    out = run([bindir / "python", "-c", code], cwd=work, env=env).stdout.split()
    assert all(Path(p).resolve().is_relative_to(bindir.parent.resolve()) for p in out[:2]), out
    assert Path(out[1]).is_file()


def test_version(installed):
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert _latentlab(installed, "--version").stdout.strip() == f"latentlab {version}"


def test_presets(installed):
    listed = [line.split()[0] for line in _latentlab(installed, "presets").stdout.splitlines()]
    assert listed == sorted(p.stem for p in (ROOT / "resources" / "presets").glob("*.toml"))


def test_sample_from_the_shipped_demo(installed):
    bindir, env, work = installed
    demo = run([bindir / "python", "-c", "from latentlab.resources import demo_checkpoint as d; print(d())"],
               cwd=work, env=env).stdout.strip()
    _latentlab(installed, "sample", demo, "--out", "grid.png", "--n", "4")
    import numpy as np
    from PIL import Image

    grid = np.asarray(Image.open(work / "grid.png").convert("RGB"))
    assert grid.shape[0] > 32 and grid.std() > 10  # faces, not a blank image


def test_gui_screenshot_offscreen(installed):
    work = installed[2]
    _latentlab(installed, "gui", "--screenshot", "window.png")
    from PIL import Image

    shot = Image.open(work / "window.png")
    assert shot.size[0] >= 640 and shot.size[1] >= 400

"""A built wheel installed into a fresh virtual environment carries the app, the CLI, the presets and the demo.

The wheel is built from a copy of the project's tracked files, installed without its dependencies
into a new venv whose only link to this environment is a .pth file naming the site-packages that
already hold torch, PySide6 and the rest (so nothing is downloaded and nothing heavy is copied), and
every command runs with its working directory outside the checkout and no PYTHONPATH.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("pyproject.toml", "setup.py", "README.md", "latentlab", "resources")


def _run(cmd, cwd, env=None, timeout=300):
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, f"{cmd}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def _dependency_paths() -> list[str]:
    """Where this interpreter finds torch, PySide6 & co., minus the checkout and the standard library."""
    stdlib = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
    paths = [sysconfig.get_paths()["purelib"], *sys.path]
    keep = []
    for p in paths:
        path = Path(p).resolve() if p else None
        if path is None or not path.is_dir() or str(path) in stdlib or path.is_relative_to(ROOT):
            continue
        if path.name in ("site-packages", "dist-packages") or (path / "torch").is_dir():
            keep.append(str(path))
    return list(dict.fromkeys(keep))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv, environment, working folder) of a non-editable install of a freshly built wheel."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    source.mkdir()
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, source / name)
    dist = base / "dist"
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, source], cwd=base)
    (wheel,) = dist.glob("latentlab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "latentlab/_resources/presets/tiny.toml" in names
    assert not [n for n in names if n.startswith(("resources/", "tests/", "scripts/"))]

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base)
    python = venv / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=base).stdout.strip())
    (purelib / "zz_latentlab_test_dependencies.pth").write_text("\n".join(_dependency_paths()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
         cwd=base)
    shutil.rmtree(source)  # the install must not lean on the files it was built from

    work = base / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1", LATENTLAB_CACHE=str(base / "cache"),
               LATENTLAB_SETTINGS_DIR=str(base / "settings"), PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    return venv, env, work


def _latentlab(installed, *args):
    venv, env, work = installed
    return _run([venv / "bin" / "latentlab", *args], cwd=work, env=env)


def test_the_installed_package_is_the_wheel(installed):
    venv, env, work = installed
    code = ("import latentlab, latentlab.resources as r; "
            "print(latentlab.__file__); print(r.demo_checkpoint()); print(latentlab.__version__)")
    out = _run([venv / "bin" / "python", "-c", code], cwd=work, env=env).stdout.split()
    assert all(Path(p).resolve().is_relative_to(venv.resolve()) for p in out[:2]), out
    assert Path(out[1]).is_file()


def test_version(installed):
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert _latentlab(installed, "--version").stdout.strip() == f"latentlab {version}"


def test_presets(installed):
    listed = [line.split()[0] for line in _latentlab(installed, "presets").stdout.splitlines()]
    assert listed == sorted(p.stem for p in (ROOT / "resources" / "presets").glob("*.toml"))


def test_sample_from_the_shipped_demo(installed):
    venv, env, work = installed
    demo = _run([venv / "bin" / "python", "-c", "from latentlab.resources import demo_checkpoint as d; print(d())"],
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

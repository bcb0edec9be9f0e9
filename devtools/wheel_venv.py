"""Build latentlab's wheel and install it, non-editable, into a fresh virtual environment.

Shared by tests/test_packaging.py and devtools/bench/install.py. No network: the wheel is built
without build isolation, and the new venv borrows torch, PySide6 & co. from the running interpreter
through a .pth file (site-packages paths only: never the checkout, never its PYTHONPATH), so a
install takes seconds and no 6 GB of dependencies are copied.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("pyproject.toml", "setup.py", "README.md", "latentlab", "resources")


def run(cmd, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({result.returncode})\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result


def dependency_paths() -> list[str]:
    """Where this interpreter finds torch, PySide6 & co., minus the checkout and the standard library."""
    paths = sysconfig.get_paths()
    stdlib = {paths["stdlib"], paths["platstdlib"]}
    keep = []
    for p in [paths["purelib"], *sys.path]:
        path = Path(p).resolve() if p else None
        # The checkout itself never qualifies (it is not a site-packages and holds no torch); a venv
        # inside it (scripts/setup_env.sh makes .venv there) does, and its .pth files are not run.
        if path is None or not path.is_dir() or str(path) in stdlib or path == ROOT:
            continue
        if path.name in ("site-packages", "dist-packages") or (path / "torch").is_dir():
            keep.append(str(path))
    return list(dict.fromkeys(keep))


def build_wheel(out_dir: Path) -> Path:
    """Build from a copy of the project's files (the checkout gets no build/ or egg-info)."""
    source = out_dir / "src"
    source.mkdir(parents=True)
    for name in PROJECT_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out_dir, source], cwd=out_dir)
    shutil.rmtree(source)
    (wheel,) = out_dir.glob("latentlab-*.whl")
    return wheel


def install_into_new_venv(wheel: Path, venv: Path) -> Path:
    """A venv holding only the wheel (plus the .pth to the dependencies); returns its bin/ folder."""
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=venv.parent)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       cwd=venv.parent).stdout.strip())
    (purelib / "zz_latentlab_dependencies.pth").write_text("\n".join(dependency_paths()) + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
        cwd=venv.parent)
    return bindir


def isolated_env(bindir: Path, scratch: Path) -> dict[str, str]:
    """The environment a user of the venv would have: no PYTHONPATH, offscreen Qt, caches in `scratch`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(QT_QPA_PLATFORM=env.get("QT_QPA_PLATFORM", "offscreen"), OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"),
               LATENTLAB_CACHE=str(scratch / "cache"), LATENTLAB_SETTINGS_DIR=str(scratch / "settings"),
               PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}")
    return env

"""devtools/: the developer's tools are a package run from the project root (`python -m devtools...`),
so every module imports as it is, without touching sys.path, and none ships in the wheel
(tests/test_packaging.py checks the wheel's contents)."""

import importlib
import pkgutil
import sys
from pathlib import Path

import devtools

ROOT = Path(__file__).resolve().parent.parent


def _modules():
    return sorted(m.name for m in pkgutil.walk_packages(devtools.__path__, "devtools."))


def test_every_folder_is_a_package():
    folders = {p.parent for p in (ROOT / "devtools").rglob("*.py")}
    assert all((folder / "__init__.py").is_file() for folder in folders)


def test_every_tool_imports_without_changing_sys_path():
    names = _modules()
    assert {"devtools.wheel_venv", "devtools.bench.recon", "devtools.gpu.check", "devtools.demo.train",
            "devtools.figures.explorer"} <= set(names)
    before = list(sys.path)
    for name in names:
        importlib.import_module(name)
    assert sys.path == before
    assert not [p for p in (ROOT / "devtools").rglob("*.py") if "sys.path.insert" in p.read_text(encoding="utf-8")]


def test_the_demo_build_trains_its_presets():
    from devtools.demo.train import demo_config, parse_args

    for size in (32, 64):
        cfg = demo_config(parse_args(["--size", str(size)]))
        assert (cfg.name, cfg.model.image_size, cfg.model.arch) == (f"demo-vaegan{size}", size, "vaegan")
    paper = demo_config(parse_args(["--paper", "--device", "cpu", "--set", "train.steps=7"]))
    assert (paper.model.vae_upsample, paper.train.vae_pixel_weight, paper.train.steps) == ("convT5", 0.0, 7)

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


def test_hardening_brings_a_photos_code_towards_its_clean_faces():
    """devtools.demo.harden: after a few steps on (photo i, cartoon i) pairs the encoder's code of
    each photo is nearer the code it gives the clean face than before, and the decoder is untouched."""
    import copy

    import torch

    from devtools.demo.harden import degrade, harden, render_pairs
    from latentlab.config import apply_override, load_preset
    from latentlab.models import build_models
    from latentlab.models.common import from_uint8

    cfg = load_preset("demo-vaegan32")
    for key in ("g_width=4", "d_width=4", "e_width=4", "latent_dim=8"):
        apply_override(cfg, key)
    torch.manual_seed(0)
    nets = build_models(cfg.validate().model)
    E, G = nets["E"].eval(), nets["G"].eval()
    photos, cartoons = render_pairs(0, 48, 32)
    p, c = from_uint8(torch.from_numpy(photos)), from_uint8(torch.from_numpy(cartoons))

    with torch.no_grad():
        teacher = E(c)[0].clone()
        before = float((E(p)[0] - teacher).pow(2).mean())
    g_before = {k: v.clone() for k, v in G.state_dict().items()}
    harden(copy.deepcopy(E), G, photos, cartoons, steps=3, batch=16)  # with the decoder's pixel term
    assert all(torch.equal(v, g_before[k]) for k, v in G.state_dict().items())
    harden(E, G, photos, cartoons, steps=40, batch=16, lr=1e-3, pixel_weight=0.0)
    with torch.no_grad():
        after = float((E(p)[0] - teacher).pow(2).mean())
    assert after < 0.5 * before
    x = degrade(c[:8], torch.Generator().manual_seed(1))
    assert x.shape == c[:8].shape and x.min() >= -1 and x.max() <= 1 and not torch.equal(x, c[:8])
    assert torch.equal(x, degrade(c[:8], torch.Generator().manual_seed(1)))

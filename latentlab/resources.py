"""Files that ship with latentlab: the presets and the demo model.

The repository keeps them in a top-level `resources/` folder; a built wheel carries the same files
inside the package as `latentlab/_resources/` (setup.py maps one onto the other). This module is the
one place that knows both: an installed package finds its own copy through importlib.resources, and
a source checkout (PYTHONPATH or an editable install) finds `resources/` beside the package.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

# The demo checkpoint shipped in resources/demo/ (devtools/demo/train.py writes it). Rename it here only.
DEMO_NAME = "vaegan32.safetensors"


@cache
def resource_root() -> Path:
    """The folder holding `presets/` and `demo/`."""
    packaged = resources.files("latentlab") / "_resources"
    if packaged.is_dir():
        return Path(str(packaged))  # wheels are installed unpacked, so this is a real folder
    return Path(__file__).resolve().parent.parent / "resources"


def preset_dir() -> Path:
    return resource_root() / "presets"


def demo_checkpoint() -> Path:
    """The bundled demo model (may be absent in a checkout where devtools/demo/train.py was not run)."""
    return resource_root() / "demo" / DEMO_NAME

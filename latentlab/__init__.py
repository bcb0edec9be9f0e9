"""latentlab: train face GANs and VAE/GANs and explore their latent space."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def package_version() -> str:
    """The version written once, in pyproject.toml.

    A source checkout (PYTHONPATH or an editable install) reads it from the pyproject.toml beside the
    package, so it never reports the metadata of some other installed copy; an installed wheel reads
    its own metadata.
    """
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            project = {}
        if project.get("name") == "latentlab" and "version" in project:
            return str(project["version"])
    from importlib import metadata

    try:
        return metadata.version("latentlab")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def __getattr__(name: str):
    if name in ("load", "Model", "Faces"):  # the Python API (latentlab.inference.api), imported on first use
        from latentlab.inference import api

        return getattr(api, name)
    if name == "__version__":  # computed on first use: importing latentlab reads no files
        return package_version()
    raise AttributeError(f"module 'latentlab' has no attribute {name!r}")

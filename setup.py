# Everything about the project is in pyproject.toml; this file only adds what its static tables cannot
# say: ship the top-level resources/ folder inside the package, as latentlab/_resources
# (latentlab/resources.py finds it there, or beside the package in a source checkout).
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["latentlab", "latentlab.*"]) + ["latentlab._resources"],
    package_dir={"latentlab._resources": "resources"},
    package_data={"latentlab._resources": ["presets/*.toml", "demo/*.safetensors"]},
)

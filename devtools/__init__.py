"""The project's own tools, run from the repository root as `python -m devtools.<kind>.<name>`: not part
of the installed package (setup.py ships only `latentlab`). wheel_venv builds and installs the wheel
for tests/test_packaging.py and the install benchmark; bench/ measures, figures/ draws the docs'
figures, gpu/ is scripts/gpu_check.sh's driver, demo/ trains the bundled demo model."""

"""The GPU check: check.py runs each step (scripts/gpu_check.sh calls it), preset.py times presets."""

"""The bundled demo model: train.py trains it from the demo-vaegan32 / demo-vaegan64 presets."""

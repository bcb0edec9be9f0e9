"""Widgets several tabs share: image views, plots, the sample grid, alerts, the nearest-images dialog."""

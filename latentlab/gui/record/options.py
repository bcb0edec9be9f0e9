"""The Record panel's walk options (interpolation, easing, length, grid, size, truncation) as a form."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
)

from latentlab.latent.choices import EASING_NAMES, INTERPOLATION_NAMES, UPSCALE_NAMES


def build_options(panel) -> QGroupBox:
    """Create the option widgets as attributes of `panel` (panel.frames, panel.fps, …), wired to its
    _walk_changed/_fps_changed, and return the group box holding them."""
    panel.interp = QComboBox()
    panel.interp.addItems(list(INTERPOLATION_NAMES))
    panel.ease = QComboBox()
    panel.ease.addItems(list(EASING_NAMES))
    panel.frames = QSpinBox(minimum=1, maximum=10000, value=30)
    panel.fps = QDoubleSpinBox(minimum=1, maximum=120, value=30, decimals=1)
    panel.loop = QCheckBox("Loop back to the first keyframe")
    panel.rows = QSpinBox(minimum=1, maximum=16, value=1)
    panel.cols = QSpinBox(minimum=1, maximum=16, value=1)
    grid = QHBoxLayout()
    grid.addWidget(panel.rows)
    grid.addWidget(QLabel("×"))
    grid.addWidget(panel.cols)
    grid.addStretch(1)
    panel.rows.setToolTip("Grid rows: the first cell walks these keyframes, the others walk random faces "
                          "(as many keyframes, seeded by the seed box)")
    panel.cols.setToolTip(panel.rows.toolTip())
    panel.size_box = QSpinBox(minimum=0, maximum=4096, value=256, singleStep=64, suffix=" px")
    panel.size_box.setSpecialValueText("model's size")
    panel.size_box.setToolTip("Each cell's side in the video (0: the model's resolution)")
    panel.upscale = QComboBox()
    panel.upscale.addItems(list(UPSCALE_NAMES))
    panel.upscale.setCurrentText("bicubic")  # as the Explore view: smooth, not a mosaic of model pixels
    panel.upscale.setToolTip("How each frame is enlarged to the output size: bicubic (smooth) or nearest "
                             "(the model's square pixels)")
    panel.truncation = QDoubleSpinBox(minimum=0.05, maximum=1.0, value=1.0, singleStep=0.05, decimals=2)
    panel.truncation.setToolTip("ψ: pull every frame's latent toward the mean (1: unchanged)")
    form = QFormLayout()
    form.addRow("Interpolation", panel.interp)
    form.addRow("Easing", panel.ease)
    form.addRow("Frames per segment", panel.frames)
    form.addRow("Frames per second", panel.fps)
    form.addRow("", panel.loop)
    form.addRow("Grid (rows × cols)", grid)
    form.addRow("Output size", panel.size_box)
    form.addRow("Upscale", panel.upscale)
    form.addRow("Truncation ψ", panel.truncation)
    panel.length_label = QLabel()
    form.addRow("Length", panel.length_label)
    options = QGroupBox("Options")
    options.setLayout(form)
    for w in (panel.interp, panel.ease):
        w.currentIndexChanged.connect(panel._walk_changed)
    for w in (panel.frames, panel.truncation):
        w.valueChanged.connect(panel._walk_changed)
    panel.loop.toggled.connect(panel._walk_changed)
    panel.fps.valueChanged.connect(panel._fps_changed)
    return options

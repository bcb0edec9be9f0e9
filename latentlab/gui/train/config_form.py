"""A hyperparameter form generated from the config dataclasses, so a new field appears without GUI work.

The key fields come first; every other field sits under "All settings". Labels and tooltips come from
each field's metadata in config.py (`opt(default, label, help)`), the config key in the tooltip.
"""

from __future__ import annotations

import dataclasses
import math
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab import config as config_module
from latentlab.config import ARCHS, VAE_UPSAMPLINGS, Config, UserError, apply_override, describe

# Chosen elsewhere in the panel (source picker, device combo), so not repeated in the form.
HANDLED_ELSEWHERE = {"data.source", "train.device"}

# The fields shown first (labels and help live in each field's metadata in config.py).
KEY_FIELDS = ("model.arch", "model.image_size", "model.latent_dim", "model.g_width", "model.d_width",
              "train.steps", "train.batch", "train.lr_d", "train.lr_g", "train.margin", "train.l2_adaptive",
              "train.l2_band_low", "train.l2_band_high", "train.ema", "train.seed", "train.sample_every",
              "train.checkpoint_every", "train.quality_every")

CHOICES = {
    "model.arch": ARCHS,
    "model.image_size": (32, 64, 128),
    "data.crop": ("auto", "center", "celeba148", "lfw150", "none"),
    "train.amp": ("auto", "bf16", "off"),
    "train.optimizer": ("adam", "rmsprop"),
    "model.vae_upsample": VAE_UPSAMPLINGS,
}
# Fields best stepped multiplicatively (learning rates, tiny coefficients).
LOG_FIELDS = {"train.lr_d", "train.lr_g", "train.lr_min", "train.l2_step", "train.l2_init", "train.vae_gamma",
              "train.weight_decay", "train.rms_eps"}
FLOAT_RANGES = {"train.margin": (0.0, 0.499), "train.ema": (0.0, 0.99999), "train.adam_beta1": (0.0, 0.99999),
                "train.adam_beta2": (0.0, 0.99999), "train.lr_decay": (0.0, 1.0),
                "train.instance_noise": (0.0, 2.0), "train.instance_noise_end": (0.0, 2.0)}


def tooltip_for(key: str) -> str:
    """The field's help with its config key (what --set and config.toml call it)."""
    text = describe(key)[1]
    return f"{text}<br><small>{key}</small>" if text else f"<small>{key}</small>"


class ScientificSpinBox(QDoubleSpinBox):
    """A float spin box that shows 2e-04 rather than 0.00020 and steps log-scale fields by ×1.26."""

    def __init__(self, log_steps: bool = False, parent=None):
        super().__init__(parent)
        self.log_steps = log_steps
        self.setDecimals(12)
        self.setRange(0.0, 1e9)
        self.setKeyboardTracking(False)
        self.setSingleStep(0.01)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        stripped = text.strip()
        try:
            float(stripped)
            return QValidator.Acceptable, text, pos
        except ValueError:
            if re.fullmatch(r"[-+]?(\d*\.?\d*)([eE][-+]?\d*)?", stripped):
                return QValidator.Intermediate, text, pos
            return QValidator.Invalid, text, pos

    def stepBy(self, steps: int) -> None:
        if not self.log_steps:
            super().stepBy(steps)
            return
        value = self.value() or 1e-6
        value *= 10 ** (steps / 10)
        digits = 2 - math.floor(math.log10(abs(value)))
        self.setValue(round(value, digits))


def _editor_for(key: str, default) -> QWidget:
    if key in CHOICES:
        box = QComboBox()
        for choice in CHOICES[key]:
            box.addItem(str(choice), choice)
        return box
    if isinstance(default, bool):
        return QCheckBox()
    if isinstance(default, int):
        box = QSpinBox()
        box.setRange(0, 2_000_000_000)
        box.setKeyboardTracking(False)
        box.setGroupSeparatorShown(True)
        return box
    if isinstance(default, float):
        box = ScientificSpinBox(log_steps=key in LOG_FIELDS)
        lo, hi = FLOAT_RANGES.get(key, (0.0, 1e9))
        box.setRange(lo, hi)
        return box
    return QLineEdit()


def _read(editor: QWidget):
    if isinstance(editor, QComboBox):
        return editor.currentData()
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        return editor.value()
    return editor.text()


def _write(editor: QWidget, value) -> None:
    editor.blockSignals(True)
    try:
        if isinstance(editor, QComboBox):
            index = editor.findData(value)
            if index < 0:  # a value outside the usual choices (a hand-edited TOML): keep it selectable
                editor.addItem(str(value), value)
                index = editor.count() - 1
            editor.setCurrentIndex(index)
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.setValue(value)
        else:
            editor.setText(str(value))
    finally:
        editor.blockSignals(False)


def _changed_signal(editor: QWidget):
    if isinstance(editor, QComboBox):
        return editor.currentIndexChanged
    if isinstance(editor, QCheckBox):
        return editor.toggled
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        return editor.valueChanged
    return editor.editingFinished


class ConfigFormWidget(QWidget):
    """Edits a Config; `apply_to(cfg)` writes the shown values into a copy."""

    edited = Signal(str)  # the key the user changed

    def __init__(self, parent=None):
        super().__init__(parent)
        self.editors: dict[str, QWidget] = {}
        defaults = Config()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        key_form = QFormLayout()
        key_form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        key_form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        for key in KEY_FIELDS:
            self._add_row(key_form, key, describe(key)[0], defaults)
        layout.addLayout(key_form)

        self.more_button = QToolButton(text="All settings")
        self.more_button.setCheckable(True)
        self.more_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.more_button.setArrowType(Qt.RightArrow)
        self.more_button.setAutoRaise(True)
        layout.addWidget(self.more_button)
        self.more = QWidget()
        more_form = QFormLayout(self.more)
        more_form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        more_form.setContentsMargins(0, 0, 0, 0)
        for section in config_module.SECTIONS:
            heading = QLabel(section.capitalize())
            heading.setObjectName("heading")
            more_form.addRow(heading)
            for f in dataclasses.fields(getattr(defaults, section)):
                key = f"{section}.{f.name}"
                if key not in KEY_FIELDS and key not in HANDLED_ELSEWHERE:
                    self._add_row(more_form, key, describe(key)[0], defaults)
        self.more.setVisible(False)
        layout.addWidget(self.more)
        self.more_button.toggled.connect(self._toggle_more)

    def _add_row(self, form: QFormLayout, key: str, label: str, defaults: Config) -> None:
        section, name = key.split(".")
        editor = _editor_for(key, getattr(getattr(defaults, section), name))
        tip = tooltip_for(key)
        editor.setToolTip(tip)
        editor.setObjectName(key)
        label_widget = QLabel(label)
        label_widget.setToolTip(tip)
        form.addRow(label_widget, editor)
        self.editors[key] = editor
        _changed_signal(editor).connect(lambda *_, k=key: self.edited.emit(k))

    def _toggle_more(self, shown: bool) -> None:
        self.more.setVisible(shown)
        self.more_button.setArrowType(Qt.DownArrow if shown else Qt.RightArrow)

    def keys(self) -> list[str]:
        return list(self.editors)

    def value(self, key: str):
        return _read(self.editors[key])

    def set_value(self, key: str, value) -> None:
        _write(self.editors[key], value)

    def set_config(self, cfg: Config) -> None:
        for key, editor in self.editors.items():
            section, name = key.split(".")
            _write(editor, getattr(getattr(cfg, section), name))

    def apply_to(self, cfg: Config) -> Config:
        """A copy of `cfg` holding the form's values (editors already produce the field types)."""
        out = cfg.copy()
        for key in self.editors:
            section, name = key.split(".")
            setattr(getattr(out, section), name, self.value(key))
        return out

    def differences(self, base: Config) -> dict[str, str]:
        """Shown values that differ from `base`, as `--set`-style text (what the app remembers)."""
        out = {}
        for key in self.editors:
            section, name = key.split(".")
            value = self.value(key)
            if value != getattr(getattr(base, section), name):
                out[key] = str(value).lower() if isinstance(value, bool) else repr(value) \
                    if isinstance(value, float) else str(value)
        return out

    def apply_differences(self, base: Config, diffs: dict) -> Config:
        """`base` with remembered differences applied; ones that no longer parse are dropped."""
        cfg = base.copy()
        for key, text in diffs.items():
            try:
                apply_override(cfg, f"{key}={text}")
            except UserError:
                continue
        return cfg

"""A hyperparameter form generated from the config dataclasses, so a new field appears without GUI work.

The key fields come first with plain-language labels; every other field sits under "All settings".
Tooltips come from HELP, else from the field's own comment in config.py, so they cannot drift far.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
from functools import lru_cache

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
from latentlab.config import ARCHS, VAE_UPSAMPLINGS, Config, UserError, apply_override

# Chosen elsewhere in the panel (source picker, device combo), so not repeated in the form.
HANDLED_ELSEWHERE = {"data.source", "train.device"}

KEY_FIELDS = {
    "model.arch": "Architecture",
    "model.image_size": "Image size",
    "model.latent_dim": "Latent dimensions",
    "model.g_width": "G width",
    "model.d_width": "D width",
    "train.steps": "Steps",
    "train.batch": "Batch",
    "train.lr_d": "D learning rate",
    "train.lr_g": "G learning rate",
    "train.margin": "Margin",
    "train.l2_adaptive": "Adaptive L2 on D",
    "train.l2_band_low": "L2 band low",
    "train.l2_band_high": "L2 band high",
    "train.ema": "G weight EMA",
    "train.seed": "Seed",
    "train.sample_every": "Sample every",
    "train.checkpoint_every": "Checkpoint every",
}

HELP = {
    "model.arch": "dcgan (Radford et al. 2015), torchgan2015 (the 2015 LFW face GAN) or vaegan (Larsen et al. 2016).",
    "model.image_size": "Training resolution in pixels; each architecture supports a few sizes.",
    "model.latent_dim": "Length of the latent vector z fed to the generator.",
    "model.g_width": "Base channel count of the generator; the layers use multiples of it.",
    "model.d_width": "Base channel count of the discriminator; the layers use multiples of it.",
    "train.steps": "Total steps of the run (a resumed run continues up to this). 0: use epochs instead.",
    "train.batch": "Images per step.",
    "train.lr_d": "Discriminator learning rate. Can be changed while training runs.",
    "train.lr_g": "Generator learning rate. Can be changed while training runs.",
    "train.margin": "2015 margin rule: skip D's update when it is winning by more than this, G's when "
                    "losing by more. 0 disables. Can be changed while training runs.",
    "train.l2_adaptive": "2015 rule: raise D's L2 penalty when the generator's error is below the band, "
                         "lower it above.",
    "train.l2_band_low": "Lower edge of the gen-error band for adaptive L2. Can be changed while training runs.",
    "train.l2_band_high": "Upper edge of the gen-error band for adaptive L2. Can be changed while training runs.",
    "train.ema": "Decay of an exponential moving average of G's weights used for samples; 0 disables.",
    "train.seed": "Seeds weights, batches and the fixed sample noise: equal seeds give equal runs.",
    "train.sample_every": "Write the fixed-noise sample grid every this many steps.",
    "train.checkpoint_every": "Write a checkpoint every this many steps (and always on stop).",
    "data.synthetic_count": "How many procedural faces the synthetic source renders.",
    "data.cache_dir": "Where decoded image caches go; empty: $LATENTLAB_CACHE, else the platform's cache folder "
                      "(~/.cache/latentlab on Linux).",
}

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


@lru_cache(maxsize=1)
def field_comments() -> dict[str, str]:
    """`name: type = default  # comment` lines of the config dataclasses, keyed section.name."""
    out = {}
    for section, cls in (("model", config_module.ModelConfig), ("data", config_module.DataConfig),
                         ("train", config_module.TrainConfig)):
        try:
            source = inspect.getsource(cls)
        except (OSError, TypeError):
            continue
        for match in re.finditer(r"^\s+(\w+):[^#\n]*#\s*(.+)$", source, re.MULTILINE):
            out[f"{section}.{match.group(1)}"] = match.group(2).strip()
    return out


def tooltip_for(key: str) -> str:
    text = HELP.get(key) or field_comments().get(key, "")
    return f"<b>{key}</b><br>{text}" if text else f"<b>{key}</b>"


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
        for key, label in KEY_FIELDS.items():
            self._add_row(key_form, key, label, defaults)
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
                    self._add_row(more_form, key, f.name, defaults)
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

"""The pieces of the Train panel's left column: data source, device, output folder and live settings,
plus the status-bar readout. Each is a small widget with a value in and a value out."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QToolButton,
    QWidget,
)

from latentlab.config import Config, UserError
from latentlab.gui.train.config_form import ScientificSpinBox, tooltip_for

SOURCE_KINDS = (
    ("synthetic", "Synthetic faces"),
    ("synthetic-photo", "Synthetic photos"),
    ("folder", "Image folder"),
    ("zip", "Zip archive"),
    ("celeba", "CelebA"),
    ("lfw", "LFW"),
)
ARCHIVE_FILTER = "Image archives (*.zip *.tgz *.tar.gz *.tar);;All files (*)"


class SourcePickerWidget(QWidget):
    """Kind + path -> a source spec the data layer understands ("synthetic", PATH, "celeba:PATH", ...)."""

    changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.kind = QComboBox()
        for key, label in SOURCE_KINDS:
            self.kind.addItem(label, key)
        self.kind.setToolTip("Synthetic faces are rendered on the fly (with attribute labels); the others read "
                             "your images once into a cache at the training size.")
        self.path = QLineEdit()
        self.path.setPlaceholderText("choose or drop a folder or archive")
        self.browse = QToolButton(text="Browse…")
        self.browse.setPopupMode(QToolButton.MenuButtonPopup)
        menu = QMenu(self.browse)
        menu.addAction("Folder…", lambda: self._pick(folder=True))
        menu.addAction("Archive…", lambda: self._pick(folder=False))
        self.browse.setMenu(menu)
        self.browse.clicked.connect(lambda: self._pick(folder=self.current_kind() in ("folder", "celeba")))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.kind)
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.path.editingFinished.connect(lambda: self.changed.emit(self.spec()))
        self._kind_changed()

    def current_kind(self) -> str:
        return self.kind.currentData()

    def _kind_changed(self) -> None:
        needs_path = not self.current_kind().startswith("synthetic")
        self.path.setVisible(needs_path)
        self.browse.setVisible(needs_path)
        self.changed.emit(self.spec())

    def _pick(self, folder: bool) -> None:
        start = self.path.text() or str(Path.home())
        if folder:
            chosen = QFileDialog.getExistingDirectory(self, "Choose an image folder", start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, "Choose an image archive", start, ARCHIVE_FILTER)
        if chosen:
            self.path.setText(chosen)
            self.changed.emit(self.spec())

    def spec(self) -> str:
        kind, path = self.current_kind(), self.path.text().strip()
        if kind.startswith("synthetic"):
            return kind
        if kind in ("celeba", "lfw"):
            return f"{kind}:{path}"
        return path

    def set_path(self, path: str) -> None:
        """A dropped folder or archive: keeps CelebA/LFW when that kind is chosen, else infers it."""
        if self.current_kind() in ("celeba", "lfw"):
            self.set_spec(f"{self.current_kind()}:{path}")
        else:
            self.set_spec(str(path))

    def set_spec(self, spec: str) -> None:
        spec = (spec or "synthetic").strip()
        if spec in ("synthetic", "synthetic-photo"):
            kind, path = spec, ""
        elif spec.startswith(("celeba:", "lfw:")):
            kind, path = spec.split(":", 1)
        elif spec.lower().endswith(".zip"):
            kind, path = "zip", spec
        elif spec.lower().endswith((".tgz", ".tar.gz", ".tar")):
            kind, path = "lfw", spec
        else:
            kind, path = "folder", spec
        self.path.setText(path)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        self.changed.emit(self.spec())


class DevicePickerWidget(QComboBox):
    """Only devices that are present: cpu until the background probe reports what torch can see."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setToolTip("Where training runs. CUDA uses channels-last and bf16 mixed precision; "
                        "the CPU trains in fp32.")
        self._wanted = None
        self.set_devices([("cpu", "cpu")])

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        keep = self._wanted or self.device()
        self.blockSignals(True)
        self.clear()
        for name, label in devices:
            self.addItem(label, name)
        self.blockSignals(False)
        # The first entry is the fastest present device: it is the default unless the user chose.
        index = self.findData(keep) if keep else -1
        self.setCurrentIndex(max(index, 0))

    def device(self) -> str:
        return self.currentData() or "cpu"

    def set_device(self, name: str) -> None:
        self._wanted = name  # remembered until the probe has listed it
        index = self.findData(name)
        if index >= 0:
            self.setCurrentIndex(index)

    def devices(self) -> list[str]:
        return [self.itemData(i) for i in range(self.count())]


def default_runs_root() -> Path:
    cwd = Path.cwd()
    if os.access(cwd, os.W_OK) and cwd != Path(cwd.anchor):
        return cwd / "runs"
    return Path.home() / "latentlab-runs"


def fresh_run_dir(root: str | Path, preset: str) -> Path:
    root = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"{preset}-{stamp}"
    n = 2
    while path.exists():
        path = root / f"{preset}-{stamp}-{n}"
        n += 1
    return path


def check_output_dir(out_dir: Path) -> tuple[Path, bool]:
    """(folder, resume?) for Start: an existing run resumes from its latest checkpoint (unless another
    process is writing it); anything else must be new or empty, so no one's files are mixed in."""
    from latentlab.run.layout import RunLayout
    from latentlab.run.lock import RunLock
    from latentlab.run.rundir import RunReader

    if not str(out_dir).strip() or str(out_dir) == ".":
        raise UserError("output: choose a folder for the run")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: exists and is not a folder; choose another output folder")
    if RunReader.is_run_dir(out_dir):
        if not RunLayout(out_dir).latest.is_file():
            raise UserError(f"{out_dir}: holds a run without a checkpoint; choose a new output folder")
        writer = RunLock(out_dir).writer()
        if writer is not None:
            raise UserError(f"{out_dir}: {writer} is writing this run right now; stop it first or choose a new "
                            "output folder")
        return out_dir, True
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise UserError(f"{out_dir}: is not empty and holds no run; choose a new output folder")
    return out_dir, False


class OutputPickerWidget(QWidget):
    """The run folder to write; a fresh `runs/<preset>-<timestamp>` unless the user picks one."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs_root = default_runs_root()
        self.path = QLineEdit()
        self.path.setToolTip("The run directory: config.toml, metrics.jsonl, events.jsonl, samples/, checkpoints/. "
                             "Pointing it at an existing run resumes that run from its latest checkpoint.")
        browse = QToolButton(text="…")
        browse.setToolTip("Choose the folder that holds your runs")
        browse.clicked.connect(self._pick)
        self.renew = QToolButton(text="New")
        self.renew.setToolTip("A fresh run folder name")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        row.addWidget(self.renew)
        self.preset = "run"
        self.renew.clicked.connect(lambda: self.new_run(self.preset))

    def new_run(self, preset: str) -> None:
        self.preset = preset
        self.path.setText(str(fresh_run_dir(self.runs_root, preset)))

    def _pick(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder for runs", str(self.runs_root))
        if chosen:
            self.runs_root = Path(chosen)
            self.new_run(self.preset)

    def value(self) -> Path:
        return Path(os.path.expanduser(self.path.text().strip()))

    def set_value(self, path: str | Path) -> None:
        self.path.setText(str(path))


class LiveSettingsWidget(QWidget):
    """Balancing settings the engine accepts mid-run; each change goes to Control.set on the next step."""

    setting_changed = Signal(str, float)

    KEYS = (("margin", "Margin"), ("l2_band_low", "L2 band low"), ("l2_band_high", "L2 band high"),
            ("lr_d", "D learning rate"), ("lr_g", "G learning rate"))

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.boxes: dict[str, ScientificSpinBox] = {}
        for key, label in self.KEYS:
            box = ScientificSpinBox(log_steps=key.startswith("lr"))
            box.setRange(0.0, 0.499 if key == "margin" else 1e3)
            if not key.startswith("lr"):
                box.setSingleStep(0.01 if key == "margin" else 0.05)
            box.setToolTip(tooltip_for(f"train.{key}"))
            box.setObjectName(f"live.{key}")
            box.valueChanged.connect(lambda value, k=key: self.setting_changed.emit(k, float(value)))
            form.addRow(label, box)
            self.boxes[key] = box

    def load(self, cfg: Config) -> None:
        for key, box in self.boxes.items():
            box.blockSignals(True)
            box.setValue(getattr(cfg.train, key))
            box.blockSignals(False)


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = round(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h} h {m:02d} min"
    return f"{m} min {s:02d} s" if m else f"{s} s"


class TrainStatusWidget(QWidget):
    """State · images/s · step/total bar · ETA, for the main window's status bar."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = QLabel("Idle")
        self.rate = QLabel("– img/s")
        self.rate.setMinimumWidth(90)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no run")
        self.eta = QLabel("ETA –")
        self.eta.setMinimumWidth(90)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.state, self.rate, self.progress, self.eta):
            row.addWidget(widget)
        self.live = False  # images/s and ETA mean something only while a run is moving

    def show_state(self, text: str, live: bool = False) -> None:
        self.state.setText(text)
        self.live = live
        if not live:  # a stopped, finished or paused run has no speed and no time left to count down
            self.rate.setText("– img/s")
            self.eta.setText("ETA –")

    def show_progress(self, step: int, total: int, img_per_s: float, eta_s: float) -> None:
        self.progress.setFormat("step %v / %m" if total else "step %v")
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(step, max(1, total)))
        if not self.live or (total and step >= total):  # an attached run may have finished meanwhile
            self.rate.setText("– img/s")
            self.eta.setText("ETA –")
            return
        self.rate.setText(f"{img_per_s:,.0f} img/s" if math.isfinite(img_per_s) else "– img/s")
        self.eta.setText(f"ETA {format_duration(eta_s)}")

    def show_loading(self, done: int, total: int) -> None:
        self.progress.setFormat("decoding %v / %m images")
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

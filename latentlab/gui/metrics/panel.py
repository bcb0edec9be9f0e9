"""The Metrics view: quality metrics over training and the run's health events, for the Workspace's run
(the one the Train panel trains in this window or follows from disk). The memorization check (the training
images nearest to a generated face) is latentlab/gui/widgets/nearest.py.

Everything is read from the run directory (RUN/events.jsonl, through latentlab.metrics.history), so a
run started by the CLI or torchrun looks the same as one trained here. "Measure now" measures the
run's newest checkpoint (a run training in this window writes one first, so the live generator is
what gets measured) on a background thread; its points join the curves as hollow markers and stay in
the window only: the run directory is never written to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from latentlab.gui.state.workspace import RUN, TRAINING, TrainingState, Workspace
from latentlab.gui.theme import ACCENT, CURVE_COLORS, LEVEL_COLORS, MUTED
from latentlab.run.layout import RunLayout

POLL_MS = 1000
SERIES = {  # plot -> (metric key, colour, label)
    "pr": (("precision", CURVE_COLORS["real"], "precision"), ("recall", CURVE_COLORS["fake"], "recall")),
    "diversity": (("diversity", CURVE_COLORS["gen"], "diversity (samples / data)"),),
    "distance": (("fd_random", CURVE_COLORS["kl"], "FD, random features"), ("fid", CURVE_COLORS["llike"], "FID")),
}
SERIES_KEYS = {key for series in SERIES.values() for key, _, _ in series}
EVENT_COLORS = {"collapse": "#ef5350", "duplicates": "#ff8a65", "saturation": "#f06292", "nan_samples": "#ef5350",
                "nan": "#ef5350", "gen_band": LEVEL_COLORS["alert"], "rollback": ACCENT}


def _plot(layout: pg.GraphicsLayoutWidget, row: int, label: str) -> pg.PlotItem:
    plot = layout.addPlot(row=row, col=0)
    plot.showGrid(x=True, y=True, alpha=0.18)
    plot.setLabel("left", label)
    plot.getAxis("left").setWidth(62)
    plot.addLegend(offset=(-8, 4), labelTextColor=MUTED, brush=pg.mkBrush(26, 29, 34, 200))
    return plot


class MetricsPanel(QWidget):
    """Plots precision/recall, sample diversity and Fréchet distances over the steps of a run, with
    every health alert and rollback marked on them and listed beside them."""

    run_followed = Signal(str)
    measure_stage = Signal(str)  # what the measurement is doing (emitted on its thread, shown here)

    def __init__(self, workspace: Workspace | None = None, parent=None):
        super().__init__(parent)
        self.workspace = workspace if workspace is not None else Workspace()
        self.history = None
        self.run_dir: Path | None = None
        self._health_shown = 0
        self._markers: list[tuple[int, list[tuple[pg.PlotItem, pg.InfiniteLine]]]] = []
        self.measured: list[dict] = []  # points of "Measure now" for this run: {"step", metric: value}
        self._measure_thread = None
        self._waiting_for_checkpoint = False
        self._build_ui()
        self.measure_stage.connect(self._show_stage)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.workspace.changed.connect(self._workspace_changed)
        self.workspace.checkpoint_written.connect(self._checkpoint_written)

    def _build_ui(self) -> None:
        self.title = QLabel("No run yet: train one or open a run directory (File › Open run…).")
        self.title.setObjectName("heading")
        self.title.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {MUTED};")
        self.measure_button = QPushButton("Measure now")
        self.measure_button.setToolTip("Precision, recall, diversity and FD of the run's newest checkpoint (a run "
                                       "training here writes one first), in the background")
        self.measure_button.clicked.connect(self.measure_now)
        self.measure_button.setEnabled(False)
        self.measure_progress = QProgressBar()
        self.measure_progress.setRange(0, 1)
        self.measure_progress.setMaximumWidth(160)
        self.measure_progress.setTextVisible(False)
        self.measure_progress.hide()
        self.measure_status = QLabel()
        self.measure_status.setStyleSheet(f"color: {MUTED};")
        self.measure_status.setWordWrap(True)
        measure_row = QHBoxLayout()
        measure_row.addWidget(self.measure_button)
        measure_row.addWidget(self.measure_progress)
        measure_row.addWidget(self.measure_status, 1)
        self.plots = pg.GraphicsLayoutWidget()
        self.plot_items: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.measured_curves: dict[str, pg.PlotDataItem] = {}
        labels = {"pr": "precision / recall", "diversity": "diversity", "distance": "distance"}
        for row, (name, series) in enumerate(SERIES.items()):
            plot = _plot(self.plots, row, labels[name])
            if row:
                plot.setXLink(self.plot_items["pr"])
            self.plot_items[name] = plot
            for key, color, label in series:
                self.curves[key] = plot.plot(pen=pg.mkPen(color, width=1.8), symbol="o", symbolSize=5,
                                             symbolBrush=color, symbolPen=None, name=label)
                # Measured here (Measure now): hollow markers, not joined to the run's own curve.
                self.measured_curves[key] = plot.plot(pen=None, symbol="o", symbolSize=9, symbolBrush=None,
                                                      symbolPen=pg.mkPen(color, width=1.6))
        self.plot_items["pr"].setYRange(0, 1, padding=0.05)
        self.plot_items["distance"].setLabel("bottom", "step")
        # the best checkpoint: the measurement it was pinned at, starred on the FD curve
        self.best_marker = pg.ScatterPlotItem(symbol="star", size=16, brush=pg.mkBrush("#ffd54f"), pen=None)
        self.best_marker.setToolTip(str(RunLayout("").best))
        self.plot_items["distance"].addItem(self.best_marker)
        from latentlab.train.health import ARM_RATIO, COLLAPSE_RATIO

        for value, text in ((COLLAPSE_RATIO, "collapse line"), (ARM_RATIO, None), (1.0, "data")):
            line = pg.InfiniteLine(pos=value, angle=0, movable=False, label=text,
                                   pen=pg.mkPen(MUTED, width=1, style=Qt.DashLine),
                                   labelOpts={"color": MUTED, "position": 0.05})
            self.plot_items["diversity"].addItem(line)
        self.health_list = QListWidget()
        self.health_list.setWordWrap(True)
        self.health_list.currentRowChanged.connect(self._health_selected)
        health_title = QLabel("Health alerts and rollbacks")
        health_title.setObjectName("heading")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(health_title)
        side_layout.addWidget(self.health_list, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.plots)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addLayout(measure_row)
        layout.addWidget(split, 1)

    # -- which run --------------------------------------------------------------------------------------
    def _workspace_changed(self, aspects: frozenset) -> None:
        ws = self.workspace
        if not aspects & {RUN, TRAINING} or ws.run_dir is None or ws.run_dir == self.run_dir:
            return
        if ws.training in (TrainingState.STARTING, TrainingState.TRAINING, TrainingState.ATTACHED):
            self.follow(ws.run_dir)

    def follow(self, run_dir: str | Path) -> None:
        from latentlab.metrics.history import QualityHistory

        self.run_dir = Path(run_dir)
        self.history = QualityHistory(self.run_dir)
        self.measured = []
        self._waiting_for_checkpoint = False
        self.measure_button.setEnabled(self._measure_thread is None)
        self.measure_status.setText("")
        self._clear_health()
        self.title.setText(f"Quality and health of {self.run_dir}")
        self.poll()
        self.refresh()
        self.timer.start()
        self.run_followed.emit(str(self.run_dir))

    def shutdown(self, timeout_s: float = 1.0) -> bool:
        self.timer.stop()
        thread = self._measure_thread
        if thread is not None:
            thread.join(timeout_s)  # a measurement is seconds of torch work; it ends on its own
            return not thread.is_alive()
        return True

    # -- measure now --------------------------------------------------------------------------------------
    def _latest_checkpoint(self) -> Path | None:
        path = RunLayout(self.run_dir).latest if self.run_dir else None
        return path if path is not None and path.is_file() else None

    def measure_now(self) -> None:
        if self.run_dir is None or self._measure_thread is not None:
            return
        ws = self.workspace
        if ws.training.live and ws.run_dir is not None and Path(ws.run_dir) == self.run_dir:
            # The live generator: the training in this window writes a checkpoint of it now (the
            # Train tab answers Workspace.save_requested); it is measured once written.
            self._waiting_for_checkpoint = True
            self._set_measuring(True, "Writing a checkpoint of the live generator…")
            ws.save_requested.emit()
            return
        checkpoint = self._latest_checkpoint()
        if checkpoint is None:
            self.measure_status.setText("No checkpoint yet: it is written every train.checkpoint_every steps and "
                                        "on Stop.")
            return
        self._measure(checkpoint)

    def _checkpoint_written(self, path: str) -> None:
        if self._waiting_for_checkpoint and self.run_dir is not None and Path(path).is_relative_to(self.run_dir):
            self._waiting_for_checkpoint = False
            self._measure(Path(path))

    def _measure(self, checkpoint: Path) -> None:
        from latentlab.gui.background import run_in_background

        run, stage = self.run_dir, self.measure_stage

        def job():
            from latentlab.config import load_toml
            from latentlab.metrics.tracking import evaluate_checkpoint

            try:
                n = load_toml(RunLayout(run).config).train.quality_n
            except Exception:  # noqa: BLE001 - the checkpoint's own config still says what to compare
                n = 256
            return evaluate_checkpoint(checkpoint, n=n, progress=stage.emit)

        def done(values, error):
            self._measure_thread = None
            self._set_measuring(False)
            if run != self.run_dir:
                return  # another run was opened meanwhile
            if error:
                self.measure_status.setText(f"Measuring failed: {error.splitlines()[0]}")
                return
            from latentlab.metrics.tracking import format_metrics

            point = {"step": int(values.get("step") or 0)}
            point.update({k: float(v) for k, v in values.items() if k in SERIES_KEYS and isinstance(v, (int, float))})
            self.measured.append(point)
            self.measure_status.setText(f"Measured step {point['step']:,} ({values.get('n_fake', '?')} images): "
                                        + format_metrics(values))
            self.refresh()

        self._set_measuring(True, f"Measuring {checkpoint.name}…")
        self._measure_thread = run_in_background(job, done)

    def _set_measuring(self, running: bool, text: str = "") -> None:
        self.measure_button.setEnabled(not running and self.run_dir is not None)
        self.measure_progress.setRange(0, 0 if running else 1)  # busy: the stages have no count
        self.measure_progress.setVisible(running)
        if text:
            self.measure_status.setText(text)

    def _show_stage(self, text: str) -> None:
        if self._measure_thread is not None:
            self.measure_status.setText(f"Measuring: {text}…")

    # -- what the main window asks of a panel --------------------------------------------------------
    def menu_actions(self) -> None:
        return None

    def file_actions(self) -> list:
        return []

    def status_widget(self) -> None:
        return None

    def show_error(self, message: str) -> None:
        self.hint.setText(message)

    def drop_path(self, path: str | Path) -> bool:
        return False

    def remember_choices(self) -> None:
        pass  # it shows whichever run the Train panel has

    def restore_choices(self) -> None:
        pass

    def poll(self) -> None:
        if self.history is None:
            return
        try:
            changed = self.history.poll()
        except OSError as exc:  # a shared disk went away: say so, keep trying
            self.hint.setText(f"cannot read {self.run_dir}: {exc.strerror or exc}")
            return
        if changed:
            self.refresh()

    # -- drawing ----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        h = self.history
        if h is None:
            return
        if len(h.health) < self._health_shown:  # the log was cut back (a resume): start the list over
            self._clear_health()
        for key, curve in self.curves.items():
            steps, values = h.series(key)
            curve.setData(np.asarray(steps, dtype=float), np.asarray(values, dtype=float))
            mine = [(p["step"], p[key]) for p in self.measured if key in p]
            self.measured_curves[key].setData(np.asarray([s for s, _ in mine], dtype=float),
                                              np.asarray([v for _, v in mine], dtype=float))
        for row in h.health[self._health_shown:]:
            self._add_health(row)
        self._health_shown = len(h.health)
        best = h.best if h.best is not None and isinstance(h.best.get("fd_random"), (int, float)) else None
        self.best_marker.setData([best["step"]] if best else [], [best["fd_random"]] if best else [])
        self.hint.setText(self._hint_text())

    def _hint_text(self) -> str:
        h = self.history
        if h.quality:
            last = h.quality[-1]
            best = f" Best checkpoint (★): step {h.best['step']:,}, checkpoints/best.safetensors." if h.best else ""
            return (f"{len(h.quality)} measurements, the last at step {last['step']:,}.{best} Precision, recall, "
                    "diversity and FD use a fixed random feature space: compare runs of latentlab with each "
                    "other, not with published figures.")
        every = None
        try:
            from latentlab.config import load_toml

            every = load_toml(RunLayout(self.run_dir).config).train.quality_every
        except Exception:  # noqa: BLE001, S110 - a hint only: an unreadable config just says less
            pass
        when = "are off for this run (train.quality_every = 0)" if every == 0 else \
            f"come every {every:,} steps" if every else "come every train.quality_every steps"
        return (f"No quality measurements in the run yet: they {when} (the Train form's “Measure quality "
                "every”). Measure now measures the newest checkpoint; `latentlab metrics CHECKPOINT --fid` "
                "adds FID/KID.")

    def _clear_health(self) -> None:
        self._health_shown = 0
        self.health_list.clear()
        for _, lines in self._markers:
            for plot, line in lines:
                plot.removeItem(line)
        self._markers.clear()

    def _add_health(self, row: dict) -> None:
        data = row.get("data") or {}
        kind = str(data.get("kind") or row.get("kind"))
        step = int(row.get("step", 0))
        label = "rollback" if row.get("kind") == "rollback" else kind
        item = QListWidgetItem(f"step {step:,} · {label}: {row.get('message', '')}")
        color = EVENT_COLORS.get("rollback" if row.get("kind") == "rollback" else kind, LEVEL_COLORS["alert"])
        item.setForeground(QColor(color))
        item.setToolTip(str(row.get("message", "")))
        item.setData(Qt.UserRole, step)
        self.health_list.addItem(item)
        lines = []
        for plot in self.plot_items.values():
            line = pg.InfiniteLine(pos=step, angle=90, movable=False,
                                   pen=pg.mkPen(color, width=1.2, style=Qt.DotLine if label == "gen_band" else Qt.SolidLine))
            line.setToolTip(f"step {step:,}: {label}")
            plot.addItem(line)
            lines.append((plot, line))
        self._markers.append((step, lines))

    def _health_selected(self, row: int) -> None:
        for index, (_, lines) in enumerate(self._markers):
            for _, line in lines:
                pen = line.pen
                pen.setWidthF(3.0 if index == row else 1.2)
                line.setPen(pen)
        if 0 <= row < len(self._markers):
            step = self._markers[row][0]
            view = self.plot_items["pr"].getViewBox()
            (x0, x1), _ = view.viewRange()
            if not x0 <= step <= x1:
                half = max((x1 - x0) / 2, 1.0)
                view.setXRange(step - half, step + half, padding=0)

    def marked_steps(self) -> list[int]:
        return [step for step, _ in self._markers]

"""The view of one run: plots, the sample grid, alerts and the status readout.

docs/design.md: a run trained in this window and a run attached from disk are the same view. Both feed
it metrics.jsonl-shaped rows (or numpy columns of them), event rows and grid paths; it knows
nothing of where they come from.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.gui.state.series import MetricSeries, rows_to_columns
from latentlab.gui.train.setup import TrainStatusWidget
from latentlab.gui.widgets.alerts import AlertsWidget, MessageBanner
from latentlab.gui.widgets.plots import MetricsPlotWidget
from latentlab.gui.widgets.sample_grid import SampleGridWidget

REFRESH_MS = 200
ROWS_PER_REFRESH = 20_000  # bounds one refresh's work when a long log arrives at once
CHUNK_BUDGET_S = 0.03
SMOOTHING_MAX = 100
DEFAULT_SMOOTHING = 60  # an average over about 60 steps: the trend readable, the raw curve faint behind


def smoothing_alpha(position: int) -> float:
    """Slider position -> EMA decay, log-spaced so the slider spans windows of 1 to 1000 steps."""
    return 1.0 - 10 ** (-3.0 * position / SMOOTHING_MAX)


def smoothing_text(position: int) -> str:
    return "off" if position <= 0 else f"~{1 / (1 - smoothing_alpha(position)):,.0f} steps"


class RunViewWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._watch(MetricSeries(smoothing_alpha(DEFAULT_SMOOTHING)))
        self.total_steps = 0
        self._pending_rows: list[dict] = []
        self._pending_cols: list[dict] = []

        self.smoothing = QSlider(Qt.Horizontal)
        self.smoothing.setRange(0, SMOOTHING_MAX)
        self.smoothing.setFixedWidth(140)
        self.smoothing.setToolTip("Smooth the error curves with a moving average over about this many steps "
                                  "(the raw curves stay faint behind)")
        self.smoothing.setValue(DEFAULT_SMOOTHING)
        self.smoothing_label = QLabel(smoothing_text(DEFAULT_SMOOTHING))
        self.smoothing_label.setMinimumWidth(70)
        self.smoothing_box = QWidget()
        row = QHBoxLayout(self.smoothing_box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Smoothing"))
        row.addWidget(self.smoothing)
        row.addWidget(self.smoothing_label)
        self.smoothing.valueChanged.connect(self._smoothing_changed)
        self.log_y = QCheckBox("Log scale")
        self.log_y.setToolTip("A logarithmic axis for the error plots (spikes and small errors both readable)")
        self.fit = QPushButton("Fit")
        self.fit.setToolTip("Scale the plots to the run again after zooming (rare spikes are clipped and marked ▲)")
        row.addWidget(self.log_y)
        row.addWidget(self.fit)
        row.addStretch(1)

        self.banner = MessageBanner()
        self.info = QLabel()
        self.info.setObjectName("muted")
        self.info.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.plots = MetricsPlotWidget()
        self.log_y.toggled.connect(self.plots.set_log_y)
        self.fit.clicked.connect(self.plots.follow_data)
        self.grid = SampleGridWidget()
        self.alerts = AlertsWidget()
        self.status = TrainStatusWidget()
        # Plots take the width; the grid and the alerts share a column beside them.
        self.side_split = QSplitter(Qt.Vertical)
        self.side_split.addWidget(self.grid)
        self.side_split.addWidget(self.alerts)
        self.side_split.setStretchFactor(0, 3)
        self.side_split.setStretchFactor(1, 2)
        # While the data is decoded (tens of seconds on a first Start), its progress takes the plots' place.
        self.decoding = QWidget()
        self.decoding_label = QLabel("Decoding the training images…")
        self.decoding_label.setAlignment(Qt.AlignCenter)
        self.decoding_label.setWordWrap(True)
        self.decoding_bar = QProgressBar()
        self.decoding_bar.setFormat("%v / %m images")
        self.decoding_bar.setMaximumWidth(420)
        column = QVBoxLayout(self.decoding)
        column.addStretch(1)
        column.addWidget(self.decoding_label)
        column.addWidget(self.decoding_bar, 0, Qt.AlignHCenter)
        column.addStretch(1)
        self.plot_stack = QStackedWidget()
        self.plot_stack.addWidget(self.plots)
        self.plot_stack.addWidget(self.decoding)
        self.split = QSplitter(Qt.Horizontal)
        self.split.addWidget(self.plot_stack)
        self.split.addWidget(self.side_split)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.info)
        layout.addWidget(self.split, 1)

        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh)

    def insert_side_widget(self, index: int, widget: QWidget) -> None:
        """Another panel part in the column beside the plots (between the grid and the alerts)."""
        self.side_split.insertWidget(index, widget)
        self.side_split.setCollapsible(index, False)
        self.side_split.setStretchFactor(index, 0)

    # -- messages -----------------------------------------------------------------------------------
    def show_error(self, message: str, step: int | None = None) -> None:
        self.banner.show_message(message, "error")
        self.alerts.add("error", message, step)

    def show_note(self, message: str) -> None:
        self.banner.show_message(message, "info")

    # -- data in ------------------------------------------------------------------------------------
    def show_loading(self, done: int, total: int) -> None:
        """The data's decode progress where the plots will be, until the first step's row arrives."""
        if self.series.last_step() > 0 or (total and done >= total):
            self.plot_stack.setCurrentWidget(self.plots)
            return
        self.decoding_label.setText(f"Decoding {total:,} training images into the cache (once per data set and "
                                    "size); the plots start with the first step.")
        self.decoding_bar.setRange(0, max(1, total))
        self.decoding_bar.setValue(done)
        self.plot_stack.setCurrentWidget(self.decoding)

    def end_loading(self) -> None:
        self.plot_stack.setCurrentWidget(self.plots)

    def reset(self, total_steps: int = 0) -> None:
        self._watch(MetricSeries(smoothing_alpha(self.smoothing.value())))
        self.total_steps = total_steps
        self._pending_rows.clear()
        self._pending_cols.clear()
        self.plots.clear_data()
        self.grid.clear()
        self.alerts.clear()
        self.banner.hide()
        self.plot_stack.setCurrentWidget(self.plots)
        self._update_status()

    def _watch(self, series: MetricSeries) -> None:
        self.series = series
        series.changed.connect(self._redraw)  # new data or a new smoothing

    def _redraw(self, _aspects) -> None:
        if self.series.last_step() > 0:
            self.plot_stack.setCurrentWidget(self.plots)
        self.plots.refresh(self.series)

    def pending(self) -> bool:
        return bool(self._pending_rows or self._pending_cols)

    def ingest_rows(self, rows: list[dict]) -> None:
        self._pending_rows.extend(rows)
        self._schedule()

    def ingest_columns(self, cols: dict) -> None:
        self._pending_cols.append(cols)
        self._schedule()

    def ingest_events(self, rows: list[dict]) -> None:
        for row in rows:
            self.alerts.add_event(row)
            data = row.get("data") or {}
            if row.get("kind") == "error" or (row.get("kind") == "alert" and data.get("kind") == "nan"):
                self.banner.show_message(str(row.get("message")), "error")

    def add_grids(self, paths) -> None:
        self.grid.add_grids(paths)

    def _schedule(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Move pending data into the series and redraw: at most ~10 times a second, however fast
        rows arrive, and with the work per call bounded so a long log never freezes the window."""
        started = time.perf_counter()
        if self._pending_rows:
            rows = self._pending_rows[:ROWS_PER_REFRESH]
            del self._pending_rows[:ROWS_PER_REFRESH]
            self._pending_cols.append(rows_to_columns(rows))
        with self.series.batch():  # one redraw for all the chunks
            while self._pending_cols:
                self.series.extend_columns(self._pending_cols.pop(0))
                if time.perf_counter() - started > CHUNK_BUDGET_S:
                    break
        self._update_status()
        # Redrawing costs grow with the history; keep it to about a fifth of the time.
        spent_ms = (time.perf_counter() - started) * 1000
        self._refresh_timer.setInterval(int(max(REFRESH_MS, 4 * spent_ms)))
        if self.pending():
            self._schedule()

    def _update_status(self) -> None:
        step = self.series.last_step()
        rate = self.series.steps_per_second()
        remaining = max(0, self.total_steps - step)
        eta = remaining / rate if rate > 0 and math.isfinite(rate) else math.nan
        self.status.show_progress(step, self.total_steps, self.series.last("img_per_s"), eta)

    def _smoothing_changed(self, value: int) -> None:
        self.smoothing_label.setText(smoothing_text(value))
        self.series.set_smoothing(smoothing_alpha(value))

    # -- persistence ----------------------------------------------------------------------------------
    def save_state(self, settings) -> None:
        settings.setValue("train/smoothing", self.smoothing.value())
        settings.setValue("train/view_split", self.split.saveState())
        settings.setValue("train/side_split", self.side_split.saveState())

    def restore_state(self, settings) -> None:
        self.smoothing.setValue(int(settings.value("train/smoothing", DEFAULT_SMOOTHING)))
        for key, splitter in (("view_split", self.split), ("side_split", self.side_split)):
            state = settings.value(f"train/{key}")
            if state is not None:
                splitter.restoreState(state)

"""The Train panel: set up a run, start/pause/step/stop it, and watch it (or a run attached from disk).

The panel owns the set-up column, the commands and the one data source it follows at a time (its
own training session or an attached run); both feed the same RunViewWidget. It tells the Workspace
which run it shows and in which TrainingState, and answers the viewers' requests for the live
generator's weights through its session's Control.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.config import Config, UserError, load_preset, load_toml, preset_names, preset_summary
from latentlab.gui import settings as app_settings
from latentlab.gui.background import freeze_long_lived_objects, probe_devices, run_in_background
from latentlab.gui.state.series import rows_to_columns
from latentlab.gui.state.workspace import TrainingState, Workspace
from latentlab.gui.train.config_form import ConfigFormWidget
from latentlab.gui.train.follower import RunFollower
from latentlab.gui.train.overlay import RunOverlayWidget
from latentlab.gui.train.run_view import RunViewWidget
from latentlab.gui.train.setup import (
    DevicePickerWidget,
    LiveSettingsWidget,
    OutputPickerWidget,
    SourcePickerWidget,
    check_output_dir,
)
from latentlab.gui.train.worker import TrainingSession
from latentlab.run.layout import RunLayout
from latentlab.run.rundir import NOT_A_RUN

DEFAULT_PRESET = "tiny"


class TrainPanel(QWidget):
    run_attached = Signal(str)
    state_changed = Signal(str)  # a TrainingState's value

    def __init__(self, workspace: Workspace | None = None, parent=None):
        super().__init__(parent)
        self.workspace = workspace if workspace is not None else Workspace()
        self.session: TrainingSession | None = None
        self.follower: RunFollower | None = None
        self.run_dir: Path | None = None  # the run being trained or followed (or last trained)
        self.state = TrainingState.IDLE
        self._polls = self._quiet_polls = 0  # reads of the attached run (_follower_polled)
        self._attached_step = 0  # its last step read so far
        self._device = ""  # where the session trains, once it said so
        # While a resumed run's history is read in the background: the session's reports, held back
        # until the history is on the plot, as (handler, payload); None when nothing is pending.
        self._held: list[tuple] | None = None
        self._base_cfg: Config = load_preset(DEFAULT_PRESET) if DEFAULT_PRESET in preset_names() else Config()
        self.setFocusPolicy(Qt.ClickFocus)  # its Space shortcut acts while the focus is in this tab
        self._build_actions()
        self._build_ui()
        self.workspace.weights_requested.connect(self._weights_requested)
        self.workspace.save_requested.connect(self.save_now)
        self._set_state(TrainingState.IDLE)

    # -- construction -----------------------------------------------------------------------------
    def _action(self, text: str, shortcut, tip: str, slot) -> QAction:
        action = QAction(text, self)
        key = QKeySequence(shortcut)
        action.setShortcut(key)
        if not key[0].keyboardModifiers():
            # A single key (Space) acts only in this tab: Record's Space plays its preview.
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self.addAction(action)
        action.setToolTip(f"{tip} ({key.toString(QKeySequence.NativeText)})")
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.start_action = self._action("Start", "Ctrl+Return", "Start training (or resume the chosen run)",
                                         lambda: self.start_training())
        self.pause_action = self._action("Pause", "Space", "Pause or resume training", self.toggle_pause)
        self.step_action = self._action("Step", "Ctrl+.", "Run exactly one step, then pause", self.step_once)
        self.stop_action = self._action("Stop", "Ctrl+Shift+Return", "Stop training and write a checkpoint",
                                        self.stop_training)
        self.save_action = self._action("Save checkpoint", "Ctrl+S", "Write a checkpoint now", self.save_now)
        self.training_actions = [self.start_action, self.pause_action, self.step_action, self.stop_action,
                                 self.save_action]

    def _build_ui(self) -> None:
        # Left column: what to train.
        self.source = SourcePickerWidget()
        self.preset = QComboBox()
        for name in preset_names():
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, preset_summary(name), Qt.ToolTipRole)
        self.preset.setCurrentIndex(max(0, self.preset.findData(self._base_cfg.name)))
        self.preset.setToolTip("A starting point; the fields below adjust it")
        self.form = ConfigFormWidget()
        self.form.set_config(self._base_cfg)
        self.device = DevicePickerWidget()
        self.output = OutputPickerWidget()
        self.output.new_run(self._base_cfg.name)
        self.live = LiveSettingsWidget()
        self.live.load(self._base_cfg)

        data_box = QGroupBox("Data")
        QVBoxLayout(data_box).addWidget(self.source)
        model_box = QGroupBox("Model and training")
        model_layout = QVBoxLayout(model_box)
        preset_row = QFormLayout()
        preset_row.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        preset_row.addRow("Preset", self.preset)
        model_layout.addLayout(preset_row)
        model_layout.addWidget(self.form)
        run_box = QGroupBox("Run")
        run_form = QFormLayout(run_box)
        run_form.setLabelAlignment(Qt.AlignRight | Qt.AlignVCenter)
        run_form.addRow("Device", self.device)
        run_form.addRow("Output", self.output)
        self.live_box = QGroupBox("Steer while training")
        QVBoxLayout(self.live_box).addWidget(self.live)

        column = QWidget()
        col_layout = QVBoxLayout(column)
        col_layout.setContentsMargins(8, 4, 8, 8)
        for box in (data_box, model_box, run_box):
            col_layout.addWidget(box)
        col_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(column)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(column.sizeHint().width() + 24)

        # Right side: the commands above the view of the run.
        self.view = RunViewWidget()
        # Shorthands used throughout (and by tests and other panels).
        self.plots, self.grid, self.alerts = self.view.plots, self.view.grid, self.view.alerts
        self.banner, self.status, self.smoothing = self.view.banner, self.view.status, self.view.smoothing
        controls = QHBoxLayout()
        self.buttons = {}
        for action in self.training_actions:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonTextOnly)
            button.setMinimumWidth(72)
            self.buttons[action.text()] = button
            controls.addWidget(button)
        self.buttons["Start"].setObjectName("primary")
        controls.addStretch(1)
        # The live settings sit beside the plots they steer, not at the bottom of the set-up column.
        self.view.insert_side_widget(1, self.live_box)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 8, 8, 4)
        right_layout.addLayout(controls)
        # The plot settings get their own row: beside the buttons they made the tab wider than a laptop.
        right_layout.addWidget(self.view.smoothing_box)
        self.compare = RunOverlayWidget()
        self.view_tabs = QTabWidget()
        self.view_tabs.setDocumentMode(True)
        self.view_tabs.tabBar().setDrawBase(False)  # no stray line beside the two tabs
        self.view_tabs.addTab(self.view, "This run")
        self.view_tabs.addTab(self.compare, "Compare runs")
        right_layout.addWidget(self.view_tabs, 1)

        self.main_split = QSplitter(Qt.Horizontal)
        self.main_split.addWidget(scroll)
        self.main_split.addWidget(right)
        self.main_split.setStretchFactor(1, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.main_split)

        self.preset.currentIndexChanged.connect(self._preset_changed)
        self.live.setting_changed.connect(self._live_setting_changed)

    # -- what the main window asks of a panel -------------------------------------------------------
    def menu_actions(self) -> tuple[str, list[QAction]]:
        return "&Training", self.training_actions

    def file_actions(self) -> list[QAction]:
        return [self.save_action]

    def status_widget(self) -> QWidget:
        return self.status

    def drop_path(self, path: str | Path) -> bool:
        return False  # the window's: a run folder attaches here, a data folder becomes the source

    # -- state ---------------------------------------------------------------------------------------
    def _set_state(self, state: TrainingState | str) -> None:
        state = self.state = TrainingState(state)
        running = state.live
        S = TrainingState
        self.start_action.setEnabled(state in (S.IDLE, S.ATTACHED))
        self.pause_action.setEnabled(state in (S.TRAINING, S.PAUSED))
        self.pause_action.setText("Resume" if state == S.PAUSED else "Pause")
        self.step_action.setEnabled(state in (S.IDLE, S.TRAINING, S.PAUSED, S.ATTACHED))
        self.stop_action.setEnabled(running)
        self.save_action.setEnabled(state in (S.TRAINING, S.PAUSED))
        for widget in (self.source, self.preset, self.form, self.device, self.output):
            widget.setEnabled(not running and state != S.STOPPING)
        self.live_box.setEnabled(state in (S.TRAINING, S.PAUSED))
        label = {S.IDLE: "Idle", S.STARTING: "Starting…", S.TRAINING: "Training", S.PAUSED: "Paused",
                 S.STOPPING: "Stopping: writing a checkpoint…", S.ATTACHED: "Attached"}[state]
        # An attached run has a speed and an ETA only once it is seen growing (_follower_polled).
        self.status.show_state(label, live=state == S.TRAINING)
        if self.run_dir is not None:
            self.compare.set_own_run(self.run_dir)
        self.workspace.set_training(state, self.run_dir)
        self.state_changed.emit(state.value)

    def show_error(self, message: str, step: int | None = None) -> None:
        self.view.show_error(message, step)

    def show_note(self, message: str) -> None:
        self.view.show_note(message)

    @property
    def series(self):
        return self.view.series

    @property
    def total_steps(self) -> int:
        return self.view.total_steps

    # -- configuration -------------------------------------------------------------------------------
    def _preset_changed(self) -> None:
        name = self.preset.currentData()
        try:
            self._base_cfg = load_preset(name)
        except UserError as exc:
            self.show_error(str(exc))
            return
        self.form.set_config(self._base_cfg)
        self.live.load(self._base_cfg)
        self.output.new_run(name)

    def current_config(self) -> Config:
        """The config Start would use: preset + form + source + device, validated (UserError if not)."""
        cfg = self.form.apply_to(self._base_cfg)
        cfg.name = self._base_cfg.name
        cfg.data.source = self.source.spec()
        cfg.train.device = self.device.device()
        if not cfg.data.source.startswith("synthetic") and not self.source.path.text().strip():
            raise UserError("data source: choose a folder or archive (or pick Synthetic faces)")
        return cfg.validate()

    def load_config(self, cfg: Config) -> None:
        index = self.preset.findData(cfg.name)
        self.preset.blockSignals(True)
        if index >= 0:
            self.preset.setCurrentIndex(index)
        self.preset.blockSignals(False)
        self._base_cfg = cfg
        self.form.set_config(cfg)
        self.live.load(cfg)
        self.source.set_spec(cfg.data.source)

    def load_config_file(self, path: str | Path) -> bool:
        try:
            self.load_config(load_toml(path))
        except UserError as exc:
            self.show_error(str(exc))
            return False
        self.show_note(f"Loaded the settings of {path}")
        return True

    def probe_devices(self) -> None:
        def done(result, error):
            if error is None:
                self.device.set_devices(result)
                freeze_long_lived_objects()  # torch and the engine are loaded now
        run_in_background(probe_devices, done)

    # -- the data path shared by live training and attached runs ---------------------------------------
    def ingest_rows(self, rows: list[dict]) -> None:
        self.view.ingest_rows(rows)

    def ingest_events(self, rows: list[dict]) -> None:
        self.view.ingest_events(rows)

    # -- training ----------------------------------------------------------------------------------------
    def start_training(self, paused: bool = False) -> bool:
        if self.session is not None:
            return False
        try:
            cfg = self.current_config()
            out_dir, resume = check_output_dir(self.output.value())
        except UserError as exc:
            self.show_error(str(exc))
            return False
        self.detach()
        self.view.reset(cfg.train.steps)
        if resume:  # show the history the resumed run continues from
            self._read_existing(out_dir)
        self.run_dir = out_dir
        self.live.load(cfg)
        self.session = TrainingSession(cfg, out_dir, resume=resume, paused=paused, parent=self)
        w = self.session.worker
        # Bound methods of this widget (never lambdas): Qt then queues each call onto the GUI thread.
        w.data_progressed.connect(self.status.show_loading)
        w.data_progressed.connect(self.view.show_loading)
        w.run_started.connect(self._run_started)
        w.step_finished.connect(self._step_finished)
        w.sample_written.connect(self._sample_written)
        w.checkpoint_written.connect(self._checkpoint_written)
        w.weights_offered.connect(self._weights_offered)
        w.event_emitted.connect(self._event_emitted)
        w.failed.connect(self._training_failed)
        w.finished.connect(self._training_finished)
        self.view.info.setText(f"{'Resuming' if resume else 'Training'} {cfg.name} into {out_dir}")
        self._set_state(TrainingState.STARTING)
        self.remember_choices()
        self.session.start()
        return True

    def _read_existing(self, run: Path) -> None:
        """Show the history a resumed run continues from. It is read on a background thread (about a
        second for a 100,000-step log); what the session reports meanwhile is held back and replayed
        after it, so the plot's steps arrive in order."""
        from latentlab.run.rundir import RunReader

        held = self._held = []  # this list is also the read's ticket: a later start or attach replaces it

        def read():
            rows, events, samples = RunReader(run).poll()
            return rows_to_columns(rows), events, samples

        def done(result, error):
            if self._held is not held:
                return
            self._held = None
            if error is None:
                cols, events, samples = result
                self.view.ingest_columns(cols)
                self.view.ingest_events(events)
                self.view.add_grids(samples)
            else:
                self.show_error(f"Could not read the history of {run}: {error}")
            for handler, payload in held:
                handler(payload)

        run_in_background(read, done)

    def _hold(self, handler, payload) -> bool:
        """Keep a report of the session for after the pending history; False when none is pending."""
        if self._held is None:
            return False
        self._held.append((handler, payload))
        return True

    def _step_finished(self, row: dict) -> None:
        self.workspace.set_step(row["step"])
        if not self._hold(self._step_finished, row):
            self.ingest_rows([row])

    def _sample_written(self, path: str) -> None:
        if not self._hold(self._sample_written, path):
            self.grid.add_grids([path])

    def _event_emitted(self, row: dict) -> None:
        if not self._hold(self._event_emitted, row):
            self.ingest_events([row])

    def _run_started(self, info: dict) -> None:
        self.view.total_steps = info["total_steps"]
        self._set_state(TrainingState.PAUSED if self.session and self.session.control.paused
                        else TrainingState.TRAINING)
        self.view.info.setText(f"Training into {info['out_dir']} on {info['device']}")
        self._device = info["device"]
        self.view.refresh()

    def _checkpoint_written(self, path: str) -> None:
        self.workspace.checkpoint_written.emit(path)
        self.workspace.say(f"Checkpoint written: {path}", 5000)

    def _weights_requested(self) -> None:
        if self.session is not None:
            self.session.control.request_weights()  # the engine answers between steps, also while paused

    def _weights_offered(self, offer: dict) -> None:
        self.workspace.offer_weights(offer)

    def _training_failed(self, message: str) -> None:
        self.show_error(message)
        details = self.session.worker.details if self.session else ""
        if details:
            self.alerts.list.item(self.alerts.list.count() - 1).setToolTip(details)

    def _training_finished(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.qthread.wait(2000)
            session.deleteLater()
        self.view.end_loading()  # a run stopped or failed while its data was decoded
        self.view.refresh()
        step = self.series.last_step()
        finished = bool(self.total_steps and step >= self.total_steps)
        if finished:
            self.output.new_run(self._base_cfg.name)  # the next Start should not reopen a finished run
        if self.run_dir is not None:
            where = f" on {self._device}" if self._device else ""
            self.view.info.setText(f"{'Finished' if finished else 'Stopped'} at step {step:,} of "
                                   f"{self.total_steps:,}{where}: {self.run_dir}" if self.total_steps else
                                   f"Stopped at step {step:,}{where}: {self.run_dir}")
        self._device = ""
        self._set_state(TrainingState.IDLE)

    def toggle_pause(self) -> None:
        if self.session is None:
            return
        if self.session.control.paused:
            self.session.control.resume()
            self._set_state(TrainingState.TRAINING)
        else:
            self.session.control.pause()
            self._set_state(TrainingState.PAUSED)

    def step_once(self) -> None:
        if self.session is None:
            if self.start_training(paused=True):
                self.session.control.step_once()
            return
        self.session.control.step_once()
        if self.state == TrainingState.TRAINING:
            self._set_state(TrainingState.PAUSED)

    def stop_training(self) -> None:
        if self.session is not None:
            self.session.stop()
            self._set_state(TrainingState.STOPPING)

    def save_now(self) -> None:
        if self.session is not None:
            self.session.control.save_now()

    def _live_setting_changed(self, key: str, value: float) -> None:
        if self.session is not None:
            self.session.control.set(key, value)

    def shutdown(self, timeout_s: float = 4.5) -> bool:
        """Stop training (the engine writes a checkpoint) and join every thread; True if all ended."""
        ok = True
        if self.session is not None:
            ok = self.session.stop(wait_ms=int(timeout_s * 1000))
        self.detach()
        self.compare.shutdown()
        return ok

    # -- attach ---------------------------------------------------------------------------------------------
    def attach(self, path: str | Path) -> bool:
        from latentlab.run.rundir import RunReader

        path = Path(path).expanduser()
        if self.session is not None:
            self.show_error("Stop training before opening another run.")
            return False
        if not RunReader.is_run_dir(path):
            self.show_error(f"{path}: {NOT_A_RUN}")
            return False
        self.detach()
        self.view.reset()
        try:
            cfg = load_toml(RunLayout(path).config)
            self.load_config(cfg)
            self.view.total_steps = cfg.train.steps
        except UserError as exc:
            self.alerts.add("alert", f"config unreadable, plotting metrics only: {exc}")
        self.output.set_value(path)
        self.run_dir = path
        self.follower = RunFollower(path, parent=self)
        w = self.follower.worker
        w.columns_read.connect(self.view.ingest_columns)
        w.columns_read.connect(self._attached_rows)
        w.events_read.connect(self.view.ingest_events)
        w.samples_found.connect(self.view.add_grids)
        w.failed.connect(self.show_error)
        w.polled.connect(self._follower_polled)
        self._polls = self._quiet_polls = self._attached_step = 0
        self.follower.start()
        self.view.info.setText(self._attached_text())
        app_settings.remember_run(path)
        self._set_state(TrainingState.ATTACHED)
        self.run_attached.emit(str(path))
        return True

    QUIET_POLLS = 60  # reads without a new row (about 15 s) before an attached run counts as not moving

    def _attached_rows(self, cols: dict) -> None:
        steps = cols.get("step")
        if steps is not None and len(steps):  # the plots take the rows a few at a time; this is at once
            self._attached_step = max(self._attached_step, int(steps.max()))

    def _attached_text(self, finished: bool = False) -> str:
        if finished:
            return (f"Attached to {self.run_dir}: finished at step {self._attached_step:,} of "
                    f"{self.total_steps:,}. Raise Steps and Start to train it further.")
        return f"Attached to {self.run_dir}: following it live. Start resumes it from its latest checkpoint."

    def _follower_polled(self, rows: int) -> None:
        """The first read is the run's history; rows after it mean another process is training it."""
        self._polls += 1
        if self.state != "attached":
            return
        if self._polls == 1:  # the history: a run that reached its last step is not "followed live"
            if self.total_steps and self._attached_step >= self.total_steps:
                self.view.info.setText(self._attached_text(finished=True))
            return
        self._quiet_polls = 0 if rows else self._quiet_polls + 1
        moving = bool(rows) or (self.status.live and self._quiet_polls < self.QUIET_POLLS)
        if moving != self.status.live:
            self.status.show_state("Attached: training elsewhere" if moving else "Attached", live=moving)
            if moving:
                self.view.info.setText(self._attached_text())  # someone trains it further
            self.view.refresh()

    def detach(self) -> None:
        self._held = None  # a pending history read was for the view being replaced
        if self.follower is not None:
            self.follower.stop()
            self.follower.deleteLater()
            self.follower = None
            if self.state == TrainingState.ATTACHED:
                self._set_state(TrainingState.IDLE)

    # -- persistence ---------------------------------------------------------------------------------------
    def remember_choices(self) -> None:
        s = app_settings.app_settings()
        s.setValue("train/preset", self._base_cfg.name)
        s.setValue("train/source", self.source.spec())
        s.setValue("train/device", self.device.device())
        s.setValue("train/runs_root", str(self.output.runs_root))
        s.setValue("train/main_split", self.main_split.saveState())
        self.view.save_state(s)
        app_settings.set_json("train/form", self.form.differences(self._base_cfg))

    def restore_choices(self) -> None:
        s = app_settings.app_settings()
        name = s.value("train/preset")
        if name in preset_names():
            self.preset.setCurrentIndex(self.preset.findData(name))  # loads the preset into the form
        diffs = app_settings.get_json("train/form", {})
        if isinstance(diffs, dict) and diffs:
            self.form.set_config(self.form.apply_differences(self._base_cfg, diffs))
        self.source.set_spec(str(s.value("train/source", "synthetic")))
        if s.value("train/device"):
            self.device.set_device(str(s.value("train/device")))
        if s.value("train/runs_root"):
            self.output.runs_root = Path(str(s.value("train/runs_root")))
        self.output.new_run(self._base_cfg.name)
        self.view.restore_state(s)
        state = s.value("train/main_split")
        if state is not None:
            self.main_split.restoreState(state)

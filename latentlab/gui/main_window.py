"""The main window: panels in tabs, menus, status bar, drag-and-drop, and what happens on close.

The window owns the Workspace and hands it to every panel it builds; a panel is a QWidget that
implements the Panel protocol (gui/panel.py), and `add_panel(widget, title)` is the one line that adds
another. The panels share state only through the Workspace; the window answers its requests that
concern the window (a status line, a tab to bring forward).
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import latentlab
from latentlab.gui import settings as app_settings
from latentlab.gui.panel import Panel
from latentlab.gui.state.workspace import TRAINING, TrainingState, Workspace
from latentlab.gui.theme import app_icon
from latentlab.gui.train.panel import TrainPanel
from latentlab.gui.widgets.welcome import WelcomeStrip

CHECKPOINT_SUFFIXES = (".safetensors",)
ARCHIVE_SUFFIXES = (".zip", ".tgz", ".tar.gz", ".tar")
PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")  # the photo journey's


class MainWindow(QMainWindow):
    first_shown = Signal(float)  # perf_counter time of the first paint, for the launch benchmark

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("latentlab")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.tabBar().setDrawBase(False)
        self.welcome = WelcomeStrip()
        self.welcome.train_requested.connect(lambda: self.tabs.setCurrentWidget(self.train_panel))
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.welcome)
        column.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.panels: list[Panel] = []
        self._shown = False
        self.persist = True  # False for --screenshot: a forced size must not become the user's layout
        self._build_menus()

        self.workspace = ws = Workspace()
        ws.painted = False  # until paintEvent
        ws.status_message.connect(self._status_message)
        ws.show_requested.connect(self._show_panel)
        ws.changed.connect(self._retire_welcome)
        self.train_panel = self.add_panel(TrainPanel(ws), "Train")
        self.train_panel.run_attached.connect(lambda _: self._rebuild_recent())
        from latentlab.gui.explore.panel import ExplorePanel  # its torch work starts when first shown
        self.explore_panel = self.add_panel(ExplorePanel(ws), "Explore")
        from latentlab.gui.record.panel import RecordPanel
        self.record_panel = self.add_panel(RecordPanel(ws), "Record")
        from latentlab.gui.metrics.panel import MetricsPanel  # quality and health of the Workspace's run
        self.metrics_panel = self.add_panel(MetricsPanel(ws), "Metrics")

    def _status_message(self, text: str, ms: int) -> None:
        self.statusBar().showMessage(text, ms)

    def _show_panel(self, panel) -> None:
        if self.tabs.indexOf(panel) >= 0:
            self.tabs.setCurrentWidget(panel)

    # -- panels ---------------------------------------------------------------------------------------
    def _tab_changed(self, index: int) -> None:
        # Single-key shortcuts (Space, R, ...) live in their own tab, so Space pauses training on Train
        # and plays the preview on Record. The tab takes the focus itself: QTabWidget would hand it to
        # the page's first field, where Space types instead.
        panel = self.tabs.widget(index)
        if panel is not None and panel.focusPolicy() != Qt.NoFocus:
            panel.setFocus(Qt.TabFocusReason)

    def add_panel(self, panel: Panel, title: str) -> Panel:
        self.panels.append(panel)
        self.tabs.addTab(panel, title)
        menu = panel.menu_actions()
        if menu is not None:
            menu_title, actions = menu
            qmenu = QMenu(menu_title, self)
            qmenu.addActions(actions)
            self.menuBar().insertMenu(self.help_menu.menuAction(), qmenu)
        for action in panel.file_actions():
            self.file_menu.insertAction(self.save_separator, action)
        status = panel.status_widget()
        if status is not None:
            self.statusBar().addPermanentWidget(status)
        return panel

    # -- menus ----------------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.open_action = QAction("Open run…", self, shortcut=QKeySequence("Ctrl+O"),
                                   triggered=self.choose_run)
        self.open_action.setToolTip("Open a run directory and follow it live")
        self.open_checkpoint_action = QAction("Open checkpoint…", self, triggered=self.choose_checkpoint)
        self.open_config_action = QAction("Load settings from TOML…", self, triggered=self.choose_config)
        self.file_menu.addAction(self.open_action)
        self.recent_menu = self.file_menu.addMenu("Recent runs")
        self.file_menu.addActions([self.open_checkpoint_action, self.open_config_action])
        self.file_menu.addSeparator()
        self.save_separator = self.file_menu.addSeparator()  # panels' save actions go above this
        self.quit_action = QAction("Quit", self, shortcut=QKeySequence("Ctrl+Q"), triggered=self.close)
        self.file_menu.addAction(self.quit_action)
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(QAction("Keyboard shortcuts", self, shortcut=QKeySequence("F1"),
                                         triggered=self.show_shortcuts))
        self.help_menu.addAction(QAction("About latentlab", self, triggered=self.show_about))
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        runs = app_settings.recent_runs()
        for path in runs:
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))
        if runs:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self._clear_recent)
        self.recent_menu.setEnabled(bool(runs))

    def _clear_recent(self) -> None:
        app_settings.clear_recent_runs()
        self._rebuild_recent()

    # -- opening things ---------------------------------------------------------------------------------
    def choose_run(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a run directory", str(self.train_panel.output.runs_root))
        if folder:
            self.open_path(folder)

    def choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a checkpoint", str(self.train_panel.output.runs_root),
                                              "Checkpoints (*.safetensors)")
        if path:
            self.open_path(path)

    def choose_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load settings", "", "Config (*.toml)")
        if path:
            self.train_panel.load_config_file(path)

    def open_path(self, path: str | Path) -> bool:
        """What `latentlab gui PATH`, File › Open and Recent runs hand over: a run directory attaches,
        a checkpoint goes to whoever listens, a TOML loads settings; anything else is explained."""
        path = Path(path).expanduser()
        name = path.name.lower()
        if not path.exists():
            self.show_error(f"{path}: no such file or folder")
            return False
        if name.endswith(CHECKPOINT_SUFFIXES) and path.is_file():
            self.open_checkpoint(path)  # the Explore panel comes forward once it has loaded
            return True
        if path.is_dir():
            self.tabs.setCurrentWidget(self.train_panel)
            return self.train_panel.attach(path)
        if name.endswith(".toml"):
            self.tabs.setCurrentWidget(self.train_panel)
            return self.train_panel.load_config_file(path)
        if name.endswith(PHOTO_SUFFIXES) and path.is_file():
            self.explore_panel.show_photo_page(path)  # a photo, opened or dropped anywhere: the photo journey
            return True
        self.show_error(f"{path}: not a run directory, a checkpoint (.safetensors), a config (.toml) or a photo")
        return False

    def _retire_welcome(self, aspects: frozenset) -> None:
        """The strip tells a newcomer about the demo and to train their own: once they start a
        training, it has done its job (and "on screen is a small demo" may no longer be true)."""
        if TRAINING in aspects and self.workspace.training == TrainingState.STARTING and not self.welcome.dismissed():
            self.welcome.dismiss()

    def show_error(self, message: str) -> None:
        """In the tab the user is looking at (each panel has a banner), so nothing jumps away."""
        panel = self.tabs.currentWidget()
        (panel if panel in self.panels else self.train_panel).show_error(message)

    def drop_path(self, path: str | Path) -> bool:
        """Dropped on the window: besides what open_path takes, an image folder or an archive becomes
        the data source."""
        from latentlab.run.rundir import RunReader

        path = Path(path)
        is_source = (path.is_dir() and not RunReader.is_run_dir(path)) or \
            (path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES))
        if not is_source:
            return self.open_path(path)
        self.tabs.setCurrentWidget(self.train_panel)
        self.train_panel.source.set_path(str(path))
        self.train_panel.show_note(f"Data source set to {path}")
        return True

    def open_checkpoint(self, path: Path) -> None:
        from latentlab.gui.background import run_in_background

        def read():
            from latentlab.run.checkpoint import read_metadata
            return read_metadata(path)

        def done(meta, error):
            if error:
                self.show_error(error.splitlines()[0])
                return
            self.train_panel.show_note(
                f"Checkpoint {path}: {meta.get('arch', '?')} at step {meta.get('step', '?')}. "
                "Explore it in the Explore panel; Start with Output set to its run folder resumes its training.")
            self.workspace.open_checkpoint(path)

        run_in_background(read, done)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """The one drop handler: the first local file goes to the drop_path of the panel under the
        cursor (the Explore panel takes checkpoints, photos, bookmarks), and to the window's when that
        panel does not take it."""
        for url in event.mimeData().urls():
            if url.isLocalFile():
                path = url.toLocalFile()
                panel = self._panel_at(event.position().toPoint())
                if panel is None or not panel.drop_path(path):
                    self.drop_path(path)
                event.acceptProposedAction()
                return

    def _panel_at(self, pos) -> Panel | None:
        widget = self.childAt(pos)
        while widget is not None and widget is not self:
            if widget in self.panels:
                return widget
            widget = widget.parentWidget()
        return None

    # -- help ---------------------------------------------------------------------------------------------
    def shortcut_table(self) -> list[tuple[str, str]]:
        rows = []
        for menu_action in self.menuBar().actions():
            menu = menu_action.menu()
            for action in menu.actions() if menu else []:
                if not action.shortcut().isEmpty():
                    rows.append((action.text().replace("&", ""),
                                 action.shortcut().toString(QKeySequence.NativeText)))
        return rows

    def show_shortcuts(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        rows = "".join(f"<tr><td style='padding:3px 18px 3px 0'>{name}</td><td><b>{keys}</b></td></tr>"
                       for name, keys in self.shortcut_table())
        label = QLabel(f"<table>{rows}</table>")
        layout = QVBoxLayout(dialog)
        layout.addWidget(label)
        dialog.exec()

    def show_about(self) -> None:
        QMessageBox.about(self, "About latentlab",
                          f"<b>latentlab {latentlab.__version__}</b><br>Train face GANs and VAE/GANs and explore "
                          "their latent space.<br><br>DCGAN (Radford et al. 2015), the 2015 LFW face GAN, "
                          "VAE/GAN (Larsen et al. 2016).")

    # -- window state -------------------------------------------------------------------------------------
    def restore_state(self) -> None:
        s = app_settings.app_settings()
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        for panel in self.panels:
            panel.restore_choices()
        # The first launch opens on the demo in Explore, with the welcome strip above it.
        self.tabs.setCurrentIndex(int(s.value("window/tab", self.tabs.indexOf(self.explore_panel))))

    def save_state(self) -> None:
        s = app_settings.app_settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        for panel in self.panels:
            panel.remember_choices()
        s.sync()

    @property
    def painted(self) -> bool:
        return self._shown

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._shown:
            self._shown = True
            self.workspace.set_painted()
            self.first_shown.emit(time.perf_counter())

    def closeEvent(self, event) -> None:
        if self.persist:
            self.save_state()
        deadline = time.monotonic() + 4.5
        for panel in self.panels:
            panel.shutdown(max(0.5, deadline - time.monotonic()))
        event.accept()

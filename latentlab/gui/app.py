"""Application start-up: QApplication, theme, the main window, and the --screenshot mode.

Nothing here imports torch: the window is on screen before the engine (and torch) load on a
background thread, which keeps launch-to-window well under the 3 s target.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from latentlab.gui.background import freeze_long_lived_objects
from latentlab.gui.settings import APPLICATION, ORGANIZATION, use_settings_dir
from latentlab.gui.theme import app_icon, apply_theme, configure_pyqtgraph
from latentlab.run.layout import RunLayout

SCREENSHOT_SIZE = (1440, 900)
SCREENSHOT_WAIT_S = 20.0


class _GuiThreadGarbageCollector:
    """Python's cyclic garbage collector, run from the GUI thread's event loop only.

    Left automatic, a collection starts in whichever thread happens to allocate, e.g. the render
    worker deep-copying a model, and may then free a Qt object's wrapper there: Qt objects must be
    deleted on their own thread, and doing it elsewhere crashes the process (seen as a segfault
    "Garbage-collecting" in the render thread). Automatic collection is turned off and a timer on the
    GUI thread collects each generation once its allocation count passes gc's own threshold."""

    INTERVAL_MS = 500

    def __init__(self, app: QApplication):
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(app)
        self.timer.timeout.connect(self.check)
        self.timer.start(self.INTERVAL_MS)

    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                return


_collector: _GuiThreadGarbageCollector | None = None


# Shared libraries Qt's X11 platform plugin loads at start-up that a bare Linux install may lack, with
# the Debian/Ubuntu package that provides each. Without them Qt aborts with a message about plugins.
XCB_LIBRARIES = {"libxcb-cursor.so.0": "libxcb-cursor0"}


def missing_system_libraries(environ=None, load=None) -> list[str]:
    """The Debian packages the window needs and this machine lacks (empty off Linux or off X11)."""
    import ctypes

    environ = os.environ if environ is None else environ
    platform = environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")) or \
            (not platform and environ.get("WAYLAND_DISPLAY")):
        return []
    load = load or ctypes.CDLL
    missing = []
    for library, package in XCB_LIBRARIES.items():
        try:
            load(library)
        except OSError:
            missing.append(package)
    return missing


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        missing = missing_system_libraries()
        if missing:
            from latentlab.config import UserError

            raise UserError(f"the window needs the system package{'s' * (len(missing) > 1)} {' '.join(missing)}: "
                            f"install {'them' if len(missing) > 1 else 'it'} (sudo apt install {' '.join(missing)}) "
                            "or launch with scripts/run.sh, which does")
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("latentlab")
    app.setWindowIcon(app_icon())
    global _collector
    if _collector is None or _collector.timer.parent() is not app:
        _collector = _GuiThreadGarbageCollector(app)
    # The training thread runs Python between torch calls; with the default 5 ms switch interval
    # the GUI thread can wait that long for the GIL at every hand-over while it paints.
    sys.setswitchinterval(0.001)
    if os.environ.get("LATENTLAB_SETTINGS_DIR"):
        use_settings_dir(os.environ["LATENTLAB_SETTINGS_DIR"])
    apply_theme(app)
    configure_pyqtgraph()
    from latentlab.gui import wheel
    wheel.install(app)
    return app


def _import_pyqtgraph() -> None:
    """pyqtgraph's package import pulls in CUDA's Python runtime bindings (for its cupy video widget,
    which the app does not use) when they are installed, as they are next to torch: a fifth of a
    second at launch. Hide them from that one import; torch can still import them later."""
    if "pyqtgraph" in sys.modules or "cuda.bindings.runtime" in sys.modules:
        return
    sys.modules["cuda.bindings.runtime"] = None  # makes `from cuda.bindings import runtime` fail fast
    try:
        import pyqtgraph  # noqa: F401
    finally:
        if sys.modules.get("cuda.bindings.runtime", 0) is None:
            del sys.modules["cuda.bindings.runtime"]


def launch(path: str | None = None, *, restore: bool = True, probe: bool = True):
    """Create and show the main window; open `path` (a run, checkpoint, folder, archive) once shown."""
    _import_pyqtgraph()
    app = make_application()
    from latentlab.gui.main_window import MainWindow

    window = MainWindow()
    if restore:
        window.restore_state()
    window.show()
    if path:
        QTimer.singleShot(0, lambda: window.open_path(path))
    QTimer.singleShot(0, freeze_long_lived_objects)
    if probe:
        # After the first paint: torch's import takes seconds and must not delay the window.
        QTimer.singleShot(300, window.train_panel.probe_devices)
    return app, window


def _wait_until(app: QApplication, ready, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if ready():
            return True
        time.sleep(0.02)
    return False


def take_screenshot(app: QApplication, window, out: str | Path, path: str | None) -> int:
    """Let the window load what it opened (first plot points and grid), then save it as a PNG."""
    window.persist = False
    window.resize(*SCREENSHOT_SIZE)
    panel = window.train_panel
    run = RunLayout(path) if path else None
    expect_grid = bool(run and run.grids())
    expect_plot = bool(run and run.metrics.is_file())
    # A checkpoint: the shot waits for the model on screen; one that cannot be loaded fails the
    # command with the load's own message instead of picturing whatever was shown before.
    explore = window.explore_panel
    expect_model = bool(path and Path(path).is_file()
                        and Path(path).name.lower().endswith(".safetensors"))
    failures: list[str] = []
    if expect_model:
        explore.service.worker.failed.connect(lambda channel, message: failures.append(message)
                                              if channel == "model" else None)

    def model_shown() -> bool:
        info = explore.info
        loaded = info is not None and info.path is not None and Path(info.path).resolve() == Path(path).resolve()
        return loaded and explore.last_request >= 0 and explore.view.painted_id == explore.last_request

    def ready() -> bool:
        if failures:
            return True
        plotted = not expect_plot or len(panel.series) > 0
        gridded = not expect_grid or panel.grid.count() > 0
        modelled = not expect_model or model_shown()
        return plotted and gridded and modelled and not panel.view.pending()

    _wait_until(app, lambda: False, 0.3)  # the first layout pass and the deferred open_path
    loaded = _wait_until(app, ready, SCREENSHOT_WAIT_S)
    if loaded and path:
        # Show the whole history once everything has arrived (the grid follows the newest step).
        panel.plots.follow_data()
        _wait_until(app, lambda: False, 0.3)
    if failures:
        panel.shutdown(2.0)
        window.close()
        _let_workers_finish(explore)
        first = failures[0].splitlines()[0] if failures[0] else "unknown error"
        print(f"latentlab: error: {first}", file=sys.stderr)
        return 2
    out = Path(out)
    png = _png_bytes(window.grab())
    panel.shutdown(2.0)
    window.close()
    _let_workers_finish(explore)
    if png is None:
        print(f"latentlab: error: {out}: the window could not be encoded as PNG", file=sys.stderr)
        return 1
    from latentlab.atomic import write_bytes_atomic

    write_bytes_atomic(out, png)  # an OSError (a full disk) names the file; the CLI says it in one line
    if not loaded:
        print(f"latentlab: warning: {path} had not finished loading when the screenshot was taken", file=sys.stderr)
    return 0


def _let_workers_finish(explore, timeout_s: float = 15.0) -> None:
    """The command exits right after the shot: a daemon thread still inside torch then (the principal
    directions of the model just loaded, cancelled but between checks) aborts the interpreter."""
    directions = getattr(explore, "directions", None)
    if directions is not None and hasattr(directions, "shutdown"):
        directions.shutdown(timeout_s)


def _png_bytes(pixmap) -> bytes | None:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    ok = pixmap.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data()) if ok else None


def dispose(window) -> None:
    """Close the window and delete its C++ side now. Left to interpreter exit, PySide6 6.12 tears the
    widget tree down from an atexit hook in an order that crashes inside pyqtgraph's scenes."""
    import shiboken6

    if shiboken6.isValid(window):
        window.close()
        shiboken6.delete(window)


def run_app(path: str | None = None, screenshot: str | None = None) -> int:
    """The desktop app (`latentlab`, `latentlab gui [RUN_DIR | CKPT] [--screenshot FILE.png]`)."""
    app, window = launch(path, restore=screenshot is None, probe=screenshot is None)
    try:
        if screenshot:
            return take_screenshot(app, window, screenshot, path)
        return app.exec()
    finally:
        dispose(window)


if __name__ == "__main__":
    sys.exit(run_app(*(sys.argv[1:2] or [None])))

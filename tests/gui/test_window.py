"""The main window: menus and shortcuts, persistence, drag-and-drop, --screenshot, big histories."""

import json
import os
import subprocess
import sys

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage


def test_menus_and_shortcuts(window):
    table = dict(window.shortcut_table())
    assert table["Open run…"] == "Ctrl+O"
    assert table["Save checkpoint"] == "Ctrl+S"
    assert table["Quit"] == "Ctrl+Q"
    assert table["Start"] == "Ctrl+Return"
    assert table["Pause"] == "Space"
    assert table["Stop"] == "Ctrl+Shift+Return"
    assert "Step" in table
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus[:2] == ["File", "Training"] and menus[-1] == "Help"  # other panels' menus go between


def test_device_combo_offers_only_present_devices(window, qtbot):
    import torch

    panel = window.train_panel
    panel.probe_devices()
    want = ["cuda"] if torch.cuda.is_available() else []
    qtbot.waitUntil(lambda: set(want) <= set(panel.device.devices()), timeout=20000)
    devices = panel.device.devices()
    assert "cpu" in devices
    assert ("cuda" in devices) == torch.cuda.is_available()
    assert ("mps" in devices) == torch.backends.mps.is_available()


def test_choices_and_layout_persist(qtbot, tmp_path, monkeypatch):
    from latentlab.gui.app import make_application
    from latentlab.gui.main_window import MainWindow
    from latentlab.gui.settings import use_settings_dir

    use_settings_dir(tmp_path / "settings")
    monkeypatch.chdir(tmp_path)
    make_application()
    first = MainWindow()
    qtbot.addWidget(first)
    panel = first.train_panel
    panel.preset.setCurrentIndex(panel.preset.findData("dcgan"))
    panel.form.set_value("train.batch", 24)
    panel.form.set_value("train.lr_g", 3e-4)
    panel.source.set_spec("celeba:/data/celeba")
    panel.smoothing.setValue(60)
    explore = first.explore_panel
    assert explore.controls.smooth.isChecked() and explore.view.smooth  # a fresh settings file: smooth scaling
    explore.controls.smooth.setChecked(False)
    first.resize(760, 560)  # within the offscreen screen (800x600)
    first.close()  # persist is on: closing saves

    second = MainWindow()
    qtbot.addWidget(second)
    second.restore_state()
    p2 = second.train_panel
    assert p2.preset.currentData() == "dcgan"
    assert p2.form.value("train.batch") == 24
    assert p2.form.value("train.lr_g") == 3e-4
    assert p2.form.value("model.image_size") == 64  # the rest comes from the dcgan preset
    assert p2.source.spec() == "celeba:/data/celeba"
    assert p2.smoothing.value() == 60
    assert not second.explore_panel.controls.smooth.isChecked() and not second.explore_panel.view.smooth
    assert (second.width(), second.height()) == (760, 560)
    second.persist = False


def drop(window, path, at=None):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(at or QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))


def test_drop_folder_sets_source_and_drop_run_attaches(window, tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    drop(window, folder)
    assert window.train_panel.source.spec() == str(folder)
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(json.dumps({"step": 1, "gen": 1.0}) + "\n")
    drop(window, run)
    assert window.train_panel.state == "attached"


def test_a_drop_on_the_explore_panel_goes_to_the_explore_panel(window, tmp_path):
    """One drop handler, the window's: it hands a drop to the panel under the cursor."""
    explore = window.explore_panel
    explore.demo_on_first_show = False
    window.tabs.setCurrentWidget(explore)
    folder = tmp_path / "faces"
    folder.mkdir()
    drop(window, folder, QPointF(explore.view.mapTo(window, explore.view.rect().center())))
    assert explore.banner.isVisible() and "a folder; drop a checkpoint" in explore.banner.text()
    assert window.train_panel.source.spec() != str(folder)
    drop(window, folder)  # outside the panels (on the menu bar): the window's own rules
    assert window.train_panel.source.spec() == str(folder)


def test_a_million_points_stay_drawable(window, qtbot):
    """Clip-to-view and downsampling: the curve holds every point but draws about a screen's worth."""
    from latentlab.gui.state.series import MetricSeries

    n = 1_000_000
    steps = np.arange(1, n + 1, dtype=np.float64)
    series = MetricSeries(smoothing=0.9)
    rng = np.random.default_rng(0)
    cols = {"step": steps, "gen": 0.7 + 0.1 * rng.standard_normal(n), "real": np.full(n, 0.5),
            "fake": np.full(n, 0.6), "lr_d": np.full(n, 2e-4), "d_updated": rng.random(n) > 0.01}
    series.extend_columns(cols)
    plots = window.train_panel.plots
    plots.refresh(series)
    assert plots.point_count("gen") == n
    # Once the view has ranged to the data, the curve draws a downsampled copy.
    qtbot.waitUntil(lambda: len(plots.curves["gen"].curve.getData()[0]) < 20_000, timeout=5000)
    ticks = plots.rugs["d_updated"].getData()[0]
    assert 0 < len(ticks) <= 2 * 3001


def test_screenshot_cli_of_a_run(tmp_path):
    """`latentlab gui RUN --screenshot out.png` renders the attached run and exits 0."""
    from PIL import Image

    from latentlab.config import load_preset

    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    (run / "config.toml").write_text(load_preset("tiny").to_toml())
    rows = [{"step": s, "gen": 1 + np.sin(s / 9) / 3, "real": 0.5, "fake": 0.6, "lr_d": 2e-4, "lr_g": 2e-4,
             "l2_d": 0.0, "d_updated": s % 7 != 0, "g_updated": True, "time": s / 10, "img_per_s": 300.0}
            for s in range(1, 201)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    grid = np.zeros((66, 66, 3), dtype=np.uint8)
    grid[:, :33] = (220, 120, 40)
    Image.fromarray(grid).save(run / "samples" / "step-00000200.png")
    out = tmp_path / "shot.png"
    env = {"QT_QPA_PLATFORM": "offscreen", "LATENTLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "latentlab", "gui", str(run), "--screenshot", str(out)],
                            capture_output=True, text=True, timeout=60, env=env,
                            check=False)
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1440, 900)
    # The sample grid's orange half is on screen (a colour nothing else in the window uses).
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(rgb.constBits(), np.uint8, rgb.sizeInBytes()).reshape(900, rgb.bytesPerLine())
    pixels = pixels[:, : 1440 * 3].reshape(900, 1440, 3).astype(int)
    orange = (np.abs(pixels - [220, 120, 40]).max(axis=2) < 8).sum()
    assert orange > 2000


def test_window_shows_without_importing_torch(tmp_path):
    """Launch stays fast because torch loads only after the window is up (or on first Start)."""
    code = ("import sys; from latentlab.gui.app import dispose, launch; app, w = launch(probe=False); "
            "app.processEvents(); print(w.isVisible(), 'torch' in sys.modules, flush=True); dispose(w)")
    env = {"QT_QPA_PLATFORM": "offscreen", "LATENTLAB_SETTINGS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env,
                            check=False)
    assert result.stdout.split() == ["True", "False"], result.stderr
    assert result.returncode == 0


LONG_EMIT = """
import sys
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel

app = QApplication([])

class Emitter(QObject):
    happened = Signal(object)

emitter, label = Emitter(), QLabel()
emitter.happened.connect(lambda _: None)
before = sys.getrefcount(True), sys.getrefcount(None)
for i in range(20_000):  # more than True's and None's natural reference counts
    emitter.happened.emit(i)
    label.setText("x")
print(*before, sys.getrefcount(True), sys.getrefcount(None))
"""


def test_signal_emits_keep_the_references_of_true_and_none():
    """PySide6 6.12.0 drops a reference to True per emit and to None per void call, which aborts CPython
    3.11 ("Fatal Python error: bool_dealloc") within minutes of training; the installed bindings must
    not. Run apart, so a binding with the bug fails this test instead of aborting the suite."""
    result = subprocess.run([sys.executable, "-c", LONG_EMIT], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    true_before, none_before, true_after, none_after = map(int, result.stdout.split())
    # Unchanged up to the few references the loop's own objects hold: 20,000 lost would show.
    assert true_after > true_before - 100 and none_after > none_before - 100


# -- the first ten minutes ------------------------------------------------------------------------------
def _panel_of(window, widget):
    for i in range(window.tabs.count()):
        if window.tabs.widget(i).isAncestorOf(widget) or window.tabs.widget(i) is widget:
            return i
    return None


def test_no_key_does_two_things_in_any_tab(window):
    """Each key does one thing in each tab: window-wide shortcuts plus the current tab's own must not
    share a key (Space was both Pause and Play: Qt's "Ambiguous shortcut overload")."""
    from PySide6.QtGui import QAction, QShortcut

    bindings = []  # (key, tab index or None for the whole window, what)
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            if action.shortcutContext() in (Qt.WindowShortcut, Qt.ApplicationShortcut):
                bindings.append((key.toString(), None, action.text()))
                continue
            owners = {_panel_of(window, w) for w in action.associatedObjects()
                      if hasattr(w, "isWindow") and not w.inherits("QMenu") and not w.inherits("QMenuBar")}
            bindings += [(key.toString(), tab, action.text()) for tab in owners]
    for shortcut in window.findChildren(QShortcut):
        tab = None if shortcut.context() in (Qt.WindowShortcut, Qt.ApplicationShortcut) else \
            _panel_of(window, shortcut.parentWidget())
        bindings.append((shortcut.key().toString(), tab, "QShortcut"))
    assert any(key == "Space" for key, _, _ in bindings)
    for tab in range(window.tabs.count()):
        live = [(key, what) for key, owner, what in bindings if owner in (None, tab)]
        keys = [key for key, _ in live]
        clashes = sorted({(k, w) for k, w in live if keys.count(k) > 1})
        assert not clashes, f"tab {window.tabs.tabText(tab)}: {clashes}"


def test_no_widget_attribute_hides_a_qt_method(window):
    """A Python attribute named like a Qt method (`metric`, `size`) replaces that method for every
    caller, Qt's painting and layouts included ("TypeError: QComboBox is not callable" once
    Compare runs' chooser was called `metric`). Every widget and object of the window is checked."""
    from PySide6.QtCore import QObject
    from PySide6.QtWidgets import QWidget

    def qt_base(cls):
        return next(c for c in cls.__mro__ if c.__module__.startswith("PySide6"))

    hidden = []
    for obj in [window, *window.findChildren(QObject)]:
        for name, value in vars(obj).items():
            if not name.startswith("_") and callable(getattr(qt_base(type(obj)), name, None)) and not callable(value):
                hidden.append(f"{type(obj).__name__}.{name}")
    assert not hidden, hidden
    assert any(isinstance(o, QWidget) and vars(o) for o in window.findChildren(QWidget))  # the walk saw ours

    # Objects that only exist while something runs (a training session, a run follower): their
    # classes' source, every `self.NAME = ...`.
    import importlib
    import inspect
    import pkgutil
    import re

    import latentlab.gui

    classes = set()
    for info in pkgutil.walk_packages(latentlab.gui.__path__, "latentlab.gui."):
        module = importlib.import_module(info.name)
        classes |= {c for c in vars(module).values()
                    if inspect.isclass(c) and issubclass(c, QObject) and c.__module__ == info.name}
    assert len(classes) > 20
    for cls in classes:
        for name in set(re.findall(r"\bself\.(\w+)\s*=[^=]", inspect.getsource(cls))):
            ours = any(name in vars(c) for c in cls.__mro__ if c.__module__.startswith("latentlab"))
            if callable(getattr(qt_base(cls), name, None)) and not ours:
                hidden.append(f"{cls.__name__}.{name}")
    assert not hidden, hidden


def test_space_pauses_on_train_and_plays_on_record(window, qtbot):
    from PySide6.QtTest import QTest

    train, record = window.train_panel, window.record_panel
    paused, played = [], []
    train.pause_action.setEnabled(True)
    train.pause_action.triggered.disconnect()
    train.pause_action.triggered.connect(lambda: paused.append(1))
    record.play_action.triggered.disconnect()
    record.play_action.triggered.connect(lambda: played.append(1))
    window.explore_panel.demo_on_first_show = False
    window.tabs.setCurrentWidget(record)
    qtbot.waitUntil(lambda: window.focusWidget() is record)
    QTest.keyClick(window.focusWidget(), Qt.Key_Space)
    assert (paused, played) == ([], [1])
    window.tabs.setCurrentWidget(train)
    qtbot.waitUntil(lambda: window.focusWidget() is train)
    QTest.keyClick(window.focusWidget(), Qt.Key_Space)
    assert (paused, played) == ([1], [1])


def test_welcome_strip_until_dismissed(qtbot, tmp_path, monkeypatch):
    from latentlab.gui.app import make_application
    from latentlab.gui.main_window import MainWindow
    from latentlab.gui.settings import use_settings_dir

    use_settings_dir(tmp_path / "fresh-settings")
    monkeypatch.chdir(tmp_path)
    make_application()
    first = MainWindow()
    first.persist = False
    qtbot.addWidget(first)
    first.restore_state()
    assert first.tabs.currentWidget() is first.explore_panel  # the demo is what a new user sees
    assert first.welcome.isVisibleTo(first)
    first.welcome.close_button.click()
    assert not first.welcome.isVisibleTo(first)
    second = MainWindow()
    second.persist = False
    qtbot.addWidget(second)
    assert not second.welcome.isVisibleTo(second)


def test_welcome_strip_retires_when_the_user_starts_training(window, qtbot, tiny):
    """It says the demo is on screen and to train your own: once a training starts, neither holds."""
    from latentlab.gui.widgets.welcome import WelcomeStrip

    assert not WelcomeStrip.dismissed() and not window.welcome.isHidden()
    train = window.train_panel
    tiny(train, **{"train.steps": 2})
    train.start_training(paused=True)
    qtbot.waitUntil(lambda: window.welcome.isHidden(), timeout=5000)
    assert WelcomeStrip.dismissed()  # for good: a restart does not bring it back
    train.stop_training()
    qtbot.waitUntil(lambda: train.session is None, timeout=30000)


def test_failed_open_checkpoint_is_shown_where_the_user_is(window, qtbot, tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    window.explore_panel.demo_on_first_show = False  # its loading message would share the banner
    window.tabs.setCurrentWidget(window.explore_panel)
    window.open_path(bad)
    qtbot.waitUntil(lambda: window.explore_panel.banner.text() != "", timeout=60000)
    assert "broken.safetensors" in window.explore_panel.banner.text()
    assert window.tabs.currentWidget() is window.explore_panel


def test_record_header_follows_the_live_generator_step(window):
    from latentlab.gui.state.loading import ModelInfo

    info = ModelInfo(renderer=None, label="live training · dcgan 32 px · step 200", kind="live", arch="dcgan",
                     latent_dim=8, image_size=32, step=200)
    window.workspace.model.info = info  # the model on screen, as the Explore panel's loader leaves it
    window.workspace.model.set_step(450)  # a hot swap of the live generator's weights
    assert window.record_panel.model_label.text() == "Model: live training · dcgan 32 px · step 450"


def _cut_buttons(window) -> list[str]:
    from PySide6.QtWidgets import QPushButton, QStyle, QToolButton

    cut = []
    for button in window.findChildren(QPushButton) + window.findChildren(QToolButton):
        text = button.text().replace("&", "")
        if not text or not button.isVisibleTo(window) or not button.visibleRegion().boundingRect().width():
            continue
        style = button.style()
        margins = style.pixelMetric(QStyle.PM_ButtonMargin, None, button) + \
            2 * style.pixelMetric(QStyle.PM_DefaultFrameWidth, None, button)
        need = button.fontMetrics().horizontalAdvance(text)
        if need > button.width() - margins:
            cut.append(f"{text!r}: {need} px of text in a {button.width()} px button")
    return cut


def test_a_laptop_window_cuts_nothing(window, qtbot):
    """At 1024x700 every tab fits: each button's text fits its width, the A/B slider stays usable."""
    window.explore_panel.demo_on_first_show = False
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 700)
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        qtbot.wait(50)  # a layout pass
        assert not _cut_buttons(window), window.tabs.tabText(i)
    window.tabs.setCurrentWidget(window.explore_panel)
    qtbot.wait(50)
    panel = window.explore_panel
    assert panel.keyframes.slider.width() >= 150
    # The slider column fits its width: no page's minimum widens it past the window (the slider
    # rows' values and reset buttons would sit off screen behind a horizontal scroll bar).
    side = panel.tabs.parentWidget().parentWidget()  # the column's scroll area (viewport, then area)
    for i in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(i)
        qtbot.wait(20)
        assert panel.tabs.width() <= side.viewport().width(), panel.tabs.tabText(i)
        assert panel.tabs.minimumSizeHint().width() <= side.viewport().width(), panel.tabs.tabText(i)
    # Keyframes and Reconstruction side by side fit under the view without scrolling sideways.
    lower = panel.keyframes.parentWidget().parentWidget()  # the splitter holding both boxes
    lower_area = lower.parentWidget().parentWidget()  # its scroll area (viewport, then area)
    assert lower.minimumSizeHint().width() <= lower_area.viewport().width()
    assert not lower_area.horizontalScrollBar().isVisible()
    # A long note in the follow row (a run with a long name ended) gives way instead of widening the
    # window past the screen.
    panel.follow.set_available(False, "training ended: " + "a-run-with-a-very-long-name-" * 4)
    panel.follow.offer_finished("latest.safetensors")
    qtbot.wait(50)
    assert window.minimumSizeHint().width() <= 1024 and window.width() == 1024
    assert panel.follow.open_finished.geometry().right() <= panel.follow.width()
    # Record: the keyframe list keeps three rows in sight; the options scroll beneath it.
    from latentlab.gui.record.keyframes import THUMB

    record = window.record_panel
    window.tabs.setCurrentWidget(record)
    qtbot.wait(50)
    assert record.keys.list.viewport().height() >= 3 * THUMB  # three thumbnails


def test_the_photo_journey_shows_all_its_controls_in_a_laptop_window(window, qtbot):
    """At 1024x700 the photo, the crop, the result, every button, the progress and the status are on
    screen at once, none cut: the journey takes the picture area, not a side tab."""
    window.explore_panel.demo_on_first_show = False
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 700)
    panel = window.explore_panel
    panel.show_photo_page()
    qtbot.wait(50)
    page = panel.photo
    for widget in (page.faces_view, page.aligned, page.result, page.open_button, page.detector_button,
                   page.find_button, page.stop_button, page.done_button, page.progress, page.status):
        assert widget.isVisibleTo(window)
        shown = widget.visibleRegion().boundingRect()
        assert shown.size() == widget.size(), f"{widget}: {shown} of {widget.rect()}"
        top_left = widget.mapTo(window, widget.rect().topLeft())
        assert window.rect().contains(top_left) and window.rect().contains(
            widget.mapTo(window, widget.rect().bottomRight())), widget
    assert min(page.aligned.width(), page.aligned.height()) >= 96
    assert not _cut_buttons(window)
    # The status's two lines fit under the buttons.
    assert page.status.height() >= 2 * page.status.fontMetrics().height() or \
        page.status.fontMetrics().horizontalAdvance(page.status.text()) <= page.status.width()


def test_every_tab_is_a_panel_built_from_the_one_workspace(window):
    from latentlab.gui.panel import Panel

    assert len(window.panels) == window.tabs.count() == 4
    for panel in window.panels:
        assert isinstance(panel, Panel), type(panel).__name__
        assert panel.workspace is window.workspace
    window.workspace.say("hello from a panel", 5000)
    assert window.statusBar().currentMessage() == "hello from a panel"
    window.workspace.show(window.metrics_panel)
    assert window.tabs.currentWidget() is window.metrics_panel

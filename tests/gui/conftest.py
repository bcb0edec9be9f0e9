"""GUI tests: offscreen Qt, throwaway settings, a tiny synthetic config that trains in about a second."""

import os

# Before anything imports Qt (the root conftest sets it too; GUI tests must not depend on that).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

import latentlab.gui  # noqa: F401  (refuses a PySide6 release known to crash, before any Qt call)

TINY = {
    "model.image_size": 32,
    "model.latent_dim": 16,
    "model.g_width": 4,
    "model.d_width": 4,
    "train.batch": 8,
    "train.steps": 6,
    "train.sample_every": 2,
    "train.checkpoint_every": 1000,
    "train.sample_count": 16,
    "data.synthetic_count": 64,
    "data.holdout": 8,
}


@pytest.fixture(autouse=True)
def _gui_thread_garbage_collection(qapp):
    """Every GUI test runs under the app's garbage-collection policy (collections on the GUI thread
    only), also the ones that build a panel without the main window."""
    from latentlab.gui.app import make_application

    make_application()


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """The real main window with its settings in tmp_path and runs written under tmp_path/runs."""
    from latentlab.gui.app import make_application
    from latentlab.gui.settings import use_settings_dir

    use_settings_dir(tmp_path / "settings")
    monkeypatch.chdir(tmp_path)  # the default runs folder is ./runs
    make_application()
    from latentlab.gui.main_window import MainWindow

    win = MainWindow()
    win.persist = False
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()  # every panel's shutdown: training stopped, worker threads joined


@pytest.fixture
def panel(qtbot, tmp_path):
    """The Explore panel on its own (the main window's Train panel is not needed), shown so its view
    paints, settings in tmp_path."""
    from latentlab.gui.app import make_application
    from latentlab.gui.explore.panel import ExplorePanel
    from latentlab.gui.settings import use_settings_dir

    use_settings_dir(tmp_path / "settings")
    make_application()
    p = ExplorePanel()
    p.demo_on_first_show = False  # each test loads its own tiny model
    qtbot.addWidget(p)
    p.resize(1200, 760)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.shutdown(3.0)


def set_tiny(panel, tmp_path, **extra):
    """Fill the Train panel's form with the tiny config (and a cache inside tmp_path)."""
    values = {**TINY, "data.cache_dir": str(tmp_path / "cache"), **extra}
    for key, value in values.items():
        panel.form.set_value(key, value)
    panel.output.set_value(tmp_path / "runs" / "tiny-test")
    return values


@pytest.fixture
def tiny(tmp_path):
    return lambda panel, **extra: set_tiny(panel, tmp_path, **extra)

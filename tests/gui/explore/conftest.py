"""The Explore panel fixture shared by the panel's test modules."""

import pytest


@pytest.fixture
def panel(qtbot, tmp_path):
    """The panel on its own (the main window's Train panel is not needed), settings in tmp_path."""
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

"""Record › Timelapse: the preview scrubber shows the frames the export writes; export in a worker."""

import av
import numpy as np
import pytest

from tests.test_timelapse import STEPS, grid, make_run, up

pytestmark = pytest.mark.timeout(60)


def test_scrubber_preview_and_export(qtbot, tmp_path):
    from latentlab.gui.record.timelapse import TimelapseWidget

    run = make_run(tmp_path / "run")
    w = TimelapseWidget()
    qtbot.addWidget(w)
    assert not w.export_button.isEnabled()
    w.set_run(run)
    assert w.scrubber.maximum() == len(STEPS) - 1 and w.scrubber.value() == len(STEPS) - 1
    np.testing.assert_array_equal(w.view.array(), up(grid(STEPS[-1]), 14))  # the newest grid, as written
    w.scrubber.setValue(0)
    np.testing.assert_array_equal(w.view.array(), up(grid(STEPS[0]), 14))
    assert "step 3" in w.frame_label.text()
    w.label.setChecked(True)
    labelled = w.view.array()
    changed = np.any(labelled != up(grid(STEPS[0]), 14), axis=2)
    assert changed.any() and not changed[: labelled.shape[0] // 2].any()  # only in the bottom corner
    w.start.setValue(6)
    w.stop.setValue(12)
    w.hold.setValue(0.2)
    w.fps.setValue(10)
    assert len(w.grids) == 3 and w.frame_count() == 5
    assert w.export_to(tmp_path / "t.gif")
    assert w.exporting and not w.export_button.isEnabled()
    qtbot.waitUntil(lambda: w.last_export is not None, timeout=30_000)
    assert not w.exporting and w.export_button.isEnabled() and "Wrote" in w.export_label.text()
    with av.open(str(tmp_path / "t.gif")) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 5
    np.testing.assert_array_equal(frames[0], w.preview_array(0))  # step 6, labelled, as previewed
    np.testing.assert_array_equal(frames[-1], w.preview_array(2))
    assert w.progress.value() == w.progress.maximum() == 5


def test_a_bad_destination_is_a_message(qtbot, tmp_path):
    from latentlab.gui.record.timelapse import TimelapseWidget

    w = TimelapseWidget()
    qtbot.addWidget(w)
    w.show()
    w.set_run(make_run(tmp_path / "run"))
    w.export_to(tmp_path / "missing" / "t.mp4")
    qtbot.waitUntil(lambda: not w.exporting, timeout=30_000)
    assert "does not exist" in w.banner.text() and w.export_label.text() == "Export failed"


def test_the_window_offers_the_train_tabs_run(window, tmp_path):
    run = make_run(tmp_path / "attached")
    assert window.train_panel.attach(run)
    tl = window.record_panel.timelapse
    assert tl.run == run and len(tl.grids) == len(STEPS)


def test_the_default_fps_gives_a_short_run_a_few_seconds(qtbot, tmp_path):
    """12 grids at a fixed 30 fps were a 0.4 s blink; until the user sets the rate, it follows the grids."""
    from latentlab.gui.record.timelapse import AUTO_SECONDS, TimelapseWidget

    w = TimelapseWidget()
    qtbot.addWidget(w)
    w.set_run(make_run(tmp_path / "run"))
    assert w.frame_count() / w.fps.value() >= 3.0 and len(w.grids) / w.fps.value() <= AUTO_SECONDS + 1
    assert "s" in w.length_label.text()
    w.fps.setValue(24)  # the user's choice stays, whatever the grids
    w.start.setValue(6)
    assert w.fps.value() == 24 and not w.fps_auto

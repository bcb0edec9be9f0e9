"""The Explore panel's Photo page: a photo in, its face found, projected live, stopped or replaced."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from latentlab.data.synthetic import face_in_picture
from tests.gui.explore.test_explore_panel import load, make_checkpoint, wait_view


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(4)
    for name, index in (("one.png", 1), ("two.png", 5)):
        picture, _ = face_in_picture(rng, index, 200, 0.7, 0)
        Image.fromarray(picture).save(tmp_path / name)
    Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(tmp_path / "noise.png")
    return tmp_path


def snapshot(panel):
    s = panel.state
    return s.base.copy(), s.origin.copy(), s.source, s.seed, panel.view.array().copy()


def assert_same(before, after):
    for a, b in zip(before, after):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b


def open_photo(qtbot, panel, path):
    panel.drop_path(path)  # a GAN has no encoder: the drop goes to the Photo page
    qtbot.waitUntil(lambda: panel.photo.path == str(path) and panel.photo.faces_view.pixels is not None
                    and panel.photo.status.text().startswith(path.name), timeout=15000)


def test_a_dropped_photo_is_projected_and_becomes_the_latent(qtbot, panel, tmp_path, photos):
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    page = panel.photo
    page.steps, page.restarts = 12, 2
    open_photo(qtbot, panel, photos / "one.png")
    assert panel.tabs.currentWidget() is panel.photo_page
    assert len(page.faces_view.faces) >= 1 and page.aligned.array().shape == (32, 32, 3)
    seen = []
    page.jobs.progressed.connect(lambda job, s: seen.append(s.step))
    qtbot.mouseClick(page.find_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not page.running, timeout=30000)
    assert seen and seen[-1] == 12 and page.progress.value() == 12
    assert panel.state.source == "photo one"
    shown = wait_view(qtbot, panel)
    np.testing.assert_array_equal(shown, page.result.array())  # the view renders the latent found


def test_stop_leaves_the_explorer_exactly_as_it_was(qtbot, panel, tmp_path, photos):
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    before = snapshot(panel)
    page = panel.photo
    page.steps = 100_000  # still running when Stop is pressed
    open_photo(qtbot, panel, photos / "one.png")
    qtbot.mouseClick(page.find_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.result.array() is not None, timeout=30000)  # converging live
    qtbot.mouseClick(page.stop_button, Qt.LeftButton)
    assert page.jobs.shutdown(10.0)  # the projection thread has ended
    qtbot.wait(50)
    assert not page.running and page.find_button.isEnabled() and page.result.array() is None
    assert_same(before, snapshot(panel))


def test_a_second_photo_replaces_the_one_being_projected(qtbot, panel, tmp_path, photos):
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    before = snapshot(panel)
    page = panel.photo
    page.steps = 100_000
    open_photo(qtbot, panel, photos / "one.png")
    qtbot.mouseClick(page.find_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.result.array() is not None, timeout=30000)
    open_photo(qtbot, panel, photos / "two.png")  # latest wins
    assert not page.running
    page.steps = 6
    qtbot.mouseClick(page.find_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not page.running, timeout=30000)
    assert panel.state.source == "photo two"
    assert page.jobs.shutdown(10.0)
    assert panel.state.source == "photo two" and not np.array_equal(panel.state.base, before[0])


def test_no_face_asks_for_a_box_and_the_box_is_remembered_per_photo(qtbot, panel, tmp_path, photos):
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    page = panel.photo
    open_photo(qtbot, panel, photos / "noise.png")
    assert "No face found: drag on the photo to draw a box" in page.status.text()
    assert panel.banner.isVisible() and "noise.png" in panel.banner.text()
    assert not page.find_button.isEnabled() and page.aligned.array() is None
    view = page.faces_view
    frame = view._frame()
    start = QPoint(int(frame.x() + frame.width() * 0.3), int(frame.y() + frame.height() * 0.3))
    end = QPoint(int(frame.x() + frame.width() * 0.7), int(frame.y() + frame.height() * 0.8))
    qtbot.mousePress(view, Qt.LeftButton, pos=start)
    qtbot.mouseMove(view, end)
    qtbot.mouseRelease(view, Qt.LeftButton, pos=end)
    assert view.box is not None and page.aligned.array() is not None and page.find_button.isEnabled()
    drawn = page.boxes[str(photos / "noise.png")]
    open_photo(qtbot, panel, photos / "one.png")
    assert view.box is None  # another photo: the detector's faces
    open_photo(qtbot, panel, photos / "noise.png")
    assert view.box == drawn  # remembered for this photo
    qtbot.mouseClick(page.detector_button, Qt.LeftButton)
    assert view.box is None and str(photos / "noise.png") not in page.boxes


def test_a_vaegan_projects_from_its_encoder_when_dropped_on_the_photo_page(qtbot, panel, tmp_path, photos):
    load(qtbot, panel, make_checkpoint(tmp_path / "v.safetensors", arch="vaegan"))
    page = panel.photo
    page.steps, page.restarts = 6, 2
    panel.tabs.setCurrentWidget(panel.photo_page)
    open_photo(qtbot, panel, photos / "one.png")  # with an encoder, only the Photo page takes the drop
    results = []
    page.jobs.finished.connect(lambda job, r: results.append(r))
    qtbot.mouseClick(page.find_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not page.running, timeout=30000)
    assert results and results[0].start == "encoder"
    assert panel.state.source == "photo one" and panel.recon.reconstruction.array() is not None

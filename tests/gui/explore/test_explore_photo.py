"""The photo journey in the Explore panel's picture area: a photo in, its face found, projected live,
stopped or replaced; a VAE/GAN's encoder answers first."""

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
    panel.drop_path(path)  # any model: the drop opens the photo journey
    page = panel.photo
    qtbot.waitUntil(lambda: page.path == str(path) and page.faces_view.pixels is not None
                    and not page.running and page.status.text().startswith(("The encoder", path.name)),
                    timeout=15000)


def test_a_dropped_photo_is_projected_and_becomes_the_latent(qtbot, panel, tmp_path, photos):
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    page = panel.photo
    page.steps, page.restarts = 12, 2
    open_photo(qtbot, panel, photos / "one.png")
    assert panel.stage.currentWidget() is panel.photo and not panel.lower_area.isVisible()
    assert len(page.faces_view.faces) >= 1 and page.aligned.array().shape == (32, 32, 3)
    seen = []
    page.jobs.progressed.connect(lambda job, s: seen.append(s.step))
    qtbot.mouseClick(page.find_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not page.running, timeout=30000)
    assert seen and seen[-1] == 12 and page.progress.value() == 12
    assert panel.state.source == "photo one"
    qtbot.mouseClick(page.done_button, Qt.LeftButton)  # back to the generator view, the keyframes below
    assert panel.stage.currentWidget() is not panel.photo and panel.lower_area.isVisible()
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


def test_a_vaegan_encodes_first_then_refines_from_the_encoder(qtbot, panel, tmp_path, photos):
    load(qtbot, panel, make_checkpoint(tmp_path / "v.safetensors", arch="vaegan"))
    page = panel.photo
    page.steps, page.restarts = 6, 2
    open_photo(qtbot, panel, photos / "one.png")
    # Step one, at once: the encoder's answer is the face the sliders edit.
    assert page.status.text().startswith("The encoder's answer") and page.find_button.text() == "Refine"
    assert panel.state.source == "photo one" and panel.state.seed is None
    encoded = panel.state.origin.copy()
    np.testing.assert_array_equal(panel.recon.reconstruction.array(), page.result.array())
    results = []
    page.jobs.finished.connect(lambda job, r: results.append(r))
    qtbot.mouseClick(page.find_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not page.running, timeout=30000)
    assert results and results[0].start == "encoder" and results[0].error <= results[0].start_error + 1e-6
    assert panel.state.source == "photo one" and not np.array_equal(panel.state.origin, encoded)
    assert panel.seed.text() == "no seed"  # the seed box no longer names the face before the photo


def test_the_result_is_judged_against_the_models_own_training_images(qtbot, panel, tmp_path, photos):
    from latentlab.inference.photo import far_from_training

    assert far_from_training(40.0, 12.0) and not far_from_training(14.0, 12.0) and not far_from_training(5.0, 2.0)
    load(qtbot, panel, make_checkpoint(tmp_path / "v.safetensors", arch="vaegan"))
    page = panel.photo
    open_photo(qtbot, panel, photos / "one.png")
    # Measured the same way (the encoder alone) on training images of the model, in the background.
    qtbot.waitUntil(page.verdict.isVisible, timeout=30000)
    key = page._reference_key("encoder")
    reference = page.references[key]
    assert reference > 0 and f"against {reference:.0f} on the procedural cartoon faces" in page.verdict.text()
    page.references[key] = 0.5  # a model that reproduces its own faces almost exactly
    page.use_detector()  # aligned and encoded again
    qtbot.waitUntil(lambda: not page.running and page.verdict.isVisible(), timeout=15000)
    assert page.verdict.text().startswith("This photo is far from the faces this model knows")
    assert "Training on photos like this one is the remedy" in page.verdict.text()
    open_photo(qtbot, panel, photos / "two.png")
    page.references[key] = 1000.0
    page.use_detector()
    qtbot.waitUntil(lambda: not page.running and page.verdict.isVisible(), timeout=15000)
    assert "a face this model knows" in page.verdict.text()


def test_switching_model_clears_what_the_old_model_found(qtbot, panel, tmp_path, photos):
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    page = panel.photo
    page.steps, page.restarts = 6, 2
    open_photo(qtbot, panel, photos / "one.png")
    qtbot.mouseClick(page.find_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not page.running and page.result.array() is not None, timeout=30000)
    panel.show_stage("view")  # (the helper waits for the view's first picture of the new model)
    load(qtbot, panel, make_checkpoint(tmp_path / "g2.safetensors", seed=3))
    assert page.result.array() is None and not page.verdict.isVisible()
    assert page.aligned.array() is not None and page.find_button.isEnabled()  # ready to find it again


def test_file_open_photo_and_a_drop_on_any_tab_lead_to_the_journey(window, qtbot, tmp_path, photos):
    from PySide6.QtGui import QKeySequence

    explore = window.explore_panel
    explore.demo_on_first_show = False
    action = next(a for a in window.file_menu.actions() if a.text() == "Open photo…")
    assert action.shortcut() == QKeySequence("Ctrl+Shift+O") and action.shortcutContext() == Qt.WindowShortcut
    window.tabs.setCurrentWidget(window.train_panel)
    assert window.drop_path(photos / "one.png")  # dropped on the Train tab
    assert window.tabs.currentWidget() is explore and explore.stage.currentWidget() is explore.photo
    qtbot.waitUntil(lambda: explore.photo.faces_view.pixels is not None, timeout=15000)

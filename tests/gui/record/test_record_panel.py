"""The Record panel, driven through its widgets beside a real Explore panel (offscreen Qt, tiny generators)."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget
from torch import nn

from latentlab.config import Config, ModelConfig
from latentlab.latent import grid_keyframes, seed_latent, walk_length
from latentlab.models import build_models
from latentlab.run.checkpoint import save_checkpoint

NZ = 8


def make_checkpoint(path, arch="dcgan", seed=0):
    """A 32 px generator with weights large enough that its faces differ (N(0, 0.02) at width 4 is flat grey)."""
    cfg = Config(name="test", model=ModelConfig(arch=arch, image_size=32, latent_dim=NZ, g_width=4, d_width=4,
                                                e_width=4))
    torch.manual_seed(seed)
    nets = build_models(cfg.model)
    with torch.no_grad():
        for net in nets.values():
            for m in net.modules():
                if isinstance(m, nn.ConvTranspose2d):  # fan-in: input channels x the taps one output sees
                    m.weight.normal_(0, 1.5 / (m.weight.shape[0] * m.weight[0, 0].numel() / 4) ** 0.5)
                elif isinstance(m, (nn.Conv2d, nn.Linear)):
                    m.weight.normal_(0, 1.5 / m.weight[0].numel() ** 0.5)
                elif isinstance(m, nn.BatchNorm2d):
                    m.running_mean.normal_(0, 0.1)
                    m.running_var.uniform_(0.5, 1.5)
    tensors = {f"{name}.{k}": v for name, net in nets.items() for k, v in net.state_dict().items()}
    save_checkpoint(path, tensors, {"config": cfg.to_toml(), "arch": arch, "step": 3})
    return path


@pytest.fixture
def panels(qtbot, tmp_path):
    """(explore, record) side by side in one widget, a tiny DCGAN loaded in Explore."""
    from latentlab.gui.app import make_application
    from latentlab.gui.explore.panel import ExplorePanel
    from latentlab.gui.record.panel import RecordPanel
    from latentlab.gui.settings import use_settings_dir
    from latentlab.gui.state.workspace import Workspace

    use_settings_dir(tmp_path / "settings")
    make_application()
    host = QWidget()
    workspace = Workspace()  # what the two tabs share, as in the main window
    explore = ExplorePanel(workspace)
    explore.demo_on_first_show = False
    record = RecordPanel(workspace)
    layout = QHBoxLayout(host)
    layout.addWidget(explore)
    layout.addWidget(record)
    qtbot.addWidget(host)
    host.resize(1600, 800)
    host.show()
    qtbot.waitExposed(host)
    explore.open_checkpoint(make_checkpoint(tmp_path / "g.safetensors"))
    qtbot.waitUntil(lambda: record.renderer is not None, timeout=15000)
    yield explore, record
    record.shutdown(5.0)
    explore.shutdown(3.0)


def wait_preview(qtbot, record, frames):
    qtbot.waitUntil(lambda: record.preview_frames is not None and len(record.preview_frames) == frames
                    and not record.preview.busy, timeout=10000)


def decoded_frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_keyframes_add_remove_reorder_and_preview_plays(qtbot, panels):
    explore, record = panels
    assert record.add_current.isEnabled() and record.add_photo_button.isEnabled()  # a DCGAN projects
    explore.randomize(7)
    qtbot.mouseClick(record.add_current, Qt.LeftButton)
    np.testing.assert_array_equal(record.keys.latent(record.keys.keys()[0]), explore.current_latent())
    current_label = record.keys.labels()[0]
    assert "7" in current_label
    record.seed_count.setValue(3)
    record.seed_start.setValue(10)
    qtbot.mouseClick(record.add_seeds, Qt.LeftButton)
    assert record.keys.labels()[1:] == ["seed 10", "seed 11", "seed 12"]
    assert record.seed_start.value() == 13  # the next click adds new faces
    mark = explore.add_bookmark("favourite")
    record._fill_bookmarks()
    [action] = [a for a in record.bookmark_menu.actions() if a.text() == "favourite"]
    action.trigger()
    assert record.keys.count() == 5 and record.keys.labels()[4] == "bookmark “favourite”"
    np.testing.assert_array_equal(record.keys.keyframes()[4], mark.z)
    np.testing.assert_array_equal(record.keys.keyframes()[1], seed_latent(10, NZ))

    # Every keyframe gets a thumbnail rendered in the background.
    qtbot.waitUntil(lambda: all(not record.keys.list.item(i).icon().isNull() for i in range(5)), timeout=10000)

    # Reorder with the buttons, remove with the Delete shortcut.
    record.keys.list.setCurrentRow(1)
    qtbot.mouseClick(record.keys.down, Qt.LeftButton)
    assert record.keys.labels()[1:3] == ["seed 11", "seed 10"]
    qtbot.mouseClick(record.keys.up, Qt.LeftButton)
    qtbot.mouseClick(record.keys.up, Qt.LeftButton)
    assert record.keys.labels()[:3] == ["seed 10", current_label, "seed 11"]
    record.keys.list.setCurrentRow(4)
    record.keys.list.setFocus()
    qtbot.keyClick(record.keys.list, Qt.Key_Delete)
    assert record.keys.count() == 4 and "bookmark “favourite”" not in record.keys.labels()
    np.testing.assert_array_equal(record.keys.keyframes()[0], seed_latent(10, NZ))

    # The preview holds exactly the walk, its first frame the first keyframe; Space plays it.
    record.frames.setValue(3)
    wait_preview(qtbot, record, walk_length(4, 3))
    first = record.renderer.render_uint8(seed_latent(10, NZ)[None])[0]
    np.testing.assert_array_equal(record.preview_frames[0], first)
    record.frame = 0
    record.keys.list.setFocus()
    qtbot.keyClick(record.keys.list, Qt.Key_Space)
    assert record.playing and record.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: record.frame >= 3, timeout=5000)
    qtbot.keyClick(record.keys.list, Qt.Key_Space)
    assert not record.playing

    record.loop.setChecked(True)
    wait_preview(qtbot, record, walk_length(4, 3, loop=True))
    qtbot.mouseClick(record.keys.clear_button, Qt.LeftButton)
    assert record.keys.count() == 0 and record.preview_frames is None and not record.export_button.isEnabled()


def test_export_mp4_has_the_walks_frames(qtbot, panels, tmp_path):
    _, record = panels
    record.add_random(3, 0)
    record.frames.setValue(4)
    record.fps.setValue(12)
    record.size_box.setValue(64)
    out = tmp_path / "walk.mp4"
    assert record.export_to(out)
    assert record.exporting and not record.export_button.isEnabled() and record.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not record.exporting, timeout=20000)
    assert not record.banner.text(), record.banner.text()
    frames = decoded_frames(out)
    assert len(frames) == walk_length(3, 4) == 9
    assert frames[0].shape == (64, 64, 3)
    assert record.progress.value() == record.progress.maximum() == 9
    assert record.last_export.path == out and "9 frames" in record.export_label.text()
    with av.open(str(out)) as container:
        assert container.streams.video[0].average_rate == 12


def test_cancel_leaves_no_file_and_window_stays_live(qtbot, panels, tmp_path):
    _, record = panels
    record.add_random(3, 0)
    record.frames.setValue(3000)  # ~6000 frames at 256 px: far longer than the test waits
    record.size_box.setValue(256)
    out = tmp_path / "long.mp4"
    assert record.export_to(out)
    qtbot.waitUntil(lambda: record.progress.value() > 0, timeout=15000)  # progress arrives while it runs
    record.seed_count.setValue(5)  # the GUI thread answers meanwhile
    qtbot.mouseClick(record.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not record.exporting, timeout=15000)
    assert record.last_export.cancelled and 0 < record.last_export.frames < 6001
    assert list(tmp_path.glob("long*")) == [] and list(tmp_path.glob(".*mp4*")) == []
    assert "Cancelled" in record.export_label.text()


@pytest.mark.parametrize("name, words", [("missing/walk.mp4", "does not exist"), ("walk.avi", "unknown video type")])
def test_bad_path_shows_a_message(qtbot, panels, tmp_path, name, words):
    _, record = panels
    record.add_random(2, 0)
    record.frames.setValue(2)
    record.export_to(tmp_path / name)
    qtbot.waitUntil(lambda: not record.exporting, timeout=10000)
    assert words in record.banner.text() and "Traceback" not in record.banner.text()
    assert record.banner.level == "error" and record.last_export is None
    assert not (tmp_path / name).exists()


def test_window_has_the_record_tab(window):
    record = window.record_panel
    assert window.tabs.tabText(window.tabs.indexOf(record)) == "Record"
    assert record.workspace is window.explore_panel.workspace is window.workspace
    names = dict(window.shortcut_table())
    assert names["Export walk…"] == "Ctrl+E" and names["Play / pause preview"] == "Space"
    record.shutdown(1.0)


def test_grid_gif_export_tiles_the_walk_with_random_cells(qtbot, panels, tmp_path):
    _, record = panels
    record.add_random(2, 5)
    record.frames.setValue(3)
    record.fps.setValue(10)
    record.size_box.setValue(0)  # the model's 32 px
    record.cols.setValue(2)
    out = tmp_path / "grid.gif"
    assert record.export_to(out)
    qtbot.waitUntil(lambda: not record.exporting, timeout=20000)
    assert not record.banner.text(), record.banner.text()
    frames = decoded_frames(out)
    assert len(frames) == walk_length(2, 3) and frames[0].shape == (32, 32 * 2 + 2, 3)
    # The left cell starts on the first keyframe; the right one walks other faces.
    right_kf = grid_keyframes(1, 2, 2, NZ, seed=7)[1, 0]  # the seed box moved on to 7 after seeds 5, 6
    first, right = record.renderer.render_uint8(np.stack([seed_latent(5, NZ), right_kf])).astype(int)
    left_cell, right_cell = frames[0][:, :32].astype(int), frames[0][:, 34:].astype(int)
    def err(a, b):
        return np.abs(a - b).mean()

    assert err(first, right) > 20  # the two faces differ clearly, far more than the GIF palette's error
    assert err(left_cell, first) < err(first, right) / 2 and err(right_cell, right) < err(first, right) / 2


def test_a_segment_along_a_named_direction(qtbot, panels, tmp_path):
    from latentlab.gui.record.along import fill_menu
    from latentlab.latent import save_attributes

    explore, record = panels
    menu = record.add_along.menu()
    fill_menu(record, menu)
    assert "No named directions" in menu.actions()[0].text() and not menu.actions()[0].isEnabled()
    smile = np.linspace(-1, 1, NZ).astype(np.float32)
    save_attributes(tmp_path / "g.attributes.safetensors", {"smile": smile})
    explore.open_checkpoint(tmp_path / "g.safetensors")
    qtbot.waitUntil(lambda: explore.info is not None and "smile" in explore.info.attributes, timeout=15000)
    explore.randomize(5)
    explore.add_bookmark()
    fill_menu(record, menu)
    (smile_menu,) = [a.menu() for a in menu.actions()]
    labels = [a.text() for a in smile_menu.actions()]
    assert labels[0] == "from seed 5" and labels[-1].startswith("from bookmark")
    smile_menu.actions()[0].trigger()
    kf = record.keys.keyframes()
    np.testing.assert_allclose(kf, [seed_latent(5, NZ) - 3 * smile, seed_latent(5, NZ) + 3 * smile], atol=1e-6)
    assert record.keys.labels() == ["seed 5 · smile -3", "seed 5 · smile +3"]
    assert record.interp.currentText() == "lerp"

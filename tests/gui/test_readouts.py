"""Every readout describes the state on screen (issue: readouts that stayed stale)."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt

from latentlab.config import load_preset
from tests.gui.explore.test_explore_panel import load, make_checkpoint, wait_view


def test_the_header_says_stopped_after_stop(window, qtbot, tiny):
    panel = window.train_panel
    tiny(panel, **{"train.steps": 100_000, "train.sample_every": 100_000})
    panel.start_action.trigger()
    qtbot.waitUntil(lambda: panel.state == "training" and panel.series.last_step() >= 1
                    or panel.view.info.text().startswith("Training into"), timeout=60000)
    qtbot.waitUntil(lambda: panel.view.info.text().startswith("Training into"), timeout=60000)
    qtbot.mouseClick(panel.buttons["Stop"], Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=30000)
    text = panel.view.info.text()
    assert text.startswith("Stopped at step") and "Training" not in text and str(panel.run_dir) in text
    assert panel.status.rate.text() == "– img/s" and panel.status.eta.text() == "ETA –"


def test_a_reopened_run_that_nobody_trains_shows_no_speed_and_no_eta(window, qtbot, tmp_path):
    run = tmp_path / "old-run"
    run.mkdir()
    cfg = load_preset("tiny")
    cfg.train.steps = 100  # stopped at step 40 of 100 long ago
    (run / "config.toml").write_text(cfg.to_toml())
    rows = [{"step": s, "epoch": 0, "time": s * 0.1, "real": 0.6, "fake": 0.7, "gen": 0.8, "d_updated": True,
             "g_updated": True, "l2_d": 0.0, "lr_d": 2e-4, "lr_g": 2e-4, "img_per_s": 376.0} for s in range(1, 41)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    panel = window.train_panel
    assert window.open_path(run)
    qtbot.waitUntil(lambda: panel.series.last_step() == 40 and panel.follower.worker.reader is not None, timeout=20000)
    qtbot.waitUntil(lambda: panel._polls >= 3, timeout=20000)  # read again since: nothing new
    panel.view.refresh()
    assert panel.status.rate.text() == "– img/s" and panel.status.eta.text() == "ETA –"
    assert panel.status.progress.value() == 40
    # Rows arriving after the history: another process is training it, and the speed shows.
    with (run / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({**rows[-1], "step": 41, "time": 4.1}) + "\n")
    qtbot.waitUntil(lambda: panel.status.rate.text() == "376 img/s", timeout=20000)
    assert panel.status.state.text() == "Attached: training elsewhere"


def test_an_attached_finished_run_is_not_called_live(window, qtbot, run_copy):
    """A run that reached its last step, opened from disk: the header says it finished and how to go
    on, not "following it live"; rows written after that (someone trains it further) bring "live" back."""
    panel = window.train_panel
    assert window.open_path(run_copy)
    qtbot.waitUntil(lambda: panel._polls >= 1, timeout=20000)
    text = panel.view.info.text()
    assert "finished at step 6 of 6" in text and "live" not in text, text
    rows = (run_copy / "metrics.jsonl").read_text().splitlines()
    last = json.loads(rows[-1])
    with (run_copy / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({**last, "step": 7, "time": last["time"] + 0.1}) + "\n")
    qtbot.waitUntil(lambda: "following it live" in panel.view.info.text(), timeout=20000)


def test_a_note_goes_by_itself_and_an_error_stays(qtbot):
    from latentlab.gui.widgets.alerts import MessageBanner

    banner = MessageBanner()
    qtbot.addWidget(banner)
    banner.NOTE_MS, banner.READ_MS = 50, 0
    banner.show_message("Saved /tmp/explore-view.png", "info")
    assert banner.isVisible()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=5000)
    banner.show_message("cannot write the PNG", "error")
    qtbot.wait(200)
    assert banner.isVisible() and banner.text() == "cannot write the PNG"


def test_saved_view_note_expires(qtbot, panel, tmp_path):
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    panel.banner.NOTE_MS, panel.banner.READ_MS = 50, 0
    assert panel.save_view(tmp_path / "explore-view.png")
    assert "Saved" in panel.banner.text()
    qtbot.waitUntil(lambda: not panel.banner.isVisible(), timeout=5000)


def test_on_screen_time_is_claimed_only_for_a_view_in_sight(qtbot, panel, tmp_path):
    """A face asked for while the view is hidden (another tab) is painted when the tab comes back: the
    status must not call that wait the time from the change to the screen."""
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    panel.randomize(3)
    wait_view(qtbot, panel)
    assert " · on screen " in panel.status.text()
    panel.hide()
    panel.randomize(9)
    qtbot.waitUntil(lambda: panel.rendering.shown_id == panel.last_request, timeout=10000)  # received
    qtbot.wait(300)
    panel.show()
    wait_view(qtbot, panel)
    assert panel.status.text().startswith("render ") and "on screen" not in panel.status.text()


def test_the_seed_box_and_the_ab_slider_describe_the_face_on_screen(qtbot, panel, tmp_path):
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    panel.randomize(42)
    assert panel.seed.value() == 42
    # A projected photo has no seed: the box must not keep naming seed 42.
    panel._projected({"z": np.ones(panel.state.latent_dim, np.float32), "photo": None,
                      "reconstruction": None, "name": "me"})
    assert panel.state.source == "photo me" and panel.seed.text() == "no seed"
    panel.set_keyframe_from("A", "current")
    assert panel.state.keyframe_label("A") == "photo me"  # untouched: not "edited photo me"
    panel.randomize(7)
    assert panel.seed.value() == 7
    panel.set_keyframe_from("B", "current")
    # The view shows B (seed 7): the slider reads t = 1, not 0.
    assert panel.keyframes.slider.value() == panel.keyframes.slider.maximum()
    assert "1.00" in panel.keyframes.t_label.text()
    np.testing.assert_array_equal(panel.state.latent(), panel.state.keyframes["B"][0])
    panel.set_keyframe_from("A", "current")
    assert panel.keyframes.slider.value() == 0 and "0.00" in panel.keyframes.t_label.text()
    wait_view(qtbot, panel)
    # Typing a seed in the box still works, and "no seed" is not a seed.
    panel.seed.setValue(5)
    assert panel.state.seed == 5
    panel.seed.setValue(-1)
    assert panel.state.seed == 5


def test_a_launch_on_the_record_tab_loads_the_model_without_visiting_explore(window, qtbot):
    record, explore = window.record_panel, window.explore_panel
    assert explore.demo_on_first_show and explore.info is None
    calls = []
    explore.open_default = lambda: calls.append("demo") or True  # (the demo's load itself is Explore's test)
    window.tabs.setCurrentWidget(record)
    qtbot.waitUntil(lambda: calls == ["demo"], timeout=10000)
    assert not explore.isVisible()


def test_record_photo_is_offered_for_every_model(window, qtbot, tmp_path):
    explore, record = window.explore_panel, window.record_panel
    explore.demo_on_first_show = False
    window.tabs.setCurrentWidget(explore)
    load(qtbot, explore, make_checkpoint(tmp_path / "g.safetensors"))
    assert not explore.info.has_encoder and record.add_photo_button.isEnabled()
    from PIL import Image

    from latentlab.data.synthetic import face_in_picture

    picture, _ = face_in_picture(np.random.default_rng(4), 1, 200, 0.7, 0)
    Image.fromarray(picture).save(tmp_path / "me.png")
    record.add_photo(tmp_path / "me.png")  # found by projection: a DCGAN has no encoder
    qtbot.waitUntil(lambda: record.keys.count() == 1, timeout=60000)
    assert record.keys.labels() == ["photo me.png"]

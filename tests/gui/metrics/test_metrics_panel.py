"""The Metrics view follows the Train panel's run (from its run directory) and the memorization dialog."""

import json

import numpy as np

from latentlab.config import load_preset


def write_run(run, rows):
    run.mkdir(parents=True, exist_ok=True)
    cfg = load_preset("tiny")
    cfg.train.quality_every = 100
    (run / "config.toml").write_text(cfg.to_toml())
    with open(run / "events.jsonl", "a") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)


def quality(step, precision, recall, fd, diversity):
    return {"kind": "quality", "step": step, "message": "q", "path": None,
            "data": {"precision": precision, "recall": recall, "fd_random": fd, "diversity": diversity, "n": 64}}


def test_metrics_view_plots_quality_and_marks_health_events(window, qtbot, tmp_path):
    run = tmp_path / "runs" / "collapsing"
    write_run(run, [{"kind": "info", "step": 0, "message": "data", "path": None, "data": {}},
                    quality(100, 0.6, 0.3, 12.0, 0.8), quality(200, 0.7, 0.4, 9.0, 0.9)])
    panel = window.metrics_panel
    assert window.open_path(run)
    qtbot.waitUntil(lambda: panel.run_dir == run, timeout=3000)
    xs, ys = panel.curves["precision"].getData()
    assert list(xs) == [100, 200] and np.allclose(ys, [0.6, 0.7])
    assert panel.curves["fid"].getData()[0] is None or len(panel.curves["fid"].getData()[0]) == 0
    assert panel.health_list.count() == 0 and "2 measurements" in panel.hint.text()
    assert len(panel.best_marker.data) == 0  # no checkpoint pinned yet
    write_run(run, [{"kind": "best", "step": 200, "message": "best", "path": "x", "data": {"step": 200,
                                                                                       "fd_random": 9.0}}])
    qtbot.waitUntil(lambda: len(panel.best_marker.data) == 1, timeout=5000)
    assert (panel.best_marker.data["x"][0], panel.best_marker.data["y"][0]) == (200, 9.0)
    assert "Best checkpoint (★): step 200" in panel.hint.text()
    write_run(run, [quality(300, 0.5, 0.05, 30.0, 0.1),
                    {"kind": "alert", "step": 320, "message": "Mode collapse: the samples are 8% as varied",
                     "path": None, "data": {"kind": "collapse", "diversity": 0.08}},
                    {"kind": "rollback", "step": 320, "message": "rolled back to step-00000200.safetensors",
                     "path": None, "data": {"kind": "collapse", "to_step": 200}}])
    qtbot.waitUntil(lambda: panel.health_list.count() == 2, timeout=5000)
    assert len(panel.curves["diversity"].getData()[0]) == 3
    assert "collapse" in panel.health_list.item(0).text() and "rollback" in panel.health_list.item(1).text()
    assert panel.marked_steps() == [320, 320]
    panel.health_list.setCurrentRow(0)
    assert panel._markers[0][1][0][1].pen.widthF() == 3.0


def test_metrics_view_explains_an_empty_run(window, qtbot, tmp_path):
    run = tmp_path / "runs" / "quiet"
    write_run(run, [{"kind": "info", "step": 0, "message": "data", "path": None, "data": {}}])
    window.metrics_panel.follow(run)
    assert "No quality measurements in the run yet" in window.metrics_panel.hint.text()
    assert "every 100 steps" in window.metrics_panel.hint.text()


def test_nearest_training_images_dialog_finds_the_copy(qtbot, tmp_path):
    from latentlab.data import open_source
    from latentlab.gui.widgets.nearest import NearestImagesDialog

    data = open_source("synthetic", 32, crop="center", synthetic_count=64, holdout=8, cache_dir=tmp_path,
                       progress=lambda *_: None)
    dialog = NearestImagesDialog(np.array(data.images[5]), source="synthetic", image_size=32, crop="center",
                                 synthetic_count=64, holdout=8, k=4)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.neighbours is not None, timeout=20000)
    assert dialog.neighbours[0].index == 5 and dialog.neighbours[0].near_copy
    assert "Near-copy of training image 5" in dialog.status.text()
    assert dialog.grid.count() == 8  # 4 thumbnails with their captions


def test_measure_now_measures_the_newest_checkpoint_in_the_background(window, qtbot, tmp_path):
    from tests.gui.explore.test_explore_panel import make_checkpoint

    run = tmp_path / "runs" / "short"
    write_run(run, [{"kind": "info", "step": 0, "message": "data", "path": None, "data": {}}])
    cfg = load_preset("tiny")
    cfg.train.quality_n = 16
    (run / "config.toml").write_text(cfg.to_toml())
    panel = window.metrics_panel
    panel.follow(run)
    assert panel.measure_button.isEnabled()
    panel.measure_button.click()
    assert "No checkpoint yet" in panel.measure_status.text()  # nothing measured, nothing written
    (run / "checkpoints").mkdir()
    make_checkpoint(run / "checkpoints" / "latest.safetensors")
    before = sorted(p.name for p in run.rglob("*"))
    panel.measure_button.click()
    assert not panel.measure_button.isEnabled() and not panel.measure_progress.isHidden()  # busy, in the background
    qtbot.waitUntil(lambda: panel.measure_button.isEnabled(), timeout=120000)
    assert panel.measure_status.text().startswith("Measured step 3 (16 images): precision"), panel.measure_status.text()
    xs, ys = panel.measured_curves["precision"].getData()
    assert list(xs) == [3] and 0 <= ys[0] <= 1
    assert panel.measure_progress.isHidden()
    assert sorted(p.name for p in run.rglob("*")) == before  # the run directory is only read

"""Train › Compare runs: several runs in one plot with their own colours, their grids side by side."""

import json

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.timeout(60)


def make_run(root, seed, steps=20, grids=(5, 10, 15)):
    rng = np.random.default_rng(seed)
    (root / "samples").mkdir(parents=True)
    (root / "config.toml").write_text('name = "r"\n')
    rows = [{"step": s, "epoch": 0, "time": 0.5 * s + seed, "real": float(rng.random()), "fake": float(rng.random()),
             "gen": float(rng.random() * 3), "d_updated": True, "g_updated": bool(s % 3), "l2_d": 0.0,
             "lr_d": 2e-4, "lr_g": 2e-4, "img_per_s": 100.0} for s in range(1, steps + 1)]
    (root / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for step in grids:
        Image.fromarray(np.full((10, 10, 3), seed * 40 + step, np.uint8)).save(root / "samples" / f"step-{step:08d}.png")
    return rows


def test_two_runs_with_their_own_colours_and_values(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from latentlab.gui.train.overlay import RunOverlayWidget

    rows_a = make_run(tmp_path / "a", 1)
    rows_b = make_run(tmp_path / "b", 2, steps=12, grids=(4, 8, 12))
    w = RunOverlayWidget()
    qtbot.addWidget(w)
    w.show()
    assert w.add_run(tmp_path / "a") and w.add_run(tmp_path / "b")
    assert not w.add_run(tmp_path / "a")  # already there: a message, not a second entry
    assert "already" in w.banner.text() and w.run_list.count() == 2
    assert not w.add_run(tmp_path)  # not a run: a message, no entry
    assert "not a latentlab run directory" in w.banner.text() and w.run_list.count() == 2
    curves = [w.curves[str(tmp_path / name)] for name in ("a", "b")]
    # each run is read on its own thread; the plot shows it within a redraw tick
    qtbot.waitUntil(lambda: all(c.getOriginalDataset()[0] is not None and len(c.getOriginalDataset()[0]) == n
                                for c, n in zip(curves, (20, 12))), timeout=10_000)
    colors = [c.opts["pen"].color().name() for c in curves]
    assert colors[0] != colors[1]
    for curve, rows in zip(curves, (rows_a, rows_b)):
        x, y = curve.getOriginalDataset()
        np.testing.assert_array_equal(x, [r["step"] for r in rows])
        np.testing.assert_allclose(y, [r["gen"] for r in rows])
    w.metric_box.setCurrentText("real")
    w.x_axis.setCurrentIndex(w.x_axis.findData("time"))
    x, y = curves[1].getOriginalDataset()
    np.testing.assert_allclose(x, [r["time"] for r in rows_b])
    np.testing.assert_allclose(y, [r["real"] for r in rows_b])

    # each run's grid at the same step, side by side (the newest at or before it)
    w.step_slider.setValue(10)
    grids = w.shown_grids()
    assert [g[0, 0, 0] for g in grids] == [40 + 10, 80 + 8]
    # hide, then remove
    w.run_list.item(0).setCheckState(Qt.Unchecked)
    assert not curves[0].isVisible() and len(w.shown_grids()) == 1
    w.run_list.setCurrentRow(0)
    w.remove_selected()
    assert w.run_list.count() == 1 and list(w.curves) == [str(tmp_path / "b")] and list(w.feeds) == [str(tmp_path / "b")]
    w.shutdown()
    assert not w.feeds


def test_the_train_tabs_own_run_leads_the_list_and_is_followed(window, qtbot, tmp_path):
    rows = make_run(tmp_path / "own", 3)
    panel = window.train_panel
    assert panel.attach(tmp_path / "own")
    compare = panel.compare
    assert compare.model.runs[0].own and compare.model.runs[0].path == tmp_path / "own"
    with open(tmp_path / "own" / "metrics.jsonl", "a") as f:  # the run grows
        f.write(json.dumps({**rows[-1], "step": 21, "gen": 9.0}) + "\n")
    window.tabs.setCurrentWidget(panel)
    panel.view_tabs.setCurrentWidget(compare)
    curve = compare.curves[str(tmp_path / "own")]
    qtbot.waitUntil(lambda: curve.getOriginalDataset()[0] is not None and curve.getOriginalDataset()[0][-1] == 21,
                    timeout=10_000)
    assert curve.getOriginalDataset()[1][-1] == 9.0


def test_a_run_added_by_hand_becomes_the_tabs_own_run_in_place(qtbot, tmp_path):
    """The Train tab moving to a run already in the list marks that entry as its own (the list says
    so) and keeps its reader: no second thread for the same run."""
    from latentlab.gui.train.overlay import RunOverlayWidget

    make_run(tmp_path / "a", 1)
    w = RunOverlayWidget()
    qtbot.addWidget(w)
    assert w.add_run(tmp_path / "a")
    feed = w.feeds[str(tmp_path / "a")]
    w.set_own_run(tmp_path / "a")
    assert w.run_list.count() == 1 and "this tab's run" in w.run_list.item(0).text()
    assert w.feeds == {str(tmp_path / "a"): feed}
    w.shutdown()

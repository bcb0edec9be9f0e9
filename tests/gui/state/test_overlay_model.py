"""The Compare runs state (gui/state/overlay.py), without Qt: entries, colours, the tab's own run, grids."""

from pathlib import Path

import numpy as np
import pytest

from latentlab.config import UserError
from latentlab.gui.state.overlay import RunOverlay
from latentlab.gui.state.series import rows_to_columns

pytestmark = pytest.mark.timeout(30)


def make_run(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "config.toml").write_text('name = "r"\n')
    return root


def test_the_tabs_own_run_replaces_its_previous_one_and_keeps_a_hand_added_runs_data(tmp_path):
    a, b, c = (make_run(tmp_path / n) for n in "abc")
    overlay = RunOverlay()
    with pytest.raises(UserError, match="not a latentlab run directory"):
        overlay.add(tmp_path / "missing")
    added, dropped = overlay.set_own(a)
    assert added is overlay.runs[0] and added.own and dropped is None
    assert overlay.set_own(a) == (None, None)  # the same run again: nothing changes
    hand = overlay.add(b)
    hand.ingest_columns(rows_to_columns([{"step": 1, "gen": 2.0}, {"step": 2, "gen": 1.5}]))
    added, dropped = overlay.set_own(b)  # the tab moves to a run already in the list
    assert added is None and dropped.path == a  # no new entry to read: b keeps what it had
    assert [r.path for r in overlay.runs] == [b] and overlay.runs[0].own
    np.testing.assert_array_equal(overlay.runs[0].xy("gen")[1], [2.0, 1.5])
    added, dropped = overlay.set_own(c)
    assert added.path == c and dropped is hand and [r.path for r in overlay.runs] == [c]
    assert len({r.color for r in overlay.runs}) == len(overlay.runs)


def test_grids_stay_in_step_order_and_a_rewritten_grid_replaces_its_step(tmp_path):
    run = RunOverlay().add(make_run(tmp_path / "a"))
    run.add_grids([tmp_path / "a" / "samples" / f"step-{s:08d}.png" for s in (30, 10)])
    run.add_grids([str(tmp_path / "a" / "samples" / "step-00000020.png"), tmp_path / "x" / "step-00000010.png"])
    assert run.grid_steps == [10, 20, 30] and run.grid_paths[0] == tmp_path / "x" / "step-00000010.png"
    assert run.grid_at(25) == (20, tmp_path / "a" / "samples" / "step-00000020.png")
    assert run.grid_at(5)[0] == 10  # before the first grid: the first one

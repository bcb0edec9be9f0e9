"""Several runs in one plot (Train › Compare runs): the state behind the overlay, with no Qt in it.

Each run is followed from its directory like an attached run: the widget reads it on a follower thread
(gui/train/follower.py) and hands the metrics and grids appended since the last poll to its entry here,
so the Train tab's own run, one attached from disk and one still being written by torchrun elsewhere
are all the same kind of entry, and a long metrics.jsonl never stalls the window. Every run gets a
colour of its own.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.config import UserError
from latentlab.gui.state.series import MetricSeries

# Distinct on the dark theme and from each other (Tableau 10, reordered so neighbours contrast).
PALETTE = ("#4e9af1", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7",
           "#9c755f", "#bab0ac")
X_AXES = ("step", "time")


@dataclass
class OverlayRun:
    path: Path
    color: str
    own: bool = False  # the Train tab's run: replaced when that tab moves to another run
    visible: bool = True
    series: MetricSeries = field(default_factory=MetricSeries)
    grid_steps: list[int] = field(default_factory=list)
    grid_paths: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    def ingest_columns(self, cols: dict) -> int:
        """Metrics the run appended (a chunk of series.rows_to_columns); the rows taken."""
        return self.series.extend_columns(cols)

    def add_grids(self, paths) -> None:
        """Sample grids the run wrote (samples/step-NNNNNNNN.png), kept in step order."""
        for path in map(Path, paths):
            step = int(path.stem.split("-")[1])
            i = bisect.bisect_left(self.grid_steps, step)
            if i < len(self.grid_steps) and self.grid_steps[i] == step:
                self.grid_paths[i] = path
                continue
            self.grid_steps.insert(i, step)
            self.grid_paths.insert(i, path)

    def xy(self, key: str, x_axis: str = "step") -> tuple[np.ndarray, np.ndarray]:
        x = self.series.steps() if x_axis == "step" else self.series.column("time")
        return x, self.series.column(key)

    def grid_at(self, step: int) -> tuple[int, Path] | None:
        """The newest grid written at or before `step` (the first one when all are later)."""
        if not self.grid_steps:
            return None
        i = max(0, bisect.bisect_right(self.grid_steps, step) - 1)
        return self.grid_steps[i], self.grid_paths[i]


class RunOverlay:
    def __init__(self):
        self.runs: list[OverlayRun] = []

    def _color(self) -> str:
        used = {r.color for r in self.runs}
        free = [c for c in PALETTE if c not in used]
        return free[0] if free else PALETTE[len(self.runs) % len(PALETTE)]

    def find(self, path: str | Path) -> OverlayRun | None:
        path = Path(path).resolve()
        return next((r for r in self.runs if r.path.resolve() == path), None)

    def add(self, path: str | Path, own: bool = False) -> OverlayRun:
        """A new, empty entry for the run at `path` (its reader fills it); UserError when `path` is not
        a run or is already in the comparison."""
        from latentlab.run.rundir import RunReader

        path = Path(path)
        if self.find(path) is not None:
            raise UserError(f"{path}: already in the comparison")
        RunReader(path)  # UserError when it is not a run; the widget's follower reads it
        run = OverlayRun(path, self._color(), own=own)
        if own:
            self.runs.insert(0, run)
        else:
            self.runs.append(run)
        return run

    def own_run(self) -> OverlayRun | None:
        """The Train tab's own entry, if any."""
        return next((r for r in self.runs if r.own), None)

    def set_own(self, path: str | Path | None) -> tuple[OverlayRun | None, OverlayRun | None]:
        """The Train tab's run becomes the first entry, replacing its previous one: (the entry added,
        the entry dropped), each None when there is none (a run already in the list is promoted in
        place, keeping its data)."""
        current = self.own_run()
        if path is None or (current is not None and current.path.resolve() == Path(path).resolve()):
            return None, None
        existing = self.find(path)
        if existing is None:
            self.add(path, own=True)  # UserError (not a run yet) before anything changes
        if current is not None:
            self.runs.remove(current)
        if existing is not None:  # added by hand before: it becomes the tab's own entry, keeping its data
            existing.own = True
            self.runs.remove(existing)
            self.runs.insert(0, existing)
            return None, current
        return self.runs[0], current

    def remove(self, run: OverlayRun) -> None:
        self.runs.remove(run)

    def last_step(self) -> int:
        return max((r.series.last_step() for r in self.runs if len(r.series)), default=0)

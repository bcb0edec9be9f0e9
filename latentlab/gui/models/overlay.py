"""Several runs in one plot (Train › Compare runs): the state behind the overlay, with no Qt in it.

Each run is followed from its directory like an attached run (RunReader: the metrics, events and grids
appended since the last poll), so the Train tab's own run, one attached from disk and one still being
written by torchrun elsewhere are all the same kind of entry. Every run gets a colour of its own.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.config import UserError
from latentlab.gui.models.series import MetricSeries

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
    reader: object = None

    @property
    def name(self) -> str:
        return self.path.name

    def poll(self) -> bool:
        """Read what the run appended since the last poll; True when anything new arrived."""
        rows, _events, grids = self.reader.poll()
        if rows:
            self.series.extend(rows)
        for path in grids:
            step = int(path.stem.split("-")[1])
            i = bisect.bisect_left(self.grid_steps, step)
            self.grid_steps.insert(i, step)
            self.grid_paths.insert(i, path)
        return bool(rows or grids)

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
        from latentlab.run.rundir import RunReader

        path = Path(path)
        if self.find(path) is not None:
            raise UserError(f"{path}: already in the comparison")
        run = OverlayRun(path, self._color(), own=own, reader=RunReader(path))  # UserError: not a run
        run.poll()
        if own:
            self.runs.insert(0, run)
        else:
            self.runs.append(run)
        return run

    def set_own(self, path: str | Path | None) -> bool:
        """The Train tab's run becomes the first entry (replacing its previous one); True if changed."""
        current = next((r for r in self.runs if r.own), None)
        if path is None or (current is not None and current.path.resolve() == Path(path).resolve()):
            return False
        if current is not None:
            self.runs.remove(current)
        existing = self.find(path)
        if existing is not None:  # attached by hand before: it becomes the tab's own entry
            existing.own = True
            self.runs.remove(existing)
            self.runs.insert(0, existing)
            return True
        self.add(path, own=True)
        return True

    def remove(self, run: OverlayRun) -> None:
        self.runs.remove(run)

    def poll(self) -> bool:
        changed = False
        for run in self.runs:
            changed |= run.poll()
        return changed

    def last_step(self) -> int:
        return max((r.series.last_step() for r in self.runs if len(r.series)), default=0)

"""What the Metrics view shows of a run, read from its run directory (no Qt): the "quality" events
(see tracking.py) and the health events (alerts and rollbacks) of RUN/events.jsonl, incrementally."""

from __future__ import annotations

from pathlib import Path

from latentlab.run.layout import RunLayout
from latentlab.run.rundir import Tail

HEALTH_KINDS = ("alert", "rollback")
QUALITY_KEYS = ("precision", "recall", "fd_random", "diversity", "fid", "kid")


class QualityHistory:
    """Polls RUN/events.jsonl; tolerant of a half-written last line and of a resume rewriting it."""

    def __init__(self, run_dir: str | Path):
        self.root = Path(run_dir)
        self._tail = Tail(RunLayout(self.root).events)
        self.quality: list[dict] = []  # {"step": .., metric: value, ...}
        self.health: list[dict] = []  # event rows of HEALTH_KINDS
        self.best: dict | None = None  # {"step", "fd_random"} of checkpoints/best.safetensors (train/best.py)

    def poll(self) -> bool:
        """Read what was appended since the last poll; True when anything changed."""
        path = self._tail.path
        try:
            rewritten = path.stat().st_size < self._tail.offset
        except FileNotFoundError:
            rewritten = False
        if rewritten:
            self.quality.clear()
            self.health.clear()
            self.best = None
        rows = self._tail.read()
        for row in rows:
            self.add_event(row)
        return bool(rows) or rewritten

    def add_event(self, row: dict) -> None:
        kind = row.get("kind")
        if kind == "quality":
            data = row.get("data") or {}
            point = {"step": int(row.get("step", 0))}
            point.update({k: float(data[k]) for k in QUALITY_KEYS if isinstance(data.get(k), (int, float))})
            self.quality.append(point)
        elif kind == "best":
            self.best = {"step": int(row.get("step", 0)), **(row.get("data") or {})}
        elif kind in HEALTH_KINDS:
            self.health.append(row)

    def series(self, key: str) -> tuple[list[int], list[float]]:
        points = [(p["step"], p[key]) for p in self.quality if key in p]
        return [s for s, _ in points], [v for _, v in points]

"""Writing and following a run directory (its paths: `latentlab.run.layout`; docs/design.md).

`RunWriter` appends (one flushed line per record); `RunReader` (and any `Tail`) follows incrementally, so the GUI can
follow a run written by another process or another machine on a shared disk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from latentlab.atomic import named, write_text_atomic
from latentlab.config import UserError
from latentlab.run.layout import SAMPLE_FILE, STEP_FILE, RunLayout

NOT_A_RUN = "not a latentlab run directory (no config.toml or metrics.jsonl)"


class RunWriter:
    def __init__(self, root: str | Path):
        self.layout = RunLayout(root)
        self.root = self.layout.root
        try:
            for folder in (self.root, self.layout.samples, self.layout.checkpoints):
                folder.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UserError(f"{self.root}: cannot write the run directory ({exc.strerror or exc})") from None
        self._metrics = None
        self._events = None

    @property
    def samples(self) -> Path:
        return self.layout.samples

    def write_config(self, toml_text: str) -> None:
        write_text_atomic(self.layout.config, toml_text)

    def truncate_after(self, step: int) -> None:
        """On resume, drop records and sample grids written after the checkpoint, so the log and
        samples/ (and a timelapse of them) equal an unbroken run. Checkpoints stay."""
        for grid in self.layout.samples.glob("*.png"):
            found = SAMPLE_FILE.match(grid.name)
            if found and int(found.group(1)) > step:
                grid.unlink(missing_ok=True)
        for path in (self.layout.metrics, self.layout.events):
            if not path.exists():
                continue
            keep = []
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a half-written last line from a killed run
                if int(row.get("step", 0)) <= step:
                    keep.append(line)
            write_text_atomic(path, "".join(line + "\n" for line in keep))

    @staticmethod
    def _open(path: Path):
        return open(path, "a", encoding="utf-8", buffering=1)

    @staticmethod
    def _append(f, path: Path, row: dict[str, Any]) -> None:
        try:
            f.write(json.dumps(row, separators=(",", ":")) + "\n")
        except OSError as exc:  # a full disk: name the file (a half line is skipped by every reader)
            raise named(exc, path) from None

    def metric(self, row: dict[str, Any]) -> None:
        if self._metrics is None:
            self._metrics = self._open(self.layout.metrics)
        self._append(self._metrics, self.layout.metrics, row)

    def event(self, row: dict[str, Any]) -> None:
        if self._events is None:
            self._events = self._open(self.layout.events)
        self._append(self._events, self.layout.events, row)

    def sample_path(self, step: int, kind: str = "step") -> Path:
        return self.layout.sample(step, kind)

    def close(self) -> None:
        for f in (self._metrics, self._events):
            if f is not None:
                try:
                    f.close()
                except OSError:  # the flush of a full disk: already reported by the write that failed
                    pass
        self._metrics = self._events = None


class Tail:
    """Reads the complete lines appended to a file since the last call."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""

    def read(self) -> list[dict]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:  # rewritten (a resume truncated it): start over
            self.offset, self.partial = 0, b""
        if size == self.offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(size - self.offset)
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        rows = []
        for line in lines:
            try:
                rows.append(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
        return rows


class RunReader:
    def __init__(self, root: str | Path):
        self.layout = RunLayout(root)
        self.root = self.layout.root
        if not self.layout.is_run():
            raise UserError(f"{self.root}: {NOT_A_RUN}")
        self._metrics = Tail(self.layout.metrics)
        self._events = Tail(self.layout.events)
        self._seen_samples: set[str] = set()

    @staticmethod
    def is_run_dir(path: str | Path) -> bool:
        return RunLayout(path).is_run()

    def config(self):
        from latentlab.config import load_toml

        return load_toml(self.layout.config)

    def poll(self) -> tuple[list[dict], list[dict], list[Path]]:
        """New metric rows, new events and new sample grids (sorted by step) since the last poll."""
        rows = self._metrics.read()
        events = self._events.read()
        new = []
        folder = self.layout.samples
        if folder.is_dir():
            for entry in os.scandir(folder):
                if entry.name not in self._seen_samples and STEP_FILE.match(entry.name):
                    self._seen_samples.add(entry.name)
                    new.append(Path(entry.path))
        new.sort()
        return rows, events, new

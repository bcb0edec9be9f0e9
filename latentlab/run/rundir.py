"""The run directory: the contract between the trainer and every viewer (docs/design.md).

RUN/config.toml, RUN/metrics.jsonl, RUN/events.jsonl, RUN/samples/step-NNNNNNNN.png,
RUN/checkpoints/step-NNNNNNNN.safetensors and RUN/checkpoints/latest.safetensors.
`RunWriter` appends (one flushed line per record); `RunReader` (and any `Tail`) follows incrementally, so the GUI can
follow a run written by another process or another machine on a shared disk.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from latentlab.config import UserError
from latentlab.atomic import named, write_text_atomic

STEP_FILE = re.compile(r"^step-(\d{8})\.(png|safetensors)$")
SAMPLE_FILE = re.compile(r"^[a-z]+-(\d{8})\.png$")  # a grid: step-N.png, recon-N.png


def step_name(step: int, ext: str) -> str:
    return f"step-{step:08d}.{ext}"


class RunWriter:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        try:
            for sub in ("", "samples", "checkpoints"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UserError(f"{self.root}: cannot write the run directory ({exc.strerror or exc})") from None
        self.samples = self.root / "samples"
        self.checkpoints = self.root / "checkpoints"
        self._metrics = None
        self._events = None

    def write_config(self, toml_text: str) -> None:
        write_text_atomic(self.root / "config.toml", toml_text)

    def truncate_after(self, step: int) -> None:
        """On resume, drop records and sample grids written after the checkpoint, so the log and
        samples/ (and a timelapse of them) equal an unbroken run. Checkpoints stay."""
        for grid in self.samples.glob("*.png"):
            found = SAMPLE_FILE.match(grid.name)
            if found and int(found.group(1)) > step:
                grid.unlink(missing_ok=True)
        for name in ("metrics.jsonl", "events.jsonl"):
            path = self.root / name
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

    def _open(self, name: str):
        return open(self.root / name, "a", encoding="utf-8", buffering=1)

    def _append(self, f, name: str, row: dict[str, Any]) -> None:
        try:
            f.write(json.dumps(row, separators=(",", ":")) + "\n")
        except OSError as exc:  # a full disk: name the file (a half line is skipped by every reader)
            raise named(exc, self.root / name) from None

    def metric(self, row: dict[str, Any]) -> None:
        if self._metrics is None:
            self._metrics = self._open("metrics.jsonl")
        self._append(self._metrics, "metrics.jsonl", row)

    def event(self, row: dict[str, Any]) -> None:
        if self._events is None:
            self._events = self._open("events.jsonl")
        self._append(self._events, "events.jsonl", row)

    def sample_path(self, step: int, kind: str = "") -> Path:
        return self.samples / (step_name(step, "png") if not kind else f"{kind}-{step:08d}.png")

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints / step_name(step, "safetensors")

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
        self.root = Path(root)
        if not self.is_run_dir(self.root):
            raise UserError(f"{self.root}: not a latentlab run directory (no config.toml or metrics.jsonl)")
        self._metrics = Tail(self.root / "metrics.jsonl")
        self._events = Tail(self.root / "events.jsonl")
        self._seen_samples: set[str] = set()

    @staticmethod
    def is_run_dir(path: str | Path) -> bool:
        path = Path(path)
        return path.is_dir() and ((path / "config.toml").is_file() or (path / "metrics.jsonl").is_file())

    def config(self):
        from latentlab.config import load_toml

        return load_toml(self.root / "config.toml")

    def poll(self) -> tuple[list[dict], list[dict], list[Path]]:
        """New metric rows, new events and new sample grids (sorted by step) since the last poll."""
        rows = self._metrics.read()
        events = self._events.read()
        new = []
        folder = self.root / "samples"
        if folder.is_dir():
            for entry in os.scandir(folder):
                if entry.name not in self._seen_samples and STEP_FILE.match(entry.name):
                    self._seen_samples.add(entry.name)
                    new.append(Path(entry.path))
        new.sort()
        return rows, events, new

    def latest_checkpoint(self) -> Path | None:
        path = self.root / "checkpoints" / "latest.safetensors"
        return path if path.is_file() else None

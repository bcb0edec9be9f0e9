"""Where everything of a run lies: the one place that spells a path of the run directory.

    RUN/config.toml                      the full resolved config (a resume reads it)
    RUN/metrics.jsonl                    one JSON object per logged step
    RUN/events.jsonl                     alerts, settings, checkpoints, rollbacks, errors
    RUN/samples/step-00001200.png        the fixed-noise grid at that step (recon-00001200.png: a VAE/GAN's
                                         reconstructions of held-out images)
    RUN/checkpoints/step-00001200.safetensors
    RUN/checkpoints/latest.safetensors   the newest complete checkpoint
    RUN/checkpoints/best.safetensors     the checkpoint with the best quality figure so far
    RUN/tb/                              TensorBoard event files
    RUN/.lock                            held by the one process writing the run

Trainers, viewers, the command line and the window all ask a `RunLayout`; a test
(tests/run/test_layout.py) keeps every other module from spelling these names. Standard library
only: a viewer that follows a run must not load torch.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

CONFIG = "config.toml"
METRICS = "metrics.jsonl"
EVENTS = "events.jsonl"
SAMPLES = "samples"
CHECKPOINTS = "checkpoints"
LATEST = "latest.safetensors"
BEST = "best.safetensors"
TB = "tb"
LOCK = ".lock"

MARKERS = (CONFIG, METRICS, EVENTS)  # any one of them makes a folder a run
ENTRIES = frozenset({*MARKERS, SAMPLES, CHECKPOINTS, TB, LOCK})  # everything a run may hold at its top
STEP_FILE = re.compile(r"^step-(\d{8})\.(png|safetensors)$")
SAMPLE_FILE = re.compile(r"^[a-z]+-(\d{8})\.png$")  # any grid: step-N.png, recon-N.png


def step_name(step: int, ext: str, kind: str = "step") -> str:
    return f"{kind}-{step:08d}.{ext}"


class RunLayout:
    """The paths of the run directory `root` (nothing is read or created by naming them)."""

    __slots__ = ("root",)

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunLayout({str(self.root)!r})"

    @property
    def config(self) -> Path:
        return self.root / CONFIG

    @property
    def metrics(self) -> Path:
        return self.root / METRICS

    @property
    def events(self) -> Path:
        return self.root / EVENTS

    @property
    def samples(self) -> Path:
        return self.root / SAMPLES

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    @property
    def latest(self) -> Path:
        return self.checkpoints / LATEST

    @property
    def best(self) -> Path:
        return self.checkpoints / BEST

    @property
    def tb(self) -> Path:
        return self.root / TB

    @property
    def lock(self) -> Path:
        return self.root / LOCK

    def sample(self, step: int, kind: str = "step") -> Path:
        """The grid of `step`: kind "step" (the fixed-noise samples) or "recon"."""
        return self.samples / step_name(step, "png", kind)

    def checkpoint(self, step: int) -> Path:
        return self.checkpoints / step_name(step, "safetensors")

    def is_run(self) -> bool:
        """A run directory as a viewer sees one: a config or a log in it."""
        return self.root.is_dir() and (self.config.is_file() or self.metrics.is_file())

    def grids(self, start: int | None = None, stop: int | None = None) -> list[tuple[int, Path]]:
        """(step, path) of the fixed-noise grids with start <= step <= stop, in step order."""
        return self._step_files(self.samples, "png", start, stop)

    def step_checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of the step checkpoints (not latest or best), in step order."""
        return self._step_files(self.checkpoints, "safetensors", None, None)

    @staticmethod
    def _step_files(folder: Path, ext: str, start: int | None, stop: int | None) -> list[tuple[int, Path]]:
        found = []
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return found
        for entry in entries:
            m = STEP_FILE.match(entry.name)
            if m and m.group(2) == ext:
                step = int(m.group(1))
                if (start is None or step >= start) and (stop is None or step <= stop):
                    found.append((step, Path(entry.path)))
        found.sort()
        return found

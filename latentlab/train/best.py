"""The best checkpoint: RUN/checkpoints/best.safetensors follows the best quality figure so far.

Each quality measurement during training (train.quality_every) is compared with the best so far by
its Fréchet distance in the random feature space (`fd_random`, lower is better; the one figure that
weighs fidelity and coverage together). A better one pins that step's checkpoint: the engine saves
the step (if it was not saved already) and best.safetensors becomes a hard link to it (a copy where
the file system has no hard links), put in place by rename, so a reader never sees half a file.
The best figure so far travels in every checkpoint's metadata, so a resumed run keeps comparing
against it.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from latentlab.atomic import AtomicFile

FIGURE = "fd_random"


def is_better(values: dict, best: dict | None) -> bool:
    value = values.get(FIGURE)
    if not isinstance(value, (int, float)) or math.isnan(value):
        return False
    return best is None or value < float(best[FIGURE])


def pin(step_checkpoint: Path, best: Path) -> Path:
    """Make `best` (RunLayout.best) the same file as `step_checkpoint`, atomically."""
    with AtomicFile(best) as f:
        f.tmp.unlink()
        try:
            os.link(step_checkpoint, f.tmp)
        except OSError:  # no hard links here (some network and FAT file systems)
            shutil.copyfile(step_checkpoint, f.tmp)
    return f.path

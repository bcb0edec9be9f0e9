"""The range of every number a user gives latentlab: command-line options and config keys.

This is the one table that argument parsing, each option's --help, config validation and the tests
read. A number out of its range is refused before anything is loaded or allocated, with one line
naming the option or key. A new option with a number adds its row to OPTIONS (a test fails for a
numeric option without one). Standard library only: config.py and the CLI both import it.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

MAX_STEPS = 10**9  # steps of a run: days at thousands of steps a second; the checkpoint's own limit is higher
MAX_SEED = 2**31 - 1  # the app's seed box holds these; one seed is one face in the app and the CLI
MAX_SIDE = 16384  # px a side of a video frame or a grid cell
MAX_SAMPLES = 1024  # one grid of 32x32 faces; more is a data set, not a picture
MAX_KEYFRAMES = 10_000  # random keyframes of one walk (each is a latent held in memory)
MAX_GRID_CELLS = 64  # walks tiled in one frame (8x8): every cell is rendered for every frame
MAX_WALK_FRAMES = 1_000_000  # frames of one walk: over 9 hours at 30 fps
MAX_CELL = 1024  # px per cell of a pairs or rows image: a few cells a row, one row per photo
MAX_BOX = 1_000_000  # px: a photo coordinate beyond any photo Pillow decodes


def _number(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return str(int(value))


@dataclass(frozen=True)
class Bound:
    """lo to hi (either end excluded with lo_open / hi_open); kind int takes whole numbers only."""

    lo: float
    hi: float
    kind: type = int
    lo_open: bool = False
    hi_open: bool = False
    words: tuple[str, ...] = ()  # texts taken as they are (export --batch dynamic)

    def _range(self) -> str:
        lo, hi = _number(self.lo), _number(self.hi)
        left = f"above {lo}," if self.lo_open else f"{lo} to"
        right = f"below {hi}" if self.hi_open else f"at most {hi}" if self.lo_open else hi
        return f"{left} {right}"

    def describe(self) -> str:
        return "".join(f"{w} or " for w in self.words) + self._range()

    def contains(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below

    def parse(self, text: str):
        """The number in `text`, or ValueError saying the range."""
        text = str(text).strip()
        if text.lower() in self.words:
            return text.lower()
        try:
            value = int(text) if self.kind is int else float(text)
        except ValueError:
            value = None
        if value is None or not self.contains(value):
            what = "a whole number" if self.kind is int else "a number"
            words = "".join(f"{w} or " for w in self.words)
            raise ValueError(f"must be {words}{what} {self._range()} (got {text!r})")
        return value

    def __call__(self, text: str):  # argparse's type=: its message names the option
        try:
            return self.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True)
class Numbers:
    """A list of numbers in one option: `count` (lo, hi) of them separated by `sep`, each in `item`;
    `product` bounds their product (walk --grid's cells)."""

    item: Bound
    count: tuple[int, int]
    sep: str = ","
    form: str = ""
    product: int | None = None

    def describe(self) -> str:
        extra = f", at most {_number(self.product)} in all" if self.product else ""
        return f"{self.form}, each {self.item.describe()}{extra}"

    def parse(self, text: str):
        parts = str(text).lower().replace("×", "x").split(self.sep)
        try:
            values = [self.item.parse(p) for p in parts]
        except ValueError:
            values = None
        lo, hi = self.count
        if values is None or not lo <= len(values) <= hi or (self.product and math.prod(values) > self.product):
            raise ValueError(f"must be {self.describe()} (got {text!r})")
        return values

    def __call__(self, text: str):
        try:
            self.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text  # checked here; the command reads the text as before


SEED = Bound(0, MAX_SEED)
FPS = Bound(0, 1000, float, lo_open=True)
TRUNCATION = Bound(0, 1, float, lo_open=True)
CELL = Bound(1, MAX_CELL)
FACE = Bound(1, 1000)
BOX = Numbers(Bound(-MAX_BOX, MAX_BOX, float), (4, 4), form="X,Y,W,H in photo pixels")
STEP = Bound(0, MAX_STEPS)
AMOUNT = Bound(-20, 20, float)  # standard deviations along a named direction; beyond it a face is noise
PROJECTION_STEPS = Bound(1, 100_000)

# Every numeric option of every command: OPTIONS[command][flag].
OPTIONS: dict[str, dict[str, Bound | Numbers]] = {
    "train": {"--steps": Bound(1, MAX_STEPS), "--epochs": Bound(1, 1_000_000), "--batch": Bound(2, 65536),
              "--seed": SEED},
    "sample": {"--n": Bound(1, MAX_SAMPLES), "--seed": SEED, "--truncation": TRUNCATION},
    "walk": {"--keyframes": Bound(1, MAX_KEYFRAMES), "--frames": Bound(1, 100_000), "--fps": FPS,
             "--size": Bound(1, MAX_SIDE), "--truncation": TRUNCATION, "--seed": SEED,
             "--seeds": Numbers(SEED, (1, MAX_KEYFRAMES), form="seeds separated by commas"),
             "--grid": Numbers(Bound(1, MAX_GRID_CELLS), (2, 2), sep="x", form="RxC walks", product=MAX_GRID_CELLS),
             "--from": AMOUNT, "--to": AMOUNT},
    "import-dcgan": {"--nz": Bound(1, 4096), "--ngf": Bound(1, 1024)},
    "encode": {"--size": CELL},
    "attributes": {"--max-images": Bound(1, 1_000_000), "--steps": PROJECTION_STEPS},
    "edit": {"--steps": PROJECTION_STEPS, "--size": CELL},
    "timelapse": {"--fps": FPS, "--size": Bound(1, MAX_SIDE), "--from": STEP, "--to": STEP,
                  "--hold-last": Bound(0, 3600, float)},
    "metrics": {"--n": Bound(8, 100_000), "--seed": SEED},
    "export": {"--batch": Bound(1, 4096, words=("dynamic",))},
    "align": {"--size": CELL, "--face": FACE, "--box": BOX},
    "project": {"--steps": PROJECTION_STEPS, "--restarts": Bound(1, 256), "--size": CELL, "--seed": SEED,
                "--face": FACE, "--box": BOX},
}

# Every numeric config key (also what `train --set KEY=VALUE` and a config.toml give).
CONFIG: dict[str, Bound] = {
    "model.image_size": Bound(1, 1024),
    "model.latent_dim": Bound(1, 4096),
    "model.g_width": Bound(1, 1024),
    "model.d_width": Bound(1, 1024),
    "model.e_width": Bound(1, 1024),
    "data.synthetic_count": Bound(1, 1_000_000),  # 12 GB of 64 px faces in the cache
    "data.holdout": Bound(0, 100_000),
    "data.jitter": Bound(0, 256),  # px; config.py also holds it to a quarter of the image size
    "train.steps": Bound(0, MAX_STEPS),
    "train.epochs": Bound(0, 1_000_000),
    "train.batch": Bound(2, 65536),
    "train.seed": SEED,
    "train.lr_d": Bound(0, 1, float, lo_open=True),
    "train.lr_g": Bound(0, 1, float, lo_open=True),
    "train.adam_beta1": Bound(0, 1, float, hi_open=True),
    "train.adam_beta2": Bound(0, 1, float, hi_open=True),
    "train.rms_alpha": Bound(0, 1, float, hi_open=True),
    "train.rms_eps": Bound(0, 1, float, lo_open=True),
    "train.weight_decay": Bound(0, 1, float),
    "train.lr_decay": Bound(0, 1, float, lo_open=True),
    "train.lr_min": Bound(0, 1, float),
    "train.margin": Bound(0, 0.5, float, hi_open=True),
    "train.l2_init": Bound(0, 100, float),
    "train.l2_band_low": Bound(0, 100, float),
    "train.l2_band_high": Bound(0, 100, float),
    "train.l2_step": Bound(0, 1, float),
    "train.instance_noise": Bound(0, 2, float),
    "train.instance_noise_end": Bound(0, 2, float),
    "train.ema": Bound(0, 1, float, hi_open=True),
    "train.health_every": Bound(0, MAX_STEPS),
    "train.rollback_lr_factor": Bound(0, 1, float, lo_open=True),
    "train.max_rollbacks": Bound(0, 1000),
    "train.quality_every": Bound(0, MAX_STEPS),
    "train.quality_n": Bound(8, 100_000),
    "train.vae_gamma": Bound(0, 1e6, float),
    "train.vae_equilibrium": Bound(0, 100, float),
    "train.vae_margin": Bound(0, 100, float),
    "train.vae_pixel_weight": Bound(0, 1e6, float),
    "train.vae_feature_layer": Bound(1, 4),
    "train.vae_kl_weight": Bound(0, 1e6, float, lo_open=True),
    "train.log_every": Bound(1, MAX_STEPS),
    "train.sample_every": Bound(1, MAX_STEPS),
    "train.sample_count": Bound(1, MAX_SAMPLES),
    "train.checkpoint_every": Bound(1, MAX_STEPS),
}


def apply(parser: argparse.ArgumentParser, command: str) -> None:
    """Give each option of `command` in OPTIONS its range as its type and in its help."""
    rows = OPTIONS.get(command, {})
    seen = set()
    for action in parser._actions:
        flag = next((f for f in action.option_strings if f in rows), None)
        if flag is None:
            continue
        seen.add(flag)
        action.type = rows[flag]
        action.help = f"{action.help or ''} ({rows[flag].describe()})".strip()
    missing = set(rows) - seen
    if missing:
        raise RuntimeError(f"bounds for {command} name options it does not have: {sorted(missing)}")

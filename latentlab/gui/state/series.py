"""Metric history of one run as growing numpy columns: the state behind the plots, with no Qt in it.

Both the live worker and the attach reader hand it metrics.jsonl-shaped rows, so the plots have one
input path. Columns grow by doubling (amortised O(1) per row) and are handed to pyqtgraph as views.
New data and a new smoothing are announced through `changed`, which the plots follow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from latentlab.gui.state.events import ChangeModel

# Columns the plots draw; a row without one (an older run, a GAN without kl) leaves NaN there.
FLOAT_COLUMNS = ("time", "real", "fake", "gen", "l2_d", "lr_d", "lr_g", "img_per_s", "kl", "llike")
BOOL_COLUMNS = ("d_updated", "g_updated")
SMOOTHED = ("real", "fake", "gen", "kl", "llike")
LOGGED = ("lr_d", "lr_g")  # kept as log10 too: a log axis would otherwise redo log10 of everything per redraw
_BLOCK = 256


def _ema_block_matrix(alpha: float) -> np.ndarray:
    i = np.arange(_BLOCK)
    lag = np.maximum(i[:, None] - i[None, :], 0).astype(np.float64)
    return np.tril(alpha ** lag) * (1.0 - alpha)


def ema(values: np.ndarray, alpha: float, carry: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, tuple]:
    """Debiased exponential moving average (TensorBoard's smoothing), vectorised in blocks.

    `carry` is (weighted sum, weight) after the previous chunk, so a growing series is smoothed
    incrementally at the cost of the new rows only. Non-finite values stay NaN and are skipped.
    """
    x = np.asarray(values, dtype=np.float64)
    out = np.full(len(x), np.nan)
    valid = np.isfinite(x)
    v = x[valid]
    m = len(v)
    if m == 0:
        return out, carry
    if alpha <= 0.0:
        out[valid] = v
        return out, (float(v[-1]), 1.0)
    pad = (-m) % _BLOCK
    blocks = np.concatenate([v, np.zeros(pad)]).reshape(-1, _BLOCK)
    local = blocks @ _ema_block_matrix(alpha).T  # each block as if it started from zero
    decay = alpha ** np.arange(1, _BLOCK + 1, dtype=np.float64)
    local_w = 1.0 - decay
    # The running sum entering each block follows s_next = a^B s + local[-1]; a short loop over blocks.
    sx, sw = carry
    enter_x = np.empty(len(blocks))
    enter_w = np.empty(len(blocks))
    a_block = alpha ** _BLOCK
    for b in range(len(blocks)):
        enter_x[b], enter_w[b] = sx, sw
        sx = a_block * sx + local[b, -1]
        sw = a_block * sw + local_w[-1]
    full_x = (local + decay[None, :] * enter_x[:, None]).reshape(-1)[:m]
    full_w = (local_w[None, :] + decay[None, :] * enter_w[:, None]).reshape(-1)[:m]
    out[valid] = full_x / full_w
    return out, (float(full_x[-1]), float(full_w[-1]))


def _as_float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def rows_to_columns(rows: Iterable[dict]) -> dict:
    """metrics.jsonl rows -> numpy columns; done off the GUI thread when a long log is read."""
    rows = [r for r in rows if isinstance(r, dict) and isinstance(r.get("step"), (int, float))]
    cols: dict = {"step": np.array([float(r["step"]) for r in rows], dtype=np.float64)}
    for key in FLOAT_COLUMNS:
        values = [r.get(key) for r in rows]
        if any(v is not None for v in values):
            try:
                cols[key] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            except (TypeError, ValueError):  # a foreign or damaged row: keep the rest of the log usable
                cols[key] = np.array([_as_float(v) for v in values], dtype=np.float64)
    for key in BOOL_COLUMNS:
        if any(key in r for r in rows):
            cols[key] = np.array([bool(r.get(key, True)) for r in rows], dtype=bool)
    return cols


DATA, SMOOTHING = "data", "smoothing"  # the aspects `changed` announces (see events.py)


class MetricSeries(ChangeModel):
    """Append-only columns keyed by metrics.jsonl field name, plus smoothed copies of the losses."""

    def __init__(self, smoothing: float = 0.0):
        super().__init__()
        self.n = 0
        self._cap = 1024
        self.step = np.zeros(self._cap, dtype=np.float64)
        self._cols = {k: np.full(self._cap, np.nan) for k in FLOAT_COLUMNS}
        self._bools = {k: np.ones(self._cap, dtype=bool) for k in BOOL_COLUMNS}
        self._smooth = {k: np.full(self._cap, np.nan) for k in SMOOTHED}
        self._log = {k: np.full(self._cap, np.nan) for k in LOGGED}
        self._carry = {k: (0.0, 0.0) for k in SMOOTHED}
        self._skips = {k: [] for k in BOOL_COLUMNS}  # steps where the update was skipped
        self.present: set[str] = set()
        self.nonzero: set[str] = set()  # columns that have held a non-zero value (l2_d: the rule is on)
        self.smoothing = float(smoothing)

    def __len__(self) -> int:
        return self.n

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = self._cap
        while cap < need:
            cap *= 2

        def grown(a, fill):
            b = np.full(cap, fill, dtype=a.dtype)
            b[: self.n] = a[: self.n]
            return b

        self.step = grown(self.step, 0.0)
        self._cols = {k: grown(v, np.nan) for k, v in self._cols.items()}
        self._bools = {k: grown(v, True) for k, v in self._bools.items()}
        self._smooth = {k: grown(v, np.nan) for k, v in self._smooth.items()}
        self._log = {k: grown(v, np.nan) for k, v in self._log.items()}
        self._cap = cap

    def extend(self, rows: Iterable[dict]) -> int:
        return self.extend_columns(rows_to_columns(rows))

    def extend_columns(self, cols: dict) -> int:
        """Append a chunk from `rows_to_columns`; a chunk that goes back in step (a resumed run
        rewrote its log) first drops the history from that step on."""
        steps = cols["step"]
        count = len(steps)
        if not count:
            return 0
        if self.n and steps[0] <= self.step[self.n - 1]:
            self._truncate(int(np.searchsorted(self.step[: self.n], steps[0], side="left")))
        start, end = self.n, self.n + count
        self._grow(end)
        self.step[start:end] = steps
        for key, col in self._cols.items():
            if key in cols:
                self.present.add(key)
                col[start:end] = cols[key]
                if key not in self.nonzero and np.any(np.nan_to_num(cols[key]) != 0):
                    self.nonzero.add(key)
            else:
                col[start:end] = np.nan
        for key, col in self._log.items():
            values = self._cols[key][start:end]
            with np.errstate(divide="ignore", invalid="ignore"):
                col[start:end] = np.where(values > 0, np.log10(values), np.nan)
        for key, col in self._bools.items():
            flags = cols.get(key)
            col[start:end] = True if flags is None else flags
            if flags is not None and not flags.all():
                self._skips[key].extend(steps[~flags].tolist())
        self.n = end
        self._smooth_range(start)
        self.notify(DATA)
        return count

    def _truncate(self, keep: int) -> None:
        self.n = keep
        for key in BOOL_COLUMNS:
            last = self.step[keep - 1] if keep else -math.inf
            self._skips[key] = [s for s in self._skips[key] if s <= last]
        self._smooth_range(0, recompute=True)

    def _smooth_range(self, start: int, recompute: bool = False) -> None:
        if recompute:
            start = 0
            self._carry = {k: (0.0, 0.0) for k in SMOOTHED}
        for key in SMOOTHED:
            if key not in self.present:
                continue
            smoothed, self._carry[key] = ema(self._cols[key][start: self.n], self.smoothing, self._carry[key])
            self._smooth[key][start: self.n] = smoothed

    def set_smoothing(self, alpha: float) -> None:
        alpha = min(max(float(alpha), 0.0), 0.999)
        if alpha != self.smoothing:
            self.smoothing = alpha
            self._smooth_range(0, recompute=True)
            self.notify(SMOOTHING)

    # -- views for the plots (no copies) -------------------------------------------------------------
    def steps(self) -> np.ndarray:
        return self.step[: self.n]

    def column(self, key: str) -> np.ndarray:
        return self._cols[key][: self.n]

    def log10(self, key: str) -> np.ndarray:
        return self._log[key][: self.n]

    def smoothed(self, key: str) -> np.ndarray:
        return self._smooth[key][: self.n]

    def skipped_steps(self, key: str) -> np.ndarray:
        return np.asarray(self._skips[key], dtype=np.float64)

    def last(self, key: str) -> float:
        return float(self._cols[key][self.n - 1]) if self.n else math.nan

    def last_step(self) -> int:
        return int(self.step[self.n - 1]) if self.n else 0

    def steps_per_second(self, window: int = 50) -> float:
        """Recent training speed from the `time` column (paused time is excluded there)."""
        if self.n < 2:
            return math.nan
        lo = max(0, self.n - window)
        dt = self._cols["time"][self.n - 1] - self._cols["time"][lo]
        ds = self.step[self.n - 1] - self.step[lo]
        return ds / dt if dt > 0 and ds > 0 else math.nan

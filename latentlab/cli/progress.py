"""Progress output of the `latentlab` command: one line on stderr, redrawn on a terminal, logged otherwise.

Kept apart from the command families, which use it. Progress is a courtesy: when its
reader goes away (`latentlab train ... 2>&1 | head`), the line goes quiet and the work goes on.
"""

from __future__ import annotations

import errno
import os
import sys
import time


def silence(stream) -> None:
    """Point a stream's file descriptor at /dev/null (its reader is gone; anything more is lost anyway)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class ProgressLine:
    """A one-line progress display on stderr (training steps, decoding, frames written).

    On a terminal the line is redrawn in place at most every `tty_every` seconds; in a log (no
    terminal) a line is appended at most every `log_every` seconds, so CI logs and nohup files stay
    short. The last update (done == total) is always shown.
    """

    def __init__(self, enabled: bool = True, stream=None, tty_every: float = 0.2, log_every: float = 10.0):
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.tty_every, self.log_every = tty_every, log_every
        self.last = 0.0
        self.width = 0
        self.started: float | None = None

    def due(self, final: bool = False, log_every: float | None = None) -> bool:
        """True when an update should be drawn now (and marks it drawn)."""
        if not self.enabled:
            return False
        now = time.monotonic()
        every = self.tty_every if self.tty else (self.log_every if log_every is None else log_every)
        if not final and now - self.last <= every:
            return False
        self.last = now
        return True

    def _emit(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError as exc:
            if not (isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.EIO)):
                raise
            self.enabled = False
            silence(self.stream)

    def show(self, text: str, final: bool = False) -> None:
        """Draw `text` as the progress line now (`final` ends the line on a terminal)."""
        if not self.enabled:
            return
        if self.tty:
            self._emit("\r" + text.ljust(self.width) + ("\n" if final else ""))
            self.width = 0 if final else len(text)
        else:
            self._emit(text + "\n")

    def data_progress(self, done: int, total: int) -> None:
        if self.due(final=done == total, log_every=5.0):
            self.show(f"decoding images {done}/{total} {bar(done / max(total, 1))}", final=done == total)

    def step(self, s, total: int) -> None:
        """A training step (StepStats) out of `total`, with the three errors, images/s and the ETA."""
        if not self.due(final=s.step == total):
            return
        remaining = (total - s.step) * (s.time / max(s.step, 1))
        extra = f" kl {s.kl:.3g} llike {s.llike:.3g}" if s.kl is not None else ""
        self.show(f"step {s.step}/{total} {bar(s.step / total)} real {s.real:.3f} fake {s.fake:.3f} "
                  f"gen {s.gen:.3f}{extra} | {s.img_per_s:.0f} img/s | ETA {hms(remaining)}")

    def frames(self, done: int, total: int) -> None:
        """Frames written out of `total`, with the rate since the first call."""
        now = time.monotonic()
        if self.started is None:
            self.started = now
        if self.due(final=done == total, log_every=self.tty_every):
            elapsed = now - self.started
            rate = f" {done / elapsed:.0f} frames/s" if elapsed > 0.1 else ""  # none yet from the first batch
            self.show(f"frame {done}/{total} {bar(done / max(total, 1))}{rate}", final=done == total)

    def message(self, text: str) -> None:
        """A line of its own above the progress line."""
        if self.enabled:
            self._emit(("\r" + " " * self.width + "\r" if self.tty and self.width else "") + text + "\n")

    def close(self) -> None:
        if self.enabled and self.tty and self.width:
            self._emit("\n")
            self.width = 0


def bar(fraction: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


def hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

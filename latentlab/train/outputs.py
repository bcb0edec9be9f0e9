"""What the training loop writes, each a collaborator it calls: the log (`RunLog`), the sample grids
(`Grids`) and the checkpoints (`Checkpoints`). Each knows where its files go (a `RunLayout`) and
writes nothing on a rank that does not write the run, or without a run directory (a grid then
travels as an array in its event).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from latentlab.run import checkpoint as ckpt
from latentlab.run.control import Event
from latentlab.run.grids import save_grid, to_uint8
from latentlab.run.layout import RunLayout
from latentlab.run.rundir import RunWriter
from latentlab.train import best
from latentlab.train.trainstate import TrainState, state_tensors


class RunLog:
    """RUN/metrics.jsonl and RUN/events.jsonl, mirrored into TensorBoard when its writer is installed."""

    def __init__(self, writer: RunWriter | None = None, tb=None):
        self.writer = writer
        self.tb = tb  # a TensorBoardSink (run/tbevents.py) or None

    def metric(self, row: dict) -> None:
        if self.writer is not None:
            self.writer.metric(row)
            if self.tb is not None:
                self.tb.metric(row)

    def event(self, event: Event) -> Event:
        if self.writer is not None:
            row = event.to_row()
            self.writer.event(row)
            if self.tb is not None:
                self.tb.event(row)
        return event

    def close(self, done: Event) -> None:
        """Write the closing event and close every file."""
        if self.writer is not None:
            try:
                self.writer.event(done.to_row())
            except OSError:  # a full disk: the error that stopped the run is the one to report
                pass
            self.writer.close()
        if self.tb is not None:
            self.tb.close()


def _eval_images(G: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) in eval mode, on the CPU in [-1, 1]; G's mode is left as it was."""
    was_training = G.training
    G.eval()
    with torch.no_grad():
        images = G(z).float().cpu()
    G.train(was_training)
    return images


class Grids:
    """The fixed-noise sample grids (EMA weights where present) and a VAE/GAN's reconstructions."""

    def __init__(self, state: TrainState, layout: RunLayout | None, holdout_batch: Callable[[], torch.Tensor]):
        self.state = state
        self.layout = layout  # None: the grids are handed out as arrays instead of files
        self.holdout_batch = holdout_batch
        self._cache: tuple[int, torch.Tensor | None] = (-1, None)

    def generator(self) -> torch.nn.Module:
        return self.state.G_ema if self.state.G_ema is not None else self.state.parts.nets["G"]

    def images(self) -> torch.Tensor:
        """The fixed-noise samples of the current step (computed once per step)."""
        step = self.state.progress.step
        if self._cache[0] != step:
            self._cache = (step, _eval_images(self.generator(), self.state.fixed_noise))
        return self._cache[1]

    def forget(self) -> None:
        """Other weights at the same step number (a rollback)."""
        self._cache = (-1, None)

    def training_images(self) -> torch.Tensor:
        """The training G's fixed-noise samples, for the health checks: EMA weights trail G by about
        1/(1-ema) steps, which would delay a collapse alert by as much."""
        if self.state.G_ema is None:
            return self.images()
        return _eval_images(self.state.parts.nets["G"], self.state.fixed_noise)

    def write(self, log: RunLog, recon: bool) -> Iterator[Event]:
        step = self.state.progress.step
        images = self.images()
        if self.layout is None:
            yield Event("sample", step, "sample grid", data={"images": to_uint8(images).cpu().numpy()})
            return
        path = save_grid(images, self.layout.sample(step))
        yield log.event(Event("sample", step, "sample grid", path=str(path)))
        if recon:
            yield log.event(self._recon_grid(step))

    def _recon_grid(self, step: int) -> Event:
        E, G = self.state.parts.nets["E"], self.generator()
        x = self.holdout_batch()
        modes = (E.training, G.training)
        E.eval(), G.eval()
        with torch.no_grad():
            rec = G(E(x)[0])
        E.train(modes[0]), G.train(modes[1])
        path = save_grid(torch.cat([x.float().cpu(), rec.float().cpu()]), self.layout.sample(step, "recon"), rows=2)
        return Event("recon", step, "reconstructions of held-out images (input above)", path=str(path))


class Checkpoints:
    """RUN/checkpoints: a step's checkpoint and latest.safetensors, the best one (train/best.py), and
    the last checkpoint written while healthy, which a rollback returns to. Every rank tracks the
    last healthy one (each reads it back); only the writing rank writes."""

    def __init__(self, layout: RunLayout | None, writes: bool):
        self.layout = layout
        self.writes = writes and layout is not None
        self.last_step = -1  # the step of the newest checkpoint written
        self.last_healthy: Path | None = None

    def save(self, state: TrainState, epoch: int, data_fingerprint: str) -> Event | None:
        step = state.progress.step
        if self.layout is not None and state.progress.healthy:
            self.last_healthy = self.layout.checkpoint(step)
        if not self.writes:
            return None
        tensors, meta = state_tensors(state, epoch=epoch, data_fingerprint=data_fingerprint)
        path = ckpt.save_checkpoint(self.layout.checkpoint(step), tensors, meta)
        ckpt.save_checkpoint(self.layout.latest, tensors, meta)
        self.last_step = step
        return Event("checkpoint", step, f"checkpoint at step {step}", path=str(path))

    def restored(self, step: int, healthy: bool) -> None:
        """A resume from `step`'s checkpoint: the run can roll back to it, if it was healthy."""
        self.last_step = step
        own = self.layout.checkpoint(step)
        self.last_healthy = own if healthy and own.is_file() else None

    def pin_best(self, step: int, figure: float, data: dict) -> Event:
        """best.safetensors becomes `step`'s checkpoint (saved already)."""
        path = best.pin(self.layout.checkpoint(step), self.layout.best)
        return Event("best", step, f"best checkpoint so far: step {step} ({best.FIGURE} {figure:.4g})",
                     path=str(path), data=data)

"""Small one-off jobs off the GUI thread (a torch import, a checkpoint header), answered on the GUI thread.

Results travel through one long-lived QObject, so a job that finishes after its asker's widget is
gone is simply dropped instead of calling into a deleted C++ object.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from latentlab.config import UserError


class _Relay(QObject):
    done = Signal(object, object, object)  # callback, result, error text (None on success)

    def __init__(self):
        super().__init__()
        # A bound slot of a QObject on the GUI thread: the emit from a worker thread is queued here.
        self.done.connect(self.deliver)

    @Slot(object, object, object)
    def deliver(self, callback, result, error) -> None:
        try:
            callback(result, error)
        except RuntimeError as exc:  # the widget the answer was for has been deleted meanwhile
            if "already deleted" not in str(exc):
                raise


_relay: _Relay | None = None


def _get_relay() -> _Relay:
    global _relay
    if _relay is None:
        _relay = _Relay()
    return _relay


def run_in_background(job: Callable[[], object], callback: Callable[[object, str | None], None]) -> threading.Thread:
    """Run `job()` on a daemon thread; `callback(result, error)` later runs on the GUI thread."""
    relay = _get_relay()  # created on the GUI thread, so queued signals land there

    def target():
        try:
            relay.done.emit(callback, job(), None)
        except UserError as exc:
            relay.done.emit(callback, None, str(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the window, not lost on a thread
            relay.done.emit(callback, None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")

    thread = threading.Thread(target=target, name="latentlab-background", daemon=True)
    thread.start()
    return thread


def freeze_long_lived_objects() -> None:
    """Exclude everything alive now from future garbage-collector passes.

    Qt, pyqtgraph, torch and a built model leave a few hundred thousand long-lived objects; a full
    collection then walks all of them (170 ms measured on the loaded 2-core machine) while holding
    the GIL, and whichever thread triggers it freezes the window for that long. Called once each
    part of the app has loaded (window shown, engine imported, trainer set up), the collector only
    ever walks objects created since.
    """
    gc.freeze()


def probe_devices() -> list[tuple[str, str]]:
    """(device name, label) for every device torch can train on here; cpu is always there."""
    import torch

    found = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            name = "cuda" if index == 0 else f"cuda:{index}"
            found.append((name, f"{name} · {torch.cuda.get_device_name(index)}"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append(("mps", "mps · Apple GPU"))
    found.append(("cpu", "cpu"))
    # The engine comes next on first Start; importing it now makes that Start quick. A failure
    # here will be reported by Start itself, with the run's context.
    with contextlib.suppress(Exception):
        import latentlab.train.engine  # noqa: F401
    return found

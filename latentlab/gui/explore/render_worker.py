"""One render worker for the Explore panel: a QObject on its own QThread holding the Renderer.

Requests go into per-channel slots ("view", "strip", "encode"): a new request replaces the pending
one of its channel, so a burst of slider moves costs one or two renders, never a queue of 50. One
request is rendered at a time. Model loads and weight swaps are queued in order and run before
renders. Every request names the model generation it was made for; requests and results for a model
that has since been replaced are dropped, as are results older than the newest one delivered (the
panel compares request ids). Each render runs with torch.set_num_threads in this thread (OpenMP
keeps the count per thread): every core the process may use while no training runs in the window
or it is paused, one while it runs, so the trainer keeps its cores. A finished render of a request that a newer one superseded while it ran
is still delivered: during a drag that is the freshest picture there is, and withholding it would
freeze the view until the mouse stops. Errors come back as `failed`, never raised into the UI.
"""

from __future__ import annotations

import atexit
import os
import threading
import traceback
import weakref
from collections import deque
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from latentlab.config import UserError


def _error_text(exc: BaseException) -> str:
    from latentlab.inference.render import error_text  # render imports torch: not before the window is up

    return error_text(exc)


CHANNELS = ("view", "strip", "encode")  # served in this order when several are pending



class RenderWorker(QObject):
    image_ready = Signal(int, object, float)  # request id, uint8 (S, S, 3), ms
    strip_ready = Signal(int, object, float)  # request id, uint8 (N, S, S, 3), ms
    encoded = Signal(int, object)  # request id, {"photo", "z", "reconstruction", "ms"}
    model_loaded = Signal(object)  # ModelInfo (with .generation set)
    weights_swapped = Signal(int, object)  # generation, step
    failed = Signal(str, str)  # channel or "model", one-line message
    _wake = Signal()

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[int, int, object]] = {}  # channel -> (request id, generation, payload)
        self._ops: deque = deque()
        self._scheduled = False
        self._next_id = 0
        self.info = None  # the ModelInfo being rendered
        self.generation = 0
        self.renders = 0  # renders actually run (a test and the benchmark count them)
        self.requests = 0
        self.training_active = False  # set from the GUI thread; read before each render
        self._wake.connect(self._drain)

    # -- called from the GUI thread -------------------------------------------------------------
    def submit(self, channel: str, payload, generation: int) -> int:
        """Queue `payload` on `channel`, replacing whatever was pending there; returns its request id."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        with self._lock:
            self._next_id += 1
            self.requests += 1
            rid = self._next_id
            self._pending[channel] = (rid, generation, payload)
            wake, self._scheduled = not self._scheduled, True
        if wake:
            self._wake.emit()
        return rid

    def load(self, builder: Callable[[], object]) -> None:
        """Build a new model on the worker thread (builder() -> ModelInfo or UserError); the old one
        stays in use until the new one is ready, and stays for good if building fails."""
        self._queue_op(("load", builder))

    def update_live(self, fetch: Callable[[], dict], build: Callable[[dict], object]) -> None:
        """New weights of the generator being trained: fetch() -> {"step", "model", "states", ...}.
        Copied in place into the model on screen when that is the same live model (the hot swap);
        otherwise build(offer) -> ModelInfo makes a new one."""
        self._queue_op(("live", (fetch, build)))

    def set_training_active(self, active: bool) -> None:
        """Training runs (True) or is paused/stopped (False): the next render uses 1 or all cores."""
        self.training_active = bool(active)

    @property
    def threads(self) -> int:
        return 1 if self.training_active else all_cores()

    def cancel_all(self) -> None:
        """Forget everything not yet started (closing the window)."""
        with self._lock:
            self._pending.clear()
            self._ops.clear()

    def _queue_op(self, op) -> None:
        with self._lock:
            self._ops.append(op)
            wake, self._scheduled = not self._scheduled, True
        if wake:
            self._wake.emit()

    # -- the worker thread --------------------------------------------------------------------------
    def _take(self):
        with self._lock:
            if self._ops:
                return "op", self._ops.popleft()
            for channel in CHANNELS:
                if channel in self._pending:
                    return channel, self._pending.pop(channel)
            self._scheduled = False
            return None, None

    @Slot()
    def _drain(self) -> None:
        while True:
            kind, item = self._take()
            if kind is None:
                return
            try:
                if kind == "op":
                    self._run_op(*item)
                else:
                    self._serve(kind, *item)
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any single failure
                self.failed.emit(kind if kind != "op" else "model",
                                 f"{_error_text(exc)}\n{traceback.format_exc(limit=2)}".strip())

    def _install(self, info) -> None:
        self.generation += 1
        info.generation = self.generation
        self.info = info
        self.model_loaded.emit(info)

    def _run_op(self, name: str, arg) -> None:
        if name == "load":
            try:
                info = arg()
            except UserError as exc:
                self.failed.emit("model", str(exc))
                return
            self._install(info)
            return
        fetch, build = arg
        try:
            offer = fetch()
            info = self.info
            if info is not None and info.kind == "live" and info.model_config == offer["model"]:
                try:
                    info.renderer.swap_weights(offer["states"]["G"], "G")
                    if "E" in offer["states"] and info.renderer.has_encoder:
                        info.renderer.swap_weights(offer["states"]["E"], "E")
                except UserError:
                    pass  # same config yet other shapes: build it afresh below
                else:
                    if info.generator is not None:  # principal directions' own copy, for Recompute
                        info.generator.load_state_dict(offer["states"]["G"])
                    info.step = offer["step"]
                    self.weights_swapped.emit(info.generation, offer["step"])
                    return
            self._install(build(offer))
        except UserError as exc:
            self.failed.emit("model", str(exc))

    def _serve(self, channel: str, rid: int, generation: int, payload) -> None:
        info = self.info
        if info is None or generation != info.generation:
            return  # made for a model that has been replaced: nobody wants this picture any more
        renderer = info.renderer
        threads = self.threads
        self.renders += 1
        if channel == "encode":
            result = renderer.reconstruct(payload, threads)
            if not result.ok:
                self.failed.emit(channel, result.error)
                return
            self.encoded.emit(rid, {"photo": payload, "z": result.z[0], "reconstruction": result.images[0],
                                    "ms": result.ms})
            return
        result = renderer.render(payload, threads)
        if not result.ok:
            self.failed.emit(channel, result.error)
            return
        if channel == "view":
            self.image_ready.emit(rid, result.images[0], result.ms)
        else:
            self.strip_ready.emit(rid, result.images, result.ms)


def all_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity call outside Linux
        return max(1, os.cpu_count() or 1)


_services: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _join_render_threads() -> None:
    """A QThread destroyed while running aborts the process: a script that ends (or fails) without
    closing its window still gets its render thread joined, before PySide6's own exit teardown."""
    for service in list(_services):
        try:
            service.shutdown(10.0)  # a model load in progress (torch's first import) may take seconds
        except RuntimeError:  # its C++ side is already gone, and its thread with it
            pass


class RenderService(QObject):
    """Owns the worker and its thread; the panel talks to this from the GUI thread."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker = RenderWorker()
        self.qthread = QThread(self)
        self.qthread.setObjectName("latentlab-render")
        self.worker.moveToThread(self.qthread)
        self.qthread.start()
        app = QCoreApplication.instance()
        if app is not None:  # a QThread destroyed while running aborts the process: always join it
            app.aboutToQuit.connect(self.shutdown)
        _services.add(self)
        self.generation = 0  # the model the GUI is showing; requests are tagged with it

    def request(self, channel: str, payload) -> int:
        return self.worker.submit(channel, payload, self.generation)

    def render(self, z: np.ndarray) -> int:
        return self.request("view", np.ascontiguousarray(z, dtype=np.float32)[None])

    def shutdown(self, timeout_s: float = 2.0) -> bool:
        if not self.qthread.isRunning():
            return True
        self.worker.cancel_all()
        self.qthread.quit()  # after the render or load in progress, if any
        return self.qthread.wait(int(timeout_s * 1000))

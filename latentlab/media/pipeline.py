"""Two threads with a bounded queue between them: one produces frames (render, colour conversion),
the calling one consumes them (encode, write). Used by the video writers (latentlab.media.video)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

PIPELINE_DEPTH = 2  # items waiting between the producing thread and the consuming one


def pipeline(produce: Iterator, consume: Callable[[object], None], *, cancel: Callable[[], bool] | None = None,
             depth: int = PIPELINE_DEPTH) -> bool:
    """Run the iterator `produce` on its own thread and consume(item) for each item, in order, on the
    calling thread, with at most `depth` items waiting in between: rendering and colour conversion
    overlap encoding (torch, swscale and the encoders release the GIL), and memory stays flat in
    the number of frames. cancel() is asked before each item; True stops both sides and returns
    False. An exception on either side (KeyboardInterrupt included) stops the other one and is
    raised here; the producer thread is always joined before this returns."""
    items: queue.Queue = queue.Queue(max(1, depth))
    stopping = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stopping.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in produce:
                if not put((True, item)):
                    return
            put((True, end))
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which raises it
            put((False, exc))

    worker = threading.Thread(target=run, name="latentlab-frames", daemon=True)
    worker.start()
    try:
        while True:
            if cancel is not None and cancel():
                return False
            ok, item = items.get()
            if not ok:
                raise item
            if item is end:
                return True
            consume(item)
    finally:
        stopping.set()
        worker.join()

"""Change events with no Qt: a model says which of its aspects changed, and whoever shows it listens.

In the spirit of napari's components (models) vs _qt (widgets): the state of a tab lives in a plain
object that announces its changes, and widgets subscribe. So a change made anywhere reaches the
screen through one path, whichever widget, menu or file caused it. Callbacks run at once, on the
thread that made the change (the GUI thread: these models are only changed from there).
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from contextlib import contextmanager


class Emitter:
    """A list of callbacks, called in the order they were connected.

    A bound method is held weakly (its object may go away without disconnecting; it is then
    dropped), so a model never keeps its widgets alive: no reference cycle through a model can
    leave a Qt object for the garbage collector to free on another thread. Plain functions are
    held as given.
    """

    def __init__(self):
        self._refs: list[Callable[[], Callable | None]] = []

    def connect(self, callback: Callable) -> Callable:
        if inspect.ismethod(callback):
            self._refs.append(weakref.WeakMethod(callback))
        else:
            self._refs.append(lambda: callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        self._refs = [ref for ref in self._refs if ref() != callback]

    def emit(self, *args) -> None:
        for ref in list(self._refs):  # a callback may disconnect itself
            callback = ref()
            if callback is None:
                self._refs = [r for r in self._refs if r is not ref]
            else:
                callback(*args)


class ChangeModel:
    """A model whose `changed` emitter hands listeners the frozenset of aspects that changed.

    Inside `with model.batch():` the aspects gather and go out once at the end, so a compound change
    (a new model, an encoded photo) renders once, with every widget already showing the new values.
    """

    def __init__(self):
        self.changed = Emitter()
        self._depth = 0
        self._pending: set[str] = set()

    def notify(self, *aspects: str) -> None:
        self._pending.update(aspects)
        if self._depth == 0 and self._pending:
            pending, self._pending = frozenset(self._pending), set()
            self.changed.emit(pending)

    @contextmanager
    def batch(self):
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            self.notify()

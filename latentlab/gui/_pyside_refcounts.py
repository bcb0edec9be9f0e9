"""Work around PySide6 6.12 dropping references to None and True on CPython 3.11.

Measured in this project's environment (PySide6 6.12.0, CPython 3.11): every call of a void Qt
method (setText, update, QTimer.start, ...) lowers None's reference count by one, and every
Signal.emit lowers True's. CPython 3.12+ makes these singletons immortal, so the bindings get away
with it there; on 3.11 the count reaches zero after a few thousand emits and the interpreter aborts
("Fatal Python error: bool_dealloc / none_dealloc"), e.g. after a few thousand training steps.

Until the bindings are fixed, give the three singletons a reference count so large that no session
can exhaust it, which is what 3.12's immortal objects do. They are never freed in any case.
"""

from __future__ import annotations

import ctypes
import platform
import sys

HEADROOM = 1 << 48  # decades of calls at a million per second
_applied = False


def immortalize_singletons() -> bool:
    """Raise the refcounts of None, True and False once; True if this interpreter needed it."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field of every CPython object (Py_ssize_t).
        ctypes.c_ssize_t.from_address(id(obj)).value += HEADROOM
    _applied = True
    return True

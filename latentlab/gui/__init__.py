"""The desktop app: every Qt widget, window, thread and signal of latentlab (PySide6 + pyqtgraph).

PySide6-Essentials 6.12.0 drops a reference to None per void Qt call and to True per Signal.emit;
CPython 3.11 (whose None and True are not yet immortal) then aborts after a few thousand signals,
minutes into a training session. pyproject.toml excludes that release; an environment that has it
anyway (installed with --no-deps, or before the exclusion) is refused here with the remedy, instead
of crashing later.
"""

import sys

from PySide6 import __version_info__ as _pyside_version

from latentlab.config import UserError

BROKEN_PYSIDE = ((6, 12, 0),)

if sys.version_info < (3, 12) and tuple(_pyside_version[:3]) in BROKEN_PYSIDE:
    raise UserError(f"PySide6 {'.'.join(map(str, _pyside_version[:3]))} crashes Python "
                    f"{sys.version_info.major}.{sys.version_info.minor} after a few thousand signals; "
                    "install another release: pip install 'PySide6-Essentials!=6.12.0'")

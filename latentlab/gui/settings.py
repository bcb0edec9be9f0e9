"""Persistent app state (window layout, last choices, recent runs) through QSettings.

INI format everywhere so that QSettings.setPath (tests, benchmarks) or $LATENTLAB_SETTINGS_DIR can
point it at a throwaway folder instead of the user's real settings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

ORGANIZATION = "latentlab"
APPLICATION = "latentlab"
MAX_RECENT = 10


def use_settings_dir(folder: str | os.PathLike) -> None:
    """Redirect every later `app_settings()` to INI files under `folder`."""
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder))


def app_settings() -> QSettings:
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, APPLICATION)


def get_json(key: str, default: Any) -> Any:
    """Structured values go in as JSON text: QSettings' own type mapping differs per platform."""
    raw = app_settings().value(key)
    if raw is None:
        return default
    try:
        return json.loads(str(raw))
    except (TypeError, ValueError):
        return default


def set_json(key: str, value: Any) -> None:
    app_settings().setValue(key, json.dumps(value))


def recent_runs() -> list[str]:
    runs = get_json("recent/runs", [])
    return [r for r in runs if isinstance(r, str)] if isinstance(runs, list) else []


def remember_run(path: str | Path) -> list[str]:
    path = str(Path(path).resolve())
    runs = [path] + [r for r in recent_runs() if r != path]
    runs = runs[:MAX_RECENT]
    set_json("recent/runs", runs)
    return runs


def clear_recent_runs() -> None:
    set_json("recent/runs", [])


def last_folder(kind: str) -> str:
    """The folder the last dialog of this kind (photo, export, bookmarks…) was in, else the working folder."""
    folder = get_json(f"folders/{kind}", "")
    if not folder:
        folder = get_json("folders/last", "")
    return folder if isinstance(folder, str) and folder and Path(folder).is_dir() else ""


def remember_folder(kind: str, path: str | Path) -> None:
    """After a dialog: the next one of this kind (and any kind not used yet) opens where this one ended."""
    path = Path(path)
    folder = str(path if path.is_dir() else path.parent)
    set_json(f"folders/{kind}", folder)
    set_json("folders/last", folder)


def in_last_folder(kind: str, name: str) -> str:
    """A save dialog's default: `name` in the last folder of this kind."""
    folder = last_folder(kind)
    return str(Path(folder) / name) if folder else name

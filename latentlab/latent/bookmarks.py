"""Bookmarked latents: the JSON file the app saves and `latentlab walk --latents FILE` reads.

Format (UTF-8 JSON)::

    {
      "format": "latentlab-bookmarks",
      "version": 1,
      "latent_dim": 100,
      "bookmarks": [
        {"name": "smiling one", "z": [0.12, -1.3, ...], "seed": 42},
        {"name": "from seed", "seed": 7}
      ]
    }

Each bookmark has a `name` (string) and `z` (latent_dim finite numbers), `seed` (an integer, or
null/absent: the seed the latent was drawn from, shown in the app) or both. An entry with a seed but
no z means seed_latent(seed, latent_dim). Order matters: a walk visits the bookmarks in file order.
float32 values round-trip exactly through JSON's decimal numbers.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentlab.atomic import write_text_atomic
from latentlab.config import UserError

BOOKMARKS_FORMAT = "latentlab-bookmarks"


@dataclass
class Bookmark:
    name: str
    z: np.ndarray  # float32 (latent_dim,)
    seed: int | None = None

    def to_dict(self) -> dict:
        row = {"name": self.name, "z": [float(v) for v in np.asarray(self.z, dtype=np.float32)]}
        if self.seed is not None:
            row["seed"] = int(self.seed)
        return row


def _as_bookmark(item: Bookmark | Mapping, where: str) -> Bookmark:
    if isinstance(item, Bookmark):
        return item
    if not isinstance(item, Mapping) or "z" not in item:
        raise UserError(f"{where}: a bookmark needs a name and z")
    return Bookmark(str(item.get("name", "")), np.asarray(item["z"], dtype=np.float32), item.get("seed"))


def save_bookmarks(path: str | os.PathLike, bookmarks: Iterable[Bookmark | Mapping]) -> None:
    """Write bookmarks (Bookmark objects or dicts with name, z and optional seed) atomically."""
    path = Path(path)
    items = [_as_bookmark(b, str(path)) for b in bookmarks]
    dims = {int(np.asarray(b.z).size) for b in items}
    if len(dims) > 1:
        raise UserError(f"{path}: bookmarks have latents of different sizes {sorted(dims)}")
    for b in items:
        if not np.isfinite(b.z).all():
            raise UserError(f"{path}: bookmark {b.name!r} has a non-finite latent")
    doc = {"format": BOOKMARKS_FORMAT, "version": 1, "latent_dim": dims.pop() if dims else 0,
           "bookmarks": [b.to_dict() for b in items]}
    if not path.parent.is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    write_text_atomic(path, json.dumps(doc, indent=1) + "\n")


def load_bookmarks(path: str | os.PathLike, latent_dim: int | None = None) -> list[Bookmark]:
    """Read a bookmarks file; latent_dim, when given, must match the file's. UserError naming the file
    and the first problem for anything malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such bookmarks file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read bookmarks ({exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != BOOKMARKS_FORMAT:
        raise UserError(f"{path}: not a latentlab bookmarks file (expected \"format\": \"{BOOKMARKS_FORMAT}\")")
    if doc.get("version") != 1:
        raise UserError(f"{path}: unsupported bookmarks version {doc.get('version')!r}")
    dim = doc.get("latent_dim")
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 0:
        raise UserError(f"{path}: latent_dim must be a whole number (got {dim!r})")
    if latent_dim is not None and dim != latent_dim and doc.get("bookmarks"):
        raise UserError(f"{path}: bookmarks have latent_dim {dim}, the model has {latent_dim}")
    entries = doc.get("bookmarks")
    if not isinstance(entries, list):
        raise UserError(f"{path}: \"bookmarks\" must be a list")
    out = []
    for i, entry in enumerate(entries):
        where = f"{path}: bookmark {i + 1}"
        if not isinstance(entry, dict):
            raise UserError(f"{where} is not an object")
        name = entry.get("name", f"bookmark {i + 1}")
        if not isinstance(name, str):
            raise UserError(f"{where}: name must be a string")
        seed = entry.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise UserError(f"{where} ({name!r}): seed must be a whole number of 0 or more (got {seed!r})")
        if "z" in entry:
            z = entry["z"]
            if not isinstance(z, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  and math.isfinite(v) for v in z):
                raise UserError(f"{where} ({name!r}): z must be a list of finite numbers")
            if len(z) != dim:
                raise UserError(f"{where} ({name!r}): z has {len(z)} values, latent_dim is {dim}")
            vec = np.asarray(z, dtype=np.float32)
        elif seed is not None:
            if dim < 1:
                raise UserError(f"{where} ({name!r}): latent_dim must be at least 1")
            from latentlab.latent.interp import seed_latent  # torch, only for seed-only entries

            vec = seed_latent(seed, dim)
        else:
            raise UserError(f"{where} ({name!r}): needs z or seed")
        out.append(Bookmark(name, vec, seed))
    return out

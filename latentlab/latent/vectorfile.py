"""Files of named latent vectors: safetensors with the vectors as tensors and a JSON header in the
metadata. Principal directions and attribute vectors are both kept this way; directions.py computes
them and attributes.py names them, and both read and write through here."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from latentlab.atomic import write_bytes_atomic
from latentlab.config import UserError

VECTORS_FORMAT = "latentlab-vectors"
_META_KEY = "latentlab"


def save_vectors(path: str | os.PathLike, vectors: Mapping[str, np.ndarray], *, kind: str,
                 meta: Mapping | None = None) -> None:
    """Write named vectors to a safetensors file atomically (temporary file + rename).
    kind: "principal" (tensors "directions" (k, nz), "stddevs" (k,)) or "attributes" (name -> (nz,)).
    meta: any JSON-able dict kept with them (e.g. the checkpoint they came from)."""
    from safetensors.numpy import save

    path = Path(path)
    tensors = {str(k): np.ascontiguousarray(np.asarray(v, dtype=np.float32)) for k, v in vectors.items()}
    header = {"format": VECTORS_FORMAT, "version": 1, "kind": kind, "names": list(tensors),
              "meta": dict(meta or {})}
    if not path.parent.is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    # Serialised in memory and written through latentlab.atomic: safetensors' own file writer would
    # leave the file 0600 whatever the umask, unreadable to the group a shared run is shared with.
    write_bytes_atomic(path, save(tensors, metadata={_META_KEY: json.dumps(header)}))


def load_vectors(path: str | os.PathLike, kind: str | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by save_vectors → (name -> float32 array in saved order, header dict with
    kind, names, meta). UserError for a missing, corrupt or foreign file, or one of another kind."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        with safe_open(str(path), framework="np") as f:
            header = json.loads((f.metadata() or {}).get(_META_KEY, "null"))
            if not isinstance(header, dict) or header.get("format") != VECTORS_FORMAT:
                raise UserError(f"{path}: not a latentlab vectors file")
            vectors = {name: f.get_tensor(name).astype(np.float32) for name in header["names"]}
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for truncated/garbage files
        raise UserError(f"{path}: unreadable vectors file ({exc})") from None
    if kind is not None and header.get("kind") != kind:
        raise UserError(f"{path}: holds {header.get('kind')} vectors, expected {kind}")
    return vectors, header


def save_principal(path, directions: np.ndarray, stddevs: np.ndarray, explained: np.ndarray,
                   meta: Mapping | None = None) -> None:
    save_vectors(path, {"directions": directions, "stddevs": stddevs, "explained": explained}, kind="principal",
                 meta=meta)


def load_principal(path) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """→ (directions (k, nz), stddevs (k,), explained variance shares (k,), meta). A file written
    before the shares were kept lacks them: a UserError, so a cache of it is recomputed."""
    vectors, header = load_vectors(path, kind="principal")
    if any(key not in vectors for key in ("directions", "stddevs", "explained")):
        raise UserError(f"{path}: principal directions file lacks directions/stddevs/explained")
    return vectors["directions"], vectors["stddevs"], vectors["explained"], header.get("meta", {})


def save_attributes(path, vectors: Mapping[str, np.ndarray], meta: Mapping | None = None) -> None:
    save_vectors(path, vectors, kind="attributes", meta=meta)


def load_attributes(path) -> tuple[dict[str, np.ndarray], dict]:
    """→ (name -> (nz,) vector, meta)."""
    vectors, header = load_vectors(path, kind="attributes")
    return vectors, header.get("meta", {})

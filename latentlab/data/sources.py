"""Data source specs: what files a spec names, how to read them, and what identifies their content.

A `Source` lists candidate images (by extension) without decoding them; the cache decodes them.
Specs: "synthetic" (or "synthetic:N"), "synthetic-photo" (or "synthetic-photo:N": the same faces in
the renderer's photographic mode), a folder, a .zip, a .tar/.tgz, "celeba:PATH", "lfw:PATH".
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.config import UserError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
TAR_EXTS = (".tgz", ".tar.gz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
CELEBA_ATTRS = ("list_attr_celeba.txt", "list_attr_celeba.csv")


def _is_image_name(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    # macOS resource forks ("._x.jpg", "__MACOSX/") are metadata, not skipped images.
    if base.startswith("._") or name.startswith("__MACOSX/") or "/__MACOSX/" in name:
        return False
    return base.lower().endswith(IMAGE_EXTS)


def _is_tar(path: Path) -> bool:
    return path.name.lower().endswith(TAR_EXTS)


@dataclass
class Source:
    kind: str  # synthetic | folder | zip | tar
    spec: str
    path: Path | None
    dataset: str = ""  # "celeba" | "lfw" | "" (plain)
    synthetic_count: int = 0
    style: str = ""  # synthetic: "cartoon" | "photo"
    attr_file: Path | None = None  # CelebA attributes beside the images
    attr_member: str | None = None  # ... or inside the zip
    _names: list[str] | None = field(default=None, repr=False)

    # -- identity ------------------------------------------------------------------------------
    def identity(self) -> str:
        """A digest of what the source contains, cheap to compute: names, sizes and mtimes."""
        h = hashlib.sha256()
        h.update(f"{self.kind}|{self.dataset}|{self.path}|{self.synthetic_count}".encode())
        if self.style == "photo":  # "cartoon" adds nothing, so caches written before the photo mode stay valid
            h.update(b"|photo")
        if self.kind == "folder":
            for rel in self.names():
                try:
                    st = (self.path / rel).stat()
                    stamp = f"{st.st_size}|{st.st_mtime_ns}"
                except OSError:  # gone since the listing: it will be skipped and counted
                    stamp = "missing"
                h.update(f"\n{rel}|{stamp}".encode())
        elif self.kind in ("zip", "tar"):
            st = self.path.stat()
            h.update(f"\n{st.st_size}|{st.st_mtime_ns}".encode())
        if self.attr_file is not None:
            st = self.attr_file.stat()
            h.update(f"\nattrs|{self.attr_file}|{st.st_size}|{st.st_mtime_ns}".encode())
        return h.hexdigest()

    # -- listing and reading -------------------------------------------------------------------
    def names(self) -> list[str]:
        """Candidate image names (relative paths or archive members), in decoding order."""
        if self._names is None:
            if self.kind == "folder":
                found, seen = [], set()
                for root, dirs, files in os.walk(self.path, followlinks=True):
                    st = os.stat(root)
                    if (st.st_dev, st.st_ino) in seen:  # a symlink loop: do not walk it twice
                        dirs[:] = []
                        continue
                    seen.add((st.st_dev, st.st_ino))
                    dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
                    rel_root = os.path.relpath(root, self.path)
                    for name in files:
                        rel = name if rel_root == "." else f"{rel_root}/{name}".replace(os.sep, "/")
                        if _is_image_name(rel):
                            found.append(rel)
                self._names = sorted(found)
            elif self.kind == "zip":
                with self._open_zip() as zf:
                    self._names = sorted(i.filename for i in zf.infolist()
                                         if not i.is_dir() and _is_image_name(i.filename))
            elif self.kind == "tar":
                # Archive order: a compressed tar is read front to back, never seeked backwards.
                with self._open_tar() as tf:
                    self._names = [m.name for m in _members(tf) if m.isfile() and _is_image_name(m.name)]
            else:
                self._names = []
        return self._names

    def items(self) -> Iterator[tuple[str, Path | bytes]]:
        """(name, path or bytes) for each candidate image; an unreadable member yields b""."""
        if self.kind == "folder":
            for rel in self.names():
                yield rel, self.path / rel
        elif self.kind == "zip":
            with self._open_zip() as zf:
                for name in self.names():
                    try:
                        data = zf.read(name)
                    except Exception:  # noqa: BLE001 - a corrupt or encrypted member is one skipped image
                        data = b""
                    yield name, data
        elif self.kind == "tar":
            wanted = set(self.names())
            with self._open_tar() as tf:
                for member in _members(tf):
                    if member.name in wanted and member.isfile():
                        try:
                            fobj = tf.extractfile(member)
                            data = fobj.read() if fobj is not None else b""
                        except (OSError, tarfile.TarError, EOFError):
                            data = b""
                        yield member.name, data

    def _open_zip(self) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else "damaged"
            raise UserError(f"data source {self.path}: not a readable .zip archive ({reason})") from None

    def _open_tar(self) -> tarfile.TarFile:
        try:
            return tarfile.open(self.path, "r:*")
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            raise UserError(f"data source {self.path}: not a readable tar archive (damaged or not a tar)") from None

    # -- labels --------------------------------------------------------------------------------
    def labels_for(self, names: list[str]) -> dict[str, np.ndarray]:
        """CelebA's 40 attributes for the decoded images; {} when unknown or incomplete."""
        text = None
        if self.attr_file is not None:
            text = self.attr_file.read_text(encoding="utf-8", errors="replace")
        elif self.attr_member is not None:
            with self._open_zip() as zf:
                text = zf.read(self.attr_member).decode("utf-8", errors="replace")
        if text is None or not names:
            return {}
        attr_names, table = parse_celeba_attrs(text)
        rows = [table.get(n.rsplit("/", 1)[-1]) for n in names]
        if not attr_names or any(r is None for r in rows):
            return {}  # a partial label set would bias attribute vectors; better none
        matrix = np.stack(rows)
        return {name: matrix[:, j].copy() for j, name in enumerate(attr_names)}


def _members(tf: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The members of a tar archive up to the first damage: a cut-off download still yields its start."""
    try:
        yield from tf
    except (tarfile.TarError, EOFError, OSError, zlib.error):
        return


def parse_celeba_attrs(text: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """list_attr_celeba.txt (count line, names line, rows of -1/1) or the .csv variant."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return [], {}
    if "," in lines[0]:
        header = [c.strip() for c in lines[0].split(",")]
        names, body, sep = header[1:], lines[1:], ","
    else:
        start = 1 if lines[0].strip().isdigit() else 0
        if start >= len(lines):
            return [], {}
        names, body, sep = lines[start].split(), lines[start + 1:], None
    table: dict[str, np.ndarray] = {}
    for ln in body:
        parts = [p.strip() for p in ln.split(sep)] if sep else ln.split()
        if len(parts) != len(names) + 1:
            continue
        try:
            table[parts[0]] = np.array([int(v) > 0 for v in parts[1:]], dtype=bool)
        except ValueError:
            continue
    return names, table


def _find_celeba(path: Path) -> Source:
    """The image container and the attribute file of a CelebA download, in its common layouts."""
    container = path
    if path.is_dir():
        for cand in (path / "img_align_celeba", path / "img_align_celeba.zip",
                     path / "celeba" / "img_align_celeba", path / "celeba" / "img_align_celeba.zip"):
            if cand.exists():
                container = cand
                break
    kind = "folder" if container.is_dir() else "zip"
    if kind == "zip" and not zipfile.is_zipfile(container):
        raise UserError(f"data source celeba:{path}: expected the img_align_celeba folder or .zip")
    src = Source(kind=kind, spec=f"celeba:{path}", path=container.resolve(), dataset="celeba")
    places = [container.parent, container.parent / "Anno", path, path / "Anno", path / "celeba"]
    if container.is_dir():
        places.insert(0, container)
    for place in places:
        for name in CELEBA_ATTRS:
            if (place / name).is_file():
                src.attr_file = (place / name).resolve()
                return src
    if kind == "zip":
        with src._open_zip() as zf:
            for member in zf.namelist():
                if member.rsplit("/", 1)[-1] in CELEBA_ATTRS:
                    src.attr_member = member
                    break
    return src


SYNTHETIC_SPECS = {"synthetic": "cartoon", "synthetic-photo": "photo"}


def is_synthetic(spec: str) -> bool:
    """Whether a data spec names the built-in renderer (either mode)."""
    return str(spec).strip().split(":", 1)[0] in SYNTHETIC_SPECS


def parse_spec(spec: str, synthetic_count: int = 20000) -> Source:
    """The Source a spec names; UserError for a missing path or an unknown kind of file."""
    text = str(spec).strip()
    name = text.split(":", 1)[0]
    if name in SYNTHETIC_SPECS:
        count = synthetic_count
        if text != name:
            try:
                count = int(text.split(":", 1)[1])
            except ValueError:
                raise UserError(f"data source {text!r}: expected {name} or {name}:COUNT") from None
        if count < 1:
            raise UserError(f"data source {text!r}: the image count must be at least 1")
        return Source(kind="synthetic", spec=name, path=None, synthetic_count=count, style=SYNTHETIC_SPECS[name])
    dataset = ""
    for prefix in ("celeba:", "lfw:"):
        if text.lower().startswith(prefix):
            dataset, text = prefix[:-1], text[len(prefix):]
    if not text:
        raise UserError(f"data source {spec!r}: no path given")
    path = Path(os.path.expanduser(text))
    if not path.exists():
        raise UserError(f"data source {path}: no such file or folder")
    if dataset == "celeba":
        return _find_celeba(path)
    if path.is_dir():
        return Source(kind="folder", spec=str(spec), path=path.resolve(), dataset=dataset)
    if path.name.lower().endswith(".zip"):
        return Source(kind="zip", spec=str(spec), path=path.resolve(), dataset=dataset)
    if _is_tar(path):
        return Source(kind="tar", spec=str(spec), path=path.resolve(), dataset=dataset)
    raise UserError(f"data source {path}: not a folder, a .zip or a .tgz archive of images")

"""The pre-decoded cache: each source decoded once into a uint8 (N, S, S, 3) .npy, then memory-mapped.

Files in the cache folder, per source/size/crop key:
  NAME.npy          the images (written to a temporary name, fsynced, renamed)
  NAME.labels.npz   bool labels and float factors (no pickle)
  NAME.json         count, skipped files, label names; written last, so it marks a complete cache
A kill at any moment leaves either the previous complete cache or none, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.atomic import AtomicFile, write_with
from latentlab.config import UserError
from latentlab.data import synthetic, synthetic_render
from latentlab.data.decode import CROPS, BadImage, decode, reason_kind, resolve_crop
from latentlab.data.sources import Source, parse_spec

CACHE_FORMAT = 1
DECODE_WORKERS = 2
PARALLEL_RENDER_MIN = 1024  # below this a helper process costs more than it saves
HEADER_BYTES = 128  # fixed .npy header length, so the row count can be filled in at the end

Progress = Callable[[int, int], None]


@dataclass
class ImageSet:
    """Decoded images at training resolution; the LAST `holdout` images are kept out of training."""

    images: np.ndarray  # uint8 (N, H, W, 3), usually a read-only memmap
    labels: dict[str, np.ndarray]  # name -> bool (N,)
    skipped: int
    fingerprint: str
    spec: str
    holdout: int
    image_size: int = 0
    crop: str = ""
    cache_path: Path | None = None
    factors: dict[str, np.ndarray] = field(default_factory=dict)  # synthetic: name -> float32 (N,)
    skipped_files: list[str] = field(default_factory=list)  # the first few, "name: reason"
    skip_reasons: dict[str, int] = field(default_factory=dict)  # reason (decode.reason_kind) -> count

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def train_count(self) -> int:
        return len(self) - self.holdout


def skip_summary(data: ImageSet, examples: int = 3) -> str:
    """", 4 unreadable files skipped (truncated 2, not an image 1, too small 1; e.g. a.jpg: ...)" or ""."""
    if not data.skipped:
        return ""
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(data.skip_reasons.items(), key=lambda kv: -kv[1]))
    shown = "; ".join(data.skipped_files[:examples])
    more = ", ..." if data.skipped > examples else ""
    return (f", {data.skipped} unreadable files skipped" + (f" ({counts})" if counts else "")
            + (f"; e.g. {shown}{more}" if shown else ""))


def default_cache_dir(platform: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """$LATENTLAB_CACHE, else where the platform keeps per-user caches (XDG on Linux and the BSDs)."""
    platform = sys.platform if platform is None else platform
    env = os.environ if environ is None else environ
    chosen = env.get("LATENTLAB_CACHE", "").strip()
    if chosen:
        return Path(os.path.expanduser(chosen))
    home = Path(os.path.expanduser("~"))
    if platform == "darwin":
        return home / "Library" / "Caches" / "latentlab"
    if platform.startswith("win"):
        local = env.get("LOCALAPPDATA", "").strip()
        return (Path(local) if local else home / "AppData" / "Local") / "latentlab" / "Cache"
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    # The XDG spec ignores a relative $XDG_CACHE_HOME.
    return (Path(xdg) if xdg and os.path.isabs(xdg) else home / ".cache") / "latentlab"


_BUILD_TMP = re.compile(r"\.build-(?P<host>.+)-(?P<pid>\d+)\.tmp$")


def _build_suffix() -> str:
    """The suffix of every temporary file a cache build writes: it names the host and process, so a
    later build can tell the leftovers of a killed one (gigabytes, for a large source) from the files
    of a build still running beside it."""
    return f".build-{socket.gethostname()}-{os.getpid()}.tmp"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another account
        return True
    return True


def sweep_dead_builds(folder: Path) -> list[Path]:
    """Remove the temporary files of cache builds on this host whose process is gone."""
    removed, host = [], socket.gethostname()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for path in entries:
        m = _BUILD_TMP.search(path.name)
        if not (m and path.name.startswith(".") and m.group("host") == host):
            continue
        pid = int(m.group("pid"))
        if pid != os.getpid() and not _alive(pid):
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
    return removed


class _NpyWriter:
    """Streams rows into a temporary .npy whose header (row count) is written when it is finished."""

    def __init__(self, final: Path, row_shape: tuple[int, ...]):
        self.final, self.row_shape, self.count = final, row_shape, 0
        self.atomic = AtomicFile(final, suffix=_build_suffix())
        self.f = open(self.atomic.tmp, "wb")  # noqa: SIM115 - closed by finish() or abort()
        self.f.write(b"\0" * HEADER_BYTES)

    def write(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=np.uint8).reshape((-1, *self.row_shape))
        self.f.write(rows.tobytes())
        self.count += rows.shape[0]

    def finish(self) -> None:
        d = {"descr": "|u1", "fortran_order": False, "shape": (self.count, *self.row_shape)}
        text = repr(d).encode("latin1")
        pad = HEADER_BYTES - 10 - len(text) - 1
        header = b"\x93NUMPY\x01\x00" + (HEADER_BYTES - 10).to_bytes(2, "little") + text + b" " * pad + b"\n"
        self.f.seek(0)
        self.f.write(header)
        self.f.close()
        self.atomic.commit()

    def abort(self) -> None:
        self.f.close()
        self.atomic.discard()


class _TtyBar:
    """A one-line progress bar on stderr, refreshed at most ten times a second."""

    def __init__(self, title: str):
        self.title, self.start, self.last, self.ended = title, time.monotonic(), 0.0, False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.ended or total <= 0 or (done < total and now - self.last < 0.1):
            return
        self.last, self.ended = now, done >= total
        rate = done / max(now - self.start, 1e-9)
        frac = done / total if total else 1.0
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\r{self.title} [{bar:<30}] {done}/{total} {rate:,.0f} img/s")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _throttled(progress: Progress) -> Progress:
    state = {"last": 0.0}

    def call(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - state["last"] >= 0.05:
            state["last"] = now
            progress(done, total)

    return call


def _build_synthetic(src: Source, size: int, writer: _NpyWriter, progress: Progress) -> dict:
    n = src.synthetic_count
    factors = np.empty((n, len(synthetic.FACTORS)), np.float32)
    # Large sets: a helper process renders the second half while this one renders the first.
    style = src.style or "cartoon"
    helper = _RenderHelper(n // 2, n, size, writer.final.parent, style) if n >= PARALLEL_RENDER_MIN else None
    mine = helper.start if helper else n
    try:
        for start in range(0, mine, 64):
            stop = min(mine, start + 64)
            imgs, factors[start:stop] = synthetic_render.render_many(start, stop, size, style)
            writer.write(imgs)
            progress(stop + (helper.done if helper else 0), n)
        if helper:
            helper.finish(writer, factors, lambda k: progress(mine + k, n))
    finally:
        if helper:
            helper.close()
    fac = {name: factors[:, j].copy() for j, name in enumerate(synthetic.FACTORS)}
    rows = [synthetic.binary_labels({k: float(v[i]) for k, v in fac.items()}) for i in range(n)]
    labels = {k: np.array([r[k] for r in rows], dtype=bool) for k in rows[0]}
    return {"labels": labels, "factors": fac, "skipped": 0, "skipped_files": [], "names": None}


class _RenderHelper:
    """A second Python process rendering faces [start, stop) into a temporary file.

    A plain subprocess rather than multiprocessing: nothing of the caller's __main__ is re-imported,
    and no threads are forked. If it fails for any reason this process renders its share instead.
    """

    def __init__(self, start: int, stop: int, size: int, folder: Path, style: str = "cartoon"):
        self.start, self.stop, self.size, self.done, self.style = start, stop, size, 0, style
        self.path = folder / f".render-{threading.get_ident()}-{start}{_build_suffix()}"
        code = ("import sys; from latentlab.data.synthetic_render import _render_to_file; "
                "_render_to_file(*map(int, sys.argv[1:4]), sys.argv[4], sys.argv[5])")
        env = dict(os.environ)
        root = str(Path(synthetic.__file__).resolve().parents[2])  # importable even when not installed
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", code, str(start), str(stop), str(size),
                                          str(self.path), self.style], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         text=True, env=env)
        except OSError:
            self.proc = None
            return
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.strip().isdigit():
                self.done = int(line)

    def finish(self, writer: _NpyWriter, factors: np.ndarray, progress: Callable[[int], None]) -> None:
        count = self.stop - self.start
        ok = False
        if self.proc is not None:
            while self.proc.poll() is None:
                progress(self.done)
                time.sleep(0.05)
            self.reader.join()
            row = self.size * self.size * 3
            ok = self.proc.returncode == 0 and self.path.is_file() and \
                self.path.stat().st_size == count * (row + 4 * len(synthetic.FACTORS))
        if ok:
            with open(self.path, "rb") as f:
                for lo in range(0, count, 1024):
                    hi = min(count, lo + 1024)
                    writer.write(np.frombuffer(f.read((hi - lo) * row), np.uint8))
                    progress(hi)
                factors[self.start:] = np.frombuffer(f.read(), np.float32).reshape(count, -1)
            return
        for lo in range(self.start, self.stop, 64):
            hi = min(self.stop, lo + 64)
            imgs, factors[lo:hi] = synthetic_render.render_many(lo, hi, self.size, self.style)
            writer.write(imgs)
            progress(hi - self.start)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.path.unlink(missing_ok=True)


def _build_files(src: Source, size: int, crop: str, writer: _NpyWriter, progress: Progress, conv=None) -> dict:
    if conv is not None:
        from latentlab.data.align import decode_aligned

        def work(payload):
            return decode_aligned(payload, size, conv)
    else:
        def work(payload):
            return decode(payload, size, crop)

    total = len(src.names())
    names: list[str] = []
    skipped: list[str] = []
    reasons: dict[str, int] = {}
    done = 0
    progress(0, total)
    with ThreadPoolExecutor(DECODE_WORKERS, thread_name_prefix="latentlab-decode") as pool:
        pending: deque = deque()

        def drain_one() -> None:
            nonlocal done
            name, fut = pending.popleft()
            try:
                writer.write(fut.result()[None])
                names.append(name)
            except BadImage as exc:
                skipped.append(f"{name}: {exc}")
                kind = reason_kind(str(exc))
                reasons[kind] = reasons.get(kind, 0) + 1
            done += 1
            progress(done, total)

        for name, payload in src.items():
            if isinstance(payload, bytes) and not payload:
                pending.append((name, pool.submit(_fail, "unreadable archive member")))
            else:
                pending.append((name, pool.submit(work, payload)))
            while len(pending) >= 4 * DECODE_WORKERS:
                drain_one()
        while pending:
            drain_one()
    labels = src.labels_for(names) if names else {}
    return {"labels": labels, "factors": {}, "skipped": len(skipped), "skipped_files": skipped, "names": names,
            "skip_reasons": reasons}


def _fail(reason: str):
    raise BadImage(reason)


def _load(stem: Path, key: str) -> dict | None:
    """The complete cache at `stem`, or None when it is missing, foreign or damaged."""
    try:
        meta = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        if meta.get("format") != CACHE_FORMAT or meta.get("key") != key:
            return None
        images = np.load(stem.with_suffix(".npy"), mmap_mode="r", allow_pickle=False)
        size = meta["image_size"]
        if images.dtype != np.uint8 or images.shape != (meta["count"], size, size, 3):
            return None
        labels, factors = {}, {}
        with np.load(stem.with_suffix(".labels.npz"), allow_pickle=False) as z:
            for name in meta["labels"]:
                labels[name] = z[f"label.{name}"]
            for name in meta["factors"]:
                factors[name] = z[f"factor.{name}"]
        if any(len(v) != meta["count"] for v in (*labels.values(), *factors.values())):
            return None
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None
    return {"images": images, "labels": labels, "factors": factors, "meta": meta}


def open_source(spec: str, image_size: int, *, crop: str = "auto", arch: str = "dcgan",
                synthetic_count: int = 20000, holdout: int = 64, cache_dir: str | os.PathLike | None = None,
                progress: Progress | None = None, align: bool = False) -> ImageSet:
    """Open a data source through the cache, decoding it first when no complete cache matches.

    align: find each photo's face and align it to the data set's crop convention (celeba, or lfw for
    lfw:) instead of cropping; photos without a face are skipped and counted. Ignored for synthetic."""
    image_size = int(image_size)
    if image_size < 8:
        raise UserError(f"image size must be at least 8 (got {image_size})")
    if crop != "auto" and crop not in CROPS:
        raise UserError(f"data.crop must be auto, {', '.join(CROPS)} (got {crop!r})")
    src = parse_spec(spec, synthetic_count)
    crop = "none" if src.kind == "synthetic" else resolve_crop(crop, src.dataset, arch)
    conv = _align_convention(src, crop) if align and src.kind != "synthetic" else None
    key = {"format": CACHE_FORMAT, "source": src.identity(), "size": image_size, "crop": crop,
           "render": synthetic.RENDER_VERSION if src.kind == "synthetic" else 0}
    if src.style == "photo":
        from latentlab.data.synthetic_photo import PHOTO_VERSION

        key["photo"] = PHOTO_VERSION
    if conv is not None:
        from latentlab.data.align import ALIGN_VERSION

        key["align"] = [conv.name, conv.crop, ALIGN_VERSION]
    key_text = json.dumps(key)
    key = hashlib.sha256(key_text.encode()).hexdigest()[:24]
    folder = Path(cache_dir) if cache_dir else default_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cache folder {folder}: cannot create it ({exc.strerror or exc})") from None
    label = src.dataset or (src.spec if src.kind == "synthetic" else src.kind)
    stem = folder / f"{label}-{image_size}px-{crop}{'-aligned' if conv else ''}-{key}"

    cached = _load(stem, key)
    if cached is None:
        _build(src, stem, key, image_size, crop, progress, conv)
        cached = _load(stem, key)
        if cached is None:
            raise UserError(f"cache folder {folder}: the cache just written cannot be read back")
    meta = cached["meta"]
    n = meta["count"]
    return ImageSet(images=cached["images"], labels=cached["labels"], skipped=meta["skipped"], fingerprint=key,
                    spec=str(spec), holdout=max(0, min(int(holdout), n // 2)), image_size=image_size, crop=crop,
                    cache_path=stem.with_suffix(".npy"), factors=cached["factors"],
                    skipped_files=list(meta.get("skipped_files", [])), skip_reasons=dict(meta.get("skip_reasons", {})))


def _align_convention(src: Source, crop: str):
    from latentlab.data.align import convention

    name = "lfw" if src.dataset == "lfw" else "celeba"
    return convention(name, crop if crop in ("center", "celeba148", "lfw150") else None)


def _build(src: Source, stem: Path, key: str, size: int, crop: str, progress: Progress | None,
           conv=None) -> None:
    where = ("synthetic photographic faces" if src.style == "photo" else "synthetic faces") if src.kind == "synthetic" \
        else str(src.path)
    if progress is None:
        progress = _TtyBar(f"decoding {where}") if sys.stderr.isatty() else (lambda done, total: None)
    progress = _throttled(progress)
    sweep_dead_builds(stem.parent)
    try:
        stem.with_suffix(".json").unlink(missing_ok=True)  # invalidate first: the .npy is replaced below
    except OSError:
        pass
    try:
        _write_cache(src, stem, key, size, crop, progress, where, conv)
    except OSError as exc:  # sources are read per file and never raise here: this is the cache folder
        raise UserError(f"cache folder {stem.parent}: cannot write the cache ({exc.strerror or exc})") from None


def _write_cache(src: Source, stem: Path, key: str, size: int, crop: str, progress: Progress, where: str,
                 conv=None) -> None:
    writer = _NpyWriter(stem.with_suffix(".npy"), (size, size, 3))
    try:
        if src.kind == "synthetic":
            result = _build_synthetic(src, size, writer, progress)
        else:
            result = _build_files(src, size, crop, writer, progress, conv)
        if writer.count == 0:
            raise UserError(f"data source {where}: no readable images ({result['skipped']} files skipped)")
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    arrays = {f"label.{k}": v for k, v in result["labels"].items()}
    arrays.update({f"factor.{k}": v for k, v in result["factors"].items()})

    def write_labels(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: given a name, np.savez would append ".npz" to it
            np.savez(f, **arrays)

    write_with(stem.with_suffix(".labels.npz"), write_labels, suffix=_build_suffix())
    meta = {"format": CACHE_FORMAT, "key": key, "spec": src.spec, "source": where, "count": writer.count,
            "image_size": size, "crop": crop, "aligned": conv.name if conv else None, "skipped": result["skipped"],
            "skipped_files": result["skipped_files"][:50], "skip_reasons": result.get("skip_reasons", {}),
            "labels": sorted(result["labels"]),
            "factors": list(result["factors"]), "created": time.time()}
    write_with(stem.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8"),
               suffix=_build_suffix())

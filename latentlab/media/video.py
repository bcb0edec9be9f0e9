"""Frames to files: H.264 MP4, VP9 WebM, looping GIF, PNG sequence.

Every writer writes to a temporary name in the destination folder and renames it into place only
when closed after the last frame; an exception, a KeyboardInterrupt or abort() removes it, so a
failed or cancelled export never leaves a partial file. `write_walk` renders a latent walk
straight into one of them (the CLI's `latentlab walk` and the app's Record panel).
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from latentlab.atomic import AtomicFile, make_temp_dir, named
from latentlab.bounds import MAX_GRID_CELLS, MAX_KEYFRAMES, MAX_SIDE, MAX_WALK_FRAMES
from latentlab.config import UserError
from latentlab.media.pipeline import PIPELINE_DEPTH, pipeline
from latentlab.media.x264 import WALK_CRF, WALK_PRESET

FILE_KINDS = {".mp4": "mp4", ".webm": "webm", ".gif": "gif"}
ENCODERS = {"mp4": "libx264", "webm": "libvpx-vp9", "gif": "gif"}
GIF_MAX_FPS = 50  # GIF delays are whole 1/100 s; browsers stretch delays under 2/100 s to 1/10 s
# Colour tags written with H.264/VP9 (AVColorSpace/AVColorPrimaries/AVColorTransferCharacteristic
# numbers): BT.601 matrix with limited range (what both our converter and swscale's default use),
# sRGB/BT.709 primaries and transfer, so players convert back to the RGB we rendered.
_MATRIX_SMPTE170M, _PRIMARIES_BT709, _TRC_BT709, _RANGE_MPEG = 6, 1, 1, 1


def output_kind(path: str | os.PathLike) -> str:
    """'mp4', 'webm', 'gif', or 'png' (a folder: trailing slash, an existing folder, or no suffix)."""
    text = os.fspath(path)
    p = Path(text)
    suffix = p.suffix.lower()
    if text.endswith(("/", os.sep)):
        return "png"
    if p.is_dir():
        if suffix in FILE_KINDS:  # "walk.mp4" asks for a file, even where a folder has that name
            raise UserError(f"{text}: is a folder; name a file to write the {suffix} to, or add a / for PNG frames")
        return "png"
    if suffix in FILE_KINDS:
        return FILE_KINDS[suffix]
    if suffix == "":
        return "png"
    raise UserError(f"{text}: unknown video type {suffix!r}; use .mp4, .webm, .gif or a folder/ for PNG frames")


def have_encoder(name: str) -> bool:
    import av

    try:
        av.Codec(name, "w")
    except Exception:  # noqa: BLE001 - PyAV raises its own error types for unknown codecs
        return False
    return True


def check_output(path: str | os.PathLike, fps: float = 30) -> str:
    """Everything that can be checked before rendering: the type, the encoder, the fps for the type,
    and that the destination folder exists and is writable. Returns the kind; UserError otherwise."""
    kind = output_kind(path)
    p = Path(os.fspath(path))
    if not (0 < fps <= 1000):  # also false for NaN
        raise UserError(f"fps must be between 0 and 1000 (got {fps})")
    if kind == "gif" and fps > GIF_MAX_FPS:
        raise UserError(f"{p}: GIF frame delays are in 1/100 s and browsers slow down anything faster than "
                        f"{GIF_MAX_FPS} fps (got {fps}); use a lower fps or .mp4/.webm")
    if kind in ENCODERS and not have_encoder(ENCODERS[kind]):
        raise UserError(f"{p}: this PyAV build has no {ENCODERS[kind]} encoder for .{kind}; "
                        f"use .mp4, .gif or a PNG folder")
    parent = p.parent if kind != "png" or not p.is_dir() else p
    if not parent.is_dir():
        raise UserError(f"{p}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{p}: folder {parent} is not writable")
    if kind != "png":
        try:  # permission bits do not tell (root, /proc): a temporary file there does
            AtomicFile(p, suffix=".part").discard()
        except OSError as exc:
            raise UserError(f"{p}: cannot write there ({exc.strerror or exc})") from None
    if kind == "png" and p.exists() and not p.is_dir():
        raise UserError(f"{p}: a file, not a folder; name a new or empty folder for the PNG frames")
    if kind == "png" and p.is_dir() and any(p.glob("frame-*.png")):
        raise UserError(f"{p}: already holds frame-*.png files; pick an empty or new folder")
    return kind


class FrameWriter:
    """Base: frames in, a file (or folder) out. Use as a context manager, or call close()/abort().

    write(frames): uint8 RGB (N, H, W, 3) or (H, W, 3) at the writer's size (MP4/WebM pad an odd
    size to even by repeating the last row/column, so .width/.height may exceed the size asked for).
    write_yuv420(planes): only where accepts_yuv420; uint8 (N, H·3/2, W) I420 planes, BT.601 limited
    range, at exactly .width × .height: skips the RGB→YUV conversion of the encoder's scaler.
    """

    accepts_yuv420 = False

    def __init__(self, path: Path, fps: float, width: int, height: int):
        self.path, self.fps, self.width, self.height = path, fps, width, height
        self.frames = 0
        self._closed = False

    def _named(self, exc: OSError) -> OSError:
        """A write error naming the destination the user gave, not the hidden temporary file."""
        if isinstance(exc, BrokenPipeError):
            return exc
        if exc.errno is None:
            return OSError(errno.EIO, str(exc) or type(exc).__name__, str(self.path))
        return named(exc, self.path)

    def _check_rgb(self, frames) -> np.ndarray:
        arr = np.asarray(frames)
        if arr.ndim == 3:
            arr = arr[None]
        w, h = self._rgb_size
        if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[1:] != (h, w, 3):
            raise ValueError(f"frames must be uint8 (N, {h}, {w}, 3), got {arr.dtype} {arr.shape}")
        return arr

    @property
    def _rgb_size(self) -> tuple[int, int]:
        return self.width, self.height

    def write(self, frames) -> None:
        raise NotImplementedError

    def write_yuv420(self, planes) -> None:
        raise NotImplementedError(f"{type(self).__name__} takes RGB frames")

    def close(self) -> Path:
        """Finish the file and put it in place; on any failure the partial output is thrown away."""
        if self._closed:
            return self.path
        try:
            self._finish()
        except OSError as exc:
            self.abort()
            raise self._named(exc) from None
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Throw the partial output away (the destination is left as it was)."""
        if self._closed:
            return
        self._closed = True
        self._discard()

    def _finish(self) -> None:
        raise NotImplementedError

    def _discard(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


class AVWriter(FrameWriter):
    """MP4 (libx264), WebM (libvpx-vp9) and GIF (PyAV's gif encoder, one palette per frame)."""

    def __init__(self, path: Path, kind: str, fps: float, width: int, height: int, *, crf: int | None = None,
                 preset: str = WALK_PRESET, threads: int = 0):
        import av

        self.kind = kind
        self._asked = (width, height)
        if kind in ("mp4", "webm"):  # 4:2:0 chroma needs even sides
            width, height = width + width % 2, height + height % 2
        super().__init__(path, fps, width, height)
        self.accepts_yuv420 = kind in ("mp4", "webm")
        self._file = AtomicFile(path, suffix=".part")
        tmp = str(self._file.tmp)
        try:
            rate = Fraction(fps).limit_denominator(1001)
            options = {"movflags": "+faststart"} if kind == "mp4" else {}
            self._container = av.open(tmp, "w", format=kind, options=options)
            if kind == "gif":
                # GIF delays are centiseconds: frame i is shown at round(100·i/fps) cs, so any fps
                # keeps its average rate exactly even when single delays alternate (30 fps: 3,3,4 cs).
                self._stream = self._container.add_stream("gif", rate=rate)
                self._stream.pix_fmt = "pal8"
                self._stream.codec_context.time_base = Fraction(1, 100)
            else:
                self._stream = self._container.add_stream(ENCODERS[kind], rate=rate)
                self._stream.pix_fmt = "yuv420p"
                cc = self._stream.codec_context
                cc.colorspace, cc.color_range = _MATRIX_SMPTE170M, _RANGE_MPEG
                cc.color_primaries, cc.color_trc = _PRIMARIES_BT709, _TRC_BT709
                cc.thread_count = threads
                if kind == "mp4":
                    self._stream.options = {"crf": str(WALK_CRF if crf is None else crf), "preset": preset}
                else:  # constant quality; realtime/cpu-used 8 keeps VP9 within a few times H.264's time
                    self._stream.options = {"crf": str(30 if crf is None else crf), "b": "0",
                                            "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
            self._stream.width, self._stream.height = width, height
            self._rate = rate
        except BaseException:
            self._file.discard()
            raise

    @property
    def _rgb_size(self) -> tuple[int, int]:
        return self._asked

    def _emit(self, frame) -> None:
        if self.kind == "gif":
            frame.pts = round(self.frames * 100 / self._rate)
        else:
            frame.pts = self.frames
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except OSError as exc:
            raise self._named(exc) from None
        self.frames += 1

    def write(self, frames) -> None:
        import av

        arr = self._check_rgb(frames)
        w, h = self._asked
        if (w, h) != (self.width, self.height):
            arr = np.pad(arr, ((0, 0), (0, self.height - h), (0, self.width - w), (0, 0)), mode="edge")
        for img in arr:
            if self.kind == "gif":
                self._emit(av.VideoFrame.from_ndarray(_palettize(img), format="pal8"))
            else:
                self._emit(av.VideoFrame.from_ndarray(img, format="rgb24"))

    def write_yuv420(self, planes) -> None:
        import av

        arr = np.asarray(planes)
        if arr.ndim == 2:
            arr = arr[None]
        if not self.accepts_yuv420 or arr.dtype != np.uint8 or arr.shape[1:] != (self.height * 3 // 2, self.width):
            raise ValueError(f"I420 planes must be uint8 (N, {self.height * 3 // 2}, {self.width}), got "
                             f"{arr.dtype} {arr.shape}")
        for plane in arr:
            frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
            frame.colorspace, frame.color_range = 5, _RANGE_MPEG  # swscale's BT.601 (SWS_CS_SMPTE170M)
            self._emit(frame)

    def _finish(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._file.commit()

    def _discard(self) -> None:
        try:
            self._container.close()
        except Exception:  # noqa: BLE001, S110 - the file is being thrown away; a half-written trailer may not close
            pass
        self._file.discard()


def _palettize(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An adaptive 256-colour palette per frame: octree colours of a strided thumbnail (at most about
    64×64 px: an upscaled frame has no colours its thumbnail lacks), then every pixel mapped to its
    nearest palette entry. ~10 ms for 256² where median cut on the whole frame takes ~0.5 s, with
    a smaller error than octree's own mapping."""
    from PIL import Image

    step = max(1, max(img.shape[:2]) // 64)
    thumb = Image.fromarray(np.ascontiguousarray(img[::step, ::step]))
    palette = thumb.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    p = Image.fromarray(img).quantize(palette=palette, dither=Image.Dither.NONE)
    pal = np.zeros((256, 4), np.uint8)
    rgb = np.asarray(p.getpalette(), np.uint8).reshape(-1, 3)[:256]
    pal[: len(rgb), 1:] = rgb
    pal[:, 0] = 255  # ARGB, opaque
    return np.asarray(p), pal


class PNGWriter(FrameWriter):
    """frame-00000.png, frame-00001.png, … written into a temporary folder beside the destination,
    which is renamed into place (or, for an existing empty folder, emptied into it) on close."""

    def __init__(self, path: Path, fps: float, width: int, height: int, compress_level: int = 1):
        super().__init__(path, fps, width, height)
        self.kind = "png"
        self._level = compress_level
        self._tmp = make_temp_dir(path, suffix=".part")

    def write(self, frames) -> None:
        from PIL import Image

        for img in self._check_rgb(frames):
            try:
                Image.fromarray(img).save(self._tmp / f"frame-{self.frames:05d}.png", compress_level=self._level)
            except OSError as exc:
                raise self._named(exc) from None
            self.frames += 1

    def _finish(self) -> None:
        if self.path.is_dir():
            for f in sorted(self._tmp.iterdir()):
                os.replace(f, self.path / f.name)
            self._tmp.rmdir()
        else:
            os.replace(self._tmp, self.path)

    def _discard(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


def open_writer(path: str | os.PathLike, fps: float, size: int | tuple[int, int], *, crf: int | None = None,
                preset: str = WALK_PRESET, threads: int = 0) -> FrameWriter:
    """A writer chosen by the destination: .mp4 (H.264, crf 16, `preset`), .webm (VP9), .gif, or a
    folder (trailing slash, existing folder or no suffix) of PNG frames. size: px or (width, height).
    Raises UserError (before creating anything) for an unknown type, a missing encoder, a missing
    or unwritable folder, or a bad size/fps."""
    kind = check_output(path, fps)
    width, height = (size, size) if isinstance(size, (int, np.integer)) else size
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise UserError(f"frame size {width}x{height} is out of range (1 to {MAX_SIDE} px a side)")
    p = Path(os.fspath(path))
    if kind == "png":
        return PNGWriter(p, fps, int(width), int(height))
    return AVWriter(p, kind, fps, int(width), int(height), crf=crf, preset=preset, threads=threads)


# -- latent-walk export ------------------------------------------------------------------------------
@dataclass
class WalkResult:
    frames: int  # frames written (those done before a cancel, when cancelled)
    path: Path | None  # None when cancelled
    cancelled: bool = False
    width: int = 0
    height: int = 0
    fps: float = 0.0
    seconds: float = 0.0


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def check_walk_size(n_keyframes: int | None, grid, frames: int | None = None, loop: bool = False) -> tuple[int, int]:
    """Bounds on a walk's size, checked before a checkpoint is even loaded; returns (rows, cols).
    With `frames` (per segment) the whole walk's frame count is bounded too."""
    from latentlab.latent import parse_grid, walk_length

    rows, cols = parse_grid(grid)
    if rows * cols > MAX_GRID_CELLS:
        raise UserError(f"grid {rows}x{cols}: at most {MAX_GRID_CELLS} walks in one frame (e.g. 8x8)")
    if n_keyframes is not None and int(n_keyframes) > MAX_KEYFRAMES:
        raise UserError(f"{n_keyframes} keyframes: at most {MAX_KEYFRAMES} in one walk")
    if n_keyframes is not None and frames is not None:
        total = walk_length(int(n_keyframes), int(frames), loop)
        if total > MAX_WALK_FRAMES:
            raise UserError(f"--frames {frames}: {n_keyframes} keyframes at {frames} frames a segment make {total} "
                            f"frames; at most {MAX_WALK_FRAMES} in one walk")
    return rows, cols


def write_walk(renderer, out, *, keyframes=None, n_keyframes: int = 4, seeds=None, latents_file=None,
               frames: int = 30, fps: float = 30, interp: str = "slerp", ease: str = "linear", loop: bool = False,
               size: int | None = None, upscale: str = "nearest", grid=(1, 1), truncation: float = 1.0,
               seed: int = 0, progress: Callable[[int, int], None] | None = None,
               cancel: Callable[[], bool] | None = None, batch: int = 32, crf: int | None = None,
               preset: str = WALK_PRESET) -> WalkResult:
    """Render a latent walk with `renderer` (a latentlab.inference.render.Renderer) into `out` (.mp4, .webm,
    .gif or a folder of PNGs).

    Keyframes come from exactly one of: `keyframes` ((K, nz), or (R·C, K, nz) for a grid), `seeds`
    (list or "1,2,3"; keyframe = seed_latent(seed)), `latents_file` (a bookmarks JSON file, see
    latentlab.latent.bookmarks), or else `n_keyframes` random ones (grid_keyframes(R, C, K, nz, seed)).
    `frames` is frames per segment; the video has walk_length(K, frames, loop) frames. `size` is each
    cell's side in px (default the model's), `grid` (R, C) or "RxC" tiles R·C independent walks with
    2 px black gaps; `truncation` ψ rescales every frame's latent.

    Every check (options, output type and folder, keyframe source, memory) happens before anything
    is rendered or created; mistakes raise UserError. Batches are rendered and colour-converted on
    a second thread while this one encodes (`pipeline`). progress(done, total) follows each batch;
    cancel() returning True stops the export, removes the partial output and returns a result with
    cancelled=True. Any exception (KeyboardInterrupt included) also removes the partial output.
    """
    from latentlab.inference.render import UPSCALE_METHODS, frames_rgb, frames_yuv420
    from latentlab.latent import EASINGS, INTERPOLATIONS, truncate, walk_keyframes, walk_length, walk_slice

    start_time = time.perf_counter()
    if int(frames) != frames or frames < 1:
        raise UserError(f"frames per segment must be a whole number of at least 1 (got {frames})")
    if interp not in INTERPOLATIONS:
        raise UserError(f"unknown interpolation {interp!r}: use slerp or lerp")
    if ease not in EASINGS:
        raise UserError(f"unknown easing {ease!r}: use {', '.join(EASINGS)}")
    if upscale not in UPSCALE_METHODS:
        raise UserError(f"unknown upscale method {upscale!r}: use nearest or bicubic")
    truncate(np.zeros(1, np.float32), truncation)  # validates ψ
    rows, cols = check_walk_size(n_keyframes if keyframes is None and seeds is None and latents_file is None
                                 else None, grid)
    cells = rows * cols
    s = renderer.image_size
    cell = int(size) if size is not None else s
    if cell < 1 or cell > MAX_SIDE:
        raise UserError(f"size must be between 1 and {MAX_SIDE} px (got {size})")
    pad = 2 if cells > 1 else 0
    height, width = rows * cell + (rows - 1) * pad, cols * cell + (cols - 1) * pad
    if max(height, width) > MAX_SIDE:
        raise UserError(f"a {rows}x{cols} grid of {cell} px cells is {width}x{height} px; the limit is "
                        f"{MAX_SIDE} px a side")
    check_output(out, fps)
    # One frame's working memory: G output and its intermediates for every cell, the upscaled cells
    # (float for bicubic), the tiled frame and the encoder's copy.
    per_frame = cells * (3 * s * s * 4 * 4 + cell * cell * 3 * (4 if upscale == "bicubic" else 1)) + 3 * height * width * 3
    budget = _available_bytes() // 2
    if per_frame > budget:
        raise UserError(f"a {rows}x{cols} grid at {cell} px needs about {per_frame / 2**30:.1f} GiB per frame, "
                        f"more than the {budget / 2**30:.1f} GiB this machine can spare; use a smaller grid or size")
    kf = walk_keyframes(renderer.latent_dim, keyframes=keyframes, n_keyframes=n_keyframes, seeds=seeds,
                        latents_file=latents_file, cells=cells, seed=seed)
    n = int(frames)
    check_walk_size(kf.shape[1], (rows, cols), n, loop)
    total = walk_length(kf.shape[1], n, loop)
    step = max(1, min(int(batch), budget // (per_frame * (PIPELINE_DEPTH + 2))))  # + one made, one written
    path = Path(os.fspath(out))
    path_kf = kf.transpose(1, 0, 2)  # (K, cells, nz): walk_slice walks every cell at once

    writer = open_writer(path, fps, (width, height), crf=crf, preset=preset)
    fast_yuv = (writer.accepts_yuv420 and upscale == "nearest" and cell % s == 0 and cell % 2 == 0
                and (writer.width, writer.height) == (width, height))

    def batches():
        for begin in range(0, total, step):
            stop = min(begin + step, total)
            z = walk_slice(path_kf, n, interp, ease, loop, begin, stop).reshape(-1, renderer.latent_dim)
            x = renderer.generate(truncate(z, truncation))
            yield stop, (frames_yuv420(x, rows, cols, cell, pad) if fast_yuv else
                         frames_rgb(x, rows, cols, cell, upscale, pad))

    done = 0

    def write(item) -> None:
        nonlocal done
        done, frames_out = item
        (writer.write_yuv420 if fast_yuv else writer.write)(frames_out)
        if progress is not None:
            progress(done, total)

    with writer:
        if not pipeline(batches(), write, cancel=cancel):
            writer.abort()
            return WalkResult(done, None, True, width, height, fps, time.perf_counter() - start_time)
    return WalkResult(done, path, False, writer.width, writer.height, fps, time.perf_counter() - start_time)

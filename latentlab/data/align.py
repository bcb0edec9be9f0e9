"""Face alignment: a photo's face resampled once into the crop convention of a model's training data.

A convention is where the eyes sit in the training images: CelebA's aligned frames (178×218, then
the model's crop), LFW deep-funneled frames (250×250, then the 2015 150 px crop), or the synthetic
faces' whole-head framing. The similarity transform (rotation, uniform scale, translation) from the
detected eye centres to the convention's eye points is the least-squares solution of Umeyama,
"Least-squares estimation of transformation parameters between two point patterns" (1991). Without
eyes, the face box alone gives the transform (no rotation). Coordinates are continuous pixels:
pixel i spans [i, i + 1], so points scale exactly with the picture.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from latentlab.config import UserError
from latentlab.data.decode import MIN_SIDE, BadImage, _to_rgb, crop_box, resolve_crop
from latentlab.data.faces import BOX_EYES, Face, detect_faces

CONVENTIONS = ("celeba", "lfw", "synthetic")
# Eye centres in the published frames, about the means of the data sets' own layouts: CelebA's
# aligned images (Liu et al. 2015) put the eyes near (69, 111) and (108, 111) of 178×218; LFW's
# frames are the Viola-Jones face box enlarged 2.2× (Huang et al. 2007), which puts them near
# (104, 112) and (146, 112) of 250×250.
_FRAMES = {"celeba": ((178, 218), ((69.0, 111.0), (108.0, 111.0))),
           "lfw": ((250, 250), ((104.0, 112.0), (146.0, 112.0)))}
DEFAULT_CROP = {"celeba": "center", "lfw": "lfw150", "synthetic": "none"}
# Larger photos are refused from their header, before any pixel is decoded.
MAX_PIXELS = 64_000_000
# Photos are decoded to at most about this long side (JPEG decodes at 1/2, 1/4, 1/8 for free): a
# face the detector can find keeps far more pixels than a 64-128 px model needs.
WORK_SIDE = 2048


@dataclass(frozen=True)
class Convention:
    name: str
    crop: str
    eyes: tuple[tuple[float, float], tuple[float, float]]  # fractions of the output square, left, right

    def points(self, size: int) -> np.ndarray:
        """The eye points at `size` px: float (2, 2), rows (x, y)."""
        return np.asarray(self.eyes, np.float64) * size


def convention(name: str, crop: str | None = None) -> Convention:
    """The convention `name` (celeba | lfw | synthetic) seen through `crop` (default: its usual one)."""
    if name not in CONVENTIONS:
        raise UserError(f"crop convention must be one of {', '.join(CONVENTIONS)} (got {name!r})")
    if name == "synthetic":
        from latentlab.data.synthetic import mean_eye_centres

        return Convention(name, "none", tuple(map(tuple, mean_eye_centres())))  # type: ignore[arg-type]
    crop = crop or DEFAULT_CROP[name]
    (w, h), eyes = _FRAMES[name]
    x0, y0, x1, y1 = crop_box(w, h, crop)
    if abs((x1 - x0) - (y1 - y0)) > 1:
        raise UserError(f"crop {crop!r} of {name} frames is not square; use center, celeba148 or lfw150")
    pts = tuple(((ex - x0) / (x1 - x0), (ey - y0) / (y1 - y0)) for ex, ey in eyes)
    return Convention(name, crop, pts)  # type: ignore[arg-type]


def convention_for(cfg) -> Convention:
    """The convention of a model's training data (a latentlab Config)."""
    from latentlab.data.sources import is_synthetic

    source = cfg.data.source.strip()
    kind = source.split(":", 1)[0]
    if is_synthetic(source):
        return convention("synthetic")
    dataset = kind if kind in ("celeba", "lfw") else ""
    crop = resolve_crop(cfg.data.crop, dataset, cfg.model.arch)
    name = "lfw" if dataset == "lfw" else "celeba"  # a folder of faces: most are CelebA-like
    return convention(name, crop if crop in ("center", "celeba148", "lfw150") else None)


# -- geometry -------------------------------------------------------------------------------------
def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2×3 matrix M = [sR | t] minimising Σ‖sR·src_i + t − dst_i‖² (Umeyama 1991)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError("need two or more matching 2-D points")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    sc, dc = src - mu_s, dst - mu_d
    var_s = (sc ** 2).sum() / len(src)
    if var_s <= 1e-12:
        raise ValueError("the source points coincide")
    u, sig, vt = np.linalg.svd(dc.T @ sc / len(src))
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection: flip the weakest axis back
        d[-1] = -1
    r = u @ np.diag(d) @ vt
    scale = float((sig * d).sum() / var_s)
    t = mu_d - scale * r @ mu_s
    return np.hstack([scale * r, t[:, None]])


def apply(matrix: np.ndarray, points) -> np.ndarray:
    p = np.asarray(points, np.float64)
    return p @ matrix[:, :2].T + matrix[:, 2]


def box_eyes(box, angle: float = 0.0) -> np.ndarray:
    """Eye centres estimated from a face box; `angle`: the tilt of the copy the box was found in
    (the box's square is then turned back by it about its centre)."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    offsets = np.array([((fx - 0.5) * w, (fy - 0.5) * h) for fx, fy in BOX_EYES], np.float64)
    a = np.deg2rad(angle)
    # The copy was the picture turned counter-clockwise by `angle` (y down): turn the offsets back.
    back = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return offsets @ back.T + (cx, cy)


@dataclass
class Aligned:
    image: np.ndarray  # uint8 (S, S, 3)
    matrix: np.ndarray  # 2×3, photo pixels -> aligned pixels
    eyes: np.ndarray  # (2, 2) the photo points the transform was fitted to
    from_box: bool  # True: eyes estimated from the box (no eye pair was found)


def warp(photo: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """One resampling of `photo` through `matrix` into (size, size, 3), border replicated; the
    photo is low-passed first in proportion to the shrink, so a large face does not alias."""
    import cv2

    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    src = np.ascontiguousarray(photo)
    if scale < 0.5:
        sigma = 0.45 / scale  # about half the output pixel, in photo pixels
        # Blur only the part of the photo that the output window sees (plus the kernel's reach).
        inv = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
        corners = apply(inv, [(0, 0), (size, 0), (0, size), (size, size)])
        pad = int(3 * sigma) + 2
        x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - pad, 0)
        x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + pad, (src.shape[1], src.shape[0]))
        if x1 > x0 and y1 > y0:
            part = cv2.GaussianBlur(src[y0:y1, x0:x1], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
            src = part
            matrix = matrix.copy()
            matrix[:, 2] += matrix[:, :2] @ np.array([x0, y0], np.float64)
    # OpenCV samples at integer pixel centres: conjugate by the half-pixel shift.
    m = matrix.copy()
    m[:, 2] += m[:, :2] @ np.array([0.5, 0.5]) - 0.5
    return cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def align_face(photo: np.ndarray, face: Face | tuple, conv: Convention, size: int) -> Aligned:
    """The face (a detected Face, or a box (x, y, w, h) in photo pixels) aligned into `conv` at
    `size` px."""
    if isinstance(face, Face) and face.has_eyes:
        eyes, from_box = np.array([face.left_eye, face.right_eye], np.float64), False
    else:
        box = face.box if isinstance(face, Face) else tuple(float(v) for v in face)
        eyes, from_box = box_eyes(box, face.angle if isinstance(face, Face) else 0.0), True
    matrix = similarity_transform(eyes, conv.points(size))
    return Aligned(warp(photo, matrix, int(size)), matrix, eyes, from_box)


NO_FACE = "no face found; draw a box around the face (or pass --box X,Y,W,H in photo pixels)"


def align_photo(photo: np.ndarray, conv: Convention, size: int, *, box=None, index: int = 0,
                faces: list[Face] | None = None) -> tuple[Aligned, list[Face]]:
    """Detect (unless `box` is given) and align face `index` (the surest first). UserError NO_FACE
    when the detector finds none. `faces`: a detection already made for this photo."""
    if box is not None:
        x, y, w, h = (float(v) for v in box)
        if w < 2 or h < 2:
            raise UserError(f"the face box {w:g}×{h:g} px is too small")
        # A box the user drew may still contain eyes the cascades can find: use them when inside.
        inner = [f for f in detect_faces(_crop(photo, (x, y, w, h)), min_face=0.5)] if w >= 24 else []
        if inner and inner[0].has_eyes:
            f = inner[0]
            face = Face((x, y, w, h), (f.left_eye[0] + int(x), f.left_eye[1] + int(y)),
                        (f.right_eye[0] + int(x), f.right_eye[1] + int(y)), f.score)
        else:
            face = Face((x, y, w, h))
        return align_face(photo, face, conv, size), faces or []
    faces = detect_faces(photo) if faces is None else faces
    if not faces:
        raise UserError(NO_FACE)
    if not 0 <= index < len(faces):
        raise UserError(f"face {index + 1} asked for, {len(faces)} found")
    return align_face(photo, faces[index], conv, size), faces


def _crop(photo: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    x0, y0 = max(0, int(x)), max(0, int(y))
    return photo[y0:max(y0 + 1, int(y + h)), x0:max(x0 + 1, int(x + w))]


# -- reading photos -------------------------------------------------------------------------------
@dataclass
class Photo:
    pixels: np.ndarray  # uint8 (H, W, 3), upright, possibly decoded smaller than the file
    size: tuple[int, int]  # (width, height) of the upright file, in its own pixels

    @property
    def scale(self) -> float:
        """Decoded pixels per file pixel (≤ 1)."""
        return self.pixels.shape[1] / self.size[0]


def read_photo(path: str | os.PathLike, max_side: int = WORK_SIDE) -> Photo:
    """A photo as upright RGB (EXIF rotation applied); UserError naming the file when it is not an
    image, too small, or too large (refused from the header alone, before decoding)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        return _decode_upright(path, max_side)
    except BadImage as exc:
        raise UserError(f"{path}: {exc}") from None


def _decode_upright(source, max_side: int) -> Photo:
    """A path or the bytes of a file -> Photo; BadImage says why not."""
    import io

    try:
        with Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source) as im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise BadImage(f"too large ({w}×{h} px; at most {MAX_PIXELS // 1_000_000} megapixels)")
            if min(w, h) < MIN_SIDE:
                raise BadImage(f"too small ({w}×{h} px) to hold a face")
            turned = im.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # EXIF orientations that swap the sides
            im.draft("RGB", (max_side, max_side))
            im.load()
            im = ImageOps.exif_transpose(im) or im
            rgb = _to_rgb(im, 255)
            if max(rgb.size) > max_side:
                f = max_side / max(rgb.size)
                rgb = rgb.resize((max(1, round(rgb.width * f)), max(1, round(rgb.height * f))), Image.BILINEAR,
                                 reducing_gap=2.0)
            pixels = np.asarray(rgb, np.uint8)
    except BadImage:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard, from the header too
        import re

        count = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(count.group(1)) / 1e6:.0f} megapixels; " if count else ""
        raise BadImage(f"too large ({size}over the decompression-bomb limit)") from None
    except Image.UnidentifiedImageError:
        raise BadImage("not an image") from None
    except MemoryError:
        raise BadImage("too large to decode") from None
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for broken files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadImage(f"cannot read image ({reason})") from None
    return Photo(pixels, (h, w) if turned else (w, h))


# Cache entries made with alignment are keyed by this too: a change to detection or alignment
# must not reuse faces aligned the old way.
ALIGN_VERSION = 1


def decode_aligned(source, size: int, conv: Convention) -> np.ndarray:
    """For the cache builder: a file (path or bytes) -> its surest face aligned, uint8 (size, size, 3).
    BadImage when unreadable or when no face is found (skipped and counted like unreadable files)."""
    photo = _decode_upright(source, max_side=max(8 * size, 512))
    faces = detect_faces(photo.pixels)
    if not faces:
        raise BadImage("no face found")
    return align_face(photo.pixels, faces[0], conv, size).image

"""Face detection and eye landmarks with the Haar cascades that ship inside opencv-python-headless.

Viola & Jones, "Rapid object detection using a boosted cascade of simple features" (2001), with
Lienhart & Maydt's extended feature set ("frontalface_alt2"). The cascade files live in the wheel
(`cv2.data.haarcascades`), so nothing is downloaded and detection runs on any CPU in milliseconds.

Boxes come from frontalface_alt2, with frontalface_default as a fallback when alt2 finds nothing.
Eye centres come from the eye cascades run inside the upper half of each face box, refined to the
darkest iris-sized blob of each eye box, since a Haar box centre alone wanders by a few pixels.
Faces tilted beyond what the frontal cascades accept (about ±15°) are found by also searching copies
of the picture rotated by ±12° and ±24°; their boxes and eyes are rotated back into the picture's pixels.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

# Long sides beyond this are searched on a downscaled copy: a face smaller than ~1/30 of a phone
# photo is not one a user wants to project, and the cascade's time grows with the pixel count.
DETECT_SIDE = 480
# Model outputs (32-64 px) are upscaled to this before detection: the cascades' smallest window is
# 20-24 px and needs a margin of context around the face.
SMALL_SIDE = 128
SMALL_PAD = 0.1  # of the upscaled side, replicated border: generated faces touch the frame
# Where the eyes sit in a frontal-cascade face box (fractions of the box): measured on the synthetic
# faces (0.31/0.69 across, 0.40 down, spread ±0.03), as on photographs.
BOX_EYES = ((0.31, 0.40), (0.69, 0.40))
MIN_EYE_STRENGTH = 2.0  # grey levels of iris-vs-surround contrast below which eyes are "not found"
PHOTO_STEP = 1.15  # window scale ratio in photos (eyes, not the box, fix the alignment); 1.1 in model outputs
TILTS = (0.0, 12.0, -12.0, 24.0, -24.0)  # the frontal cascades accept about ±8° each


@dataclass(frozen=True)
class Face:
    """One face in picture pixels: box (x, y, w, h); eye centres (x, y) as they appear left and right
    in the picture (None when the eye cascades found no plausible pair); score: cascade neighbours,
    higher is surer; angle: the tilt (degrees) of the copy it was found in."""

    box: tuple[float, float, float, float]
    left_eye: tuple[float, float] | None = None
    right_eye: tuple[float, float] | None = None
    score: float = 0.0
    angle: float = 0.0

    @property
    def has_eyes(self) -> bool:
        return self.left_eye is not None and self.right_eye is not None


_local = threading.local()


def _cascade(name: str):
    """One classifier per thread: a CascadeClassifier keeps scratch state while it searches, so two
    threads sharing one (the cache builder decodes in a pool) get each other's results."""
    import cv2

    held = _local.__dict__.setdefault("cascades", {})
    if name not in held:
        c = cv2.CascadeClassifier(cv2.data.haarcascades + f"haarcascade_{name}.xml")
        if c.empty():
            raise RuntimeError(f"OpenCV's {name} cascade is missing from the installed opencv package")
        held[name] = c
    return held[name]


def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 RGB array, got {a.dtype} {a.shape}")
    return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)


def _boxes(gray: np.ndarray, min_side: int, step: float = 1.1,
           fallback: bool = True) -> list[tuple[tuple[int, int, int, int], float]]:
    """(box, neighbours) from alt2, else (fallback) from the default cascade (which needs more
    neighbours: it fires more readily on texture). The neighbour counts keep pure noise at 0 of 256
    (docs/photos.md). step: the scale ratio between searched window sizes."""
    cascades = (("frontalface_alt2", 3), ("frontalface_default", 5))
    for name, neighbours in cascades[:2 if fallback else 1]:
        boxes, counts = _cascade(name).detectMultiScale2(
            gray, scaleFactor=step, minNeighbors=neighbours, minSize=(min_side, min_side))
        if len(boxes):
            return [(tuple(int(v) for v in b), float(n)) for b, n in zip(boxes, counts)]
    return []


def _eye_pair(gray: np.ndarray, box) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Eye centres (in `gray`'s pixels) inside the upper part of face `box`, or None."""
    import cv2

    x, y, w, h = box
    y0, y1 = y + int(0.15 * h), y + int(0.6 * h)
    x0, x1 = max(0, x), min(gray.shape[1], x + w)
    y0, y1 = max(0, y0), min(gray.shape[0], y1)
    roi = gray[y0:y1, x0:x1]
    if roi.size == 0:
        return None
    # The eye cascades are trained on eyes of ~20+ px; small faces are upscaled first.
    s = max(1.0, 160.0 / roi.shape[1])
    big = cv2.resize(roi, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC) if s > 1 else roi
    bw = big.shape[1]
    lo, hi = int(bw * 0.12), int(bw * 0.5)
    best = None
    for name in ("eye", "eye_tree_eyeglasses"):
        eyes = _cascade(name).detectMultiScale(big, scaleFactor=1.05, minNeighbors=2,
                                               minSize=(lo, lo), maxSize=(hi, hi))
        eyes = _drop_brows(list(eyes))
        left = [e for e in eyes if e[0] + e[2] / 2 < bw / 2]
        right = [e for e in eyes if e[0] + e[2] / 2 >= bw / 2]
        for a in left:
            for b in right:
                ca = (a[0] + a[2] / 2, a[1] + a[3] / 2)
                cb = (b[0] + b[2] / 2, b[1] + b[3] / 2)
                dist = cb[0] - ca[0]
                # A pair: level within a third of their distance, 25-75% of the face apart.
                if not (0.25 * bw <= dist <= 0.75 * bw) or abs(cb[1] - ca[1]) > dist / 3:
                    continue
                cost = abs(a[2] - b[2]) / max(a[2], b[2]) + abs(cb[1] - ca[1]) / dist
                if best is None or cost < best[0]:
                    best = (cost, a, b)
        if best is not None:
            break
    # Two starts: the eye cascades' pair (when there is one) and where a face box puts the eyes;
    # the one whose refined pupils are the stronger blobs wins. Weak blobs mean no visible eyes.
    starts = [np.array([(x + fx * w, y + fy * h) for fx, fy in BOX_EYES])]
    if best is not None:
        starts.insert(0, np.array([(x0 + cx / s, y0 + cy / s) for cx, cy in (_pupil(big, e) for e in best[1:])]))
    pair, strength = max((_refine(gray, p) for p in starts), key=lambda r: r[1])
    return pair if strength >= MIN_EYE_STRENGTH else None


def _drop_brows(boxes: list) -> list:
    """Eye-cascade hits with another hit straight below them are brows (or glasses' rims)."""
    keep = []
    for a in boxes:
        ax, ay = a[0] + a[2] / 2, a[1] + a[3] / 2
        if not any(b[1] + b[3] / 2 > ay + 0.3 * a[3] and abs(b[0] + b[2] / 2 - ax) < 0.5 * max(a[2], b[2])
                   for b in boxes if b is not a):
            keep.append(a)
    return keep


# The canonical eye frame the refinement looks in: eyes level, REFINE_GAP px apart.
REFINE_SIZE, REFINE_GAP = 96, 36.0


def _two_point(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The similarity (2×3) taking the two points src exactly onto dst."""
    s0, s1 = complex(*src[0]), complex(*src[1])
    d0, d1 = complex(*dst[0]), complex(*dst[1])
    a = (d1 - d0) / (s1 - s0)
    b = d0 - a * s0
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])


def _refine(gray: np.ndarray, pair: np.ndarray, rounds: int = 2) -> tuple[tuple, float]:
    """Look for each eye again in an upright, scale-normalised view around the current estimate
    (a tilted face's eye boxes are skewed; the normalised view is not): the strongest dark round
    blob of iris size (a Laplacian-of-Gaussian peak: dark iris between bright sclera) near where
    each eye is expected. A brow is long, not round, and gives a weaker peak. Returns the pair and
    the mean peak strength (grey levels) of the last look."""
    import cv2

    n, gap = REFINE_SIZE, REFINE_GAP
    canon = np.array([((n - gap) / 2, n * 0.5), ((n + gap) / 2, n * 0.5)])
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32)
    strength = 0.0
    for _ in range(rounds):
        if np.hypot(*(pair[1] - pair[0])) < 4:
            break
        m = _two_point(pair, canon)
        mc = m.copy()
        mc[:, 2] += mc[:, :2] @ np.array([0.5, 0.5]) - 0.5  # OpenCV samples at pixel centres
        view = cv2.warpAffine(gray, mc, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        sigma = 0.07 * gap  # an iris radius is about a tenth of the eye gap; LoG peaks at r/√2
        smooth = cv2.GaussianBlur(view.astype(np.float32), (0, 0), sigma)
        blob = cv2.Laplacian(smooth, cv2.CV_32F, ksize=3) * sigma ** 2
        found = []
        strength = 0.0
        for cx, cy in canon:
            # Where the eye may be: ±0.35 gap across, ±0.4 gap up and down; a mild pull to the middle.
            d2 = ((xs - cx) / (0.35 * gap)) ** 2 + ((ys - cy) / (0.4 * gap)) ** 2
            score = np.where(d2 <= 1, blob * (1 - 0.3 * d2), -np.inf)
            iy, ix = np.unravel_index(int(np.argmax(score)), score.shape)
            strength += float(blob[iy, ix]) / 2
            r = max(2, round(1.5 * sigma))
            win = (slice(max(0, iy - r), iy + r + 1), slice(max(0, ix - r), ix + r + 1))
            wgt = np.clip(blob[win], 0, None)
            total = float(wgt.sum())
            if total <= 0:
                found.append((ix + 0.5, iy + 0.5))
            else:
                found.append((float((xs[win] * wgt).sum()) / total + 0.5, float((ys[win] * wgt).sum()) / total + 0.5))
        found = np.array(found)
        if not 0.75 * gap < np.hypot(*(found[1] - found[0])) < 1.33 * gap:
            break
        inv = cv2.invertAffineTransform(m)
        pair = found @ inv[:, :2].T + inv[:, 2]
    return tuple(tuple(float(v) for v in p) for p in pair), strength


def _pupil(gray: np.ndarray, e) -> tuple[float, float]:
    """The iris and pupil inside eye box `e`: the darkest iris-sized blob, with a pull toward the
    box centre (so a brow, a lash line or hair at the box's edge does not win), refined to the
    centroid of the dark pixels around it."""
    import cv2

    x, y, w, h = (int(v) for v in e)
    patch = gray[y:y + h, x:x + w].astype(np.float32)
    if patch.shape[0] < 4 or patch.shape[1] < 4:
        return x + w / 2, y + h / 2
    blur = cv2.GaussianBlur(patch, (0, 0), max(1.0, 0.08 * w))
    ys, xs = np.mgrid[0:patch.shape[0], 0:patch.shape[1]].astype(np.float32)
    cx, cy = patch.shape[1] / 2 - 0.5, patch.shape[0] / 2 - 0.5
    prior = ((xs - cx) ** 2 + (ys - cy) ** 2) / (0.3 * w) ** 2
    score = blur + prior * max(float(blur.std()), 1.0)
    iy, ix = np.unravel_index(int(np.argmin(score)), score.shape)
    r = max(2, round(0.15 * w))
    win = (slice(max(0, iy - r), iy + r + 1), slice(max(0, ix - r), ix + r + 1))
    part = patch[win]
    dark = np.clip(np.percentile(part, 35) - part, 0, None)
    total = float(dark.sum())
    if total <= 0:
        return x + ix + 0.5, y + iy + 0.5
    return (x + float((xs[win] * dark).sum()) / total + 0.5,
            y + float((ys[win] * dark).sum()) / total + 0.5)


def _rotate_back(pts: np.ndarray, m_inv: np.ndarray) -> np.ndarray:
    return pts @ m_inv[:, :2].T + m_inv[:, 2]


def _detect(gray: np.ndarray, min_side: int, eyes: bool, step: float, tilts=TILTS) -> list[Face]:
    import cv2

    h, w = gray.shape
    for angle in tilts:
        if angle == 0.0:
            g, m_inv = gray, np.array([[1.0, 0, 0], [0, 1.0, 0]])
        else:
            # Rotate about the centre into a canvas that holds the whole picture.
            c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
            nw, nh = int(w * c + h * s + 0.5), int(w * s + h * c + 0.5)
            m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
            m[:, 2] += ((nw - w) / 2, (nh - h) / 2)
            g = cv2.warpAffine(gray, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            m_inv = cv2.invertAffineTransform(m)
        # Tilted copies use alt2 alone: the default cascade's extra hits are mostly texture.
        found = _boxes(g, min_side, step, fallback=angle == 0.0)
        if not found:
            continue
        faces = []
        for (bx, by, bw, bh), score in found:
            pair = _eye_pair(g, (bx, by, bw, bh)) if eyes else None
            # A box found in a rotated copy is reported as the axis-aligned box of its corners.
            corners = _rotate_back(np.array([[bx, by], [bx + bw, by], [bx, by + bh], [bx + bw, by + bh]],
                                            np.float64), m_inv)
            x0, y0 = corners.min(axis=0)
            x1, y1 = corners.max(axis=0)
            if angle != 0.0:  # keep the side length: the rotated box's bound overstates the face
                cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, (bw + bh) / 2
                x0, y0, x1, y1 = cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2
            le = re = None
            if pair is not None:
                le, re = (tuple(float(v) for v in p) for p in _rotate_back(np.array(pair), m_inv))
            faces.append(Face((float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
                              le, re, score, angle))
        return faces
    return []


def detect_faces(rgb_uint8: np.ndarray, *, eyes: bool = True, min_face: float = 0.08) -> list[Face]:
    """The faces in an H×W×3 uint8 RGB picture, surest (then largest) first.

    `min_face`: the smallest face side searched, as a share of the picture's shorter side. Pictures
    of 64 px and less (model outputs) are upscaled and padded first, since their face fills the frame.
    """
    import cv2

    gray = _gray(rgb_uint8)
    h, w = gray.shape
    scale, pad = 1.0, 0
    if max(h, w) <= SMALL_SIDE:
        scale = SMALL_SIDE / max(h, w)
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        pad = round(SMALL_SIDE * SMALL_PAD)
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        min_side = int(0.25 * SMALL_SIDE)
    else:
        if max(h, w) > DETECT_SIDE:
            scale = DETECT_SIDE / max(h, w)
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        min_side = max(20, int(min_face * min(gray.shape)))
    faces = _detect(gray, min_side, eyes, 1.1 if pad else PHOTO_STEP)

    def back(p):
        return None if p is None else ((p[0] - pad) / scale, (p[1] - pad) / scale)

    out = [Face(((f.box[0] - pad) / scale, (f.box[1] - pad) / scale, f.box[2] / scale, f.box[3] / scale),
                back(f.left_eye), back(f.right_eye), f.score, f.angle) for f in faces]
    # Ties broken by place: OpenCV's parallel search returns equal hits in any order.
    out.sort(key=lambda f: (-f.score, -round(f.box[2] * f.box[3]), round(f.box[1]), round(f.box[0])))
    return out


def face_rate(images_uint8: np.ndarray) -> float:
    """The share of images (N×H×W×3 uint8, e.g. a model's 32-64 px samples) in which a face is found.

    Upright faces only (no tilted copies, no eyes): it scores a model's outputs, which are aligned
    like its training data. Measured in docs/photos.md on the synthetic faces and on pure noise.
    """
    import cv2

    images = np.asarray(images_uint8)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected N×H×W×3 uint8 images, got {images.dtype} {images.shape}")
    if len(images) == 0:
        return 0.0
    h, w = images.shape[1:3]
    scale = max(1.0, SMALL_SIDE / max(h, w))
    pad = round(max(h, w) * scale * SMALL_PAD)
    min_side = int(0.25 * max(h, w) * scale)
    hits = 0
    for img in images:
        g = _gray(img)
        if scale > 1:
            g = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        g = cv2.copyMakeBorder(g, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        hits += bool(_boxes(g, min_side))
    return hits / len(images)

"""Procedural cartoon faces: a built-in, deterministic data set with known factors of variation.

Each face is drawn from signed-distance shapes on a pixel grid with one-pixel soft edges (analytic
anti-aliasing), then box-downsampled from a 2x-4x render for small sizes, so 32 px faces stay clean.
The layout mimics an aligned CelebA crop: eyes a little above the centre, chin near the bottom,
hair and shoulders touching the frame. numpy only, so a render worker never needs torch.
"""

from __future__ import annotations

import math

import numpy as np

# Bumped whenever the drawing changes, so caches of older renders are not reused.
RENDER_VERSION = 3

FACTORS = [
    "face_width", "face_height", "jaw", "skin_tone", "hair_style", "hair_color", "hair_lightness",
    "eye_size", "eye_spacing", "iris_color", "brow_thickness", "brow_angle", "nose_length",
    "nose_width", "smile", "mouth_width", "glasses", "sunglasses", "beard", "yaw", "tilt",
    "light_angle", "light_strength", "bg_hue", "bg_gradient", "clothing_hue",
]
HAIR_STYLES = ("bald", "short", "long", "fringe")
HAIR_COLORS = ("black", "brown", "blond", "red", "grey")
IRIS_COLORS = ("brown", "blue", "green", "hazel", "grey")

_SKIN = np.array([[247, 222, 204], [234, 192, 160], [212, 160, 120], [170, 116, 80],
                  [120, 78, 52], [78, 50, 34]], np.float32) / 255
_HAIR = np.array([[28, 22, 20], [92, 58, 34], [222, 186, 112], [168, 70, 32], [176, 174, 170]],
                 np.float32) / 255
_IRIS = np.array([[96, 58, 30], [62, 116, 178], [70, 128, 74], [128, 104, 48], [120, 130, 136]],
                 np.float32) / 255


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    rgb = np.clip(np.abs(np.mod(h * 6 + np.array([0.0, 4.0, 2.0]), 6) - 3) - 1, 0, 1)
    return (v * (1 - s + s * rgb)).astype(np.float32)


def sample_factors(index: int) -> dict[str, float]:
    """The factors of face `index`, drawn from a generator seeded by the index alone."""
    r = np.random.default_rng([0x5EED_FACE, int(index)])
    u = r.uniform
    f: dict[str, float] = {}
    f["face_width"] = u(0.39, 0.50)
    f["face_height"] = u(0.56, 0.68)
    f["jaw"] = u(0.0, 1.0)
    f["skin_tone"] = float(np.clip(r.beta(1.6, 2.0), 0, 1))
    f["hair_style"] = float(r.choice(4, p=[0.10, 0.40, 0.32, 0.18]))
    f["hair_color"] = float(r.choice(5, p=[0.30, 0.30, 0.18, 0.10, 0.12]))
    f["hair_lightness"] = u(-1, 1)
    f["eye_size"] = u(0, 1)
    f["eye_spacing"] = u(0, 1)
    f["iris_color"] = float(r.choice(5, p=[0.45, 0.2, 0.12, 0.15, 0.08]))
    f["brow_thickness"] = u(0, 1)
    f["brow_angle"] = u(-1, 1)
    f["nose_length"] = u(0, 1)
    f["nose_width"] = u(0, 1)
    f["smile"] = float(np.clip(r.normal(0.25, 0.5), -1, 1))
    f["mouth_width"] = u(0, 1)
    f["glasses"] = float(u() < 0.22)
    f["sunglasses"] = float(f["glasses"] > 0 and u() < 0.25)
    f["beard"] = float(u() < 0.15) * u(0.4, 1.0)
    f["yaw"] = float(np.clip(r.normal(0, 0.45), -1, 1))
    f["tilt"] = float(np.clip(r.normal(0, 0.4), -1, 1))
    f["light_angle"] = u(0, 2 * np.pi)
    f["light_strength"] = u(0, 1)
    f["bg_hue"] = u(0, 1)
    f["bg_gradient"] = u(0, 1)
    f["clothing_hue"] = u(0, 1)
    f["_seed"] = float(r.integers(1 << 30))  # private: texture/jitter draws below
    return f


def binary_labels(factors: dict[str, float]) -> dict[str, bool]:
    """Yes/no attributes for attribute vectors, CelebA-style."""
    style = HAIR_STYLES[int(factors["hair_style"])]
    color = HAIR_COLORS[int(factors["hair_color"])]
    return {
        "smiling": factors["smile"] > 0.35,
        "frowning": factors["smile"] < -0.25,
        "glasses": factors["glasses"] > 0.5,
        "sunglasses": factors["sunglasses"] > 0.5,
        "bald": style == "bald",
        "long_hair": style == "long",
        "bangs": style == "fringe",
        "dark_hair": style != "bald" and color in ("black", "brown"),
        "blond_hair": style != "bald" and color == "blond",
        "red_hair": style != "bald" and color == "red",
        "grey_hair": style != "bald" and color == "grey",
        "pale_skin": factors["skin_tone"] < 0.25,
        "dark_skin": factors["skin_tone"] > 0.65,
        "beard": factors["beard"] > 0,
        "wide_face": factors["face_width"] > 0.46,
        "big_eyes": factors["eye_size"] > 0.7,
        "turned_left": factors["yaw"] < -0.35,
        "turned_right": factors["yaw"] > 0.35,
    }


# -- signed distances (negative inside), in normalised units ------------------------------------

def _ellipse(x, y, a, b):
    # Inigo Quilez's first-order ellipse distance: exact on the axes, close elsewhere.
    k0 = np.sqrt((x / a) ** 2 + (y / b) ** 2)
    k1 = np.sqrt((x / (a * a)) ** 2 + (y / (b * b)) ** 2) + 1e-9
    return k0 * (k0 - 1) / k1


def _segment(x, y, ax, ay, bx, by):
    px, py, dx, dy = x - ax, y - ay, bx - ax, by - ay
    h = np.clip((px * dx + py * dy) / (dx * dx + dy * dy + 1e-12), 0, 1)
    return np.hypot(px - dx * h, py - dy * h), h


class _View:
    """The pixels of one rectangle of the canvas (the frame, or a feature's bounding box)."""

    def __init__(self, img, hx, hy, face, aa):
        self.img, self.x, self.y, self.face, self.aa = img, hx, hy, face, aa

    def cover(self, d):
        c = 0.5 - d * (1 / self.aa)
        return np.minimum(np.maximum(c, 0.0, out=c), 1.0, out=c)

    def paint(self, alpha, color):
        self.img += alpha[..., None] * (np.asarray(color, np.float32) - self.img)


class _Canvas:
    def __init__(self, res: int, zoom: float, oy: float):
        self.res = res
        c = (np.arange(res, dtype=np.float32) + 0.5) / res * 2 - 1
        self.y, self.x = np.meshgrid(c, c, indexing="ij")
        self.aa = 2.0 / res / zoom  # one pixel in head units: the width of every soft edge
        self.zoom, self.oy = zoom, oy
        self.img = np.zeros((res, res, 3), np.float32)
        self.face = np.zeros((res, res), np.float32)

    def set_head(self, cx, cy, tilt, px, py):
        """Head coordinates: zoomed, rotated by `tilt` about (px, py), centred on (cx, cy)."""
        self.head = (cx, cy, math.cos(tilt), math.sin(tilt), px, py)
        xs, ys = self.x / self.zoom, (self.y - self.oy) / self.zoom
        ct, st = self.head[2], self.head[3]
        self.hx = ct * (xs - px) + st * (ys - py) + (px - cx)
        self.hy = -st * (xs - px) + ct * (ys - py) + (py - cy)

    def full(self) -> _View:
        return _View(self.img, self.hx, self.hy, self.face, self.aa)

    def to_pixels(self, x, y) -> tuple[float, float]:
        """Head point (x, y) in frame pixels (pixel i spans [i, i + 1])."""
        cx, cy, ct, st, px, py = self.head
        u, v = x + cx - px, y + cy - py
        xi = ((ct * u - st * v + px) * self.zoom + 1) * self.res / 2
        yi = (((st * u + ct * v + py) * self.zoom + self.oy) + 1) * self.res / 2
        return xi, yi

    def box(self, x, y, r) -> _View:
        """The square around head point (x, y) of head radius r, clipped to the frame."""
        xi, yi = self.to_pixels(x, y)
        rp = r * self.zoom * self.res / 2 + 2
        r0, r1 = max(0, int(yi - rp)), min(self.res, math.ceil(yi + rp))
        c0, c1 = max(0, int(xi - rp)), min(self.res, math.ceil(xi + rp))
        r1, c1 = max(r1, r0 + 1), max(c1, c0 + 1)
        s = (slice(r0, r1), slice(c0, c1))
        return _View(self.img[s], self.hx[s], self.hy[s], self.face[s], self.aa)


def _soft(d, width):
    c = 1 - d * (1 / width)
    return np.minimum(np.maximum(c, 0.0, out=c), 1.0, out=c)


def _lerp(a, b, t):
    return a + (b - a) * t


_ZOOM, _OFFSET_Y = 1.22, -0.06  # the frame: head units to [-1, 1] frame units


def _draw(f: dict[str, float], res: int, eyes: list | None = None, masks: dict | None = None) -> np.ndarray:
    """The face as float RGB (res, res, 3); `eyes`, when given, receives the eye centres in pixels
    (left then right in the picture): the ground truth the face aligner is tested against. `masks`,
    when given, receives the coverages "figure", "face" and "hair" (float (res, res)), which the
    photographic mode (synthetic_photo.py) uses to texture and relight the figure."""
    jit = np.random.default_rng(int(f["_seed"]))
    cv = _Canvas(res, zoom=_ZOOM, oy=_OFFSET_Y)
    X, Y = cv.x, cv.y

    # Background: two related colours in a linear gradient.
    hue = f["bg_hue"]
    c1 = _hsv(hue, jit.uniform(0.15, 0.55), jit.uniform(0.45, 0.95))
    c2 = _hsv(hue + jit.uniform(-0.1, 0.1), jit.uniform(0.1, 0.5), jit.uniform(0.3, 0.9))
    phi = jit.uniform(0, 2 * math.pi)
    t = np.clip(0.5 + 0.5 * f["bg_gradient"] * (X * math.cos(phi) + Y * math.sin(phi)), 0, 1)
    cv.img[:] = c1 + t[..., None] * (c2 - c1)

    skin_pos = f["skin_tone"] * (len(_SKIN) - 1)
    k = min(int(skin_pos), len(_SKIN) - 2)
    skin = np.clip(_lerp(_SKIN[k], _SKIN[k + 1], skin_pos - k) * jit.uniform(0.95, 1.05, 3), 0, 1)
    skin = skin.astype(np.float32)
    skin_dark = skin * 0.82
    hair = np.clip(_HAIR[int(f["hair_color"])] * (1 + 0.25 * f["hair_lightness"]), 0, 1)
    style = HAIR_STYLES[int(f["hair_style"])]
    yaw = f["yaw"]
    sh = 0.13 * yaw  # features slide toward the side the head turns to
    fw, ht, hb = f["face_width"], f["face_height"] * 0.86, f["face_height"]
    cv.set_head(0.04 * yaw, -0.02, 0.16 * f["tilt"], 0.0, 0.75)
    v = cv.full()
    hx, hy = v.x, v.y
    fg = np.zeros_like(X)  # foreground coverage, for the lighting pass

    # Shoulders (unrotated), then long hair falling behind the neck, then the neck.
    cloth = _hsv(f["clothing_hue"], jit.uniform(0.2, 0.7), jit.uniform(0.25, 0.85))
    a = v.cover(_ellipse(X / cv.zoom - 0.02 * yaw, (Y - cv.oy) / cv.zoom - 1.42, 0.98, 0.66))
    v.paint(a, cloth)
    fg = np.maximum(fg, a)
    if style == "long":
        back = np.maximum(np.abs(hx) - (fw * 1.18 + np.clip(hy, 0, None) * 0.35),
                          np.maximum(-ht * 0.6 - hy, hy - (hb + 0.3)))
        back = np.minimum(back, _ellipse(hx, hy + 0.1, fw * 1.2, ht * 1.1))
        a = v.cover(back)
        v.paint(a, hair * 0.9)
        fg = np.maximum(fg, a)
    a = v.cover(np.maximum(np.abs(hx) - fw * 0.5, 0.2 - hy))
    v.paint(a, skin_dark)
    fg = np.maximum(fg, a)

    # Ears: the far one narrows as the head turns.
    for side in (-1, 1):
        ew = 0.075 * (1 - 0.5 * max(0.0, -side * yaw))
        e = cv.box(side * fw, 0.0, 0.2)
        e.paint(e.cover(_ellipse(e.x - side * (fw * 0.97 + 0.01 * side * yaw), e.y - 0.02, ew, 0.13)),
                skin_dark * 1.05)

    # Face: an ellipse above, a superellipse below whose exponent sets the jaw (pointed to square).
    p = 1.5 + 1.6 * f["jaw"]
    fx = np.abs(hx - 0.02 * yaw) / fw
    lower = hy > 0
    fy = hy / np.where(lower, hb, ht)
    r = np.where(lower, fx ** p + fy * fy, fx * fx + fy * fy)
    face_d = (np.sqrt(r) - 1) * (fw * 0.9)
    cv.face[:] = v.cover(face_d)
    face = cv.face
    v.paint(face, skin)
    fg = np.maximum(fg, face)
    la = f["light_angle"]
    lx, ly = math.cos(la), math.sin(la)
    nx, ny = np.clip(hx / (fw * 1.3), -1, 1), np.clip(hy / (hb * 1.3), -1, 1)
    nz = np.sqrt(np.clip(1 - nx * nx - ny * ny, 0, 1))
    v.img *= (1 - face * 0.12 * (1 - nz))[..., None]  # darker toward the rim: roundness

    # Cheeks.
    blush = jit.uniform(0, 0.25)
    for side in (-1, 1):
        e = cv.box(sh + side * fw * 0.55, 0.2, 0.2)
        e.paint(_soft(_ellipse(e.x - sh - side * fw * 0.55, e.y - 0.2, 0.11, 0.07), 0.06) * e.face * blush,
                (0.85, 0.35, 0.35))

    # Eyes and brows.
    ey0 = -0.02 + jit.uniform(-0.03, 0.03)
    spacing = 0.16 + 0.08 * f["eye_spacing"]
    erx = 0.07 + 0.04 * f["eye_size"]
    ery = erx * jit.uniform(0.5, 0.68)
    iris_c = _IRIS[int(f["iris_color"])]
    gaze = 0.3 * yaw + jit.uniform(-0.25, 0.25)
    brow_c = hair * 0.75 if style != "bald" else skin * 0.45
    if HAIR_COLORS[int(f["hair_color"])] in ("blond", "grey"):
        brow_c = brow_c * 0.7
    for side in (-1, 1):
        ex, rx, ry = sh + side * spacing * (1 + 0.15 * yaw * side), erx * (1 + 0.22 * yaw * side), ery
        e = cv.box(ex, ey0, rx + 0.03)
        dx, dy = e.x - ex, e.y - ey0
        eye_d = _ellipse(dx, dy, rx, ry)
        sclera = e.cover(eye_d)
        e.paint(sclera, (0.97, 0.96, 0.94))
        ir = ry * 1.05
        ix = gaze * rx * 0.4
        if eyes is not None:  # the pupil, where a landmark annotator puts the eye centre
            eyes.append(cv.to_pixels(ex + ix, ey0))
        dist = np.hypot(dx - ix, dy)
        e.paint(e.cover(dist - ir) * sclera, iris_c)
        e.paint(e.cover(dist - ir * 0.45) * sclera, (0.04, 0.03, 0.03))
        e.paint(e.cover(np.hypot(dx - ix + ir * 0.35, dy + ir * 0.35) - ir * 0.22) * sclera, (1.0, 1.0, 1.0))
        e.paint(e.cover(np.abs(eye_d) - 0.012) * (dy < ry * 0.2), skin * 0.3)

        # Brow: a tapering thick segment; brow_angle lowers (cross) or raises (worried) the inner end.
        by = ey0 - ery - 0.065 - 0.02 * jit.uniform()
        inner, outer = ex - side * rx * 0.75, ex + side * rx * 1.25
        tb = 0.045 * f["brow_angle"]
        e = cv.box(ex + side * rx * 0.25, by, rx * 1.1 + 0.06)
        dist, h = _segment(e.x, e.y, inner, by + tb, outer, by - tb * 0.3 + 0.01)
        thick = (0.018 + 0.022 * f["brow_thickness"]) * (1 - 0.45 * h)
        e.paint(e.cover(dist - thick) * e.face, brow_c)

    # Nose: a shadow on the side away from the light, nostrils and a tip highlight.
    nl = 0.15 + 0.08 * f["nose_length"]
    nw = 0.05 + 0.035 * f["nose_width"]
    n0 = sh * 1.25
    e = cv.box(n0, (ey0 + nl) / 2 + 0.02, (nl - ey0) / 2 + nw + 0.06)
    side_l = 1 if lx < 0 else -1
    d, _ = _segment(e.x, e.y, n0 + side_l * nw * 0.5, ey0 + 0.06, n0 + side_l * nw * 0.9, nl)
    e.paint(_soft(d, 0.03) * e.face * 0.25, skin * 0.6)
    e.paint(_soft(_ellipse(e.x - n0, e.y - nl - 0.025, nw * 1.15, 0.035), 0.03) * e.face * 0.35, skin * 0.55)
    for side in (-1, 1):
        a = e.cover(_ellipse(e.x - n0 - side * nw * 0.5, e.y - nl - 0.015, nw * 0.3, 0.017))
        e.paint(a * e.face * 0.7, skin * 0.35)
    e.paint(_soft(np.hypot(e.x - n0, e.y - nl + 0.03), 0.04) * e.face * 0.35, np.minimum(skin * 1.2, 1))

    # Beard over the lower face, leaving the lips free.
    my = nl + 0.13 + 0.04 * jit.uniform()
    if f["beard"] > 0:
        e = cv.box(0.0, (nl + hb) / 2, max(fw, (hb - nl) / 2) + 0.05)
        a = e.face * np.clip((e.y - (nl + 0.03) + 0.3 * ((e.x - sh) / fw) ** 2) / 0.04, 0, 1)
        a = a * (1 - e.cover(_ellipse(e.x - sh, e.y - my - 0.01, 0.14, 0.05)))
        e.paint(a * f["beard"], hair * 0.8)

    # Mouth: a centre line curved by smile, lips above and below, teeth in a wide smile.
    mw = 0.12 + 0.08 * f["mouth_width"]
    smile = f["smile"]
    mx = sh * 1.1
    e = cv.box(mx, my, mw + 0.08)
    tt = np.clip((e.x - mx) / mw, -1.5, 1.5)
    inside = np.clip(1 - tt * tt, 0, None)
    ddy = (e.y - (my + 0.07 * smile * (inside - 0.5))) / np.sqrt(1 + (0.14 * smile / mw * tt) ** 2)
    span = e.cover(np.abs(e.x - mx) - mw) * e.face
    lip = _lerp(skin, np.array([0.72, 0.3, 0.32], np.float32), 0.55)
    root = np.sqrt(inside)
    e.paint(e.cover(np.maximum(-ddy - (0.022 * root + 0.004), ddy - (0.032 * root + 0.004))) * span * 0.85, lip)
    opening = max(0.0, smile - 0.35) * 0.11
    if opening > 0:
        e.paint(e.cover(np.maximum(-ddy, ddy - opening * inside)) * span, (0.28, 0.06, 0.06))
        e.paint(e.cover(np.maximum(-ddy, ddy - opening * 0.55 * inside)) * span, (0.95, 0.93, 0.88))
    e.paint(e.cover(np.abs(ddy) - 0.009 * root - 0.002) * span, lip * 0.38)

    # Hair on top: a cap over the skull whose lower edge is the hairline; long hair also frames the face.
    hair_cover = np.zeros_like(X)
    if style != "bald":
        volume = jit.uniform(1.06, 1.2)
        cap = _ellipse(hx - 0.015 * yaw, hy + 0.04 + 0.1 * (volume - 1), fw * volume, ht * volume)
        wave = 0.015 * np.sin(hx * 45 + jit.uniform(0, 6))
        part = jit.uniform(-0.5, 0.5) * fw
        if style == "fringe":
            line = ey0 - ery - 0.12 + wave + 0.06 * ((hx - part) / fw) ** 2
        else:
            line = -ht * jit.uniform(0.45, 0.62) + 0.32 * ((hx - part) / fw) ** 2 + wave * 0.5
        line = np.minimum(line, -0.05)
        d = np.maximum(cap, np.minimum(hy - line, -face_d))
        d = np.maximum(d, hy + 0.0 - 0.01)
        if style == "long":
            # Locks over the cheeks: a strip along the face edge that thins out toward the jaw.
            thick = 0.1 * np.clip(1 - hy / (hb * 0.6), 0, 1.5) * (1 - 0.5 * np.sign(hx) * yaw)
            d = np.minimum(d, np.maximum(np.maximum(-face_d - thick, hy - hb * 0.6), back))
        a = v.cover(d)
        sheen = 0.9 + 0.25 * _soft(np.hypot(hx + 0.3 * lx, hy + ht * 0.7), 0.35)
        v.img += a[..., None] * (hair * sheen[..., None] - v.img)
        fg = np.maximum(fg, a)
        hair_cover = a
    else:
        v.paint(_soft(np.hypot(hx + 0.15, hy + ht * 0.75), 0.15) * face * 0.4, (1, 1, 1))

    # Glasses: lens tint, frame rings, temples and the bridge.
    if f["glasses"] > 0:
        frame = _hsv(jit.uniform(), jit.uniform(0, 0.6), jit.uniform(0.05, 0.45))
        lr = erx * 1.45 + 0.02
        th = 0.012 + 0.012 * jit.uniform()
        dark = f["sunglasses"] > 0
        for side in (-1, 1):
            gx = sh + side * spacing * (1 + 0.15 * yaw * side)
            e = cv.box((gx + side * fw) / 2, ey0, abs(side * fw - gx) / 2 + lr + 0.05)
            lens = _ellipse(e.x - gx, e.y - ey0, lr * (1 + 0.22 * yaw * side), lr * 0.8)
            e.paint(e.cover(lens) * (0.88 if dark else 0.22), (0.05, 0.05, 0.08) if dark else (0.75, 0.85, 0.95))
            e.paint(e.cover(np.abs(lens) - th), frame)
            d, _ = _segment(e.x, e.y, gx + side * lr, ey0 - 0.02, side * fw * 1.02, ey0 - 0.04)
            e.paint(e.cover(d - th * 0.8), frame)
        e = cv.box(sh, ey0, spacing)
        d, _ = _segment(e.x, e.y, sh - spacing + lr * 0.9, ey0 - 0.03, sh + spacing - lr * 0.9, ey0 - 0.03)
        e.paint(e.cover(d - th * 0.8), frame)

    # Directional light over the whole figure.
    s = 0.3 * f["light_strength"]
    light = 1 + s * (X * lx + Y * ly) + (s * 0.4) * (nx * lx + ny * ly) * face
    cv.img *= (1 - fg + fg * light)[..., None]
    if masks is not None:
        masks.update(figure=fg, face=face, hair=hair_cover)
    return cv.img


def render_face(index: int, size: int) -> tuple[np.ndarray, dict[str, float]]:
    """Face `index` as uint8 (size, size, 3), and its factors (FACTORS order, floats)."""
    f = sample_factors(index)
    ss = max(1, min(4, -(-64 // size)))  # render at >= 64 px, then box-filter down
    img = _draw(f, size * ss)
    if ss > 1:
        img = img.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))
    out = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    return out, {k: float(f[k]) for k in FACTORS}


def eye_centres(index: int, size: int) -> np.ndarray:
    """The eye centres (pupils) of face `index` rendered at `size` px: float (2, 2), rows (x, y) of
    the eye on the picture's left then right, in pixels (pixel i spans [i, i + 1])."""
    eyes: list = []
    ss = max(1, min(4, -(-64 // size)))  # as render_face: the same render, the same jitter draws
    _draw(sample_factors(index), size * ss, eyes)
    return np.array(eyes, np.float64) / ss


def mean_eye_centres() -> np.ndarray:
    """Where the eyes of an average face (every factor at its mean, no tilt or turn) fall, as
    fractions of the frame: float (2, 2), left then right. The "synthetic" alignment convention."""
    spacing = 0.16 + 0.08 * 0.5  # eye_spacing's mean, as _draw uses it
    ey0, cy = -0.02, -0.02  # the eye line and the head's centre offset in _draw
    out = []
    for side in (-1, 1):
        x = (side * spacing * _ZOOM + 1) / 2
        y = ((ey0 + cy) * _ZOOM + _OFFSET_Y + 1) / 2
        out.append((x, y))
    return np.array(out, np.float64)


def face_in_picture(rng: np.random.Generator, index: int, picture: int, scale: float,
                    angle: float) -> tuple[np.ndarray, np.ndarray]:
    """A test photo: face `index` rendered at scale × `picture` px, turned by `angle` degrees
    (counter-clockwise) about its centre and pasted at a random place into a picture × picture
    noisy background. Returns the picture (uint8) and the true eye centres in it (2, 2)."""
    import cv2

    side = round(scale * picture)
    face, _ = render_face(index, side)
    eyes = eye_centres(index, side)
    background = cv2.resize(rng.uniform(40, 220, (4, 4, 3)), (picture, picture), interpolation=cv2.INTER_CUBIC)
    out = background + rng.normal(0, 12, (picture, picture, 3))
    a = np.deg2rad(angle)
    reach = side / 2 * (abs(np.cos(a)) + abs(np.sin(a)))
    lo, hi = min(reach, picture / 2), max(picture - reach, picture / 2)
    centre = rng.uniform(lo, hi, 2)
    rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    m = np.hstack([rot, (centre - rot @ (side / 2, side / 2))[:, None]])
    mc = m.copy()
    mc[:, 2] += m[:, :2] @ (0.5, 0.5) - 0.5  # OpenCV samples at pixel centres
    warped = cv2.warpAffine(face, mc, (picture, picture), flags=cv2.INTER_LINEAR).astype(np.float64)
    mask = cv2.warpAffine(np.full((side, side), 1.0, np.float32), mc, (picture, picture))[..., None]
    out = np.clip(out * (1 - mask) + warped * mask, 0, 255).astype(np.uint8)
    return out, eyes @ rot.T + m[:, 2]

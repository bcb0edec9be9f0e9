"""The synthetic faces' photographic mode (data source "synthetic-photo"): harder, photo-like data.

Each face is the cartoon face of the same index (same factors, same labels) put through what a camera
and a real scene do to a face: shading from a light direction over a height field of the figure, skin
and hair texture, a cluttered indoor, outdoor or studio background behind the figure, varied framing
(scale, shift, a small roll), exposure, white balance and contrast, lens blur, sensor noise, JPEG
compression, and greyscale for some photos. Every draw comes from a generator seeded by the index
alone, so face i is the same picture at every call, in every process. numpy and OpenCV only.
"""

from __future__ import annotations

import math

import numpy as np

from latentlab.data import synthetic

# Bumped whenever the photographic pass changes, so caches of older renders are not reused.
PHOTO_VERSION = 1
GREY_FRACTION = 0.15
BACKGROUNDS = ("studio", "indoor", "outdoor")


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    if sigma <= 0.05:
        return a
    return cv2.GaussianBlur(a, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT101)


def _smooth_noise(r: np.random.Generator, res: int, cells: int, channels: int = 0) -> np.ndarray:
    """Noise of about `cells` blobs across the frame, cubic-upsampled: float32 in about [-1, 1]."""
    import cv2

    shape = (cells, cells, channels) if channels else (cells, cells)
    small = r.uniform(-1, 1, shape).astype(np.float32)
    return cv2.resize(small, (res, res), interpolation=cv2.INTER_CUBIC)


def _background(r: np.random.Generator, res: int, kind: str, studio: np.ndarray) -> np.ndarray:
    """A float RGB (res, res, 3) background; `studio` is the cartoon's own gradient backdrop."""
    if kind == "studio":
        return studio + 0.04 * _smooth_noise(r, res, 3, 3)
    y = (np.arange(res, dtype=np.float32) + 0.5)[:, None] / res
    if kind == "outdoor":
        # Sky above a horizon, foliage and ground below, both out of focus.
        sky = synthetic._hsv(r.uniform(0.52, 0.64), r.uniform(0.15, 0.5), r.uniform(0.7, 1.0))
        ground = synthetic._hsv(r.uniform(0.12, 0.38), r.uniform(0.3, 0.7), r.uniform(0.25, 0.6))
        horizon = r.uniform(0.25, 0.7) + 0.1 * _smooth_noise(r, res, 4)
        t = np.clip((y - horizon) / 0.08, 0, 1)[..., None]
        img = sky + (ground - sky) * t
        img = img * (1 + 0.35 * _smooth_noise(r, res, 9)[..., None] * t)  # foliage blobs
        return _blur(img.astype(np.float32), r.uniform(0.5, 2.0) * res / 64)
    # Indoor clutter: a wall and a floor, then shelves, frames, windows and lamps as soft rectangles.
    wall = synthetic._hsv(r.uniform(0, 1), r.uniform(0.05, 0.35), r.uniform(0.35, 0.9))
    img = np.broadcast_to(wall, (res, res, 3)).copy()
    img *= (1 + 0.2 * _smooth_noise(r, res, 3))[..., None]
    xs = (np.arange(res, dtype=np.float32) + 0.5)[None, :] / res
    for _ in range(int(r.integers(3, 9))):
        x0, y0 = r.uniform(-0.2, 1.0, 2)
        w, h = r.uniform(0.05, 0.6, 2)
        colour = synthetic._hsv(r.uniform(0, 1), r.uniform(0, 0.8), r.uniform(0.05, 1.0))
        edge = 1.5 / res
        inside = (np.clip((xs - x0) / edge, 0, 1) * np.clip((x0 + w - xs) / edge, 0, 1)
                  * np.clip((y - y0) / edge, 0, 1) * np.clip((y0 + h - y) / edge, 0, 1))
        img += inside[..., None] * (colour * r.uniform(0.6, 1.0) - img)
    return _blur(img.astype(np.float32), r.uniform(0.8, 2.5) * res / 64)


def _shading(r: np.random.Generator, f: dict[str, float], masks: dict, res: int) -> np.ndarray:
    """Lambertian shading (res, res) of the figure's height field under a light from f's light_angle."""
    height = _blur((masks["figure"] + 0.6 * masks["face"]).astype(np.float32), res / 10)
    gy, gx = np.gradient(height * (res / 6))
    norm = np.sqrt(gx * gx + gy * gy + 1)
    elevation = r.uniform(0.35, 1.0)
    lx, ly = math.cos(f["light_angle"]), math.sin(f["light_angle"])
    # The light comes from (lx, ly) in the picture, towards the viewer: normals facing it are lit.
    dot = (gx * lx + gy * ly) * math.cos(elevation) / norm * -1 + math.sin(elevation) / norm
    ambient = r.uniform(0.35, 0.75)
    return ambient + (1 - ambient) * np.clip(dot, 0, 1) / max(math.sin(elevation), 1e-3)


def _texture(r: np.random.Generator, masks: dict, res: int) -> np.ndarray:
    """A multiplicative texture (res, res): pores and blotches on skin, strands on hair."""
    import cv2

    skin = masks["face"] * (1 - masks["hair"])
    pores = _blur(r.normal(0, 1, (res, res)).astype(np.float32), 0.6 * res / 64)
    blotches = _smooth_noise(r, res, 12)
    strands = r.normal(0, 1, (res, res)).astype(np.float32)
    length = max(3, res // 6) | 1
    strands = cv2.GaussianBlur(strands, (1, length), 0, sigmaY=length / 3)  # along the hair's fall
    strands /= strands.std() + 1e-6
    return (1 + skin * (r.uniform(0.02, 0.06) * pores + r.uniform(0.02, 0.06) * blotches)
            + masks["hair"] * r.uniform(0.08, 0.2) * strands)


def _frame(r: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Varied framing: scale, shift and a small roll, the border continued by reflection."""
    import cv2

    res = img.shape[0]
    scale = r.uniform(0.88, 1.18)
    angle = r.normal(0, 4)
    shift = r.uniform(-0.07, 0.07, 2) * res
    m = cv2.getRotationMatrix2D((res / 2, res / 2), angle, scale)
    m[:, 2] += shift
    return cv2.warpAffine(img, m, (res, res), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def _camera(r: np.random.Generator, img: np.ndarray, size: int, ss: int) -> np.ndarray:
    """Exposure, white balance, contrast, lens blur, then (at the output size) noise, greyscale and JPEG.
    Returns uint8 (size, size, 3)."""
    import cv2

    img = img * r.uniform(0.75, 1.25) * r.uniform(0.9, 1.1, 3).astype(np.float32)
    img = np.clip(img, 0, 1) ** r.uniform(0.8, 1.25)
    mid = img.mean()
    img = mid + (img - mid) * r.uniform(0.8, 1.2)
    img = _blur(img.astype(np.float32), r.uniform(0, 1.1) * ss)
    if ss > 1:
        img = img.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))
    sigma = r.uniform(0.005, 0.03)
    img = img + r.normal(0, sigma, (size, size, 1)) + r.normal(0, sigma / 2, (size, size, 3))
    if r.uniform() < GREY_FRACTION:
        img = np.broadcast_to(img @ np.array([0.299, 0.587, 0.114]), (3, size, size)).transpose(1, 2, 0)
    out = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    quality = int(r.integers(35, 96))
    ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if ok:
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(out)


def render_photo(index: int, size: int) -> tuple[np.ndarray, dict[str, float]]:
    """Face `index` as a photograph: uint8 (size, size, 3), and its factors (those of the cartoon
    face of the same index, so its labels hold)."""
    f = synthetic.sample_factors(index)
    r = np.random.default_rng([0x9407_0FAC, int(index)])
    ss = max(1, min(4, -(-64 // size)))
    res = size * ss
    masks: dict = {}
    img = synthetic._draw(f, res, masks=masks).astype(np.float32)
    figure = masks["figure"][..., None]
    img *= (_texture(r, masks, res) * _shading(r, f, masks, res))[..., None] * figure + (1 - figure)
    kind = BACKGROUNDS[int(r.choice(3, p=[0.25, 0.45, 0.30]))]
    studio = img  # where the figure does not cover, this is the cartoon's backdrop
    img = img * figure + _background(r, res, kind, studio) * (1 - figure)
    img = _frame(r, img)
    return _camera(r, img, size, ss), {k: float(f[k]) for k in synthetic.FACTORS}

"""Test photographs made from the portrait scikit-image ships (``skimage.data.astronaut()``:
Eileen Collins, NASA, public domain; read from the installed package, never downloaded):
mirrored, and warped by known amounts around one landmark."""

import io

import cv2
import numpy as np
from PIL import Image
from skimage import data

from landmarks import detection


def portrait(scale: int = 2) -> np.ndarray:
    """The portrait, enlarged (the iris is then about 17 px across)."""
    pixels = data.astronaut()
    if scale != 1:
        pixels = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(pixels)


def jpeg(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


def warp(pixels: np.ndarray, center, shift, sigma: float) -> np.ndarray:
    """Move the region around ``center`` by ``shift`` (dx, dy pixels), fading out with a
    Gaussian of ``sigma`` pixels: the pixel at ``center`` lands at ``center + shift``."""
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    # Solve for the source point by a few fixed-point steps (the displacement is smooth).
    sx, sy = xs.copy(), ys.copy()
    for _ in range(5):
        weight = np.exp(-((sx - center[0]) ** 2 + (sy - center[1]) ** 2) / (2 * sigma**2))
        sx = xs - shift[0] * weight
        sy = ys - shift[1] * weight
    return cv2.remap(pixels, sx, sy, interpolation=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def landmarks_of(pixels: np.ndarray) -> dict:
    return detection.find(pixels).points

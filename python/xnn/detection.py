"""Detections of SSD-style models (Caffe's ``DetectionOutput`` layer): as a plain array, and drawn on an
image with NumPy alone.

A ``DetectionOutput`` output is ``[1, 1, K, 7]``: one row ``(image, label, score, xmin, ymin, xmax, ymax)``
per detection, coordinates relative to the image (0..1), rows by image, then label, then decreasing
score. ``K`` depends on the image; when nothing at all is detected there is one placeholder row per
image, ``(i, -1, -1, -1, -1, -1, -1)``, as Caffe writes it.

>>> model = xnn.Model.load("deploy.prototxt", "weights.caffemodel")
>>> dets = xnn.detection.detections(model.predict(image, mean=127.5, scale=1 / 127.5))
>>> out = xnn.detection.draw(image, dets, labels=VOC_LABELS, threshold=0.5)
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = ["detections", "draw", "label_color"]


def detections(output: np.ndarray, image: Optional[int] = None) -> np.ndarray:
    """The rows of a ``DetectionOutput`` output (``[1, 1, K, 7]`` or ``[K, 7]``) as a ``(K, 7)`` float32
    array, without the placeholder rows (label -1) of images with nothing detected; only image
    ``image``'s rows when it is given."""
    return _rows(output, image)


def _rows(output: np.ndarray, image: Optional[int]) -> np.ndarray:
    rows = np.asarray(output, dtype=np.float32)
    if rows.ndim < 1 or rows.shape[-1] != 7 or rows.size % 7:
        raise ValueError(f"expected DetectionOutput rows of 7 values, got shape {rows.shape}")
    rows = rows.reshape(-1, 7)
    rows = rows[rows[:, 1] >= 0]
    if image is not None:
        rows = rows[rows[:, 0] == image]
    return rows


# A 3x5 pixel font: each glyph is five rows of three pixels, top row first.
_FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", "A": "010101111101101", "B": "110101110101110",
    "C": "011100100100011", "D": "110101101101110", "E": "111100110100111", "F": "111100110100100",
    "G": "011100101101011", "H": "101101111101101", "I": "111010010010111", "J": "001001001101010",
    "K": "101101110101101", "L": "100100100100111", "M": "101111111101101", "N": "110101101101101",
    "O": "010101101101010", "P": "110101110100100", "Q": "010101101110011", "R": "110101110101101",
    "S": "011100010001110", "T": "111010010010010", "U": "101101101101111", "V": "101101101101010",
    "W": "101101111111101", "X": "101101010101101", "Y": "101101010010010", "Z": "111001010100111",
    ".": "000000000000010", "-": "000000111000000", ":": "000010000010000", " ": "000000000000000",
    "%": "101001010100101", "/": "001001010100100", "_": "000000000000111", "?": "111001010000010",
}
_GLYPHS = {c: np.array([int(b) for b in bits], dtype=bool).reshape(5, 3) for c, bits in _FONT.items()}

# Well separated colors, one per label (cycled).
_PALETTE = np.array(
    [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
     (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
     (170, 110, 40), (255, 250, 200), (128, 0, 0), (170, 255, 195), (128, 128, 0), (255, 215, 180),
     (0, 0, 128), (128, 128, 128)],
    dtype=np.uint8,
)


def label_color(label: int) -> Tuple[int, int, int]:
    """The RGB color :func:`draw` gives a label."""
    return tuple(int(v) for v in _PALETTE[int(label) % len(_PALETTE)])


def _text_bitmap(text: str, scale: int) -> np.ndarray:
    glyphs = [_GLYPHS.get(c, _GLYPHS["?"]) for c in text.upper()]
    gap = np.zeros((5, 1), dtype=bool)
    bitmap = np.concatenate([part for g in glyphs for part in (g, gap)][:-1] or [gap], axis=1)
    return np.kron(bitmap, np.ones((scale, scale), dtype=bool))


def _fill(img: np.ndarray, y0: int, x0: int, y1: int, x1: int, color) -> None:
    h, w = img.shape[:2]
    y0, y1, x0, x1 = max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)
    if y0 < y1 and x0 < x1:
        img[y0:y1, x0:x1] = color


def draw(
    image: np.ndarray,
    detections: np.ndarray,
    labels: Optional[Sequence[str]] = None,
    threshold: float = 0.5,
    *,
    image_id: int = 0,
    thickness: Optional[int] = None,
) -> np.ndarray:
    """A copy of ``image`` (``HxWx3`` uint8 RGB) with a rectangle for each of image ``image_id``'s
    detections scoring at least ``threshold``, in its label's color, and a caption above it: the label's
    name (``labels[label]``, or its number) and the score, in a small built-in font.

    ``detections`` are rows ``(image, label, score, xmin, ymin, xmax, ymax)`` with coordinates relative
    to the image, as :func:`detections` (or a raw ``DetectionOutput`` output) gives them. Boxes are
    clipped to the image; ``thickness`` defaults to about 1/150 of the image's smaller side."""
    img = np.array(image, dtype=np.uint8, copy=True)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got shape {img.shape}")
    h, w = img.shape[:2]
    t = thickness if thickness is not None else max(1, min(h, w) // 150)
    scale = max(1, min(h, w) // 200)
    for _, label, score, x0, y0, x1, y1 in _rows(detections, image_id):
        if score < threshold:
            continue
        color = _PALETTE[int(label) % len(_PALETTE)]
        l, r = int(round(x0 * w)), int(round(x1 * w))
        top, bottom = int(round(y0 * h)), int(round(y1 * h))
        _fill(img, top, l, top + t, r, color)
        _fill(img, bottom - t, l, bottom, r, color)
        _fill(img, top, l, bottom, l + t, color)
        _fill(img, top, r - t, bottom, r, color)
        name = labels[int(label)] if labels is not None and 0 <= int(label) < len(labels) else str(int(label))
        text = _text_bitmap(f"{name} {score:.2f}", scale)
        th, tw = text.shape[0] + 2 * scale, text.shape[1] + 2 * scale
        ty = top - th if top - th >= 0 else max(top, 0)  # above the box, or inside it at the image's top
        tx = min(max(l, 0), max(w - tw, 0))
        _fill(img, ty, tx, ty + th, tx + tw, color)
        ink = np.uint8(0) if int(color.astype(np.int32).sum()) > 380 else np.uint8(255)
        region = img[ty + scale:ty + scale + text.shape[0], tx + scale:tx + scale + text.shape[1]]
        region[text[:region.shape[0], :region.shape[1]]] = ink
    return img

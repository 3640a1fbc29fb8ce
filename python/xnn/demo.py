"""``xnn demo``: MTCNN face detection with the bundled Caffe models, on a bundled photo.

The three MTCNN stages (Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded
Convolutional Networks", 2016; the original Caffe weights of github.com/kpzhang93/MTCNN_face_detection_alignment)
ship in ``xnn/models/mtcnn``:

* ``det1`` P-Net: fully convolutional, one 12x12 window every 2 pixels; run on an image pyramid. Every
  pyramid level is a new input size, so the engine plans each one (and caches the plans).
* ``det2`` R-Net: rejects and refines the P-Net candidates, on a batch of 24x24 crops.
* ``det3`` O-Net: final score, box and five landmarks, on a batch of 48x48 crops.

The cascade below is a numpy port of the authors' Matlab ``detect_face.m``. The weights were trained in
Matlab, whose arrays are column-major: the networks see images *transposed*. So the images are fed as
``(N, 3, W, H)`` (RGB, ``(x - 127.5) / 128``) and the output maps are indexed ``[x, y]``. Box arithmetic
follows the Matlab code (1-based, inclusive pixel boxes) internally; the :class:`Face` results use
0-based continuous pixel coordinates (pixel ``(i, j)`` covers ``[i, i+1) x [j, j+1)``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .model import Model

MODELS_DIR = Path(__file__).resolve().parent / "models" / "mtcnn"
DATA_DIR = Path(__file__).resolve().parent / "data"
#: The bundled sample photo: 256x256 RGB uint8 (see xnn/data/README.md).
SAMPLE_IMAGE = DATA_DIR / "astronaut.npy"

LANDMARK_NAMES = ("left eye", "right eye", "nose", "mouth left", "mouth right")


@dataclass
class Face:
    """One detected face, in 0-based pixel coordinates of the input image."""

    box: Tuple[float, float, float, float]  # x1, y1, x2, y2 (x2, y2 exclusive)
    score: float  # O-Net face probability
    landmarks: np.ndarray  # (5, 2) x, y of LANDMARK_NAMES


@dataclass
class Detection:
    """Faces plus what each stage did (for printing and testing)."""

    faces: List[Face]
    scales: List[float] = field(default_factory=list)
    pnet_sizes: List[Tuple[int, int]] = field(default_factory=list)  # (height, width) per pyramid level
    candidates: Dict[str, int] = field(default_factory=dict)  # boxes kept after each stage
    times_ms: Dict[str, float] = field(default_factory=dict)  # wall time per stage


# --------------------------------------------------------------------------------------- resampling


def _axis_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) resampling matrix: pixel-area averaging when shrinking, bilinear when enlarging."""
    s = n_in / n_out
    if n_out <= n_in:
        edges = np.arange(n_out + 1, dtype=np.float64) * s
        i = np.arange(n_in, dtype=np.float64)
        lo = np.maximum(edges[:-1, None], i[None, :])
        hi = np.minimum(edges[1:, None], i[None, :] + 1)
        return (np.clip(hi - lo, 0.0, None) / s).astype(np.float32)
    pos = np.clip((np.arange(n_out, dtype=np.float64) + 0.5) * s - 0.5, 0, n_in - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    w = np.zeros((n_out, n_in), np.float64)
    np.add.at(w, (np.arange(n_out), lo), 1 - frac)
    np.add.at(w, (np.arange(n_out), hi), frac)
    return w.astype(np.float32)


def _axis_taps(n_in: int, n_out: int) -> Tuple[np.ndarray, np.ndarray]:
    """The non-zeros of :func:`_axis_weights` (contiguous in every row): (n_out, taps) indices and weights."""
    dense = _axis_weights(n_in, n_out)
    nz = dense != 0
    first = nz.argmax(axis=1)
    taps = int(nz.sum(axis=1).max())
    raw = first[:, None] + np.arange(taps)[None, :]
    idx = np.minimum(raw, n_in - 1)
    w = np.where(raw < n_in, np.take_along_axis(dense, idx, axis=1), 0).astype(np.float32)
    return idx, w


def resample(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resizes an HxWxC array to ``height`` x ``width`` (float32): area average down, bilinear up.

    (OpenCV's INTER_AREA when shrinking, INTER_LINEAR when enlarging.) Done with a few taps per output pixel
    rather than a matrix product, so that it runs on one core and does not compete with the engine's threads.
    """
    h, w, c = img.shape
    x = img.astype(np.float32, copy=False)
    if h != height:
        idx, wt = _axis_taps(h, height)
        x = (x[idx] * wt[:, :, None, None]).sum(axis=1)  # (height, taps, w, c) -> (height, w, c)
    if w != width:
        idx, wt = _axis_taps(w, width)
        x = (x[:, idx] * wt[None, :, :, None]).sum(axis=2)  # (height, width, taps, c) -> (height, width, c)
    return np.ascontiguousarray(x, dtype=np.float32)


def _normalize_transposed(batch_hwc: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) RGB -> (N, 3, W, H) float32 in [-1, 1]: the transposed layout MTCNN was trained on."""
    return np.ascontiguousarray(((batch_hwc - 127.5) * 0.0078125).transpose(0, 3, 2, 1), dtype=np.float32)


# --------------------------------------------------------------------------------------- box helpers


def nms(boxes: np.ndarray, threshold: float, method: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression of rows ``x1, y1, x2, y2, score, ...``; returns kept indices."""
    if boxes.shape[0] == 0:
        return np.zeros(0, np.int64)
    x1, y1, x2, y2, s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(s, kind="stable")
    keep = []
    while order.size:
        i = order[-1]
        keep.append(i)
        rest = order[:-1]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        if method == "min":
            overlap = inter / np.minimum(area[i], area[rest])
        else:
            overlap = inter / (area[i] + area[rest] - inter)
        order = rest[overlap <= threshold]
    return np.asarray(keep, np.int64)


def _bbreg(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Applies the box regression (offsets in units of the box size) to ``boxes[:, :4]``."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out[:, 0:4] = boxes[:, 0:4] + reg[:, 0:4] * np.stack([w, h, w, h], axis=1)
    return out


def _square(boxes: np.ndarray) -> np.ndarray:
    """Grows every box to a square around its centre (Matlab ``rerec``)."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _crops(img: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(N, size, size, 3) crops of integer 1-based inclusive boxes, zero outside the image."""
    h, w = img.shape[:2]
    out = np.zeros((boxes.shape[0], size, size, 3), np.float32)
    for k, (x1, y1, x2, y2) in enumerate(boxes[:, :4].astype(np.int64)):
        bw, bh = x2 - x1 + 1, y2 - y1 + 1
        tmp = np.zeros((bh, bw, 3), np.float32)
        sx1, sy1, sx2, sy2 = max(x1, 1), max(y1, 1), min(x2, w), min(y2, h)
        if sx2 >= sx1 and sy2 >= sy1:
            tmp[sy1 - y1 : sy2 - y1 + 1, sx1 - x1 : sx2 - x1 + 1] = img[sy1 - 1 : sy2, sx1 - 1 : sx2]
        out[k] = resample(tmp, size, size)
    return out


# --------------------------------------------------------------------------------------- detector


class FaceDetector:
    """MTCNN cascade running the three bundled Caffe models on xnn.

    Args:
        num_threads: threads of each model (None: one per core).
        min_face: smallest face side searched for, in pixels.
        thresholds: face-probability thresholds of P-Net, R-Net and O-Net.
        factor: scale step of the image pyramid.
    """

    def __init__(
        self,
        num_threads: Optional[int] = None,
        min_face: float = 20.0,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        models_dir: Path = MODELS_DIR,
    ) -> None:
        if min_face < 12:
            raise ValueError(f"min_face must be >= 12 pixels (the P-Net window), got {min_face}")
        self.pnet = Model.load(models_dir / "det1.prototxt", models_dir / "det1.caffemodel", num_threads=num_threads)
        self.rnet = Model.load(models_dir / "det2.prototxt", models_dir / "det2.caffemodel", num_threads=num_threads)
        self.onet = Model.load(models_dir / "det3.prototxt", models_dir / "det3.caffemodel", num_threads=num_threads)
        self.min_face = float(min_face)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.factor = float(factor)

    @property
    def num_threads(self) -> int:
        return self.pnet.num_threads

    def scales(self, height: int, width: int) -> List[float]:
        """Pyramid scales: the min face maps to 12 px, then steps of ``factor`` while the image is >= 12 px."""
        m = 12.0 / self.min_face
        side = min(height, width) * m
        out = []
        while side >= 12:
            out.append(m * self.factor ** len(out))
            side *= self.factor
        return out

    def detect(self, image: np.ndarray) -> Detection:
        """Finds the faces of an HxWx3 RGB ``uint8`` image."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
        img = image.astype(np.float32)
        h, w = img.shape[:2]
        det = Detection(faces=[])
        t_total = time.perf_counter()

        # ---- stage 1: P-Net on every pyramid level
        t0 = time.perf_counter()
        stride, cell = 2, 12
        boxes = np.zeros((0, 9), np.float64)
        for scale in self.scales(h, w):
            hs, ws = int(np.ceil(h * scale)), int(np.ceil(w * scale))
            det.scales.append(scale)
            det.pnet_sizes.append((hs, ws))
            out = self.pnet.run({"data": _normalize_transposed(resample(img, hs, ws)[None])})
            prob = out["prob1"][0, 1]  # [x, y]
            reg = out["conv4-2"][0]  # [4, x, y]: dx1, dy1, dx2, dy2
            xs, ys = np.nonzero(prob >= self.thresholds[0])
            if xs.size == 0:
                continue
            q1x = np.fix((stride * xs + 1) / scale)
            q1y = np.fix((stride * ys + 1) / scale)
            q2x = np.fix((stride * xs + cell) / scale)
            q2y = np.fix((stride * ys + cell) / scale)
            level = np.column_stack([q1x, q1y, q2x, q2y, prob[xs, ys], reg[:, xs, ys].T]).astype(np.float64)
            level = level[nms(level, 0.5)]
            boxes = np.vstack([boxes, level])
        if boxes.shape[0]:
            boxes = boxes[nms(boxes, 0.7)]
            boxes = _square(_bbreg(boxes[:, :5], boxes[:, 5:9]))
            boxes[:, :4] = np.fix(boxes[:, :4])
        boxes = boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])] if boxes.shape[0] else boxes
        det.candidates["pnet"] = int(boxes.shape[0])
        det.times_ms["pnet"] = (time.perf_counter() - t0) * 1e3

        # ---- stage 2: R-Net on 24x24 crops, one batch
        t0 = time.perf_counter()
        if boxes.shape[0]:
            out = self.rnet.run({"data": _normalize_transposed(_crops(img, boxes, 24))})
            score = out["prob1"][:, 1]
            keep = score > self.thresholds[1]
            boxes = np.column_stack([boxes[keep, :4], score[keep]]).astype(np.float64)
            reg = out["conv5-2"][keep].astype(np.float64)
            if boxes.shape[0]:
                pick = nms(boxes, 0.7)
                boxes = _square(_bbreg(boxes[pick], reg[pick]))
        det.candidates["rnet"] = int(boxes.shape[0])
        det.times_ms["rnet"] = (time.perf_counter() - t0) * 1e3

        # ---- stage 3: O-Net on 48x48 crops: score, box, landmarks
        t0 = time.perf_counter()
        if boxes.shape[0]:
            boxes[:, :4] = np.fix(boxes[:, :4])
            out = self.onet.run({"data": _normalize_transposed(_crops(img, boxes, 48))})
            score = out["prob1"][:, 1]
            keep = score > self.thresholds[2]
            boxes = np.column_stack([boxes[keep, :4], score[keep]]).astype(np.float64)
            reg = out["conv6-2"][keep].astype(np.float64)
            pts = out["conv6-3"][keep].astype(np.float64)  # 5 x then 5 y, in units of the box
            bw = boxes[:, 2] - boxes[:, 0] + 1
            bh = boxes[:, 3] - boxes[:, 1] + 1
            px = bw[:, None] * pts[:, 0:5] + boxes[:, 0:1] - 1
            py = bh[:, None] * pts[:, 5:10] + boxes[:, 1:2] - 1
            if boxes.shape[0]:
                boxes = _bbreg(boxes, reg)
                pick = nms(boxes, 0.7, "min")
                boxes, px, py = boxes[pick], px[pick], py[pick]
            for b, lx, ly in zip(boxes, px, py):
                det.faces.append(
                    Face(
                        box=(float(b[0] - 1), float(b[1] - 1), float(b[2]), float(b[3])),
                        score=float(b[4]),
                        landmarks=np.stack([lx, ly], axis=1),
                    )
                )
        det.candidates["onet"] = len(det.faces)
        det.times_ms["onet"] = (time.perf_counter() - t0) * 1e3
        det.times_ms["total"] = (time.perf_counter() - t_total) * 1e3
        return det


def load_sample_image() -> np.ndarray:
    """The bundled 256x256 RGB photo (NASA portrait of astronaut Eileen Collins, public domain)."""
    return np.load(SAMPLE_IMAGE)


def format_detection(det: Detection, image_shape: Sequence[int]) -> str:
    """Human-readable report of a :class:`Detection`."""
    lines = []
    sizes = ", ".join(f"{hs}x{ws}" for hs, ws in det.pnet_sizes)
    lines.append(f"P-Net pyramid: {len(det.scales)} levels ({sizes}), {det.candidates.get('pnet', 0)} candidates")
    lines.append(f"R-Net kept {det.candidates.get('rnet', 0)}, O-Net kept {det.candidates.get('onet', 0)}")
    lines.append("")
    lines.append(f"{len(det.faces)} face(s) found in the {image_shape[1]}x{image_shape[0]} image:")
    for i, f in enumerate(det.faces, 1):
        x1, y1, x2, y2 = f.box
        lines.append(
            f"  face {i}: box x={x1:.1f}..{x2:.1f} y={y1:.1f}..{y2:.1f} "
            f"({x2 - x1:.0f}x{y2 - y1:.0f} px), probability {f.score:.5f}"
        )
        for name, (lx, ly) in zip(LANDMARK_NAMES, f.landmarks):
            lines.append(f"    {name:<12} ({lx:6.1f}, {ly:6.1f})")
    return "\n".join(lines)

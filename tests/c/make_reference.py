#!/usr/bin/env python3
"""Writes the reference outputs of tests/c/test_c_api.c (run once; the outputs are committed).

The reference is OpenCV DNN (cv2.dnn.readNetFromCaffe) running the real MTCNN det1 (PNet) on a
deterministic input that test_c_api.c computes identically (``lcg_input`` below, mirrored in C).

Each case writes one file per output under tests/data/c/:
    det1_<N>x<C>x<H>x<W>.<output>.f32
little-endian: int32 ndim, int32 dims[ndim], then float32 values (C order).

Usage: python tests/c/make_reference.py   (from any directory)
"""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MTCNN = ROOT / "python" / "xnn" / "models" / "mtcnn"
OUT_DIR = ROOT / "tests" / "data" / "c"

#: Input shapes of the reference cases: the declared one, and batch 2 at a 40x31 spatial size.
CASES = [(1, 3, 12, 12), (2, 3, 40, 31)]
OUTPUTS = ["conv4-2", "prob1"]


def lcg_input(shape) -> np.ndarray:
    """x[i] = ((s_i >> 8) / 2^24) * 2 - 1 with s_{i} = 1664525 * s_{i-1} + 1013904223 mod 2^32, s_{-1} = 12345.

    Every value is exactly representable in float32, so C and Python agree bit for bit.
    """
    n = int(np.prod(shape))
    out = np.empty(n, dtype=np.float32)
    s = 12345
    for i in range(n):
        s = (1664525 * s + 1013904223) & 0xFFFFFFFF
        out[i] = np.float32((s >> 8) / 16777216.0 * 2.0 - 1.0)
    return out.reshape(shape)


def write_f32(path: Path, arr: np.ndarray) -> None:
    arr = np.ascontiguousarray(arr, dtype="<f4")
    with open(path, "wb") as f:
        f.write(struct.pack("<i", arr.ndim))
        f.write(struct.pack(f"<{arr.ndim}i", *arr.shape))
        f.write(arr.tobytes())


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    net = cv2.dnn.readNetFromCaffe(str(MTCNN / "det1.prototxt"), str(MTCNN / "det1.caffemodel"))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    for shape in CASES:
        x = lcg_input(shape)
        net.setInput(x, "data")
        outs = net.forward(OUTPUTS)
        tag = "x".join(str(d) for d in shape)
        for name, y in zip(OUTPUTS, outs):
            path = OUT_DIR / f"det1_{tag}.{name}.f32"
            write_f32(path, y)
            print(f"{path.relative_to(ROOT)}: shape {tuple(y.shape)}, first {y.ravel()[:3]}")


if __name__ == "__main__":
    main()

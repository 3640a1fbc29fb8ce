"""Quantization of weights.

- k-means weight sharing (Deep Compression): the nonzero weights of a layer are clustered into 2^bits
  centroids (linear initialization over [min, max], which keeps the rare large weights represented); each
  weight is stored as the index of its centroid, and fine-tuning then trains the centroids.
- int8 linear: per output channel, w ~ scale * q with q in [-127, 127].
"""

from __future__ import annotations

from typing import Tuple

import numpy as np


def kmeans_1d(values: np.ndarray, k: int, iterations: int = 50) -> Tuple[np.ndarray, np.ndarray]:
    """Centroids (sorted, float32) and the index of each value's centroid. Lloyd's algorithm in one
    dimension: sorted centroids make the assignment a search among midpoints."""
    v = np.asarray(values, np.float64).reshape(-1)
    if v.size == 0:
        return np.zeros(1, np.float32), np.zeros(0, np.int64)
    distinct = np.unique(v)
    if distinct.size <= int(k):  # every value its own centroid: exact
        return distinct.astype(np.float32), np.searchsorted(distinct, v)
    lo, hi = float(v.min()), float(v.max())
    k = max(1, int(k))
    c = np.linspace(lo, hi, k) if k > 1 else np.array([v.mean()])
    idx = np.zeros(v.size, np.int64)
    for _ in range(iterations):
        idx = np.searchsorted((c[1:] + c[:-1]) / 2, v)
        sums = np.bincount(idx, weights=v, minlength=k)
        counts = np.bincount(idx, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        if np.allclose(new, c, rtol=0, atol=1e-12):
            break
        c = np.sort(new)
    idx = np.searchsorted((c[1:] + c[:-1]) / 2, v)
    # Drop centroids nothing maps to, so that the codebook holds only what the indices use.
    used = np.unique(idx)
    remap = np.zeros(k, np.int64)
    remap[used] = np.arange(used.size)
    return c[used].astype(np.float32), remap[idx]


def int8_linear(w: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-row symmetric int8: (scales [rows], q) with w ~ scales[row] * q."""
    rows = np.asarray(w, np.float32).reshape(w.shape[0], -1)
    amax = np.abs(rows).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.round(rows / scale[:, None]), -127, 127).astype(np.int8)
    return scale, q.reshape(w.shape)

"""Straightforward NumPy references of the Caffe layers xnn implements (float64, NCHW).

Each function follows the Caffe layer's definition directly (loops over kernel taps / output windows),
independent of how xnn computes it. Shapes follow Caffe's rules (including pooling's ceil rounding).
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np


def _pair(v) -> Tuple[int, int]:
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


# ------------------------------------------------------------------------------------ convolution

def conv_out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    """Caffe's convolution output size (floor)."""
    return (size + 2 * p - (d * (k - 1) + 1)) // s + 1


def conv2d(x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray], stride=1, pad=0, dilation=1,
           group: int = 1) -> np.ndarray:
    """Caffe Convolution: x (N, C, H, W), w (O, C/group, KH, KW), b (O,) or None."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    sh, sw = _pair(stride)
    ph, pw = _pair(pad)
    dh, dw = _pair(dilation)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    assert c == cg * group and o % group == 0
    og = o // group
    oh = conv_out_size(h, kh, sh, ph, dh)
    ow = conv_out_size(wd, kw, sw, pw, dw)
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    y = np.zeros((n, o, oh, ow))
    for g in range(group):
        xg = xp[:, g * cg:(g + 1) * cg]
        wg = w[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                r0, c0 = i * dh, j * dw
                patch = xg[:, :, r0:r0 + sh * (oh - 1) + 1:sh, c0:c0 + sw * (ow - 1) + 1:sw]  # (N, cg, OH, OW)
                y[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, wg[:, :, i, j])
    if b is not None:
        y += np.asarray(b, np.float64).reshape(1, o, 1, 1)
    return y


# ------------------------------------------------------------------------------------ inner product

def inner_product(x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray], axis: int = 1,
                  transpose: bool = False) -> np.ndarray:
    """Caffe InnerProduct: dims before ``axis`` are the batch, the rest is flattened into K.

    ``w`` is (N_out, K), or (K, N_out) when ``transpose``.
    """
    x = np.asarray(x, np.float64)
    axis = axis % x.ndim
    lead = x.shape[:axis]
    k = int(np.prod(x.shape[axis:]))
    w2 = np.asarray(w, np.float64).reshape(-1, k) if not transpose else np.asarray(w, np.float64).reshape(k, -1).T
    y = x.reshape(-1, k) @ w2.T
    if b is not None:
        y = y + np.asarray(b, np.float64).reshape(1, -1)
    return y.reshape(*lead, w2.shape[0])


# ------------------------------------------------------------------------------------ pooling

def pool_out_size(size: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    span = size + 2 * p - k
    return (math.ceil(span / s) if ceil_mode else span // s) + 1


def pool_out_shape(h: int, w: int, kernel, stride, pad, ceil_mode: bool = True) -> Tuple[int, int]:
    """Caffe PoolingLayer::Reshape: ceil (or floor) rounding; if any pad, the last window is dropped when
    it would start at or beyond the end of the input plus the leading pad (checked on both axes)."""
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride)
    ph, pw = _pair(pad)
    oh = pool_out_size(h, kh, sh, ph, ceil_mode)
    ow = pool_out_size(w, kw, sw, pw, ceil_mode)
    if ph or pw:
        if (oh - 1) * sh >= h + ph:
            oh -= 1
        if (ow - 1) * sw >= w + pw:
            ow -= 1
    return oh, ow


def pool2d(x: np.ndarray, method: str, kernel=None, stride=1, pad=0, global_pooling: bool = False,
           ceil_mode: bool = True) -> np.ndarray:
    """Caffe Pooling (MAX / AVE) with Caffe's window arithmetic.

    AVE divides by the window clipped to [-pad, size + pad) (padded taps count, taps beyond the padded
    input do not), summing only the real input taps; MAX takes the max over the window clipped to the input.
    """
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    if global_pooling:
        kernel, stride, pad = (h, w), 1, 0
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride)
    ph, pw = _pair(pad)
    oh, ow = pool_out_shape(h, w, (kh, kw), (sh, sw), (ph, pw), ceil_mode)
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        hs = i * sh - ph
        he = min(hs + kh, h + ph)
        for j in range(ow):
            ws = j * sw - pw
            we = min(ws + kw, w + pw)
            pool_size = (he - hs) * (we - ws)
            h0, h1 = max(hs, 0), min(he, h)
            w0, w1 = max(ws, 0), min(we, w)
            win = x[:, :, h0:h1, w0:w1]
            assert win.size > 0
            if method == "MAX":
                y[:, :, i, j] = win.max(axis=(2, 3))
            elif method == "AVE":
                y[:, :, i, j] = win.sum(axis=(2, 3)) / pool_size
            else:
                raise ValueError(method)
    return y


# ------------------------------------------------------------------------------------ activations

def relu(x, negative_slope: float = 0.0):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, x, x * negative_slope)


def prelu(x, slope):
    """Caffe PReLU: one slope per channel (axis 1), or a single shared slope."""
    x = np.asarray(x, np.float64)
    slope = np.asarray(slope, np.float64).ravel()
    if slope.size == 1:
        s = slope[0]
    else:
        s = slope.reshape((1, -1) + (1,) * (x.ndim - 2))
    return np.where(x > 0, x, x * s)


def sigmoid(x):
    x = np.asarray(x, np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow


def tanh(x):
    return np.tanh(np.asarray(x, np.float64))


# ------------------------------------------------------------------------------------ LRN

def lrn_across(x, local_size: int = 5, alpha: float = 1.0, beta: float = 0.75, k: float = 1.0):
    """y = x * (k + alpha/n * sum_{c' in [c - (n-1)/2, c + (n-1)/2]} x_{c'}^2)^-beta (zero outside)."""
    x = np.asarray(x, np.float64)
    n_, c = x.shape[:2]
    pre = (local_size - 1) // 2
    sq = x * x
    y = np.empty_like(x)
    for ch in range(c):
        lo, hi = max(ch - pre, 0), min(ch - pre + local_size, c)
        s = sq[:, lo:hi].sum(axis=1)
        y[:, ch] = x[:, ch] * (k + alpha / local_size * s) ** (-beta)
    return y


def lrn_within(x, local_size: int = 5, alpha: float = 1.0, beta: float = 0.75):
    """y = x * (1 + alpha/n^2 * sum over the n x n window centred at (h, w), zero padded)^-beta."""
    x = np.asarray(x, np.float64)
    n_, c, h, w = x.shape
    pre = (local_size - 1) // 2
    sq = np.zeros((n_, c, h + local_size - 1, w + local_size - 1))
    sq[:, :, pre:pre + h, pre:pre + w] = x * x
    s = np.zeros_like(x)
    for i in range(local_size):
        for j in range(local_size):
            s += sq[:, :, i:i + h, j:j + w]
    return x * (1.0 + alpha / (local_size * local_size) * s) ** (-beta)


# ------------------------------------------------------------------------------------ per channel

def _per_channel(v, ndim):
    return np.asarray(v, np.float64).reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm(x, mean, var, scale_factor: float, eps: float = 1e-5):
    """Caffe BatchNorm (use_global_stats): the stored statistics are divided by the scale factor."""
    x = np.asarray(x, np.float64)
    f = 0.0 if scale_factor == 0 else 1.0 / scale_factor
    m = _per_channel(mean, x.ndim) * f
    v = _per_channel(var, x.ndim) * f
    return (x - m) / np.sqrt(v + eps)


def scale(x, gamma, beta=None):
    x = np.asarray(x, np.float64)
    y = x * _per_channel(gamma, x.ndim)
    if beta is not None:
        y = y + _per_channel(beta, x.ndim)
    return y


def bias(x, beta):
    x = np.asarray(x, np.float64)
    return x + _per_channel(beta, x.ndim)


# ------------------------------------------------------------------------------------ multi-tensor

def eltwise(xs: Sequence[np.ndarray], operation: str = "SUM", coeff: Optional[Sequence[float]] = None):
    xs = [np.asarray(a, np.float64) for a in xs]
    if operation == "SUM":
        coeff = [1.0] * len(xs) if coeff is None else list(coeff)
        y = np.zeros_like(xs[0])
        for c, a in zip(coeff, xs):
            y = y + c * a
        return y
    if operation == "PROD":
        y = np.ones_like(xs[0])
        for a in xs:
            y = y * a
        return y
    if operation == "MAX":
        y = xs[0]
        for a in xs[1:]:
            y = np.maximum(y, a)
        return y
    raise ValueError(operation)


def concat(xs: Sequence[np.ndarray], axis: int = 1):
    return np.concatenate([np.asarray(a, np.float64) for a in xs], axis=axis)


def slice_(x, n_tops: int, axis: int = 1, slice_points: Optional[Sequence[int]] = None) -> List[np.ndarray]:
    """Caffe Slice: at the given points, or into ``n_tops`` equal parts."""
    x = np.asarray(x, np.float64)
    axis = axis % x.ndim
    if slice_points:
        bounds = [0] + list(slice_points) + [x.shape[axis]]
    else:
        step = x.shape[axis] // n_tops
        bounds = [i * step for i in range(n_tops + 1)]
    idx = [slice(None)] * x.ndim
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        idx[axis] = slice(a, b)
        out.append(x[tuple(idx)])
    return out


def softmax(x, axis: int = 1):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ------------------------------------------------------------------------------------ shapes

def flatten_shape(shape: Sequence[int], axis: int = 1, end_axis: int = -1) -> Tuple[int, ...]:
    nd = len(shape)
    a, e = axis % nd, end_axis % nd
    return tuple(shape[:a]) + (int(np.prod(shape[a:e + 1])),) + tuple(shape[e + 1:])


def reshape_shape(shape: Sequence[int], dims: Sequence[int], axis: int = 0, num_axes: int = -1) -> Tuple[int, ...]:
    """Caffe ReshapeLayer: dims [axis, axis + num_axes) of ``shape`` are replaced by ``dims``
    (0 copies the input dim at that position, -1 is inferred)."""
    nd = len(shape)
    start = axis if axis >= 0 else nd + axis + 1
    end = nd if num_axes == -1 else start + num_axes
    mid = []
    for i, d in enumerate(dims):
        mid.append(shape[start + i] if d == 0 else d)
    out = list(shape[:start]) + mid + list(shape[end:])
    total = int(np.prod(shape))
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1]))
        out[out.index(-1)] = total // known
    assert int(np.prod(out)) == total
    return tuple(out)


# ------------------------------------------------------------------------------------ recurrent

def lstm(x, w, r, b, *, hidden: int, direction: str = "forward", cont=None, x_static=None, w_static=None,
         seq_lens=None, h0=None, c0=None, clip: float = 0.0):
    """Time-major LSTM with Caffe's gates and markers and ONNX's options, one step at a time.

    x (T, N, ...) flattened to I per step; w (D, 4H, I), r (D, 4H, H), b (D, 4H), gates in the order
    i, f, o, g. ``cont`` (T, N): Caffe's clip markers, multiplying h_{t-1} before the recurrent product and
    c_{t-1} in the update. ``x_static`` (N, S) with ``w_static`` (D, 4H, S): Caffe's static input, added
    to every step's gates. ``seq_lens`` (N,): ONNX lengths (steps past them give 0 and keep the state).
    ``h0``/``c0`` (D, N, H). ``clip`` > 0 clamps the pre-activations. Returns Y (T, D, N, H), Y_h and Y_c
    (D, N, H).
    """
    x = np.asarray(x, np.float64)
    t_len, n = x.shape[:2]
    x = x.reshape(t_len, n, -1)
    h = hidden
    dirs = ["forward", "reverse"] if direction == "bidirectional" else [direction]
    y = np.zeros((t_len, len(dirs), n, h))
    yh = np.zeros((len(dirs), n, h))
    yc = np.zeros((len(dirs), n, h))
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    for d, name in enumerate(dirs):
        wd, rd, bd = (np.asarray(a, np.float64)[d] for a in (w, r, b))
        hs = np.zeros((n, h)) if h0 is None else np.array(h0, np.float64)[d]
        cs = np.zeros((n, h)) if c0 is None else np.array(c0, np.float64)[d]
        steps = range(t_len - 1, -1, -1) if name == "reverse" else range(t_len)
        for t in steps:
            for i in range(n):
                if seq_lens is not None and t >= seq_lens[i]:
                    continue
                hp, cp = hs[i], cs[i]
                if cont is not None:
                    hp, cp = hp * cont[t][i], cp * cont[t][i]
                g = wd @ x[t, i] + rd @ hp + bd
                if x_static is not None:
                    g = g + np.asarray(w_static, np.float64)[d] @ np.asarray(x_static, np.float64)[i].ravel()
                if clip > 0:
                    g = np.clip(g, -clip, clip)
                gi, gf, go, gg = sig(g[:h]), sig(g[h:2 * h]), sig(g[2 * h:3 * h]), np.tanh(g[3 * h:])
                cs[i] = gf * cp + gi * gg
                hs[i] = go * np.tanh(cs[i])
                y[t, d, i] = hs[i]
        yh[d], yc[d] = hs, cs
    return y, yh, yc


def embed(x, w, b=None):
    """Caffe Embed: each value of x picks a row of w (plus b); values that are not integers in
    [0, len(w)) give zeros (xnn's rule for what Caffe leaves undefined)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    out = np.zeros(x.shape + (w.shape[1],))
    flat = out.reshape(-1, w.shape[1])
    for k, v in enumerate(x.ravel()):
        if v == np.floor(v) and 0 <= v < w.shape[0]:
            flat[k] = w[int(v)] + (0 if b is None else np.asarray(b, np.float64))
    return out

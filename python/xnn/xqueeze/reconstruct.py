"""Post-training, layer-by-layer compression with error compensation (Optimal Brain Surgeon style).

A layer's weights ``W`` (per group: ``O`` outputs by ``K`` inputs, a convolution's inputs being its im2col
rows) are judged by what they do to the layer's output on calibration inputs: with ``H`` the covariance of
the inputs, changing a row ``w`` by ``d`` adds ``d H d^T`` to its squared output error. Columns are pruned
and snapped to the layer's codebook one at a time; the error that each column's change causes is
compensated by moving the columns not yet fixed along the inverse Hessian (the OBS update,
``W[:, j+1:] -= e_j / U_jj * U[j, j+1:]`` with ``U`` the upper Cholesky factor of ``H^-1``). Which
weights are pruned is decided block by block from the OBS saliency ``w^2 / U_jj^2``.

Around that core, for a whole network (:func:`reconstruct_graph`):

- the inputs come from the network compressed so far, and the target is the uncompressed layer applied to
  the uncompressed network's inputs: the layer is first refitted (ridge least squares) to map the compressed
  network's inputs to the original outputs, so each layer also repairs what the layers before it lost;
- a layer followed by a per-channel Affine (BatchNorm) has each output channel scaled to unit RMS, its scale
  moving into the Affine: one per-tensor codebook then serves channels of very different magnitudes;
- bias correction: each channel's mean output on the calibration inputs is set to the original's (through
  the Affine's shift, or the layer's bias);
- optionally the centroids are refitted by least squares under ``H`` once the assignment is fixed.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

import numpy as np

from ..format import CodedWeight
from ..graph import Graph, Node
from .quantize import kmeans_1d

IDENTITY_ACT = [1.0, float("-inf"), float("inf")]


@dataclasses.dataclass
class LayerSpec:
    """What one layer becomes: a fraction of its weights set to zero, the rest on a ``2^bits`` codebook:
    k-means centroids, or with ``step`` > 0 a uniform grid of that spacing around zero (in units of the
    layer's weight RMS; used levels only). A uniform grid with more levels than the rate needs, entropy-coded
    by the Huffman stage, gives a lower error per stored bit than a k-means codebook of fewer levels."""

    sparsity: float = 0.0
    bits: int = 8
    step: float = 0.0


def obs_compress(w: np.ndarray, h: np.ndarray, sparsity: float, centroids: Optional[np.ndarray],
                 damp: float = 0.01, block: int = 64) -> Tuple[np.ndarray, np.ndarray]:
    """Prunes and quantizes ``w`` (groups, outputs, inputs) with OBS compensation under Hessians ``h``
    (groups, inputs, inputs). ``sparsity`` of each group's weights become zero (exactly, up to rounding of
    the count); every other weight becomes the nearest of ``centroids`` (``None``: kept as is). Returns the
    new weights and the 0/1 mask of the kept ones."""
    w = np.array(w, np.float64)
    g, o, k = w.shape
    h = np.array(h, np.float64)
    diag = np.einsum("gii->gi", h)
    dead = diag <= 0
    # Inputs that never fire carry nothing: their weights go to zero and the Hessian stays invertible.
    w[np.repeat(dead[:, None, :], o, axis=1)] = 0.0
    h[:, np.arange(k), np.arange(k)] += np.where(dead, 1.0, 0.0) + damp * np.maximum(diag.mean(1, keepdims=True), 1e-12)
    u = np.linalg.cholesky(np.linalg.inv(h)).transpose(0, 2, 1)  # upper factor of H^-1
    ud = np.einsum("gii->gi", u)
    mask = np.ones_like(w)
    cents = None if centroids is None else np.sort(np.asarray(centroids, np.float64))
    mids = None if cents is None else (cents[1:] + cents[:-1]) / 2
    pruned_so_far = np.zeros(g, np.int64)
    for j in range(k):
        if sparsity > 0 and j % block == 0:
            end = min(k, j + block)
            # Cumulative rounding keeps each group's final count exact.
            want = int(round(sparsity * o * end)) - pruned_so_far
            sal = (w[:, :, j:end] ** 2 / ud[:, None, j:end] ** 2).reshape(g, -1)
            order = np.argsort(sal, axis=1, kind="stable")
            m = np.ones_like(sal)
            for gi in range(g):
                m[gi, order[gi, : max(0, int(want[gi]))]] = 0.0
            mask[:, :, j:end] = m.reshape(g, o, end - j)
            pruned_so_far += (m == 0).sum(1)
        col = w[:, :, j]
        q = col if cents is None else cents[np.searchsorted(mids, col)]
        q = q * mask[:, :, j]
        err = (col - q) / ud[:, j, None]
        w[:, :, j] = q
        if j + 1 < k:
            w[:, :, j + 1 :] -= err[:, :, None] * u[:, None, j, j + 1 :]
    return w, mask


def refit_centroids(target: np.ndarray, h: np.ndarray, idx: np.ndarray, mask: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` centroid values that minimize sum over rows of ``(target - W) H (target - W)^T`` with
    ``W[i] = c[idx[i]] * mask[i]`` (the assignment fixed): a ``count`` x ``count`` linear system."""
    a = np.zeros((count, count))
    b = np.zeros(count)
    proj = []
    for c in range(count):
        m = ((idx == c) & (mask > 0)).astype(np.float64)
        p = np.matmul(m, h)
        proj.append((m, p))
        b[c] = float(np.sum(p * target))
    for c1, (_, p1) in enumerate(proj):
        for c2, (m2, _) in enumerate(proj):
            a[c1, c2] = float(np.sum(p1 * m2))
    a[np.arange(count), np.arange(count)] += 1e-9 * max(1e-30, float(np.abs(np.diag(a)).max()))
    return np.linalg.solve(a, b)


# ------------------------------------------------------------------------------ statistics of a layer's inputs


def _groups(node: Node) -> int:
    return int(node.attrs.get("group", [1])[0]) if node.op == "Convolution" else 1


def _columns(node: Node, x):
    """im2col of ``x`` for ``node``: (batch, groups, inputs per group, positions)."""
    import torch.nn.functional as F

    if node.op == "InnerProduct":
        axis = int(node.attrs.get("axis", [1])[0])
        if axis != 1:
            raise ValueError(f"layer '{node.name}': reconstruction needs axis 1")
        return x.reshape(x.shape[0], 1, -1, 1)
    a = node.attrs
    kh, kw = (int(v) for v in a.get("kernel", [1, 1]))
    pad = [int(v) for v in a.get("pad", [0, 0, 0, 0])]
    if pad[0] != pad[2] or pad[1] != pad[3]:
        x = F.pad(x, (pad[1], pad[3], pad[0], pad[2]))
        pad = [0, 0, 0, 0]
    cols = F.unfold(x, (kh, kw), dilation=tuple(int(v) for v in a.get("dilation", [1, 1])),
                    padding=(pad[0], pad[1]), stride=tuple(int(v) for v in a.get("stride", [1, 1])))
    g = _groups(node)
    return cols.reshape(x.shape[0], g, cols.shape[1] // g, cols.shape[2])


@dataclasses.dataclass
class _Stats:
    """Centered second moments of a layer's inputs (compressed network's ``s``, original's ``t``)."""

    h: np.ndarray  # (G, K, K): sum of (x_s - mean_s)(x_s - mean_s)^T
    m: np.ndarray  # (G, K, K): sum of (x_t - mean_t)(x_s - mean_s)^T
    mean_s: np.ndarray  # (G, K)
    mean_t: np.ndarray  # (G, K)


def layer_stats(node: Node, x_s, x_t, budget: int = 1 << 27) -> _Stats:
    """Input statistics of ``node`` for the compressed network's input ``x_s`` and the original's ``x_t``
    (torch tensors, same images), im2col'ed a few images at a time."""
    import torch

    per_image = int(np.prod(_columns(node, x_s[:1]).shape)) * 4
    step = max(1, budget // max(1, per_image))
    hh = mm = ss = st = None
    rows = 0
    for i in range(0, x_s.shape[0], step):
        cs = _columns(node, x_s[i : i + step]).permute(1, 2, 0, 3).flatten(2)  # (G, K, rows)
        ct = _columns(node, x_t[i : i + step]).permute(1, 2, 0, 3).flatten(2)
        h = torch.bmm(cs, cs.transpose(1, 2)).double()
        m = torch.bmm(ct, cs.transpose(1, 2)).double()
        a, b = cs.double().sum(2), ct.double().sum(2)
        hh, mm = (h, m) if hh is None else (hh + h, mm + m)
        ss, st = (a, b) if ss is None else (ss + a, st + b)
        rows += cs.shape[2]
    mean_s, mean_t = ss / rows, st / rows
    h = hh - rows * mean_s[:, :, None] * mean_s[:, None, :]
    m = mm - rows * mean_t[:, :, None] * mean_s[:, None, :]
    return _Stats(h.numpy(), m.numpy(), mean_s.numpy(), mean_t.numpy())


# ------------------------------------------------------------------------------ one layer of a graph


def _affine_after(graph: Graph, node: Node) -> Optional[Node]:
    """The per-channel Affine that alone reads ``node``'s output, if ``node`` has no activation of its own."""
    act = node.attrs.get("activation")
    if act is not None and [float(v) for v in act] != IDENTITY_ACT:
        return None
    out = node.outputs[0]
    readers = [n for n in graph.nodes if out in n.inputs]
    if len(readers) != 1 or out in graph.outputs or readers[0].op != "Affine":
        return None
    aff = readers[0]
    if len(aff.weights) != 2 or np.size(aff.weights[0]) != np.shape(node.weights[0])[0]:
        return None
    return aff


def _dense(w) -> np.ndarray:
    return w.dense() if isinstance(w, CodedWeight) else np.asarray(w, np.float32)


def compress_layer(graph: Graph, node: Node, stats: _Stats, spec: LayerSpec, damp: float = 0.01,
                   refit: bool = True, refit_codebook: bool = True, block: int = 64) -> Tuple[np.ndarray, np.ndarray]:
    """Compresses ``node`` of ``graph`` in place from its input statistics: its weight becomes a
    :class:`CodedWeight` codebook (sparse when pruned), its bias (or the following Affine's shift) is
    corrected. Returns (centroids, full index array) of the codebook and the 0/1 mask."""
    w0 = _dense(node.weights[0]).astype(np.float64)
    shape = w0.shape
    g = _groups(node)
    o = shape[0] // g
    w = w0.reshape(g, o, -1)
    k = w.shape[2]
    lam = damp * np.maximum(np.einsum("gii->gi", stats.h).mean(1), 1e-12)[:, None, None]
    eye = np.eye(k)[None]
    if refit:
        # Ridge towards the original weights: what the compressed inputs need to give the original outputs.
        target = np.einsum("gok,gkm->gom", w, stats.m + lam * eye) @ np.linalg.inv(stats.h + lam * eye)
    else:
        target = w.copy()
    aff = _affine_after(graph, node)
    if aff is not None:
        rms = np.sqrt((target ** 2).mean(2))
        scale = np.where(rms > 0, rms, 1.0)  # (G, O)
    else:
        scale = np.ones((g, o))
    v = target / scale[:, :, None]
    if not 1 <= int(spec.bits) <= 16 or not 0 <= spec.sparsity < 1:
        raise ValueError(f"layer '{node.name}': bits must be 1..16 and sparsity in [0, 1)")
    # The codebook from the weights OBS would keep (the lowest saliencies pruned).
    hinv_d = np.einsum("gii->gi", np.linalg.inv(stats.h + lam * eye))
    sal = (v ** 2 / hinv_d[:, None, :]).reshape(-1)
    keep = sal >= np.quantile(sal, spec.sparsity) if spec.sparsity > 0 else slice(None)
    if spec.step > 0:
        count = 1 << int(spec.bits)
        rms = float(np.sqrt(np.mean(v.reshape(-1)[keep] ** 2)))
        cents = spec.step * rms * (np.arange(count) - count // 2)
    else:
        cents, _ = kmeans_1d(v.reshape(-1)[keep], 1 << int(spec.bits))
    q, mask = obs_compress(v, stats.h, spec.sparsity, cents, damp, block)
    cents = np.sort(np.asarray(cents, np.float64))
    idx = np.zeros(q.shape, np.int64)
    idx[mask > 0] = np.searchsorted((cents[1:] + cents[:-1]) / 2, q[mask > 0])
    used = np.unique(idx[mask > 0])  # a grid's unused levels are dropped
    remap = np.zeros(len(cents), np.int64)
    remap[used] = np.arange(len(used))
    cents, idx = cents[used], np.where(mask > 0, remap[idx], 0)
    if refit_codebook and len(cents) <= 16:
        hd = stats.h + lam * eye
        cents = refit_centroids(v, hd, idx, mask, len(cents))
        q = cents[idx] * mask
    q = q * scale[:, :, None]
    # Bias correction: each channel's mean output equals the original's.
    has_bias = int(node.attrs.get("bias", [1])[0]) and len(node.weights) > 1
    bias = _dense(node.weights[1]).astype(np.float64).reshape(g, o) if has_bias else np.zeros((g, o))
    want = np.einsum("gok,gk->go", w, stats.mean_t) + bias
    got = np.einsum("gok,gk->go", q, stats.mean_s)
    if aff is not None:
        a, b = (_dense(x).astype(np.float64).reshape(g, o) for x in aff.weights)
        new_a = (a * scale).astype(np.float32)
        new_b = a * want + b - new_a.astype(np.float64) * (got / scale + (bias / scale if has_bias else 0.0))
        if has_bias:
            node.weights[1] = (bias / scale).reshape(-1).astype(np.float32)
        aff.weights = [new_a.reshape(-1), new_b.reshape(-1).astype(np.float32)]
    else:
        new_bias = (want - got).reshape(-1).astype(np.float32)
        if has_bias:
            node.weights[1] = new_bias
        else:
            node.weights = [node.weights[0], new_bias]
            node.attrs["bias"] = [1]
    cents32 = cents.astype(np.float32)
    full_idx = idx.reshape(shape)
    flat_mask = mask.reshape(-1)
    pos = np.flatnonzero(flat_mask) if flat_mask.min() == 0 else None
    flat_idx = full_idx.reshape(-1)
    node.weights[0] = CodedWeight(shape, pos, centroids=cents32, indices=flat_idx if pos is None else flat_idx[pos])
    node.num_params = 0
    return (cents32, full_idx), mask.reshape(shape).astype(np.float32)


def reconstruct_graph(graph: Graph, specs: Dict[str, LayerSpec], x, damp: float = 0.01, refit: bool = True,
                      refit_codebook: bool = True, log=None) -> Dict[str, tuple]:
    """Compresses the layers of ``specs`` in ``graph`` (in place), in network order, from calibration
    inputs ``x`` (numpy, a batch of the network's input). Returns name -> ((centroids, indices), mask)."""
    import torch

    from .torchnet import TorchNet

    original = TorchNet(_copy(graph))
    student = TorchNet(graph)
    last_use: Dict[int, int] = {}
    for i, n in enumerate(graph.nodes):
        for t in n.inputs:
            last_use[t] = i
    inp = graph.inputs[0][0]
    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    tt: Dict[int, object] = {inp: xt}
    ts: Dict[int, object] = {inp: xt}
    done = {}
    with torch.no_grad():
        for i, n in enumerate(graph.nodes):
            if n.name in specs:
                aff = _affine_after(graph, n)
                st = layer_stats(n, ts[n.inputs[0]], tt[n.inputs[0]])
                done[n.name] = compress_layer(graph, n, st, specs[n.name], damp, refit, refit_codebook)
                for m in (n, aff):
                    if m is not None:
                        _reload(student, graph, m)
                if log:
                    log(f"{n.name}: {specs[n.name].sparsity:.2f} sparse, {len(done[n.name][0][0])} centroids")
            for tid, v in zip(n.outputs, original._node(n, [tt[t] for t in n.inputs])):
                tt[tid] = v
            for tid, v in zip(n.outputs, student._node(n, [ts[t] for t in n.inputs])):
                ts[tid] = v
            for t in n.inputs:
                if last_use.get(t) == i and t not in graph.outputs:
                    tt.pop(t, None)
                    ts.pop(t, None)
    return done


def _copy(graph: Graph) -> Graph:
    import copy

    return copy.deepcopy(graph)


def _reload(net, graph: Graph, node: Node) -> None:
    """``net``'s parameters of ``node`` from the graph (after its weights changed)."""
    import torch
    from torch import nn

    net.weights[node.name] = nn.ParameterList([nn.Parameter(torch.tensor(_dense(w))) for w in node.weights])

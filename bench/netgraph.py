"""A Caffe net as a small inference graph, for the runtimes the bench writes models for itself.

ncnn, TFLite and torch get their model from this graph (``bench/exporters.py``), built from the
same prototxt and caffemodel that xnn and OpenCV read. Lowering does what an inference converter
does (what ncnn's caffe2ncnn + ncnnoptimize or the TFLite converter do):

- BatchNorm and Scale layers are folded into the preceding Convolution / InnerProduct (weights and
  bias rescaled in float64, then rounded to float32) when that layer's output feeds nothing else;
  otherwise they become one per-channel ``affine`` op (x * scale + bias);
- ReLU is fused into the preceding conv / fc / add / affine op when it is that op's only consumer;
- Split and Dropout (inference: identity) disappear (the tensor is simply used twice);
- Pooling keeps Caffe's geometry (kernel, stride, symmetric pad, ceil-rounded output size); the
  exporters reproduce the rounding with each runtime's own means.

Ops (``Op.kind``): conv, fc, pool, affine, relu, concat, add, softmax, lrn. Tensors are named
in SSA form (an in-place Caffe blob gets a new tensor name at every write); shapes are NCHW with
batch 1. Anything else raises :class:`caffe_tools.UnsupportedLayerError`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import sys
from pathlib import Path

import numpy as np

_TESTS_DIR = Path(__file__).resolve().parent.parent / "tests"
if str(_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIR))

import caffe_tools  # noqa: E402  (tests/caffe_tools.py)

Unsupported = caffe_tools.UnsupportedLayerError


@dataclass
class Op:
    kind: str
    name: str                       # Caffe layer name (of the first layer the op comes from)
    inputs: List[str]
    output: str
    shape: Tuple[int, ...]          # NCHW output shape (batch 1)
    attrs: Dict = field(default_factory=dict)
    relu: bool = False              # fused ReLU on the output


@dataclass
class Graph:
    input: str
    input_shape: Tuple[int, ...]
    ops: List[Op]
    outputs: Dict[str, str]         # Caffe output blob -> tensor name
    shapes: Dict[str, Tuple[int, ...]]   # tensor -> NCHW shape

    def producers(self) -> Dict[str, Op]:
        return {op.output: op for op in self.ops}

    def consumers(self) -> Dict[str, int]:
        """tensor -> number of uses (op inputs, graph outputs count as uses)."""
        n: Dict[str, int] = {}
        for op in self.ops:
            for t in op.inputs:
                n[t] = n.get(t, 0) + 1
        for t in self.outputs.values():
            n[t] = n.get(t, 0) + 1
        return n

    def summary(self) -> Dict[str, int]:
        out: Dict[str, int] = {}
        for op in self.ops:
            k = op.kind + ("+relu" if op.relu else "")
            out[k] = out.get(k, 0) + 1
        return out


def _affine_of(l, W) -> Tuple[np.ndarray, np.ndarray]:
    """(scale, bias) in float64 of a BatchNorm or a one-input Scale layer."""
    m = l.msg
    if l.type == "BatchNorm":
        sf = float(W[2].reshape(-1)[0])
        sf = 0.0 if sf == 0 else 1.0 / sf
        mean = W[0].astype(np.float64) * sf
        var = W[1].astype(np.float64) * sf
        scale = 1.0 / np.sqrt(var + float(m.batch_norm_param.eps))
        return scale, -mean * scale
    p = m.scale_param
    if len(l.bottoms) != 1:
        raise Unsupported(f"Scale {l.name!r} with a second bottom")
    axis = p.axis if p.axis >= 0 else p.axis + len(l.bottom_shapes[0])
    if axis != 1 or W[0].size != l.bottom_shapes[0][1]:
        raise Unsupported(f"Scale {l.name!r}: only per-channel scales supported")
    scale = W[0].reshape(-1).astype(np.float64)
    bias = W[1].reshape(-1).astype(np.float64) if p.bias_term else np.zeros_like(scale)
    return scale, bias


def lower(prototxt, caffemodel, input_shape) -> Graph:
    """Caffe net (batch-1 ``input_shape``) -> fused :class:`Graph` (see the module docstring)."""
    net = caffe_tools.load_prototxt(prototxt)
    declared = caffe_tools.net_input_shapes(net)
    if len(declared) != 1:
        raise Unsupported(f"nets with inputs {list(declared)}: one input only")
    in_name = next(iter(declared))
    info = caffe_tools.analyze_net(net, {in_name: list(input_shape)})
    weights = caffe_tools.caffemodel_weights(caffemodel, net, {in_name: list(input_shape)})

    cur: Dict[str, str] = {in_name: in_name}          # Caffe blob -> current tensor
    shapes: Dict[str, Tuple[int, ...]] = {in_name: tuple(int(d) for d in input_shape)}
    ops: List[Op] = []
    version: Dict[str, int] = {}

    def new_tensor(blob: str, shape) -> str:
        k = version.get(blob, 0) + 1
        version[blob] = k
        t = blob if k == 1 and blob != in_name else f"{blob}#{k}"
        shapes[t] = tuple(int(d) for d in shape)
        return t

    for l in info.layers:
        if l.type == "Input":
            continue
        t, m = l.type, l.msg
        W = [np.asarray(w, np.float32) for w in weights.get(l.name, [])]
        ins = [cur[b] for b in l.bottoms]
        s0 = tuple(l.bottom_shapes[0]) if l.bottom_shapes else ()
        if t in ("Split", "Dropout"):
            for top in l.tops:
                cur[top] = ins[0]
            continue
        if len(l.tops) != 1:
            raise Unsupported(f"{t} {l.name!r} with {len(l.tops)} tops")
        out_shape = tuple(l.top_shapes[0])
        attrs: Dict = {}
        if t == "Convolution":
            p = m.convolution_param
            if len(s0) != 4:
                raise Unsupported(f"Convolution {l.name!r}: 4-D input only")
            kernel, stride, pad, dil = caffe_tools.conv_geometry(m, 2)
            bias = W[1].reshape(-1) if p.bias_term else np.zeros(W[0].shape[0], np.float32)
            attrs = dict(weight=W[0], bias=bias, kernel=kernel, stride=stride, pad=pad, dilation=dil,
                         group=int(p.group))
            kind = "conv"
        elif t == "InnerProduct":
            p = m.inner_product_param
            axis = p.axis if p.axis >= 0 else p.axis + len(s0)
            if axis != 1:
                raise Unsupported(f"InnerProduct {l.name!r}: axis {p.axis}")
            w = W[0].T if p.transpose else W[0]
            bias = W[1].reshape(-1) if p.bias_term else np.zeros(w.shape[0], np.float32)
            attrs = dict(weight=np.ascontiguousarray(w.reshape(w.shape[0], -1)), bias=bias, in_shape=s0)
            kind = "fc"
        elif t == "Pooling":
            p = m.pooling_param
            if p.pool not in (p.MAX, p.AVE):
                raise Unsupported(f"Pooling {l.name!r}: method {p.pool}")
            kernel, stride, pad, out = caffe_tools.pool_geometry(m, s0)
            is_global = bool(p.global_pooling) or (list(kernel) == list(s0[2:]) and pad == [0, 0]
                                                    and out == [1, 1])
            attrs = dict(method="max" if p.pool == p.MAX else "avg", kernel=kernel, stride=stride,
                         pad=pad, out=out, is_global=is_global)
            kind = "pool"
        elif t in ("BatchNorm", "Scale"):
            scale, bias = _affine_of(l, W)
            attrs = dict(scale=scale, bias=bias)
            kind = "affine"
        elif t == "ReLU":
            if m.relu_param.negative_slope:
                raise Unsupported(f"ReLU {l.name!r}: leaky ReLU")
            kind = "relu"
        elif t == "Concat":
            p = m.concat_param
            axis = p.concat_dim if p.HasField("concat_dim") else p.axis
            if (axis if axis >= 0 else axis + len(s0)) != 1:
                raise Unsupported(f"Concat {l.name!r}: axis {axis}")
            kind = "concat"
        elif t == "Eltwise":
            p = m.eltwise_param
            if p.operation != p.SUM or any(c != 1 for c in p.coeff) or len(ins) != 2:
                raise Unsupported(f"Eltwise {l.name!r}: only the sum of two blobs")
            kind = "add"
        elif t == "Softmax":
            axis = m.softmax_param.axis
            if (axis if axis >= 0 else axis + len(s0)) != 1:
                raise Unsupported(f"Softmax {l.name!r}: axis {axis}")
            kind = "softmax"
        elif t == "LRN":
            p = m.lrn_param
            if p.norm_region != p.ACROSS_CHANNELS:
                raise Unsupported(f"LRN {l.name!r}: WITHIN_CHANNEL")
            attrs = dict(size=int(p.local_size), alpha=float(p.alpha), beta=float(p.beta), k=float(p.k))
            kind = "lrn"
        else:
            raise Unsupported(f"layer {l.name!r} of type {t!r}")
        out_t = new_tensor(l.tops[0], out_shape)
        ops.append(Op(kind, l.name, ins, out_t, shapes[out_t], attrs))
        cur[l.tops[0]] = out_t

    outputs = {b: cur[b] for b in info.outputs if b not in info.inputs}
    g = Graph(in_name, shapes[in_name], ops, outputs, shapes)
    _fuse(g)
    return g


def _fuse(g: Graph) -> None:
    """Fold affine ops into their producer and ReLUs into conv / fc / add / affine (in place)."""
    changed = True
    while changed:
        changed = False
        prod, uses = g.producers(), g.consumers()
        for op in list(g.ops):
            if op.kind not in ("affine", "relu"):
                continue
            src: Optional[Op] = prod.get(op.inputs[0])
            if src is None or uses.get(op.inputs[0], 0) != 1 or src.relu:
                continue
            if op.kind == "affine" and src.kind in ("conv", "fc", "affine"):
                s, b = op.attrs["scale"], op.attrs["bias"]
                if src.kind == "affine":
                    src.attrs["scale"] = src.attrs["scale"] * s
                    src.attrs["bias"] = src.attrs["bias"] * s + b
                else:
                    w = src.attrs["weight"].astype(np.float64)
                    src.attrs["weight"] = (w * s.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)
                    src.attrs["bias"] = (src.attrs["bias"].astype(np.float64) * s + b).astype(np.float32)
            elif op.kind == "relu" and src.kind in ("conv", "fc", "add", "affine"):
                src.relu = True
            else:
                continue
            # the fused op now writes op's output tensor
            old = src.output
            src.output = op.output
            g.shapes[op.output] = src.shape
            g.ops.remove(op)
            for o in g.ops:
                o.inputs = [op.output if i == old else i for i in o.inputs]
            changed = True
            break
    for op in g.ops:
        if op.kind == "affine":
            op.attrs["scale"] = op.attrs["scale"].astype(np.float32)
            op.attrs["bias"] = op.attrs["bias"].astype(np.float32)


def reference_forward(g: Graph, x: np.ndarray, dtype=np.float64) -> Dict[str, np.ndarray]:
    """Plain numpy forward of the graph (checks the lowering; slow)."""
    v: Dict[str, np.ndarray] = {g.input: x.astype(dtype)}
    for op in g.ops:
        a = [v[i] for i in op.inputs]
        at = op.attrs
        if op.kind == "conv":
            y = _np_conv(a[0], at, dtype)
        elif op.kind == "fc":
            y = a[0].reshape(1, -1) @ at["weight"].astype(dtype).T + at["bias"].astype(dtype)
        elif op.kind == "pool":
            y = _np_pool(a[0], at, dtype)
        elif op.kind == "affine":
            shp = (1, -1) + (1,) * (a[0].ndim - 2)
            y = a[0] * at["scale"].astype(dtype).reshape(shp) + at["bias"].astype(dtype).reshape(shp)
        elif op.kind == "relu":
            y = a[0]
        elif op.kind == "concat":
            y = np.concatenate(a, axis=1)
        elif op.kind == "add":
            y = a[0] + a[1]
        elif op.kind == "softmax":
            e = np.exp(a[0] - a[0].max(axis=1, keepdims=True))
            y = e / e.sum(axis=1, keepdims=True)
        elif op.kind == "lrn":
            n = at["size"]
            sq = np.pad(a[0] ** 2, [(0, 0), (n // 2, (n - 1) // 2)] + [(0, 0)] * (a[0].ndim - 2))
            s = sum(sq[:, i:i + a[0].shape[1]] for i in range(n))
            y = a[0] * (at["k"] + at["alpha"] / n * s) ** -at["beta"]
        else:
            raise Unsupported(op.kind)
        if op.relu or op.kind == "relu":
            y = np.maximum(y, 0)
        v[op.output] = y.reshape(op.shape)
    return {b: v[t] for b, t in g.outputs.items()}


def _np_conv(x, at, dtype):
    w, b = at["weight"].astype(dtype), at["bias"].astype(dtype)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), g = at["kernel"], at["stride"], at["pad"], at["dilation"], at["group"]
    x = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    win = np.lib.stride_tricks.sliding_window_view(x, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]                 # N C OH OW kh kw
    cin, cout = x.shape[1] // g, w.shape[0] // g
    outs = [np.einsum("nchwij,ocij->nohw", win[:, i * cin:(i + 1) * cin], w[i * cout:(i + 1) * cout])
            for i in range(g)]
    return np.concatenate(outs, axis=1) + b.reshape(1, -1, 1, 1)


def _np_pool(x, at, dtype):
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = at["kernel"], at["stride"], at["pad"], at["out"]
    h, w = x.shape[2:]
    y = np.empty(x.shape[:2] + (oh, ow), dtype)
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * sh - ph, j * sw - pw
            h1, w1 = min(h0 + kh, h + ph), min(w0 + kw, w + pw)
            area = (h1 - h0) * (w1 - w0)
            win = x[:, :, max(h0, 0):min(h1, h), max(w0, 0):min(w1, w)]
            y[:, :, i, j] = win.max(axis=(2, 3)) if at["method"] == "max" else win.sum(axis=(2, 3)) / area
    return y

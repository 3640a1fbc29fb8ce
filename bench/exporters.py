"""Model files for ncnn and TFLite, and a torch module, written from a :class:`netgraph.Graph`.

All three start from the fused graph of ``bench/netgraph.py`` (BatchNorm/Scale folded into the
convolutions, ReLU fused), i.e. the same network and weights xnn reads from the caffemodel.

ncnn (:func:`write_ncnn`): ``.param`` / ``.bin`` in ncnn's documented format, the layers
caffe2ncnn + ncnnoptimize would produce: Input, Convolution / ConvolutionDepthWise (group > 1)
with fused ReLU (``9=1``), InnerProduct (fused ReLU), Pooling (Caffe's ceil rounding is ncnn's
``pad_mode=0`` full padding; explicit end pads where that does not give Caffe's size), Concat,
Eltwise (+ ReLU), Scale (unfolded BN/Scale), LRN, Softmax, ReLU and Split for tensors with
several consumers. Weights are float32 (flag word 0).

TFLite (:func:`write_tflite`): a flatbuffer of the TFLite schema, written with the schema's
generated Python object API shipped in ``ai_edge_litert`` (``schema_py_generated``) and the
``flatbuffers`` package, no TensorFlow. Layout NHWC: CONV_2D (OHWI weights), DEPTHWISE_CONV_2D
(1HWO), grouped convolution as CONV_2D with a filter of ``Cin / group`` input channels,
MAX/AVERAGE_POOL_2D, MEAN (global average pooling), CONCATENATION (axis 3), ADD, FULLY_CONNECTED
(weights permuted from Caffe's CHW flattening to HWC), SOFTMAX, LOCAL_RESPONSE_NORMALIZATION
(alpha / local_size: TFLite does not divide by the window size), MUL + ADD for unfolded affine
ops; ReLU fused into the op's ``fused_activation_function``. Padding: a conv / pool gets
``SAME`` or ``VALID`` when that reproduces Caffe's symmetric padding (and, for pooling, Caffe's
ceil-rounded output size), otherwise an explicit PAD op (zeros; PADV2 with -FLT_MAX before a max
pool whose input may be negative) followed by ``VALID``.

torch (:func:`torch_module`): an ``nn.Module`` of ``torch.nn.functional`` calls in graph order
(conv2d, linear, max/avg_pool2d with ``ceil_mode=True`` -- PyTorch's ceil rounding and average
divisor are Caffe's --, local_response_norm, ...).
"""
from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from netgraph import Graph, Unsupported


# --------------------------------------------------------------------------------------------
# padding helpers
# --------------------------------------------------------------------------------------------

def _same_split(size: int, k: int, s: int) -> Tuple[int, int, int]:
    """TF ``SAME``: (out, pad_before, pad_after)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def _conv_out(size: int, k: int, s: int, p: int) -> int:
    return (size + 2 * p - k) // s + 1


def _tf_padding(sizes, kernel, stride, pad, out, avg: bool = False):
    """"SAME" / "VALID" if it reproduces Caffe's (symmetric ``pad``, output ``out``), else None.

    ``avg``: average pooling, where TF's SAME excludes the padding from the divisor and Caffe
    counts its explicit ``pad`` (so SAME only fits when Caffe has no explicit pad).
    """
    if all(p == 0 and (n - k) // s + 1 == o for n, k, s, p, o in zip(sizes, kernel, stride, pad, out)):
        return "VALID"
    ok = True
    for n, k, s, p, o in zip(sizes, kernel, stride, pad, out):
        so, before, _after = _same_split(n, k, s)
        if so != o or before != p or (avg and p != 0):
            ok = False
    return "SAME" if ok else None


def _pool_end_pads(sizes, kernel, stride, pad, out) -> List[int]:
    """Extra end padding beyond Caffe's ``pad`` that a floor-rounded pooling needs for ``out``."""
    extra = []
    for n, k, s, p, o in zip(sizes, kernel, stride, pad, out):
        e = max(0, (o - 1) * s + k - (n + 2 * p))
        if (n + 2 * p + e - k) // s + 1 != o:
            raise Unsupported(f"pooling: Caffe output {o} not reachable (in {n}, kernel {k}, stride {s}, pad {p})")
        extra.append(e)
    return extra


# --------------------------------------------------------------------------------------------
# ncnn
# --------------------------------------------------------------------------------------------

NCNN_MAGIC = 7767517


def write_ncnn(g: Graph, param_path: Path, bin_path: Path) -> None:
    """Write ``g`` as ncnn ``.param`` (text) and ``.bin`` (float32) files."""
    uses = g.consumers()
    blob_names: Dict[str, str] = {g.input: g.input}
    out_names = {t: b for b, t in g.outputs.items()}
    n_blob = [0]

    def blob_name(t: str) -> str:
        if t not in blob_names:
            blob_names[t] = out_names.get(t) or f"t{n_blob[0]}"
            n_blob[0] += 1
        return blob_names[t]

    layers: List[str] = []
    weights = bytearray()
    # tensors read by several layers go through a Split; consumers take the copies in turn
    pending: Dict[str, List[str]] = {}

    def read(t: str) -> str:
        if t in pending:
            return pending[t].pop(0)
        return blob_name(t)

    def emit(ltype: str, name: str, ins: List[str], outs: List[str], params: Dict[int, object]) -> None:
        name = name.replace(" ", "_")
        ps = []
        for k, v in params.items():
            if isinstance(v, (list, tuple)):
                ps.append(f"{-23300 - k}={len(v)}," + ",".join(_fmt(x) for x in v))
            else:
                ps.append(f"{k}={_fmt(v)}")
        layers.append(f"{ltype:<24} {name:<32} {len(ins)} {len(outs)} " + " ".join(ins + outs) +
                      ("" if not ps else " " + " ".join(ps)))

    def split_if_shared(t: str, lname: str) -> None:
        n = uses.get(t, 0)
        if n <= 1:
            return
        src = blob_name(t)
        is_out = t in out_names
        copies = [f"{src}_splitncnn_{i}" for i in range(n - (1 if is_out else 0))]
        emit("Split", f"splitncnn_{lname}", [src], copies + ([f"{src}_out"] if is_out else []), {})
        pending[t] = copies

    def w32(arr, tagged: bool) -> None:
        if tagged:
            weights.extend(struct.pack("<I", 0))
        weights.extend(np.ascontiguousarray(arr, dtype="<f4").tobytes())

    c, h, w = g.input_shape[1:]
    emit("Input", g.input, [], [g.input], {0: w, 1: h, 2: c})
    split_if_shared(g.input, g.input)
    for op in g.ops:
        ins = [read(t) for t in op.inputs]
        final = blob_name(op.output)
        a = op.attrs
        # Eltwise and Scale have no fused activation: a ReLU layer follows them
        relu_after = op.relu and op.kind in ("affine", "add")
        out = f"{final}_prerelu" if relu_after else final
        in_hw = tuple(g.shapes[op.inputs[0]][2:])
        # a 1x1 convolution of a 1x1 map (after global pooling: a 1-D blob in ncnn) is an InnerProduct,
        # the layer ncnn asks for there
        as_fc = op.kind == "conv" and in_hw == (1, 1) and a["kernel"] == [1, 1] and a["pad"] == [0, 0] \
            and a["group"] == 1
        if op.kind == "fc" or as_fc:
            wt = a["weight"].reshape(a["weight"].shape[0], -1)
            params = {0: wt.shape[0], 1: 1, 2: int(wt.size)}
            if op.relu:
                params[9] = 1
            emit("InnerProduct", op.name, ins, [out], params)
            w32(wt, True)
            w32(a["bias"], False)
        elif op.kind == "conv":
            wt = a["weight"]
            (kh, kw), (sh, sw), (ph, pw), (dh, dw) = a["kernel"], a["stride"], a["pad"], a["dilation"]
            params = {0: wt.shape[0], 1: kw, 11: kh, 2: dw, 12: dh, 3: sw, 13: sh, 4: pw, 14: ph,
                      5: 1, 6: int(wt.size)}
            if op.relu:
                params[9] = 1
            ltype = "Convolution"
            if a["group"] > 1:
                ltype = "ConvolutionDepthWise"
                params[7] = a["group"]
            emit(ltype, op.name, ins, [out], params)
            w32(wt, True)
            w32(a["bias"], False)
        elif op.kind == "pool":
            ptype = 0 if a["method"] == "max" else 1
            if a["is_global"]:
                params = {0: ptype, 4: 1}
            else:
                params = _ncnn_pool_params(g.shapes[op.inputs[0]], a)
                params = {0: ptype, **params}
            emit("Pooling", op.name, ins, [out], params)
        elif op.kind == "affine":
            emit("Scale", op.name, ins, [out], {0: int(a["scale"].size), 1: 1})
            w32(a["scale"], False)
            w32(a["bias"], False)
        elif op.kind == "relu":
            emit("ReLU", op.name, ins, [out], {})
        elif op.kind == "concat":
            emit("Concat", op.name, ins, [out], {0: 0})
        elif op.kind == "add":
            emit("Eltwise", op.name, ins, [out], {0: 1})
        elif op.kind == "softmax":
            emit("Softmax", op.name, ins, [out], {0: 0, 1: 1})
        elif op.kind == "lrn":
            emit("LRN", op.name, ins, [out], {0: 0, 1: a["size"], 2: a["alpha"], 3: a["beta"], 4: a["k"]})
        else:
            raise Unsupported(f"ncnn export: op {op.kind}")
        if relu_after:
            emit("ReLU", op.name + "_relu", [out], [final], {})
        split_if_shared(op.output, op.name)

    # blobs: every distinct top
    tops = set()
    for line in layers:
        f = line.split()
        nb, nt = int(f[2]), int(f[3])
        tops.update(f[4 + nb:4 + nb + nt])
    text = f"{NCNN_MAGIC}\n{len(layers)} {len(tops)}\n" + "\n".join(layers) + "\n"
    Path(param_path).write_text(text)
    Path(bin_path).write_bytes(bytes(weights))


def ncnn_output_names(g: Graph) -> Dict[str, str]:
    """Caffe output blob -> ncnn blob name to extract (see :func:`write_ncnn`)."""
    uses = g.consumers()
    return {b: (f"{b}_out" if uses.get(t, 0) > 1 else b) for b, t in g.outputs.items()}


def _fmt(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v)) if math.isfinite(float(v)) else ("-3.402823e+38" if v < 0 else "3.402823e+38")


def _ncnn_pool_params(in_shape, a) -> Dict[int, int]:
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = a["kernel"], a["stride"], a["pad"], a["out"]
    h, w = in_shape[2], in_shape[3]
    base = {1: kw, 11: kh, 2: sw, 12: sh}

    def full_out(n, k, s, p):      # ncnn pad_mode 0: pad the tail up to a whole stride
        tail = (n + 2 * p - k) % s
        return (n + 2 * p + (s - tail if tail else 0) - k) // s + 1

    extra = _pool_end_pads((h, w), (kh, kw), (sh, sw), (ph, pw), (oh, ow))
    if a["method"] == "max":
        if full_out(h, kh, sh, ph) == oh and full_out(w, kw, sw, pw) == ow:
            return {**base, 3: pw, 13: ph, 5: 0}                      # ncnn's Caffe mode
        return {**base, 3: pw, 14: pw + extra[1], 13: ph, 15: ph + extra[0], 5: 1}
    # average: Caffe counts the explicit pad, not the ceil overflow
    if ph == 0 and pw == 0 and full_out(h, kh, sh, 0) == oh and full_out(w, kw, sw, 0) == ow:
        return {**base, 5: 0, 6: 0}
    if extra == [0, 0]:
        return {**base, 3: pw, 13: ph, 5: 1, 6: 1}
    raise Unsupported("average pooling with both an explicit pad and ceil overflow")


# --------------------------------------------------------------------------------------------
# TFLite
# --------------------------------------------------------------------------------------------

def write_tflite(g: Graph, path: Path) -> Dict[str, Dict]:
    """Write ``g`` as a TFLite flatbuffer; returns ``{"inputs": {...}, "outputs": {...}}`` info
    (Caffe blob -> NHWC shape of the TFLite tensor)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as S

    class AlignedBufferT(S.BufferT):
        """Constant data 16-byte aligned, as TFLite's own converter writes it."""

        def Pack(self, builder):
            data = None
            if self.data is not None:
                raw = np.ascontiguousarray(self.data).view(np.uint8).reshape(-1)
                builder.StartVector(1, raw.size, 16)
                builder.head = builder.head - raw.size
                builder.Bytes[builder.head:builder.head + raw.size] = raw.tobytes()
                builder.vectorNumElems = raw.size
                data = builder.EndVector()
            S.BufferStart(builder)
            if data is not None:
                S.BufferAddData(builder, data)
            return S.BufferEnd(builder)

    BO = S.BuiltinOperator
    ACT = S.ActivationFunctionType
    PAD = {"SAME": S.Padding.SAME, "VALID": S.Padding.VALID}

    buffers = [S.BufferT()]             # buffer 0: the empty sentinel
    tensors: List = []
    operators: List = []
    opcodes: List = []
    opcode_index: Dict[int, int] = {}
    nhwc: Dict[str, Tuple[int, ...]] = {}
    tindex: Dict[str, int] = {}
    nonneg: Dict[str, bool] = {}        # tensor known >= 0 (written by a ReLU)

    def add_tensor(name: str, shape, data=None, dtype=np.float32) -> int:
        t = S.TensorT()
        t.name = name
        t.shape = [int(d) for d in shape]
        t.type = S.TensorType.FLOAT32 if dtype == np.float32 else S.TensorType.INT32
        if data is not None:
            b = AlignedBufferT()
            b.data = np.ascontiguousarray(data, dtype=dtype)
            buffers.append(b)
            t.buffer = len(buffers) - 1
        else:
            t.buffer = 0
        tensors.append(t)
        return len(tensors) - 1

    def const(name: str, arr, dtype=np.float32) -> int:
        arr = np.asarray(arr, dtype=dtype)
        return add_tensor(name, arr.shape, arr, dtype)

    def act_tensor(t: str, shape) -> int:
        if t not in tindex:
            nhwc[t] = tuple(int(d) for d in shape)
            tindex[t] = add_tensor(t, shape)
        return tindex[t]

    def op(code: int, ins: List[int], outs: List[int], opt_type=0, opts=None, version: int = 1) -> None:
        if code not in opcode_index:
            oc = S.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = version
            opcodes.append(oc)
            opcode_index[code] = len(opcodes) - 1
        o = S.OperatorT()
        o.opcodeIndex = opcode_index[code]
        o.inputs = list(ins)
        o.outputs = list(outs)
        o.builtinOptionsType = opt_type
        o.builtinOptions = opts
        operators.append(o)

    def to_nhwc(shape):
        return (shape[0],) + tuple(shape[2:]) + (shape[1],) if len(shape) == 4 else tuple(shape)

    def padded(src: str, pads_hw, name: str, value: float = 0.0) -> str:
        """Explicit PAD (or PADV2 with ``value``) of an NHWC tensor: pads_hw = (top, bottom, left, right)."""
        n, h, w, c = nhwc[src]
        t, b, l, r = pads_hw
        dst = f"{name}__pad"
        out_i = act_tensor(dst, (n, h + t + b, w + l + r, c))
        pads = const(f"{name}__pads", [[0, 0], [t, b], [l, r], [0, 0]], np.int32)
        if value == 0.0:
            op(BO.PAD, [tindex[src], pads], [out_i], S.BuiltinOptions.PadOptions, S.PadOptionsT())
        else:
            v = const(f"{name}__padval", np.array(value, np.float32))
            op(BO.PADV2, [tindex[src], pads, v], [out_i], S.BuiltinOptions.PadV2Options, S.PadV2OptionsT())
        nonneg[dst] = nonneg.get(src, False) and value >= 0
        return dst

    act_tensor(g.input, to_nhwc(g.input_shape))
    for o in g.ops:
        a = o.attrs
        ins = list(o.inputs)
        in_shape = g.shapes[ins[0]]
        out_shape = to_nhwc(o.shape)
        fused = ACT.RELU if o.relu else ACT.NONE
        if o.kind == "conv":
            wt, group = a["weight"], a["group"]
            cout, cin_g, kh, kw = wt.shape
            cin = in_shape[1]
            keff = [(k - 1) * d + 1 for k, d in zip(a["kernel"], a["dilation"])]
            padding = _tf_padding(in_shape[2:], keff, a["stride"], a["pad"], o.shape[2:])
            src = ins[0]
            if padding is None:
                ph, pw = a["pad"]
                src = padded(src, (ph, ph, pw, pw), o.name)
                padding = "VALID"
            bias = const(f"{o.name}__bias", a["bias"])
            out_i = act_tensor(o.output, out_shape)
            if group == cin and cin_g == 1:
                w = const(f"{o.name}__weight", wt.transpose(1, 2, 3, 0))            # 1 x kh x kw x cout
                opts = S.DepthwiseConv2DOptionsT()
                opts.padding, opts.strideH, opts.strideW = PAD[padding], a["stride"][0], a["stride"][1]
                opts.depthMultiplier = cout // cin
                opts.dilationHFactor, opts.dilationWFactor = a["dilation"]
                opts.fusedActivationFunction = fused
                op(BO.DEPTHWISE_CONV_2D, [tindex[src], w, bias], [out_i],
                   S.BuiltinOptions.DepthwiseConv2DOptions, opts, version=2 if a["dilation"] != [1, 1] else 1)
            else:
                w = const(f"{o.name}__weight", wt.transpose(0, 2, 3, 1))            # cout x kh x kw x cin/g
                opts = S.Conv2DOptionsT()
                opts.padding, opts.strideH, opts.strideW = PAD[padding], a["stride"][0], a["stride"][1]
                opts.dilationHFactor, opts.dilationWFactor = a["dilation"]
                opts.fusedActivationFunction = fused
                op(BO.CONV_2D, [tindex[src], w, bias], [out_i], S.BuiltinOptions.Conv2DOptions, opts,
                   version=6 if group > 1 else (2 if a["dilation"] != [1, 1] else 1))
        elif o.kind == "fc":
            wt = a["weight"]
            s_in = a["in_shape"]
            if len(s_in) == 4 and (s_in[2] > 1 or s_in[3] > 1):
                # Caffe flattens C,H,W; the NHWC tensor flattens H,W,C
                wt = wt.reshape(wt.shape[0], *s_in[1:]).transpose(0, 2, 3, 1).reshape(wt.shape[0], -1)
            w = const(f"{o.name}__weight", wt)
            bias = const(f"{o.name}__bias", a["bias"])
            out_i = act_tensor(o.output, (1, wt.shape[0]))
            opts = S.FullyConnectedOptionsT()
            opts.fusedActivationFunction = fused
            op(BO.FULLY_CONNECTED, [tindex[ins[0]], w, bias], [out_i], S.BuiltinOptions.FullyConnectedOptions, opts)
            out_shape = (1, wt.shape[0])
        elif o.kind == "pool":
            out_i = act_tensor(o.output, out_shape)
            if a["is_global"] and a["method"] == "avg":
                axes = const(f"{o.name}__axes", [1, 2], np.int32)
                opts = S.ReducerOptionsT()
                opts.keepDims = True
                op(BO.MEAN, [tindex[ins[0]], axes], [out_i], S.BuiltinOptions.ReducerOptions, opts)
            elif a["is_global"]:
                axes = const(f"{o.name}__axes", [1, 2], np.int32)
                opts = S.ReducerOptionsT()
                opts.keepDims = True
                op(BO.REDUCE_MAX, [tindex[ins[0]], axes], [out_i], S.BuiltinOptions.ReducerOptions, opts)
            else:
                kernel, stride, pad, out = a["kernel"], a["stride"], a["pad"], a["out"]
                avg = a["method"] == "avg"
                padding = _tf_padding(in_shape[2:], kernel, stride, pad, out, avg=avg)
                src = ins[0]
                if padding is None:
                    extra = _pool_end_pads(in_shape[2:], kernel, stride, pad, out)
                    if avg and (extra[0] or extra[1]) and (pad[0] or pad[1]):
                        raise Unsupported(f"{o.name}: average pooling with both a pad and ceil overflow")
                    if avg and (extra[0] or extra[1]):
                        raise Unsupported(f"{o.name}: average pooling with ceil overflow and no SAME fit")
                    value = 0.0 if (not avg and nonneg.get(src)) or avg else -3.4028234663852886e38
                    src = padded(src, (pad[0], pad[0] + extra[0], pad[1], pad[1] + extra[1]), o.name, value)
                    padding = "VALID"
                opts = S.Pool2DOptionsT()
                opts.padding, opts.strideH, opts.strideW = PAD[padding], stride[0], stride[1]
                opts.filterHeight, opts.filterWidth = kernel
                opts.fusedActivationFunction = ACT.NONE
                op(BO.AVERAGE_POOL_2D if avg else BO.MAX_POOL_2D, [tindex[src]], [out_i],
                   S.BuiltinOptions.Pool2DOptions, opts)
            nonneg[o.output] = nonneg.get(ins[0], False)
        elif o.kind == "affine":
            shp = tuple(nhwc[ins[0]])
            mid = act_tensor(o.output + "__scaled", shp)
            s = const(f"{o.name}__scale", a["scale"])
            b = const(f"{o.name}__shift", a["bias"])
            mo = S.MulOptionsT()
            op(BO.MUL, [tindex[ins[0]], s], [mid], S.BuiltinOptions.MulOptions, mo)
            out_i = act_tensor(o.output, shp)
            ao = S.AddOptionsT()
            ao.fusedActivationFunction = fused
            op(BO.ADD, [mid, b], [out_i], S.BuiltinOptions.AddOptions, ao)
            out_shape = shp
        elif o.kind == "relu":
            out_shape = tuple(nhwc[ins[0]])
            op(BO.RELU, [tindex[ins[0]]], [act_tensor(o.output, out_shape)])
        elif o.kind == "concat":
            out_i = act_tensor(o.output, out_shape)
            opts = S.ConcatenationOptionsT()
            opts.axis = 3 if len(out_shape) == 4 else 1
            op(BO.CONCATENATION, [tindex[t] for t in ins], [out_i], S.BuiltinOptions.ConcatenationOptions, opts)
        elif o.kind == "add":
            out_shape = tuple(nhwc[ins[0]])
            opts = S.AddOptionsT()
            opts.fusedActivationFunction = fused
            op(BO.ADD, [tindex[t] for t in ins], [act_tensor(o.output, out_shape)], S.BuiltinOptions.AddOptions, opts)
        elif o.kind == "softmax":
            out_shape = tuple(nhwc[ins[0]])
            if len(out_shape) == 4 and (out_shape[1] > 1 or out_shape[2] > 1):
                raise Unsupported(f"{o.name}: softmax over channels of a spatial tensor")
            opts = S.SoftmaxOptionsT()
            opts.beta = 1.0
            op(BO.SOFTMAX, [tindex[ins[0]]], [act_tensor(o.output, out_shape)], S.BuiltinOptions.SoftmaxOptions, opts)
        elif o.kind == "lrn":
            out_shape = tuple(nhwc[ins[0]])
            n = a["size"]
            if n % 2 != 1:
                raise Unsupported(f"{o.name}: LRN with an even local_size")
            opts = S.LocalResponseNormalizationOptionsT()
            opts.radius, opts.bias, opts.alpha, opts.beta = (n - 1) // 2, a["k"], a["alpha"] / n, a["beta"]
            op(BO.LOCAL_RESPONSE_NORMALIZATION, [tindex[ins[0]]], [act_tensor(o.output, out_shape)],
               S.BuiltinOptions.LocalResponseNormalizationOptions, opts)
        else:
            raise Unsupported(f"TFLite export: op {o.kind}")
        if o.relu or o.kind == "relu":
            nonneg[o.output] = True

    sg = S.SubGraphT()
    sg.tensors = tensors
    sg.inputs = [tindex[g.input]]
    sg.outputs = [tindex[t] for t in g.outputs.values()]
    sg.operators = operators
    sg.name = "main"
    model = S.ModelT()
    model.version = 3
    model.operatorCodes = opcodes
    model.subgraphs = [sg]
    model.description = "xnn bench: Caffe net exported by bench/exporters.py"
    model.buffers = buffers
    size = sum(int(b.data.nbytes) for b in buffers if b.data is not None)
    builder = flatbuffers.Builder(size + (1 << 20))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    Path(path).write_bytes(builder.Output())
    return {"inputs": {g.input: nhwc[g.input]}, "outputs": {b: nhwc[t] for b, t in g.outputs.items()}}


# --------------------------------------------------------------------------------------------
# torch
# --------------------------------------------------------------------------------------------

def torch_module(g: Graph):
    """``nn.Module`` computing ``g`` (float32, NCHW): ``module(x) -> tuple of outputs`` in the
    order of ``g.outputs``."""
    import torch
    import torch.nn.functional as F

    class CaffeNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.steps = []
            self.params = torch.nn.ParameterList()
            for o in g.ops:
                a = o.attrs
                if o.kind in ("conv", "fc"):
                    w = torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(a["weight"])), requires_grad=False)
                    b = torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(a["bias"])), requires_grad=False)
                    self.params.append(w)
                    self.params.append(b)
                    a = dict(a, w=w, b=b)
                elif o.kind == "affine":
                    c = a["scale"].size
                    s = torch.nn.Parameter(torch.from_numpy(a["scale"].reshape(1, c, 1, 1).copy()), requires_grad=False)
                    b = torch.nn.Parameter(torch.from_numpy(a["bias"].reshape(1, c, 1, 1).copy()), requires_grad=False)
                    self.params.append(s)
                    self.params.append(b)
                    a = dict(a, s=s, b=b)
                self.steps.append((o.kind, list(o.inputs), o.output, o.relu, a))
            self.outputs = list(g.outputs.values())
            self.input = g.input

        def forward(self, x):
            v = {self.input: x}
            for kind, ins, out, relu, a in self.steps:
                x0 = v[ins[0]]
                if kind == "conv":
                    y = F.conv2d(x0, a["w"], a["b"], a["stride"], a["pad"], a["dilation"], a["group"])
                elif kind == "fc":
                    y = F.linear(x0.flatten(1), a["w"], a["b"])
                elif kind == "pool":
                    if a["is_global"]:
                        y = (x0.mean((2, 3), keepdim=True) if a["method"] == "avg"
                             else x0.amax((2, 3), keepdim=True))
                    elif a["method"] == "max":
                        y = F.max_pool2d(x0, a["kernel"], a["stride"], a["pad"], ceil_mode=True)
                    else:
                        y = F.avg_pool2d(x0, a["kernel"], a["stride"], a["pad"], ceil_mode=True,
                                         count_include_pad=True)
                elif kind == "affine":
                    y = torch.addcmul(a["b"], x0, a["s"])
                elif kind == "relu":
                    y = F.relu(x0)
                elif kind == "concat":
                    y = torch.cat([v[i] for i in ins], 1)
                elif kind == "add":
                    y = x0 + v[ins[1]]
                elif kind == "softmax":
                    y = torch.softmax(x0, 1)
                elif kind == "lrn":
                    y = F.local_response_norm(x0, a["size"], a["alpha"], a["beta"], a["k"])
                else:
                    raise Unsupported(kind)
                if relu:
                    y = F.relu_(y)
                v[out] = y
            return tuple(v[t] for t in self.outputs)

    return CaffeNet().eval()

"""Every Caffe layer xnn implements, checked against a NumPy reference (tests/numpy_ref.py).

Each test builds a single-layer (or tiny) net as prototxt text plus caffemodel bytes (written with the
``caffe`` protobuf module of tests/caffe_tools.py), loads it with ``xnn.Model.from_caffe_bytes`` and
compares the output with a float64 NumPy implementation of Caffe's definition of the layer.
Shapes are seeded-random or picked to hit odd sizes, channel tails, fast paths and multi-tile paths.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Mapping, Optional, Sequence

import numpy as np
import pytest

_TESTS_DIR = Path(__file__).resolve().parent
if str(_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIR))

import numpy_ref as ref  # noqa: E402
from caffe_tools import caffe_pb2  # noqa: E402

import xnn  # noqa: E402


@pytest.fixture(autouse=True, params=xnn.available_isas())
def isa(request, monkeypatch):
    """Every op test runs on every kernel set this CPU has (XNN_ISA caps the choice made at load)."""
    monkeypatch.setenv("XNN_ISA", request.param)
    return request.param

RTOL = 1e-4
SEED = 20240607


# ============================================================================== net building helpers

def rng_for(*key) -> np.random.Generator:
    """A generator seeded from SEED and the test's parameters (stable across runs and test order)."""
    h = 0
    for ch in repr(key):
        h = (h * 131 + ord(ch)) % (2 ** 32)
    return np.random.default_rng([SEED, h])


def randn(rng: np.random.Generator, *shape, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def input_decl(inputs: Mapping[str, Sequence[int]]) -> str:
    out = []
    for name, shape in inputs.items():
        dims = " ".join(f"dim: {int(d)}" for d in shape)
        out.append(f'input: "{name}"\ninput_shape {{ {dims} }}')
    return "\n".join(out) + "\n"


def layer(name: str, type_: str, bottoms, tops, param: str = "") -> str:
    bottoms = [bottoms] if isinstance(bottoms, str) else list(bottoms)
    tops = [tops] if isinstance(tops, str) else list(tops)
    io = " ".join(f'bottom: "{b}"' for b in bottoms) + " " + " ".join(f'top: "{t}"' for t in tops)
    return f'layer {{\n  name: "{name}"\n  type: "{type_}"\n  {io}\n  {param}\n}}\n'


def net_text(inputs: Mapping[str, Sequence[int]], *layers: str, name: str = "test") -> str:
    return f'name: "{name}"\n' + input_decl(inputs) + "".join(layers)


def caffemodel_bytes(weights: Mapping[str, Sequence[np.ndarray]], v1: bool = False,
                     v1_types: Optional[Mapping[str, str]] = None) -> bytes:
    """A binary NetParameter with the given blobs per layer name.

    V2 (``layer``): blobs with ``shape { dim }``. V1 (``layers``): legacy num/channels/height/width dims.
    """
    pb = caffe_pb2()
    net = pb.NetParameter()
    net.name = "test"
    for lname, blobs in weights.items():
        msg = net.layers.add() if v1 else net.layer.add()
        msg.name = lname
        if v1 and v1_types and lname in v1_types:
            msg.type = pb.V1LayerParameter.LayerType.Value(v1_types[lname])
        for arr in blobs:
            arr = np.asarray(arr, np.float32)
            b = msg.blobs.add()
            if v1:
                dims = [1] * (4 - arr.ndim) + list(arr.shape)
                b.num, b.channels, b.height, b.width = (int(d) for d in dims)
            else:
                b.shape.dim.extend(int(d) for d in arr.shape)
            b.data.extend(arr.ravel().tolist())
    return net.SerializeToString()


def load(prototxt: str, weights: Optional[Mapping[str, Sequence[np.ndarray]]] = None,
         num_threads: Optional[int] = None, v1: bool = False) -> xnn.Model:
    return xnn.Model.from_caffe_bytes(prototxt.encode(), caffemodel_bytes(weights or {}, v1=v1),
                                      num_threads=num_threads)


def check(got: np.ndarray, want: np.ndarray, what: str, rtol: float = RTOL, floor: float = 1e-6) -> None:
    """|got - want| <= rtol * max(max|want|, floor) everywhere (shapes must match exactly)."""
    got = np.asarray(got)
    want = np.asarray(want, np.float64)
    assert got.dtype == np.float32, f"{what}: dtype {got.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert np.all(np.isfinite(got)), f"{what}: non-finite output"
    scale = max(float(np.abs(want).max()) if want.size else 0.0, floor)
    err = float(np.abs(got.astype(np.float64) - want).max()) if want.size else 0.0
    assert err <= rtol * scale, f"{what}: max abs error {err:.3g} > {rtol:g} * max|ref| ({scale:.3g})"


def shape_str(shape) -> str:
    return "x".join(str(d) for d in shape)


# ============================================================================== Convolution

# (N, C, H, W, O, (kh, kw), (sh, sw), (ph, pw), (dh, dw), group, bias_term)
CONV_CASES = [
    # 1x1 fast path (stride 1, pad 0)
    (1, 3, 7, 7, 5, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    (3, 17, 13, 13, 33, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    (1, 33, 20, 20, 40, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    (1, 1, 1, 1, 1, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    (1, 13, 17, 3, 17, (1, 1), (1, 1), (0, 0), (1, 1), 1, False),
    # 1x1 general path (stride / pad)
    (1, 5, 13, 13, 7, (1, 1), (2, 2), (0, 0), (1, 1), 1, True),
    (3, 5, 7, 7, 3, (1, 1), (1, 1), (1, 1), (1, 1), 1, True),
    # 1x1 padded (the GEMM on the unpadded map, framed by the bias)
    (1, 40, 13, 11, 37, (1, 1), (1, 1), (2, 1), (1, 1), 1, False),
    (2, 64, 9, 15, 70, (1, 1), (1, 1), (1, 3), (1, 1), 1, True),
    (1, 3, 1, 1, 9, (1, 1), (1, 1), (1, 1), (1, 1), 1, True),
    # k x k general path
    (1, 3, 7, 7, 5, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    (3, 3, 13, 13, 13, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
    (1, 5, 17, 17, 17, (5, 5), (3, 3), (2, 2), (1, 1), 1, True),
    (1, 3, 17, 13, 8, (7, 7), (2, 2), (3, 3), (1, 1), 1, True),
    (1, 13, 22, 22, 40, (3, 3), (1, 1), (0, 0), (1, 1), 1, True),      # 40 x 20 x 20: multi-tile
    (3, 16, 21, 21, 40, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),      # batch 3, 40 x 21 x 21
    (1, 3, 41, 41, 33, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),       # 33 x 21 x 21 with stride 2
    # F(4x4, 3x3) on maps of at most 8 tiles a row, whole tile rows a call: 4 rows of 4 tiles (the last row
    # of tiles one pixel high), 3 and 2 rows of 5 tiles, 2 rows of 8 and a single one
    (1, 24, 13, 13, 20, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    (1, 16, 18, 19, 17, (3, 3), (1, 1), (1, 1), (1, 1), 1, False),
    (2, 16, 9, 32, 24, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    (1, 1, 3, 1, 3, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),          # kernel larger than the input
    (1, 3, 7, 7, 5, (3, 3), (1, 1), (2, 2), (1, 1), 1, False),         # pad 2, no bias
    # maps too small for F(4x4, 3x3) tiles: F(2x2, 3x3) where the set has it
    (1, 16, 7, 7, 20, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    (2, 24, 9, 11, 17, (3, 3), (1, 1), (1, 1), (1, 1), 1, False),
    (1, 40, 12, 12, 48, (3, 3), (1, 1), (0, 0), (1, 1), 1, True),      # 10 x 10 output
    (1, 32, 8, 8, 32, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),        # two groups of 16
    # dilation
    (1, 5, 13, 13, 7, (3, 3), (1, 1), (2, 2), (2, 2), 1, True),
    (1, 3, 17, 17, 5, (3, 3), (1, 1), (3, 3), (3, 3), 1, True),
    (3, 3, 17, 13, 4, (3, 5), (2, 1), (1, 2), (3, 2), 1, True),
    # asymmetric kernel / stride / pad
    (1, 3, 13, 17, 5, (3, 5), (1, 1), (1, 2), (1, 1), 1, True),
    (1, 5, 17, 13, 7, (1, 7), (1, 2), (0, 3), (1, 1), 1, True),
    (3, 3, 13, 13, 5, (7, 1), (3, 1), (3, 0), (1, 1), 1, False),
    (1, 4, 13, 17, 6, (3, 3), (1, 2), (0, 1), (1, 1), 1, True),
    # groups
    (1, 6, 13, 13, 10, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),
    (3, 9, 7, 7, 6, (3, 3), (2, 2), (1, 1), (1, 1), 3, True),
    (1, 34, 20, 20, 40, (1, 1), (1, 1), (0, 0), (1, 1), 2, True),      # grouped 1x1
    (1, 15, 13, 13, 21, (5, 5), (1, 1), (2, 2), (2, 2), 3, False),
    # depthwise (group == C == O) and channel multiplier (O = 2C)
    (1, 13, 13, 13, 13, (3, 3), (1, 1), (1, 1), (1, 1), 13, True),
    (3, 17, 13, 13, 17, (3, 3), (2, 2), (1, 1), (1, 1), 17, True),
    (1, 33, 20, 20, 33, (3, 3), (1, 1), (1, 1), (1, 1), 33, True),
    (1, 5, 17, 17, 5, (5, 5), (2, 2), (2, 2), (1, 1), 5, False),
    (1, 3, 17, 17, 3, (3, 3), (1, 1), (2, 2), (2, 2), 3, True),
    (1, 7, 13, 17, 7, (7, 7), (3, 3), (3, 3), (1, 1), 7, True),
    (1, 1, 7, 7, 1, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    (1, 5, 13, 13, 10, (3, 3), (1, 1), (1, 1), (1, 1), 5, True),
    (1, 8, 7, 13, 8, (3, 5), (2, 1), (1, 2), (1, 1), 8, True),
    # larger layers (several M and N tiles, long K)
    (1, 64, 30, 30, 72, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    (2, 48, 28, 28, 96, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    # 1x1 on maps of 1024+ pixels: the tiles read the input in place, a partial last tile is packed
    (1, 34, 33, 37, 40, (1, 1), (1, 1), (0, 0), (1, 1), 2, True),      # 1221 pixels, grouped
    (2, 600, 32, 33, 20, (1, 1), (1, 1), (0, 0), (1, 1), 1, False),    # K = 600: two K chunks, batch 2
    (1, 16, 45, 45, 24, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),      # 2025 pixels, several column blocks
    (1, 96, 28, 28, 96, (3, 3), (2, 2), (1, 1), (1, 1), 96, True),
    (1, 3, 64, 48, 24, (5, 5), (2, 2), (2, 2), (1, 1), 1, True),
    # first layers, few input channels at stride 2: the direct kernel where the set has it (3x3 to <= 32
    # channels, 5x5 and 7x7), rows of 32-pixel tiles and a last one of up to 16 or more, partial panels of 8
    (1, 3, 37, 70, 32, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
    (2, 3, 29, 66, 24, (7, 7), (2, 2), (3, 3), (1, 1), 1, True),
    (1, 1, 23, 45, 13, (5, 5), (2, 2), (2, 2), (1, 1), 1, False),
    (1, 4, 17, 97, 40, (7, 7), (2, 2), (0, 0), (1, 1), 1, True),
    (1, 2, 9, 35, 8, (5, 3), (2, 2), (2, 1), (1, 1), 1, True),
    (1, 3, 31, 64, 64, (3, 3), (2, 2), (0, 0), (1, 1), 1, True),      # 3x3 to 64 channels: the GEMM
    # grouped 3x3 with 16+ channels per group: Winograd per group (AlexNet's conv4/conv5 shape)
    (1, 64, 18, 18, 48, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),
    (2, 96, 13, 13, 96, (3, 3), (1, 1), (1, 1), (1, 1), 3, False),
]


def _random_conv_cases(count: int, seed: int) -> List[tuple]:
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        n = int(rng.choice([1, 3]))
        group_kind = rng.choice(["1", "2", "3", "dw"])
        cg = int(rng.choice([1, 3, 5, 13, 17]))
        if group_kind == "dw":
            group = c = cg
            o = c * int(rng.choice([1, 1, 2]))
        else:
            group = int(group_kind)
            c = cg * group
            o = group * int(rng.choice([1, 3, 5, 7, 13]))
        h, w = (int(v) for v in rng.choice([1, 3, 7, 13, 17], size=2))
        if rng.random() < 0.3:
            kh, kw = (int(v) for v in rng.choice([1, 3, 5, 7], size=2))
        else:
            kh = kw = int(rng.choice([1, 3, 5, 7]))
        if rng.random() < 0.3:
            sh, sw = (int(v) for v in rng.choice([1, 2, 3], size=2))
        else:
            sh = sw = int(rng.choice([1, 2, 3]))
        ph, pw = (int(v) for v in rng.choice([0, 1, 2], size=2))
        dh = dw = int(rng.choice([1, 1, 2, 3]))
        if ref.conv_out_size(h, kh, sh, ph, dh) < 1 or ref.conv_out_size(w, kw, sw, pw, dw) < 1:
            continue
        cases.append((n, c, h, w, o, (kh, kw), (sh, sw), (ph, pw), (dh, dw), group, bool(rng.random() < 0.8)))
    return cases


CONV_CASES += _random_conv_cases(60, seed=SEED)


def conv_param(o, k, s, p, d, group, bias, style: str = "auto") -> str:
    """convolution_param text; square values use the single fields, others kernel_h/_w etc."""
    parts = [f"num_output: {o}"]
    for key, hw_key, (vh, vw), default in (("kernel_size", "kernel", k, None), ("stride", "stride", s, 1),
                                          ("pad", "pad", p, 0), ("dilation", None, d, 1)):
        if vh == vw:
            if vh != default:
                parts.append(f"{key}: {vh}")
        elif style == "repeated" or hw_key is None:
            parts.append(f"{key}: {vh} {key}: {vw}")
        else:
            parts.append(f"{hw_key}_h: {vh} {hw_key}_w: {vw}")
    if group != 1:
        parts.append(f"group: {group}")
    if not bias:
        parts.append("bias_term: false")
    return "convolution_param { " + " ".join(parts) + " }"


def conv_id(case) -> str:
    n, c, h, w, o, k, s, p, d, g, b = case
    return (f"n{n}c{c}_{h}x{w}_o{o}_k{k[0]}x{k[1]}_s{s[0]}x{s[1]}_p{p[0]}x{p[1]}_d{d[0]}x{d[1]}_g{g}"
            + ("" if b else "_nobias"))


def conv_model(case, num_threads=None, style="auto"):
    n, c, h, w, o, k, s, p, d, g, b = case
    rng = rng_for("conv", case)
    weight = randn(rng, o, c // g, k[0], k[1], scale=1.0 / np.sqrt(c // g * k[0] * k[1]))
    blobs = [weight]
    if b:
        blobs.append(randn(rng, o))
    proto = net_text({"data": (n, c, h, w)},
                     layer("conv", "Convolution", "data", "conv", conv_param(o, k, s, p, d, g, b, style)))
    model = load(proto, {"conv": blobs}, num_threads=num_threads)
    x = randn(rng, n, c, h, w)
    want = ref.conv2d(x, weight, blobs[1] if b else None, s, p, d, g)
    return model, x, want


@pytest.mark.parametrize("case", CONV_CASES, ids=conv_id)
def test_convolution(case):
    model, x, want = conv_model(case)
    check(model.predict(x), want, f"Convolution {conv_id(case)}")


def test_padded_pointwise_border_is_activated_bias():
    """A padded 1x1 convolution with a fused leaky ReLU: the border is the bias through the activation."""
    rng = rng_for("conv-pad1x1-leaky")
    n, c, h, w, o = 2, 24, 13, 9, 45
    wt = randn(rng, o, c, 1, 1, scale=1.0 / np.sqrt(c))
    b = randn(rng, o)
    assert (b < 0).any() and (b > 0).any()
    proto = net_text({"data": (n, c, h, w)},
                     layer("conv", "Convolution", "data", "conv",
                           conv_param(o, (1, 1), (1, 1), (2, 1), (1, 1), 1, True))
                     + layer("relu", "ReLU", "conv", "conv", "relu_param { negative_slope: 0.1 }"))
    model = load(proto, {"conv": [wt, b]})
    x = randn(rng, n, c, h, w)
    check(model.predict(x), ref.relu(ref.conv2d(x, wt, b, (1, 1), (2, 1)), 0.1), "padded 1x1 + leaky ReLU")


def test_convolution_repeated_fields_and_batch_reshape():
    """kernel_size/stride/pad given as two repeated values (h, w); a plan for another batch size."""
    case = (1, 5, 13, 11, 7, (3, 5), (2, 1), (1, 2), (2, 1), 1, True)
    model, x, want = conv_model(case, style="repeated")
    check(model.predict(x), want, "Convolution repeated fields")
    n, c, h, w, o, k, s, p, d, g, b = case
    rng = rng_for("conv-batch3")
    x3 = randn(rng, 3, c, h, w)
    out3 = model.predict(x3)
    for i in range(3):  # each item equals a batch-1 run of the same model
        check(out3[i:i + 1], model.predict(x3[i:i + 1]).astype(np.float64), "Convolution batch 3 vs 1",
              rtol=1e-6)


# ============================================================================== InnerProduct

# (input shape, num_output, axis, transpose, bias_term)
FC_CASES = [
    ((1, 7), 5, 1, False, True),
    ((3, 50), 13, 1, False, True),
    ((3, 5, 7, 7), 17, 1, False, True),
    ((1, 3, 13, 13), 33, 1, False, False),
    ((3, 33, 3, 3), 100, 1, False, True),            # two output tiles
    ((1, 1000), 130, 1, False, True),                # three output tiles, long K
    ((3, 17), 1, 1, False, True),
    ((2, 3, 5, 7), 9, 2, False, True),               # axis 2: (2, 3, 9)
    ((2, 3, 5, 7), 4, 3, False, True),               # axis 3: (2, 3, 5, 4)
    ((2, 3, 5, 7), 6, -1, False, False),             # negative axis
    ((3, 13, 3, 1), 5, 1, True, True),               # transpose: weights (K, N)
    ((3, 40), 70, 1, True, False),
    ((2, 5, 6), 3, 2, True, True),
    ((2, 1024), 300, 1, False, True),                # long K, five output tiles
    ((4, 64, 3, 3), 257, 1, False, True),
]


def fc_id(case) -> str:
    shape, no, axis, tr, b = case
    return f"in{shape_str(shape)}_o{no}_axis{axis}" + ("_T" if tr else "") + ("" if b else "_nobias")


@pytest.mark.parametrize("case", FC_CASES, ids=fc_id)
def test_inner_product(case):
    shape, no, axis, transpose, has_bias = case
    rng = rng_for("fc", case)
    k = int(np.prod(shape[axis % len(shape):]))
    weight = randn(rng, *((k, no) if transpose else (no, k)), scale=1.0 / np.sqrt(k))
    blobs = [weight] + ([randn(rng, no)] if has_bias else [])
    params = [f"num_output: {no}"]
    if axis != 1:
        params.append(f"axis: {axis}")
    if transpose:
        params.append("transpose: true")
    if not has_bias:
        params.append("bias_term: false")
    proto = net_text({"data": shape}, layer("fc", "InnerProduct", "data", "fc",
                                            "inner_product_param { " + " ".join(params) + " }"))
    model = load(proto, {"fc": blobs})
    x = randn(rng, *shape)
    want = ref.inner_product(x, weight, blobs[1] if has_bias else None, axis=axis, transpose=transpose)
    check(model.predict(x), want, f"InnerProduct {fc_id(case)}")


# ============================================================================== Pooling

# (N, C, H, W, method, (kh, kw), (sh, sw), (ph, pw), global_pooling, round_mode)
POOL_CASES = [
    (1, 3, 7, 7, "MAX", (2, 2), (2, 2), (0, 0), False, "CEIL"),       # ceil: 4x4
    (1, 3, 8, 8, "MAX", (2, 2), (2, 2), (0, 0), False, "CEIL"),
    (3, 13, 13, 13, "MAX", (3, 3), (2, 2), (0, 0), False, "CEIL"),
    (1, 5, 13, 13, "MAX", (3, 3), (2, 2), (1, 1), False, "CEIL"),
    (1, 17, 7, 7, "MAX", (2, 2), (2, 2), (1, 1), False, "CEIL"),      # last window dropped (starts in pad)
    (1, 3, 4, 4, "MAX", (2, 2), (3, 3), (1, 1), False, "CEIL"),       # last window dropped
    (1, 3, 4, 4, "AVE", (2, 2), (3, 3), (1, 1), False, "CEIL"),
    (1, 17, 7, 7, "AVE", (2, 2), (2, 2), (1, 1), False, "CEIL"),
    (1, 3, 7, 5, "MAX", (3, 1), (2, 3), (1, 0), False, "CEIL"),       # drop on the unpadded axis too
    (1, 3, 7, 5, "AVE", (3, 1), (2, 3), (1, 0), False, "CEIL"),
    (1, 3, 5, 5, "AVE", (3, 3), (1, 1), (1, 1), False, "CEIL"),       # padded taps counted
    (3, 5, 6, 6, "AVE", (3, 3), (2, 2), (1, 1), False, "CEIL"),       # window clipped at H + pad
    (1, 5, 8, 8, "AVE", (3, 3), (2, 2), (0, 0), False, "CEIL"),       # window clipped at H (no pad)
    (1, 3, 13, 13, "AVE", (5, 5), (3, 3), (2, 2), False, "CEIL"),
    (1, 3, 7, 7, "MAX", (2, 2), (2, 2), (0, 0), False, "FLOOR"),      # floor: 3x3
    (1, 3, 13, 13, "AVE", (3, 3), (2, 2), (1, 1), False, "FLOOR"),
    (1, 3, 8, 8, "MAX", (3, 3), (2, 2), (1, 1), False, "FLOOR"),
    (1, 3, 13, 17, "MAX", (3, 5), (2, 3), (1, 2), False, "CEIL"),     # asymmetric
    (1, 5, 17, 13, "AVE", (5, 3), (3, 2), (2, 1), False, "CEIL"),
    (3, 33, 17, 17, "MAX", (3, 3), (2, 2), (0, 0), False, "CEIL"),    # many planes
    (1, 64, 111, 111, "MAX", (3, 3), (2, 2), (0, 0), False, "CEIL"),  # windows inside: pooled in place
    (2, 40, 3, 3, "MAX", (3, 3), (1, 1), (0, 0), False, "CEIL"),      # the last planes copied (over-reads)
    (1, 19, 28, 28, "MAX", (3, 3), (1, 1), (1, 1), False, "CEIL"),    # GoogLeNet's inception pools
    (1, 8, 112, 112, "MAX", (3, 3), (2, 2), (0, 0), False, "CEIL"),   # overhang: last row, column redone
    (2, 6, 64, 45, "MAX", (3, 3), (2, 2), (0, 0), False, "CEIL"),     # overhang on one axis
    (1, 4, 45, 64, "MAX", (3, 3), (2, 2), (0, 0), False, "CEIL"),
    (3, 33, 17, 17, "AVE", (3, 3), (1, 1), (1, 1), False, "CEIL"),
    (1, 7, 20, 20, "MAX", (1, 1), (1, 1), (0, 0), False, "CEIL"),
    (1, 3, 1, 1, "MAX", (1, 1), (1, 1), (0, 0), False, "CEIL"),
    (1, 5, 7, 7, "MAX", (7, 7), (1, 1), (0, 0), False, "CEIL"),       # kernel == input
    (3, 13, 7, 5, "AVE", None, None, (0, 0), True, "CEIL"),           # global
    (1, 17, 13, 13, "MAX", None, None, (0, 0), True, "CEIL"),
    (1, 3, 1, 1, "AVE", None, None, (0, 0), True, "CEIL"),
    (1, 1024, 7, 7, "AVE", None, None, (0, 0), True, "CEIL"),
]


def _pool_windows_ok(h, w, k, s, p, ceil_mode) -> bool:
    if h + 2 * p[0] < k[0] or w + 2 * p[1] < k[1]:
        return False
    oh, ow = ref.pool_out_shape(h, w, k, s, p, ceil_mode)
    # Every window must overlap the input (Caffe's result is undefined otherwise).
    return (oh - 1) * s[0] - p[0] < h and (ow - 1) * s[1] - p[1] < w and oh >= 1 and ow >= 1


def _random_pool_cases(count: int, seed: int) -> List[tuple]:
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        n = int(rng.choice([1, 3]))
        c = int(rng.choice([1, 3, 5, 13, 17, 33]))
        h, w = (int(v) for v in rng.choice([1, 3, 7, 8, 13, 17], size=2))
        method = str(rng.choice(["MAX", "AVE"]))
        kh, kw = (int(v) for v in rng.choice([1, 2, 3, 5], size=2))
        sh, sw = (int(v) for v in rng.choice([1, 2, 3], size=2))
        ph = int(rng.integers(0, min(kh, 3)))
        pw = int(rng.integers(0, min(kw, 3)))
        round_mode = "FLOOR" if rng.random() < 0.25 else "CEIL"
        if not _pool_windows_ok(h, w, (kh, kw), (sh, sw), (ph, pw), round_mode == "CEIL"):
            continue
        cases.append((n, c, h, w, method, (kh, kw), (sh, sw), (ph, pw), False, round_mode))
    return cases


POOL_CASES += _random_pool_cases(50, seed=SEED + 1)


def pool_id(case) -> str:
    n, c, h, w, m, k, s, p, g, rm = case
    if g:
        return f"n{n}c{c}_{h}x{w}_{m}_global"
    return f"n{n}c{c}_{h}x{w}_{m}_k{k[0]}x{k[1]}_s{s[0]}x{s[1]}_p{p[0]}x{p[1]}_{rm}"


def pool_param(m, k, s, p, g, rm) -> str:
    parts = [f"pool: {m}"]
    if g:
        parts.append("global_pooling: true")
    else:
        for key, hw_key, (vh, vw), default in (("kernel_size", "kernel", k, None), ("stride", "stride", s, 1),
                                              ("pad", "pad", p, 0)):
            if vh == vw:
                if vh != default:
                    parts.append(f"{key}: {vh}")
            else:
                parts.append(f"{hw_key}_h: {vh} {hw_key}_w: {vw}")
    if rm != "CEIL":
        parts.append(f"round_mode: {rm}")
    return "pooling_param { " + " ".join(parts) + " }"


def pool_model(case, num_threads=None):
    n, c, h, w, m, k, s, p, g, rm = case
    proto = net_text({"data": (n, c, h, w)}, layer("pool", "Pooling", "data", "pool", pool_param(m, k, s, p, g, rm)))
    model = load(proto, num_threads=num_threads)
    x = randn(rng_for("pool", case), n, c, h, w)
    want = ref.pool2d(x, m, k, s, p, global_pooling=g, ceil_mode=rm == "CEIL")
    return model, x, want


@pytest.mark.parametrize("case", POOL_CASES, ids=pool_id)
def test_pooling(case):
    model, x, want = pool_model(case)
    check(model.predict(x), want, f"Pooling {pool_id(case)}")


# ============================================================================== activations

ACT_SHAPES = [(1, 1, 1, 1), (1, 3, 7, 7), (3, 17, 13, 7), (1, 33, 20, 20), (3, 13), (1, 5, 3, 1), (2, 1001)]


@pytest.mark.parametrize("shape", ACT_SHAPES, ids=shape_str)
@pytest.mark.parametrize("slope", [0.0, 0.1, -0.5])
def test_relu(shape, slope):
    param = "" if slope == 0.0 else f"relu_param {{ negative_slope: {slope} }}"
    model = load(net_text({"data": shape}, layer("relu", "ReLU", "data", "relu", param)))
    x = randn(rng_for("relu", shape, slope), *shape)
    check(model.predict(x), ref.relu(x, slope), f"ReLU slope {slope} {shape}")


@pytest.mark.parametrize("shape", [(1, 1, 3, 3), (1, 3, 7, 7), (3, 17, 13, 7), (1, 33, 20, 20), (3, 13),
                                   (2, 5, 1, 1)], ids=shape_str)
@pytest.mark.parametrize("shared", [False, True], ids=["per_channel", "channel_shared"])
def test_prelu(shape, shared):
    rng = rng_for("prelu", shape, shared)
    c = shape[1]
    slope = rng.uniform(-0.5, 0.8, size=1 if shared else c).astype(np.float32)
    param = "prelu_param { channel_shared: true }" if shared else ""
    model = load(net_text({"data": shape}, layer("prelu", "PReLU", "data", "prelu", param)), {"prelu": [slope]})
    x = randn(rng, *shape)
    check(model.predict(x), ref.prelu(x, slope), f"PReLU shared={shared} {shape}")


@pytest.mark.parametrize("shape", ACT_SHAPES, ids=shape_str)
@pytest.mark.parametrize("kind", ["Sigmoid", "TanH"])
def test_sigmoid_tanh(shape, kind):
    model = load(net_text({"data": shape}, layer("act", kind, "data", "act")))
    x = randn(rng_for(kind, shape), *shape, scale=4.0)   # covers saturation too
    want = ref.sigmoid(x) if kind == "Sigmoid" else ref.tanh(x)
    check(model.predict(x), want, f"{kind} {shape}")


def test_sigmoid_tanh_extreme_inputs():
    x = np.array([-1000, -100, -30, -10, -1e-3, 0, 1e-3, 10, 30, 100, 1000], np.float32).reshape(1, 11)
    for kind, f in (("Sigmoid", ref.sigmoid), ("TanH", ref.tanh)):
        model = load(net_text({"data": x.shape}, layer("act", kind, "data", "act")))
        check(model.predict(x), f(x), f"{kind} extreme inputs")


# ============================================================================== LRN

# (shape, local_size, alpha, beta, k)
LRN_ACROSS = [
    ((1, 1, 3, 3), 5, 1.0, 0.75, 1.0),
    ((1, 3, 7, 7), 5, 1.0, 0.75, 1.0),
    ((3, 13, 5, 5), 3, 0.5, 0.75, 2.0),
    ((1, 17, 7, 13), 5, 1e-4, 0.75, 1.0),       # AlexNet's values
    ((1, 33, 13, 13), 7, 2.0, 0.5, 1.5),
    ((2, 6, 3, 1), 1, 0.3, 1.2, 0.8),
    ((1, 16, 20, 20), 5, 0.8, 0.75, 1.0),
]
LRN_WITHIN = [
    ((1, 1, 3, 3), 3, 1.0, 0.75),
    ((1, 3, 7, 7), 3, 2.0, 0.75),
    ((3, 5, 13, 13), 5, 1.5, 0.5),
    ((1, 13, 17, 3), 5, 3.0, 0.75),
    ((1, 3, 1, 1), 3, 1.0, 0.75),
    ((1, 2, 5, 7), 7, 4.0, 1.0),
]


@pytest.mark.parametrize("case", LRN_ACROSS, ids=lambda c: f"{shape_str(c[0])}_n{c[1]}_a{c[2]}_b{c[3]}_k{c[4]}")
def test_lrn_across_channels(case):
    shape, size, alpha, beta, k = case
    param = f"lrn_param {{ local_size: {size} alpha: {alpha} beta: {beta} k: {k} }}"
    model = load(net_text({"data": shape}, layer("norm", "LRN", "data", "norm", param)))
    x = randn(rng_for("lrn", case), *shape, scale=2.0)
    check(model.predict(x), ref.lrn_across(x, size, alpha, beta, k), f"LRN ACROSS_CHANNELS {case}")


def test_lrn_defaults():
    """No lrn_param at all: local_size 5, alpha 1, beta 0.75, k 1, ACROSS_CHANNELS."""
    shape = (1, 7, 5, 5)
    model = load(net_text({"data": shape}, layer("norm", "LRN", "data", "norm")))
    x = randn(rng_for("lrn-default"), *shape)
    check(model.predict(x), ref.lrn_across(x, 5, 1.0, 0.75, 1.0), "LRN defaults")


@pytest.mark.parametrize("case", LRN_WITHIN, ids=lambda c: f"{shape_str(c[0])}_n{c[1]}_a{c[2]}_b{c[3]}")
def test_lrn_within_channel(case):
    shape, size, alpha, beta = case
    param = (f"lrn_param {{ local_size: {size} alpha: {alpha} beta: {beta} norm_region: WITHIN_CHANNEL "
             f"k: 5.0 }}")  # k is not used by Caffe's WITHIN_CHANNEL
    model = load(net_text({"data": shape}, layer("norm", "LRN", "data", "norm", param)))
    x = randn(rng_for("lrn-within", case), *shape, scale=2.0)
    check(model.predict(x), ref.lrn_within(x, size, alpha, beta), f"LRN WITHIN_CHANNEL {case}")


# ============================================================================== BatchNorm / Scale / Bias

BN_CASES = [
    ((1, 3, 7, 7), 1.0, None),
    ((3, 17, 5, 5), 999.98, 1e-3),
    ((1, 33, 13, 13), 0.5, 1e-5),
    ((1, 1, 3, 3), 1.0, 0.1),
    ((3, 13), 2.0, None),          # 2-D input
    ((1, 5, 3, 3), 0.0, 1e-2),     # scale factor 0: Caffe uses zero statistics
]


@pytest.mark.parametrize("case", BN_CASES, ids=lambda c: f"{shape_str(c[0])}_sf{c[1]}_eps{c[2]}")
def test_batch_norm(case):
    shape, sf, eps = case
    rng = rng_for("bn", case)
    c = shape[1]
    mean = randn(rng, c) * max(sf, 1.0)
    var = (rng.uniform(0.1, 2.0, size=c) * max(sf, 1.0)).astype(np.float32)
    param = "" if eps is None else f"batch_norm_param {{ eps: {eps} }}"
    model = load(net_text({"data": shape}, layer("bn", "BatchNorm", "data", "bn", param)),
                 {"bn": [mean, var, np.array([sf], np.float32)]})
    x = randn(rng, *shape)
    want = ref.batch_norm(x, mean, var, sf, 1e-5 if eps is None else eps)
    check(model.predict(x), want, f"BatchNorm {case}")


@pytest.mark.parametrize("shape", [(1, 3, 7, 7), (3, 17, 13, 5), (1, 33, 1, 1), (3, 13), (1, 1, 3, 3)],
                         ids=shape_str)
@pytest.mark.parametrize("bias_term", [False, True])
def test_scale(shape, bias_term):
    rng = rng_for("scale", shape, bias_term)
    c = shape[1]
    gamma = randn(rng, c)
    blobs = [gamma] + ([randn(rng, c)] if bias_term else [])
    param = "scale_param { bias_term: true }" if bias_term else ""
    model = load(net_text({"data": shape}, layer("sc", "Scale", "data", "sc", param)), {"sc": blobs})
    x = randn(rng, *shape)
    check(model.predict(x), ref.scale(x, gamma, blobs[1] if bias_term else None), f"Scale bias={bias_term} {shape}")


@pytest.mark.parametrize("shape", [(1, 3, 7, 7), (3, 17, 13, 5), (3, 13)], ids=shape_str)
def test_bias(shape):
    rng = rng_for("bias", shape)
    beta = randn(rng, shape[1])
    model = load(net_text({"data": shape}, layer("b", "Bias", "data", "b")), {"b": [beta]})
    x = randn(rng, *shape)
    check(model.predict(x), ref.bias(x, beta), f"Bias {shape}")


def test_batch_norm_scale_chain_in_place():
    """conv -> BatchNorm -> Scale -> ReLU, all in place (top == bottom), as ResNet writes them."""
    rng = rng_for("bn-chain")
    n, c, h, w, o = 1, 5, 9, 9, 7
    wt = randn(rng, o, c, 3, 3, scale=0.3)
    mean, var = randn(rng, o), rng.uniform(0.5, 2.0, o).astype(np.float32)
    gamma, beta = randn(rng, o), randn(rng, o)
    proto = net_text(
        {"data": (n, c, h, w)},
        layer("conv", "Convolution", "data", "conv", "convolution_param { num_output: 7 kernel_size: 3 pad: 1 "
                                                     "bias_term: false }"),
        layer("bn", "BatchNorm", "conv", "conv", "batch_norm_param { use_global_stats: true }"),
        layer("sc", "Scale", "conv", "conv", "scale_param { bias_term: true }"),
        layer("relu", "ReLU", "conv", "conv"))
    model = load(proto, {"conv": [wt], "bn": [mean, var, np.ones(1, np.float32)], "sc": [gamma, beta]})
    x = randn(rng, n, c, h, w)
    want = ref.relu(ref.scale(ref.batch_norm(ref.conv2d(x, wt, None, 1, 1), mean, var, 1.0), gamma, beta))
    assert [o.name for o in model.outputs] == ["conv"]
    check(model.predict(x), want, "conv+BatchNorm+Scale+ReLU in place")


# ============================================================================== Eltwise

@pytest.mark.parametrize("shape", [(1, 3, 7, 7), (3, 17, 13, 5), (2, 33), (1, 1, 1, 1)], ids=shape_str)
@pytest.mark.parametrize("n_inputs", [2, 3])
@pytest.mark.parametrize("op", ["SUM", "SUM_coeff", "PROD", "MAX"])
def test_eltwise(shape, n_inputs, op):
    rng = rng_for("eltwise", shape, n_inputs, op)
    names = ["a", "b", "c"][:n_inputs]
    coeff = None
    if op == "SUM_coeff":
        coeff = [0.5, -1.25, 2.0][:n_inputs]
        param = "eltwise_param { operation: SUM " + " ".join(f"coeff: {c}" for c in coeff) + " }"
        operation = "SUM"
    else:
        operation = op
        param = "" if op == "SUM" else f"eltwise_param {{ operation: {op} }}"
    proto = net_text({nm: shape for nm in names}, layer("elt", "Eltwise", names, "elt", param))
    model = load(proto)
    xs = {nm: randn(rng, *shape) for nm in names}
    out = model.run(xs)
    assert list(out) == ["elt"]
    check(out["elt"], ref.eltwise([xs[nm] for nm in names], operation, coeff), f"Eltwise {op} x{n_inputs} {shape}")


def test_eltwise_of_layer_outputs():
    """Eltwise SUM of a conv branch (with in-place ReLU) and the input (a residual block)."""
    rng = rng_for("residual")
    shape = (3, 5, 9, 9)
    wt, b = randn(rng, 5, 5, 3, 3, scale=0.3), randn(rng, 5)
    proto = net_text({"data": shape},
                     layer("conv", "Convolution", "data", "conv", "convolution_param { num_output: 5 kernel_size: 3 pad: 1 }"),
                     layer("relu", "ReLU", "conv", "conv"),
                     layer("sum", "Eltwise", ["conv", "data"], "sum"))
    model = load(proto, {"conv": [wt, b]})
    x = randn(rng, *shape)
    check(model.predict(x), ref.relu(ref.conv2d(x, wt, b, 1, 1)) + x, "residual Eltwise")


# ============================================================================== Concat / Slice

# (shapes of the inputs, param text, numpy axis)
CONCAT_CASES = [
    ([(1, 3, 7, 7), (1, 5, 7, 7)], "", 1),
    ([(3, 3, 5, 5), (3, 1, 5, 5), (3, 13, 5, 5)], "concat_param { axis: 1 }", 1),
    ([(2, 3, 4, 5), (2, 3, 7, 5)], "concat_param { axis: 2 }", 2),
    ([(2, 3, 4, 5), (2, 3, 4, 1), (2, 3, 4, 3)], "concat_param { axis: 3 }", 3),
    ([(2, 3, 4, 5), (2, 3, 4, 2)], "concat_param { axis: -1 }", 3),
    ([(1, 3, 4, 5), (2, 3, 4, 5)], "concat_param { axis: 0 }", 0),
    ([(2, 3, 4, 5), (2, 6, 4, 5)], "concat_param { concat_dim: 1 }", 1),     # legacy
    ([(2, 3, 4, 5), (2, 3, 1, 5)], "concat_param { concat_dim: 2 }", 2),     # legacy
    ([(3, 13), (3, 17)], "", 1),
    ([(1, 7, 3, 3)], "", 1),                                                 # one input
]


@pytest.mark.parametrize("case", CONCAT_CASES, ids=lambda c: "_".join(shape_str(s) for s in c[0]) + f"_axis{c[2]}")
def test_concat(case):
    shapes, param, axis = case
    rng = rng_for("concat", case)
    names = [f"in{i}" for i in range(len(shapes))]
    model = load(net_text(dict(zip(names, shapes)), layer("cat", "Concat", names, "cat", param)))
    xs = {nm: randn(rng, *s) for nm, s in zip(names, shapes)}
    out = model.run(xs)
    check(out["cat"], ref.concat([xs[nm] for nm in names], axis), f"Concat {case}")


# (input shape, number of tops, param text, numpy axis, slice points)
SLICE_CASES = [
    ((1, 13, 5, 5), 3, "slice_param { slice_point: 2 slice_point: 5 }", 1, [2, 5]),
    ((3, 12, 3, 3), 3, "", 1, None),                                           # equal split, default axis 1
    ((3, 12, 3, 3), 2, "slice_param { axis: 1 }", 1, None),
    ((2, 3, 7, 5), 2, "slice_param { axis: 2 slice_point: 4 }", 2, [4]),
    ((2, 3, 7, 6), 3, "slice_param { axis: -1 }", 3, None),
    ((2, 3, 7, 6), 3, "slice_param { axis: 3 slice_point: 1 slice_point: 2 }", 3, [1, 2]),
    ((4, 3, 2, 2), 2, "slice_param { axis: 0 slice_point: 1 }", 0, [1]),
    ((2, 10, 3, 3), 2, "slice_param { slice_dim: 1 slice_point: 7 }", 1, [7]),  # legacy slice_dim
    ((3, 17), 2, "slice_param { slice_point: 16 }", 1, [16]),
]


@pytest.mark.parametrize("case", SLICE_CASES, ids=lambda c: f"{shape_str(c[0])}_tops{c[1]}_axis{c[3]}_pts{c[4]}")
def test_slice(case):
    shape, n_tops, param, axis, points = case
    tops = [f"s{i}" for i in range(n_tops)]
    model = load(net_text({"data": shape}, layer("slice", "Slice", "data", tops, param)))
    x = randn(rng_for("slice", case), *shape)
    out = model.predict(x)
    if n_tops == 1:
        out = {tops[0]: out}
    assert list(out) == tops
    for t, want in zip(tops, ref.slice_(x, n_tops, axis, points)):
        check(out[t], want, f"Slice {case} top {t}")


def test_slice_then_concat_roundtrip():
    rng = rng_for("slice-concat")
    shape = (3, 17, 5, 5)
    proto = net_text({"data": shape},
                     layer("slice", "Slice", "data", ["a", "b", "c"], "slice_param { slice_point: 3 slice_point: 10 }"),
                     layer("relu", "ReLU", "b", "b"),
                     layer("cat", "Concat", ["c", "a", "b"], "cat"))
    model = load(proto)
    x = randn(rng, *shape)
    a, b, c = ref.slice_(x, 3, 1, [3, 10])
    check(model.predict(x), ref.concat([c, a, ref.relu(b)], 1), "Slice -> ReLU -> Concat")


# ============================================================================== Softmax

SOFTMAX_CASES = [
    ((1, 10), "", 1),
    ((3, 1000), "", 1),
    ((2, 1), "", 1),
    ((1, 3, 7, 7), "", 1),
    ((3, 17, 5, 3), "softmax_param { axis: 1 }", 1),
    ((2, 3, 4, 5), "softmax_param { axis: 2 }", 2),
    ((2, 3, 4, 5), "softmax_param { axis: -1 }", 3),
    ((2, 3, 4, 5), "softmax_param { axis: 0 }", 0),
]


@pytest.mark.parametrize("case", SOFTMAX_CASES, ids=lambda c: f"{shape_str(c[0])}_axis{c[2]}")
def test_softmax(case):
    shape, param, axis = case
    model = load(net_text({"data": shape}, layer("prob", "Softmax", "data", "prob", param)))
    x = randn(rng_for("softmax", case), *shape, scale=3.0)
    check(model.predict(x), ref.softmax(x, axis), f"Softmax {case}")


def test_softmax_large_logits():
    x = (randn(rng_for("softmax-big"), 2, 7) * 300.0).astype(np.float32)
    model = load(net_text({"data": x.shape}, layer("prob", "Softmax", "data", "prob")))
    check(model.predict(x), ref.softmax(x, 1), "Softmax large logits")


# ============================================================================== Dropout / Split

@pytest.mark.parametrize("shape", [(1, 3, 7, 7), (3, 17), (2, 5, 1, 1)], ids=shape_str)
def test_dropout_is_identity(shape):
    proto = net_text({"data": shape},
                     layer("drop", "Dropout", "data", "drop", "dropout_param { dropout_ratio: 0.5 }"))
    model = load(proto)
    x = randn(rng_for("drop", shape), *shape)
    y = model.predict(x)
    assert y.shape == x.shape
    assert np.array_equal(y, x)


def test_dropout_in_place_after_fc():
    rng = rng_for("drop-fc")
    w, b = randn(rng, 9, 20), randn(rng, 9)
    proto = net_text({"data": (3, 20)},
                     layer("fc", "InnerProduct", "data", "fc", "inner_product_param { num_output: 9 }"),
                     layer("drop", "Dropout", "fc", "fc"))
    model = load(proto, {"fc": [w, b]})
    x = randn(rng, 3, 20)
    check(model.predict(x), ref.inner_product(x, w, b), "InnerProduct + in-place Dropout")


def test_split_several_tops():
    shape = (3, 5, 7, 7)
    proto = net_text({"data": shape},
                     layer("split", "Split", "data", ["s0", "s1", "s2"]),
                     layer("relu", "ReLU", "s0", "r"),
                     layer("sig", "Sigmoid", "s1", "g"))
    model = load(proto)
    x = randn(rng_for("split"), *shape)
    out = model.predict(x)
    assert sorted(out) == ["g", "r", "s2"]
    check(out["r"], ref.relu(x), "Split -> ReLU")
    check(out["g"], ref.sigmoid(x), "Split -> Sigmoid")
    assert np.array_equal(out["s2"], x)


def test_split_all_tops_are_outputs():
    shape = (2, 13)
    model = load(net_text({"data": shape}, layer("split", "Split", "data", ["a", "b", "c", "d"])))
    x = randn(rng_for("split4"), *shape)
    out = model.predict(x)
    assert list(out) == ["a", "b", "c", "d"]
    for k in out:
        assert np.array_equal(out[k], x), k


# ============================================================================== Flatten / Reshape

FLATTEN_CASES = [
    ((2, 3, 4, 5), "", 1, -1),
    ((2, 3, 4, 5), "flatten_param { axis: 2 }", 2, -1),
    ((2, 3, 4, 5), "flatten_param { axis: 1 end_axis: 2 }", 1, 2),
    ((2, 3, 4, 5), "flatten_param { axis: 0 end_axis: 1 }", 0, 1),
    ((2, 3, 4, 5), "flatten_param { axis: -3 end_axis: -2 }", -3, -2),
    ((3, 17, 1, 1), "", 1, -1),
    ((3, 7), "", 1, -1),
]


@pytest.mark.parametrize("case", FLATTEN_CASES, ids=lambda c: f"{shape_str(c[0])}_axis{c[2]}_end{c[3]}")
def test_flatten(case):
    shape, param, axis, end_axis = case
    model = load(net_text({"data": shape}, layer("flat", "Flatten", "data", "flat", param)))
    x = randn(rng_for("flatten", case), *shape)
    y = model.predict(x)
    want_shape = ref.flatten_shape(shape, axis, end_axis)
    assert y.shape == want_shape
    assert model.layer_shapes()[0].shape == want_shape
    assert np.array_equal(y, x.reshape(want_shape))


RESHAPE_CASES = [
    ((2, 6, 4, 5), [0, -1], 0, -1),
    ((2, 6, 4, 5), [-1, 5], 0, -1),
    ((2, 6, 4, 5), [0, 0, -1, 1], 0, -1),
    ((2, 6, 4, 5), [2, 3], 1, 1),               # split dim 1
    ((2, 6, 4, 5), [-1], 2, -1),                # merge the trailing dims
    ((2, 6, 4, 5), [1], -1, 0),                 # append a unit dim (axis -1 inserts at the end)
    ((2, 6, 4, 5), [0, 2, 2], 1, 2),            # num_axes 2 with a copied dim: (2, 6, 2, 2, 5)
    ((3, 17), [0, 17, 1, 1], 0, -1),
    ((1, 12, 1, 1), [1, 3, 2, 2], 0, -1),
]


@pytest.mark.parametrize("case", RESHAPE_CASES, ids=lambda c: f"{shape_str(c[0])}_{c[1]}_axis{c[2]}_n{c[3]}")
def test_reshape(case):
    shape, dims, axis, num_axes = case
    parts = ["shape { " + " ".join(f"dim: {d}" for d in dims) + " }"]
    if axis != 0:
        parts.append(f"axis: {axis}")
    if num_axes != -1:
        parts.append(f"num_axes: {num_axes}")
    model = load(net_text({"data": shape}, layer("rs", "Reshape", "data", "rs",
                                                 "reshape_param { " + " ".join(parts) + " }")))
    x = randn(rng_for("reshape", case), *shape)
    y = model.predict(x)
    want_shape = ref.reshape_shape(shape, dims, axis, num_axes)
    assert y.shape == want_shape
    assert np.array_equal(y, x.reshape(want_shape))


def test_reshape_then_compute():
    """Reshape/Flatten outputs feed real ops (the reshaped tensor aliases its input's storage)."""
    rng = rng_for("reshape-chain")
    shape = (3, 12, 2, 2)
    w, b = randn(rng, 5, 48), randn(rng, 5)
    proto = net_text({"data": shape},
                     layer("rs", "Reshape", "data", "rs", "reshape_param { shape { dim: 0 dim: 3 dim: 4 dim: -1 } }"),
                     layer("prob", "Softmax", "rs", "prob"),
                     layer("flat", "Flatten", "prob", "flat"),
                     layer("fc", "InnerProduct", "flat", "fc", "inner_product_param { num_output: 5 }"))
    model = load(proto, {"fc": [w, b]})
    x = randn(rng, *shape)
    want = ref.inner_product(ref.softmax(x.reshape(3, 3, 4, 4), 1).reshape(3, -1), w, b)
    check(model.predict(x), want, "Reshape -> Softmax -> Flatten -> InnerProduct")


# ============================================================================== layer_shapes

_SHAPES_NET_LAYERS = (
    layer("conv", "Convolution", "data", "conv",
          "convolution_param { num_output: 7 kernel_h: 3 kernel_w: 5 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 2 "
          "dilation: 2 }")
    + layer("relu", "ReLU", "conv", "conv")
    + layer("pool", "Pooling", "conv", "pool", "pooling_param { pool: MAX kernel_size: 3 stride: 2 }")
    + layer("apool", "Pooling", "pool", "apool", "pooling_param { pool: AVE kernel_size: 2 stride: 2 pad: 1 }")
    + layer("flat", "Flatten", "apool", "flat")
)


def _shapes_net_ref(x, wt, b):
    conv = ref.relu(ref.conv2d(x, wt, b, (2, 1), (1, 2), 2))
    pool = ref.pool2d(conv, "MAX", 3, 2)
    apool = ref.pool2d(pool, "AVE", 2, 2, 1)
    return conv, pool, apool, apool.reshape(apool.shape[0], -1)


def test_layer_shapes_match_numpy():
    rng = rng_for("layer-shapes")
    shape = (3, 5, 17, 13)
    wt, b = randn(rng, 7, 5, 3, 5, scale=0.2), randn(rng, 7)
    x = randn(rng, *shape)
    conv, pool, apool, flat = _shapes_net_ref(x, wt, b)
    fc_w, fc_b = randn(rng, 11, flat.shape[1]), randn(rng, 11)
    proto = net_text({"data": shape}, _SHAPES_NET_LAYERS,
                     layer("fc", "InnerProduct", "flat", "fc", "inner_product_param { num_output: 11 }"))
    model = load(proto, {"conv": [wt, b], "fc": [fc_w, fc_b]})
    # The ReLU is fused into the convolution's epilogue at load, so it is not a layer of its own.
    want = {"conv": conv.shape, "pool": pool.shape, "apool": apool.shape, "flat": flat.shape,
            "fc": (3, 11)}
    got = {p.name: p.shape for p in model.layer_shapes()}
    assert got == want
    assert [o.name for o in model.outputs] == ["fc"]
    check(model.predict(x), ref.inner_product(flat, fc_w, fc_b), "conv/pool/fc chain")


@pytest.mark.parametrize("shape", [(1, 5, 9, 9), (2, 5, 20, 7), (1, 5, 11, 9)], ids=shape_str)
def test_layer_shapes_other_input_sizes(shape):
    """A fully convolutional net planned for input sizes other than the declared one."""
    rng = rng_for("layer-shapes-2", shape)
    wt, b = randn(rng, 7, 5, 3, 5, scale=0.2), randn(rng, 7)
    model = load(net_text({"data": (1, 5, 17, 13)}, _SHAPES_NET_LAYERS), {"conv": [wt, b]})
    x = randn(rng, *shape)
    conv, pool, apool, flat = _shapes_net_ref(x, wt, b)
    got = {p.name: p.shape for p in model.layer_shapes(shape)}
    assert got == {"conv": conv.shape, "pool": pool.shape, "apool": apool.shape,
                   "flat": flat.shape}
    check(model.predict(x), flat, f"conv/pool net on {shape}")


@pytest.mark.parametrize("case", [c for c in POOL_CASES if not c[8]][:12], ids=pool_id)
def test_pool_layer_shapes(case):
    model, x, want = pool_model(case)
    (lp,) = model.layer_shapes()
    assert lp.shape == want.shape


# ============================================================================== threads

THREAD_MODELS = {
    "conv_big": lambda nt: conv_model((1, 13, 22, 22, 40, (3, 3), (1, 1), (0, 0), (1, 1), 1, True), nt),
    "conv_1x1": lambda nt: conv_model((3, 33, 20, 20, 40, (1, 1), (1, 1), (0, 0), (1, 1), 1, True), nt),
    "conv_dw": lambda nt: conv_model((1, 33, 20, 20, 33, (3, 3), (2, 2), (1, 1), (1, 1), 33, True), nt),
    "conv_group": lambda nt: conv_model((3, 15, 13, 13, 21, (5, 5), (1, 1), (2, 2), (2, 2), 3, False), nt),
    # Maps of several pixel blocks (899 pixels: full panels and a narrow tail), read in place
    # (few rows) or packed (many rows), and a strided 1x1: blocks spread evenly over the threads.
    "conv_1x1_blocks": lambda nt: conv_model((1, 24, 29, 31, 72, (1, 1), (1, 1), (0, 0), (1, 1), 1, True), nt),
    "conv_1x1_blocks_rows": lambda nt: conv_model((1, 24, 29, 31, 200, (1, 1), (1, 1), (0, 0), (1, 1), 1, True), nt),
    "conv_1x1_s2_blocks": lambda nt: conv_model((1, 40, 61, 57, 136, (1, 1), (2, 2), (0, 0), (1, 1), 1, False), nt),
    "conv_first_layer_7x7_s2": lambda nt: conv_model((1, 3, 45, 61, 40, (7, 7), (2, 2), (3, 3), (1, 1), 1, True), nt),
    "conv_1x1_padded": lambda nt: conv_model((2, 48, 13, 13, 100, (1, 1), (1, 1), (1, 1), (1, 1), 1, True), nt),
    # Winograd with one block of 210 tiles: at 2 threads two blocks of whole panels (the second with the
    # tail), at 3 split by rows.
    "conv_winograd_tiles": lambda nt: conv_model((1, 16, 53, 57, 40, (3, 3), (1, 1), (1, 1), (1, 1), 1, True), nt),
    # Winograd with several tile blocks (196 tiles, 64 channels), the small last one joined to the one before.
    "conv_winograd_blocks": lambda nt: conv_model((1, 64, 54, 54, 24, (3, 3), (1, 1), (1, 1), (1, 1), 1, True), nt),
    # A strided 1x1 layer (ResNet's downsampling ones, 14x15 = 210 pixels): each thread its pixels, all rows.
    "conv_1x1_stride2_pixels": lambda nt: conv_model((1, 40, 27, 29, 72, (1, 1), (2, 2), (0, 0), (1, 1), 1, True), nt),
    "conv_5x5_blocks": lambda nt: conv_model((1, 7, 41, 45, 19, (5, 5), (1, 1), (2, 2), (1, 1), 1, True), nt),
    # A 7x7 map (49 pixels: one panel and a part) split by rows, each task packing the same columns.
    "conv_5x5_small_map": lambda nt: conv_model((1, 24, 7, 7, 40, (5, 5), (1, 1), (2, 2), (1, 1), 1, True), nt),
    "conv_winograd_2x2": lambda nt: conv_model((1, 64, 7, 7, 96, (3, 3), (1, 1), (1, 1), (1, 1), 1, True), nt),
    # Winograd with one block of 49 tiles: the output channels split over the threads, each range padding
    # and transforming every input channel itself (24 and 72 of them).
    "conv_winograd_channels": lambda nt: conv_model((1, 24, 28, 27, 40, (3, 3), (1, 1), (1, 1), (1, 1), 1, True), nt),
    "conv_winograd_channels_72": lambda nt: conv_model((1, 72, 28, 27, 40, (3, 3), (1, 1), (1, 1), (1, 1), 1, True), nt),
    # Winograd with more input channels than one K chunk of the GEMM (512): the second chunk adds to the first's
    # products. On 14x14 (F(2x2, 3x3) on AVX-512, F(4x4, 3x3) on AVX2) and 7x7 maps.
    "conv_winograd_k_chunks": lambda nt: conv_model((1, 600, 14, 14, 24, (3, 3), (1, 1), (1, 1), (1, 1), 1, True), nt),
    "conv_winograd_k_chunks_7x7": lambda nt: conv_model((1, 530, 7, 7, 16, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
                                                        nt),
    # GEMMs with K longer than one chunk (1024): a 7x7 map's 1x1 layer (two chunks of 550) and an im2col one
    # (K = 130 x 9 = 1170).
    "conv_1x1_k_chunks": lambda nt: conv_model((1, 1100, 7, 7, 40, (1, 1), (1, 1), (0, 0), (1, 1), 1, True), nt),
    "conv_3x3_s2_k_chunks": lambda nt: conv_model((1, 130, 15, 15, 24, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
                                                  nt),
    "pool": lambda nt: pool_model((3, 33, 17, 17, "AVE", (3, 3), (2, 2), (1, 1), False, "CEIL"), nt),
    # An input of 64 KB or more (two images of 3 x 67 x 101) is copied in by the threads, bands of its rows.
    "conv_input_copied_in_bands": lambda nt: conv_model((2, 3, 67, 101, 8, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
                                                        nt),
}


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("name", sorted(THREAD_MODELS))
def test_threads_identical(name, threads):
    m1, x, want = THREAD_MODELS[name](1)
    m2, x2, _ = THREAD_MODELS[name](threads)
    assert np.array_equal(x, x2)
    assert m1.num_threads == 1 and m2.num_threads == threads
    y1, y2 = m1.predict(x), m2.predict(x)
    check(y1, want, f"{name} 1 thread")
    assert np.array_equal(y1, y2), f"{name}: 1 and {threads} threads differ by {np.abs(y1 - y2).max():.3g}"


def test_rows_split_input_not_reused_by_next_output():
    """A 1x1 layer split by rows at two threads (as many input as output channels) has every thread read all
    of its input; the planner keeps that storage from the next layer's output (a depthwise layer here), which
    would otherwise write over lines both cores hold. The outputs are the same at 1, 2 and 3 threads, and the
    arena at two threads is larger by that storage."""
    rng = rng_for("rows_split_input")
    c, h, w = 128, 14, 14
    w1, b1 = randn(rng, c, c, 1, 1, scale=1.0 / np.sqrt(c)), randn(rng, c)
    w2, b2 = randn(rng, c, 1, 3, 3, scale=1.0 / 3), randn(rng, c)
    w3, b3 = randn(rng, c, c, 1, 1, scale=1.0 / np.sqrt(c)), randn(rng, c)
    proto = net_text({"data": (1, c, h, w)},
                     layer("pw1", "Convolution", "data", "pw1", conv_param(c, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)),
                     layer("dw", "Convolution", "pw1", "dw", conv_param(c, (3, 3), (1, 1), (1, 1), (1, 1), c, True)),
                     layer("pw2", "Convolution", "dw", "pw2", conv_param(c, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)))
    x = randn(rng, 1, c, h, w)
    want = ref.conv2d(ref.conv2d(ref.conv2d(x, w1, b1), w2, b2, (1, 1), (1, 1), (1, 1), c), w3, b3)
    models = {nt: load(proto, {"pw1": [w1, b1], "dw": [w2, b2], "pw2": [w3, b3]}, num_threads=nt) for nt in (1, 2, 3)}
    ys = {nt: m.predict(x) for nt, m in models.items()}
    check(ys[1], want, "pw -> dw -> pw")
    for nt in (2, 3):
        assert np.array_equal(ys[1], ys[nt]), f"1 and {nt} threads differ by {np.abs(ys[1] - ys[nt]).max():.3g}"
    plane = c * h * w * 4
    assert models[2].arena_bytes() >= models[1].arena_bytes() + plane, (models[1].arena_bytes(),
                                                                        models[2].arena_bytes())


def pw_dw_model(case, num_threads=None):
    """A 1x1 convolution + ReLU, then a 3x3 stride-2 depthwise one + ReLU reading only its output: the pair
    the planner runs as one where that output is larger than L2. A sixth field in `case` prunes the 1x1
    weights (three in four zeros, one by one for 1, in blocks of that many output channels at one input
    position otherwise) and loads them forced onto the sparse kernels (XNN_SPARSE=1)."""
    import os
    n, c, h, w, m = case[:5]
    rng = rng_for("pw_dw", case)
    w1, b1 = randn(rng, m, c, 1, 1, scale=1.0 / np.sqrt(c)), randn(rng, m)
    if len(case) > 5:
        block = case[5]
        keep = np.repeat(rng.random((m // block, c)) < 0.25, block, axis=0)
        w1 = np.where(keep[:, :, None, None], w1, np.float32(0))
    w2, b2 = randn(rng, m, 1, 3, 3, scale=1.0 / 3), randn(rng, m)
    proto = net_text({"data": (n, c, h, w)},
                     layer("pw", "Convolution", "data", "pw", conv_param(m, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)),
                     layer("pw_relu", "ReLU", "pw", "pw"),
                     layer("dw", "Convolution", "pw", "dw", conv_param(m, (3, 3), (2, 2), (1, 1), (1, 1), m, True)),
                     layer("dw_relu", "ReLU", "dw", "dw"))
    saved = os.environ.get("XNN_SPARSE")
    if len(case) > 5:
        os.environ["XNN_SPARSE"] = "1"
    try:
        model = load(proto, {"pw": [w1, b1], "dw": [w2, b2]}, num_threads=num_threads)
    finally:
        if saved is None:
            os.environ.pop("XNN_SPARSE", None)
        else:
            os.environ["XNN_SPARSE"] = saved
    x = randn(rng, n, c, h, w)
    mid = ref.relu(ref.conv2d(x, w1, b1))
    want = ref.relu(ref.conv2d(mid, w2, b2, (2, 2), (1, 1), (1, 1), m))
    return model, x, want


# Odd heights, widths past and below the depthwise kernel's 14-column two-rows-a-vector limit, a pointwise band
# ending in a partial tile (50 columns), a batch of two.
PW_DW_CASES = [(1, 8, 40, 37, 24), (1, 5, 30, 13, 16), (2, 6, 23, 50, 40)]
# The same with the 1x1 layer pruned and sparse, in blocks of 4 and one by one (whose kernels take a call's last
# pixels in another order: the bands cut their tiles). The pair takes them where the sparse kernel reads its
# input in place (1024 pixels or more): the second case runs apart.
PW_DW_SPARSE_CASES = [(1, 8, 40, 37, 24, 4), (1, 5, 30, 13, 16, 4), (2, 6, 23, 50, 40, 4), (1, 8, 40, 37, 24, 1),
                      (2, 6, 23, 50, 40, 1)]

def conv_pool_model(case, num_threads=None):
    """A network's first convolution (few input channels, stride 2) + ReLU, then a max pool without top or left
    padding reading only its output: the pair the planner runs as one where that output is larger than L2."""
    n, c, h, w, m, k, pad, pk, ps = case
    rng = rng_for("conv_pool", case)
    w1, b1 = randn(rng, m, c, k, k, scale=1.0 / np.sqrt(c * k * k)), randn(rng, m)
    proto = net_text({"data": (n, c, h, w)},
                     layer("conv", "Convolution", "data", "conv",
                           conv_param(m, (k, k), (2, 2), (pad, pad), (1, 1), 1, True)),
                     layer("relu", "ReLU", "conv", "conv"),
                     layer("pool", "Pooling", "conv", "pool", pool_param("MAX", (pk, pk), (ps, ps), (0, 0), False,
                                                                         "CEIL")))
    model = load(proto, {"conv": [w1, b1]}, num_threads=num_threads)
    x = randn(rng, n, c, h, w)
    want = ref.pool2d(ref.relu(ref.conv2d(x, w1, b1, (2, 2), (pad, pad))), "MAX", (pk, pk), (ps, ps), 0)
    return model, x, want


# Pools whose windows fit the map, overhang its last column, its last row and column (ceil rounding), at stride
# 1; 7x7, 5x5 and 3x3 kernels (the last with more than 32 channels, which only the pair runs on the direct
# kernel), padded or not, a partial 8-channel panel, a batch of two.
CONV_POOL_CASES = [(1, 3, 71, 71, 16, 7, 0, 3, 2), (1, 3, 61, 67, 24, 7, 3, 3, 2), (2, 3, 50, 45, 40, 5, 2, 2, 2),
                   (1, 4, 40, 41, 17, 3, 1, 3, 1), (1, 3, 45, 47, 40, 3, 0, 3, 2)]

_PAIR_SCRIPT = """
import json, sys
import numpy as np
import test_ops as T
out = {}
build = getattr(T, sys.argv[1])
for i, case in enumerate(json.loads(sys.argv[2])):
    for nt in (1, 2, 3):
        model, x, _ = build(tuple(case), nt)
        out[f"y{i}_{nt}"] = model.predict(x)
        out[f"paired{i}_{nt}"] = np.array([p.with_previous for p in model.layer_shapes()])
np.savez(sys.argv[3], **out)
"""


def check_pair(isa, build, cases, second, pairs, l2_bytes, tmp_path):
    """Runs build(case, threads) for 1-3 threads in a process told L2 is l2_bytes (XNN_L2_BYTES): outputs
    against NumPy and against the layers run apart (this process, with this machine's L2), bit-identical
    whatever the threads; node `second` runs with the one before it exactly where pairs(case, threads) says.
    The pairs form on AVX-512 only, whose kernels they are built on: the other sets run the layers apart,
    checked in this process (so also under qemu-aarch64, which cannot start a second one)."""
    import os
    import subprocess
    if isa != "avx512":
        for case in cases:
            for nt in (1, 2, 3):
                model, x, want = build(case, nt)
                check(model.predict(x), want, f"{isa} {case} {nt} threads")
                assert not any(p.with_previous for p in model.layer_shapes()), f"{isa} {case}: paired"
        return
    env = dict(os.environ, XNN_L2_BYTES=str(l2_bytes), PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parent), str(Path(xnn.__file__).resolve().parent.parent)]))
    res = tmp_path / "pair.npz"
    subprocess.run([sys.executable, "-c", _PAIR_SCRIPT, build.__name__, str(cases).replace("(", "[").replace(")", "]"),
                    str(res)], env=env, check=True, timeout=300)
    got = np.load(res)
    for i, case in enumerate(cases):
        model, x, want = build(case, 1)
        for nt in (1, 2, 3):
            y = got[f"y{i}_{nt}"]
            check(y, want, f"pair {case} {nt} threads")
            check(y, model.predict(x), f"pair {case} {nt} threads against the layers apart")
            assert np.array_equal(y, got[f"y{i}_1"]), f"pair {case}: 1 and {nt} threads differ"
            paired = list(got[f"paired{i}_{nt}"])
            names = [p.name for p in model.layer_shapes()]
            assert paired[names.index(second)] == pairs(case, nt), f"{case} {nt} threads: with_previous {paired}"
            assert not any(p for j, p in enumerate(paired) if names[j] != second), paired


@pytest.mark.parametrize("l2_bytes", [16384, 131072])
def test_pointwise_depthwise_pair(isa, l2_bytes, tmp_path):
    """The pair on maps larger than L2: bands of one and of several depthwise rows, 1-3 threads (the bands
    differ, so the pointwise rows are cut into different tiles); on the row-range depthwise kernel."""

    def pairs(case, nt):
        n, c, h, w, m = case
        return h >= 2 * nt and m * h * w * 4 >= l2_bytes

    check_pair(isa, pw_dw_model, PW_DW_CASES, "dw", pairs, l2_bytes, tmp_path)


@pytest.mark.parametrize("l2_bytes", [16384, 131072])
def test_sparse_pointwise_depthwise_pair(isa, l2_bytes, tmp_path):
    """The pair with its 1x1 layer on the sparse kernels (pruned in blocks or one by one, XNN_SPARSE=1), which it
    runs on each band's rows in place in the tiles of the layer alone; a map too small to read in place runs
    apart."""
    for case in PW_DW_SPARSE_CASES:
        model, _, _ = pw_dw_model(case)
        assert "[sparse:" in next(p.type for p in model.layer_shapes() if p.name == "pw"), case

    def pairs(case, nt):
        n, c, h, w, m, _ = case
        return h >= 2 * nt and m * h * w * 4 >= l2_bytes and h * w >= 1024

    check_pair(isa, pw_dw_model, PW_DW_SPARSE_CASES, "dw", pairs, l2_bytes, tmp_path)


@pytest.mark.parametrize("l2_bytes", [16384, 131072])
def test_conv_maxpool_pair(isa, l2_bytes, tmp_path):
    """The first-layer convolution + max pool pair on maps larger than L2: bands of one and of several pooled
    rows, 1-3 threads; on the direct stride-2 kernel."""

    def pairs(case, nt):
        n, c, h, w, m, k, pad, pk, ps = case
        oh, ow = ref.conv_out_size(h, k, 2, pad, 1), ref.conv_out_size(w, k, 2, pad, 1)
        return ref.pool_out_size(oh, pk, ps, 0, True) >= nt and m * oh * ow * 4 >= l2_bytes

    check_pair(isa, conv_pool_model, CONV_POOL_CASES, "pool", pairs, l2_bytes, tmp_path)


def conv_dw_model(case, num_threads=None):
    """A network's first convolution (few input channels, stride 2) + ReLU, then a 3x3 depthwise one (padding 1,
    stride 1 or 2) + ReLU reading only its output: the pair the planner runs as one where that output is larger
    than L2 and more than one thread runs (MobileNet v1's first two layers)."""
    n, c, h, w, m, k, pad, ds = case
    rng = rng_for("conv_dw", case)
    w1, b1 = randn(rng, m, c, k, k, scale=1.0 / np.sqrt(c * k * k)), randn(rng, m)
    w2, b2 = randn(rng, m, 1, 3, 3, scale=1.0 / 3), randn(rng, m)
    proto = net_text({"data": (n, c, h, w)},
                     layer("conv", "Convolution", "data", "conv",
                           conv_param(m, (k, k), (2, 2), (pad, pad), (1, 1), 1, True)),
                     layer("relu", "ReLU", "conv", "conv"),
                     layer("dw", "Convolution", "conv", "dw", conv_param(m, (3, 3), (ds, ds), (1, 1), (1, 1), m, True)),
                     layer("dw_relu", "ReLU", "dw", "dw"))
    model = load(proto, {"conv": [w1, b1], "dw": [w2, b2]}, num_threads=num_threads)
    x = randn(rng, n, c, h, w)
    mid = ref.relu(ref.conv2d(x, w1, b1, (2, 2), (pad, pad)))
    want = ref.relu(ref.conv2d(mid, w2, b2, (ds, ds), (1, 1), group=m))
    return model, x, want


# A 3x3 first layer to 32 channels with a stride-1 depthwise layer (MobileNet's), to a partial 8-channel panel
# with a stride-2 one, 5x5 and 7x7 kernels, 3 and 4 input channels, odd sizes, a batch of two.
CONV_DW_CASES = [(1, 3, 61, 57, 32, 3, 1, 1), (1, 3, 50, 47, 17, 3, 0, 2), (2, 4, 45, 41, 24, 5, 2, 1),
                 (1, 3, 40, 44, 16, 7, 3, 2)]


@pytest.mark.parametrize("l2_bytes", [16384, 131072])
def test_conv_depthwise_pair(isa, l2_bytes, tmp_path):
    """The first-layer convolution + depthwise pair on maps larger than L2 with 2-3 threads (apart with one):
    bands of one and of several depthwise rows at both strides; on the direct stride-2 kernel and the
    row-range depthwise kernel."""

    def pairs(case, nt):
        n, c, h, w, m, k, pad, ds = case
        oh, ow = ref.conv_out_size(h, k, 2, pad, 1), ref.conv_out_size(w, k, 2, pad, 1)
        return nt >= 2 and oh >= 2 * nt and m * oh * ow * 4 >= l2_bytes

    check_pair(isa, conv_dw_model, CONV_DW_CASES, "dw", pairs, l2_bytes, tmp_path)


def block_model(case, num_threads=None):
    """MobileNet v2's block: a 1x1 convolution widening the map + ReLU, a 3x3 depthwise one + ReLU, a 1x1
    one narrowing it, and then the block's input added (stride 1, as many channels out as in), or a ReLU
    (`last`: "sum", "none", "relu")."""
    n, c, h, w, m, stride, out, last = case
    rng = rng_for("block", case)
    w1, b1 = randn(rng, m, c, 1, 1, scale=1.0 / np.sqrt(c)), randn(rng, m)
    w2, b2 = randn(rng, m, 1, 3, 3, scale=1.0 / 3), randn(rng, m)
    w3, b3 = randn(rng, out, m, 1, 1, scale=1.0 / np.sqrt(m)), randn(rng, out)
    layers = [layer("expand", "Convolution", "data", "expand", conv_param(m, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)),
              layer("expand_relu", "ReLU", "expand", "expand"),
              layer("dw", "Convolution", "expand", "dw",
                    conv_param(m, (3, 3), (stride, stride), (1, 1), (1, 1), m, True)),
              layer("dw_relu", "ReLU", "dw", "dw"),
              layer("project", "Convolution", "dw", "project", conv_param(out, (1, 1), (1, 1), (0, 0), (1, 1), 1, True))]
    if last == "sum":
        layers.append(layer("sum", "Eltwise", ["data", "project"], "sum"))
    elif last == "relu":
        layers.append(layer("project_relu", "ReLU", "project", "project"))
    model = load(net_text({"data": (n, c, h, w)}, *layers), {"expand": [w1, b1], "dw": [w2, b2], "project": [w3, b3]},
                 num_threads=num_threads)
    x = randn(rng, n, c, h, w)
    mid = ref.relu(ref.conv2d(ref.relu(ref.conv2d(x, w1, b1)), w2, b2, (stride, stride), (1, 1), (1, 1), m))
    y = ref.conv2d(mid, w3, b3)
    want = y + x if last == "sum" else ref.relu(y) if last == "relu" else y
    return model, x, want


# Maps below and past 1024 pixels (the expand layer split by rows up to there, up to 4096 before a stride-2
# depthwise layer), K not a multiple of the threads, a batch of two; the last layer with no activation, a
# ReLU (applied after the partial sums are added), and with more than a third of its input channels or more
# than all of them (not split by K).
BLOCK_CASES = [(2, 5, 9, 11, 37, 1, 5, "sum"), (1, 8, 30, 31, 48, 1, 8, "sum"), (1, 6, 34, 40, 24, 2, 6, "none"),
               (1, 6, 34, 40, 24, 2, 11, "none"), (1, 7, 12, 12, 40, 1, 9, "relu"), (1, 16, 7, 7, 96, 1, 24, "none"),
               (1, 7, 12, 12, 40, 1, 48, "relu"), (1, 6, 34, 40, 24, 1, 6, "sum"), (1, 4, 66, 70, 16, 2, 4, "none")]


@pytest.mark.parametrize("case", BLOCK_CASES, ids=str)
def test_block_split_by_channels(isa, case):
    """At 2 and 3 threads the depthwise layer splits its channels, the layer widening the map for it its
    rows (maps up to 1024 pixels, 4096 before a stride-2 one), and the narrowing layer after it its K: each
    thread sums over the channels it wrote, then the partial sums are added. Against NumPy; the K split adds
    in another order than one thread does, so its outputs differ from one thread's in the last bits, where
    every other split leaves each output's sum as it was (bit-identical): that tells which one ran."""
    model1, x, want = block_model(case, 1)
    y1 = model1.predict(x)
    check(y1, want, f"{isa} {case} 1 thread")
    for nt in (2, 3):
        model, _, _ = block_model(case, nt)
        y = model.predict(x)
        check(y, want, f"{isa} {case} {nt} threads")
        k_split = 3 * case[6] <= case[4]
        assert np.array_equal(y, y1) != k_split, f"{isa} {case} {nt} threads: K split expected {k_split}"


# (batch, channels, height, width, output channels, kernel, stride, pad, dilation): each after a depthwise
# layer (a 3x3 stride-1 one dilated: undilated it would take Winograd, which has no K split).
K_SPLIT_CASES = [(1, 37, 9, 10, 9, 3, 1, 1, 2), (2, 40, 11, 9, 16, 3, 2, 0, 1), (1, 24, 13, 11, 6, 1, 1, 0, 1),
                 (1, 13, 6, 7, 3, 5, 1, 2, 1)]


@pytest.mark.parametrize("case", K_SPLIT_CASES, ids=str)
def test_conv_split_by_k(isa, case):
    """A convolution whose output is at most a third of its input, after a depthwise layer (which splits its
    channels), splits its K at 2 and 3 threads on the depthwise layer's channel ranges: for a KxK kernel
    whole channels' taps, the padded input (where it pads) and its im2col from them; the ReLU applied after
    the partial sums are added. Against NumPy, and not bit-identical to one thread (the K split's sign)."""
    n, c, h, w, m, k, s, p, d = case
    rng = rng_for("k_split", case)
    w1, b1 = randn(rng, c, 1, 3, 3, scale=1.0 / 3), randn(rng, c)
    w2, b2 = randn(rng, m, c, k, k, scale=1.0 / np.sqrt(c * k * k)), randn(rng, m)
    proto = net_text({"data": (n, c, h, w)},
                     layer("dw", "Convolution", "data", "dw", conv_param(c, (3, 3), (1, 1), (1, 1), (1, 1), c, True)),
                     layer("conv", "Convolution", "dw", "conv", conv_param(m, (k, k), (s, s), (p, p), (d, d), 1, True)),
                     layer("relu", "ReLU", "conv", "conv"))
    x = randn(rng, n, c, h, w)
    want = ref.relu(ref.conv2d(ref.conv2d(x, w1, b1, (1, 1), (1, 1), (1, 1), c), w2, b2, (s, s), (p, p), (d, d)))
    y1 = load(proto, {"dw": [w1, b1], "conv": [w2, b2]}, num_threads=1).predict(x)
    check(y1, want, f"{isa} {case} 1 thread")
    for nt in (2, 3):
        y = load(proto, {"dw": [w1, b1], "conv": [w2, b2]}, num_threads=nt).predict(x)
        check(y, want, f"{isa} {case} {nt} threads")
        assert not np.array_equal(y, y1), f"{isa} {case} {nt} threads: bit-identical to one thread (no K split?)"


@pytest.mark.parametrize("case", [(1, 40, 27, 27, 8), (1, 33, 14, 13, 5), (2, 40, 27, 27, 8)], ids=str)
def test_conv_split_by_k_after_pool(isa, case):
    """A pool splits one image's channels over the threads, so a 1x1 convolution after it whose output is at
    most a third of its input splits its K there (SqueezeNet's squeeze layers); with a batch of two the pool
    splits the images instead, and the convolution its pixels (bit-identical to one thread)."""
    n, c, h, w, m = case
    rng = rng_for("k_split_pool", case)
    w1, b1 = randn(rng, m, c, 1, 1, scale=1.0 / np.sqrt(c)), randn(rng, m)
    proto = net_text({"data": (n, c, h, w)},
                     layer("pool", "Pooling", "data", "pool", pool_param("MAX", (3, 3), (2, 2), (0, 0), False, "CEIL")),
                     layer("conv", "Convolution", "pool", "conv",
                           conv_param(m, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)),
                     layer("relu", "ReLU", "conv", "conv"))
    x = randn(rng, n, c, h, w)
    want = ref.relu(ref.conv2d(ref.pool2d(x, "MAX", (3, 3), (2, 2), 0), w1, b1))
    y1 = load(proto, {"conv": [w1, b1]}, num_threads=1).predict(x)
    check(y1, want, f"{isa} {case} 1 thread")
    for nt in (2, 3):
        y = load(proto, {"conv": [w1, b1]}, num_threads=nt).predict(x)
        check(y, want, f"{isa} {case} {nt} threads")
        assert np.array_equal(y, y1) == (n > 1), f"{isa} {case} {nt} threads: K split expected {n == 1}"


def test_threads_identical_fc_lrn_softmax():
    rng = rng_for("threads-misc")
    w, b = randn(rng, 150, 245, scale=0.1), randn(rng, 150)
    proto = net_text({"data": (3, 5, 7, 7)},
                     layer("norm", "LRN", "data", "norm", "lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 }"),
                     layer("fc", "InnerProduct", "norm", "fc", "inner_product_param { num_output: 150 }"),
                     layer("prob", "Softmax", "fc", "prob"))
    x = randn(rng, 3, 5, 7, 7)
    want = ref.softmax(ref.inner_product(ref.lrn_across(x, 3, 0.5, 0.75), w, b), 1)
    outs = []
    for nt in (1, 2):
        model = load(proto, {"fc": [w, b]}, num_threads=nt)
        outs.append(model.predict(x))
        check(outs[-1], want, f"LRN+FC+Softmax {nt} threads")
    assert np.array_equal(outs[0], outs[1])


# ============================================================================== input declarations / V1

def _small_net_weights(rng):
    return {
        "conv1": [randn(rng, 4, 3, 3, 3, scale=0.3), randn(rng, 4)],
        "fc1": [randn(rng, 6, 4 * 3 * 3, scale=0.2), randn(rng, 6)],
    }


def _small_net_ref(x, wts):
    conv = ref.relu(ref.conv2d(x, wts["conv1"][0], wts["conv1"][1], 1, 1))
    pool = ref.pool2d(conv, "MAX", 2, 2)
    return ref.softmax(ref.inner_product(pool, wts["fc1"][0], wts["fc1"][1]), 1)


_SMALL_NET_V2_LAYERS = (
    layer("conv1", "Convolution", "data", "conv1", "convolution_param { num_output: 4 kernel_size: 3 pad: 1 }")
    + layer("relu1", "ReLU", "conv1", "conv1")
    + layer("pool1", "Pooling", "conv1", "pool1", "pooling_param { pool: MAX kernel_size: 2 stride: 2 }")
    + layer("fc1", "InnerProduct", "pool1", "fc1", "inner_product_param { num_output: 6 }")
    + layer("prob", "Softmax", "fc1", "prob")
)


def test_input_dim_declaration():
    rng = rng_for("input_dim")
    wts = _small_net_weights(rng)
    proto = ('name: "t"\ninput: "data"\ninput_dim: 2\ninput_dim: 3\ninput_dim: 5\ninput_dim: 5\n'
             + _SMALL_NET_V2_LAYERS)
    model = load(proto, wts)
    assert model.inputs[0].name == "data" and model.inputs[0].shape == (2, 3, 5, 5)
    assert model.outputs[0].name == "prob" and model.outputs[0].shape == (2, 6)
    x = randn(rng, 2, 3, 5, 5)
    check(model.predict(x), _small_net_ref(x, wts), "input_dim net")


def test_input_layer_declaration():
    rng = rng_for("input_layer")
    wts = _small_net_weights(rng)
    proto = ('name: "t"\n'
             'layer { name: "data" type: "Input" top: "data" '
             'input_param { shape { dim: 3 dim: 3 dim: 5 dim: 5 } } }\n' + _SMALL_NET_V2_LAYERS)
    model = load(proto, wts)
    assert [(i.name, i.shape) for i in model.inputs] == [("data", (3, 3, 5, 5))]
    x = randn(rng, 3, 3, 5, 5)
    check(model.predict(x), _small_net_ref(x, wts), "Input layer net")


def test_input_layer_two_tops():
    rng = rng_for("input_layer2")
    proto = ('name: "t"\n'
             'layer { name: "in" type: "Input" top: "a" top: "b" '
             'input_param { shape { dim: 2 dim: 3 dim: 4 dim: 4 } shape { dim: 2 dim: 5 dim: 4 dim: 4 } } }\n'
             + layer("cat", "Concat", ["a", "b"], "cat"))
    model = load(proto)
    assert [(i.name, i.shape) for i in model.inputs] == [("a", (2, 3, 4, 4)), ("b", (2, 5, 4, 4))]
    a, b = randn(rng, 2, 3, 4, 4), randn(rng, 2, 5, 4, 4)
    check(model.run({"a": a, "b": b})["cat"], ref.concat([a, b], 1), "Input layer with two tops")


_V1_PROTOTXT = """name: "legacy"
input: "data"
input_dim: 2
input_dim: 3
input_dim: 5
input_dim: 5
layers {
  name: "conv1"
  type: CONVOLUTION
  bottom: "data"
  top: "conv1"
  blobs_lr: 1
  blobs_lr: 2
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 }
}
layers { name: "relu1" type: RELU bottom: "conv1" top: "conv1" }
layers {
  name: "pool1"
  type: POOLING
  bottom: "conv1"
  top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 }
}
layers {
  name: "fc1"
  type: INNER_PRODUCT
  bottom: "pool1"
  top: "fc1"
  inner_product_param { num_output: 6 }
}
layers { name: "drop1" type: DROPOUT bottom: "fc1" top: "fc1" dropout_param { dropout_ratio: 0.5 } }
layers { name: "prob" type: SOFTMAX bottom: "fc1" top: "prob" }
"""


@pytest.mark.parametrize("v1_weights", [True, False], ids=["v1_caffemodel", "v2_caffemodel"])
def test_v1_legacy_prototxt(v1_weights):
    rng = rng_for("v1")
    wts = _small_net_weights(rng)
    types = {"conv1": "CONVOLUTION", "fc1": "INNER_PRODUCT"}
    blob = caffemodel_bytes(wts, v1=v1_weights, v1_types=types if v1_weights else None)
    model = xnn.Model.from_caffe_bytes(_V1_PROTOTXT.encode(), blob)
    assert [l.type for l in model.layers][:2] == ["Convolution+ReLU", "Pooling"]
    assert model.inputs[0].shape == (2, 3, 5, 5)
    x = randn(rng, 2, 3, 5, 5)
    check(model.predict(x), _small_net_ref(x, wts), f"V1 net (v1 caffemodel={v1_weights})")


def test_v1_legacy_more_layer_types():
    """V1 enum types of the other layers: LRN, ELTWISE, CONCAT, SLICE, SIGMOID, TANH, FLATTEN, SPLIT."""
    rng = rng_for("v1-more")
    proto = """name: "legacy2"
input: "data"
input_dim: 1
input_dim: 6
input_dim: 5
input_dim: 5
layers { name: "split" type: SPLIT bottom: "data" top: "d0" top: "d1" }
layers { name: "norm" type: LRN bottom: "d0" top: "norm" lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 } }
layers { name: "slice" type: SLICE bottom: "d1" top: "s0" top: "s1" slice_param { slice_dim: 1 slice_point: 2 } }
layers { name: "sig" type: SIGMOID bottom: "s0" top: "s0" }
layers { name: "tanh" type: TANH bottom: "s1" top: "s1" }
layers { name: "cat" type: CONCAT bottom: "s1" bottom: "s0" top: "cat" concat_param { concat_dim: 1 } }
layers { name: "sum" type: ELTWISE bottom: "norm" bottom: "cat" top: "sum" eltwise_param { operation: MAX } }
layers { name: "flat" type: FLATTEN bottom: "sum" top: "flat" }
"""
    model = xnn.Model.from_caffe_bytes(proto.encode(), caffemodel_bytes({}, v1=True))
    x = randn(rng, 1, 6, 5, 5)
    norm = ref.lrn_across(x, 3, 0.5, 0.75)
    s0, s1 = ref.slice_(x, 2, 1, [2])
    cat = ref.concat([ref.tanh(s1), ref.sigmoid(s0)], 1)
    want = np.maximum(norm, cat).reshape(1, -1)
    check(model.predict(x), want, "V1 LRN/SLICE/SIGMOID/TANH/CONCAT/ELTWISE/FLATTEN")


# ============================================================================== aliasing / in-place

def test_in_place_after_split_keeps_other_branch():
    """Split tops share the input's storage in Caffe's semantics only logically: an in-place ReLU on one
    top must not change what the other tops (and the net input) read."""
    shape = (2, 5, 6, 6)
    proto = net_text({"data": shape},
                     layer("split", "Split", "data", ["s0", "s1"]),
                     layer("relu", "ReLU", "s0", "s0"),
                     layer("sig", "Sigmoid", "s1", "g"),
                     layer("sum", "Eltwise", ["s0", "data"], "sum"))
    model = load(proto)
    x = randn(rng_for("alias-split"), *shape)
    x_copy = x.copy()
    out = model.predict(x)
    assert sorted(out) == ["g", "sum"]
    check(out["g"], ref.sigmoid(x), "sigmoid of the untouched Split top")
    check(out["sum"], ref.relu(x) + x, "in-place ReLU on a Split top + the input")
    assert np.array_equal(x, x_copy)


def test_in_place_after_reshape_keeps_source():
    """Flatten output fed to an in-place op while the un-flattened tensor is read later."""
    shape = (2, 3, 4, 4)
    proto = net_text({"data": shape},
                     layer("conv_scale", "Scale", "data", "sc"),
                     layer("flat", "Flatten", "sc", "flat"),
                     layer("tanh", "TanH", "flat", "flat"),
                     layer("drop", "Dropout", "sc", "drop"),
                     layer("relu", "ReLU", "drop", "drop", "relu_param { negative_slope: 0.2 }"),
                     layer("pool", "Pooling", "sc", "pool", "pooling_param { pool: MAX kernel_size: 2 stride: 2 }"))
    rng = rng_for("alias-reshape")
    gamma = randn(rng, 3)
    model = load(proto, {"conv_scale": [gamma]})
    x = randn(rng, *shape)
    sc = ref.scale(x, gamma)
    out = model.predict(x)
    assert sorted(out) == ["drop", "flat", "pool"]
    check(out["flat"], ref.tanh(sc).reshape(2, -1), "TanH in place on Flatten")
    check(out["drop"], ref.relu(sc, 0.2), "leaky ReLU in place on Dropout")
    check(out["pool"], ref.pool2d(sc, "MAX", 2, 2), "Pooling of the source of both")


def test_in_place_on_net_input_and_repeated_runs():
    shape = (1, 3, 5, 5)
    proto = net_text({"data": shape}, layer("relu", "ReLU", "data", "data"),
                     layer("sig", "Sigmoid", "data", "data"))
    model = load(proto)
    rng = rng_for("alias-input")
    for _ in range(3):
        x = randn(rng, *shape)
        x_copy = x.copy()
        check(model.predict(x), ref.sigmoid(ref.relu(x)), "ReLU + Sigmoid in place on the input")
        assert np.array_equal(x, x_copy)


def test_same_bottom_twice():
    shape = (2, 3, 5, 5)
    proto = net_text({"data": shape},
                     layer("sq", "Eltwise", ["data", "data"], "sq", "eltwise_param { operation: PROD }"),
                     layer("cat", "Concat", ["data", "sq", "data"], "cat"))
    model = load(proto)
    x = randn(rng_for("same-bottom"), *shape)
    check(model.predict(x), ref.concat([x, x * x, x], 1), "Eltwise(x, x) and Concat(x, x*x, x)")


def test_activation_after_layer_with_two_consumers():
    """conv -> ReLU where the conv output is also read raw elsewhere (an activation must not be fused
    into the conv then), plus FC -> in-place leaky ReLU."""
    rng = rng_for("two-consumers")
    shape = (2, 5, 9, 9)
    wt, b = randn(rng, 6, 5, 3, 3, scale=0.3), randn(rng, 6)
    fw, fb = randn(rng, 7, 6 * 9 * 9, scale=0.05), randn(rng, 7)
    proto = net_text({"data": shape},
                     layer("conv", "Convolution", "data", "conv", "convolution_param { num_output: 6 kernel_size: 3 pad: 1 }"),
                     layer("relu", "ReLU", "conv", "r"),
                     layer("sum", "Eltwise", ["r", "conv"], "sum", "eltwise_param { coeff: 1 coeff: -1 }"),
                     layer("fc", "InnerProduct", "conv", "fc", "inner_product_param { num_output: 7 }"),
                     layer("lrelu", "ReLU", "fc", "fc", "relu_param { negative_slope: 0.25 }"))
    model = load(proto, {"conv": [wt, b], "fc": [fw, fb]})
    x = randn(rng, *shape)
    conv = ref.conv2d(x, wt, b, 1, 1)
    out = model.predict(x)
    assert sorted(out) == ["fc", "sum"]
    check(out["sum"], ref.relu(conv) - conv, "ReLU(conv) - conv")
    check(out["fc"], ref.relu(ref.inner_product(conv, fw, fb), 0.25), "FC + in-place leaky ReLU")


def test_kernel_set_is_the_requested_one(isa):
    proto = b'input: "data"\ninput_shape { dim: 1 dim: 1 dim: 2 dim: 2 }\n' \
            b'layer { name: "r" type: "ReLU" bottom: "data" top: "r" }'
    assert xnn.Model.from_caffe_bytes(proto, b"").isa == isa


def _res_block(rng, shape, oc, kernel, shortcut_first: bool, coeffs: str = "", relu_before_sum: bool = False):
    """A ResNet-style block: conv a (kernel x kernel, BN folded) on the data, a 1x1 shortcut conv, their
    Eltwise SUM and a ReLU; the shortcut's layers come first or last in the file."""
    c = shape[1]
    wa, ba = randn(rng, oc, c, kernel, kernel, scale=0.3), randn(rng, oc)
    ws, bs = randn(rng, oc, c, 1, 1, scale=0.3), randn(rng, oc)
    mean, var = randn(rng, oc), np.abs(randn(rng, oc)) + 0.5
    pad = kernel // 2
    main = [layer("a", "Convolution", "data", "a",
                  f"convolution_param {{ num_output: {oc} kernel_size: {kernel} pad: {pad} }}"),
            layer("bn", "BatchNorm", "a", "a", "batch_norm_param { use_global_stats: true }")]
    if relu_before_sum:
        main.append(layer("ra", "ReLU", "a", "a"))
    short = [layer("s", "Convolution", "data", "s", f"convolution_param {{ num_output: {oc} kernel_size: 1 }}")]
    tail = [layer("sum", "Eltwise", ["a", "s"] if not shortcut_first else ["s", "a"], "sum", coeffs),
            layer("relu", "ReLU", "sum", "sum")]
    layers = (short + main if shortcut_first else main + short) + tail
    weights = {"a": [wa, ba], "bn": [mean, var, np.ones(1, np.float32)], "s": [ws, bs]}
    x = randn(rng, *shape)
    a = (ref.conv2d(x, wa, ba, 1, pad) - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    if relu_before_sum:
        a = ref.relu(a)
    s = ref.conv2d(x, ws, bs, 1, 0)
    k = [float(v) for v in coeffs.replace("eltwise_param {", "").replace("}", "").replace("coeff:", "").split()]
    if k:
        ca, cs = (k[0], k[1]) if not shortcut_first else (k[1], k[0])
        return net_text({"data": shape}, *layers), weights, x, ref.relu(ca * a + cs * s)
    return net_text({"data": shape}, *layers), weights, x, ref.relu(a + s)


@pytest.mark.parametrize("shortcut_first", [False, True])
@pytest.mark.parametrize("shape,oc,kernel", [((1, 8, 7, 7), 16, 1), ((2, 5, 9, 11), 9, 3), ((1, 16, 1, 1), 40, 1),
                                              ((1, 3, 15, 13), 33, 3), ((1, 24, 33, 35), 24, 1)])
def test_residual_sum_fused_into_convolution(shortcut_first, shape, oc, kernel):
    """Eltwise SUM + ReLU after a convolution becomes that convolution's epilogue (the GEMM accumulates onto
    the other operand) when the other operand is computed earlier; the result is the same. 1x1 maps take
    the one-pixel GEMV path, 3x3 ones stay off Winograd."""
    proto, weights, x, want = _res_block(rng_for("residual", shape, shortcut_first), shape, oc, kernel,
                                         shortcut_first)
    model = load(proto, weights)
    types = [l.type for l in model.layers]
    assert not any(t.startswith("Eltwise") for t in types), types
    fused = "Convolution+BatchNorm+Eltwise+ReLU" if shortcut_first else "Convolution+Eltwise+ReLU"
    assert fused in types, types
    check(model.predict(x), want, f"conv + residual sum + ReLU {shape} oc={oc} k={kernel}")
    # Batch and spatial re-planning keep the fusion right.
    x2 = np.concatenate([x, -x], 0)
    _, _, _, want2 = _res_block(rng_for("residual", shape, shortcut_first), shape, oc, kernel, shortcut_first)
    check(model.predict(x2)[: x.shape[0]], want2, "batch re-plan")


def test_residual_sum_not_fused_with_coefficients():
    """An Eltwise SUM with coefficients other than 1 stays a layer of its own."""
    proto, weights, x, want = _res_block(rng_for("residual-coeffs"), (1, 6, 8, 8), 10, 3, False,
                                         "eltwise_param { coeff: 0.5 coeff: -2 }")
    model = load(proto, weights)
    assert any(l.type.startswith("Eltwise") for l in model.layers), [l.type for l in model.layers]
    check(model.predict(x), want, "unfused residual sum with coefficients")


@pytest.mark.parametrize("relu_first", [False, True])
def test_residual_sum_with_the_input(relu_first):
    """conv(x) + x: fused when the conv has no activation of its own (the input exists before the conv
    runs); relu(conv(x)) + x is not (the sum must come after the conv's ReLU)."""
    rng = rng_for("residual-input", relu_first)
    shape = (2, 6, 9, 9)
    w, b = randn(rng, 6, 6, 3, 3, scale=0.3), randn(rng, 6)
    layers = [layer("conv", "Convolution", "data", "conv", "convolution_param { num_output: 6 kernel_size: 3 pad: 1 }")]
    if relu_first:
        layers.append(layer("r", "ReLU", "conv", "conv"))
    layers.append(layer("sum", "Eltwise", ["conv", "data"], "sum"))
    model = load(net_text({"data": shape}, *layers), {"conv": [w, b]})
    types = [l.type for l in model.layers]
    assert types == (["Convolution+ReLU", "Eltwise"] if relu_first else ["Convolution+Eltwise"]), types
    x = randn(rng, *shape)
    conv = ref.conv2d(x, w, b, 1, 1)
    check(model.predict(x), (ref.relu(conv) if relu_first else conv) + x, "conv (+ReLU) + input")

"""The ONNX converter (xnn.convert.onnx) and the operators added for it (Binary, Resize, Pooling's
exclude_pad), against NumPy, onnxruntime and the onnx package's own node tests."""
from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

_TESTS_DIR = Path(__file__).resolve().parent
if str(_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIR))

import onnx_node_cases as nc  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402
from test_ops import rng_for  # noqa: E402

import xnn  # noqa: E402
from xnn.convert.onnx import MAX_OPSET, from_onnx  # noqa: E402
from xnn.format.writer import encode  # noqa: E402
from xnn.graph import Graph, Node  # noqa: E402

TOL = 1e-4


def close(got: np.ndarray, want: np.ndarray, what: str, tol: float = TOL) -> None:
    """Within tol of max |want| (and of 1 for outputs near 0)."""
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    err = float(np.abs(got.astype(np.float64) - want).max()) if want.size else 0.0
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    assert err <= tol * scale, f"{what}: max error {err:.3g} > {tol} x {scale:.3g}"


def run_xnn(graph: Graph, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    return xnn.Model.from_bytes(encode(graph)).run(feeds)


# ============================================================================ new ops vs NumPy

BINARY_OPS = {0: np.add, 1: np.subtract, 2: np.multiply, 3: np.divide, 4: np.maximum, 5: np.minimum,
              6: np.power, 7: lambda a, b: np.where(a > 0, a, a * b)}


def broadcast_pairs(rng: np.random.Generator, count: int):
    """Random shape pairs covering every pattern: equal, 1s anywhere on either side, fewer dims, scalars."""
    out = [((3, 5, 7), (3, 5, 7)), ((2, 3, 5, 7), (3, 1, 1)), ((2, 3, 5, 7), (1, 3, 1, 7)), ((5, 1, 7), (1, 6, 1)),
           ((1,), (4, 3, 9)), ((2, 1, 5, 1), (3, 1, 4)), ((7,), (1,)), ((1, 1, 1), (2, 17, 33)), ((33,), (2, 33)),
           ((2, 3, 4, 5, 6), (3, 1, 5, 1)), ((1, 9, 1, 9), (9, 1, 9, 1))]
    for _ in range(count):
        ndim = int(rng.integers(1, 6))
        full = [int(rng.integers(1, 10)) for _ in range(ndim)]
        a = [d if rng.random() < 0.6 else 1 for d in full]
        b = [d if rng.random() < 0.6 else 1 for d in full][int(rng.integers(0, ndim)):] or [1]
        out.append((tuple(a), tuple(b)) if rng.random() < 0.5 else (tuple(b), tuple(a)))
    return out


def binary_graph(op: int, sa, sb, const_b=None, const_first=False) -> Graph:
    g = Graph()
    a = g.add_tensor("a")
    g.inputs.append((a, tuple(sa)))
    y = g.add_tensor("y")
    if const_b is None:
        b = g.add_tensor("b")
        g.inputs.append((b, tuple(sb)))
        g.nodes.append(Node("bin", "Binary", [a, b], [y], {"operation": [op]}))
    else:
        attrs = {"operation": [op], "const_first": [int(const_first)]}
        g.nodes.append(Node("bin", "Binary", [a], [y], attrs, [const_b.reshape(sb) if len(sb) else const_b]))
    g.outputs.append(y)
    return g


def binary_operands(rng, op, sa, sb):
    a = rng.standard_normal(sa).astype(np.float32)
    b = rng.standard_normal(sb).astype(np.float32)
    if op == 6:  # a real power: positive base
        a = np.abs(a) + 0.5
    if op == 3:
        b = np.where(np.abs(b) < 0.3, 0.3, b).astype(np.float32)
    return a, b


@pytest.mark.parametrize("op", sorted(BINARY_OPS))
def test_binary_broadcasting(op):
    rng = np.random.default_rng(100 + op)
    for sa, sb in broadcast_pairs(rng, 12):
        a, b = binary_operands(rng, op, sa, sb)
        want = BINARY_OPS[op](a.astype(np.float64), b.astype(np.float64))
        got = run_xnn(binary_graph(op, sa, sb), {"a": a, "b": b})["y"]
        close(got, want, f"op {op} {sa} x {sb}")


@pytest.mark.parametrize("op", sorted(BINARY_OPS))
def test_binary_constant_operand_either_side(op):
    rng = np.random.default_rng(200 + op)
    for sa, sb in broadcast_pairs(rng, 6):
        a, b = binary_operands(rng, op, sa, sb)
        want = BINARY_OPS[op](a.astype(np.float64), b.astype(np.float64))
        close(run_xnn(binary_graph(op, sa, sb, const_b=b), {"a": a})["y"], want, f"op {op} {sa} x const {sb}")
        if op in (6, 7):
            continue  # the left operand of these is the data in practice
        b2, a2 = binary_operands(rng, op, sb, sa)
        want = BINARY_OPS[op](b2.astype(np.float64), a2.astype(np.float64))  # const (shape sb) op input (sa)
        got = run_xnn(binary_graph(op, sa, sb, const_b=b2, const_first=True), {"a": a2})["y"]
        close(got, want, f"op {op} const {sb} x {sa}")


def test_binary_rebatches_and_rejects_bad_shapes():
    rng = np.random.default_rng(7)
    b = rng.standard_normal((3, 1, 1)).astype(np.float32)
    model = xnn.Model.from_bytes(encode(binary_graph(2, (1, 3, 5, 5), (3, 1, 1), const_b=b)))
    x = rng.standard_normal((4, 3, 5, 6)).astype(np.float32)
    close(model.run({"a": x})["y"], x * b, "batch 4, width 6")
    with pytest.raises(xnn.ShapeError, match="do not broadcast"):
        model.run({"a": rng.standard_normal((1, 4, 5, 5)).astype(np.float32)})


def resize_ref(x: np.ndarray, out_hw, scales, mode: str, coord: str, nearest: str) -> np.ndarray:
    """ONNX Resize on the last two axes, one output pixel at a time in float64."""
    n, c, ih, iw = x.shape
    oh, ow = out_hw
    y = np.zeros((n, c, oh, ow))

    def src(o, scale, length_in, length_out):
        if coord == "asymmetric":
            return o / scale
        if coord == "align_corners":
            return 0.0 if length_out <= 1 else o * (length_in - 1) / (length_out - 1)
        if coord == "pytorch_half_pixel" and length_out <= 1:
            return 0.0
        return (o + 0.5) / scale - 0.5

    def near(v, length):
        r = {"round_prefer_floor": np.ceil(v - 0.5), "round_prefer_ceil": np.floor(v + 0.5),
             "floor": np.floor(v), "ceil": np.ceil(v)}[nearest]
        return int(min(max(r, 0), length - 1))

    for oy in range(oh):
        sy = src(oy, scales[0], ih, ih * scales[0])
        for ox in range(ow):
            sx = src(ox, scales[1], iw, iw * scales[1])
            if mode == "nearest":
                y[:, :, oy, ox] = x[:, :, near(sy, ih), near(sx, iw)]
            else:
                cy, cx = min(max(sy, 0), ih - 1), min(max(sx, 0), iw - 1)
                y0, x0 = int(np.floor(cy)), int(np.floor(cx))
                y1, x1 = min(y0 + 1, ih - 1), min(x0 + 1, iw - 1)
                wy, wx = cy - y0, cx - x0
                y[:, :, oy, ox] = ((1 - wy) * ((1 - wx) * x[:, :, y0, x0] + wx * x[:, :, y0, x1])
                                   + wy * ((1 - wx) * x[:, :, y1, x0] + wx * x[:, :, y1, x1]))
    return y


RESIZE_CASES = [
    (mode, coord, nearest, shape, scale)
    for mode, coord, nearest in [("nearest", c, m) for c in ("half_pixel", "asymmetric", "align_corners")
                                 for m in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")]
    + [("linear", c, "floor") for c in ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel")]
    for shape, scale in [((1, 3, 5, 7), (2.0, 2.0)), ((2, 1, 9, 4), (0.5, 1.75)), ((1, 2, 1, 6), (3.0, 0.34))]
]


@pytest.mark.parametrize("case", RESIZE_CASES, ids=lambda c: "-".join(map(str, c)))
def test_resize_scales(case):
    mode, coord, nearest, shape, scale = case
    rng = rng_for(case)
    x = rng.standard_normal(shape).astype(np.float32)
    out_hw = (int(np.floor(shape[2] * np.float32(scale[0]))), int(np.floor(shape[3] * np.float32(scale[1]))))
    g = Graph()
    t = g.add_tensor("x")
    g.inputs.append((t, shape))
    y = g.add_tensor("y")
    attrs = {"mode": [int(mode == "linear")], "coord": [["half_pixel", "asymmetric", "align_corners",
                                                            "pytorch_half_pixel"].index(coord)],
             "nearest": [["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].index(nearest)],
             "scale": [float(np.float32(s)) for s in scale]}
    g.nodes.append(Node("rs", "Resize", [t], [y], attrs))
    g.outputs.append(y)
    want = resize_ref(x.astype(np.float64), out_hw, [float(np.float32(s)) for s in scale], mode, coord, nearest)
    close(run_xnn(g, {"x": x})["y"], want, str(case))
    # The same through the converter, against onnxruntime, by scales and by sizes. With align_corners and
    # in * scale not a whole number, onnxruntime divides by the rounded output size where the ONNX spec
    # (and its node tests, which xnn passes) divides by in * scale: there the two cannot agree.
    integral = all(float(np.float32(s)) * d == int(float(np.float32(s)) * d) for s, d in zip(scale, shape[2:]))
    for by_size in (False, True):
        if coord == "align_corners" and not integral and not by_size:
            continue
        ins = ["x", "", "", "sizes"] if by_size else ["x", "", "scales"]
        init = (helper.make_tensor("sizes", TensorProto.INT64, [4], [*shape[:2], *out_hw]) if by_size else
                helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, *scale]))
        node = helper.make_node("Resize", ins, ["y"], mode=mode, coordinate_transformation_mode=coord,
                                nearest_mode=nearest)
        m = helper.make_model(helper.make_graph(
            [node], "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [init]),
            opset_imports=[helper.make_opsetid("", 13)])
        data = m.SerializeToString()
        want_ort = ort.InferenceSession(data).run(None, {"x": x})[0]
        close(run_xnn(from_onnx(data), {"x": x})["y"], want_ort, f"{case} vs onnxruntime, sizes: {by_size}")


def avgpool_exclude_pad_ref(x, k, s, pads, out_hw):
    n, c, h, w = x.shape
    y = np.zeros((n, c) + tuple(out_hw))
    for oy, ox in itertools.product(range(out_hw[0]), range(out_hw[1])):
        y0, x0 = oy * s[0] - pads[0], ox * s[1] - pads[1]
        win = x[:, :, max(y0, 0):min(y0 + k[0], h), max(x0, 0):min(x0 + k[1], w)]
        y[:, :, oy, ox] = win.mean(axis=(2, 3))
    return y


@pytest.mark.parametrize("shape,k,s,pads,ceil", [((1, 3, 7, 9), (3, 3), (2, 2), (1, 1, 1, 1), 0),
                                                  ((2, 2, 8, 5), (3, 2), (1, 2), (1, 0, 2, 1), 1),
                                                  ((1, 1, 6, 6), (5, 5), (3, 3), (2, 2, 2, 2), 1)])
def test_average_pool_excluding_pads(shape, k, s, pads, ceil):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=k, strides=s, pads=pads, ceil_mode=ceil,
                            count_include_pad=0)
    m = helper.make_model(helper.make_graph([node], "p", [helper.make_tensor_value_info("x", 1, shape)],
                                            [helper.make_tensor_value_info("y", 1, None)]),
                          opset_imports=[helper.make_opsetid("", 13)])
    want = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0]
    got = run_xnn(from_onnx(m.SerializeToString()), {"x": x})["y"]
    close(got, want, "vs onnxruntime")
    close(got, avgpool_exclude_pad_ref(x.astype(np.float64), k, s, pads, want.shape[2:]), "vs NumPy")


# ============================================================================ whole models vs onnxruntime

def light_models() -> List[Path]:
    d = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data" / "light"
    return sorted(d.glob("light_*.onnx"))


@pytest.mark.parametrize("path", light_models(), ids=lambda p: p.stem)
def test_light_models_match_onnxruntime(path):
    sess = ort.InferenceSession(str(path))
    model = xnn.Model.load(path)
    x = np.random.default_rng(0).standard_normal(model.inputs[0].shape).astype(np.float32)
    want = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    got = model.run({model.inputs[0].name: x})[sess.get_outputs()[0].name]
    close(got, want, path.stem)


def torch_net(name: str) -> bytes:
    torch = pytest.importorskip("torch")
    import torch_nets as tn

    torch.manual_seed({"squeezenet1_1": 1, "mobilenet_v2": 2, "resnet18": 3}[name])
    net = {"squeezenet1_1": tn.squeezenet1_1, "mobilenet_v2": tn.MobileNetV2, "resnet18": tn.ResNet18}[name]()
    tn.randomize_batchnorm(net, 5)
    return tn.export(net, [torch.zeros(1, 3, 224, 224)], ["image"], ["logits"],
                     {"image": {0: "batch"}, "logits": {0: "batch"}})


@pytest.mark.parametrize("name", ["squeezenet1_1", "mobilenet_v2", "resnet18"])
def test_torch_cnns_match_onnxruntime(name, tmp_path):
    data = torch_net(name)
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(data)
    sess = ort.InferenceSession(data)
    graph = from_onnx(path)
    assert graph.inputs[0][1] == (1, 3, 224, 224)  # the symbolic batch converts as 1
    model = xnn.Model.from_bytes(encode(graph))
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 224, 224)).astype(np.float32)
        want = sess.run(None, {"image": x})[0]
        close(model.run({"image": x})["logits"], want, f"{name} batch {batch}")


def test_model_load_and_cli_convert(tmp_path, capsys):
    from xnn import cli

    data = torch_net("squeezenet1_1")
    src = tmp_path / "sq.onnx"
    src.write_bytes(data)
    out = tmp_path / "sq.xnn"
    assert cli.main(["convert", str(src), str(out)]) == 0
    assert "sq.xnn" in capsys.readouterr().out
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    want = ort.InferenceSession(data).run(None, {"image": x})[0]
    close(xnn.Model.load(out).run({"image": x})["logits"], want, "converted file")
    close(xnn.Model.load(src).run({"image": x})["logits"], want, "converted in memory")


# ============================================================================ the onnx package's node tests

#: Node tests of supported operators that must fail with UnsupportedError: integer and float16/64 types,
#: 1-D/3-D pooling, dilated pooling, cubic and antialiased resizing, training-mode Dropout, Gemm with
#: transA or a matrix C, MatMul beyond [.., K] x [K, N], ReduceMean over other axes, and similar.
EXPECTED_UNSUPPORTED = {
    "test_add_int16", "test_add_int8", "test_add_uint16", "test_add_uint32", "test_add_uint64", "test_add_uint8",
    "test_averagepool_1d_default", "test_averagepool_2d_dilations", "test_averagepool_3d_default",
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False",
    "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True",
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False",
    "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True",
    "test_averagepool_3d_dilations_small", "test_batchnorm_epsilon_training_mode",
    "test_batchnorm_example_training_mode", "test_cast_BFLOAT16_to_FLOAT", "test_cast_DOUBLE_to_FLOAT",
    "test_cast_DOUBLE_to_FLOAT16", "test_cast_FLOAT16_to_DOUBLE", "test_cast_FLOAT16_to_FLOAT",
    "test_cast_FLOAT16_to_FLOAT4E2M1", "test_cast_FLOAT16_to_FLOAT8E4M3FN", "test_cast_FLOAT16_to_FLOAT8E4M3FNUZ",
    "test_cast_FLOAT16_to_FLOAT8E5M2", "test_cast_FLOAT16_to_FLOAT8E5M2FNUZ", "test_cast_FLOAT16_to_INT2",
    "test_cast_FLOAT16_to_INT4", "test_cast_FLOAT16_to_UINT2", "test_cast_FLOAT16_to_UINT4",
    "test_cast_FLOAT4E2M1_to_FLOAT", "test_cast_FLOAT4E2M1_to_FLOAT16", "test_cast_FLOAT8E4M3FNUZ_to_FLOAT",
    "test_cast_FLOAT8E4M3FNUZ_to_FLOAT16", "test_cast_FLOAT8E4M3FN_to_FLOAT", "test_cast_FLOAT8E4M3FN_to_FLOAT16",
    "test_cast_FLOAT8E5M2FNUZ_to_FLOAT", "test_cast_FLOAT8E5M2FNUZ_to_FLOAT16", "test_cast_FLOAT8E5M2_to_FLOAT",
    "test_cast_FLOAT8E5M2_to_FLOAT16", "test_cast_FLOAT_to_BFLOAT16", "test_cast_FLOAT_to_DOUBLE",
    "test_cast_FLOAT_to_FLOAT16", "test_cast_FLOAT_to_FLOAT4E2M1", "test_cast_FLOAT_to_FLOAT8E4M3FN",
    "test_cast_FLOAT_to_FLOAT8E4M3FNUZ", "test_cast_FLOAT_to_FLOAT8E5M2", "test_cast_FLOAT_to_FLOAT8E5M2FNUZ",
    "test_cast_FLOAT_to_INT2", "test_cast_FLOAT_to_INT4", "test_cast_FLOAT_to_UINT2", "test_cast_FLOAT_to_UINT4",
    "test_cast_INT2_to_FLOAT", "test_cast_INT2_to_FLOAT16", "test_cast_INT2_to_INT8", "test_cast_INT4_to_FLOAT",
    "test_cast_INT4_to_FLOAT16", "test_cast_INT4_to_INT8", "test_cast_UINT2_to_FLOAT", "test_cast_UINT2_to_FLOAT16",
    "test_cast_UINT2_to_UINT8", "test_cast_UINT4_to_FLOAT", "test_cast_UINT4_to_FLOAT16", "test_cast_UINT4_to_UINT8",
    "test_cast_e8m0_FLOAT16_to_FLOAT8E8M0", "test_cast_e8m0_FLOAT8E8M0_to_FLOAT",
    "test_cast_e8m0_FLOAT8E8M0_to_FLOAT16", "test_cast_e8m0_FLOAT_to_FLOAT8E8M0",
    "test_cast_no_saturate_FLOAT16_to_FLOAT8E4M3FN", "test_cast_no_saturate_FLOAT16_to_FLOAT8E4M3FNUZ",
    "test_cast_no_saturate_FLOAT16_to_FLOAT8E5M2", "test_cast_no_saturate_FLOAT16_to_FLOAT8E5M2FNUZ",
    "test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FN", "test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FNUZ",
    "test_cast_no_saturate_FLOAT_to_FLOAT8E5M2", "test_cast_no_saturate_FLOAT_to_FLOAT8E5M2FNUZ",
    "test_castlike_BFLOAT16_to_FLOAT_expanded", "test_castlike_DOUBLE_to_FLOAT16_expanded",
    "test_castlike_DOUBLE_to_FLOAT_expanded", "test_castlike_FLOAT16_to_DOUBLE_expanded",
    "test_castlike_FLOAT16_to_FLOAT4E2M1_expanded", "test_castlike_FLOAT16_to_FLOAT8E4M3FNUZ_expanded",
    "test_castlike_FLOAT16_to_FLOAT8E4M3FN_expanded", "test_castlike_FLOAT16_to_FLOAT8E5M2FNUZ_expanded",
    "test_castlike_FLOAT16_to_FLOAT8E5M2_expanded", "test_castlike_FLOAT16_to_FLOAT_expanded",
    "test_castlike_FLOAT16_to_INT2_expanded", "test_castlike_FLOAT16_to_INT4_expanded",
    "test_castlike_FLOAT16_to_UINT2_expanded", "test_castlike_FLOAT16_to_UINT4_expanded",
    "test_castlike_FLOAT4E2M1_to_FLOAT16_expanded", "test_castlike_FLOAT4E2M1_to_FLOAT_expanded",
    "test_castlike_FLOAT8E4M3FNUZ_to_FLOAT16_expanded", "test_castlike_FLOAT8E4M3FNUZ_to_FLOAT_expanded",
    "test_castlike_FLOAT8E4M3FN_to_FLOAT16_expanded", "test_castlike_FLOAT8E4M3FN_to_FLOAT_expanded",
    "test_castlike_FLOAT8E5M2FNUZ_to_FLOAT16_expanded", "test_castlike_FLOAT8E5M2FNUZ_to_FLOAT_expanded",
    "test_castlike_FLOAT8E5M2_to_FLOAT16_expanded", "test_castlike_FLOAT8E5M2_to_FLOAT_expanded",
    "test_castlike_FLOAT_to_BFLOAT16_expanded", "test_castlike_FLOAT_to_DOUBLE_expanded",
    "test_castlike_FLOAT_to_FLOAT16_expanded", "test_castlike_FLOAT_to_FLOAT4E2M1_expanded",
    "test_castlike_FLOAT_to_FLOAT8E4M3FNUZ_expanded", "test_castlike_FLOAT_to_FLOAT8E4M3FN_expanded",
    "test_castlike_FLOAT_to_FLOAT8E5M2FNUZ_expanded", "test_castlike_FLOAT_to_FLOAT8E5M2_expanded",
    "test_castlike_FLOAT_to_INT2_expanded", "test_castlike_FLOAT_to_INT4_expanded",
    "test_castlike_FLOAT_to_UINT2_expanded", "test_castlike_FLOAT_to_UINT4_expanded",
    "test_castlike_INT2_to_FLOAT16_expanded", "test_castlike_INT2_to_FLOAT_expanded",
    "test_castlike_INT2_to_INT8_expanded", "test_castlike_INT4_to_FLOAT16_expanded",
    "test_castlike_INT4_to_FLOAT_expanded", "test_castlike_INT4_to_INT8_expanded",
    "test_castlike_UINT2_to_FLOAT16_expanded", "test_castlike_UINT2_to_FLOAT_expanded",
    "test_castlike_UINT2_to_UINT8_expanded", "test_castlike_UINT4_to_FLOAT16_expanded",
    "test_castlike_UINT4_to_FLOAT_expanded", "test_castlike_UINT4_to_UINT8_expanded",
    "test_castlike_no_saturate_FLOAT16_to_FLOAT8E4M3FNUZ_expanded",
    "test_castlike_no_saturate_FLOAT16_to_FLOAT8E4M3FN_expanded",
    "test_castlike_no_saturate_FLOAT16_to_FLOAT8E5M2FNUZ_expanded",
    "test_castlike_no_saturate_FLOAT16_to_FLOAT8E5M2_expanded",
    "test_castlike_no_saturate_FLOAT_to_FLOAT8E4M3FNUZ_expanded",
    "test_castlike_no_saturate_FLOAT_to_FLOAT8E4M3FN_expanded",
    "test_castlike_no_saturate_FLOAT_to_FLOAT8E5M2FNUZ_expanded",
    "test_castlike_no_saturate_FLOAT_to_FLOAT8E5M2_expanded", "test_clip_default_int8_inbounds",
    "test_clip_default_int8_inbounds_expanded", "test_clip_default_int8_max", "test_clip_default_int8_min",
    "test_clip_min_greater_than_max", "test_constant_pad", "test_div_int16", "test_div_int32_trunc", "test_div_int8",
    "test_div_uint16", "test_div_uint32", "test_div_uint64", "test_div_uint8", "test_dropout_default_mask",
    "test_dropout_default_mask_ratio", "test_edge_pad", "test_gather_0", "test_gather_1", "test_gather_2d_indices",
    "test_gather_negative_indices", "test_gemm_all_attributes", "test_gemm_default_matrix_bias",
    "test_gemm_transposeA", "test_identity_opt", "test_identity_sequence", "test_lstm_batchwise",
    "test_lstm_with_peepholes", "test_matmul_1d_1d", "test_matmul_1d_3d", "test_matmul_3d", "test_matmul_4d",
    "test_matmul_4d_1d", "test_matmul_bcast", "test_max_float16", "test_max_float64", "test_max_int16",
    "test_max_int32", "test_max_int64", "test_max_int8", "test_max_uint16", "test_max_uint32", "test_max_uint64",
    "test_max_uint8", "test_maxpool_1d_default", "test_maxpool_2d_dilations", "test_maxpool_2d_uint8",
    "test_maxpool_3d_default", "test_maxpool_3d_dilations", "test_maxpool_3d_dilations_use_ref_impl",
    "test_maxpool_3d_dilations_use_ref_impl_large", "test_maxpool_with_argmax_2d_precomputed_pads",
    "test_maxpool_with_argmax_2d_precomputed_strides", "test_min_float16", "test_min_float64", "test_min_int16",
    "test_min_int32", "test_min_int64", "test_min_int8", "test_min_uint16", "test_min_uint32", "test_min_uint64",
    "test_min_uint8", "test_mul_int16", "test_mul_int8", "test_mul_uint16", "test_mul_uint32", "test_mul_uint64",
    "test_mul_uint8", "test_mvn_expanded", "test_mvn_expanded_ver18", "test_pow_types_float32_int32",
    "test_pow_types_float32_int64", "test_pow_types_float32_uint32", "test_pow_types_float32_uint64",
    "test_pow_types_int32_float32", "test_pow_types_int32_int32", "test_pow_types_int64_float32",
    "test_pow_types_int64_int64", "test_reduce_mean_default_axes_keepdims_example",
    "test_reduce_mean_default_axes_keepdims_random", "test_reduce_mean_do_not_keepdims_example",
    "test_reduce_mean_do_not_keepdims_random", "test_reduce_mean_keepdims_example",
    "test_reduce_mean_keepdims_random", "test_reduce_mean_negative_axes_keepdims_example",
    "test_reduce_mean_negative_axes_keepdims_random", "test_reflect_pad", "test_reshape_allowzero_reordered",
    "test_resize_downsample_scales_cubic", "test_resize_downsample_scales_cubic_A_n0p5_exclude_outside",
    "test_resize_downsample_scales_cubic_align_corners", "test_resize_downsample_scales_cubic_antialias",
    "test_resize_downsample_scales_linear_antialias", "test_resize_downsample_scales_linear_half_pixel_symmetric",
    "test_resize_downsample_sizes_cubic", "test_resize_downsample_sizes_cubic_antialias",
    "test_resize_downsample_sizes_linear_antialias", "test_resize_downsample_sizes_nearest_not_larger",
    "test_resize_downsample_sizes_nearest_not_smaller", "test_resize_tf_crop_and_resize",
    "test_resize_tf_crop_and_resize_axes_2_3", "test_resize_tf_crop_and_resize_axes_3_2",
    "test_resize_tf_crop_and_resize_extrapolation_value", "test_resize_upsample_scales_cubic",
    "test_resize_upsample_scales_cubic_A_n0p5_exclude_outside", "test_resize_upsample_scales_cubic_align_corners",
    "test_resize_upsample_scales_cubic_asymmetric", "test_resize_upsample_scales_linear_half_pixel_symmetric",
    "test_resize_upsample_sizes_cubic", "test_resize_upsample_sizes_nearest_not_larger",
    "test_resize_upsample_sizes_nearest_not_smaller", "test_slice_neg_steps", "test_slice_start_out_of_bounds",
    "test_sub_int16", "test_sub_int8", "test_sub_uint16", "test_sub_uint32", "test_sub_uint64", "test_sub_uint8",
    "test_training_dropout", "test_training_dropout_default", "test_training_dropout_default_mask",
    "test_training_dropout_mask", "test_training_dropout_zero_ratio", "test_training_dropout_zero_ratio_mask",
    "test_wrap_pad",
}


def node_cases() -> List[str]:
    return nc.cases()


@pytest.fixture(scope="module")
def node_results():
    """Every selected node test run once: name -> "pass", "unsupported: ..." or "fail: ...". """
    out = {}
    for name in node_cases():
        model, sets = nc.load_case(name)
        try:
            for ins, outs in sets:
                consts, dyn = nc.split_inputs(model, ins)
                g = from_onnx(model.SerializeToString(), constants=consts,
                              input_shapes={k: v.shape for k, v in dyn.items()})
                got = run_xnn(g, dyn)
                for k, want in outs.items():
                    close(got[k], want, k)
            out[name] = "pass"
        except xnn.UnsupportedError as e:
            out[name] = f"unsupported: {e}"
        except Exception as e:  # noqa: BLE001 - reported below
            out[name] = f"fail: {type(e).__name__}: {e}"
    return out


def test_node_tests(node_results):
    failed = {k: v for k, v in node_results.items() if v.startswith("fail")}
    unsupported = {k for k, v in node_results.items() if v.startswith("unsupported")}
    passed = [k for k, v in node_results.items() if v == "pass"]
    print(f"\nnode tests: {len(node_results)} selected, {len(passed)} pass, {len(unsupported)} unsupported")
    assert not failed, "\n".join(f"{k}: {v[:300]}" for k, v in failed.items())
    assert sorted(unsupported - EXPECTED_UNSUPPORTED) == [], "newly unsupported"
    assert sorted(EXPECTED_UNSUPPORTED - unsupported) == [], "expected unsupported, but converted (update the list)"
    assert len(passed) >= 184


def test_node_test_unsupported_errors_name_node_and_field(node_results):
    msg = node_results["test_maxpool_2d_dilations"]
    assert "node 'y' (MaxPool)" in msg and "dilations" in msg
    assert "mode='cubic'" in node_results["test_resize_upsample_scales_cubic"]
    assert "element type" in node_results["test_add_uint8"]


# ============================================================================ bad input

def two_node_model(opset: int = 13) -> onnx.ModelProto:
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Erf", ["r"], ["e"], name="my_erf"),
             helper.make_node("Sigmoid", ["e"], ["s"], name="sig"),
             helper.make_node("Tanh", ["x"], ["t"], name="tanh"),
             helper.make_node("Einsum", ["t", "t"], ["u"], name="my_einsum", equation="ij,ij->ij")]
    g = helper.make_graph(nodes, "bad", [helper.make_tensor_value_info("x", 1, [2, 3])],
                          [helper.make_tensor_value_info("s", 1, None), helper.make_tensor_value_info("u", 1, None)])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def test_every_unsupported_node_in_one_error():
    with pytest.raises(xnn.UnsupportedError) as e:
        from_onnx(two_node_model().SerializeToString())
    msg = str(e.value)
    assert "2 ONNX node(s)" in msg
    assert "'my_erf' (Erf)" in msg and "'my_einsum' (Einsum)" in msg
    assert "sig" not in msg  # downstream of an unsupported node, but supported itself


@pytest.mark.parametrize("opset", [6, MAX_OPSET + 1])
def test_opset_out_of_range(opset):
    m = two_node_model(opset)
    m.ir_version = 3 if opset < 7 else m.ir_version
    with pytest.raises(xnn.UnsupportedError, match=f"opset {opset} is not supported"):
        from_onnx(m.SerializeToString())


def test_truncated_and_foreign_files(tmp_path):
    data = torch_net("squeezenet1_1")
    for cut in (len(data) // 2, len(data) - 3, 10):
        p = tmp_path / "cut.onnx"
        p.write_bytes(data[:cut])
        with pytest.raises(xnn.ModelFormatError, match="cut.onnx"):
            from_onnx(p)
    p = tmp_path / "png.onnx"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(xnn.ModelFormatError, match="png.onnx"):
        xnn.Model.load(p)
    with pytest.raises(xnn.XnnIOError):
        from_onnx(tmp_path / "missing.onnx")


def test_unsupported_attribute_value_names_node_and_field():
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1", auto_pad="SAME_WEIRD")
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [1, 2, 5, 5])],
                          [helper.make_tensor_value_info("y", 1, None)],
                          [helper.make_tensor("w", 1, [3, 2, 3, 3], np.zeros(54, np.float32))])
    with pytest.raises((xnn.UnsupportedError, xnn.ModelFormatError), match="conv1.*auto_pad"):
        from_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())


def test_hostile_binary_and_resize_nodes_fail_at_load():
    def single(op: str, attrs, weights=(), shape=(1, 2, 3, 4)) -> bytes:
        g = Graph()
        t = g.add_tensor("x")
        g.inputs.append((t, shape))
        y = g.add_tensor("y")
        g.nodes.append(Node("n", op, [t], [y], attrs, list(weights)))
        g.outputs.append(y)
        return encode(g)

    cases = [
        (single("Binary", {"operation": [0]}, [np.ones((5, 1), np.float32)]), xnn.ShapeError, "do not broadcast"),
        (single("Binary", {"operation": [9]}, [np.ones(1, np.float32)]), xnn.ModelFormatError, "operation"),
        (single("Binary", {"operation": [0]}), xnn.ModelFormatError, "weights"),
        # A scale whose output dim would not fit int64 is refused before any shape is computed.
        (single("Resize", {"scale": [1e30, 1.0]}), xnn.ModelFormatError, r"n' \(Resize\): scale .* at most 2\^31"),
        (single("Resize", {"scale": [2.0 ** 31, 1.0]}), xnn.ShapeError, "output size 6442450944x4 .* out of range"),
        (single("Resize", {"size": [4, 0], "scale": [0.0, 0.0]}), xnn.ModelFormatError, "size"),
        (single("Resize", {"scale": [-1.0, 2.0]}), xnn.ModelFormatError, "scale"),
        (single("Resize", {"scale": [2.0, 2.0]}, shape=(2, 3, 4)), xnn.ShapeError, "4-D"),
    ]
    for data, err, text in cases:
        with pytest.raises(err, match=text):
            xnn.Model.from_bytes(data)

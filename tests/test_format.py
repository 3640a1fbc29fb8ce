"""The .xnn format: written by xnn.format, read by the C core.

- every shared Caffe model converts losslessly: the .xnn model's outputs equal the Caffe model's bit for
  bit, and the graph read back equals the one written;
- the bytes follow the documented schema: the ``proto`` block of docs/FORMAT.md, compiled by protoc,
  decodes what the writer wrote;
- every weight form (float16, codebook, int8, each dense or sparse, packed or Huffman-coded) decodes in C
  to exactly what the writer's CodedWeight says;
- the golden file tests/data/xnn/golden.xnn (every form at once) is what the writer still writes, and loads
  to the stored outputs;
- corrupt and hostile files give a clear error, never a crash.
"""

from __future__ import annotations

import importlib.util
import re
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import caffe_tools
import xnn
from xnn.errors import ModelFormatError, ShapeError, UnsupportedError, XnnError
from xnn.format import CodedWeight, encode, write
from xnn.graph import Graph, Node

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "xnn"
MODELS = [
    "lenet_mnist", "cifar10_quick", "mtcnn_det1", "squeezenet_v1.1", "mobilenet_v1", "mobilenet_v2",
    "bvlc_googlenet", "resnet50",
]


def graphs_equal(a: Graph, b: Graph) -> None:
    assert a.tensors == b.tensors
    assert a.inputs == b.inputs
    assert a.outputs == b.outputs
    assert len(a.nodes) == len(b.nodes)
    for x, y in zip(a.nodes, b.nodes):
        assert (x.name, x.op, x.type, x.inputs, x.outputs, x.num_params) == (
            y.name, y.op, y.type, y.inputs, y.outputs, y.num_params), x.name
        assert x.attrs.keys() == y.attrs.keys(), x.name
        for k in x.attrs:
            np.testing.assert_array_equal(np.float64(x.attrs[k]), np.float64(y.attrs[k]), err_msg=f"{x.name}.{k}")
        assert len(x.weights) == len(y.weights)
        for wx, wy in zip(x.weights, y.weights):
            assert wx.shape == wy.shape and wx.dtype == wy.dtype == np.float32
            assert np.array_equal(wx, wy), x.name


@pytest.mark.parametrize("name", MODELS)
def test_caffe_converts_losslessly(name, random_caffe_model, tmp_path):
    prototxt, caffemodel = random_caffe_model(name)
    graph = Graph.from_caffe(prototxt, caffemodel)
    out = tmp_path / f"{name}.xnn"
    size = write(graph, out)
    assert out.stat().st_size == size
    # Float32 weights take their bytes and little more.
    weight_bytes = 4 * sum(w.size for n in graph.nodes for w in n.weights)
    assert weight_bytes <= size <= weight_bytes * 1.01 + 20000
    graphs_equal(Graph.from_xnn(out), graph)

    ref = xnn.Model.load(prototxt, caffemodel)
    got = xnn.Model.load(out)
    assert [(i.name, i.shape) for i in got.inputs] == [(i.name, i.shape) for i in ref.inputs]
    assert [(o.name, o.shape) for o in got.outputs] == [(o.name, o.shape) for o in ref.outputs]
    assert [(l.name, l.type, l.params) for l in got.layers] == [(l.name, l.type, l.params) for l in ref.layers]
    inputs = caffe_tools.random_inputs({i.name: i.shape for i in ref.inputs}, seed=2)
    want, have = ref.run(inputs), got.run(inputs)
    for k in want:
        assert np.array_equal(want[k], have[k]), k
        assert float(np.std(want[k])) > 0


def test_mtcnn_real_weights_from_memory():
    mtcnn = Path(xnn.__file__).resolve().parent / "models" / "mtcnn"
    graph = Graph.from_caffe(mtcnn / "det3.prototxt", mtcnn / "det3.caffemodel")
    model = xnn.Model.from_bytes(encode(graph))
    ref = xnn.Model.load(mtcnn / "det3.prototxt")
    x = np.random.default_rng(0).standard_normal((2, 3, 48, 48)).astype(np.float32)
    for k, v in ref.run({"data": x}).items():
        assert np.array_equal(model.run({"data": x})[k], v)


# ------------------------------------------------------------------------------ the documented schema


def _format_pb2():
    text = (ROOT / "docs" / "FORMAT.md").read_text()
    blocks = re.findall(r"```proto\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/FORMAT.md must hold exactly one proto block"
    from grpc_tools import protoc

    out = Path(tempfile.mkdtemp(prefix="xnn_format_pb2_"))
    (out / "xnn_format.proto").write_text(blocks[0])
    assert protoc.main(["grpc_tools.protoc", f"-I{out}", f"--python_out={out}", str(out / "xnn_format.proto")]) == 0
    spec = importlib.util.spec_from_file_location("xnn_format_pb2", out / "xnn_format_pb2.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["xnn_format_pb2"] = module
    spec.loader.exec_module(module)
    return module


def test_writer_follows_the_documented_schema(random_caffe_model):
    pb2 = _format_pb2()
    prototxt, caffemodel = random_caffe_model("mtcnn_det2")
    graph = Graph.from_caffe(prototxt, caffemodel)
    data = encode(graph)
    magic, major, minor, size, crc, hcrc = struct.unpack("<4sHHQII", data[:24])
    assert (magic, major, minor, size) == (b"XNNM", 1, 0, len(data) - 24)
    assert crc == zlib.crc32(data[24:]) and hcrc == zlib.crc32(data[:20])
    m = pb2.Model()
    m.ParseFromString(data[24:])
    assert list(m.tensors) == graph.tensors
    assert [(i.tensor, tuple(i.shape)) for i in m.inputs] == graph.inputs
    assert list(m.outputs) == graph.outputs
    assert [(n.name, n.op, n.type, list(n.inputs), list(n.outputs)) for n in m.nodes] == [
        (n.name, n.op, n.type, n.inputs, n.outputs) for n in graph.nodes]
    for pn, n in zip(m.nodes, graph.nodes):
        attrs = {a.name: list(a.ints) or list(a.floats) for a in pn.attrs}
        assert attrs.keys() == n.attrs.keys()
        for k, v in n.attrs.items():
            np.testing.assert_array_equal(np.float32(attrs[k]) if attrs[k] else np.float32(v), np.float32(v))
        for pw, w in zip(pn.weights, n.weights):
            assert tuple(pw.shape) == w.shape and pw.nnz == w.size
            assert np.array_equal(np.frombuffer(pw.f32, "<f4").reshape(w.shape), w)


# ------------------------------------------------------------------------------ coded weights


def _fc_graph(w: object, b: np.ndarray, k: int) -> Graph:
    return Graph(
        tensors=["x", "y"],
        inputs=[(0, (1, k))],
        outputs=[1],
        nodes=[Node("fc", "InnerProduct", [0], [1], {"num_output": [len(b)]}, [w, b])],
    )


def _coded_cases(rng: np.random.Generator, shape=(37, 53)):
    numel = int(np.prod(shape))
    dense_pos = None
    sparse_pos = np.sort(rng.choice(numel, numel // 9, replace=False))
    # A long run of zeros forces gap escapes whatever width is chosen.
    runs_pos = np.concatenate([[3], np.arange(1500, 1520), [numel - 1]])
    for pos in (dense_pos, sparse_pos, runs_pos):
        nnz = numel if pos is None else len(pos)
        yield CodedWeight(shape, pos, values=rng.standard_normal(nnz).astype(np.float32))
        yield CodedWeight(shape, pos, values=rng.standard_normal(nnz).astype(np.float16), half=True)
        for k, skew, half in ((2, False, False), (32, True, False), (256, True, True), (3000, False, False)):
            p = None
            if skew:
                p = 0.6 ** np.arange(k)
                p /= p.sum()
            idx = rng.choice(k, nnz, p=p)
            yield CodedWeight(shape, pos, centroids=rng.standard_normal(k).astype(np.float32), indices=idx, half=half)
        yield CodedWeight(shape, pos, scale=np.float32([0.01]), int8=rng.integers(-128, 128, nnz))
        yield CodedWeight(shape, pos, scale=rng.random(shape[0]).astype(np.float32),
                          int8=rng.integers(-128, 128, nnz))


def test_every_weight_form_decodes_exactly():
    rng = np.random.default_rng(5)
    b = rng.standard_normal(37).astype(np.float32)
    x = rng.standard_normal((3, 53)).astype(np.float32)
    n = 0
    for w in _coded_cases(rng):
        graph = _fc_graph(w, b, 53)
        data = encode(graph)
        back = Graph.from_xnn(data).nodes[0].weights[0]
        want = w.dense()
        assert np.array_equal(back, want), w
        model = xnn.Model.from_bytes(data)
        # The int8 forms have weights up to ~128: outputs of ~300 whose float32 sums (summed in whatever
        # order the kernel picks) are good to a few ulps of the terms' magnitude, not of the result.
        x64, w64 = x.astype(np.float64), want.astype(np.float64)
        scale = np.abs(x64) @ np.abs(w64).T + np.abs(b)
        np.testing.assert_array_less(np.abs(model.predict(x) - (x64 @ w64.T + b)), 1e-6 * scale + 1e-7)
        n += 1
    assert n == 3 * 8


def test_sparse_auto_is_lossless_and_smaller():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((64, 300)).astype(np.float32)
    w[rng.random(w.shape) < 0.9] = 0
    b = np.zeros(64, np.float32)
    sparse, dense = encode(_fc_graph(w, b, 300)), encode(_fc_graph(w, b, 300), sparse="never")
    assert len(sparse) < 0.4 * len(dense)
    assert np.array_equal(Graph.from_xnn(sparse).nodes[0].weights[0], w)


# ------------------------------------------------------------------------------ golden file


def golden_graph() -> Graph:
    """A small net with every operator family of LeNet-like models and every weight form."""
    rng = np.random.default_rng(2026)
    conv_w = rng.standard_normal((8, 1, 5, 5)).astype(np.float32)
    conv_w[np.abs(conv_w) < 0.7] = 0
    pos = np.flatnonzero(conv_w)
    k = 16
    cents = np.sort(rng.standard_normal(k)).astype(np.float32)
    fc1 = CodedWeight((20, 8 * 7 * 7), np.sort(rng.choice(20 * 392, 400, replace=False)),
                      centroids=cents, indices=rng.choice(k, 400, p=0.7 ** np.arange(k) / (0.7 ** np.arange(k)).sum()))
    fc2 = CodedWeight((10, 20), None, scale=rng.random(10).astype(np.float32) / 50, int8=rng.integers(-127, 128, 200))
    g = Graph(tensors=["data", "conv1", "pool1", "relu1", "fc1", "fc1r", "fc2", "prob"], inputs=[(0, (1, 1, 16, 16))],
              outputs=[7])
    g.nodes = [
        Node("conv1", "Convolution", [0], [1], {"num_output": [8], "kernel": [5, 5], "pad": [1, 1, 1, 1]},
             [CodedWeight(conv_w.shape, pos, values=conv_w.reshape(-1)[pos].astype(np.float16), half=True),
              rng.standard_normal(8).astype(np.float32)]),
        Node("pool1", "Pooling", [1], [2], {"method": [0], "kernel": [2, 2], "stride": [2, 2]}),
        Node("relu1", "ReLU", [2], [3]),
        Node("fc1", "InnerProduct", [3], [4], {"num_output": [20], "bias": [0]}, [fc1]),
        Node("relu2", "ReLU", [4], [5], {"activation": [0.1, -np.inf, 6.0]}),
        Node("fc2", "InnerProduct", [5], [6], {"num_output": [10]}, [fc2, rng.standard_normal(10).astype(np.float32)]),
        Node("prob", "Softmax", [6], [7], {"axis": [1]}),
    ]
    g.metadata["purpose"] = "golden file of the xnn format tests"
    return g


def golden_input() -> np.ndarray:
    return np.random.default_rng(7).standard_normal((1, 1, 16, 16)).astype(np.float32)


def test_golden_file():
    """tests/data/xnn/golden.xnn is what the writer writes today, and loads (in Python and in the C tests)
    to the outputs stored next to it. Regenerate both with `python tests/test_format.py` only when the format
    changes on purpose (then bump its version)."""
    data = (GOLDEN / "golden.xnn").read_bytes()
    assert encode(golden_graph(), producer="xnn golden") == data
    assert np.array_equal(np.fromfile(GOLDEN / "golden_input.f32", "<f4"), golden_input().reshape(-1))
    got = xnn.Model.from_bytes(data).predict(golden_input())
    want = np.fromfile(GOLDEN / "golden_output.f32", dtype="<f4").reshape(got.shape)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------------ bad files


def _rewrap(payload: bytes, major: int = 1) -> bytes:
    head = b"XNNM" + struct.pack("<HHQI", major, 0, len(payload), zlib.crc32(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def test_truncations_and_bit_flips_are_errors():
    data = (GOLDEN / "golden.xnn").read_bytes()
    for n in list(range(0, 64)) + list(range(64, len(data), 7)):
        with pytest.raises(ModelFormatError):
            xnn.Model.from_bytes(data[:n])
    rng = np.random.default_rng(0)
    for _ in range(300):
        bad = bytearray(data)
        i = int(rng.integers(len(bad)))
        bad[i] ^= 1 << int(rng.integers(8))
        with pytest.raises(ModelFormatError, match="checksum|magic|header|version"):
            xnn.Model.from_bytes(bytes(bad))


def test_mutated_payloads_with_valid_checksums_never_crash():
    """Mutations behind a recomputed checksum reach every parser: each file loads or raises XnnError."""
    payload = (GOLDEN / "golden.xnn").read_bytes()[24:]
    rng = np.random.default_rng(1)
    x = golden_input()
    outcomes = {"loaded": 0, "error": 0}
    for _ in range(3000):
        bad = bytearray(payload)
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(len(bad)))
            bad[i] = int(rng.integers(256)) if rng.random() < 0.5 else bad[i] ^ (1 << int(rng.integers(8)))
        if rng.random() < 0.2:
            bad = bad[: int(rng.integers(len(bad)))]
        try:
            model = xnn.Model.from_bytes(_rewrap(bytes(bad)))
        except XnnError:
            outcomes["error"] += 1
            continue
        try:
            model.predict(x)
        except XnnError:
            pass
        outcomes["loaded"] += 1
    assert outcomes["error"] > 1000 and outcomes["loaded"] > 10, outcomes


def _graph_with(**changes) -> Graph:
    g = golden_graph()
    for key, value in changes.items():
        node, field = key.split("__")
        n = g.node(node)
        if field == "attrs":
            n.attrs.update(value)
        else:
            setattr(n, field, value)
    return g


@pytest.mark.parametrize(
    "graph, error, pattern",
    [
        (_graph_with(conv1__op="Deconvolution"), UnsupportedError, r"node 0 'conv1' \(Deconvolution\): operator"),
        (_graph_with(pool1__attrs={"mode": [1]}), ModelFormatError, r"'pool1'.*unknown attribute 'mode'"),
        (_graph_with(conv1__attrs={"kernel": [5]}), ModelFormatError, r"'conv1'.*'kernel' has 1 values, expected 2"),
        (_graph_with(conv1__attrs={"stride": [0, 1]}), ModelFormatError, r"'conv1'.*'stride' value 0 is outside"),
        (_graph_with(conv1__attrs={"group": [3]}), ModelFormatError, r"'conv1'.*not divisible by group 3"),
        (_graph_with(fc2__attrs={"bias": [0]}), ModelFormatError, r"'fc2'.*2 weights, expected 1"),
        (_graph_with(fc2__inputs=[6]), ModelFormatError, r"'fc2'.*not written by an earlier node"),
        (_graph_with(prob__outputs=[6]), ModelFormatError, r"'prob'.*written twice"),
        (_graph_with(fc1__inputs=[99]), ModelFormatError, r"'fc1'.*tensor id 99 is out of range"),
        (_graph_with(fc2__weights=[np.zeros((11, 20), np.float32), np.zeros(10, np.float32)]), ModelFormatError,
         r"'fc2'.*weight 0 \(W\): shape 11x20, expected 10x-1"),
        # K is the input's size: a mismatch shows when the declared input shape is planned.
        (_graph_with(fc2__weights=[np.zeros((10, 21), np.float32), np.zeros(10, np.float32)]), ShapeError,
         r"'fc2'.*weights expect 21"),
    ],
)
def test_hostile_graphs_name_the_node(graph, error, pattern):
    # The writer checks execution order itself; bypass it to reach the reader.
    import xnn.format.writer as writer

    saved = writer.topological
    writer.topological = lambda *a: True
    try:
        data = encode(graph)
    finally:
        writer.topological = saved
    with pytest.raises(error, match=pattern):
        xnn.Model.from_bytes(data)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC", None])
def test_layout_metadata(layout):
    g = golden_graph()
    if layout:
        g.metadata["layout"] = layout
    model = xnn.Model.from_bytes(encode(g))
    assert model.input_layout == (layout or "NCHW")
    assert Graph.from_xnn(encode(g)).metadata.get("layout", "NCHW") == (layout or "NCHW")


@pytest.mark.parametrize("value", ["nhwc", "NHW", "", "CHWN"])
def test_bad_layout_metadata(value):
    g = golden_graph()
    g.metadata["layout"] = value
    with pytest.raises(ModelFormatError, match="metadata 'layout' must be NCHW or NHWC"):
        xnn.Model.from_bytes(encode(g))


def test_wrong_version():
    payload = encode(golden_graph())[24:]
    with pytest.raises(UnsupportedError, match="version 2.0"):
        xnn.Model.from_bytes(_rewrap(payload, major=2))


def _hand_weight(monkeypatch, name: str, message: bytes) -> bytes:
    """The golden graph with one weight message replaced by hand-made bytes."""
    import xnn.format.writer as writer

    real = writer.encode_weight
    target = golden_graph().node(name).weights[0]
    monkeypatch.setattr(writer, "encode_weight", lambda w, sparse="auto": message if w is target else real(w, sparse))
    g = golden_graph()
    g.node(name).weights[0] = target
    return encode(g)


def test_bad_weight_messages_name_node_and_field(monkeypatch):
    from xnn.format import wire
    from xnn.format.coding import encode_stream
    from xnn.format.writer import _stream

    shape = wire.packed_ints(1, [20, 392])
    idx = np.zeros(20 * 392, np.int64)
    idx[77] = 3  # three centroids: index 3 does not exist
    codebook = wire.bytes_field(1, np.float32([1, 2, 3]).tobytes()) + wire.bytes_field(3, _stream(encode_stream(idx, 2)))
    cases = [
        (shape + wire.uint_field(2, 7840) + wire.bytes_field(5, codebook), r"'fc1'.*codebook index 3 at 77"),
        (shape + wire.uint_field(2, 7840) + wire.bytes_field(3, b"\0" * 31356), r"'fc1'.*f32 has 31356 bytes"),
        (shape + wire.uint_field(2, 7840), r"'fc1'.*exactly one of f32"),
        (shape + wire.uint_field(2, 1 << 40) + wire.bytes_field(3, b""), r"'fc1'.*nnz"),
        (wire.packed_ints(1, [20, 392, 1 << 33]) + wire.bytes_field(3, b""), r"'fc1'.*shape"),
        # No values, no positions: 20 x 2^22 zeros (335 MB) from a file of a few KB.
        (wire.packed_ints(1, [20, 1 << 22]) + wire.uint_field(2, 0) + wire.bytes_field(3, b"")
         + wire.bytes_field(7, wire.uint_field(1, 0) + wire.uint_field(2, 1)),
         r"'fc1'.*W.*shape 20x4194304: more weight elements than a file of this size may declare"),
        (shape + wire.uint_field(2, 7840) + wire.bytes_field(4, np.float16([np.inf] * 7840).tobytes()), r"'fc1'.*float16 value 0 is infinite"),
    ]
    for message, pattern in cases:
        with pytest.raises(ModelFormatError, match=pattern):
            xnn.Model.from_bytes(_hand_weight(monkeypatch, "fc1", message))


def test_writer_rejects_what_it_cannot_write():
    g = golden_graph()
    g.nodes[0], g.nodes[1] = g.nodes[1], g.nodes[0]
    with pytest.raises(ValueError, match="execution order"):
        encode(g)
    with pytest.raises(ValueError, match="non-finite"):
        encode(_fc_graph(np.full((2, 3), np.nan, np.float32), np.zeros(2, np.float32), 3))


if __name__ == "__main__":  # regenerate the golden file and its output
    GOLDEN.mkdir(parents=True, exist_ok=True)
    data = encode(golden_graph(), producer="xnn golden")
    (GOLDEN / "golden.xnn").write_bytes(data)
    golden_input().astype("<f4").tofile(GOLDEN / "golden_input.f32")
    out = xnn.Model.from_bytes(data).predict(golden_input())
    out.astype("<f4").tofile(GOLDEN / "golden_output.f32")
    print(f"wrote {len(data)} bytes, output {out.shape}")

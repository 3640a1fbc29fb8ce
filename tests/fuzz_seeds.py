"""Writes the seed corpora of the libFuzzer targets (tests/c/fuzz_caffe.c, tests/c/fuzz_xnn.c) into
tests/data/fuzz/seeds/{caffe,xnn}: small models of every Caffe layer type and every .xnn operator and
weight coding, so that the fuzzers start from inputs that load and run. Run it again (``python
tests/fuzz_seeds.py``) when the formats gain a feature; tests/test_fuzz.py runs the targets on these files.

A caffe seed is a 4-byte little-endian prototxt length, the prototxt, then the caffemodel; a .xnn seed is a
file's payload (the target writes the header and its checksums)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "python")]

import caffe_tools  # noqa: E402
from xnn.format import CodedWeight, encode  # noqa: E402
from xnn.graph import Graph, Node  # noqa: E402

SEEDS = ROOT / "tests" / "data" / "fuzz" / "seeds"


def _layer(name, type_, bottoms, tops, param=""):
    io = " ".join(f'bottom: "{b}"' for b in bottoms) + " " + " ".join(f'top: "{t}"' for t in tops)
    return f'layer {{ name: "{name}" type: "{type_}" {io} {param} }}\n'


def _net(inputs, *layers):
    decl = "".join(f'input: "{k}"\ninput_shape {{ {" ".join(f"dim: {d}" for d in s)} }}\n' for k, s in inputs.items())
    return 'name: "seed"\n' + decl + "".join(layers)


CAFFE_NETS = {
    # Every image layer, fused chains included (Convolution + BatchNorm + Scale + ReLU).
    "vision": _net(
        {"data": (1, 3, 9, 9)},
        _layer("conv1", "Convolution", ["data"], ["c1"], "convolution_param { num_output: 4 kernel_size: 3 pad: 1 }"),
        _layer("bn1", "BatchNorm", ["c1"], ["c1"], "batch_norm_param { eps: 0.001 }"),
        _layer("sc1", "Scale", ["c1"], ["c1"], "scale_param { bias_term: true }"),
        _layer("relu1", "ReLU", ["c1"], ["c1"], "relu_param { negative_slope: 0.1 }"),
        _layer("pool1", "Pooling", ["c1"], ["p1"], "pooling_param { pool: MAX kernel_size: 3 stride: 2 }"),
        _layer("lrn1", "LRN", ["p1"], ["n1"], "lrn_param { local_size: 3 alpha: 0.0001 beta: 0.75 }"),
        _layer("split", "Split", ["n1"], ["s1", "s2"]),
        _layer("dw", "Convolution", ["s1"], ["d1"],
               "convolution_param { num_output: 4 group: 4 kernel_size: 3 pad: 1 stride: 1 bias_term: false }"),
        _layer("prelu", "PReLU", ["d1"], ["d1"]),
        _layer("conv2", "Convolution", ["s2"], ["c2"],
               "convolution_param { num_output: 4 kernel_h: 3 kernel_w: 1 pad_h: 1 pad_w: 0 dilation: 1 }"),
        _layer("sig", "Sigmoid", ["c2"], ["c2"]),
        _layer("sum", "Eltwise", ["d1", "c2"], ["e1"], "eltwise_param { operation: SUM coeff: 1 coeff: -0.5 }"),
        _layer("prod", "Eltwise", ["e1", "d1"], ["e2"], "eltwise_param { operation: PROD }"),
        _layer("max", "Eltwise", ["e2", "c2"], ["e3"], "eltwise_param { operation: MAX }"),
        _layer("cat", "Concat", ["e3", "d1"], ["cat"], "concat_param { axis: 1 }"),
        _layer("slice", "Slice", ["cat"], ["sl1", "sl2"], "slice_param { axis: 1 slice_point: 3 }"),
        _layer("tanh", "TanH", ["sl1"], ["t1"]),
        _layer("bias", "Bias", ["sl2"], ["b1"]),
        _layer("drop", "Dropout", ["b1"], ["b1"], "dropout_param { dropout_ratio: 0.5 }"),
        _layer("ave", "Pooling", ["t1"], ["g1"], "pooling_param { pool: AVE global_pooling: true }"),
        _layer("ave2", "Pooling", ["b1"], ["a2"], "pooling_param { pool: AVE kernel_size: 2 stride: 2 pad: 1 }"),
        _layer("flat", "Flatten", ["a2"], ["f2"]),
        _layer("fc", "InnerProduct", ["f2"], ["fc"], "inner_product_param { num_output: 6 }"),
        _layer("resh", "Reshape", ["fc"], ["r1"], "reshape_param { shape { dim: 0 dim: 2 dim: -1 } }"),
        _layer("perm", "Permute", ["r1"], ["pm"], "permute_param { order: 0 order: 2 order: 1 }"),
        _layer("prob", "Softmax", ["pm"], ["prob"], "softmax_param { axis: 2 }"),
    ),
    # SSD's head: Normalize, PriorBox, Permute, Flatten, Concat, DetectionOutput.
    "ssd": _net(
        {"data": (1, 3, 12, 12)},
        _layer("conv", "Convolution", ["data"], ["f"], "convolution_param { num_output: 4 kernel_size: 3 stride: 3 }"),
        _layer("norm", "Normalize", ["f"], ["fn"], "norm_param { across_spatial: false channel_shared: false }"),
        _layer("loc", "Convolution", ["fn"], ["loc"], "convolution_param { num_output: 12 kernel_size: 1 }"),
        _layer("locp", "Permute", ["loc"], ["locp"], "permute_param { order: 0 order: 2 order: 3 order: 1 }"),
        _layer("locf", "Flatten", ["locp"], ["locf"]),
        _layer("conf", "Convolution", ["fn"], ["conf"], "convolution_param { num_output: 9 kernel_size: 1 }"),
        _layer("confp", "Permute", ["conf"], ["confp"], "permute_param { order: 0 order: 2 order: 3 order: 1 }"),
        _layer("conff", "Flatten", ["confp"], ["conff"]),
        _layer("prior", "PriorBox", ["fn", "data"], ["prior"],
               "prior_box_param { min_size: 4 max_size: 8 aspect_ratio: 2 flip: false clip: true "
               "variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 }"),
        _layer("cat", "Concat", ["prior"], ["priors"], "concat_param { axis: 2 }"),
        _layer("det", "DetectionOutput", ["locf", "conff", "priors"], ["out"],
               "detection_output_param { num_classes: 3 share_location: true background_label_id: 0 "
               "nms_param { nms_threshold: 0.45 top_k: 10 } code_type: CENTER_SIZE keep_top_k: 5 "
               "confidence_threshold: 0.01 }"),
    ),
    # Pruned weights (85% zeros): sparse 3x3 (Winograd-sized), 1x1 and
    # fully connected layers.
    "pruned": _net(
        {"data": (1, 16, 16, 16)},
        _layer("wino", "Convolution", ["data"], ["w"], "convolution_param { num_output: 16 kernel_size: 3 pad: 1 }"),
        _layer("pw", "Convolution", ["w"], ["p"], "convolution_param { num_output: 8 kernel_size: 1 }"),
        _layer("relu", "ReLU", ["p"], ["p"]),
        _layer("pool", "Pooling", ["p"], ["q"], "pooling_param { pool: MAX kernel_size: 4 stride: 4 }"),
        _layer("fc", "InnerProduct", ["q"], ["fc"], "inner_product_param { num_output: 4 }"),
    ),
    # Less common forms: a transposed InnerProduct on axis 2, Reshape of a dim range, PriorBox with its
    # image size and step given (the caffemodel holds one blob as double_data, see _caffemodel).
    "extras": _net(
        {"data": (2, 3, 4, 5)},
        _layer("fc", "InnerProduct", ["data"], ["fc"], "inner_product_param { num_output: 3 axis: 2 transpose: true }"),
        _layer("resh", "Reshape", ["fc"], ["r"], "reshape_param { shape { dim: -1 } axis: 1 num_axes: 2 }"),
        _layer("prior", "PriorBox", ["data", "data"], ["pb"],
               "prior_box_param { min_size: 2 aspect_ratio: 3 img_h: 16 img_w: 20 step_h: 4 step_w: 4 offset: 0.25 "
               "variance: 0.1 }"),
    ),
    # Caffe's LSTM (with clip markers and a static input) and Embed.
    "lstm": _net(
        {"x": (3, 2, 4), "cont": (3, 2), "xs": (2, 5), "words": (2, 3)},
        _layer("lstm", "LSTM", ["x", "cont", "xs"], ["h"], "recurrent_param { num_output: 3 }"),
        _layer("embed", "Embed", ["words"], ["e"], "embed_param { num_output: 4 input_dim: 6 bias_term: true }"),
    ),
}

# The legacy V1 form (`layers`, enum types, input_dim).
V1_NET = """name: "v1"
input: "data"
input_dim: 1 input_dim: 2 input_dim: 6 input_dim: 6
layers { name: "conv" type: CONVOLUTION bottom: "data" top: "c" convolution_param { num_output: 3 kernel_size: 3 } }
layers { name: "relu" type: RELU bottom: "c" top: "c" }
layers { name: "pool" type: POOLING bottom: "c" top: "p" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "fc" type: INNER_PRODUCT bottom: "p" top: "fc" inner_product_param { num_output: 2 } }
layers { name: "prob" type: SOFTMAX bottom: "fc" top: "prob" }
"""


def caffe_seed(text: str, caffemodel: bytes) -> bytes:
    raw = text.encode()
    return struct.pack("<I", len(raw)) + raw + caffemodel


def _caffemodel(text: str, tmp: Path, v1: bool = False, prune: bool = False) -> bytes:
    """Seeded random weights for the net; the "extras" net (with a transposed InnerProduct) stores its first
    blob as double_data."""
    path = tmp / "net.prototxt"
    path.write_text(text)
    weights = caffe_tools.random_weights(path, seed=1)
    rng = np.random.default_rng(3)
    for blobs in weights.values() if prune else ():
        blobs[0][rng.random(blobs[0].shape) < 0.85] = 0
    caffe_tools.write_caffemodel(path, weights, tmp / "net.caffemodel", v1=v1)
    data = (tmp / "net.caffemodel").read_bytes()
    if "transpose" not in text:
        return data
    net = caffe_tools.caffe_pb2().NetParameter.FromString(data)
    blob = next(b for l in net.layer for b in l.blobs)
    blob.double_data.extend(blob.data)
    blob.ClearField("data")
    return net.SerializeToString()


def _coded_fc_graphs(rng: np.random.Generator):
    """One InnerProduct per weight form: float32, float16, codebooks (Huffman-coded when skewed), int8 with
    one or per-row scales, each dense and sparse."""
    shape = (6, 40)
    numel = shape[0] * shape[1]
    for pos in (None, np.sort(rng.choice(numel, numel // 7, replace=False))):
        nnz = numel if pos is None else len(pos)
        forms = [CodedWeight(shape, pos, values=rng.standard_normal(nnz).astype(np.float32)),
                 CodedWeight(shape, pos, values=rng.standard_normal(nnz).astype(np.float16), half=True),
                 CodedWeight(shape, pos, scale=np.float32([0.01]), int8=rng.integers(-128, 128, nnz)),
                 CodedWeight(shape, pos, scale=rng.random(6).astype(np.float32), int8=rng.integers(-128, 128, nnz))]
        for k, half in ((2, False), (16, True), (300, False)):
            p = 0.6 ** np.arange(k)
            forms.append(CodedWeight(shape, pos, centroids=rng.standard_normal(k).astype(np.float32),
                                     indices=rng.choice(k, nnz, p=p / p.sum()), half=half))
        for w in forms:
            yield Graph(tensors=["x", "y"], inputs=[(0, (2, 40))], outputs=[1],
                        nodes=[Node("fc", "InnerProduct", [0], [1], {"num_output": [6], "activation": [0.0, -1.0, 6.0]},
                                    [w, rng.standard_normal(6).astype(np.float32)])])


def _onnx_style_graphs(rng: np.random.Generator):
    """Operators only converters write: Binary (with two inputs and with a constant), Resize, LSTM with
    every optional input (bidirectional)."""
    g = Graph(tensors=["a", "b", "s", "c", "r", "r2"], inputs=[(0, (1, 2, 3, 4)), (1, (2, 1, 4))], outputs=[4, 5])
    g.nodes = [Node("add", "Binary", [0, 1], [2], {"operation": [0]}),
               Node("pow", "Binary", [2], [3], {"operation": [7], "const_first": [0]},
                    [rng.random((1, 4)).astype(np.float32)]),
               Node("up", "Resize", [3], [4], {"mode": [1], "coord": [0], "scale": [2.0, 1.5]}),
               Node("near", "Resize", [3], [5], {"mode": [0], "coord": [2], "nearest": [1], "size": [5, 7]})]
    yield g
    t, n, i, h, d = 3, 2, 4, 3, 2
    names = ["x", "seq_lens", "initial_h", "initial_c", "y", "y_h", "y_c"]
    g = Graph(tensors=names, inputs=[(0, (t, n, i)), (1, (n,)), (2, (d, n, h)), (3, (d, n, h))], outputs=[4, 5, 6])
    w = [rng.standard_normal(s).astype(np.float32) for s in ((d, 4 * h, i), (d, 4 * h, h), (d, 4 * h))]
    g.nodes = [Node("lstm", "LSTM", [0, 1, 2, 3], [4, 5, 6],
                    {"hidden_size": [h], "direction": [2], "has_seq_lens": [1], "has_initial": [1], "clip": [3.0]}, w)]
    yield g


def write_dict(path: Path) -> None:
    """A libFuzzer dictionary for the prototxt parser: every field name of the compiled schema, the layer
    types the reader knows, enum values and the syntax."""
    import re

    schema = (ROOT / "csrc" / "readers" / "caffe_schema.h").read_text()
    words = sorted(set(re.findall(r'^  "([a-z][a-z0-9_]*)\\0"', schema, re.M)))
    reader = (ROOT / "csrc" / "readers" / "caffe.c").read_text()
    words += sorted(set(re.findall(r'"([A-Z][A-Za-z0-9_]+)"', reader)))
    words += ["{", "}", ":", '"', "#", "true", "false", "inf", "-inf", "nan", "1e40", "-1", "0x7fffffff"]
    path.write_text("".join(f'"{w}"\n' if w != '"' else '"\\""\n' for w in words))


def write_seeds(out: Path = SEEDS) -> None:
    import tempfile

    (out / "caffe").mkdir(parents=True, exist_ok=True)
    (out / "xnn").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = {}
        for name, text in CAFFE_NETS.items():
            models[name] = (text, _caffemodel(text, tmp, prune=name == "pruned"))
        models["v1"] = (V1_NET, _caffemodel(V1_NET, tmp, v1=True))
        mtcnn = ROOT / "python" / "xnn" / "models" / "mtcnn"
        models["mtcnn_det1"] = ((mtcnn / "det1.prototxt").read_text(), (mtcnn / "det1.caffemodel").read_bytes())
        for name, (text, weights) in models.items():
            (out / "caffe" / f"{name}.bin").write_bytes(caffe_seed(text, weights))
            path = tmp / f"{name}.prototxt"
            path.write_text(text)
            (tmp / f"{name}.caffemodel").write_bytes(weights)
            graph = Graph.from_caffe(path, tmp / f"{name}.caffemodel")
            (out / "xnn" / f"{name}.bin").write_bytes(encode(graph, producer="seed")[24:])
        # Prototxts alone (an empty caffemodel): the text parser on the shared models' files.
        for name in ("lenet_mnist", "bvlc_alexnet", "lrcn_caption_lm", "mtcnn_det3"):
            text = (ROOT / "tests" / "data" / "caffe" / name / "deploy.prototxt").read_text()
            (out / "caffe" / f"text_{name}.bin").write_bytes(caffe_seed(text, b""))
    rng = np.random.default_rng(11)
    for i, g in enumerate(_coded_fc_graphs(rng)):
        (out / "xnn" / f"coded_{i:02d}.bin").write_bytes(encode(g, producer="seed")[24:])
    for i, g in enumerate(_onnx_style_graphs(rng)):
        (out / "xnn" / f"onnx_{i}.bin").write_bytes(encode(g, producer="seed")[24:])
    (out / "xnn" / "golden.bin").write_bytes((ROOT / "tests" / "data" / "xnn" / "golden.xnn").read_bytes()[24:])


if __name__ == "__main__":
    write_seeds()
    write_dict(SEEDS.parent / "caffe.dict")
    for d in sorted(SEEDS.iterdir()):
        print(d.name, len(list(d.iterdir())), "files", sum(f.stat().st_size for f in d.iterdir()), "bytes")

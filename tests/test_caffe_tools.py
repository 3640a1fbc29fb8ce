"""Tests of tests/caffe_tools.py, the Caffe reference helpers (protobuf, shapes, random models,
OpenCV and ONNX references)."""
from pathlib import Path

import numpy as np
import pytest

import caffe_tools as ct

MTCNN_DIR = Path(__file__).resolve().parent.parent / "python" / "xnn" / "models" / "mtcnn"


def _net(text):
    from google.protobuf import text_format

    return text_format.Parse(text, ct.caffe_pb2().NetParameter())


def _batch1(prototxt):
    return ct.net_input_shapes(prototxt, batch=1)


# ------------------------------------------------------------------------------------ protobuf

def test_caffe_pb2_is_compiled_once():
    pb = ct.caffe_pb2()
    assert ct.caffe_pb2() is pb
    fields = pb.NetParameter.DESCRIPTOR.fields_by_name
    assert fields["layer"].number == 100 and fields["layers"].number == 2
    assert "prelu_param" in pb.LayerParameter.DESCRIPTOR.fields_by_name      # SSD-fork superset
    assert "detection_output_param" in pb.LayerParameter.DESCRIPTOR.fields_by_name


@pytest.mark.parametrize("name", ct.CAFFE_MODELS)
def test_load_prototxt(name):
    net = ct.load_prototxt(ct.model_prototxt(name))
    assert len(net.layer) > 3 and not len(net.layers)


# ------------------------------------------------------------------------------ shape inference

def test_shapes_conv_pool_rules():
    net = _net('''
        input: "data" input_dim: 2 input_dim: 8 input_dim: 17 input_dim: 20
        layer { name: "c1" type: "Convolution" bottom: "data" top: "c1"
                convolution_param { num_output: 12 kernel_h: 3 kernel_w: 5 pad_h: 1 pad_w: 0
                                    stride_h: 2 stride_w: 3 group: 4 } }
        layer { name: "c2" type: "Convolution" bottom: "c1" top: "c2"
                convolution_param { num_output: 6 kernel_size: 3 dilation: 2 pad: 2 bias_term: false } }
        layer { name: "p1" type: "Pooling" bottom: "c2" top: "p1"
                pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
        layer { name: "p2" type: "Pooling" bottom: "c2" top: "p2"
                pooling_param { pool: AVE kernel_size: 2 stride: 2 pad: 1 } }
        layer { name: "g" type: "Pooling" bottom: "c2" top: "g" pooling_param { pool: AVE global_pooling: true } }
    ''')
    out = ct.infer_output_shapes(net)
    params = ct.infer_blob_shapes(net)
    # (17 + 2 - 3) // 2 + 1 = 9, (20 - 5) // 3 + 1 = 6
    assert out["c1"] == [[2, 12, 9, 6]]
    assert params["c1"] == [[12, 2, 3, 5], [12]]
    # dilated 3x3 -> extent 5, pad 2 keeps the size
    assert out["c2"] == [[2, 6, 9, 6]] and params["c2"] == [[6, 12, 3, 3]]
    # ceil: ceil((9 - 3) / 2) + 1 = 4, ceil((6 - 3) / 2) + 1 = 3
    assert out["p1"] == [[2, 6, 4, 3]]
    # H: ceil((9 + 2 - 2) / 2) + 1 = 6, but (6 - 1) * 2 >= 9 + 1 starts in the pad -> 5
    # W: ceil((6 + 2 - 2) / 2) + 1 = 4, (4 - 1) * 2 < 6 + 1 -> 4
    assert out["p2"] == [[2, 6, 5, 4]]
    assert out["g"] == [[2, 6, 1, 1]] and params["p1"] == params["g"] == []


def test_shapes_other_layers_and_inplace():
    net = _net('''
        layer { name: "in" type: "Input" top: "x" top: "y"
                input_param { shape { dim: 1 dim: 4 dim: 6 dim: 6 } shape { dim: 1 dim: 4 } } }
        layer { name: "bn" type: "BatchNorm" bottom: "x" top: "x" }
        layer { name: "sc" type: "Scale" bottom: "x" top: "x" scale_param { bias_term: true } }
        layer { name: "sc2" type: "Scale" bottom: "x" top: "s2" scale_param { axis: 1 num_axes: 2 } }
        layer { name: "sc3" type: "Scale" bottom: "x" bottom: "y" top: "s3" scale_param { bias_term: true } }
        layer { name: "bi" type: "Bias" bottom: "x" top: "b" }
        layer { name: "pr" type: "PReLU" bottom: "x" top: "x" }
        layer { name: "prs" type: "PReLU" bottom: "x" top: "prs" prelu_param { channel_shared: true } }
        layer { name: "sl" type: "Slice" bottom: "x" top: "a" top: "b2" top: "c"
                slice_param { axis: 1 slice_point: 1 slice_point: 3 } }
        layer { name: "sl2" type: "Slice" bottom: "x" top: "h1" top: "h2" slice_param { slice_dim: 2 } }
        layer { name: "cat" type: "Concat" bottom: "a" bottom: "c" bottom: "x" top: "cat" }
        layer { name: "cat2" type: "Concat" bottom: "h1" bottom: "h2" top: "cat2" concat_param { concat_dim: 2 } }
        layer { name: "el" type: "Eltwise" bottom: "x" bottom: "b" top: "el" }
        layer { name: "sp" type: "Split" bottom: "el" top: "e1" top: "e2" }
        layer { name: "fl" type: "Flatten" bottom: "e1" top: "fl" flatten_param { axis: 2 } }
        layer { name: "rs" type: "Reshape" bottom: "e2" top: "rs" reshape_param { shape { dim: 0 dim: -1 dim: 3 } } }
        layer { name: "rs2" type: "Reshape" bottom: "e2" top: "rs2"
                reshape_param { axis: 2 shape { dim: 36 } } }
        layer { name: "ip" type: "InnerProduct" bottom: "fl" top: "ip" inner_product_param { num_output: 5 } }
        layer { name: "ip2" type: "InnerProduct" bottom: "fl" top: "ip2"
                inner_product_param { num_output: 7 axis: 2 transpose: true bias_term: false } }
        layer { name: "relu" type: "ReLU" bottom: "ip" top: "ip" }
        layer { name: "sm" type: "Softmax" bottom: "ip" top: "prob" }
        layer { name: "lrn" type: "LRN" bottom: "x" top: "lrn" }
        layer { name: "tanh" type: "TanH" bottom: "lrn" top: "lrn" }
        layer { name: "sig" type: "Sigmoid" bottom: "lrn" top: "sig" }
        layer { name: "drop" type: "Dropout" bottom: "sig" top: "sig" }
    ''')
    out = ct.infer_output_shapes(net)
    p = ct.infer_blob_shapes(net)
    assert out["in"] == [[1, 4, 6, 6], [1, 4]]
    assert p["bn"] == [[4], [4], [1]] and p["sc"] == [[4], [4]] and p["sc2"] == [[4, 6]]
    assert p["sc3"] == [[1, 4]] and out["sc3"] == [[1, 4, 6, 6]]
    assert p["bi"] == [[4]] and p["pr"] == [[4]] and p["prs"] == [[1]]
    assert out["sl"] == [[1, 1, 6, 6], [1, 2, 6, 6], [1, 1, 6, 6]]
    assert out["sl2"] == [[1, 4, 3, 6]] * 2 and out["cat2"] == [[1, 4, 6, 6]]
    assert out["cat"] == [[1, 6, 6, 6]]
    assert out["sp"] == [[1, 4, 6, 6]] * 2
    assert out["fl"] == [[1, 4, 36]]
    assert out["rs"] == [[1, 48, 3]] and out["rs2"] == [[1, 4, 36]]
    assert out["ip"] == [[1, 5]] and p["ip"] == [[5, 144], [5]]
    assert out["ip2"] == [[1, 4, 7]] and p["ip2"] == [[36, 7]]
    assert out["sm"] == [[1, 5]] and out["drop"] == [[1, 4, 6, 6]]
    info = ct.analyze_net(net)
    assert info.outputs["prob"] == "sm" and info.outputs["sig"] == "drop"
    assert "x" not in info.outputs


def test_shapes_v1_layers_and_input_shape():
    net = _net('''
        input: "data" input_shape { dim: 10 dim: 1 dim: 28 dim: 28 }
        layers { name: "conv" type: CONVOLUTION bottom: "data" top: "conv"
                 convolution_param { num_output: 20 kernel_size: 5 } }
        layers { name: "pool" type: POOLING bottom: "conv" top: "pool"
                 pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
        layers { name: "ip" type: INNER_PRODUCT bottom: "pool" top: "ip" inner_product_param { num_output: 10 } }
        layers { name: "prob" type: SOFTMAX bottom: "ip" top: "prob" }
    ''')
    assert ct.infer_blob_shapes(net) == {"conv": [[20, 1, 5, 5], [20]], "pool": [],
                                         "ip": [[10, 2880], [10]], "prob": []}
    out = ct.infer_output_shapes(net, {"data": [1, 1, 28, 28]})
    assert out["prob"] == [[1, 10]] and out["pool"] == [[1, 20, 12, 12]]


@pytest.mark.parametrize("v1_out", [False, True])
def test_v1_prototxt_random_model(tmp_path, v1_out):
    prototxt = tmp_path / "v1.prototxt"
    prototxt.write_text('''
        name: "v1net" input: "data" input_dim: 1 input_dim: 3 input_dim: 10 input_dim: 10
        layers { name: "conv" type: CONVOLUTION bottom: "data" top: "conv"
                 convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
        layers { name: "relu" type: RELU bottom: "conv" top: "conv" }
        layers { name: "pool" type: POOLING bottom: "conv" top: "pool"
                 pooling_param { pool: AVE kernel_size: 3 stride: 2 } }
        layers { name: "ip" type: INNER_PRODUCT bottom: "pool" top: "ip" inner_product_param { num_output: 3 } }
    ''')
    caffemodel = tmp_path / "v1.caffemodel"
    weights = ct.random_caffemodel(prototxt, caffemodel, v1=v1_out)
    model = ct.load_caffemodel(caffemodel)
    assert (len(model.layers) > 0) == v1_out and (len(model.layer) > 0) != v1_out
    x = ct.random_inputs({"data": [1, 3, 10, 10]})
    got = ct.opencv_forward(prototxt, caffemodel, x)
    ref = ct.numpy_forward(prototxt, weights, x)
    assert got["ip"].shape == (1, 3)
    np.testing.assert_allclose(got["ip"], ref["ip"], rtol=1e-5, atol=1e-5)


def test_shapes_skip_train_only_layers():
    net = _net('''
        input: "data" input_dim: 1 input_dim: 3 input_dim: 4 input_dim: 4
        layer { name: "r" type: "ReLU" bottom: "data" top: "r" }
        layer { name: "loss" type: "SoftmaxWithLoss" bottom: "r" bottom: "label" top: "loss"
                include { phase: TRAIN } }
    ''')
    assert list(ct.infer_blob_shapes(net)) == ["r"]


def test_shapes_unsupported_layer_is_an_error():
    net = _net('''
        input: "data" input_dim: 1 input_dim: 3 input_dim: 4 input_dim: 4
        layer { name: "dc" type: "Deconvolution" bottom: "data" top: "dc" }
    ''')
    with pytest.raises(ct.UnsupportedLayerError, match="'dc'.*Deconvolution"):
        ct.infer_blob_shapes(net)


def test_shapes_known_parameter_counts():
    counts = {name: sum(int(np.prod(s)) for blobs in ct.infer_blob_shapes(ct.model_prototxt(name)).values()
                        for s in blobs) for name in ("bvlc_alexnet", "bvlc_googlenet", "squeezenet_v1.0")}
    assert counts == {"bvlc_alexnet": 60965224, "bvlc_googlenet": 6998552, "squeezenet_v1.0": 1248424}


@pytest.mark.parametrize("det", [1, 2, 3])
def test_real_mtcnn_caffemodels(det):
    """The shipped MTCNN weights are V2 (`layer`, field 100, blobs with `shape`) and match the
    shapes predicted for both their own prototxt and tests/data's copy."""
    prototxt = MTCNN_DIR / f"det{det}.prototxt"
    caffemodel = MTCNN_DIR / f"det{det}.caffemodel"
    assert caffemodel.is_file(), f"{caffemodel} is missing from the package"
    model = ct.load_caffemodel(caffemodel)
    assert len(model.layer) > 0 and len(model.layers) == 0
    expected = ct.infer_blob_shapes(prototxt)
    assert expected == ct.infer_blob_shapes(ct.model_prototxt(f"mtcnn_det{det}"))
    blobs = {l.name: [list(b.shape.dim) for b in l.blobs] for l in model.layer if len(l.blobs)}
    for layer, shapes in expected.items():
        assert blobs.get(layer, []) == shapes, layer
    # det2.caffemodel also holds "conv5-3" (landmarks), which det2.prototxt does not use
    assert set(blobs) - set(expected) <= {"conv5-3"}


# ----------------------------------------------------------------------- random models + OpenCV

@pytest.mark.parametrize("name", ct.CAFFE_MODELS)
def test_random_model_runs_in_opencv(name, random_caffe_model):
    prototxt, caffemodel = random_caffe_model(name)
    shapes = _batch1(prototxt)
    info = ct.analyze_net(prototxt, shapes)
    expected_params = {l.name: l.param_shapes for l in info.layers if l.param_shapes}

    model = ct.load_caffemodel(caffemodel)
    assert len(model.layers) == 0
    written = {l.name: [list(b.shape.dim) for b in l.blobs] for l in model.layer if len(l.blobs)}
    assert written == expected_params
    for l in model.layer:
        for b in l.blobs:
            assert len(b.data) == int(np.prod(b.shape.dim))
        if l.type == "BatchNorm":       # random, not identity statistics
            mean, var, sf = (np.asarray(b.data) for b in l.blobs)
            assert np.abs(mean).max() > 0 and np.ptp(var) > 0 and sf.shape == (1,) and sf[0] > 0

    outs = ct.opencv_forward(prototxt, caffemodel, ct.random_inputs(shapes, seed=1))
    assert set(outs) == set(info.outputs.values())
    out_shapes = ct.infer_output_shapes(prototxt, shapes)
    for layer, y in outs.items():
        assert list(y.shape) == out_shapes[layer][0], layer
        assert np.isfinite(y).all(), layer
        assert np.abs(y).max() > 0, layer


def test_random_caffemodel_is_deterministic(tmp_path):
    prototxt = ct.model_prototxt("mobilenet_v1")
    shapes = _batch1(prototxt)
    w1 = ct.random_caffemodel(prototxt, tmp_path / "a.caffemodel", seed=3, input_shapes=shapes)
    ct.random_caffemodel(prototxt, tmp_path / "b.caffemodel", seed=3, input_shapes=shapes)
    w3 = ct.random_caffemodel(prototxt, tmp_path / "c.caffemodel", seed=4, input_shapes=shapes)
    assert (tmp_path / "a.caffemodel").read_bytes() == (tmp_path / "b.caffemodel").read_bytes()
    assert not np.array_equal(w1["conv1"][0], w3["conv1"][0])
    back = ct.caffemodel_weights(tmp_path / "a.caffemodel", prototxt, shapes)
    assert back.keys() == w1.keys()
    assert all(np.array_equal(a, b) for k in w1 for a, b in zip(w1[k], back[k]))


def test_v1_lenet(random_caffe_model):
    prototxt, v1_model = random_caffe_model("lenet_mnist", v1=True)
    _, v2_model = random_caffe_model("lenet_mnist")
    model = ct.load_caffemodel(v1_model)
    assert len(model.layer) == 0 and len(model.layers) > 0
    pb = ct.caffe_pb2()
    conv1 = next(l for l in model.layers if l.name == "conv1")
    assert conv1.type == pb.V1LayerParameter.CONVOLUTION
    w, b = conv1.blobs
    assert not w.HasField("shape") and (w.num, w.channels, w.height, w.width) == (20, 1, 5, 5)
    assert (b.num, b.channels, b.height, b.width) == (1, 1, 1, 20)
    ip1 = next(l for l in model.layers if l.name == "ip1")
    assert (ip1.blobs[0].height, ip1.blobs[0].width) == (500, 800)

    shapes = _batch1(prototxt)
    x = ct.random_inputs(shapes, seed=1)
    out_v1 = ct.opencv_forward(prototxt, v1_model, x)
    out_v2 = ct.opencv_forward(prototxt, v2_model, x)
    assert list(out_v1) == ["prob"] and out_v1["prob"].shape == (1, 10)
    assert np.isfinite(out_v1["prob"]).all()
    np.testing.assert_array_equal(out_v1["prob"], out_v2["prob"])   # same seed, same weights


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "bvlc_googlenet"])
def test_random_weights_keep_activations_order_one(name, random_caffe_model):
    prototxt, caffemodel = random_caffe_model(name)
    net = ct.opencv_net(prototxt, caffemodel)
    net.enableFusion(False)
    for k, v in ct.random_inputs(_batch1(prototxt), seed=1).items():
        net.setInput(v, k)
    names = list(net.getLayerNames())
    rms = {n: float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) for n, y in zip(names, net.forward(names))}
    assert max(rms.values()) < 30, max(rms.items(), key=lambda kv: kv[1])
    prob = net.forward("prob")
    assert prob.max() < 0.9, "softmax saturated: logits are not O(1)"


@pytest.mark.parametrize("name", ["cifar10_quick", "mtcnn_det2", "squeezenet_v1.1", "mobilenet_v1"])
def test_numpy_forward_matches_opencv(name, random_caffe_model):
    prototxt, caffemodel = random_caffe_model(name)
    shapes = _batch1(prototxt)
    x = ct.random_inputs(shapes, seed=1)
    info = ct.analyze_net(prototxt, shapes)
    ref = ct.numpy_forward(prototxt, ct.caffemodel_weights(caffemodel, prototxt, shapes), x)
    layers = [l.name for l in info.layers if l.type != "Input"]
    got = ct.opencv_forward(prototxt, caffemodel, x, layers)
    for name_ in layers:
        r = ref[name_]
        assert got[name_].size == r.size, name_
        err = np.abs(got[name_].reshape(r.shape) - r).max() / max(np.abs(r).max(), 1e-12)
        assert err < 1e-4, (name_, err)


def test_opencv_forward_of_folded_batchnorm(random_caffe_model):
    """OpenCV folds BatchNorm/Scale into the convolution; fetching only the in-place BN layer
    then returns garbage unless fusion is off (opencv_forward turns it off automatically)."""
    prototxt, caffemodel = random_caffe_model("resnet50")
    shapes = _batch1(prototxt)
    x = ct.random_inputs(shapes, seed=1)
    got = ct.opencv_forward(prototxt, caffemodel, x, ["bn_conv1"])["bn_conv1"]
    info = ct.analyze_net(prototxt, shapes)
    weights = ct.caffemodel_weights(caffemodel, prototxt, shapes)
    conv1, bn_conv1 = info.layer("conv1"), info.layer("bn_conv1")
    assert (conv1.name, bn_conv1.name, bn_conv1.tops) == ("conv1", "bn_conv1", ["conv1"])
    y = ct._np_layer(conv1, weights["conv1"], [x["data"]], np.float64)[0]
    y = ct._np_layer(bn_conv1, weights["bn_conv1"], [y], np.float64)[0]
    np.testing.assert_allclose(got, y, rtol=0, atol=1e-4 * np.abs(y).max())


# --------------------------------------------------------------------------------------- ONNX

@pytest.mark.parametrize("name", ["squeezenet_v1.1", "mobilenet_v1", "cifar10_quick", "mtcnn_det3",
                                  "bvlc_googlenet", "resnet50", "mobilenet_v2"])
def test_caffe_to_onnx_matches_opencv(name, random_caffe_model, tmp_path):
    import onnxruntime as ort
    prototxt, caffemodel = random_caffe_model(name)
    shapes = _batch1(prototxt)
    (input_name, input_shape), = shapes.items()
    onnx_path = tmp_path / f"{name}.onnx"
    model = ct.caffe_to_onnx(prototxt, caffemodel, onnx_path, input_shape)
    assert model.opset_import[0].version >= 13
    info = ct.analyze_net(prototxt, shapes)
    assert [o.name for o in model.graph.output] == list(info.outputs)
    x = ct.random_inputs(shapes, seed=1)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, x)))
    ref = ct.opencv_forward(prototxt, caffemodel, x, list(info.outputs.values()))
    for blob, layer in info.outputs.items():
        r = ref[layer]
        assert got[blob].shape == r.shape
        err = np.abs(got[blob] - r).max() / np.abs(r).max()
        assert err < 1e-4, (blob, err)


def test_caffe_to_onnx_accepts_weights_dict(tmp_path):
    import onnxruntime as ort
    prototxt = ct.model_prototxt("mtcnn_det1")
    shapes = {"data": [1, 3, 31, 40]}      # PNet is fully convolutional
    weights = ct.random_caffemodel(prototxt, tmp_path / "p.caffemodel", input_shapes=shapes)
    ct.caffe_to_onnx(prototxt, weights, tmp_path / "p.onnx", shapes["data"])
    x = ct.random_inputs(shapes, seed=2)
    sess = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, x)))
    ref = ct.opencv_forward(prototxt, tmp_path / "p.caffemodel", x)
    assert set(got) == set(ref) == {"conv4-2", "prob1"}
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=1e-4 * np.abs(ref[k]).max())

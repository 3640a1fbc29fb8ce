"""Every shared Caffe model runs in xnn and matches OpenCV DNN (an independent Caffe implementation).

Random-weight caffemodels (seeded, BatchNorm statistics random) come from the ``random_caffe_model``
fixture; the three MTCNN stages run with their real published weights. Tolerance: 1e-4 of each
output's largest magnitude.
"""

from pathlib import Path

import numpy as np
import pytest

import caffe_tools
import xnn

MODELS = [
    "lenet_mnist", "cifar10_quick", "mtcnn_det1", "mtcnn_det2", "mtcnn_det3", "squeezenet_v1.0",
    "squeezenet_v1.1", "mobilenet_v1", "mobilenet_v2", "bvlc_alexnet", "bvlc_googlenet", "resnet50",
]
MTCNN = Path(xnn.__file__).resolve().parent / "models" / "mtcnn"
RTOL = 1e-4


def assert_close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = float(np.abs(want).max())
    err = float(np.abs(got - want).max())
    assert np.isfinite(got).all(), f"{what}: non-finite output"
    assert err <= RTOL * max(scale, 1e-6), f"{what}: max error {err:.3g} vs max |ref| {scale:.3g}"


def compare(prototxt: Path, caffemodel: Path, inputs: dict, num_threads=None) -> dict:
    model = xnn.Model.load(prototxt, caffemodel, num_threads=num_threads)
    info = caffe_tools.analyze_net(prototxt, {k: v.shape for k, v in inputs.items()})
    # OpenCV names outputs by layer, xnn by blob.
    layers = [info.outputs[o.name] for o in model.outputs]
    ref = caffe_tools.opencv_forward(prototxt, caffemodel, inputs, layers)
    got = model.run(inputs)
    for o, layer in zip(model.outputs, layers):
        assert_close(got[o.name], ref[layer], f"{prototxt.parent.name}:{o.name}")
    return got


@pytest.mark.parametrize("name", MODELS)
def test_model_matches_opencv(name, random_caffe_model):
    prototxt, caffemodel = random_caffe_model(name)
    shapes = caffe_tools.net_input_shapes(prototxt, batch=1)
    inputs = caffe_tools.random_inputs(shapes, seed=1)
    got = compare(prototxt, caffemodel, inputs)
    # Random weights must still give a non-trivial output, or the comparison proves little.
    assert all(float(np.std(v)) > 0 for v in got.values())


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_mtcnn_real_weights(stage):
    prototxt, caffemodel = MTCNN / f"det{stage}.prototxt", MTCNN / f"det{stage}.caffemodel"
    size = {1: 12, 2: 24, 3: 48}[stage]
    rng = np.random.default_rng(stage)
    x = ((rng.integers(0, 256, (4, 3, size, size)) - 127.5) * 0.0078125).astype(np.float32)
    compare(prototxt, caffemodel, {"data": x})


def test_pnet_is_fully_convolutional():
    """P-Net runs on any image size: each new size is planned once and cached."""
    prototxt, caffemodel = MTCNN / "det1.prototxt", MTCNN / "det1.caffemodel"
    rng = np.random.default_rng(7)
    for h, w in [(12, 12), (31, 57), (100, 77), (31, 57)]:
        x = rng.standard_normal((1, 3, h, w)).astype(np.float32)
        got = compare(prototxt, caffemodel, {"data": x})
        # conv 3x3, max-pool 2x2/2 with Caffe's ceil rounding, conv 3x3, conv 3x3
        assert got["prob1"].shape == (1, 2, -(-(h - 4) // 2) - 3, -(-(w - 4) // 2) - 3)


def test_declared_batch_replanned(random_caffe_model):
    """AlexNet declares batch 10; feeding 1 and 3 images re-plans and matches OpenCV."""
    prototxt, caffemodel = random_caffe_model("bvlc_alexnet")
    model = xnn.Model.load(prototxt, caffemodel)
    assert model.inputs[0].shape == (10, 3, 227, 227)
    rng = np.random.default_rng(3)
    x3 = rng.standard_normal((3, 3, 227, 227)).astype(np.float32)
    ref = caffe_tools.opencv_forward(prototxt, caffemodel, {"data": x3}, ["prob"])["prob"]
    assert_close(model.predict(x3), ref, "alexnet batch 3")
    assert_close(model.predict(x3[1]), ref[1:2], "alexnet one image, no batch axis")


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_agree(threads, random_caffe_model):
    prototxt, caffemodel = random_caffe_model("squeezenet_v1.1")
    shapes = caffe_tools.net_input_shapes(prototxt, batch=2)
    inputs = caffe_tools.random_inputs(shapes, seed=5)
    compare(prototxt, caffemodel, inputs, num_threads=threads)


def test_v1_caffemodel(random_caffe_model):
    """A caffemodel written with the legacy V1 `layers` field loads the same weights."""
    prototxt, v2 = random_caffe_model("lenet_mnist")
    _, v1 = random_caffe_model("lenet_mnist", v1=True)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    a = xnn.Model.load(prototxt, v2).predict(x)
    b = xnn.Model.load(prototxt, v1).predict(x)
    np.testing.assert_array_equal(a, b)


def test_memory_arena_reuses_buffers(random_caffe_model):
    """The liveness plan keeps far less than the sum of all activations."""
    prototxt, caffemodel = random_caffe_model("resnet50")
    model = xnn.Model.load(prototxt, caffemodel)
    total = sum(int(np.prod(l.shape)) * 4 for l in model.layer_shapes())
    assert model.arena_bytes() < total / 4


def test_huge_pages_off_same_output(random_caffe_model, tmp_path):
    """Where the OS offers huge pages, the packed weights are gathered into one block on them at load;
    XNN_HUGE_PAGES=0 keeps each layer's own allocation. The outputs are the same to the bit."""
    import os
    import subprocess
    import sys

    prototxt, caffemodel = random_caffe_model("resnet50")
    x = np.random.default_rng(3).standard_normal((1, 3, 224, 224)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    child = ("import sys, numpy as np, xnn\n"
             "m = xnn.Model.load(sys.argv[1], sys.argv[2])\n"
             "np.save(sys.argv[4], m.predict(np.load(sys.argv[3])))\n")
    package_root = str(Path(xnn.__file__).resolve().parents[1])
    env = dict(os.environ, XNN_HUGE_PAGES="0",
               PYTHONPATH=os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, "-c", child, str(prototxt), str(caffemodel), str(tmp_path / "x.npy"),
                    str(tmp_path / "y.npy")], env=env, check=True, timeout=300)
    np.testing.assert_array_equal(xnn.Model.load(prototxt, caffemodel).predict(x), np.load(tmp_path / "y.npy"))

"""AArch64: the library, its NEON assembly and the C tests cross-built with Debian's aarch64 GCC and run
under qemu-aarch64 (kernel tester on every kernel set, C API against OpenCV's reference outputs, fuzzed
loading), then xnn-bench once. With CI=true a missing cross compiler or qemu is a failure."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "tests" / ".cache" / "aarch64"
TOOLS = ["aarch64-linux-gnu-gcc", "aarch64-linux-gnu-g++", "qemu-aarch64"]
MTCNN = ROOT / "python" / "xnn" / "models" / "mtcnn"


def _tool(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or "")


@pytest.fixture(scope="module")
def cross_build() -> Path:
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        message = f"missing {missing}: apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu " \
                  f"libc6-dev-arm64-cross qemu-user"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)  # only outside CI, on a machine without the cross tools
    cmake, ninja = _tool("cmake"), _tool("ninja")
    assert cmake and ninja, "cmake and ninja are needed (pip install '.[test]')"
    subprocess.run([cmake, "-S", str(ROOT), "-B", str(BUILD), "-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}",
                    f"-DCMAKE_TOOLCHAIN_FILE={ROOT / 'cmake' / 'aarch64-linux-gnu.cmake'}",
                    "-DCMAKE_BUILD_TYPE=Release", "-DXNN_BUILD_TESTS=ON"], check=True, capture_output=True)
    build = subprocess.run([cmake, "--build", str(BUILD), "-j2"], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    return BUILD


def test_ctest_under_qemu(cross_build: Path) -> None:
    ctest = Path(_tool("cmake")).with_name("ctest")
    run = subprocess.run([str(ctest), "--test-dir", str(cross_build), "--output-on-failure"], capture_output=True,
                         text=True, timeout=1200)
    print(run.stdout[-3000:])
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    assert "100% tests passed" in run.stdout and "kernels" in run.stdout


def test_kernel_sets_under_qemu(cross_build: Path) -> None:
    """The NEON set is the one chosen and the one tested (not only the portable fallback)."""
    run = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", str(cross_build / "tests" / "c" / "test_kernels")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kernel set neon: tested" in run.stdout


def test_bench_binary_under_qemu(cross_build: Path) -> None:
    run = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", str(cross_build / "xnn-bench"),
                          str(MTCNN / "det2.prototxt"), str(MTCNN / "det2.caffemodel"), "--runs", "3", "--profile"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "isa neon" in run.stdout and "latency over 3 runs" in run.stdout and "conv1" in run.stdout


# Every shared Caffe model (MobileNet-SSD in test_ssd_matches_x86, with weights made for comparing
# detections; the LRCN nets in test_lrcn_matches_x86, declared for a few frames or words).
MODELS = ["lenet_mnist", "cifar10_quick", "mtcnn_det1", "mtcnn_det2", "mtcnn_det3", "squeezenet_v1.0",
          "squeezenet_v1.1", "mobilenet_v1", "mobilenet_v2", "bvlc_googlenet", "resnet50", "bvlc_alexnet"]


@pytest.mark.parametrize("name", MODELS)
def test_model_matches_x86(name, cross_build: Path, random_caffe_model, tmp_path) -> None:
    """The AArch64 build (NEON kernels, under qemu) gives the x86 build's outputs within 1e-4."""
    import numpy as np

    import caffe_tools
    import xnn

    prototxt, caffemodel = random_caffe_model(name)
    shape = list(caffe_tools.net_input_shapes(prototxt, batch=1).values())[0]
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    want = xnn.Model.load(prototxt, caffemodel).predict(x)
    want = np.concatenate([v.ravel() for v in want.values()]) if isinstance(want, dict) else want.ravel()
    x.tofile(tmp_path / "in.f32")
    run = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", str(cross_build / "xnn-bench"),
                          str(prototxt), str(caffemodel), "--input-shape", ",".join(map(str, shape)),
                          "--input", str(tmp_path / "in.f32"), "--output", str(tmp_path / "out.f32"),
                          "--runs", "1", "--warmup", "0"], capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "isa neon" in run.stdout
    got = np.fromfile(tmp_path / "out.f32", dtype=np.float32)
    assert got.shape == want.shape
    err = float(np.abs(got - want).max())
    assert err <= 1e-4 * float(np.abs(want).max()), f"{name}: max error {err:.3g} vs max {np.abs(want).max():.3g}"


def test_stripped_library_size(cross_build: Path, tmp_path: Path) -> None:
    """The whole runtime for AArch64 (every operator and kernel) stays within 200 KB stripped."""
    strip = shutil.which("aarch64-linux-gnu-strip")
    assert strip, "aarch64-linux-gnu-strip comes with gcc-aarch64-linux-gnu"
    out = tmp_path / "libxnn.so"
    subprocess.run([strip, "-o", str(out), str(cross_build / "libxnn.so")], check=True)
    size = out.stat().st_size
    print(f"stripped AArch64 libxnn.so: {size} bytes")
    assert size <= 200_000, f"stripped AArch64 libxnn.so is {size} bytes, over the 200 KB budget"


def qemu_outputs(cross_build: Path, model: list, inputs: list, tmp_path: Path, *options: str):
    """Every output of xnn-bench under qemu (raw float32, in order) for the given input arrays."""
    import numpy as np

    args = []
    for k, x in enumerate(inputs):
        x.astype(np.float32).tofile(tmp_path / f"in{k}.f32")
        args += ["--input", str(tmp_path / f"in{k}.f32")]
    run = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", str(cross_build / "xnn-bench"),
                          *map(str, model), *args, "--output", str(tmp_path / "out.f32"), "--runs", "1",
                          "--warmup", "0", *options], capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0 and "isa neon" in run.stdout, run.stdout + run.stderr
    return np.fromfile(tmp_path / "out.f32", dtype=np.float32)


def test_lstm_matches_x86(cross_build: Path, tmp_path) -> None:
    """A bidirectional LSTM (the packed GEMM on the 8x12 assembly tile with its one-column tail, the cell
    kernel) under qemu gives the x86 build's Y, Y_h and Y_c within 1e-4."""
    import numpy as np

    import xnn
    from xnn.graph import Graph, Node

    rng = np.random.default_rng(12)
    t, n, i, h = 5, 3, 29, 37
    w = [(rng.standard_normal(s) * 0.3).astype(np.float32) for s in ((2, 4 * h, i), (2, 4 * h, h), (2, 4 * h))]
    g = Graph(tensors=["x", "y", "y_h", "y_c"], inputs=[(0, (t, n, i))], outputs=[1, 2, 3],
              nodes=[Node("lstm", "LSTM", [0], [1, 2, 3], {"hidden_size": [h], "direction": [2]}, w)])
    g.save(tmp_path / "lstm.xnn")
    x = rng.standard_normal((t, n, i)).astype(np.float32)
    want = xnn.Model.load(tmp_path / "lstm.xnn").run({"x": x})
    want = np.concatenate([want[k].ravel() for k in ("y", "y_h", "y_c")])
    got = qemu_outputs(cross_build, [tmp_path / "lstm.xnn"], [x], tmp_path, "--threads", "2")
    assert got.shape == want.shape and float(np.abs(want).max()) > 0.1
    assert float(np.abs(got - want).max()) <= 1e-4 * float(np.abs(want).max())


@pytest.mark.parametrize("name", ["lrcn_caption_lm", "lrcn_activity_lstm"])
def test_lrcn_matches_x86(name, cross_build: Path, random_caffe_model, tmp_path) -> None:
    """The shared LRCN nets (Caffe LSTMs with sequence markers, an Embed, a static input) under qemu give the
    x86 build's outputs within 1e-4: the caption net declared for 4 words x 2 sentences (it declares 1 x
    1000), the activity net for 2 x 1 clips (its Reshapes rewritten, as in test_lstm: the declared 160
    AlexNet frames would take minutes under qemu)."""
    import numpy as np

    import xnn
    from test_lstm import activity_prototxt, markers

    prototxt, caffemodel = random_caffe_model(name)
    rng = np.random.default_rng(13)
    if name == "lrcn_caption_lm":
        t, n = 4, 2
        text = prototxt.read_text().replace("dim: 1 dim: 1000", f"dim: {t} dim: {n}")
        text = text.replace("dim: 1000 dim: 1000", f"dim: {n} dim: 1000")
        feed = {"cont_sentence": markers(rng, t, n), "input_sentence": rng.integers(0, 8801, (t, n)).astype(np.float32),
                "image_features": rng.standard_normal((n, 1000)).astype(np.float32)}
    else:
        text = activity_prototxt(2, 1)
        feed = {"data": rng.standard_normal((2, 3, 227, 227)).astype(np.float32),
                "clip_markers": markers(rng, 2, 1).reshape(2, 1, 1, 1)}
    prototxt = tmp_path / "deploy.prototxt"
    prototxt.write_text(text)
    model = xnn.Model.load(prototxt, caffemodel)
    assert [i.shape for i in model.inputs] == [feed[i.name].shape for i in model.inputs]
    inputs = [feed[i.name] for i in model.inputs]
    want = model.run(feed)
    want = np.concatenate([want[o.name].ravel() for o in model.outputs])
    got = qemu_outputs(cross_build, [prototxt, caffemodel], inputs, tmp_path)
    # Softmax outputs over 8801 words / 101 classes: small, but far from uniform.
    assert got.shape == want.shape and float(np.ptp(want)) > 0.5 * float(np.abs(want).max())
    assert float(np.abs(got - want).max()) <= 1e-4 * float(np.abs(want).max())


def test_ssd_matches_x86(cross_build: Path, tmp_path) -> None:
    """MobileNet-SSD under qemu (its heads on the NEON kernels, PriorBox, DetectionOutput)
    detects the x86 build's boxes: same labels, scores and boxes within 1e-4."""
    import numpy as np

    import caffe_tools
    import xnn

    prototxt, caffemodel, _ = caffe_tools.mobilenet_ssd_model(tmp_path)
    x = caffe_tools.random_inputs({"data": [1, 3, 300, 300]}, seed=1)["data"]
    want = xnn.detection.detections(xnn.Model.load(prototxt, caffemodel).predict(x))
    assert len(want) >= 50, "random weights should detect many boxes"
    x.tofile(tmp_path / "in.f32")
    run = subprocess.run(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", str(cross_build / "xnn-bench"),
                          str(prototxt), str(caffemodel), "--input", str(tmp_path / "in.f32"), "--output",
                          str(tmp_path / "out.f32"), "--runs", "1", "--warmup", "0"],
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0 and "isa neon" in run.stdout, run.stdout + run.stderr
    got = xnn.detection.detections(np.fromfile(tmp_path / "out.f32", dtype=np.float32).reshape(1, 1, -1, 7))
    order = lambda r: r[np.lexsort((-r[:, 2], r[:, 1], r[:, 0]))]  # noqa: E731
    got, want = order(got), order(want)
    assert got.shape == want.shape, f"{len(got)} detections under qemu, {len(want)} on x86"
    np.testing.assert_array_equal(got[:, :2], want[:, :2])
    assert float(np.abs(got[:, 2:] - want[:, 2:]).max()) <= 1e-4

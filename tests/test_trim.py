"""A library built with only the operators one model needs (CMake's XNN_OPS) runs that model, and refuses
another model with an error that names the layer and the operator left out."""

import subprocess
import sys
from pathlib import Path
import shutil

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "tests" / ".cache" / "trim"
MTCNN = ROOT / "python" / "xnn" / "models" / "mtcnn"


def _tool(name: str) -> str:
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    assert found, f"{name} is required (pip install '.[test]')"
    return found


def test_only_the_operators_of_one_model(random_caffe_model) -> None:
    subprocess.run([_tool("cmake"), "-S", str(ROOT), "-B", str(BUILD), "-G", "Ninja",
                    f"-DCMAKE_MAKE_PROGRAM={_tool('ninja')}", "-DCMAKE_BUILD_TYPE=Release",
                    "-DXNN_OPS=convolution;channelwise;pooling;softmax"], check=True, capture_output=True)
    build = subprocess.run([_tool("cmake"), "--build", str(BUILD), "-j2"], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    bench = str(BUILD / "xnn-bench")
    # MTCNN P-Net: Convolution, PReLU, Pooling, Softmax: all built in.
    ok = subprocess.run([bench, str(MTCNN / "det1.prototxt"), str(MTCNN / "det1.caffemodel"), "--runs", "2"],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "latency over 2 runs" in ok.stdout, ok.stdout + ok.stderr
    # LeNet needs InnerProduct and ReLU, which this build leaves out.
    prototxt, caffemodel = random_caffe_model("lenet_mnist")
    bad = subprocess.run([bench, str(prototxt), str(caffemodel)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "layer 'ip1' (InnerProduct): this library was built without the 'inner_product' operator" in bad.stderr

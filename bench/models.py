"""Benchmark models: seeded random-weight Caffe models, their ONNX export and one runner per runtime.

For a model of ``tests/data/caffe/<name>/deploy.prototxt`` :func:`prepare` writes (once, cached under
``bench/.cache/``) a caffemodel with seeded random weights (``tests/caffe_tools.random_caffemodel``,
batch-1 shapes) and an ONNX export of the very same weights (``caffe_to_onnx``), so xnn, OpenCV DNN
(both read the Caffe files) and onnxruntime (reads the ONNX file) run the same network.

:func:`load_runner` builds a runner ``(runtime, model, threads)`` with a uniform ``run(x) -> {blob: array}``
(``runtime`` in :data:`RUNTIMES`); :func:`compare_outputs` checks that two runtimes agree.

Everything resolves relative to this file, so it works from any clone and working directory.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
TESTS_DIR = REPO_DIR / "tests"
CACHE_DIR = BENCH_DIR / ".cache"

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import caffe_tools  # noqa: E402  (tests/caffe_tools.py)

#: Seed of the random weights (the same as tests/conftest.py's CAFFE_SEED).
WEIGHT_SEED = 0
#: Seed of the benchmark input.
INPUT_SEED = 1
#: Models the benchmarks know (ImageNet-style classifiers of tests/data/caffe).
BENCH_MODELS = ("squeezenet_v1.0", "squeezenet_v1.1", "mobilenet_v1", "mobilenet_v2", "resnet50",
                "bvlc_googlenet", "bvlc_alexnet")
#: Runtimes, in the order results are reported.
RUNTIMES = ("xnn", "onnxruntime", "opencv")
#: Outputs agree when max |a - b| <= AGREE_TOL * max |reference|.
AGREE_TOL = 1e-4


@dataclass(frozen=True)
class BenchModel:
    """Files and I/O of one prepared benchmark model (batch 1)."""

    name: str
    prototxt: Path
    caffemodel: Path
    onnx: Path
    input_name: str
    input_shape: Tuple[int, ...]
    outputs: Tuple[str, ...]            # net output blobs (= ONNX output names)
    opencv_outputs: Tuple[str, ...]     # the Caffe layers writing them (OpenCV output names)

    def make_input(self, seed: int = INPUT_SEED) -> np.ndarray:
        """Seeded standard-normal float32 input of :attr:`input_shape`."""
        return caffe_tools.random_inputs({self.input_name: self.input_shape}, seed)[self.input_name]


def _cache_key(prototxt: Path, seed: int) -> str:
    """Changes when the prototxt, the seed or the generator (caffe_tools.py) changes."""
    h = hashlib.sha256()
    h.update(prototxt.read_bytes())
    h.update(f"\0seed={seed}\0".encode())
    h.update(Path(caffe_tools.__file__).read_bytes())
    return h.hexdigest()[:16]


def _write_atomic(out: Path, write) -> None:
    """``write(tmp_path)`` then rename onto ``out`` (safe against concurrent preparers)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def prepare(name: str, seed: int = WEIGHT_SEED, verbose: bool = False) -> BenchModel:
    """Seeded random caffemodel + ONNX export of ``name`` (batch 1), generated once and cached."""
    prototxt = caffe_tools.model_prototxt(name)
    net = caffe_tools.load_prototxt(prototxt)
    shapes = caffe_tools.net_input_shapes(net, batch=1)
    if len(shapes) != 1:
        raise ValueError(f"{name}: benchmarks need a single-input net, got inputs {list(shapes)}")
    input_name, input_shape = next(iter(shapes.items()))
    info = caffe_tools.analyze_net(net, shapes)

    folder = CACHE_DIR / name / _cache_key(prototxt, seed)
    caffemodel = folder / f"{name}.seed{seed}.caffemodel"
    onnx_path = folder / f"{name}.seed{seed}.onnx"
    if not caffemodel.is_file():
        if verbose:
            print(f"[bench] generating {caffemodel.relative_to(REPO_DIR)}", file=sys.stderr)
        _write_atomic(caffemodel, lambda p: caffe_tools.random_caffemodel(
            prototxt, p, seed=seed, input_shapes=shapes))
    if not onnx_path.is_file():
        if verbose:
            print(f"[bench] exporting {onnx_path.relative_to(REPO_DIR)}", file=sys.stderr)
        _write_atomic(onnx_path, lambda p: caffe_tools.caffe_to_onnx(
            prototxt, caffemodel, p, {input_name: input_shape}))
    outputs = tuple(b for b in info.outputs if b not in info.inputs)
    return BenchModel(name=name, prototxt=prototxt, caffemodel=caffemodel, onnx=onnx_path,
                      input_name=input_name, input_shape=tuple(int(d) for d in input_shape),
                      outputs=outputs, opencv_outputs=tuple(info.outputs[b] for b in outputs))


# --------------------------------------------------------------------------------------------
# runners
# --------------------------------------------------------------------------------------------

class Runner:
    """A loaded model of one runtime: ``run(x)`` returns every net output by blob name.

    ``predict`` is the callable to time (one forward pass on ``x``, as light as the runtime's
    Python API allows); ``run`` wraps its result into a dict.
    """

    runtime = ""

    def __init__(self, bm: BenchModel, threads: int) -> None:
        self.bm = bm
        self.threads = int(threads)

    def predict(self, x: np.ndarray):
        raise NotImplementedError

    def run(self, x: np.ndarray) -> Dict[str, np.ndarray]:
        raise NotImplementedError

    @staticmethod
    def version() -> str:
        raise NotImplementedError


class XnnRunner(Runner):
    runtime = "xnn"

    def __init__(self, bm: BenchModel, threads: int) -> None:
        super().__init__(bm, threads)
        import xnn

        self.model = xnn.Model.load(bm.prototxt, bm.caffemodel, num_threads=self.threads)
        self.predict = self.model.predict        # what is timed: xnn's own Model.predict
        self.predict(bm.make_input())            # builds the batch-1 plan

    def run(self, x):
        out = self.predict(x)
        if isinstance(out, dict):
            return {k: np.array(v, np.float32) for k, v in out.items()}
        return {self.bm.outputs[0]: np.array(out, np.float32)}

    def macs(self) -> int:
        """Multiply-accumulates of one batch-1 forward pass (xnn's ``layer_shapes``)."""
        return int(sum(l.macs for l in self.model.layer_shapes(self.bm.input_shape)))

    def profile(self, x, runs: int = 10):
        return self.model.profile(x, runs)

    @staticmethod
    def version() -> str:
        import xnn

        return xnn.__version__


class OrtRunner(Runner):
    runtime = "onnxruntime"

    def __init__(self, bm: BenchModel, threads: int) -> None:
        super().__init__(bm, threads)
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(bm.onnx), sess_options=so,
                                            providers=["CPUExecutionProvider"])
        self.names = list(bm.outputs)

    def predict(self, x):
        return self.session.run(self.names, {self.bm.input_name: x})

    def run(self, x):
        return {n: np.array(v, np.float32) for n, v in zip(self.names, self.predict(x))}

    @staticmethod
    def version() -> str:
        import onnxruntime

        return onnxruntime.__version__


class OpenCVRunner(Runner):
    """cv2.dnn on DNN_BACKEND_OPENCV / DNN_TARGET_CPU with OpenCV's defaults (fusion, Winograd).

    ``cv2.setNumThreads`` is process-wide: the last OpenCVRunner created sets it (call
    :meth:`activate` to set it again).
    """

    runtime = "opencv"

    def __init__(self, bm: BenchModel, threads: int, winograd: Optional[bool] = None) -> None:
        super().__init__(bm, threads)
        import cv2

        self.activate()
        self.net = cv2.dnn.readNetFromCaffe(str(bm.prototxt), str(bm.caffemodel))
        self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self.net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        if winograd is not None and hasattr(self.net, "enableWinograd"):
            self.net.enableWinograd(bool(winograd))
        self.names = list(bm.opencv_outputs)
        self.predict(bm.make_input())            # OpenCV allocates and fuses on the first forward

    def activate(self) -> None:
        import cv2

        cv2.setNumThreads(self.threads)

    def predict(self, x):
        self.net.setInput(x, self.bm.input_name)
        return self.net.forward(self.names)

    def run(self, x):
        return {b: np.array(v, np.float32) for b, v in zip(self.bm.outputs, self.predict(x))}

    @staticmethod
    def version() -> str:
        import cv2

        return cv2.__version__


RUNNERS = {"xnn": XnnRunner, "onnxruntime": OrtRunner, "opencv": OpenCVRunner}


def load_runner(runtime: str, bm: BenchModel, threads: int, **kwargs) -> Runner:
    """Runner of ``runtime`` (one of :data:`RUNTIMES`) for a prepared model."""
    try:
        cls = RUNNERS[runtime]
    except KeyError:
        raise ValueError(f"unknown runtime {runtime!r}; choose from {RUNTIMES}") from None
    return cls(bm, threads, **kwargs)


def runtime_version(runtime: str) -> str:
    return RUNNERS[runtime].version()


# --------------------------------------------------------------------------------------------
# agreement
# --------------------------------------------------------------------------------------------

def max_rel_diff(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> float:
    """max over outputs of max|a - b| / max|a| (shapes must match)."""
    worst = 0.0
    if set(a) != set(b):
        raise ValueError(f"different outputs {sorted(a)} vs {sorted(b)}")
    for k in a:
        x, y = np.asarray(a[k], np.float64), np.asarray(b[k], np.float64)
        if x.shape != y.shape:
            raise ValueError(f"output {k!r}: shape {x.shape} vs {y.shape}")
        scale = max(float(np.abs(x).max()), 1e-30)
        worst = max(worst, float(np.abs(x - y).max()) / scale)
    return worst


def compare_outputs(outputs: Mapping[str, Mapping[str, np.ndarray]], tol: float = AGREE_TOL) -> List[str]:
    """Pairwise check of ``{runtime: {blob: array}}``; returns the disagreements (empty: all agree).

    The first runtime is the reference of each pair's scale (max |reference|).
    """
    problems = []
    names = list(outputs)
    for i, ra in enumerate(names):
        for rb in names[i + 1:]:
            try:
                d = max_rel_diff(outputs[ra], outputs[rb])
            except ValueError as e:
                problems.append(f"{ra} vs {rb}: {e}")
                continue
            if not d <= tol:
                problems.append(f"{ra} vs {rb}: max diff {d:.3g} of max > {tol:g}")
    return problems


def agreement_report(outputs: Mapping[str, Mapping[str, np.ndarray]]) -> Dict[str, float]:
    """``{"a vs b": max relative difference}`` of every pair."""
    names = list(outputs)
    return {f"{a} vs {b}": max_rel_diff(outputs[a], outputs[b])
            for i, a in enumerate(names) for b in names[i + 1:]}


if __name__ == "__main__":        # python bench/models.py [names...]: prepare + check in-process
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=list(BENCH_MODELS))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    for m in args.models:
        bm = prepare(m, verbose=True)
        x = bm.make_input()
        outs = {rt: load_runner(rt, bm, args.threads).run(x) for rt in RUNTIMES}
        rep = agreement_report(outs)
        bad = compare_outputs(outs)
        print(f"{m}: " + ", ".join(f"{k} {v:.2e}" for k, v in rep.items()) + ("  FAIL" if bad else "  ok"))

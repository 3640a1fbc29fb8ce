"""Benchmark models: seeded random-weight Caffe models, the same net in each runtime's format, one
runner per runtime.

For a model of ``tests/data/caffe/<name>/deploy.prototxt`` :func:`prepare` writes (once, cached under
``bench/.cache/``) a caffemodel with seeded random weights (``tests/caffe_tools.random_caffemodel``,
batch-1 shapes) and an ONNX export of the very same weights (``caffe_to_onnx``). xnn and OpenCV DNN
read the Caffe files, onnxruntime the ONNX file; the other runners convert on first use, cached
next to them:

- MNN: the converter shipped in the ``mnn`` wheel (``MNNConvert -f CAFFE``; called through its
  ``_tools`` extension module rather than the ``mnnconvert`` script, whose wrapper tries to pip-install
  and post usage logs);
- ncnn and TFLite: ``.param``/``.bin`` and ``.tflite`` files written by ``bench/exporters.py`` from
  the fused graph of ``bench/netgraph.py`` (BatchNorm/Scale folded into the convolutions, ReLU fused);
- torch: an ``nn.Module`` built from the same graph (no file).

:func:`load_runner` builds a runner ``(runtime, model, threads)`` with a uniform ``run(x) -> {blob: array}``
(``runtime`` in :data:`RUNTIMES`; :func:`installed` tells which can be imported here);
:func:`compare_outputs` checks that runtimes agree, :func:`reference_outputs` is a float64 numpy
evaluation of the Caffe net (``caffe_tools.numpy_forward``) to tell whose output is off.

Everything resolves relative to this file, so it works from any clone and working directory.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import subprocess
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
RUNTIMES = ("xnn", "onnxruntime", "opencv", "mnn", "ncnn", "tflite", "torch")
#: The Python module each runtime needs (pip package in the comment).
RUNTIME_MODULES = {
    "xnn": "xnn",                   # this project
    "onnxruntime": "onnxruntime",   # onnxruntime
    "opencv": "cv2",                # opencv-python-headless
    "mnn": "MNN",                   # mnn
    "ncnn": "ncnn",                 # ncnn
    "tflite": "ai_edge_litert",     # ai-edge-litert (+ flatbuffers, its dependency)
    "torch": "torch",               # torch
}
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

    ``predict(prepare_input(x))`` is what is timed (one forward pass, as light as the runtime's
    Python API allows; ``prepare_input`` is called once, outside the timing); ``run`` does both
    and wraps the result into a dict of NCHW float32 arrays.
    """

    runtime = ""

    def __init__(self, bm: BenchModel, threads: int) -> None:
        self.bm = bm
        self.threads = int(threads)

    def prepare_input(self, x: np.ndarray):
        """``x`` (NCHW float32) in the form :meth:`predict` takes (e.g. NHWC for TFLite, a Mat for
        ncnn): format conversion that is no part of the runtime's inference stays untimed."""
        return x

    def predict(self, x):
        raise NotImplementedError

    def run(self, x: np.ndarray) -> Dict[str, np.ndarray]:
        raise NotImplementedError

    def describe(self) -> str:
        """Settings that differ from the runner's usual ones (e.g. an accurate mode), or "default"."""
        return "default"

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


def _file_tag(*parts: str, sources: Tuple[Path, ...] = ()) -> str:
    """Short hash of version strings and source files (a derived model file's cache key)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() + b"\0")
    for src in sources:
        h.update(Path(src).read_bytes())
    return h.hexdigest()[:10]


@functools.lru_cache(maxsize=4)
def _graph(bm: BenchModel):
    """The fused inference graph of ``bench/netgraph.py`` (for ncnn, TFLite, torch)."""
    import netgraph

    return netgraph.lower(bm.prototxt, bm.caffemodel, bm.input_shape)


def _exporter_sources() -> Tuple[Path, ...]:
    return (BENCH_DIR / "netgraph.py", BENCH_DIR / "exporters.py")


class MnnRunner(Runner):
    """MNN: Interpreter/Session API, CPU backend, ``numThread=N``, ``precision="normal"``.

    Normal precision is float32 on x86 (MNN computes in fp16 / bf16 only for ``low`` /
    ``Low_BF16``). The model is converted from the Caffe files with the wheel's own converter.
    ``accurate=True`` sets the session hint ``WINOGRAD_MEMORY_LEVEL=0``, which limits MNN's
    Winograd convolution to F(2,3) tiles (its larger default tiles can cost more than the 1e-4
    agreement, see bench_peers.py).
    """

    runtime = "mnn"
    SESSION_RELEASE = 1             # Interpreter::SessionMode Session_Release
    HINT_WINOGRAD_MEMORY_LEVEL = 3  # Interpreter::HintMode WINOGRAD_MEMORY_LEVEL

    def __init__(self, bm: BenchModel, threads: int, accurate: bool = False) -> None:
        super().__init__(bm, threads)
        import MNN

        self.accurate = bool(accurate)
        self.path = self.convert(bm)
        self.interp = MNN.Interpreter(str(self.path))
        self.interp.setSessionMode(self.SESSION_RELEASE)
        if self.accurate:
            self.interp.setSessionHint(self.HINT_WINOGRAD_MEMORY_LEVEL, 0)
        self.session = self.interp.createSession({"backend": "CPU", "numThread": self.threads,
                                                  "precision": "normal"})
        self.input = self.interp.getSessionInput(self.session, bm.input_name)
        self.interp.resizeTensor(self.input, tuple(bm.input_shape))   # the prototxt's batch -> 1
        self.interp.resizeSession(self.session)
        self.outputs = [self.interp.getSessionOutput(self.session, b) for b in bm.outputs]
        self.hosts = [MNN.Tensor(tuple(o.getShape()), MNN.Halide_Type_Float,
                                 np.zeros(o.getShape(), np.float32), MNN.Tensor_DimensionType_Caffe)
                      for o in self.outputs]
        self.predict(self.prepare_input(bm.make_input()))

    @staticmethod
    def convert(bm: BenchModel) -> Path:
        """``bm``'s Caffe files -> .mnn (MNN's converter, cached per MNN version)."""
        import MNN

        out = bm.caffemodel.with_name(f"{bm.name}.seed{WEIGHT_SEED}.mnn-{MNN.version()}.mnn")
        if not out.is_file():
            def write(tmp: Path) -> None:
                code = "import sys, _tools; _tools.mnnconvert(sys.argv)"
                cmd = [sys.executable, "-c", code, "-f", "CAFFE", "--modelFile", str(bm.caffemodel),
                       "--prototxt", str(bm.prototxt), "--MNNModel", str(tmp), "--bizCode", "MNN"]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0 or tmp.stat().st_size == 0 or "Converted Success" not in r.stdout:
                    raise RuntimeError(f"MNN conversion of {bm.name} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
            _write_atomic(out, write)
        return out

    def prepare_input(self, x):
        import MNN

        return MNN.Tensor(tuple(self.bm.input_shape), MNN.Halide_Type_Float,
                          np.ascontiguousarray(x, dtype=np.float32), MNN.Tensor_DimensionType_Caffe)

    def predict(self, host_x):
        self.input.copyFrom(host_x)
        self.interp.runSession(self.session)
        for o, h in zip(self.outputs, self.hosts):
            o.copyToHostTensor(h)
        return self.hosts

    def run(self, x):
        hosts = self.predict(self.prepare_input(x))
        return {b: np.array(h.getNumpyData(), np.float32).reshape(h.getShape())
                for b, h in zip(self.bm.outputs, hosts)}

    def describe(self) -> str:
        return "Winograd F(2,3) only" if self.accurate else "default"

    @staticmethod
    def version() -> str:
        import MNN

        return MNN.version()


class NcnnRunner(Runner):
    """ncnn: ``ncnn.Net`` on the CPU, ``opt.num_threads=N``, float32 throughout.

    fp16 / bf16 storage, packing and arithmetic are off (``use_fp16_packed``, ``use_fp16_storage``,
    ``use_fp16_arithmetic``, ``use_bf16_storage``, ``use_bf16_packed`` = False) and Vulkan is off;
    ncnn's other defaults stay (packed layouts, Winograd and sgemm convolution, light mode).
    The .param/.bin are written by ``bench/exporters.py``.
    """

    runtime = "ncnn"

    def __init__(self, bm: BenchModel, threads: int) -> None:
        super().__init__(bm, threads)
        import ncnn

        import exporters

        g = _graph(bm)
        param, binf = self.files(bm)
        self.net = ncnn.Net()
        opt = self.net.opt
        opt.num_threads = self.threads
        opt.use_vulkan_compute = False
        for k in ("use_fp16_packed", "use_fp16_storage", "use_fp16_arithmetic", "use_bf16_storage",
                  "use_bf16_packed"):
            if hasattr(opt, k):
                setattr(opt, k, False)
        if self.net.load_param(str(param)) != 0 or self.net.load_model(str(binf)) != 0:
            raise RuntimeError(f"ncnn could not load {param}")
        names = exporters.ncnn_output_names(g)
        self.out_names = [names[b] for b in bm.outputs]
        self.out_shapes = [g.shapes[g.outputs[b]] for b in bm.outputs]
        self.predict(self.prepare_input(bm.make_input()))

    @staticmethod
    def files(bm: BenchModel) -> Tuple[Path, Path]:
        import exporters

        tag = _file_tag(sources=_exporter_sources())
        param = bm.caffemodel.with_name(f"{bm.name}.seed{WEIGHT_SEED}.ncnn-{tag}.param")
        binf = param.with_suffix(".bin")
        if not (param.is_file() and binf.is_file()):
            g = _graph(bm)
            tmp_param = {}

            def write_bin(tmp: Path) -> None:
                fd, p = tempfile.mkstemp(suffix=".param", dir=tmp.parent)
                os.close(fd)
                tmp_param["path"] = Path(p)
                exporters.write_ncnn(g, Path(p), tmp)
            try:
                _write_atomic(binf, write_bin)
                _write_atomic(param, lambda tmp: os.replace(tmp_param["path"], tmp))
            finally:
                if "path" in tmp_param and tmp_param["path"].exists():
                    tmp_param["path"].unlink()
        return param, binf

    def prepare_input(self, x):
        import ncnn

        self._x = np.ascontiguousarray(x[0], dtype=np.float32)     # the Mat may share its memory
        return ncnn.Mat(self._x)

    def predict(self, mat):
        ex = self.net.create_extractor()
        ex.input(self.bm.input_name, mat)
        outs = []
        for n in self.out_names:
            ret, m = ex.extract(n)
            if ret != 0:
                raise RuntimeError(f"ncnn extract {n!r} failed ({ret})")
            outs.append(m)
        return outs

    def run(self, x):
        return {b: np.array(m, np.float32).reshape(s)
                for b, m, s in zip(self.bm.outputs, self.predict(self.prepare_input(x)), self.out_shapes)}

    @staticmethod
    def version() -> str:
        import ncnn

        return ncnn.__version__


class TfliteRunner(Runner):
    """TFLite (LiteRT): ``Interpreter(model_path, num_threads=N)`` with the default op resolver,
    which applies the XNNPACK delegate (float32) to every op it supports (all but LRN here).

    The model is NHWC: :meth:`prepare_input` transposes the NCHW input once, outside the timed
    :meth:`predict` (``set_tensor`` + ``invoke``); :meth:`run` transposes outputs back.
    """

    runtime = "tflite"

    def __init__(self, bm: BenchModel, threads: int) -> None:
        super().__init__(bm, threads)
        from ai_edge_litert.interpreter import Interpreter

        g = _graph(bm)
        self.path = self.file(bm)
        self.interp = Interpreter(model_path=str(self.path), num_threads=self.threads)
        self.interp.allocate_tensors()
        self.in_index = self.interp.get_input_details()[0]["index"]
        by_name = {d["name"]: d["index"] for d in self.interp.get_output_details()}
        self.out_index = [by_name[g.outputs[b]] for b in bm.outputs]
        self.out_shapes = [g.shapes[g.outputs[b]] for b in bm.outputs]
        self.predict(self.prepare_input(bm.make_input()))

    @staticmethod
    def file(bm: BenchModel) -> Path:
        import exporters

        tag = _file_tag(sources=_exporter_sources())
        out = bm.caffemodel.with_name(f"{bm.name}.seed{WEIGHT_SEED}.tflite-{tag}.tflite")
        if not out.is_file():
            _write_atomic(out, lambda tmp: exporters.write_tflite(_graph(bm), tmp))
        return out

    def prepare_input(self, x):
        return np.ascontiguousarray(np.asarray(x, np.float32).transpose(0, 2, 3, 1))

    def predict(self, x_nhwc):
        self.interp.set_tensor(self.in_index, x_nhwc)
        self.interp.invoke()
        return [self.interp.get_tensor(i) for i in self.out_index]

    def run(self, x):
        res = {}
        for b, y, s in zip(self.bm.outputs, self.predict(self.prepare_input(x)), self.out_shapes):
            y = np.array(y, np.float32)
            if y.ndim == 4:
                y = y.transpose(0, 3, 1, 2)
            res[b] = y.reshape(s)
        return res

    @staticmethod
    def version() -> str:
        import ai_edge_litert

        return f"{ai_edge_litert.__version__} (ai-edge-litert)"


class TorchRunner(Runner):
    """torch (CPU, eager): an ``nn.Module`` of the fused graph in eval mode, run under
    ``torch.inference_mode()``; ``torch.set_num_threads(N)`` (process-wide: :meth:`activate`
    sets it again), ``set_num_interop_threads(1)``."""

    runtime = "torch"

    def __init__(self, bm: BenchModel, threads: int) -> None:
        super().__init__(bm, threads)
        import torch

        import exporters

        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:                    # already set (or parallel work started)
            pass
        self.activate()
        self.module = exporters.torch_module(_graph(bm)).eval()
        self.out_shapes = [_graph(bm).shapes[_graph(bm).outputs[b]] for b in bm.outputs]
        self.predict(self.prepare_input(bm.make_input()))

    def activate(self) -> None:
        import torch

        torch.set_num_threads(self.threads)

    def prepare_input(self, x):
        import torch

        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def predict(self, xt):
        import torch

        with torch.inference_mode():
            return self.module(xt)

    def run(self, x):
        return {b: y.numpy().astype(np.float32).reshape(s)
                for b, y, s in zip(self.bm.outputs, self.predict(self.prepare_input(x)), self.out_shapes)}

    @staticmethod
    def version() -> str:
        import torch

        return torch.__version__


RUNNERS = {"xnn": XnnRunner, "onnxruntime": OrtRunner, "opencv": OpenCVRunner, "mnn": MnnRunner,
           "ncnn": NcnnRunner, "tflite": TfliteRunner, "torch": TorchRunner}


def installed(runtime: str) -> bool:
    """Whether ``runtime``'s Python module can be imported here (without importing it)."""
    try:
        return importlib.util.find_spec(RUNTIME_MODULES[runtime]) is not None
    except (ImportError, ValueError):
        return False


def load_runner(runtime: str, bm: BenchModel, threads: int, **kwargs) -> Runner:
    """Runner of ``runtime`` (one of :data:`RUNTIMES`) for a prepared model.

    Raises :class:`caffe_tools.UnsupportedLayerError` when the runtime's model format cannot
    express the net (the bench then skips that runtime for that model).
    """
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


def reference_outputs(bm: BenchModel, x: np.ndarray) -> Dict[str, np.ndarray]:
    """float64 numpy evaluation of ``bm``'s Caffe net on ``x`` (``caffe_tools.numpy_forward``,
    independent of every runtime; a few seconds for ResNet-50)."""
    net = caffe_tools.load_prototxt(bm.prototxt)
    shapes = {bm.input_name: list(bm.input_shape)}
    weights = caffe_tools.caffemodel_weights(bm.caffemodel, net, shapes)
    out = caffe_tools.numpy_forward(net, weights, {bm.input_name: x}, dtype=np.float64)
    return {b: out[b] for b in bm.outputs}


def reference_errors(reference: Mapping[str, np.ndarray],
                     outputs: Mapping[str, Mapping[str, np.ndarray]]) -> Dict[str, float]:
    """``{runtime: max |out - ref| / max |ref|}`` against the float64 reference."""
    return {rt: max_rel_diff(reference, o) for rt, o in outputs.items()}


def excused_by_reference(problems: List[str], ref_err: Mapping[str, float], tol: float = AGREE_TOL) -> List[str]:
    """The ``problems`` of :func:`compare_outputs` left once pairs whose two runtimes are both
    within ``tol`` of the float64 reference are excused (fp32 rounding in different orders)."""
    left = []
    for p in problems:
        pair = p.split(":", 1)[0].split(" vs ")
        if len(pair) == 2 and all(ref_err.get(rt, float("inf")) <= tol for rt in pair):
            continue
        left.append(p)
    return left


if __name__ == "__main__":        # python bench/models.py [names...]: prepare + check in-process
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=list(BENCH_MODELS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES)
    args = ap.parse_args()
    missing = [rt for rt in args.runtimes if not installed(rt)]
    if missing:
        print("not installed: " + ", ".join(missing))
    for m in args.models:
        bm = prepare(m, verbose=True)
        x = bm.make_input()
        outs = {}
        for rt in args.runtimes:
            if rt in missing:
                continue
            try:
                outs[rt] = load_runner(rt, bm, args.threads).run(x)
            except caffe_tools.UnsupportedLayerError as e:
                print(f"{m}: {rt} skipped: {e}")
        ref = reference_outputs(bm, x)
        ref_err = reference_errors(ref, outs)
        if ref_err.get("mnn", 0.0) > AGREE_TOL:          # as bench_peers.py does: MNN's accurate mode
            outs["mnn"] = load_runner("mnn", bm, args.threads, accurate=True).run(x)
            print(f"{m}: mnn {ref_err['mnn']:.2e} from float64 by default, {max_rel_diff(ref, outs['mnn']):.2e} "
                  "with Winograd F(2,3) only (used)")
            ref_err["mnn"] = max_rel_diff(ref, outs["mnn"])
        if ref_err.get("opencv", 0.0) > AGREE_TOL:       # bench_peers.py's OpenCV exception
            alt = OpenCVRunner(bm, args.threads, winograd=False).run(x)
            print(f"{m}: opencv {ref_err['opencv']:.2e} from float64 with Winograd, "
                  f"{max_rel_diff(ref, alt):.2e} without (used for the check)")
            outs["opencv"], ref_err["opencv"] = alt, max_rel_diff(ref, alt)
        bad = excused_by_reference(compare_outputs(outs), ref_err)
        first = next(iter(outs))
        print(f"{m}: vs {first}: " + ", ".join(f"{rt} {max_rel_diff(outs[first], o):.2e}" for rt, o in outs.items()
                                               if rt != first) +
              "; vs float64: " + ", ".join(f"{rt} {e:.2e}" for rt, e in ref_err.items()) +
              ("  FAIL: " + "; ".join(bad) if bad else "  ok"))

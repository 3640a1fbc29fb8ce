"""xnn against its peers (onnxruntime, OpenCV DNN, MNN, ncnn, TFLite/XNNPACK, torch): same model, same
weights, same input, batch 1.

Install (from the repository root; builds xnn and installs every peer, pinned in pyproject's
``bench`` extra)::

    pip install '.[test,bench]'

Each runtime runs in its own worker process (a fresh interpreter that imports only that runtime,
loads the model once and then serves requests over a pipe). Timing is done in interleaved rounds:
in round r every runtime runs ``--runs-per-round`` timed forward passes (after ``--warmup`` untimed
ones), the order of the runtimes rotated by one each round, so that background noise on a shared
machine hits all runtimes alike. While one runtime is timed the others' processes are stopped
(SIGSTOP; ``--no-isolate`` keeps them running): OpenMP and other pools spin for a while after each run,
and on two cores one spinning thread halves a 2-thread runtime. What is timed is the runner's ``predict`` on the input already in
the runtime's own form (``Runner.prepare_input``: NHWC for TFLite, an ``ncnn.Mat``, an
``MNN.Tensor``, a ``torch`` tensor), i.e. the runtime's inference call with the input set and the
outputs fetched.

The host's own float32 roof is timed in the same rounds: numpy's ``matmul`` of two 1024 x 1024 float32
matrices (its BLAS limited to ``N`` threads) runs in a worker of its own, in the rotation like a runtime
(``--no-roof`` leaves it out). Its GFLOP/s is what a tuned GEMM gets from these cores in the same minutes
as the runtimes' times, so that xnn's GFLOP/s can be read against it on a host whose speed moves.

Before timing, the outputs of all runtimes on the benchmark input are compared: every pair must
agree within ``--tol`` (max |a - b| <= 1e-4 * max |a|). If a pair does not, the float64 numpy
result of the Caffe net (``caffe_tools.numpy_forward``) decides: a runtime off from it by more
than the tolerance is switched to its accurate setting if it has one (MNN: Winograd limited to
F(2,3) tiles; that setting is then the one timed) -- OpenCV keeps its exception: its Winograd
output may be off when the same net without Winograd agrees (timed with Winograd); a pair still
beyond the tolerance is accepted when both runtimes are within it of the float64 result (fp32
rounding in different orders: with these random weights ResNet-50 puts every runtime 2-7e-5 from
it). Everything is reported in the notes; any other disagreement stops the run.

Example::

    python bench/bench_peers.py --models squeezenet_v1.1 mobilenet_v1 --threads 1 2 \\
        --rounds 15 --runs-per-round 5 --markdown bench/RESULTS.md

``--runtimes`` picks a subset (default: all of them; one whose package is missing is reported as
not installed). A runtime the bench cannot convert a net for (a layer ``bench/netgraph.py`` or
``bench/exporters.py`` does not handle, e.g. PReLU) is skipped for that model, with a note; all
seven benchmark models run on every runtime.

Runtime settings (float32 everywhere, ``N`` = ``--threads``):

- xnn: ``Model.load(prototxt, caffemodel, num_threads=N)``.
- onnxruntime: CPU provider, ``intra_op_num_threads=N``, ``inter_op_num_threads=1``,
  ``ORT_SEQUENTIAL``, ``ORT_ENABLE_ALL``; the ONNX export of ``caffe_tools.caffe_to_onnx``.
- OpenCV: ``cv2.setNumThreads(N)``, ``DNN_BACKEND_OPENCV`` / ``DNN_TARGET_CPU`` with its defaults
  (layer fusion; Winograd 3x3 convolution where OpenCV enables it, see ``--opencv-winograd``).
- MNN: the .mnn from MNN's own converter (``MNNConvert -f CAFFE``, the wheel's ``_tools`` module);
  ``Interpreter`` / ``createSession`` with backend CPU, ``numThread=N``, ``precision="normal"``
  (float32 on x86: MNN uses fp16/bf16 only at ``low`` / ``Low_BF16``), session mode release, input
  resized to batch 1; its default Winograd unless the agreement check needs F(2,3) (see above).
- ncnn: ``ncnn.Net`` with ``opt.num_threads=N``, ``use_vulkan_compute=False``, fp16/bf16 packing,
  storage and arithmetic off (``use_fp16_packed/storage/arithmetic``, ``use_bf16_storage/packed``),
  the rest ncnn's defaults (packed layouts, Winograd, sgemm, light mode); one extractor per run.
  The .param/.bin are written by ``bench/exporters.py`` as caffe2ncnn + ncnnoptimize would
  (BatchNorm/Scale folded, ReLU fused into Convolution/InnerProduct). ncnn's own converter on PyPI,
  pnnx, does run offline on the ONNX file, but leaves each Caffe Scale as separate BinaryOp layers
  and splits asymmetrically padded max pools into Padding + Pooling, a slower graph than the
  Caffe one.
- TFLite: ``ai_edge_litert.interpreter.Interpreter(model_path, num_threads=N)`` with the default op
  resolver, i.e. the XNNPACK delegate (float32) on every op it supports (all but
  LOCAL_RESPONSE_NORMALIZATION, which TFLite's builtin kernel runs: AlexNet and GoogLeNet are
  split into three delegate partitions). The NHWC .tflite is written by ``bench/exporters.py``
  (BatchNorm/Scale folded into the convolution weights, ReLU fused, explicit PAD only where
  ``SAME``/``VALID`` cannot reproduce Caffe's padding and ceil-rounded pooling).
- torch: an eager ``nn.Module`` of the same folded graph (``F.conv2d``, pooling with
  ``ceil_mode=True``, ...), eval mode, ``torch.inference_mode()``, ``torch.set_num_threads(N)``,
  ``set_num_interop_threads(1)``.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import pickle
import platform
import re
import shlex
import signal
import struct
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Dict, List, Optional, Sequence

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import numpy as np  # noqa: E402

import models  # noqa: E402  (bench/models.py)

SECTION_BEGIN = "<!-- bench_peers:begin (generated by bench/bench_peers.py; edits inside are overwritten) -->"
SECTION_END = "<!-- bench_peers:end -->"
SHORT = {"xnn": "xnn", "onnxruntime": "ort", "opencv": "opencv", "mnn": "mnn", "ncnn": "ncnn",
         "tflite": "tflite", "torch": "torch"}


ROOF = "sgemm"  # the float32 GEMM roof, timed as a pseudo-runtime (not a peer)
ROOF_N = 1024


class SgemmRoof:
    """numpy's float32 matmul (ROOF_N^3) with a runner's interface: what a tuned GEMM gets from the cores."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.a = rng.standard_normal((ROOF_N, ROOF_N), dtype=np.float32)
        self.b = rng.standard_normal((ROOF_N, ROOF_N), dtype=np.float32)
        self.c = np.empty((ROOF_N, ROOF_N), dtype=np.float32)

    def version(self) -> str:
        return f"numpy {np.__version__}"

    def prepare_input(self, x) -> None:
        return None

    def predict(self, xi) -> None:
        np.matmul(self.a, self.b, out=self.c)

    def macs(self) -> int:
        return ROOF_N ** 3


def blas_threads_env(threads: int) -> Dict[str, str]:
    """Environment variables that limit numpy's BLAS (OpenBLAS, MKL, BLIS) pool to `threads`."""
    return {k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")}


# --------------------------------------------------------------------------------------------
# pipe protocol: 8-byte length + pickle
# --------------------------------------------------------------------------------------------

def _send(f, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(struct.pack("<Q", len(data)))
    f.write(data)
    f.flush()


def _recv(f):
    head = f.read(8)
    if len(head) < 8:
        raise EOFError("pipe closed")
    (n,) = struct.unpack("<Q", head)
    data = f.read(n)
    if len(data) < n:
        raise EOFError("pipe closed mid-message")
    return pickle.loads(data)


# --------------------------------------------------------------------------------------------
# worker
# --------------------------------------------------------------------------------------------

def worker_main(runtime: str, model: str, threads: int, winograd: Optional[bool]) -> int:
    """Serve requests on stdin/stdout. Anything the libraries print goes to stderr."""
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                                   # fd 1 -> stderr: keep the protocol stream clean
    sys.stdout = sys.stderr
    proto_in = os.fdopen(os.dup(0), "rb")
    try:
        t0 = time.perf_counter()
        if runtime == ROOF:
            bm, runner = None, SgemmRoof()
        else:
            bm = models.prepare(model)
            kwargs = {"winograd": winograd} if runtime == "opencv" else {}
            runner = models.load_runner(runtime, bm, threads, **kwargs)
        load_ms = (time.perf_counter() - t0) * 1e3
        _send(proto_out, {"ok": True, "pid": os.getpid(), "load_ms": load_ms,
                          "version": runner.version()})
    except models.caffe_tools.UnsupportedLayerError as e:
        _send(proto_out, {"ok": False, "unsupported": str(e), "error": traceback.format_exc()})
        return 1
    except Exception:
        _send(proto_out, {"ok": False, "error": traceback.format_exc()})
        return 1

    x = bm.make_input() if bm is not None else None
    xi = runner.prepare_input(x)                    # the runtime's own input form, made untimed
    while True:
        try:
            msg = _recv(proto_in)
        except EOFError:
            return 0
        cmd = msg["cmd"]
        try:
            if cmd == "quit":
                _send(proto_out, {"ok": True})
                return 0
            if cmd == "set_input":
                x = np.ascontiguousarray(msg["x"], dtype=np.float32)
                xi = runner.prepare_input(x)
                reply = {"ok": True}
            elif cmd == "outputs":
                reply = {"ok": True, "outputs": runner.run(x)}
            elif cmd == "accurate":                 # reload in the runner's accurate mode (MNN)
                del runner
                gc.collect()
                runner = models.load_runner(runtime, bm, threads, accurate=True)
                xi = runner.prepare_input(x)
                reply = {"ok": True, "outputs": runner.run(x), "describe": runner.describe()}
            elif cmd == "outputs_no_winograd":      # OpenCV only: the same net without Winograd
                ref = models.load_runner("opencv", bm, threads, winograd=False)
                reply = {"ok": True, "outputs": ref.run(x)}
                del ref
                runner.activate()
            elif cmd == "time":
                predict = runner.predict
                for _ in range(int(msg.get("warmup", 0))):
                    predict(xi)
                times = []
                gc_was = gc.isenabled()
                gc.disable()
                try:
                    for _ in range(int(msg["runs"])):
                        t = time.perf_counter_ns()
                        predict(xi)
                        times.append((time.perf_counter_ns() - t) / 1e6)
                finally:
                    if gc_was:
                        gc.enable()
                reply = {"ok": True, "times_ms": times}
            elif cmd == "macs":
                reply = {"ok": True, "macs": runner.macs()}
            elif cmd == "profile":
                prof = runner.profile(x, int(msg.get("runs", 10)))
                layers = []
                for p in prof:
                    if getattr(p, "with_previous", False) and layers:  # timed with the layer before it: one row
                        name, ltype, macs, t = layers[-1]
                        layers[-1] = (f"{name}+{p.name}", ltype, macs + p.macs, t)
                    else:
                        layers.append((p.name, p.type, p.macs, p.time_ms))
                reply = {"ok": True, "layers": layers}
            else:
                reply = {"ok": False, "error": f"unknown command {cmd!r}"}
        except Exception:
            reply = {"ok": False, "error": traceback.format_exc()}
        _send(proto_out, reply)


class Unsupported(Exception):
    """The bench cannot convert the net to a runtime's format (the runtime is skipped for that model)."""


class Worker:
    """Parent-side handle of one worker process."""

    def __init__(self, runtime: str, model: str, threads: int, winograd: Optional[bool]) -> None:
        self.runtime, self.model, self.threads = runtime, model, threads
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", runtime,
               "--models", model, "--threads", str(threads)]
        if winograd is not None:
            cmd += ["--opencv-winograd", "on" if winograd else "off"]
        env = dict(os.environ)
        env["OMP_NUM_THREADS"] = str(threads)       # in case a runtime's pool is OpenMP-based
        if runtime == ROOF:
            env.update(blas_threads_env(threads))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.stopped = False
        self.info: Dict = {}

    def wait_ready(self) -> Dict:
        self.info = self._reply()
        return self.info

    def _died(self) -> RuntimeError:
        rc = self.proc.wait()
        how = f"killed by signal {-rc}" if rc < 0 else f"exit code {rc}"
        return RuntimeError(f"{self.runtime} worker ({self.model}, {self.threads} threads) died ({how}); "
                            "see its stderr above")

    def _reply(self):
        try:
            reply = _recv(self.proc.stdout)
        except EOFError:
            raise self._died() from None
        if not reply.get("ok"):
            if reply.get("unsupported"):
                raise Unsupported(reply["unsupported"])
            raise RuntimeError(f"{self.runtime} worker ({self.model}, {self.threads} threads) "
                               f"failed:\n{reply.get('error')}")
        return reply

    def request(self, cmd: str, **kw):
        try:
            _send(self.proc.stdin, dict(cmd=cmd, **kw))
        except BrokenPipeError:
            raise self._died() from None
        return self._reply()

    def pause(self, stopped: bool) -> None:
        """SIGSTOP / SIGCONT the worker process (all its threads)."""
        if self.proc.poll() is None and stopped != self.stopped:
            os.kill(self.proc.pid, signal.SIGSTOP if stopped else signal.SIGCONT)
            self.stopped = stopped

    def close(self) -> None:
        self.pause(False)
        if self.proc.poll() is None:
            try:
                self.request("quit")
            except Exception:
                pass
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------------------------
# one configuration (model x threads)
# --------------------------------------------------------------------------------------------

def layer_kinds(bm: models.BenchModel) -> Dict[str, str]:
    """Caffe layer name -> short kind label ("conv 3x3/s2", "dw conv 3x3", "fc", ...)."""
    net = models.caffe_tools.analyze_net(models.caffe_tools.load_prototxt(bm.prototxt),
                                         {bm.input_name: list(bm.input_shape)})
    kinds = {}
    for l in net.layers:
        if l.type == "Convolution":
            k, s, _p, _d = models.caffe_tools.conv_geometry(l.msg, len(l.bottom_shapes[0]) - 2)
            g = l.msg.convolution_param.group
            cin = l.bottom_shapes[0][1]
            geo = "x".join(map(str, k)) + ("" if all(v == 1 for v in s) else "/s" + "x".join(map(str, set(s))))
            kinds[l.name] = ("dw conv " if g == cin and g > 1 else
                             "group conv " if g > 1 else "conv ") + geo
        elif l.type == "InnerProduct":
            kinds[l.name] = "fc"
        elif l.type == "Pooling":
            p = l.msg.pooling_param
            kinds[l.name] = ("global " if p.global_pooling else "") + ("max pool" if p.pool == p.MAX else "avg pool")
        else:
            kinds[l.name] = l.type
    # xnn runs a pointwise convolution and the depthwise one reading its output as one where the map is
    # larger than L2: the profile then has one row for both (names joined by "+")
    for a, b in zip(net.layers, net.layers[1:]):
        if a.name in kinds and b.name in kinds:
            kinds[f"{a.name}+{b.name}"] = f"{kinds[a.name]} + {kinds[b.name]}"
    return kinds


def check_agreement(bm: models.BenchModel, x: np.ndarray, workers: Dict[str, "Worker"],
                    outs: Dict[str, Dict], tol: float, winograd: Optional[bool]):
    """Agreement of all runtimes' outputs before timing; returns (ref_err or None, notes).

    1. Every pair must agree within ``tol`` of max. If that holds, done.
    2. Otherwise the float64 numpy result of the Caffe net is computed. A runtime whose default
       output is off by more than ``tol`` from it and that has an accurate mode (MNN: Winograd
       F(2,3) tiles only) is reloaded in that mode, which is then the one timed.
    3. OpenCV (as before): when its Winograd convolution is the one off, the same net without
       Winograd must agree; its default (Winograd) stays the one timed.
    4. A pair still beyond ``tol`` is accepted when both runtimes are within ``tol`` of the
       float64 result (different fp32 rounding, e.g. ResNet-50 puts every runtime 2-7e-5 from it).
    Anything left is an error (SystemExit).
    """
    notes: List[str] = []
    problems = models.compare_outputs(outs, tol)
    if not problems:
        return None, notes
    print(f"[bench] {bm.name}: {len(problems)} pair(s) beyond {tol:g}; computing the float64 reference",
          file=sys.stderr)
    ref = models.reference_outputs(bm, x)
    ref_err = models.reference_errors(ref, outs)
    for rt, e in list(ref_err.items()):
        if e > tol and rt == "mnn":
            rep = workers[rt].request("accurate")
            outs[rt] = rep["outputs"]
            ref_err[rt] = models.max_rel_diff(ref, outs[rt])
            notes.append(f"MNN's default Winograd tiles put its output {e:.1e} of max from the float64 "
                         f"result; timed with the session hint WINOGRAD_MEMORY_LEVEL=0 ({rep['describe']}, "
                         f"{ref_err[rt]:.1e} from float64)")
    problems = models.compare_outputs(outs, tol)
    if "opencv" in outs and winograd is not False and ref_err.get("opencv", 0.0) > tol:
        # OpenCV's Winograd 3x3 convolution has a larger fp32 error (ResNet-50: ~1.3e-4 of max).
        # Accept it when the same OpenCV net without Winograd agrees; report both figures.
        alt = dict(outs)
        alt["opencv"] = workers["opencv"].request("outputs_no_winograd")["outputs"]
        alt_err = dict(ref_err, opencv=models.max_rel_diff(ref, alt["opencv"]))
        if not models.excused_by_reference(models.compare_outputs(alt, tol), alt_err, tol):
            bad = [p for p in problems if "opencv" in p.split(":", 1)[0]]
            notes.append("OpenCV's Winograd convolution exceeds the tolerance (" + "; ".join(bad) +
                         f"; {ref_err['opencv']:.1e} from float64); without Winograd it agrees "
                         f"({alt_err['opencv']:.1e} from float64): " + ", ".join(
                             f"{k.replace('onnxruntime', 'ort')} {v:.1e}"
                             for k, v in models.agreement_report(alt).items() if "opencv" in k))
            problems = [p for p in problems if "opencv" not in p.split(":", 1)[0]]
    left = models.excused_by_reference(problems, ref_err, tol)
    excused = [p for p in problems if p not in left]
    if excused:
        notes.append("pairs beyond the tolerance, each runtime within it of the float64 result (fp32 "
                     "rounding): " + "; ".join(excused))
    if left:
        raise SystemExit(f"{bm.name}: outputs disagree: " + "; ".join(left) + "; error vs float64: " +
                         ", ".join(f"{k} {v:.1e}" for k, v in ref_err.items()))
    return ref_err, notes


def run_config(model: str, threads: int, args) -> Dict:
    bm = models.prepare(model, verbose=True)
    x = bm.make_input()
    winograd = {"default": None, "on": True, "off": False}[args.opencv_winograd]
    workers: Dict[str, Worker] = {}
    skipped: Dict[str, str] = {}
    infos = {}
    try:
        for rt in args.runtimes:
            workers[rt] = Worker(rt, model, threads, winograd if rt == "opencv" else None)
        for rt in list(workers):
            try:
                infos[rt] = workers[rt].wait_ready()
            except Unsupported as e:
                skipped[rt] = str(e)
                workers.pop(rt).close()
                print(f"[bench] {model}: {rt} skipped: {e}", file=sys.stderr)
        runtimes = [rt for rt in args.runtimes if rt in workers]
        for w in workers.values():
            w.request("set_input", x=x)
        if args.roof:
            workers[ROOF] = Worker(ROOF, model, threads, None)
            workers[ROOF].wait_ready()

        # ---- agreement
        outs = {rt: workers[rt].request("outputs")["outputs"] for rt in runtimes}
        ref_err, notes = check_agreement(bm, x, workers, outs, args.tol, winograd)
        agreement = models.agreement_report(outs)
        print(f"[bench] {model} t{threads}: outputs agree (" +
              ", ".join(f"{k} {v:.1e}" for k, v in agreement.items()) + ")", file=sys.stderr)

        macs = workers["xnn"].request("macs")["macs"] if "xnn" in workers else None

        # ---- interleaved rounds
        timed = runtimes + ([ROOF] if args.roof else [])
        samples: Dict[str, List[float]] = {rt: [] for rt in timed}
        round_medians: Dict[str, List[float]] = {rt: [] for rt in timed}
        for r in range(args.rounds):
            order = timed[r % len(timed):] + timed[:r % len(timed)]
            for rt in order:
                if args.isolate:
                    # Stop every other runtime's process, so that none of their idle pool threads (OpenMP
                    # and others spin for a while after each run) can take a core from this one.
                    for other, w in workers.items():
                        w.pause(other != rt)
                if args.settle_ms > 0:
                    time.sleep(args.settle_ms / 1e3)    # let the previous runtime's spinning threads sleep
                rep = workers[rt].request("time", runs=args.runs_per_round, warmup=args.warmup)
                samples[rt].extend(rep["times_ms"])
                round_medians[rt].append(float(np.median(rep["times_ms"])))
            meds = "  ".join(f"{SHORT[rt]} {np.median(samples[rt]):.2f}" for rt in runtimes)
            print(f"[bench] {model} t{threads} round {r + 1}/{args.rounds}: median ms so far {meds}",
                  file=sys.stderr)

        profile = None
        if "xnn" in workers and args.profile_runs > 0:
            # The others stay stopped: their idle pool threads spinning on the other core took a third or
            # more of xnn's 2-thread profile (SqueezeNet 1.1's layers summed 5.4 ms, its runs took 3.1).
            for other, w in workers.items():
                w.pause(args.isolate and other != "xnn")
            profile = workers["xnn"].request("profile", runs=args.profile_runs)["layers"]
        for w in workers.values():
            w.pause(False)
    finally:
        for w in workers.values():
            w.close()

    roof = None
    if ROOF in samples:
        g = 2.0 * ROOF_N ** 3 / (np.asarray(samples.pop(ROOF)) * 1e-3) / 1e9
        roof = {"median_gflops": float(np.median(g)), "p10_gflops": float(np.percentile(g, 10)),
                "p90_gflops": float(np.percentile(g, 90))}
        round_medians.pop(ROOF)
    stats = {}
    for rt, ts in samples.items():
        a = np.asarray(ts)
        med = float(np.median(a))
        stats[rt] = {"median_ms": med, "p10_ms": float(np.percentile(a, 10)),
                     "p90_ms": float(np.percentile(a, 90)), "min_ms": float(a.min()), "n": int(a.size),
                     "gflops": (2.0 * macs / (med * 1e-3) / 1e9) if macs else None}
    peers = [rt for rt in runtimes if rt != "xnn"]
    ratio = fastest = paired = None
    if "xnn" in stats and peers:
        fastest = min(peers, key=lambda rt: stats[rt]["median_ms"])
        ratio = stats["xnn"]["median_ms"] / stats[fastest]["median_ms"]
        # Each round's xnn median over the same round's median of that peer: the two were timed a few hundred
        # ms apart, so a change of the shared host's state (its phases last seconds to minutes) moves both.
        per_round = np.asarray(round_medians["xnn"]) / np.asarray(round_medians[fastest])
        paired = {"median": float(np.median(per_round)), "p10": float(np.percentile(per_round, 10)),
                  "p90": float(np.percentile(per_round, 90))}
    return {"model": model, "threads": threads, "input_shape": bm.input_shape, "macs": macs,
            "runtimes": runtimes, "skipped": skipped,
            "stats": stats, "roof": roof, "fastest_peer": fastest, "ratio": ratio, "paired": paired,
            "agreement": agreement,
            "ref_err": ref_err, "notes": notes, "profile": profile, "kinds": layer_kinds(bm),
            "versions": {rt: i["version"] for rt, i in infos.items()},
            "load_ms": {rt: i["load_ms"] for rt, i in infos.items()}}


# --------------------------------------------------------------------------------------------
# environment + report
# --------------------------------------------------------------------------------------------

def cpu_info() -> Dict[str, str]:
    name, flags = platform.processor() or "unknown", set()
    try:
        text = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        if m:
            name = m.group(1).strip()
        m = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        if m:
            flags = set(m.group(1).split())
    except OSError:
        pass
    wanted = ["sse4_2", "avx", "fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "neon", "asimd"]
    present = [f for f in wanted if f in flags]
    summary = ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in ("avx2", "avx512f"))
    return {"model": name, "flags": summary, "all_flags": " ".join(present),
            "cores": str(os.cpu_count()),
            "affinity": str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else "?"}


def load_average() -> str:
    """1/5/15-minute load averages (other work on the machine while benchmarking)."""
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=models.REPO_DIR,
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=models.REPO_DIR,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (rev + ("+local changes" if dirty else "")) if rev else "unknown"
    except Exception:
        return "unknown"


def versions(results: Sequence[Dict]) -> Dict[str, str]:
    v = {}
    for res in results:
        v.update(res["versions"])
    v["numpy"] = np.__version__
    v["python"] = platform.python_version()
    try:
        import xnn

        v["xnn cpu features"] = str(xnn.cpu_features())
    except Exception:
        pass
    return v


def agreement_text(r: Dict) -> str:
    """"vs xnn: ort 1.9e-06, ...; worst pair a vs b 3.1e-06[; vs float64: ...]" for one result."""
    ag = r["agreement"]
    rts = r["runtimes"]
    parts = []
    if len(rts) > 1:
        first = rts[0]
        parts.append(f"vs {SHORT[first]}: " + ", ".join(
            f"{SHORT[rt]} {ag[f'{first} vs {rt}']:.1e}" for rt in rts[1:]))
        worst = max(ag, key=ag.get)
        a, b = worst.split(" vs ")
        parts.append(f"worst pair {SHORT[a]} vs {SHORT[b]} {ag[worst]:.1e}")
    if r.get("ref_err"):
        parts.append("vs float64: " + ", ".join(f"{SHORT[rt]} {e:.1e}" for rt, e in r["ref_err"].items()))
    return "; ".join(parts)


def fmt_ms(v: float) -> str:
    return f"{v:.2f}" if v < 100 else f"{v:.1f}"


def markdown_section(results: Sequence[Dict], args, command: str, elapsed_s: float, started: str,
                     loads: Sequence[str] = ()) -> str:
    cpu = cpu_info()
    ver = versions(results)
    runtimes = [rt for rt in args.runtimes if any(rt in r["runtimes"] for r in results)]
    missing = list(getattr(args, "not_installed", []))
    L = [SECTION_BEGIN, "", "## Results", ""]
    L.append(f"Command (from the repository root, {elapsed_s / 60:.1f} min wall time, "
             f"model preparation included):")
    L += ["", "```", command, "```", ""]
    L.append(f"- Date (UTC): {started}")
    L.append(f"- Repository checkout: git {git_revision()} (xnn timed = the installed `xnn` package)")
    L.append("- Versions: " + ", ".join(f"{k} {ver[k]}" for k in list(models.RUNTIMES) + ["numpy", "python"]
                                        if k in ver))
    if missing:
        L.append("- Not run, package not installed: " + ", ".join(missing))
    if "xnn cpu features" in ver:
        L.append(f"- xnn.cpu_features(): `{ver['xnn cpu features']}`")
    L.append(f"- CPU: {cpu['model']}; {cpu['flags']} (present: {cpu['all_flags']}); "
             f"{cpu['cores']} logical cores ({cpu['affinity']} usable by this process)")
    if loads:
        L.append(f"- Load average (1/5/15 min) before / after the run: {loads[0]} → {loads[-1]} "
                 "(the machine is shared; other jobs inflate the spread, more so at 2 threads)")
    L.append(f"- Protocol: batch 1, seeded random weights (seed {models.WEIGHT_SEED}) and input "
             f"(seed {models.INPUT_SEED}); one worker process per runtime; {args.rounds} interleaved rounds x "
             f"{args.runs_per_round} timed runs (+{args.warmup} untimed warm-up run(s) per round, "
             f"{args.settle_ms:g} ms pause between runtimes"
             + (", the other runtimes' processes stopped (SIGSTOP) while one is timed" if args.isolate else "")
             + "), runtime order rotated each round; "
             f"p10/p90 over all {args.rounds * args.runs_per_round} runs. Outputs checked to agree within "
             f"{args.tol:g} of max before timing (pairs beyond it only if both are within it of a float64 "
             "numpy evaluation; see the notes).")
    L.append("- Runtime settings (details in `bench/bench_peers.py`): float32 everywhere, N threads each; "
             "ort CPU provider, ORT_ENABLE_ALL; OpenCV DNN default backend; MNN Session API, CPU, "
             "precision normal, model from MNN's Caffe converter; ncnn fp16/bf16 off, Vulkan off; "
             "TFLite (LiteRT) with its default XNNPACK delegate; torch eager, inference_mode. "
             "ncnn, TFLite and torch run a graph written by the bench with BatchNorm/Scale folded "
             "into the convolutions.")
    L.append("- GFLOP/s = 2 x MACs / median time, MACs = sum of xnn `model.layer_shapes()` macs "
             "(every layer, including BatchNorm/Scale/ReLU element counts).")
    has_roof = any(r.get("roof") for r in results)
    if has_roof:
        L.append(f"- sgemm roof = numpy's float32 `matmul` of two {ROOF_N} x {ROOF_N} matrices (its BLAS limited to "
                 "N threads), timed in the same interleaved rounds as the runtimes: median GFLOP/s (p10–p90 "
                 "over its runs). xnn / roof = xnn's GFLOP/s over that median: how much of what a tuned GEMM "
                 "gets from these cores in the same minutes the whole network reaches (Winograd layers count "
                 "their direct MACs: a network can pass 1).")
    L.append("- ratio = xnn median / fastest peer median (> 1: xnn is slower). paired = the median (p10–p90) "
             "over rounds of xnn's median in a round / that peer's median in the same round: the two are timed "
             "a few hundred ms apart, so a change of the shared host's state between rounds moves both.")
    L.append("")
    head = ["model", "threads"] + [f"{SHORT[rt]} median ms (p10–p90)" for rt in runtimes]
    if "xnn" in runtimes:
        head += ["xnn GFLOP/s"]
    if has_roof:
        head += ["sgemm roof GFLOP/s (p10–p90)"] + (["xnn / roof"] if "xnn" in runtimes else [])
    if "xnn" in runtimes and len(runtimes) > 1:
        head += ["xnn / fastest peer", "paired (p10–p90)"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    for res in results:
        row = [res["model"], str(res["threads"])]
        for rt in runtimes:
            s = res["stats"].get(rt)
            if s is None:
                row.append("skipped" if rt in res["skipped"] else "–")
            else:
                row.append(f"{fmt_ms(s['median_ms'])} ({fmt_ms(s['p10_ms'])}–{fmt_ms(s['p90_ms'])})")
        g = res["stats"].get("xnn", {}).get("gflops")
        if "xnn" in runtimes:
            row.append(f"{g:.1f}" if g is not None else "–")
        if has_roof:
            rf = res.get("roof")
            row.append(f"{rf['median_gflops']:.0f} ({rf['p10_gflops']:.0f}–{rf['p90_gflops']:.0f})" if rf else "–")
            if "xnn" in runtimes:
                row.append(f"{g / rf['median_gflops']:.2f}" if rf and g is not None else "–")
        if "xnn" in runtimes and len(runtimes) > 1:
            row.append(f"**{res['ratio']:.2f}** (vs {SHORT[res['fastest_peer']]})" if res["ratio"] is not None
                       else "–")
            pr = res.get("paired")
            row.append(f"{pr['median']:.2f} ({pr['p10']:.2f}–{pr['p90']:.2f})" if pr else "–")
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    L.append("MACs per batch-1 forward: " + ", ".join(
        sorted({f"{r['model']} {r['macs'] / 1e6:.0f} M" for r in results if r["macs"]})) + ".")
    L.append("")
    L.append("Output agreement (max |a − b| / max |a|; every pair is checked, shown: against the first "
             "runtime, the worst pair, and the error against float64 where it was computed): " +
             "; ".join(f"{r['model']} t{r['threads']}: " + agreement_text(r) for r in results) + ".")
    for r in results:
        for rt, why in r["skipped"].items():
            L.append(f"\nNote ({r['model']}, {r['threads']} thread{'s' if r['threads'] > 1 else ''}): "
                     f"{rt} skipped, the bench's conversion to its format does not handle this net: {why}")
        for n in r["notes"]:
            L.append(f"\nNote ({r['model']}, {r['threads']} thread{'s' if r['threads'] > 1 else ''}): {n}")
    L.append("")

    # ---- xnn profile
    by_model: Dict[str, List[Dict]] = {}
    for r in results:
        if r["profile"]:
            by_model.setdefault(r["model"], []).append(r)
    if by_model:
        L.append(f"### Where xnn's time goes (`model.profile(x, runs={args.profile_runs})`, per-layer medians)")
        L.append("")
    for model, rs in by_model.items():
        rs = sorted(rs, key=lambda r: r["threads"])
        kinds = rs[0]["kinds"]
        totals = {r["threads"]: sum(p[3] for p in r["profile"]) for r in rs}
        L.append(f"**{model}** — sum of layer times: " + ", ".join(
            f"{totals[t]:.1f} ms at {t} thread{'s' if t > 1 else ''}" for t in totals) + ".")
        L.append("")
        # by kind
        agg: Dict[str, Dict] = {}
        for r in rs:
            for name, ltype, macs, t in r["profile"]:
                k = kinds.get(name, ltype)
                a = agg.setdefault(k, {"macs": 0, "n": 0, "t": {}})
                if r is rs[0]:
                    a["macs"] += macs
                    a["n"] += 1
                a["t"][r["threads"]] = a["t"].get(r["threads"], 0.0) + t
        t0 = rs[0]["threads"]
        hdr = ["layer kind", "layers", "MMACs"] + \
              sum(([f"ms t{r['threads']}", f"share t{r['threads']}", f"GFLOP/s t{r['threads']}"] for r in rs), [])
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|---|" + "|".join(["---:"] * (len(hdr) - 1)) + "|")
        for k, a in sorted(agg.items(), key=lambda kv: -kv[1]["t"].get(t0, 0.0)):
            row = [k, str(a["n"]), f"{a['macs'] / 1e6:.1f}"]
            for r in rs:
                t = a["t"].get(r["threads"], 0.0)
                row += [f"{t:.2f}", f"{100 * t / totals[r['threads']]:.1f}%",
                        f"{2 * a['macs'] / (t * 1e-3) / 1e9:.1f}" if t > 0 else "–"]
            L.append("| " + " | ".join(row) + " |")
        L.append("")
        top = sorted(rs[0]["profile"], key=lambda p: -p[3])[:args.top_layers]
        others = {r["threads"]: {p[0]: p[3] for p in r["profile"]} for r in rs[1:]}
        hdr = ["top layers", "type / kind", "MMACs", f"ms t{t0}", f"share t{t0}", f"GFLOP/s t{t0}"] + \
              [f"ms t{t}" for t in others]
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|---|---|" + "|".join(["---:"] * (len(hdr) - 2)) + "|")
        for name, ltype, macs, t in top:
            row = [f"`{name}`", kinds.get(name, ltype), f"{macs / 1e6:.1f}", f"{t:.2f}",
                   f"{100 * t / totals[t0]:.1f}%", f"{2 * macs / (t * 1e-3) / 1e9:.1f}" if t > 0 else "–"]
            row += [f"{others[th].get(name, float('nan')):.2f}" for th in others]
            L.append("| " + " | ".join(row) + " |")
        L.append("")
    L.append(SECTION_END)
    return "\n".join(L) + "\n"


DEFAULT_HEADER = """# xnn benchmarks against its peers

Generated by `bench/bench_peers.py` (see its docstring for the protocol); re-run the command below
to refresh the results section. Speed is only measured here, never asserted in unit tests.

"""


def write_markdown(path: Path, section: str) -> None:
    """Replace the generated section of ``path`` (or append it; create the file if needed)."""
    if path.is_file():
        text = path.read_text()
        i, j = text.find(SECTION_BEGIN), text.find(SECTION_END)
        if i >= 0 and j > i:
            text = text[:i] + section.rstrip("\n") + text[j + len(SECTION_END):]
        else:
            text = text.rstrip("\n") + "\n\n" + section
    else:
        text = DEFAULT_HEADER + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def print_table(results: Sequence[Dict], runtimes: Sequence[str]) -> None:
    print(f"{'model':<18}{'thr':>4}" + "".join(f"{SHORT[rt] + ' ms (p10-p90)':>26}" for rt in runtimes) +
          f"{'xnn GF/s':>10}{'roof GF/s':>11}{'xnn/best':>16}{'paired':>8}")
    for r in results:
        line = f"{r['model']:<18}{r['threads']:>4}"
        for rt in runtimes:
            s = r["stats"].get(rt)
            if s is None:
                cell = "skipped" if rt in r["skipped"] else "-"
            else:
                cell = f"{fmt_ms(s['median_ms'])} ({fmt_ms(s['p10_ms'])}-{fmt_ms(s['p90_ms'])})"
            line += f"{cell:>26}"
        g = r["stats"].get("xnn", {}).get("gflops")
        line += f"{'-' if g is None else f'{g:.1f}':>10}"
        rf = r.get("roof")
        line += f"{'-' if not rf else format(rf['median_gflops'], '.0f'):>11}"
        rs = "-" if r["ratio"] is None else f"{r['ratio']:.2f} ({SHORT[r['fastest_peer']]})"
        line += f"{rs:>16}"
        line += f"{'-' if not r.get('paired') else format(r['paired']['median'], '.2f'):>8}"
        print(line)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["squeezenet_v1.1", "mobilenet_v1"],
                    help=f"models of tests/data/caffe (e.g. {', '.join(models.BENCH_MODELS)})")
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--runs-per-round", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs at the start of each round")
    ap.add_argument("--no-isolate", dest="isolate", action="store_false",
                    help="leave the other runtimes' processes running while one is timed (by default they are "
                         "stopped with SIGSTOP, so that their idle threads cannot take a core)")
    ap.add_argument("--settle-ms", type=float, default=20.0,
                    help="pause before each runtime's turn (idle thread pools stop spinning)")
    ap.add_argument("--runtimes", nargs="+", default=list(models.RUNTIMES), choices=models.RUNTIMES,
                    help="runtimes to run (default: all; one whose package is missing is reported as "
                         "not installed)")
    ap.add_argument("--tol", type=float, default=models.AGREE_TOL)
    ap.add_argument("--opencv-winograd", choices=("default", "on", "off"), default="default")
    ap.add_argument("--profile-runs", type=int, default=20, help="xnn model.profile runs (0: no profile)")
    ap.add_argument("--top-layers", type=int, default=6)
    ap.add_argument("--markdown", type=Path, help="(re)write the results section of this markdown file")
    ap.add_argument("--no-roof", dest="roof", action="store_false",
                    help="do not time numpy's float32 matmul (the host's GEMM roof) in the rounds")
    ap.add_argument("--worker", choices=list(models.RUNTIMES) + [ROOF], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        wg = {"default": None, "on": True, "off": False}[args.opencv_winograd]
        return worker_main(args.worker, args.models[0], args.threads[0], wg)

    if args.rounds < 1 or args.runs_per_round < 1:
        ap.error("--rounds and --runs-per-round must be >= 1")
    args.runtimes = list(dict.fromkeys(args.runtimes))
    args.not_installed = [rt for rt in args.runtimes if not models.installed(rt)]
    for rt in args.not_installed:
        print(f"[bench] {rt}: not installed (python module {models.RUNTIME_MODULES[rt]!r} not found); "
              "not run", file=sys.stderr)
    args.runtimes = [rt for rt in args.runtimes if rt not in args.not_installed]
    if not args.runtimes:
        ap.error("none of the chosen runtimes is installed")
    raw = list(sys.argv[1:] if argv is None else argv)
    command = "python bench/bench_peers.py " + " ".join(shlex.quote(a) for a in raw)
    started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = load_average()
    t0 = time.perf_counter()
    results = []
    for model in args.models:
        for threads in args.threads:
            results.append(run_config(model, threads, args))
    elapsed = time.perf_counter() - t0
    loads = (load_before, load_average())
    print_table(results, [rt for rt in args.runtimes if any(rt in r["runtimes"] for r in results)])
    for rt in args.not_installed:
        print(f"{rt}: not installed")
    print(f"[bench] total {elapsed:.1f} s", file=sys.stderr)
    if args.markdown:
        write_markdown(args.markdown, markdown_section(results, args, command, elapsed, started, loads))
        print(f"[bench] wrote {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

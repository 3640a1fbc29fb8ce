"""xnn against onnxruntime by stage of one network: each prefix of the net (its layers before a cut) is
run whole by both runtimes, in one process, in interleaved rounds, and the differences between
consecutive prefixes give each stage's time.

    python bench/stages_vs_ort.py mobilenet_v2 --threads 1 \\
        --cuts conv3_1/expand conv4_1/expand conv4_4/expand conv5_1/expand conv6_1/expand pool6

Why not per layer (bench/layers_vs_ort.py): onnxruntime's profiler adds about 5 us a node, as much as
the differences between the runtimes on a MobileNet's layers. A prefix is a whole run in both, so
nothing is added; cut where the tensor is small (after a block's last layer), since onnxruntime
converts the prefix's output out of its blocked layout at the end, a cost the whole network does not
pay. xnn runs ``session.run`` on an input set once, onnxruntime ``run_with_iobinding`` on a bound
input: neither copies the input per run. Seeded random weights as in bench_peers.py.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402  (bench/models.py)
from models import caffe_tools  # noqa: E402  (tests/caffe_tools.py)


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return float(np.median(times)) / 1e6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--cuts", nargs="+", required=True, help="layers each prefix stops before, in net order")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--runs", type=int, default=40, help="timed runs of each prefix per round")
    args = ap.parse_args(argv)

    import onnxruntime as ort
    from google.protobuf import text_format
    import xnn

    bm = models.prepare(args.model)
    net = caffe_tools.load_prototxt(bm.prototxt)
    names = [layer.name for layer in net.layer]
    unknown = [c for c in args.cuts if c not in names]
    if unknown:
        ap.error(f"{args.model} has no layer {', '.join(unknown)}")
    ends = [names.index(c) for c in args.cuts] + [len(names)]
    if ends != sorted(ends):
        ap.error("--cuts must be in the net's order")
    x = bm.make_input()
    runners = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, end in enumerate(ends):
            prefix = type(net)()
            prefix.CopyFrom(net)
            del prefix.layer[end:]
            proto = Path(tmp) / f"prefix{i}.prototxt"
            proto.write_text(text_format.MessageToString(prefix))
            onnx_path = Path(tmp) / f"prefix{i}.onnx"
            caffe_tools.caffe_to_onnx(proto, bm.caffemodel, onnx_path, {bm.input_name: bm.input_shape})
            so = ort.SessionOptions()
            so.intra_op_num_threads = args.threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
            binding = sess.io_binding()
            binding.bind_cpu_input(bm.input_name, x)
            for out in sess.get_outputs():
                binding.bind_output(out.name, "cpu")
            model = xnn.Model.load(str(proto), str(bm.caffemodel), num_threads=args.threads)
            session = model._session_for((tuple(x.shape),))
            session.set_input(0, x)
            session.run()
            sess.run_with_iobinding(binding)
            runners.append((session.run, lambda s=sess, b=binding: s.run_with_iobinding(b), model, sess))

    times = np.zeros((len(runners), 2, args.rounds))
    for r in range(args.rounds):
        for i, (xnn_run, ort_run, _, _) in enumerate(runners):
            times[i, 0, r] = median_ms(xnn_run, args.runs)
            times[i, 1, r] = median_ms(ort_run, args.runs)
    med = np.median(times, axis=2)
    print(f"{args.model}, {args.threads} thread(s), medians of {args.rounds} rounds of {args.runs} runs (ms)")
    print(f"{'prefix: layers before':24s} {'xnn':>8s} {'ort':>8s} | {'stage xnn':>9s} {'stage ort':>9s} {'diff':>8s}")
    prev = np.zeros(2)
    for cut, (a, b) in zip(args.cuts + ["(whole net)"], med):
        print(f"{cut:24s} {a:8.3f} {b:8.3f} | {a - prev[0]:9.3f} {b - prev[1]:9.3f} {(a - prev[0]) - (b - prev[1]):+8.3f}")
        prev = np.array([a, b])
    return 0


if __name__ == "__main__":
    sys.exit(main())

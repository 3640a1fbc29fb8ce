"""Per-layer time of xnn next to onnxruntime's on the same model (both in this process, one after the
other, seeded random weights as in bench_peers.py), to see where a gap between them comes from.

    python bench/layers_vs_ort.py mobilenet_v1 --threads 1 --top 12

xnn's layers come from ``Model.profile`` (each fused layer: a convolution with its folded BatchNorm/Scale,
ReLU and residual sum); onnxruntime's from its own profiler (``enable_profiling``), its nodes matched to
the Caffe layers by name (onnxruntime renames fused/NCHWc nodes ``<layer>..._nchwc``; the ONNX export
names BatchNorm/Scale nodes ``<layer>/bn``, ``<layer>/scale``). Medians over ``--runs`` runs each.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402  (bench/models.py)


def caffe_layer(node: str) -> str:
    """onnxruntime node name -> the Caffe layer it comes from."""
    return re.sub(r"(/bn|/scale)?(_nchwc.*)?$", "", node)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--top", type=int, default=15, help="rows, largest xnn - onnxruntime difference first")
    args = ap.parse_args(argv)

    import onnxruntime as ort
    import xnn

    bm = models.prepare(args.model)
    x = bm.make_input()
    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, "ort")
        sess = ort.InferenceSession(str(bm.onnx), so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        for _ in range(args.runs):
            sess.run(None, {name: x})
        events = json.load(open(sess.end_profiling()))
        # onnxruntime's pool threads spin between runs: with the session alive they took a core from
        # xnn's 2-thread profile that follows (MobileNet v1 7.9 ms against 5.6 without them).
        del sess
    per_node = collections.defaultdict(list)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per_node[e["name"][: -len("_kernel_time")]].append(e["dur"] / 1e3)
    ort_ms = collections.defaultdict(float)
    for node, times in per_node.items():
        ort_ms[caffe_layer(node)] += float(np.median(times[len(times) // 5:]))  # skip the first runs

    model = xnn.Model.load(str(bm.prototxt), str(bm.caffemodel), num_threads=args.threads)
    model.predict(x)
    prof = model.profile(x, runs=args.runs)
    rows = [(p.name, p.type, p.time_ms, ort_ms.get(p.name, 0.0)) for p in prof]
    matched = {p.name for p in prof}
    other = sum(v for k, v in ort_ms.items() if k not in matched)
    print(f"{args.model}, {args.threads} thread(s): xnn {sum(r[2] for r in rows):.2f} ms, onnxruntime "
          f"{sum(ort_ms.values()):.2f} ms (sums of layer medians; onnxruntime nodes without a Caffe layer: "
          f"{other:.2f} ms)")
    print(f"{'layer':28s} {'xnn type':40s} {'xnn ms':>8s} {'ort ms':>8s} {'diff':>8s}")
    for n, t, a, b in sorted(rows, key=lambda r: r[3] - r[2])[: args.top]:
        print(f"{n:28s} {t[:40]:40s} {a:8.3f} {b:8.3f} {a - b:+8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

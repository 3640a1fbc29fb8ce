"""Each convolution of a model cut out as a one-layer net (with the BatchNorm, Scale and ReLU that follow
it in place), timed alone in xnn and in peers that have no per-layer profiler of their own (TFLite), side
by side in one process, interleaved rounds:

    python bench/layers_alone.py mobilenet_v2 --threads 1 --peers tflite onnxruntime

A layer alone runs with warm caches (its input and weights stay in L2/L3 from one run to the next), so the
figures compare the kernels, not the cache traffic inside a network (bench/layers_vs_ort.py measures that
with onnxruntime's profiler). Seeded random weights; each one-layer net goes through the same exporters as
bench_peers.py. Prints the layers whose xnn / fastest-peer ratio is largest first, and the sums.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402  (bench/models.py)
from models import BenchModel, caffe_tools  # noqa: E402
from timing import interleaved, median_timer  # noqa: E402  (bench/timing.py)

IN_PLACE_TAIL = ("BatchNorm", "Scale", "ReLU")


def layer_nets(name: str):
    """(layer name, prototxt text, input shape) of every Convolution of the model with the in-place
    BatchNorm/Scale/ReLU layers after it."""
    from google.protobuf import text_format

    net = caffe_tools.load_prototxt(caffe_tools.model_prototxt(name))
    info = caffe_tools.analyze_net(net, caffe_tools.net_input_shapes(net, batch=1))
    shapes = {li.name: li.bottom_shapes for li in info.layers}
    layers = list(caffe_tools.iter_layers(net))
    out = []
    for i, (lname, ltype, bottoms, tops, msg) in enumerate(layers):
        if ltype != "Convolution":
            continue
        group = [msg]
        for _, ntype, nb, nt, nmsg in layers[i + 1:]:
            if ntype not in IN_PLACE_TAIL or nb != tops or nt != tops:
                break
            group.append(nmsg)
        shape = tuple(int(d) for d in shapes[lname][0])
        text = [f'name: "{lname}"', 'input: "data"', "input_shape { " + " ".join(f"dim: {d}" for d in shape) + " }"]
        for k, m in enumerate(group):
            m = type(m).FromString(m.SerializeToString())
            m.bottom[:] = ["data" if k == 0 else tops[0]]
            text.append("layer { " + text_format.MessageToString(m, as_one_line=True) + " }")
        out.append((lname, "\n".join(text) + "\n", shape))
    return out


def prepare(model: str, layer: str, prototxt_text: str, shape) -> BenchModel:
    safe = layer.replace("/", "_")
    folder = models.CACHE_DIR / "layers" / model
    folder.mkdir(parents=True, exist_ok=True)
    proto = folder / f"{safe}.prototxt"
    if not proto.is_file() or proto.read_text() != prototxt_text:
        proto.write_text(prototxt_text)
        for old in folder.glob(f"{safe}.seed*"):
            old.unlink()
    caffemodel = folder / f"{safe}.seed{models.WEIGHT_SEED}.caffemodel"
    onnx_path = folder / f"{safe}.seed{models.WEIGHT_SEED}.onnx"
    if not caffemodel.is_file():
        caffe_tools.random_caffemodel(proto, caffemodel, seed=models.WEIGHT_SEED, input_shapes={"data": shape})
    if not onnx_path.is_file():
        caffe_tools.caffe_to_onnx(proto, caffemodel, onnx_path, {"data": shape})
    info = caffe_tools.analyze_net(caffe_tools.load_prototxt(proto), {"data": shape})
    outputs = tuple(b for b in info.outputs if b not in info.inputs)
    return BenchModel(name=f"{model}.{safe}", prototxt=proto, caffemodel=caffemodel, onnx=onnx_path,
                      input_name="data", input_shape=tuple(shape), outputs=outputs,
                      opencv_outputs=tuple(info.outputs[b] for b in outputs))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--peers", nargs="+", default=["tflite"])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args(argv)
    runtimes = ["xnn"] + args.peers
    rows = []
    for layer, text, shape in layer_nets(args.model):
        bm = prepare(args.model, layer, text, shape)
        x = bm.make_input()
        runners = [models.load_runner(rt, bm, args.threads) for rt in runtimes]
        outs = [r.run(x) for r in runners]
        for rt, o in zip(runtimes[1:], outs[1:]):
            err = models.max_rel_diff(outs[0], o)
            if err > models.AGREE_TOL:
                print(f"{layer}: xnn and {rt} differ by {err:.2e} of max", file=sys.stderr)
        inputs = [r.prepare_input(x) for r in runners]
        med = interleaved([median_timer(lambda r=r, xi=xi: r.predict(xi), args.runs)
                           for r, xi in zip(runners, inputs)], args.rounds)
        rows.append((layer, shape, med))
        print(f"  {layer:24s} " + "  ".join(f"{rt} {m:.3f}" for rt, m in zip(runtimes, med)), file=sys.stderr)
    sums = [sum(r[2][i] for r in rows) for i in range(len(runtimes))]
    print(f"{args.model}, {args.threads} thread(s), each convolution alone (medians, ms): sums "
          + ", ".join(f"{rt} {s:.2f}" for rt, s in zip(runtimes, sums)))
    print(f"{'layer':24s} {'input':>16s} " + " ".join(f"{rt:>9s}" for rt in runtimes) + "  xnn/best")
    rows.sort(key=lambda r: r[2][0] / min(r[2][1:]), reverse=True)
    for layer, shape, med in rows[:args.top]:
        print(f"{layer:24s} {'x'.join(map(str, shape[1:])):>16s} " + " ".join(f"{m:9.3f}" for m in med)
              + f"  {med[0] / min(med[1:]):8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

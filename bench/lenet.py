"""The two MNIST networks of the compression benchmark, trained here: LeNet-300-100 and LeNet-5 (Caffe's
`lenet` definitions, bench/models/*.prototxt), as real Caffe files (prototxt + caffemodel).

Weights start as Caffe's fillers would make them (xavier: uniform in +-sqrt(3 / fan_in), biases 0), are
written as a caffemodel, read back by xnn's Caffe reader and trained with xqueeze's fine-tuning loop (SGD,
momentum 0.9, weight decay 5e-4); the trained weights are written as the fp32 caffemodel that compression
starts from and is compared with."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from xnn.format import wire
from xnn.graph import Graph

MODELS_DIR = Path(__file__).resolve().parent / "models"
#: Layer name -> blob shapes (weights, bias), in prototxt order.
SHAPES = {
    "lenet300_100": {"ip1": [(300, 784), (300,)], "ip2": [(100, 300), (100,)], "ip3": [(10, 100), (10,)]},
    "lenet5": {"conv1": [(20, 1, 5, 5), (20,)], "conv2": [(50, 20, 5, 5), (50,)], "ip1": [(500, 800), (500,)],
               "ip2": [(10, 500), (10,)]},
}


#: Training epochs and learning rates: chosen on the validation images (the last 5,000 training images).
EPOCHS = {"lenet300_100": 40, "lenet5": 12}
LR = {"lenet300_100": 0.05, "lenet5": 0.01}


def _blob(a: np.ndarray) -> bytes:
    shape = wire.bytes_field(7, wire.packed_ints(1, a.shape))
    return shape + wire.bytes_field(5, np.ascontiguousarray(a, "<f4").tobytes())


def write_caffemodel(path: Path, blobs: Dict[str, Sequence[np.ndarray]]) -> int:
    """A NetParameter with one layer (name, blobs) per entry: what Caffe's reader matches by name."""
    layers = [wire.bytes_field(100, wire.string_field(1, name) + b"".join(wire.bytes_field(7, _blob(b)) for b in bs))
              for name, bs in blobs.items()]
    data = b"".join(layers)
    path.write_bytes(data)
    return len(data)


def xavier_caffemodel(name: str, path: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    blobs: Dict[str, List[np.ndarray]] = {}
    for layer, (w, b) in SHAPES[name].items():
        scale = np.sqrt(3.0 / int(np.prod(w[1:])))
        blobs[layer] = [rng.uniform(-scale, scale, w).astype(np.float32), np.zeros(b, np.float32)]
    write_caffemodel(path, blobs)


def graph_blobs(graph: Graph) -> Dict[str, List[np.ndarray]]:
    return {n.name: [np.asarray(w, np.float32) for w in n.weights] for n in graph.nodes if n.weights}


def trained(name: str, data, out_dir: Path, seed: int = 0, progress: bool = True) -> Path:
    """Trains ``name`` (once: the caffemodel is kept in ``out_dir``) and returns the caffemodel's path."""
    from xnn.xqueeze import finetune

    out = out_dir / f"{name}.caffemodel"
    if out.exists():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    init = out_dir / f"{name}.init.caffemodel"
    xavier_caffemodel(name, init, seed)
    graph = Graph.from_caffe(MODELS_DIR / f"{name}.prototxt", init)
    # SGD with momentum 0.9 and weight decay 5e-4 as Caffe's lenet solver, batch 64; the rate is divided by 10
    # for the second half.
    cfg = {"finetune": {"lr": LR[name], "batch": 64, "lr_decay": 0.1}, "seed": seed}
    graph = finetune(graph, data, EPOCHS[name], cfg, progress=progress)
    write_caffemodel(out, graph_blobs(graph))
    init.unlink()
    return out

"""The compression pipeline: a config's steps run in order on a Graph, fine-tuning with data between them,
every step measured by writing the .xnn file and evaluating it with the C runtime.

A config (JSON) names the steps and their per-layer targets; layer names may be glob patterns::

    {"finetune": {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.0005, "batch": 64},
     "steps": [
       {"step": "transform"},
       {"step": "neuron_prune", "layers": {"ip1": 0.3}, "iterations": 2, "epochs": 2},
       {"step": "synapse_prune", "layers": {"conv1": 0.6, "conv2": 0.9, "ip*": 0.96}, "iterations": 3, "epochs": 2},
       {"step": "quantize", "bits": {"conv*": 6, "ip*": 4}, "epochs": 2},
       {"step": "encode"}]}

Steps: ``transform`` (lossless rewrites), ``neuron_prune`` (fraction or count of neurons kept per layer),
``synapse_prune`` (sparsity per layer, reached in ``iterations`` equal steps; with ``block`` b (or a map of
layer patterns to b), blocks of b output channels at one input position pruned together, which the runtime
runs faster), ``quantize`` (``mode`` "kmeans"
with ``bits`` per layer and centroid fine-tuning, or "int8"), ``reconstruct`` (post-training pruning and
quantization layer by layer with error compensation, from a few calibration images: ``layers`` maps
patterns to ``{"sparsity": s, "bits": b}`` (and ``"step"``, a uniform grid's spacing); ``images`` calibration images from the training set, ``damp``,
``refit``, ``refit_codebook``, then ``epochs`` of fine-tuning of the centroids; see
:mod:`xnn.xqueeze.reconstruct`), ``distill`` (the compressed network, masks and codebook assignments fixed,
trained to give the uncompressed network's outputs and chosen intermediate tensors on augmented crops of the
training images; the keys of :class:`xnn.xqueeze.distill.DistillOptions`, plus ``threads`` for PyTorch),
``encode`` (biases, Affine scales and codebooks as float16 where that does
not change the validation error by more than ``tolerance``; with ``affine_bits``, Affine scales and shifts
on per-tensor codebooks of that many bits under the same condition).
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import json
import math
from pathlib import Path
from typing import Callable, Dict, List, Optional, Union

import numpy as np

from ..format import CodedWeight, encode
from ..graph import Graph
from . import prune, quantize, reconstruct, transform
from .data import Dataset
from .report import Report, StepResult, layer_sizes

STEPS = ("transform", "neuron_prune", "synapse_prune", "quantize", "reconstruct", "distill", "encode")


def load_config(source: Union[str, Path, dict]) -> dict:
    """A config from a JSON file or a dict, checked."""
    cfg = dict(source) if isinstance(source, dict) else json.loads(Path(source).read_text())
    for i, s in enumerate(cfg.get("steps", [])):
        if s.get("step") not in STEPS:
            raise ValueError(f"config step {i}: unknown step {s.get('step')!r} (known: {', '.join(STEPS)})")
    return cfg


def _match(graph: Graph, patterns: Dict[str, float], ops=("Convolution", "InnerProduct")) -> Dict[str, float]:
    """Layer name -> value for every weighted layer matched by a pattern (the first matching pattern wins)."""
    out = {}
    for n in graph.nodes:
        if n.op not in ops or not n.weights:
            continue
        for pat, v in patterns.items():
            if fnmatch.fnmatchcase(n.name, pat):
                out[n.name] = v
                break
    missing = [p for p in patterns if not any(fnmatch.fnmatchcase(n, p) for n in out)]
    if missing:
        raise ValueError(f"config names layers that are not weighted layers of the model: {missing}")
    return out


@dataclasses.dataclass
class Compressed:
    graph: Graph
    report: Report

    def save(self, path: Union[str, Path]) -> int:
        return self.graph.save(path)


class _Run:
    def __init__(self, graph: Graph, cfg: dict, data: Optional[Dataset], progress: bool, log: Callable[[str], None]):
        self.graph = copy.deepcopy(graph)
        self.original = graph  # the teacher of the distill step; never modified
        self.cfg = cfg
        self.data = data
        self.progress = progress
        self.log = log
        self.masks: Dict[str, np.ndarray] = {}
        self.quantized: Dict[str, tuple] = {}  # name -> (centroids, full index array)
        self.net = None
        # Fine-tuning uses the training set but its last `validation` images, which decide what is lossless
        # enough (float16); the test set is only reported.
        v = int(cfg.get("validation", 5000)) if data is not None else 0
        self.train = (data.x_train[:-v], data.y_train[:-v]) if data is not None and v else None
        self.val = (data.x_train[-v:], data.y_train[-v:]) if data is not None and v else None
        self.rng = np.random.default_rng(int(cfg.get("seed", 0)))
        self.threads: Optional[int] = None

    # ------------------------------------------------------------------ torch side

    def build_net(self):
        from .torchnet import TorchNet

        net = TorchNet(self.graph)
        for name, m in self.masks.items():
            net.set_mask(name, m)
        for name, (c, idx) in self.quantized.items():
            net.quantize(name, c, idx)
        self.net = net
        return net

    def sync_graph(self) -> None:
        """Trained weights back into the graph (codebooks as CodedWeight)."""
        self.graph = self.net.to_graph()
        for name, q in self.net.quantized.items():
            self.quantized[name] = (q.centroids.detach().numpy().copy(), q.indices.numpy().copy())

    def finetune(self, epochs: float, what: str) -> None:
        if not epochs or self.train is None:
            return
        from .torchnet import torch

        ft = dict(self.cfg.get("finetune", {}))
        net = self.net if self.net is not None else self.build_net()
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=float(ft.get("lr", 0.01)), momentum=float(ft.get("momentum", 0.9)),
                              weight_decay=float(ft.get("weight_decay", 5e-4)))
        batch = int(ft.get("batch", 64))
        x, y = self.train
        steps = int(math.ceil(epochs * len(x) / batch))
        decay = float(ft.get("lr_decay", 0.5))
        torch.manual_seed(int(self.rng.integers(1 << 31)))
        bar = _progress(steps, f"fine-tune ({what})", self.progress)
        net.train()
        done = 0
        while done < steps:
            order = self.rng.permutation(len(x))
            for i in range(0, len(order) - batch + 1, batch):
                if done == steps:
                    break
                # Halve the rate for the last half of the steps: settles the weights around the new structure.
                lr = float(ft.get("lr", 0.01)) * (decay if done >= steps // 2 else 1.0)
                for gr in opt.param_groups:
                    gr["lr"] = lr
                idx = order[i : i + batch]
                out = net(torch.from_numpy(x[idx]), logits=True)
                target = torch.from_numpy(y[idx])
                out = out.reshape(out.shape[0], -1)
                if target.dim() == 2:  # a teacher's logits: distillation
                    target = torch.softmax(target, dim=1)
                loss = torch.nn.functional.cross_entropy(out, target)
                opt.zero_grad()
                loss.backward()
                opt.step()
                net.apply_masks()
                done += 1
                bar.update(1)
        bar.close()
        self.sync_graph()

    # ------------------------------------------------------------------ measuring

    def error(self, graph: Graph, split: str = "test") -> Optional[float]:
        """Error of ``graph`` written as .xnn and run by the C runtime."""
        if self.data is None:
            return None
        from ..model import Model

        x, y = (self.data.x_test, self.data.y_test) if split == "test" else self.val
        model = Model.from_bytes(encode(graph), num_threads=self.threads)
        wrong = 0
        for i in range(0, len(x), 1000):
            out = model.predict(x[i : i + 1000])
            out = next(iter(out.values())) if isinstance(out, dict) else out
            want = y[i : i + 1000]
            want = want.argmax(1) if want.ndim == 2 else want
            wrong += int((out.reshape(out.shape[0], -1).argmax(1) != want).sum())
        return wrong / len(x)

    def spatial(self) -> Dict[int, int]:
        from .torchnet import spatial_sizes

        shape = self.graph.inputs[0][1]
        sample = self.data.x_train[:1] if self.data is not None else np.zeros((1,) + tuple(shape[1:]), np.float32)
        return spatial_sizes(self.graph, sample)

    # ------------------------------------------------------------------ steps

    def step_transform(self, s: dict) -> str:
        done = transform.lossless(self.graph, self.spatial())
        self._after_structure_change()
        return ", ".join(f"{v} {k}" for k, v in done.items() if v)

    def _after_structure_change(self) -> None:
        """Masks follow the zeros of the (possibly reshaped) weights; the net is rebuilt."""
        self.masks = {n: (np.asarray(self.graph.node(n).weights[0]) != 0).astype(np.float32) for n in self.masks}
        self.net = None

    def step_neuron_prune(self, s: dict) -> str:
        if self.quantized:
            raise ValueError("neuron_prune must come before quantize")
        from .torchnet import torch

        targets = _match(self.graph, s["layers"])
        iterations = int(s.get("iterations", 1))
        counts = {n: int(self.graph.node(n).attrs["num_output"][0]) for n in targets}
        finals = {n: prune.keep_count(counts[n], t) for n, t in targets.items()}
        sample = (self.train[0] if self.train is not None else np.zeros((1,) + self.graph.inputs[0][1][1:], np.float32))
        sample = sample[self.rng.permutation(len(sample))[:2000]]
        for it in range(1, iterations + 1):
            spatial = self.spatial()
            from .torchnet import TorchNet

            with torch.no_grad():
                t = TorchNet(self.graph).trace(torch.from_numpy(sample))
            for name in targets:
                node = self.graph.node(name)
                now = int(node.attrs["num_output"][0])
                # Geometric steps from the full count to the final one.
                want = int(round(counts[name] * (finals[name] / counts[name]) ** (it / iterations)))
                want = max(finals[name], min(now, want))
                if want == now:
                    continue
                chain, _ = prune.channel_readers(self.graph, node, spatial)
                last = chain[-1].outputs[0] if chain else node.outputs[0]
                imp = prune.neuron_importance(self.graph, name, t[last].numpy(), spatial)
                keep = np.sort(np.argsort(-imp, kind="stable")[:want])
                prune.remove_neurons(self.graph, name, keep, spatial)
            self._after_structure_change()
            self.finetune(float(s.get("epochs", 1)), f"neurons {it}/{iterations}")
        return ", ".join(f"{n} {counts[n]}->{self.graph.node(n).attrs['num_output'][0]}" for n in targets)

    def step_synapse_prune(self, s: dict) -> str:
        if self.quantized:
            raise ValueError("synapse_prune must come before quantize")
        targets = _match(self.graph, s["layers"])
        iterations, block = int(s.get("iterations", 1)), s.get("block", 1)
        blocks = ({n: int(b) for n, b in _match(self.graph, block).items()} if isinstance(block, dict)
                  else {n: int(block) for n in targets})
        for it in range(1, iterations + 1):
            frac = {n: t * it / iterations for n, t in targets.items()}
            self.masks.update(prune.weight_masks(self.graph, frac, self.masks, blocks))
            for n, m in self.masks.items():
                self.graph.node(n).weights[0] = np.asarray(self.graph.node(n).weights[0]) * m
            self.build_net()
            self.finetune(float(s.get("epochs", 1)), f"synapses {it}/{iterations}")
        return ", ".join(f"{n} {100 * prune.sparsity_of(self.graph.node(n).weights[0]):.1f}% zero" for n in targets)

    def step_quantize(self, s: dict) -> str:
        mode = s.get("mode", "kmeans")
        if mode == "int8":
            for n in self.graph.nodes:
                if n.op in ("Convolution", "InnerProduct") and n.weights and not isinstance(n.weights[0], CodedWeight):
                    w = np.asarray(n.weights[0], np.float32)
                    nz = np.flatnonzero(w)
                    scale, q = quantize.int8_linear(w)
                    pos = nz if nz.size < w.size else None
                    flat = q.reshape(-1)
                    n.weights[0] = CodedWeight(w.shape, pos, scale=scale, int8=flat if pos is None else flat[nz])
            self.net = None
            return "int8, one scale per output channel"
        if mode != "kmeans":
            raise ValueError(f"quantize: unknown mode {mode!r} (kmeans or int8)")
        bits = _match(self.graph, s["bits"])
        for name, b in bits.items():
            w = np.asarray(self.graph.node(name).weights[0], np.float32)
            mask = self.masks.get(name, np.ones_like(w))
            nz = np.flatnonzero(mask.reshape(-1))
            cents, idx_nz = quantize.kmeans_1d(w.reshape(-1)[nz], 1 << int(b))
            idx = np.zeros(w.size, np.int64)
            idx[nz] = idx_nz
            self.quantized[name] = (cents, idx.reshape(w.shape))
            self.masks.setdefault(name, np.ones_like(w))
        self.build_net()
        self.sync_graph()
        self.finetune(float(s.get("epochs", 0)), "centroids")
        return ", ".join(f"{n} {b} bits" for n, b in bits.items())

    def step_reconstruct(self, s: dict) -> str:
        if self.quantized:
            raise ValueError("reconstruct must come before quantize")
        layers = _match(self.graph, s["layers"])
        bad = [n for n, v in layers.items() if not isinstance(v, dict) or set(v) - {"sparsity", "bits", "step"}]
        if bad:
            raise ValueError(f"reconstruct: layer {bad[0]!r} needs {{\"sparsity\": s, \"bits\": b}} (and \"step\")")
        specs = {n: reconstruct.LayerSpec(float(v.get("sparsity", 0.0)), int(v.get("bits", 8)), float(v.get("step", 0.0)))
                 for n, v in layers.items()}
        pool = self.train[0] if self.train is not None else None
        if pool is None:
            raise ValueError("reconstruct needs calibration images (data)")
        x = pool[np.sort(self.rng.permutation(len(pool))[: int(s.get("images", 256))])]
        done = reconstruct.reconstruct_graph(self.graph, specs, x, float(s.get("damp", 0.01)),
                                             bool(s.get("refit", True)), bool(s.get("refit_codebook", True)))
        for name, (q, mask) in done.items():
            self.quantized[name] = q
            self.masks[name] = mask
        self.build_net()
        self.finetune(float(s.get("epochs", 0)), "reconstructed")
        groups: Dict[str, int] = {}
        for sp in specs.values():
            key = f"{100 * sp.sparsity:.0f}% zero, {sp.bits} bits"
            groups[key] = groups.get(key, 0) + 1
        return "; ".join(f"{c} layer{'s' if c > 1 else ''} {k}" for k, c in groups.items())

    def step_distill(self, s: dict) -> str:
        from . import distill
        from .torchnet import TorchNet, torch

        if self.train is None:
            raise ValueError("distill needs training images (data)")
        known = {f.name for f in dataclasses.fields(distill.DistillOptions)}
        bad = set(s) - known - {"step", "threads"}
        if bad:
            raise ValueError(f"distill: unknown keys {sorted(bad)} (known: {', '.join(sorted(known | {'threads'}))})")
        opts = distill.DistillOptions(**{k: v for k, v in s.items() if k in known})
        before = torch.get_num_threads()
        threads = s.get("threads", self.threads)
        if threads:
            torch.set_num_threads(int(threads))
        try:
            student = self.net if self.net is not None else self.build_net()
            teacher = TorchNet(self.original)
            losses = distill.distill(student, teacher, self.train[0], opts,
                                     lambda total, desc: _progress(total, desc, self.progress))
        finally:
            torch.set_num_threads(before)
        self.sync_graph()
        k = max(1, len(losses) // 10)
        return (f"{opts.steps} steps of {opts.batch} at {opts.size or 'full'} px, loss {np.mean(losses[:k]):.4f} -> "
                f"{np.mean(losses[-k:]):.4f}")

    def step_encode(self, s: dict) -> str:
        """Biases, Affine scales, then codebooks, as float16 where the validation error does not grow."""
        if self.val is None:
            return "float32 kept (no validation data)"
        # ``tolerance``: how much the validation error may grow (a fraction; with few validation images one
        # flipped image should not keep float32).
        base = self.error(self.graph, "val") + float(s.get("tolerance", 0.0))
        changed = []
        for kind in ("bias", "scale", "codebook"):
            trial = copy.deepcopy(self.graph)
            for n in trial.nodes:
                slot = 1 if kind == "bias" else 0
                if (kind == "bias" and len(n.weights) > 1 or kind == "scale" and n.op == "Affine") \
                        and not isinstance(n.weights[slot], CodedWeight):
                    b = np.asarray(n.weights[slot], np.float32)
                    n.weights[slot] = CodedWeight(b.shape, values=b.astype(np.float16), half=True)
                elif kind == "codebook" and n.weights and isinstance(n.weights[0], CodedWeight) \
                        and n.weights[0].centroids is not None:
                    n.weights[0] = dataclasses.replace(n.weights[0], half=True)
            if self.error(trial, "val") <= base:
                self.graph = trial
                changed.append(kind)
        note = "float16 " + " and ".join(changed) if changed else "float32 kept"
        bits = int(s.get("affine_bits", 0))
        if bits:
            # Affine scales and shifts of many channels on a per-tensor codebook (float16 centroids), where
            # the index is cheaper than a float16 and the validation error does not grow.
            trial = copy.deepcopy(self.graph)
            for n in trial.nodes:
                for slot, w in enumerate(n.weights if n.op == "Affine" else []):
                    v = w.dense() if isinstance(w, CodedWeight) else np.asarray(w, np.float32)
                    if v.size > 2 << bits:
                        c, idx = quantize.kmeans_1d(v, 1 << bits)
                        n.weights[slot] = CodedWeight(v.shape, centroids=c, indices=idx, half=True)
            kept = self.error(trial, "val") <= self.error(self.graph, "val") + float(s.get("tolerance", 0.0))
            if kept:
                self.graph = trial
            note += f"; Affine on {bits}-bit codebooks" + ("" if kept else " rejected (validation error grows)")
        self.net = None
        return note


def finetune(graph: Graph, data: Dataset, epochs: float, config: Optional[dict] = None, progress: bool = True
             ) -> Graph:
    """``graph`` trained for ``epochs`` on ``data`` (SGD with momentum; ``config["finetune"]`` sets lr,
    momentum, weight_decay, batch, lr_decay); zeros of the weights are not kept (nothing is pruned yet)."""
    run = _Run(graph, dict(config or {}), data, progress, print)
    run.build_net()
    run.finetune(epochs, "train")
    return run.graph


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="batch", leave=False, mininterval=2.0)


def compress(graph: Graph, config: Union[str, Path, dict], data: Optional[Dataset] = None, source_bytes: int = 0,
             progress: bool = True, log: Callable[[str], None] = print, threads: Optional[int] = None) -> Compressed:
    """Runs the config's steps on a copy of ``graph``. With ``data``, layers are fine-tuned between steps and
    every step's .xnn file is evaluated on the test set by the C runtime (with ``threads`` threads; ``None``:
    one per core); without, only data-free steps make sense (transform, synapse pruning and quantization
    without epochs, encode)."""
    cfg = load_config(config)
    run = _Run(graph, cfg, data, progress, log)
    run.threads = threads
    original = {n.name: int(np.prod(np.shape(n.weights[0]))) for n in graph.nodes if n.weights}
    report = Report(source_bytes=source_bytes or 4 * sum(int(np.size(w)) for n in graph.nodes for w in n.weights))
    report.baseline_error = run.error(graph)
    if report.baseline_error is not None:
        log(f"fp32 model: test error {100 * report.baseline_error:.2f}%")
    for s in cfg.get("steps", []):
        note = getattr(run, f"step_{s['step']}")(s)
        size = len(encode(run.graph))
        err = run.error(run.graph)
        report.steps.append(StepResult(s["step"], err, size, note))
        log(f"{s['step']}: {note}; {size:,} bytes"
            + ("" if err is None else f", test error {100 * err:.2f}%"))
    report.layers = layer_sizes(run.graph, original)
    return Compressed(run.graph, report)

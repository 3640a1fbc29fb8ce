"""A Graph as a PyTorch module, for fine-tuning: the same operators with Caffe's semantics, weights as
parameters, pruning masks that stay applied, and quantized layers whose trainable parameters are their
codebook's centroids (every weight of a cluster moves with its centroid, as in Deep Compression)."""

from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence

import numpy as np

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as e:  # an optional dependency: say how to get it
    raise ImportError("fine-tuning needs PyTorch: pip install 'xnn[xqueeze]'") from e

from ..errors import UnsupportedError
from ..format import CodedWeight
from ..graph import Graph, Node

#: Operators whose first weight is a matrix that pruning and quantization work on.
WEIGHTED = ("Convolution", "InnerProduct")


def _act(x: torch.Tensor, values: Optional[Sequence[float]]) -> torch.Tensor:
    if values is None:
        return x
    slope, lo, hi = (float(v) for v in values)
    if slope != 1.0:
        x = F.relu(x) if slope == 0.0 else torch.where(x > 0, x, x * slope)
    if lo != float("-inf") or hi != float("inf"):
        x = torch.clamp(x, min=None if lo == float("-inf") else lo, max=None if hi == float("inf") else hi)
    return x


def _axis(axis: int, ndim: int) -> int:
    return axis + ndim if axis < 0 else axis


class QuantizedWeight(nn.Module):
    """W = centroids[indices] * mask: the centroids are trained, the assignment and the mask are fixed.

    A centroid's gradient is the sum of its weights' gradients; it is divided by their number, so that a
    centroid moves at the pace of one weight and fine-tuning keeps the learning rate of the other steps
    (the sum, with thousands of weights per centroid, overshoots at any rate that trains weights)."""

    def __init__(self, centroids: np.ndarray, indices: np.ndarray, mask: np.ndarray, half: bool = False) -> None:
        super().__init__()
        self.centroids = nn.Parameter(torch.tensor(np.asarray(centroids, np.float32)))
        self.register_buffer("indices", torch.tensor(np.asarray(indices, np.int64)))
        self.register_buffer("mask", torch.tensor(np.asarray(mask, np.float32)))
        counts = np.bincount(np.asarray(indices).reshape(-1), weights=np.asarray(mask).reshape(-1),
                             minlength=len(centroids))
        self.register_buffer("counts", torch.tensor(np.maximum(counts, 1.0), dtype=torch.float32))
        self.centroids.register_hook(lambda g: g / self.counts)
        self.half = half

    def forward(self) -> torch.Tensor:
        return self.centroids[self.indices] * self.mask


class TorchNet(nn.Module):
    """Runs ``graph`` in PyTorch. Weights live in ``self.weights[node][slot]`` (parameters); a pruned
    weight has a 0/1 mask in ``self.masks`` that :meth:`apply_masks` re-applies after every optimizer
    step; a quantized one is a :class:`QuantizedWeight` in ``self.quantized``."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        if len(graph.inputs) != 1:
            raise UnsupportedError("fine-tuning handles single-input networks")
        self.graph = graph
        self.weights = nn.ModuleDict()
        self.masks: Dict[str, torch.Tensor] = {}
        self.quantized = nn.ModuleDict()
        for n in graph.nodes:
            if n.op == "LRN" and int(n.attrs.get("region", [0])[0]) != 0:
                raise UnsupportedError(f"layer '{n.name}': LRN within channels is not supported for fine-tuning")
            if n.weights:
                dense = [w.dense() if isinstance(w, CodedWeight) else np.asarray(w, np.float32) for w in n.weights]
                self.weights[n.name] = nn.ParameterList([nn.Parameter(torch.tensor(w)) for w in dense])

    # ------------------------------------------------------------------ weights

    def weight(self, name: str, slot: int = 0) -> torch.Tensor:
        if slot == 0 and name in self.quantized:
            return self.quantized[name]()
        return self.weights[name][slot]

    def set_mask(self, name: str, mask: np.ndarray) -> None:
        """Keeps weight 0 of layer ``name`` at zero wherever ``mask`` is 0, from now on."""
        m = torch.tensor(np.asarray(mask, np.float32))
        self.masks[name] = m
        with torch.no_grad():
            self.weights[name][0].mul_(m)

    def apply_masks(self) -> None:
        with torch.no_grad():
            for name, m in self.masks.items():
                if name not in self.quantized:
                    self.weights[name][0].mul_(m)

    def quantize(self, name: str, centroids: np.ndarray, indices: np.ndarray, half: bool = False) -> None:
        """Replaces layer ``name``'s weight 0 by a codebook: ``indices`` (its shape) into ``centroids``; the
        mask (of pruning, or all ones) stays."""
        w = self.weights[name][0]
        mask = self.masks.get(name, torch.ones_like(w)).numpy()
        self.quantized[name] = QuantizedWeight(centroids, indices, mask, half)
        w.requires_grad_(False)

    def dense_weight(self, name: str, slot: int = 0) -> np.ndarray:
        return self.weight(name, slot).detach().numpy().copy()

    # ------------------------------------------------------------------ forward

    def trace(self, x: torch.Tensor) -> Dict[int, torch.Tensor]:
        """Every tensor of the graph for input ``x``, by id."""
        t: Dict[int, torch.Tensor] = {self.graph.inputs[0][0]: x}
        for n in self.graph.nodes:
            for tid, v in zip(n.outputs, self._node(n, [t[i] for i in n.inputs])):
                t[tid] = v
        return t

    def forward(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        """The network's output; with ``logits``, a final Softmax is left out (for a cross-entropy loss)."""
        t: Dict[int, torch.Tensor] = {self.graph.inputs[0][0]: x}
        for n in self.graph.nodes:
            if logits and n.op == "Softmax" and n.outputs == self.graph.outputs:
                return t[n.inputs[0]]
            for tid, v in zip(n.outputs, self._node(n, [t[i] for i in n.inputs])):
                t[tid] = v
        outs = [t[o] for o in self.graph.outputs]
        return outs[0] if len(outs) == 1 else outs  # type: ignore[return-value]

    def _node(self, n: Node, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        a = n.attrs
        get = lambda k, d: a.get(k, d)  # noqa: E731
        x = xs[0] if xs else None
        op = n.op
        if op == "Convolution":
            pad = [int(v) for v in get("pad", [0, 0, 0, 0])]
            if pad[0] != pad[2] or pad[1] != pad[3]:
                x = F.pad(x, (pad[1], pad[3], pad[0], pad[2]))
                padding = (0, 0)
            else:
                padding = (pad[0], pad[1])
            bias = self.weight(n.name, 1) if int(get("bias", [1])[0]) else None
            y = F.conv2d(x, self.weight(n.name), bias, stride=tuple(int(v) for v in get("stride", [1, 1])),
                         padding=padding, dilation=tuple(int(v) for v in get("dilation", [1, 1])),
                         groups=int(get("group", [1])[0]))
            return [_act(y, a.get("activation"))]
        if op == "InnerProduct":
            axis = _axis(int(get("axis", [1])[0]), x.dim())
            x2 = x.reshape(*x.shape[:axis], -1)
            bias = self.weight(n.name, 1) if int(get("bias", [1])[0]) else None
            return [_act(F.linear(x2, self.weight(n.name), bias), a.get("activation"))]
        if op == "Pooling":
            method = int(get("method", [0])[0])
            if int(get("global", [0])[0]):
                return [x.amax(dim=(2, 3), keepdim=True) if method == 0 else x.mean(dim=(2, 3), keepdim=True)]
            k = tuple(int(v) for v in get("kernel", [1, 1]))
            s = tuple(int(v) for v in get("stride", [1, 1]))
            pad = [int(v) for v in get("pad", [0, 0, 0, 0])]
            if pad[0] != pad[2] or pad[1] != pad[3]:
                raise UnsupportedError(f"layer '{n.name}': asymmetric pooling pads are not supported for fine-tuning")
            ceil = bool(int(get("ceil_mode", [1])[0]))
            if method == 0:
                return [F.max_pool2d(x, k, s, (pad[0], pad[1]), ceil_mode=ceil)]
            return [F.avg_pool2d(x, k, s, (pad[0], pad[1]), ceil_mode=ceil, count_include_pad=True)]
        if op == "ReLU":
            return [_act(x, get("activation", [0.0, float("-inf"), float("inf")]))]
        if op == "PReLU":
            w = self.weight(n.name)
            w = w.reshape(1, -1, *([1] * (x.dim() - 2))) if w.numel() > 1 else w
            return [torch.where(x > 0, x, x * w)]
        if op == "Sigmoid":
            return [torch.sigmoid(x)]
        if op == "TanH":
            return [torch.tanh(x)]
        if op == "LRN":
            return [F.local_response_norm(x, int(get("size", [5])[0]), float(get("alpha", [1.0])[0]),
                                          float(get("beta", [0.75])[0]), float(get("k", [1.0])[0]))]
        if op == "Affine":
            shape = (1, -1) + (1,) * (x.dim() - 2)
            return [x * self.weight(n.name, 0).reshape(shape) + self.weight(n.name, 1).reshape(shape)]
        if op == "Eltwise":
            kind = int(get("operation", [1])[0])
            if kind == 0:
                y = xs[0]
                for v in xs[1:]:
                    y = y * v
            elif kind == 1:
                coeffs = [float(c) for c in get("coeffs", [1.0] * len(xs))]
                y = sum(c * v for c, v in zip(coeffs, xs))
            else:
                y = xs[0]
                for v in xs[1:]:
                    y = torch.maximum(y, v)
            return [_act(y, a.get("activation"))]
        if op == "Concat":
            return [torch.cat(xs, dim=_axis(int(get("axis", [1])[0]), xs[0].dim()))]
        if op == "Slice":
            axis = _axis(int(get("axis", [1])[0]), x.dim())
            points = [int(p) for p in get("points", [])]
            if points:
                bounds = [0] + points + [x.shape[axis]]
                sizes = [bounds[i + 1] - bounds[i] for i in range(len(bounds) - 1)]
            else:
                sizes = [x.shape[axis] // len(n.outputs)] * len(n.outputs)
            return list(torch.split(x, sizes, dim=axis))
        if op == "Softmax":
            return [torch.softmax(x, dim=_axis(int(get("axis", [1])[0]), x.dim()))]
        if op == "Identity":
            return [x] * len(n.outputs)
        if op == "Flatten":
            axis = _axis(int(get("axis", [1])[0]), x.dim())
            end = _axis(int(get("end_axis", [-1])[0]), x.dim())
            return [x.reshape(*x.shape[:axis], -1, *x.shape[end + 1 :])]
        if op == "Reshape":
            axis = int(get("axis", [0])[0])
            axis = axis + x.dim() + 1 if axis < 0 else axis
            num_axes = int(get("num_axes", [-1])[0])
            end = x.dim() if num_axes == -1 else axis + num_axes
            spec = [int(d) for d in get("shape", [])]
            mid = [x.shape[axis + i] if d == 0 else d for i, d in enumerate(spec)]
            return [x.reshape(*x.shape[:axis], *mid, *x.shape[end:])]
        raise UnsupportedError(f"layer '{n.name}': operator {op} is not supported for fine-tuning")

    # ------------------------------------------------------------------ back to a graph

    def to_graph(self) -> Graph:
        """A copy of the graph with the trained weights: dense float32 arrays (pruned weights as zeros), or
        :class:`CodedWeight` codebooks for quantized layers (sparse when pruned)."""
        g = copy.deepcopy(self.graph)
        for n in g.nodes:
            if n.name not in self.weights:
                continue
            new = []
            for slot in range(len(n.weights)):
                if slot == 0 and n.name in self.quantized:
                    q = self.quantized[n.name]
                    mask = q.mask.numpy().reshape(-1)
                    pos = np.flatnonzero(mask) if mask.min() == 0 else None
                    idx = q.indices.numpy().reshape(-1)
                    new.append(CodedWeight(tuple(q.mask.shape), pos, centroids=q.centroids.detach().numpy().copy(),
                                           indices=idx if pos is None else idx[pos], half=q.half))
                else:
                    new.append(self.dense_weight(n.name, slot))
            n.weights = new
        return g


def spatial_sizes(graph: Graph, sample: np.ndarray) -> Dict[int, int]:
    """H*W of every tensor (1 for tensors without spatial axes) for an input like ``sample``."""
    with torch.no_grad():
        t = TorchNet(graph).trace(torch.from_numpy(np.ascontiguousarray(sample[:1], np.float32)))
    return {k: int(np.prod(v.shape[2:])) if v.dim() > 2 else 1 for k, v in t.items()}


def evaluate(net: nn.Module, x: np.ndarray, y: np.ndarray, batch: int = 1000) -> float:
    """Classification error (fraction) of ``net`` on ``x``/``y``."""
    net.eval()
    wrong = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = net(torch.from_numpy(x[i : i + batch]))
            wrong += int((out.reshape(out.shape[0], -1).argmax(1).numpy() != y[i : i + batch]).sum())
    return wrong / len(x)

"""Network transforms: lossless rewrites of a Graph (the outputs stay equal within float rounding).

- ``fold_affine``: a per-channel Affine (BatchNorm/Scale/Bias) after a Convolution or InnerProduct is folded
  into its weights and bias;
- ``fuse_activations``: a ReLU / leaky ReLU / clamp after a Convolution, InnerProduct or Eltwise becomes the
  ``activation`` attribute of that node;
- ``remove_identities``: Identity nodes (Dropout, Split) are removed, their readers rewired;
- ``remove_dead_neurons``: an output channel whose weights are all zero is a constant; when that constant is
  0 where it is read (after its activation and the channel-wise layers in between) the channel is removed,
  and when it is read only by fully connected layers its contribution moves into their bias.
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from ..errors import UnsupportedError
from ..format import CodedWeight
from ..graph import Graph, Node
from .prune import channel_readers, remove_neurons

IDENTITY_ACT = [1.0, float("-inf"), float("inf")]


def _single_reader(g: Graph, tensor: int):
    readers = [n for n in g.nodes if tensor in n.inputs]
    if len(readers) != 1 or tensor in g.outputs:
        return None
    return readers[0]


def _rewire(g: Graph, old: int, new: int) -> None:
    """Readers of tensor ``old`` read ``new``; a network output keeps its name."""
    for n in g.nodes:
        n.inputs = [new if t == old else t for t in n.inputs]
    if old in g.outputs:
        g.tensors[new] = g.tensors[old]
    g.outputs = [new if t == old else t for t in g.outputs]


def _dense(n: Node) -> bool:
    return not any(isinstance(w, CodedWeight) for w in n.weights)


def _has_act(n: Node) -> bool:
    act = n.attrs.get("activation")
    return act is not None and [float(v) for v in act] != IDENTITY_ACT


def _absorb(g: Graph, firsts, second: str, merge) -> int:
    """For every node of an op in ``firsts`` (dense, no activation yet) read only by a node of op ``second``:
    ``merge(first, second)`` folds the second into the first (False: leave the pair), which then writes the
    second's readers' tensor. Returns how many were absorbed."""
    done = 0
    for n in list(g.nodes):
        if n.op not in firsts or _has_act(n) or not _dense(n):
            continue
        m = _single_reader(g, n.outputs[0])
        if m is None or m.op != second or not merge(n, m):
            continue
        _rewire(g, m.outputs[0], n.outputs[0])
        g.nodes.remove(m)
        done += 1
    return done


def _fold(n: Node, m: Node) -> bool:
    a, b = (np.asarray(w, np.float32) for w in m.weights)
    w = np.asarray(n.weights[0], np.float32)
    if a.size != w.shape[0]:
        return False
    bias = np.asarray(n.weights[1], np.float32) if int(n.attrs.get("bias", [1])[0]) else np.zeros(w.shape[0], np.float32)
    n.weights = [w * a.reshape((-1,) + (1,) * (w.ndim - 1)), bias * a + b]
    n.attrs["bias"] = [1]
    n.num_params = 0
    return True


def _fuse(n: Node, m: Node) -> bool:
    n.attrs["activation"] = list(m.attrs.get("activation", [0.0, float("-inf"), float("inf")]))
    return True


def fold_affine(g: Graph) -> int:
    """Folds Affine nodes into the Convolution/InnerProduct before them; returns how many."""
    return _absorb(g, ("Convolution", "InnerProduct"), "Affine", _fold)


def fuse_activations(g: Graph) -> int:
    """Moves ReLU nodes into the activation attribute of the node before them; returns how many."""
    return _absorb(g, ("Convolution", "InnerProduct", "Eltwise"), "ReLU", _fuse)


def remove_identities(g: Graph) -> int:
    done = 0
    for n in list(g.nodes):
        if n.op != "Identity" or any(t in g.outputs for t in n.outputs):
            continue
        for t in n.outputs:
            _rewire(g, t, n.inputs[0])
        g.nodes.remove(n)
        done += 1
    return done


def _act_value(c: float, act) -> float:
    if act is None:
        return c
    slope, lo, hi = (float(v) for v in act)
    c = c if c > 0 else c * slope
    return min(max(c, lo), hi)


def _constant_after(c: float, chain: List[Node]) -> float:
    """The value a constant channel has after channel-wise layers, or NaN if it does not stay constant."""
    for p in chain:
        if p.op == "ReLU":
            c = _act_value(c, p.attrs.get("activation", [0.0, float("-inf"), float("inf")]))
        elif p.op == "Pooling":
            padded = any(int(v) for v in p.attrs.get("pad", [0, 0, 0, 0]))
            if int(p.attrs.get("method", [0])[0]) == 1 and padded and c != 0:
                return float("nan")
        elif p.op in ("Identity", "Flatten"):
            pass
        else:  # per-channel parameters or non-linear maps: not followed here
            return float("nan")
    return c


def remove_dead_neurons(g: Graph, spatial: Dict[int, int]) -> int:
    """Removes output channels with all-zero weights (see the module doc); returns how many."""
    removed = 0
    for n in list(g.nodes):
        if n.op not in ("Convolution", "InnerProduct") or not _dense(n) or int(n.attrs.get("group", [1])[0]) != 1:
            continue
        w = np.asarray(n.weights[0])
        dead = np.flatnonzero(~w.reshape(w.shape[0], -1).any(axis=1))
        if dead.size == 0 or dead.size == w.shape[0]:
            continue
        try:
            chain, readers = channel_readers(g, n, spatial)
        except UnsupportedError:
            continue
        bias = np.asarray(n.weights[1]) if int(n.attrs.get("bias", [1])[0]) else np.zeros(w.shape[0], np.float32)
        removable = []
        for j in dead:
            c = _constant_after(_act_value(float(bias[j]), n.attrs.get("activation")), chain)
            if c == 0.0:
                removable.append(j)
            elif c == c and all(r.node.op == "InnerProduct" and _dense(r.node) for r in readers):
                for r in readers:
                    rw = np.asarray(r.node.weights[0])
                    cols = np.arange(j * r.span, (j + 1) * r.span)
                    if not int(r.node.attrs.get("bias", [1])[0]):
                        r.node.weights.append(np.zeros(rw.shape[0], np.float32))
                        r.node.attrs["bias"] = [1]
                    r.node.weights[1] = (np.asarray(r.node.weights[1], np.float64)
                                         + rw[:, cols].astype(np.float64).sum(axis=1) * c).astype(np.float32)
                    rw[:, cols] = 0
                removable.append(j)
        if removable:
            keep = np.setdiff1d(np.arange(w.shape[0]), removable)
            remove_neurons(g, n.name, keep, spatial)
            removed += len(removable)
    return removed


def lossless(g: Graph, spatial: Dict[int, int]) -> Dict[str, int]:
    """All transforms, in an order where each enables the next; returns what each did."""
    return {
        "identities removed": remove_identities(g),
        "affine folded": fold_affine(g),
        "activations fused": fuse_activations(g),
        "dead neurons removed": remove_dead_neurons(g, spatial),
    }

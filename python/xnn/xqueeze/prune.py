"""Pruning.

- Synapse pruning: per layer, the weights of smallest magnitude are set to zero until the layer's target
  sparsity; the mask stays applied through fine-tuning (``TorchNet.apply_masks``). With a block size,
  blocks of that many consecutive output channels at one input position go together (smallest L2 norm
  first): the zeros the runtime's blocked sparse kernels turn into more speed than scattered ones.
- Neuron pruning: whole output channels / neurons are removed, with the matching inputs of the layers that
  read them (through channel-wise layers such as ReLU, pooling and Flatten), so the network itself shrinks.
  Their importance is measured on data: mean |activation| times the norm of the weights reading them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import UnsupportedError
from ..format import CodedWeight
from ..graph import Graph, Node

#: Layers a channel passes through unchanged (and which keep the channel axis 1).
CHANNELWISE = ("ReLU", "PReLU", "Sigmoid", "TanH", "Pooling", "Affine", "Identity")


def magnitude_mask(w: np.ndarray, sparsity: float, block: int = 1) -> np.ndarray:
    """0/1 mask keeping the ``1 - sparsity`` fraction of ``w`` with the largest magnitude (weights that are
    already zero go first). With ``block`` > 1: of the blocks of ``block`` consecutive output channels
    (axis 0) at one input position, by their L2 norm; the output channels must be whole blocks."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity {sparsity} must be in [0, 1)")
    if block < 1 or w.shape[0] % block:
        raise ValueError(f"{w.shape[0]} output channels are not whole blocks of {block}")
    blocks = np.asarray(w, np.float64).reshape(w.shape[0] // block, block, -1)
    norms = np.sqrt((blocks ** 2).sum(axis=1)).reshape(-1)
    drop = int(round(sparsity * norms.size))
    keep = np.ones(norms.size, np.float32)
    if drop:
        keep[np.argpartition(norms, drop - 1)[:drop]] = 0.0
    keep = keep.reshape(w.shape[0] // block, 1, -1)
    return np.repeat(keep, block, axis=1).reshape(w.shape)


def sparsity_of(w: np.ndarray) -> float:
    return float(np.mean(np.asarray(w) == 0))


# ------------------------------------------------------------------------------------ neurons


@dataclass
class _Reader:
    """A layer that reads the channels of a pruned layer: which weight axis they are, and how many
    consecutive indices each channel spans there (a Flatten spreads a channel over its H*W pixels)."""

    node: Node
    span: int


def _consumers(graph: Graph, tensor: int) -> List[Node]:
    return [n for n in graph.nodes if tensor in n.inputs]


def channel_readers(graph: Graph, node: Node, spatial: Dict[int, int]) -> Tuple[List[Node], List[_Reader]]:
    """The channel-wise layers between ``node`` and the layers that consume its channels, and those
    consumers. ``spatial[tensor]`` is the H*W of a tensor (from a forward pass). Raises UnsupportedError
    where removing a channel would not be a clean cut (concat, eltwise, depthwise, LRN across channels)."""
    passthrough: List[Node] = []
    readers: List[_Reader] = []
    if node.outputs[0] in graph.outputs:
        raise UnsupportedError(f"'{node.name}' is a network output: its neurons cannot be removed")
    stack = [(node.outputs[0], 1)]
    while stack:
        tensor, span = stack.pop()
        for c in _consumers(graph, tensor):
            if c.op in CHANNELWISE and span == 1:
                passthrough.append(c)
                if c.outputs[0] in graph.outputs:
                    raise UnsupportedError(f"'{node.name}': its channels reach the output through '{c.name}'")
                stack.append((c.outputs[0], 1))
            elif c.op == "Flatten" and int(c.attrs.get("axis", [1])[0]) == 1 and span == 1:
                passthrough.append(c)
                stack.append((c.outputs[0], spatial[tensor]))
            elif c.op == "InnerProduct" and int(c.attrs.get("axis", [1])[0]) == 1:
                readers.append(_Reader(c, span * (spatial.get(tensor, 1) if span == 1 else 1)))
            elif c.op == "Convolution" and int(c.attrs.get("group", [1])[0]) == 1 and span == 1:
                readers.append(_Reader(c, 1))
            else:
                raise UnsupportedError(f"cannot remove neurons of '{node.name}': they reach '{c.name}' ({c.op})")
    return passthrough, readers


def remove_neurons(graph: Graph, name: str, keep: Sequence[int], spatial: Dict[int, int]) -> None:
    """Keeps only output channels ``keep`` (sorted indices) of layer ``name``, in place: its weights and
    bias, the per-channel parameters of the layers its channels pass through, and the input columns of the
    layers reading them."""
    node = graph.node(name)
    if node.op not in ("Convolution", "InnerProduct") or any(isinstance(w, CodedWeight) for w in node.weights):
        raise UnsupportedError(f"'{name}': neurons are removed from dense Convolution/InnerProduct layers")
    keep = np.asarray(sorted(set(int(k) for k in keep)), np.int64)
    count = int(node.attrs["num_output"][0])
    if len(keep) == 0 or keep[0] < 0 or keep[-1] >= count:
        raise ValueError(f"'{name}': keep must list 1..{count} channels below {count}")
    if node.op == "Convolution" and int(node.attrs.get("group", [1])[0]) != 1:
        raise UnsupportedError(f"'{name}': grouped convolutions keep their channels")
    passthrough, readers = channel_readers(graph, node, spatial)
    node.weights = [w[keep] for w in node.weights]
    node.attrs["num_output"] = [len(keep)]
    for p in passthrough:
        if p.op == "Affine" or (p.op == "PReLU" and p.weights[0].size > 1):
            p.weights = [w[keep] for w in p.weights]
    for r in readers:
        w = r.node.weights[0]
        if isinstance(w, CodedWeight):
            raise UnsupportedError(f"'{r.node.name}' is already quantized")
        if r.node.op == "Convolution":
            r.node.weights[0] = w[:, keep]
        else:
            cols = (keep[:, None] * r.span + np.arange(r.span)[None, :]).reshape(-1)
            r.node.weights[0] = w[:, cols]
    for n in [node] + passthrough + [r.node for r in readers]:
        n.num_params = 0  # the counts of the source file no longer hold


def neuron_importance(graph: Graph, name: str, activations: np.ndarray, spatial: Dict[int, int]) -> np.ndarray:
    """Importance of each output channel of ``name``: its mean |activation| (over samples and pixels, after
    the layers it passes through) times the L2 norm of the weights that read it."""
    node = graph.node(name)
    _, readers = channel_readers(graph, node, spatial)
    count = int(node.attrs["num_output"][0])
    mean_act = np.abs(activations).reshape(activations.shape[0], count, -1).mean(axis=(0, 2))
    out_norm = np.zeros(count)
    for r in readers:
        w = np.asarray(r.node.weights[0])
        if r.node.op == "Convolution":
            out_norm += (w.transpose(1, 0, 2, 3).reshape(count, -1) ** 2).sum(1)
        else:
            out_norm += (w.reshape(w.shape[0], count, r.span) ** 2).sum(axis=(0, 2))
    return mean_act * np.sqrt(out_norm)


def keep_count(count: int, target: float) -> int:
    """Neurons kept when pruning to ``target``: a fraction (0, 1] of ``count``, or an absolute count > 1."""
    k = int(round(target * count)) if target <= 1.0 else int(target)
    return max(1, min(count, k))


def weight_masks(graph: Graph, sparsity: Dict[str, float], existing: Optional[Dict[str, np.ndarray]] = None,
                 block: Union[int, Dict[str, int]] = 1) -> Dict[str, np.ndarray]:
    """Masks for the layers of ``sparsity`` (magnitude pruning of weight 0, in blocks of ``block`` output
    channels: one size for all, or per layer, 1 for those it does not name)."""
    out = {}
    for name, s in sparsity.items():
        w = np.asarray(graph.node(name).weights[0])
        if existing and name in existing:
            w = w * existing[name]
        try:
            out[name] = magnitude_mask(w, s, block.get(name, 1) if isinstance(block, dict) else block)
        except ValueError as e:
            raise ValueError(f"synapse_prune: layer {name!r}: {e}") from None
    return out

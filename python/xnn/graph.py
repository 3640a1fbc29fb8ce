"""The graph IR on the Python side: what the readers give, what converters and xqueeze edit, and what the
.xnn writer takes. It mirrors the C core's IR: tensors by id (a Caffe in-place layer writes a new tensor of
the same name), nodes with an operator of docs/FORMAT.md, attributes by name and weights as numpy arrays
in the operator's layout."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _xnn

AttrValue = List[Union[int, float]]
PathLike = Union[str, os.PathLike]


@dataclass
class Node:
    """One operator. ``weights`` hold float32 arrays, or :class:`xnn.format.CodedWeight` for weights
    that compression put in a coded form."""

    name: str
    op: str
    inputs: List[int]
    outputs: List[int]
    attrs: Dict[str, AttrValue] = field(default_factory=dict)
    weights: List[object] = field(default_factory=list)
    type: str = ""
    num_params: int = 0

    @property
    def layer_type(self) -> str:
        """The source model's layer type (``BatchNorm``), or the operator."""
        return self.type or self.op


@dataclass
class Graph:
    """A network: tensor names (ids are indices), inputs with their declared shapes, outputs, nodes in
    execution order, and free-form metadata written into the .xnn file."""

    tensors: List[str] = field(default_factory=list)
    inputs: List[Tuple[int, Tuple[int, ...]]] = field(default_factory=list)
    outputs: List[int] = field(default_factory=list)
    nodes: List[Node] = field(default_factory=list)
    metadata: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_caffe(cls, prototxt: PathLike, caffemodel: Optional[PathLike] = None) -> "Graph":
        """Reads a Caffe model with the C core's reader (the graph it runs, BatchNorm/Scale already per-channel
        ``Affine`` nodes)."""
        text = Path(prototxt).read_bytes()
        weights = Path(caffemodel).read_bytes() if caffemodel is not None else None
        g = cls._from_dict(_xnn.read_caffe_graph(text, weights))
        g.metadata["source"] = Path(prototxt).name
        return g

    @classmethod
    def from_xnn(cls, source: Union[PathLike, bytes]) -> "Graph":
        """Reads a .xnn file (its weights decoded to dense float32)."""
        data = bytes(source) if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
        return cls._from_dict(_xnn.read_xnn_graph(data))

    @classmethod
    def _from_dict(cls, d: dict) -> "Graph":
        nodes = [
            Node(
                name=n["name"],
                op=n["op"],
                inputs=list(n["inputs"]),
                outputs=list(n["outputs"]),
                attrs={k: list(v) for k, v in n["attrs"].items()},
                weights=[np.asarray(w, dtype=np.float32) for w in n["weights"]],
                type=n["type"],
                num_params=int(n["num_params"]),
            )
            for n in d["nodes"]
        ]
        g = cls(
            tensors=list(d["tensors"]),
            inputs=[(int(t), tuple(int(x) for x in s)) for t, s in d["inputs"]],
            outputs=[int(t) for t in d["outputs"]],
            nodes=nodes,
        )
        if d.get("layout", "NCHW") != "NCHW":
            g.metadata["layout"] = d["layout"]
        return g

    def add_tensor(self, name: str) -> int:
        """A new tensor id."""
        self.tensors.append(name)
        return len(self.tensors) - 1

    def input_names(self) -> List[str]:
        return [self.tensors[t] for t, _ in self.inputs]

    def output_names(self) -> List[str]:
        return [self.tensors[t] for t in self.outputs]

    def producer(self, tensor: int) -> Optional[Node]:
        """The node writing ``tensor``, None for a graph input."""
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: int) -> List[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def num_params(self) -> int:
        return sum(n.num_params or sum(int(np.prod(np.shape(w))) for w in n.weights) for n in self.nodes)

    def save(self, path: PathLike, **options) -> int:
        """Writes the graph as a .xnn file (see :func:`xnn.format.write`); returns its size in bytes."""
        from .format import write

        return write(self, path, **options)


def topological(nodes: Sequence[Node], inputs: Sequence[int]) -> bool:
    """True if every node reads only graph inputs or outputs of earlier nodes."""
    ready = set(inputs)
    for n in nodes:
        if not all(t in ready for t in n.inputs):
            return False
        ready.update(n.outputs)
    return True

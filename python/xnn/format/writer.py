"""The .xnn writer (docs/FORMAT.md): a Graph into the file the C core loads. Weights are written exactly as
given: a float32 array densely (or sparse when that is smaller and lossless), a CodedWeight in the form
compression chose for it."""

from __future__ import annotations

import dataclasses
import os
import struct
import zlib
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from .. import __version__ as _version
from ..graph import Graph, Node, topological
from . import wire
from .coding import Stream, encode_gaps, encode_stream

MAGIC = b"XNNM"
MAJOR, MINOR = 1, 0
HEADER_SIZE = 24
#: Integer attributes; everything else is written as floats.
FLOAT_ATTRS = frozenset({"activation", "alpha", "beta", "k", "coeffs", "clip", "scale"})


@dataclasses.dataclass
class CodedWeight:
    """A weight tensor in a coded form of the format.

    ``positions`` are the sorted flat (row-major) indices of the stored values; ``None`` stores every
    element. The values are one of: ``values`` (float32, or float16 with ``half``), ``centroids`` with
    ``indices`` (k-means weight sharing), or ``scale`` with ``int8`` (linear quantization; one scale, or one
    per row).
    """

    shape: Tuple[int, ...]
    positions: Optional[np.ndarray] = None
    values: Optional[np.ndarray] = None
    half: bool = False
    centroids: Optional[np.ndarray] = None
    indices: Optional[np.ndarray] = None
    scale: Optional[np.ndarray] = None
    int8: Optional[np.ndarray] = None

    @property
    def nnz(self) -> int:
        return int(np.prod(self.shape)) if self.positions is None else len(self.positions)

    def dense(self) -> np.ndarray:
        """The float32 tensor this decodes to (as the C reader decodes it)."""
        if self.values is not None:
            v = np.asarray(self.values, np.float16 if self.half else np.float32).astype(np.float32)
        elif self.centroids is not None:
            c = np.asarray(self.centroids, np.float16 if self.half else np.float32).astype(np.float32)
            v = c[np.asarray(self.indices, np.int64)]
        else:
            numel = int(np.prod(self.shape))
            pos = np.arange(numel) if self.positions is None else np.asarray(self.positions, np.int64)
            s = np.asarray(self.scale, np.float32).reshape(-1)
            row = pos // (numel // self.shape[0])
            v = (s[0] if s.size == 1 else s[row]) * np.asarray(self.int8, np.int8).astype(np.float32)
        out = np.zeros(int(np.prod(self.shape)), np.float32)
        if self.positions is None:
            out[:] = v
        else:
            out[np.asarray(self.positions, np.int64)] = v
        return out.reshape(self.shape)


def _stream(s: Stream) -> bytes:
    return (
        wire.uint_field(1, s.count)
        + wire.uint_field(2, s.bits)
        + (wire.bytes_field(3, s.packed) if s.packed is not None else b"")
        + (wire.bytes_field(4, s.code_lengths) if s.code_lengths is not None else b"")
        + (wire.bytes_field(5, s.huffman) if s.huffman is not None else b"")
    )


def _index_bits(k: int) -> int:
    return max(1, int(k - 1).bit_length())


def encode_weight(w: Union[np.ndarray, CodedWeight], sparse: str = "auto") -> bytes:
    """One Weight message. A float32 array is written densely, or with ``sparse="auto"`` as its nonzeros
    and their positions when that is smaller (the same values either way)."""
    if not isinstance(w, CodedWeight):
        a = np.ascontiguousarray(w, dtype=np.float32)
        if not np.all(np.isfinite(a)):
            raise ValueError("a weight has a non-finite value")
        coded = CodedWeight(shape=a.shape, values=a.reshape(-1))
        if sparse == "auto" and a.size:
            nz = np.flatnonzero(a)
            if len(nz) * 5 < a.size * 4:  # worth trying only below 80% density
                trial = CodedWeight(shape=a.shape, positions=nz, values=a.reshape(-1)[nz])
                dense, sparse_msg = encode_weight(coded, "never"), encode_weight(trial, "never")
                return sparse_msg if len(sparse_msg) < len(dense) else dense
        w = coded
    shape = tuple(int(d) for d in w.shape)
    if not shape or min(shape) < 1:
        raise ValueError(f"weight shape {shape} is empty")
    numel = int(np.prod(shape))
    msg = wire.packed_ints(1, shape) + wire.uint_field(2, w.nnz)
    if w.values is not None:
        vals = np.asarray(w.values).reshape(-1)
        if len(vals) != w.nnz:
            raise ValueError(f"{len(vals)} values for {w.nnz} positions")
        msg += wire.bytes_field(4, vals.astype("<f2").tobytes()) if w.half else wire.bytes_field(3, vals.astype("<f4").tobytes())
    elif w.centroids is not None:
        idx = np.asarray(w.indices).reshape(-1)
        k = len(w.centroids)
        if len(idx) != w.nnz or (len(idx) and (idx.min() < 0 or idx.max() >= k)) or not 1 <= k <= 65536:
            raise ValueError("codebook indices do not match the values or the centroids")
        cents = np.asarray(w.centroids).astype("<f2" if w.half else "<f4").tobytes()
        cb = wire.bytes_field(2 if w.half else 1, cents) + wire.bytes_field(3, _stream(encode_stream(idx, _index_bits(k))))
        msg += wire.bytes_field(5, cb)
    elif w.int8 is not None:
        q = np.asarray(w.int8, dtype=np.int8).reshape(-1)
        scale = np.asarray(w.scale, dtype=np.float32).reshape(-1)
        if len(q) != w.nnz or scale.size not in (1, shape[0]):
            raise ValueError("int8 values or scales do not match the shape")
        msg += wire.bytes_field(6, wire.packed_floats(1, scale) + wire.bytes_field(2, q.tobytes()))
    else:
        raise ValueError("a CodedWeight needs values, centroids+indices or scale+int8")
    if w.positions is not None:
        pos = np.asarray(w.positions, dtype=np.int64).reshape(-1)
        if len(pos) and (np.any(np.diff(pos) <= 0) or pos[0] < 0 or pos[-1] >= numel):
            raise ValueError("positions must be increasing flat indices inside the shape")
        msg += wire.bytes_field(7, _stream(encode_gaps(pos, numel)))
    return msg


_float_attrs_by_op: Optional[dict] = None


def _is_float_attr(op: str, name: str) -> bool:
    """How the C core's operator table stores the attribute; FLOAT_ATTRS for operators it lacks."""
    global _float_attrs_by_op
    if _float_attrs_by_op is None:
        from .. import _xnn

        _float_attrs_by_op = {k: frozenset(v) for k, v in _xnn.float_attrs().items()}
    known = _float_attrs_by_op.get(op)
    return name in known if known is not None else name in FLOAT_ATTRS


def _attr(op: str, name: str, values) -> bytes:
    vals = list(values) if isinstance(values, (list, tuple, np.ndarray)) else [values]
    body = wire.string_field(1, name)
    if _is_float_attr(op, name):
        body += wire.packed_floats(3, [float(v) for v in vals])
    else:
        body += wire.packed_ints(2, [int(v) for v in vals])
    return body


def _node(n: Node, sparse: str) -> bytes:
    msg = wire.string_field(1, n.name) + wire.string_field(2, n.op) + wire.string_field(3, n.type)
    msg += wire.packed_ints(4, n.inputs) + wire.packed_ints(5, n.outputs)
    for name, values in n.attrs.items():
        msg += wire.bytes_field(6, _attr(n.op, name, values))
    for w in n.weights:
        msg += wire.bytes_field(7, encode_weight(w, sparse))
    return msg + wire.uint_field(8, n.num_params)


def _compact(graph: Graph) -> Graph:
    """The graph without tensors nothing reads or writes (left behind by graph edits), ids renumbered."""
    used = {t for t, _ in graph.inputs} | set(graph.outputs)
    for n in graph.nodes:
        used.update(n.inputs)
        used.update(n.outputs)
    if len(used) == len(graph.tensors) or not all(0 <= t < len(graph.tensors) for t in used):
        return graph  # nothing to drop, or ids the reader must reject as they are
    new = {t: i for i, t in enumerate(sorted(used))}
    nodes = [dataclasses.replace(n, inputs=[new[t] for t in n.inputs], outputs=[new[t] for t in n.outputs])
             for n in graph.nodes]
    return Graph([graph.tensors[t] for t in sorted(used)], [(new[t], s) for t, s in graph.inputs],
                 [new[t] for t in graph.outputs], nodes, dict(graph.metadata))


def encode(graph: Graph, producer: Optional[str] = None, sparse: str = "auto") -> bytes:
    """The whole .xnn file as bytes."""
    if not topological(graph.nodes, [t for t, _ in graph.inputs]):
        raise ValueError("nodes are not in execution order (a node reads a tensor written later)")
    graph = _compact(graph)
    parts = [wire.string_field(1, producer or f"xnn {_version}")]
    parts += [wire.bytes_field(2, name.encode("utf-8")) for name in graph.tensors]
    parts += [wire.bytes_field(3, wire.uint_field(1, t) + wire.packed_ints(2, shape)) for t, shape in graph.inputs]
    parts.append(wire.packed_ints(4, graph.outputs))
    parts += [wire.bytes_field(5, _node(n, sparse)) for n in graph.nodes]
    parts += [wire.bytes_field(6, wire.string_field(1, k) + wire.string_field(2, v)) for k, v in graph.metadata.items()]
    payload = b"".join(parts)
    head = MAGIC + struct.pack("<HHQI", MAJOR, MINOR, len(payload), zlib.crc32(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def write(graph: Graph, path: Union[str, os.PathLike], producer: Optional[str] = None, sparse: str = "auto") -> int:
    """Writes ``graph`` to ``path``; returns the file size."""
    data = encode(graph, producer, sparse)
    Path(path).write_bytes(data)
    return len(data)

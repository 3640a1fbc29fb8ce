"""ONNX to xnn: :func:`from_onnx` reads an ``.onnx`` file (with the ``onnx`` package, ``pip install 'xnn[onnx]'``)
and gives an :class:`xnn.graph.Graph` in ONNX's own NCHW layout.

How it converts:

- Inputs keep their declared shapes; a symbolic dimension (``batch``, ``N``) becomes 1, or what
  ``input_shapes`` gives. The batch only matters at conversion: xnn re-plans any batch at run time, and
  reshapes that keep the first dimension are written so that they follow it.
- Every node whose inputs are all constant (initializers, ``Constant`` nodes, inputs bound with
  ``constants``) is evaluated at conversion, and ``Shape`` / ``Size`` of a tensor of known shape are
  constants too, so the shape subgraphs exporters write (Shape -> Gather -> Unsqueeze -> Concat -> Reshape)
  fold away. ``If`` with a constant condition is replaced by its branch.
- The rest maps onto xnn operators (the README lists them); anything else is collected, and one
  :class:`xnn.UnsupportedError` lists every unsupported node by name and op type.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import ModelFormatError, UnsupportedError, XnnIOError
from ..graph import Graph, Node

#: ONNX default-domain opsets the converter reads.
MIN_OPSET, MAX_OPSET = 7, 28

INF = float("inf")
_BINARY = {"Add": 0, "Sub": 1, "Mul": 2, "Div": 3, "Max": 4, "Min": 5, "Pow": 6}
_ELTWISE = {"Mul": 0, "Add": 1, "Sub": 1, "Max": 2}  # same-shape operands: Caffe's Eltwise (fusable)
_PRELU = 7
# Resize attribute values -> the xnn Resize op's codes.
_COORD = {"half_pixel": 0, "asymmetric": 1, "align_corners": 2, "pytorch_half_pixel": 3}
_NEAREST = {"round_prefer_floor": 0, "round_prefer_ceil": 1, "floor": 2, "ceil": 3}


class _Skip(Exception):
    """A node that cannot be converted because an input of it could not be."""


@dataclass
class _Unsupported(Exception):
    node: str
    op: str
    why: str


def from_onnx(
    path: Union[str, os.PathLike, bytes],
    input_shapes: Optional[Mapping[str, Sequence[int]]] = None,
    constants: Optional[Mapping[str, np.ndarray]] = None,
) -> Graph:
    """Converts an ONNX model.

    Args:
        path: an ``.onnx`` file, or its bytes.
        input_shapes: shapes for inputs by name, overriding the declared ones (symbolic dimensions
            otherwise become 1).
        constants: values for graph inputs by name: these inputs become constants, folded into the
            graph (an ``sr`` sample-rate input, or a weight given as an input).

    Raises:
        XnnIOError: the file cannot be read. ModelFormatError: not an ONNX model, truncated, or
        inconsistent. UnsupportedError: an opset outside ``MIN_OPSET..MAX_OPSET``, or nodes, types or
        attribute values xnn does not implement (all of them in one error).
    """
    try:
        import onnx
    except ImportError as e:
        raise UnsupportedError("converting ONNX models needs the onnx package: pip install 'xnn[onnx]'") from e

    if isinstance(path, (bytes, bytearray)):
        data, name = bytes(path), "<memory>"
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise XnnIOError(f"cannot read '{path}': {e.strerror or e}") from e
        name = Path(path).name
    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:  # the protobuf decoder's errors have no common base class
        raise ModelFormatError(f"'{name}' is not a readable ONNX model (truncated or another format): {e}") from e
    if not model.HasField("graph") or not model.graph.node:
        raise ModelFormatError(f"'{name}' is not an ONNX model: it has no graph nodes")
    g = _Converter(model, dict(input_shapes or {}), dict(constants or {})).run()
    g.metadata["source"] = name
    return g


def _attrs(node) -> Dict[str, object]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _consumed(graph) -> set:
    """Names read by the graph's nodes, subgraphs included."""
    names = set()
    for n in graph.node:
        names.update(n.input)
        for a in n.attribute:
            if a.HasField("g"):
                names |= _consumed(a.g) | {o.name for o in a.g.output}
    return names


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class _Converter:
    def __init__(self, model, input_shapes: Dict[str, Sequence[int]], constants: Dict[str, np.ndarray]) -> None:
        self.model = model
        self.opset = 0
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                self.opset = int(imp.version)
        if not MIN_OPSET <= self.opset <= MAX_OPSET:
            raise UnsupportedError(f"ONNX opset {self.opset} is not supported (xnn reads opsets {MIN_OPSET} to "
                                   f"{MAX_OPSET}); re-export the model with an opset in that range")
        self.input_shapes = input_shapes
        self.g = Graph()
        self.tid: Dict[str, int] = {}  # ONNX name -> xnn tensor id
        self.shape: Dict[str, Tuple[int, ...]] = {}  # computed tensors
        self.const: Dict[str, np.ndarray] = {k: np.asarray(v) for k, v in constants.items()}
        self.failed: set = set()  # outputs of nodes that could not be converted
        self.problems: List[_Unsupported] = []
        self.input_types: Dict[str, int] = {}
        self.node_name = ""

    # ------------------------------------------------------------------ driver

    def run(self) -> Graph:
        from onnx import numpy_helper

        graph = self.model.graph
        self.used = {o.name for o in graph.output} | _consumed(graph)
        for init in graph.initializer:
            self.const[init.name] = numpy_helper.to_array(init)
        for vi in graph.input:
            if vi.name in self.const:
                continue
            tt = vi.type.tensor_type
            if not vi.type.HasField("tensor_type"):
                raise UnsupportedError(f"input '{vi.name}': only tensor inputs are supported")
            if tt.elem_type != 1 and not (tt.elem_type in _INT_TYPES and self.only_indices(vi.name)):
                raise UnsupportedError(f"input '{vi.name}' has ONNX element type {tt.elem_type}; xnn computes in "
                                       "float32 (bind it with constants={...} if it is a fixed value)")
            if vi.name in self.input_shapes:
                shape = tuple(int(d) for d in self.input_shapes[vi.name])
            else:
                shape = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1
                              for d in tt.shape.dim)
            if not shape:
                shape = (1,)
            if any(d < 1 for d in shape):
                raise UnsupportedError(f"input '{vi.name}' has shape {list(shape)}: empty tensors are not supported")
            self.shape[vi.name] = shape
            self.input_types[vi.name] = tt.elem_type
            self.tid[vi.name] = self.g.add_tensor(vi.name)
            self.g.inputs.append((self.tid[vi.name], shape))
        self.nodes(graph.node)
        if self.problems:
            lines = [f"  node '{p.node}' ({p.op}): {p.why}" for p in self.problems]
            raise UnsupportedError(f"{len(self.problems)} ONNX node(s) cannot be converted:\n" + "\n".join(lines))
        for vo in graph.output:
            if vo.name in self.const:
                raise UnsupportedError(f"output '{vo.name}' is a constant; xnn graphs compute their outputs")
            if vo.name not in self.tid:
                raise ModelFormatError(f"output '{vo.name}' is not produced by any node")
            t = self.tid[vo.name]
            if t in self.g.outputs or any(t == i for i, _ in self.g.inputs):  # a second output of one tensor
                t = self.emit("Identity", vo.name + "/copy", [vo.name], None, type_="Identity")
            self.g.outputs.append(t)
        return self.g

    def only_indices(self, name: str) -> bool:
        """True if every node reading ``name`` takes integers there that xnn holds as floats (LSTM's
        sequence_lens, Gather's indices)."""
        uses = [(n.op_type, k) for n in self.model.graph.node for k, i in enumerate(n.input) if i == name]
        return bool(uses) and all(u in (("LSTM", 4), ("Gather", 1)) for u in uses)

    def nodes(self, nodes) -> None:
        for node in nodes:
            self.node_name = node.name or next((o for o in node.output if o), node.op_type)
            try:
                self.convert_node(node)
            except _Skip:
                self.failed.update(node.output)
            except _Unsupported as e:
                self.problems.append(e)
                self.failed.update(node.output)

    def unsupported(self, node, why: str) -> _Unsupported:
        return _Unsupported(self.node_name, node.op_type, why)

    def convert_node(self, node) -> None:
        ins = [i for i in node.input]
        if node.domain not in ("", "ai.onnx"):
            raise self.unsupported(node, f"operator domain '{node.domain}' is not supported")
        if any(i in self.failed for i in ins if i):
            if node.op_type not in _HANDLERS and node.op_type not in ("If", "Shape", "Size"):
                raise self.unsupported(node, "operator not supported")
            raise _Skip()
        for i in ins:
            if i and i not in self.const and i not in self.shape:
                raise ModelFormatError(f"node '{self.node_name}' ({node.op_type}): input '{i}' is not defined before it")
        if node.op_type == "If":
            return self.convert_if(node)
        if node.op_type in ("Shape", "Size") and ins[0] in self.shape:
            self.fold_shape(node)
            return
        if all(i in self.const for i in ins if i) and node.op_type not in _NONDETERMINISTIC:
            self.fold(node)
            return
        handler = _HANDLERS.get(node.op_type)
        if handler is None:
            raise self.unsupported(node, "operator not supported")
        for k, i in enumerate(ins):
            if i in self.shape and self.elem_type(i) not in (None, 1) and (node.op_type, k) not in _INDEX_INPUTS:
                raise self.unsupported(node, f"input '{i}' is not float32")
        self.infer(node)
        handler(self, node, _attrs(node))

    def elem_type(self, name: str) -> Optional[int]:
        if name in self.input_types:
            return self.input_types[name]
        return getattr(self, "_types", {}).get(name)

    # ------------------------------------------------------------------ constants and shapes

    def fold_shape(self, node) -> None:
        shape = np.array(self.shape[node.input[0]], dtype=np.int64)
        if node.op_type == "Size":
            self.const[node.output[0]] = np.array(np.prod(shape), dtype=np.int64)
            return
        a = _attrs(node)
        start, end = int(a.get("start", 0)), a.get("end")
        self.const[node.output[0]] = shape[start:None if end is None else int(end)]

    def fold(self, node) -> None:
        from onnx import helper, numpy_helper
        from onnx.reference import ReferenceEvaluator

        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            self.const[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
            return
        ins = [i for i in node.input if i]
        g = helper.make_graph(
            [node], "fold",
            [helper.make_tensor_value_info(i, helper.np_dtype_to_tensor_dtype(self.const[i].dtype), self.const[i].shape)
             for i in ins],
            [helper.make_tensor_value_info(o, 0, None) for o in node.output if o])
        m = helper.make_model(g, opset_imports=self.model.opset_import, ir_version=self.model.ir_version)
        try:
            outs = ReferenceEvaluator(m).run(None, {i: self.const[i] for i in ins})
        except Exception as e:
            raise ModelFormatError(f"node '{self.node_name}' ({node.op_type}): evaluating it on its constant "
                                   f"inputs failed: {e}") from e
        for o, v in zip([o for o in node.output if o], outs):
            self.const[o] = np.asarray(v)

    def infer(self, node) -> None:
        """Output shapes (and element types) of a node from its inputs', by ONNX shape inference."""
        from onnx import helper, numpy_helper, shape_inference

        inputs, inits = [], []
        for i in dict.fromkeys(i for i in node.input if i):
            if i in self.const and self.const[i].size <= 64:  # values shape inference may need
                inits.append(numpy_helper.from_array(self.const[i], i))
            if i in self.const:  # (IR version 3 wants initializers among the inputs too)
                c = self.const[i]
                inputs.append(helper.make_tensor_value_info(i, helper.np_dtype_to_tensor_dtype(c.dtype), c.shape))
            else:
                inputs.append(helper.make_tensor_value_info(i, self.elem_type(i) or 1, self.shape[i]))
        g = helper.make_graph([node], "infer", inputs, [], initializer=inits)
        m = helper.make_model(g, opset_imports=self.model.opset_import, ir_version=self.model.ir_version)
        try:
            m = shape_inference.infer_shapes(m, strict_mode=True)
        except Exception as e:
            raise ModelFormatError(f"node '{self.node_name}' ({node.op_type}): {str(e).splitlines()[-1]}") from e
        types = {v.name: v for v in m.graph.value_info}
        if not hasattr(self, "_types"):
            self._types: Dict[str, int] = {}
        for o in node.output:
            if not o:
                continue
            vi = types.get(o)
            dims = vi.type.tensor_type.shape.dim if vi is not None else None
            if vi is None or not vi.type.tensor_type.HasField("shape") or any(not d.HasField("dim_value") for d in dims):
                if o in self.used:
                    raise self.unsupported(node, f"the shape of output '{o}' cannot be inferred at conversion")
                continue
            self.shape[o] = tuple(int(d.dim_value) for d in dims)
            self._types[o] = vi.type.tensor_type.elem_type

    def convert_if(self, node) -> None:
        cond = node.input[0]
        if cond not in self.const:
            raise self.unsupported(node, "the condition is computed at run time (only constant conditions fold)")
        a = _attrs(node)
        branch = a["then_branch"] if bool(np.asarray(self.const[cond]).reshape(-1)[0]) else a["else_branch"]
        outer = self.node_name
        for init in branch.initializer:
            from onnx import numpy_helper

            self.const[init.name] = numpy_helper.to_array(init)
        self.nodes(branch.node)
        self.node_name = outer
        for inner, o in zip(branch.output, node.output):
            if inner.name in self.failed:
                self.failed.add(o)
            elif inner.name in self.const:
                self.const[o] = self.const[inner.name]
            else:
                self.shape[o] = self.shape[inner.name]
                self.tid[o] = self.tid[inner.name]
                if hasattr(self, "_types") and inner.name in self._types:
                    self._types[o] = self._types[inner.name]

    # ------------------------------------------------------------------ emitting

    def tensor(self, name: str) -> int:
        if name not in self.tid:
            raise _Unsupported(self.node_name, "?", f"input '{name}' is a constant where xnn needs a computed tensor")
        return self.tid[name]

    def emit(self, op: str, name: str, inputs: Sequence[Union[str, int]], output: Optional[str],
             attrs: Optional[Dict[str, list]] = None, weights: Sequence[np.ndarray] = (), type_: str = "",
             shape: Optional[Tuple[int, ...]] = None) -> int:
        """Adds an xnn node; ``output`` None makes an intermediate tensor. Returns the output tensor id."""
        ids = [i if isinstance(i, int) else self.tensor(i) for i in inputs]
        if output is None:
            t = self.g.add_tensor(name)
        else:
            t = self.g.add_tensor(output)
            self.tid[output] = t
            if shape is not None:
                self.shape[output] = shape
        self.g.nodes.append(Node(name=name, op=op, inputs=ids, outputs=[t], attrs=dict(attrs or {}),
                                 weights=[np.ascontiguousarray(w, dtype=np.float32) for w in weights], type=type_))
        return t

    def emit_multi(self, op: str, name: str, inputs: Sequence[Union[str, int]], outputs: Sequence[str],
                   attrs: Dict[str, list], weights: Sequence[np.ndarray], type_: str) -> List[int]:
        """Adds an xnn node with several outputs ('' : an unnamed intermediate)."""
        ids = [i if isinstance(i, int) else self.tensor(i) for i in inputs]
        outs = []
        for k, o in enumerate(outputs):
            t = self.g.add_tensor(o or f"{name}/out{k}")
            if o:
                self.tid[o] = t
            outs.append(t)
        self.g.nodes.append(Node(name=name, op=op, inputs=ids, outputs=outs, attrs=dict(attrs),
                                 weights=[np.ascontiguousarray(w, dtype=np.float32) for w in weights], type=type_))
        return outs

    def take(self, node, x: Union[str, int], shape: Sequence[int], axis: int, start: int, end: int,
             suffix: str) -> Union[str, int]:
        """Elements [start, end) of ``axis`` (an xnn Slice), or x itself when that is all of it."""
        if start == 0 and end == shape[axis]:
            return x
        points = [p for p in (start, end) if 0 < p < shape[axis]]
        outs = self.emit_multi("Slice", self.node_name + suffix, [x], [""] * (len(points) + 1),
                               {"axis": [axis], "points": points}, [], node.op_type)
        return outs[1 if start > 0 else 0]

    def reshape(self, node, x: Union[str, int], in_shape: Sequence[int], out: Optional[str],
                out_shape: Sequence[int], keeps_batch: bool, suffix: str = "") -> int:
        target = [int(d) for d in out_shape] or [1]
        if keeps_batch and in_shape and out_shape and in_shape[0] == out_shape[0]:
            target[0] = 0  # follows the batch when xnn re-plans for another one
        return self.emit("Reshape", self.node_name + suffix, [x], out, {"shape": target}, type_=node.op_type)

    def const_input(self, node, index: int, what: str) -> Optional[np.ndarray]:
        if index >= len(node.input) or not node.input[index]:
            return None
        name = node.input[index]
        if name not in self.const:
            raise self.unsupported(node, f"input {index} ({what}) must be a constant")
        return self.const[name]

    def check_attr(self, node, a: Mapping[str, object], name: str, allowed: Sequence[object]) -> None:
        if name in a:
            v = a[name]
            v = _text(v) if isinstance(v, bytes) else v
            if v not in allowed:
                raise self.unsupported(node, f"attribute {name}={v!r} is not supported (supported: "
                                       f"{', '.join(repr(x) for x in allowed)})")


# ---------------------------------------------------------------------- operator mappings

_INT_TYPES = {6, 7, 12, 13}  # int32, int64, uint32, uint64
_INDEX_INPUTS = {("LSTM", 4), ("Gather", 1)}
_NONDETERMINISTIC = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
                     "Bernoulli"}
_Handler = Callable[[_Converter, object, Dict[str, object]], None]
_HANDLERS: Dict[str, _Handler] = {}


def _handles(*ops: str):
    def register(fn: _Handler) -> _Handler:
        for op in ops:
            _HANDLERS[op] = fn
        return fn

    return register


def _act(c: _Converter, node, slope: float, lo: float, hi: float) -> None:
    c.emit("ReLU", c.node_name, [node.input[0]], node.output[0], {"activation": [slope, lo, hi]}, type_=node.op_type)


@_handles("Relu")
def _relu(c, node, a):
    _act(c, node, 0.0, -INF, INF)


@_handles("LeakyRelu")
def _leaky(c, node, a):
    _act(c, node, float(a.get("alpha", 0.01)), -INF, INF)


@_handles("Clip")
def _clip(c, node, a):
    if c.opset < 11:
        lo, hi = float(a.get("min", -INF)), float(a.get("max", INF))
    else:
        lo_c, hi_c = c.const_input(node, 1, "min"), c.const_input(node, 2, "max")
        lo = -INF if lo_c is None else float(np.asarray(lo_c).reshape(-1)[0])
        hi = INF if hi_c is None else float(np.asarray(hi_c).reshape(-1)[0])
    if lo > hi:
        raise c.unsupported(node, f"min {lo} > max {hi}")
    _act(c, node, 1.0, lo, hi)


@_handles("Sigmoid", "Tanh")
def _unary(c, node, a):
    c.emit("Sigmoid" if node.op_type == "Sigmoid" else "TanH", c.node_name, [node.input[0]], node.output[0],
           type_=node.op_type)


def _scale_shift(c: _Converter, node, x: str, alpha: float, beta: float, out: Optional[str], suffix: str) -> int:
    """alpha * x + beta: one Affine over the channels (axis 1)."""
    shape = c.shape[x]
    ch = shape[1] if len(shape) >= 2 else 1
    if len(shape) < 2:
        t = c.emit("Binary", c.node_name + suffix + "/scale", [x], None, {"operation": [2]},
                   [np.array([alpha], np.float32)], type_=node.op_type)
        return c.emit("Binary", c.node_name + suffix, [t], out, {"operation": [0]},
                      [np.array([beta], np.float32)], type_=node.op_type)
    return c.emit("Affine", c.node_name + suffix, [x], out, {},
                  [np.full(ch, alpha, np.float32), np.full(ch, beta, np.float32)], type_=node.op_type)


@_handles("HardSigmoid", "HardSwish")
def _hard(c, node, a):
    x = node.input[0]
    alpha, beta = (float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))) if node.op_type == "HardSigmoid" else (1 / 6, 0.5)
    t = _scale_shift(c, node, x, alpha, beta, None, "/affine")
    out = node.output[0] if node.op_type == "HardSigmoid" else None
    t = c.emit("ReLU", c.node_name + ("" if out else "/clip"), [t], out, {"activation": [1.0, 0.0, 1.0]},
               type_=node.op_type)
    if node.op_type == "HardSwish":
        c.emit("Eltwise", c.node_name, [x, t], node.output[0], {"operation": [0]}, type_=node.op_type)


def _per_channel(value: np.ndarray, rank: int, channels: int) -> Optional[np.ndarray]:
    """The [C] vector of a constant that broadcasts along axis 1 only (or a scalar), else None."""
    v = np.asarray(value, dtype=np.float32)
    if v.size == 1:
        return np.full(channels, float(v.reshape(-1)[0]), np.float32)
    if rank < 2 or v.ndim > rank:
        return None
    full = (1,) * (rank - v.ndim) + v.shape
    if full[1] == channels and all(d == 1 for i, d in enumerate(full) if i != 1):
        return v.reshape(-1)
    return None


@_handles("PRelu")
def _prelu(c, node, a):
    x = node.input[0]
    slope = c.const_input(node, 1, "slope")
    shape = c.shape[x]
    if np.asarray(slope).size == 1:
        c.emit("PReLU", c.node_name, [x], node.output[0], {"channel_shared": [1]},
               [np.asarray(slope, np.float32).reshape(1)], type_="PRelu")
        return
    per = _per_channel(slope, len(shape), shape[1] if len(shape) >= 2 else 0)
    if per is not None:
        c.emit("PReLU", c.node_name, [x], node.output[0], {}, [per], type_="PRelu")
        return
    c.emit("Binary", c.node_name, [x], node.output[0], {"operation": [_PRELU]}, [_weight_of(slope)], type_="PRelu")


def _weight_of(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v.reshape(1) if v.ndim == 0 else v


@_handles("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum")
def _binary(c, node, a):
    op = node.op_type
    ins = [i for i in node.input if i]
    out_shape = c.shape[node.output[0]]
    if op in ("Sum", "Max", "Min") and len(ins) != 2:
        if len(ins) == 1:
            c.emit("Identity", c.node_name, [ins[0]], node.output[0], type_=op)
            return
        if op == "Sum" and all(i in c.shape and c.shape[i] == out_shape for i in ins):
            c.emit("Eltwise", c.node_name, ins, node.output[0], {"operation": [1]}, type_=op)
            return
        if op == "Max" and all(i in c.shape and c.shape[i] == out_shape for i in ins):
            c.emit("Eltwise", c.node_name, ins, node.output[0], {"operation": [2]}, type_=op)
            return
        t: Union[str, int] = ins[0]
        code = {"Sum": 0, "Max": 4, "Min": 5}[op]
        for k, i in enumerate(ins[1:], 1):
            last = k == len(ins) - 1
            t = _binary_pair(c, node, code, t, i, node.output[0] if last else None, "" if last else f"/{k}")
        return
    code = {"Sum": 0}.get(op, _BINARY.get(op))
    _binary_pair(c, node, code, ins[0], ins[1], node.output[0], "")


def _binary_pair(c: _Converter, node, code: int, x: Union[str, int], y: Union[str, int], out: Optional[str],
                 suffix: str) -> int:
    name = c.node_name + suffix
    op = node.op_type
    xs = x if isinstance(x, int) else x
    cx = isinstance(x, str) and x in c.const
    cy = isinstance(y, str) and y in c.const
    if not cx and not cy:
        sx = c.shape.get(x) if isinstance(x, str) else None
        sy = c.shape.get(y) if isinstance(y, str) else None
        if sx is not None and sx == sy and code in (0, 1, 2, 4):
            eltwise = {0: 1, 2: 0, 4: 2}.get(code, 1)
            attrs: Dict[str, list] = {"operation": [eltwise]}
            if code == 1:
                attrs["coeffs"] = [1.0, -1.0]
            return c.emit("Eltwise", name, [x, y], out, attrs, type_=op)
        return c.emit("Binary", name, [x, y], out, {"operation": [code]}, type_=op)
    if cx and cy:
        raise c.unsupported(node, "both operands are constant")
    dyn, cst, const_first = (y, c.const[x], 1) if cx else (x, c.const[y], 0)
    dshape = c.shape.get(dyn) if isinstance(dyn, str) else None
    out_shape = c.shape.get(out) if out else None
    if dshape is not None and out_shape is not None and dshape == out_shape and len(dshape) >= 2 \
            and code in (0, 1, 2, 3) and not (code == 3 and const_first):
        per = _per_channel(cst, len(dshape), dshape[1])
        if per is not None:
            ones, zeros = np.ones_like(per), np.zeros_like(per)
            if code == 3 and np.all(per != 0):
                ab = (1.0 / per.astype(np.float64), zeros)
            elif code != 3:
                ab = {0: (ones, per), 2: (per, zeros), 1: (-ones, per) if const_first else (ones, -per)}[code]
            if code != 3 or np.all(per != 0):
                return c.emit("Affine", name, [dyn], out, {}, [ab[0], ab[1]], type_=op)
    attrs = {"operation": [code]}
    if const_first:
        attrs["const_first"] = [1]
    return c.emit("Binary", name, [dyn], out, attrs, [_weight_of(cst)], type_=op)


@_handles("Conv")
def _conv(c, node, a):
    x = node.input[0]
    shape = c.shape[x]
    w = c.const_input(node, 1, "W")
    b = c.const_input(node, 2, "B")
    if len(shape) not in (3, 4):
        raise c.unsupported(node, f"only 1-D and 2-D convolutions are supported (input is {len(shape)}-D)")
    one_d = len(shape) == 3
    k = list(a.get("kernel_shape", w.shape[2:]))
    strides = list(a.get("strides", [1] * len(k)))
    dil = list(a.get("dilations", [1] * len(k)))
    pads = _pads(c, node, a, shape[2:], k, strides, dil)
    group = int(a.get("group", 1))
    w = np.asarray(w, np.float32)
    if one_d:
        k, strides, dil, w = [1] + k, [1] + strides, [1] + dil, w[:, :, None, :]
        pads = [0, pads[0], 0, pads[1]]
        x = c.reshape(node, x, shape, None, (shape[0], shape[1], 1, shape[2]), True, "/to2d")
    else:
        pads = [pads[0], pads[1], pads[2], pads[3]]
    attrs = {"num_output": [int(w.shape[0])], "group": [group], "kernel": [int(k[0]), int(k[1])],
             "stride": [int(s) for s in strides], "dilation": [int(d) for d in dil], "pad": [int(p) for p in pads],
             "bias": [int(b is not None)]}
    weights = [w] + ([np.asarray(b, np.float32)] if b is not None else [])
    if not one_d:
        c.emit("Convolution", c.node_name, [x], node.output[0], attrs, weights, type_="Conv")
        return
    t = c.emit("Convolution", c.node_name + "/conv2d", [x], None, attrs, weights, type_="Conv")
    out = c.shape[node.output[0]]
    c.reshape(node, t, (out[0], out[1], 1, out[2]), node.output[0], out, True)


def _pads(c: _Converter, node, a, spatial: Sequence[int], k: Sequence[int], strides: Sequence[int],
          dil: Sequence[int]) -> List[int]:
    """[begin..., end...] pads, from `pads` or `auto_pad`."""
    auto = _text(a.get("auto_pad", "NOTSET"))
    n = len(k)
    if auto in ("NOTSET", ""):
        pads = list(a.get("pads", [0] * (2 * n)))
    elif auto == "VALID":
        pads = [0] * (2 * n)
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for i in range(n):
            out = -(-spatial[i] // strides[i])
            total = max((out - 1) * strides[i] + (k[i] - 1) * dil[i] + 1 - spatial[i], 0)
            small = total // 2
            begin.append(small if auto == "SAME_UPPER" else total - small)
            end.append(total - begin[-1])
        pads = begin + end
    else:
        raise c.unsupported(node, f"auto_pad={auto!r} is not supported")
    if any(p < 0 for p in pads):
        raise c.unsupported(node, f"negative pads {pads} are not supported")
    return [int(p) for p in pads]


@_handles("Gemm")
def _gemm(c, node, a):
    if int(a.get("transA", 0)):
        raise c.unsupported(node, "attribute transA=1 is not supported (A must be [M, K])")
    b = c.const_input(node, 1, "B")
    cc = c.const_input(node, 2, "C")
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    w = np.asarray(b, np.float64)
    w = (w if int(a.get("transB", 0)) else w.T) * alpha
    n = w.shape[0]
    weights = [w]
    if cc is not None:
        cv = np.asarray(cc, np.float64)
        if cv.size not in (1, n) or (cv.ndim == 2 and cv.shape[0] != 1):
            raise c.unsupported(node, f"C of shape {list(cv.shape)} is not supported (only [N], [1, N] or a scalar)")
        weights.append(np.broadcast_to(cv.reshape(-1), (n,)) * beta)
    c.emit("InnerProduct", c.node_name, [node.input[0]], node.output[0],
           {"num_output": [n], "axis": [1], "bias": [int(cc is not None)]}, weights, type_="Gemm")


@_handles("MatMul")
def _matmul(c, node, a):
    x = node.input[0]
    if node.input[1] not in c.const:
        raise c.unsupported(node, "the right-hand side must be a constant (a computed one is not supported)")
    b = np.asarray(c.const[node.input[1]], np.float32)
    if b.ndim != 2 or len(c.shape[x]) < 2:
        raise c.unsupported(node, f"only [.., K] x [K, N] is supported (got {list(c.shape[x])} x {list(b.shape)})")
    c.emit("InnerProduct", c.node_name, [x], node.output[0],
           {"num_output": [int(b.shape[1])], "axis": [len(c.shape[x]) - 1], "bias": [0]}, [b.T], type_="MatMul")


@_handles("BatchNormalization")
def _batchnorm(c, node, a):
    if int(a.get("training_mode", 0)) or any(o in c.used for o in node.output[1:]):
        raise c.unsupported(node, "training mode (running statistics outputs) is not supported")
    if c.opset < 9 and int(a.get("spatial", 1)) != 1:
        raise c.unsupported(node, "attribute spatial=0 is not supported")
    scale, bias, mean, var = (np.asarray(c.const_input(node, i, w), np.float64)
                              for i, w in enumerate(("scale", "B", "mean", "var"), 1))
    eps = float(a.get("epsilon", 1e-5))
    mul = scale / np.sqrt(var + eps)
    c.emit("Affine", c.node_name, [node.input[0]], node.output[0], {}, [mul, bias - mean * mul],
           type_="BatchNormalization")


@_handles("MaxPool", "AveragePool")
def _pool(c, node, a):
    x = node.input[0]
    shape = c.shape[x]
    if len(shape) != 4:
        raise c.unsupported(node, f"only 2-D pooling of 4-D NCHW inputs is supported (input is {len(shape)}-D)")
    if any(o in c.used for o in node.output[1:]):
        raise c.unsupported(node, "the Indices output is not supported")
    k = list(a["kernel_shape"])
    strides = list(a.get("strides", [1, 1]))
    dil = list(a.get("dilations", [1, 1]))
    if dil != [1, 1]:
        raise c.unsupported(node, f"attribute dilations={dil} is not supported")
    if int(a.get("storage_order", 0)):
        raise c.unsupported(node, "attribute storage_order=1 is not supported")
    pads = _pads(c, node, a, shape[2:], k, strides, dil)
    ceil_mode = int(a.get("ceil_mode", 0))
    avg = node.op_type == "AveragePool"
    if any(p >= k[i % 2] for i, p in enumerate(pads)):
        raise c.unsupported(node, f"pads {pads} as large as the kernel {k} are not supported")
    out = c.shape[node.output[0]][2:]
    if ceil_mode and all(_pooled(shape[2 + i], k[i], strides[i], pads[i], pads[i + 2], 0) == out[i] for i in (0, 1)):
        ceil_mode = 0  # the same windows: no need for the rounding that drops a window starting in the padding
    got = [_pooled(shape[2 + i], k[i], strides[i], pads[i], pads[i + 2], ceil_mode, any(pads)) for i in (0, 1)]
    if got != list(out):
        raise c.unsupported(node, f"output size {list(out)} differs from xnn's pooling rounding {got}")
    c.emit("Pooling", c.node_name, [x], node.output[0],
           {"method": [int(avg)], "kernel": k, "stride": strides, "pad": [pads[0], pads[1], pads[2], pads[3]],
            "ceil_mode": [ceil_mode], "exclude_pad": [int(avg and not int(a.get("count_include_pad", 0)))]},
           type_=node.op_type)


def _pooled(size: int, k: int, s: int, begin: int, end: int, ceil_mode: int, any_pad: bool = True) -> int:
    """xnn's (Caffe's) pooled size."""
    span = size + begin + end - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if any_pad and ceil_mode and (out - 1) * s >= size + begin:
        out -= 1
    return out


@_handles("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(c, node, a):
    if len(c.shape[node.input[0]]) != 4:
        raise c.unsupported(node, "only 4-D NCHW inputs are supported")
    c.emit("Pooling", c.node_name, [node.input[0]], node.output[0],
           {"method": [int(node.op_type == "GlobalAveragePool")], "global": [1]}, type_=node.op_type)


@_handles("ReduceMean")
def _reduce_mean(c, node, a):
    x = node.input[0]
    shape = c.shape[x]
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = c.const_input(node, 1, "axes")
    axes = sorted(int(v) % max(len(shape), 1) for v in np.asarray(axes if axes is not None else []).reshape(-1))
    keep = int(a.get("keepdims", 1))
    if axes and axes == list(range(axes[0], len(shape))) and axes != [2, 3] and axes[0] > 0:
        # The mean over trailing axes: a fully connected layer with weights 1/count.
        count = int(np.prod([shape[i] for i in axes]))
        t = c.emit("InnerProduct", c.node_name + "/mean", [x], None,
                   {"num_output": [1], "axis": [axes[0]], "bias": [0]}, [np.full((1, count), 1.0 / count)],
                   type_="ReduceMean")
        c.reshape(node, t, shape[:axes[0]] + (1,), node.output[0], c.shape[node.output[0]], True)
        return
    if len(shape) != 4 or axes != [2, 3]:
        raise c.unsupported(node, f"only the mean over trailing axes (not the first) is supported (axes {axes})")
    t = c.emit("Pooling", c.node_name + ("" if keep else "/pool"), [x], node.output[0] if keep else None,
               {"method": [1], "global": [1]}, type_="ReduceMean")
    if not keep:
        c.reshape(node, t, shape, node.output[0], c.shape[node.output[0]], True)


@_handles("Concat")
def _concat(c, node, a):
    ins = [i for i in node.input if i]
    for i in ins:
        if i in c.const:
            raise c.unsupported(node, f"input '{i}' is a constant; only computed tensors can be concatenated")
    axis = int(a["axis"]) % len(c.shape[ins[0]])
    c.emit("Concat", c.node_name, ins, node.output[0], {"axis": [axis]}, type_="Concat")


@_handles("Reshape")
def _reshape(c, node, a):
    x = node.input[0]
    c.const_input(node, 1, "shape")
    c.reshape(node, x, c.shape[x], node.output[0], c.shape[node.output[0]], True)


@_handles("Squeeze", "Unsqueeze")
def _squeeze(c, node, a):
    x = node.input[0]
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = c.const_input(node, 1, "axes")
    shape, out = c.shape[x], c.shape[node.output[0]]
    rank = len(out) if node.op_type == "Unsqueeze" else len(shape)
    touched = {int(v) % rank for v in np.asarray(axes if axes is not None else []).reshape(-1)}
    if axes is None and node.op_type == "Squeeze":
        touched = {i for i, d in enumerate(shape) if d == 1}
    c.reshape(node, x, shape, node.output[0], out, 0 not in touched)


@_handles("Flatten")
def _flatten(c, node, a):
    x = node.input[0]
    shape = c.shape[x]
    axis = int(a.get("axis", 1))
    axis = axis + len(shape) if axis < 0 else axis
    tail = int(np.prod(shape[axis:])) if shape else 1
    target = [1, -1] if axis == 0 else [-1, tail]
    c.emit("Reshape", c.node_name, [x], node.output[0], {"shape": target}, type_="Flatten")


@_handles("Identity", "Dropout")
def _identity(c, node, a):
    if any(o in c.used for o in node.output[1:]):
        raise c.unsupported(node, "the mask output is not supported")
    if node.op_type == "Dropout" and len(node.input) > 2 and node.input[2] and bool(c.const.get(node.input[2], False)):
        raise c.unsupported(node, "training mode is not supported")
    c.emit("Identity", c.node_name, [node.input[0]], node.output[0], type_=node.op_type)


@_handles("Cast")
def _cast(c, node, a):
    if int(a["to"]) != 1:
        raise c.unsupported(node, f"casting a computed tensor to ONNX type {a['to']} is not supported (only float)")
    c.emit("Identity", c.node_name, [node.input[0]], node.output[0], type_="Cast")


@_handles("Softmax")
def _softmax(c, node, a):
    x = node.input[0]
    shape = c.shape[x]
    rank = len(shape)
    axis = int(a.get("axis", -1 if c.opset >= 13 else 1)) % rank
    if c.opset >= 13 or axis == rank - 1:
        c.emit("Softmax", c.node_name, [x], node.output[0], {"axis": [axis]}, type_="Softmax")
        return
    # Before opset 13, Softmax works on the input flattened to 2-D at `axis`.
    t = c.emit("Flatten", c.node_name + "/flatten", [x], None, {"axis": [axis]}, type_="Softmax")
    t = c.emit("Softmax", c.node_name + "/softmax", [t], None, {"axis": [axis]}, type_="Softmax")
    c.emit("Reshape", c.node_name, [t], node.output[0],
           {"shape": [int(d) for d in shape[axis:]], "axis": [axis], "num_axes": [1]}, type_="Softmax")


@_handles("LRN")
def _lrn(c, node, a):
    size = int(a["size"])
    if size % 2 == 0:
        raise c.unsupported(node, f"attribute size={size} is not supported (only odd sizes)")
    c.emit("LRN", c.node_name, [node.input[0]], node.output[0],
           {"size": [size], "alpha": [float(a.get("alpha", 1e-4))], "beta": [float(a.get("beta", 0.75))],
            "k": [float(a.get("bias", 1.0))]}, type_="LRN")


@_handles("Transpose")
def _transpose(c, node, a):
    x = node.input[0]
    rank = len(c.shape[x])
    perm = [int(p) for p in a.get("perm", list(range(rank))[::-1])]
    if perm == list(range(rank)):
        c.emit("Identity", c.node_name, [x], node.output[0], type_="Transpose")
        return
    c.emit("Permute", c.node_name, [x], node.output[0], {"order": perm}, type_="Transpose")


@_handles("Resize", "Upsample")
def _resize(c, node, a):
    x = node.input[0]
    shape, out = c.shape[x], c.shape[node.output[0]]
    if len(shape) != 4:
        raise c.unsupported(node, f"only 4-D NCHW inputs are supported (input is {len(shape)}-D)")
    if tuple(out[:2]) != tuple(shape[:2]):
        raise c.unsupported(node, "only the spatial dimensions (H, W) can be resized")
    mode = _text(a.get("mode", "nearest"))
    if mode not in ("nearest", "linear", "bilinear"):
        raise c.unsupported(node, f"attribute mode={mode!r} is not supported (nearest, linear)")
    if node.op_type == "Upsample":
        coord, nearest = "asymmetric", "floor"
        scales = a.get("scales")
        if scales is None:
            scales = c.const_input(node, 1, "scales")
        sizes = None
    else:
        coord = _text(a.get("coordinate_transformation_mode", "half_pixel" if c.opset >= 11 else "asymmetric"))
        nearest = _text(a.get("nearest_mode", "round_prefer_floor"))
        for name, ok in (("antialias", (0,)), ("keep_aspect_ratio_policy", ("stretch",))):
            c.check_attr(node, a, name, ok)
        if coord not in _COORD:
            raise c.unsupported(node, f"attribute coordinate_transformation_mode={coord!r} is not supported "
                                f"(supported: {', '.join(_COORD)})")
        if nearest not in _NEAREST:
            raise c.unsupported(node, f"attribute nearest_mode={nearest!r} is not supported")
        scale_index = 1 if c.opset < 11 else 2
        scales = c.const_input(node, scale_index, "scales")
        sizes = c.const_input(node, 3, "sizes") if c.opset >= 11 else None
        axes = a.get("axes")
        if axes is not None:  # opset 18: scales/sizes for these axes only
            full = np.ones(4) if scales is not None and np.asarray(scales).size else None
            fsize = np.array(shape, np.int64) if sizes is not None and np.asarray(sizes).size else None
            for k, ax in enumerate(int(v) % 4 for v in axes):
                if full is not None:
                    full[ax] = np.asarray(scales).reshape(-1)[k]
                if fsize is not None:
                    fsize[ax] = np.asarray(sizes).reshape(-1)[k]
            scales, sizes = full, fsize
    attrs: Dict[str, list] = {"mode": [int(mode != "nearest")], "coord": [_COORD[coord]],
                              "nearest": [_NEAREST[nearest]]}
    if sizes is not None and np.asarray(sizes).size:
        attrs["size"] = [int(out[2]), int(out[3])]
        attrs["scale"] = [0.0, 0.0]
    else:
        s = np.asarray(scales, np.float32).reshape(-1)
        if s.size != 4 or s[0] != 1 or s[1] != 1:
            raise c.unsupported(node, f"scales {s.tolist()} are not supported (only H and W may scale)")
        attrs["scale"] = [float(s[2]), float(s[3])]
    c.emit("Resize", c.node_name, [x], node.output[0], attrs, type_=node.op_type)


@_handles("Sqrt")
def _sqrt(c, node, a):
    c.emit("Binary", c.node_name, [node.input[0]], node.output[0], {"operation": [6]},
           [np.array([0.5], np.float32)], type_="Sqrt")


@_handles("Slice")
def _slice(c, node, a):
    x = node.input[0]
    shape = c.shape[x]
    if c.opset < 10:
        starts, ends = a["starts"], a["ends"]
        axes = a.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = c.const_input(node, 1, "starts"), c.const_input(node, 2, "ends")
        axes = c.const_input(node, 3, "axes")
        steps = c.const_input(node, 4, "steps")
        axes = list(range(len(starts))) if axes is None else axes
        steps = [1] * len(starts) if steps is None else steps
    out = c.shape[node.output[0]]
    t: Union[str, int] = x
    for k, (st, en, ax, sp) in enumerate(zip(*(np.asarray(v).reshape(-1).tolist() for v in (starts, ends, axes, steps)))):
        ax = int(ax) % len(shape)
        if sp != 1:
            raise c.unsupported(node, f"step {sp} is not supported (only 1)")
        st, en = int(st), int(en)
        st = min(max(st + shape[ax] if st < 0 else st, 0), shape[ax])
        en = min(max(en + shape[ax] if en < 0 else en, 0), shape[ax])
        if en - st != out[ax] or en <= st:
            raise c.unsupported(node, f"slice [{st}, {en}) of axis {ax} is empty or inconsistent")
        t = c.take(node, t, shape, ax, st, en, f"/axis{ax}")
    c.emit("Identity", c.node_name, [t], node.output[0], type_="Slice")


@_handles("Gather")
def _gather(c, node, a):
    data, idx = node.input[0], node.input[1]
    axis = int(a.get("axis", 0))
    if data in c.const:
        table = np.asarray(c.const[data], np.float32)
        if table.ndim != 2 or axis != 0:
            raise c.unsupported(node, "only row lookups in a constant 2-D table (axis 0) are supported")
        c.emit("Embed", c.node_name, [idx], node.output[0],
               {"num_output": [int(table.shape[1])], "input_dim": [int(table.shape[0])], "bias": [0], "wrap": [1]},
               [table],
               type_="Gather")
        return
    shape = c.shape[data]
    axis %= len(shape)
    if idx not in c.const:
        raise c.unsupported(node, "indices into a computed tensor must be constants")
    ind = np.asarray(c.const[idx]).astype(np.int64)
    flat = np.where(ind < 0, ind + shape[axis], ind).reshape(-1)
    if flat.size == 0 or np.any(np.diff(flat) != 1) or flat[0] < 0 or flat[-1] >= shape[axis]:
        raise c.unsupported(node, "only a constant index, or a run of consecutive ones, is supported")
    t = c.take(node, data, shape, axis, int(flat[0]), int(flat[-1]) + 1, "/take")
    c.reshape(node, t, shape[:axis] + (int(flat.size),) + shape[axis + 1:], node.output[0],
              c.shape[node.output[0]], axis != 0)


@_handles("Pad")
def _pad(c, node, a):
    x = node.input[0]
    shape = c.shape[x]
    mode = _text(a.get("mode", "constant"))
    if c.opset < 11:
        pads, value = list(a["pads"]), float(a.get("value", 0.0))
    else:
        pads = np.asarray(c.const_input(node, 1, "pads")).reshape(-1).tolist()
        v = c.const_input(node, 2, "constant_value")
        value = 0.0 if v is None or np.asarray(v).size == 0 else float(np.asarray(v).reshape(-1)[0])
        axes = c.const_input(node, 3, "axes")
        if axes is not None:
            full = [0] * (2 * len(shape))
            ax = [int(v) % len(shape) for v in np.asarray(axes).reshape(-1)]
            for k, d in enumerate(ax):
                full[d], full[d + len(shape)] = pads[k], pads[k + len(ax)]
            pads = full
    rank = len(shape)
    before, after = [int(p) for p in pads[:rank]], [int(p) for p in pads[rank:]]
    if any(before[:-1]) or any(after[:-1]) or min(before[-1], after[-1]) < 0:
        raise c.unsupported(node, f"pads {pads}: only padding of the last axis is supported")
    if mode not in ("constant", "reflect", "edge"):
        raise c.unsupported(node, f"attribute mode={mode!r} is not supported")
    n = shape[-1]
    if mode == "reflect" and max(before[-1], after[-1]) >= n:
        raise c.unsupported(node, f"reflect pads {pads} must be shorter than the axis ({n})")
    # Each padded side is a fixed linear map of the row (a selection matrix, or zero weights and the value
    # as bias): an InnerProduct on the last axis, then one Concat.
    parts: List[Union[str, int]] = []
    for side, count in (("before", before[-1]), ("after", after[-1])):
        if count == 0:
            continue
        src = np.arange(count)
        if side == "before":
            src = {"reflect": count - src, "edge": np.zeros(count, np.int64)}.get(mode, src)
        else:
            src = {"reflect": n - 2 - src, "edge": np.full(count, n - 1)}.get(mode, src)
        w = np.zeros((count, n), np.float32)
        if mode != "constant":
            w[np.arange(count), src] = 1.0
        t = c.emit("InnerProduct", f"{c.node_name}/{side}", [x], None,
                   {"num_output": [count], "axis": [rank - 1], "bias": [1]},
                   [w, np.full(count, value if mode == "constant" else 0.0, np.float32)], type_="Pad")
        parts.append(t)
    if not parts:
        c.emit("Identity", c.node_name, [x], node.output[0], type_="Pad")
        return
    ids = ([parts[0]] if before[-1] else []) + [c.tensor(x)] + ([parts[-1]] if after[-1] else [])
    c.emit("Concat", c.node_name, ids, node.output[0], {"axis": [rank - 1]}, type_="Pad")


@_handles("LSTM")
def _lstm(c, node, a):
    acts = [_text(v) for v in a.get("activations", [])]
    if acts and [s.lower() for s in acts] != ["sigmoid", "tanh", "tanh"] * (len(acts) // 3):
        raise c.unsupported(node, f"attribute activations={acts} is not supported (only Sigmoid, Tanh, Tanh)")
    if int(a.get("input_forget", 0)):
        raise c.unsupported(node, "attribute input_forget=1 is not supported")
    if int(a.get("layout", 0)):
        raise c.unsupported(node, "attribute layout=1 is not supported (only time-major [T, N, I])")
    if len(node.input) > 7 and node.input[7]:
        raise c.unsupported(node, "peepholes (input P) are not supported")
    direction = {"forward": 0, "reverse": 1, "bidirectional": 2}[_text(a.get("direction", "forward"))]
    d = 2 if direction == 2 else 1
    w = np.asarray(c.const_input(node, 1, "W"), np.float32)
    r = np.asarray(c.const_input(node, 2, "R"), np.float32)
    h = int(a.get("hidden_size", r.shape[-1]))
    b = c.const_input(node, 3, "B")
    bias = np.zeros((d, 4 * h), np.float64) if b is None else \
        np.asarray(b, np.float64)[:, :4 * h] + np.asarray(b, np.float64)[:, 4 * h:]
    order = np.concatenate([np.arange(h) + g * h for g in (0, 2, 1, 3)])  # ONNX i,o,f,c -> i,f,o,g

    x = node.input[0]
    t_steps, n = c.shape[x][0], c.shape[x][1]
    inputs: List[Union[str, int]] = [x]
    attrs: Dict[str, list] = {"hidden_size": [h], "direction": [direction], "clip": [float(a.get("clip", 0.0))]}
    seq = node.input[4] if len(node.input) > 4 else ""
    if seq:
        if seq in c.const:
            if np.any(np.asarray(c.const[seq]) != t_steps):
                raise c.unsupported(node, "constant sequence_lens other than T are not supported (feed them as an "
                                    "input)")
        else:
            inputs.append(seq)
            attrs["has_seq_lens"] = [1]
    h0 = node.input[5] if len(node.input) > 5 else ""
    c0 = node.input[6] if len(node.input) > 6 else ""
    if h0 or c0:
        for s in (h0, c0):
            if s in c.const:
                raise c.unsupported(node, f"a constant initial state '{s}' is not supported (feed it as an input)")
        # A missing one of the two is zeros: the other times 0.
        zero = {}
        for s, other in ((h0, c0), (c0, h0)):
            if not s:
                zero[other] = c.emit("Binary", f"{c.node_name}/zeros", [other], None, {"operation": [2]},
                                     [np.zeros(1, np.float32)], type_="LSTM")
        inputs += [h0 or zero[c0], c0 or zero[h0]]
        attrs["has_initial"] = [1]
    outs = list(node.output) + [""] * (3 - len(node.output))
    used = max(k for k, o in enumerate(outs) if o) + 1
    c.emit_multi("LSTM", c.node_name, inputs, outs[:used], attrs,
                 [w[:, order, :], r[:, order, :], bias[:, order]], "LSTM")
    for k, o in enumerate(outs[:used]):
        if o:
            c.shape[o] = (t_steps, d, n, h) if k == 0 else (d, n, h)

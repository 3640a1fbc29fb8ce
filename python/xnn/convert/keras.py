"""Keras models into the graph IR: Keras 3 ``.keras`` archives (a zip of ``config.json`` and
``model.weights.h5``) and legacy HDF5 ``.h5`` files (``model_config`` attribute and ``model_weights``),
read with zipfile, json and h5py only (no TensorFlow or Keras needed).

Keras is channels-last, xnn's spatial operators are NCHW. The converted graph takes and gives exactly what
``model.predict`` does (NHWC images, ``[N, T, I]`` sequences): every Keras tensor can exist in several
layouts (its own, NCHW for 4-D tensors, time-major for sequences, or flattened from NCHW with the features
in another order) and a ``Permute`` is added only when a layer needs a layout nobody has produced yet. A ``Flatten`` of an NCHW
tensor read only by ``Dense`` layers costs nothing: the Dense weights' rows are put in NCHW order instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import ModelFormatError, UnsupportedError, XnnError, XnnIOError
from ..graph import Graph, Node

PathLike = Union[str, os.PathLike]
Shape = Tuple[Optional[int], ...]

INF = float("inf")
#: Activations a layer's ``activation`` can fuse into xnn's ``[slope, min, max]`` epilogue.
FUSED_ACTIVATIONS = {
    "linear": None,
    "relu": [0.0, -INF, INF],
    "relu6": [0.0, -INF, 6.0],
    "leaky_relu": [0.2, -INF, INF],
}
#: Activations that become a node of their own.
NODE_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "TanH", "softmax": "Softmax"}
#: The layouts a Keras tensor may also be held in: dim i of the form is Keras dim order[i]. Images are NCHW
#: for xnn's spatial operators, sequences time-major for its LSTM.
FORMS = {"nchw": [0, 3, 1, 2], "time_major": [1, 0, 2]}
_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------- reading


def _h5py():
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - h5py is in the keras extra
        raise ImportError("reading Keras models needs h5py: pip install 'xnn[keras]'") from e
    return h5py


def _keras3_weights(h5) -> Dict[str, List[np.ndarray]]:
    """Weights of a ``model.weights.h5``: ``layers/<name>/vars/<i>``, a layer's own variables in order, then
    those of its sub-objects (an LSTM's ``cell``)."""

    def collect(group) -> List[np.ndarray]:
        out: List[np.ndarray] = []
        if "vars" in group:
            v = group["vars"]
            out += [np.asarray(v[k], dtype=np.float32) for k in sorted(v.keys(), key=int)]
        # Sub-objects are stored by attribute name; a Bidirectional's forward layer comes first, as in
        # its weight list.
        for k in sorted(group.keys(), key=lambda k: (k != "forward_layer", k)):
            if k != "vars" and k != "layers" and hasattr(group[k], "keys"):
                out += collect(group[k])
        return out

    if "layers" not in h5:
        return {}
    return {name: collect(h5["layers"][name]) for name in h5["layers"].keys()}


def _legacy_weights(group) -> Dict[str, List[np.ndarray]]:
    """Weights of a legacy ``model_weights`` group: per layer, its ``weight_names`` in order."""
    out: Dict[str, List[np.ndarray]] = {}
    for name in group.keys():
        g = group[name]
        names = [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in g.attrs.get("weight_names", [])]
        out[name] = [np.asarray(g[n], dtype=np.float32) for n in names]
    return out


def _snake_case(name: str) -> str:
    """Keras' snake_case of a class name ("PReLU" -> "p_re_lu"), which names a layer's group in a .keras file."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _by_layer_name(model: dict, stored: Dict[str, List[np.ndarray]]) -> Dict[str, List[np.ndarray]]:
    """A .keras file stores layer i of the model's list not under its name but under its class in snake_case,
    numbered among the layers of that class before it ("dense", "dense_1", ...)."""
    used: Dict[str, int] = {}
    out: Dict[str, List[np.ndarray]] = {}
    for layer in model["config"].get("layers") or []:
        key = _snake_case(str(layer.get("class_name", "")))
        used[key] = used.get(key, -1) + 1
        name = str(layer.get("name") or layer.get("config", {}).get("name"))
        out[name] = stored.get(key if used[key] == 0 else f"{key}_{used[key]}", [])
    return out


def _read(path: Path) -> Tuple[dict, Dict[str, List[np.ndarray]], bool]:
    """The model config, the weights by layer name (or by the .keras file's layer key) and whether the
    keys are a .keras file's."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise XnnIOError(f"cannot read '{path}': {e.strerror or e}") from e
    h5py = _h5py()
    try:
        if data.startswith(_ZIP_MAGIC):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
                for need in ("config.json", "model.weights.h5"):
                    if need not in names:
                        raise ModelFormatError(f"'{path}': not a Keras model archive (no {need} in the zip)")
                config = json.loads(z.read("config.json"))
                with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as h5:
                    weights, by_class = _keras3_weights(h5), True
        elif data.startswith(_HDF5_MAGIC):
            with h5py.File(io.BytesIO(data), "r") as h5:
                if "model_config" not in h5.attrs:
                    raise ModelFormatError(
                        f"'{path}': an HDF5 file without a 'model_config' attribute (weights only, or not Keras)"
                    )
                raw = h5.attrs["model_config"]
                config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
                weights = _legacy_weights(h5["model_weights"]) if "model_weights" in h5 else {}
                by_class = False
        else:
            raise ModelFormatError(f"'{path}': not a Keras model (neither a .keras zip archive nor an HDF5 .h5 file)")
    except ModelFormatError:
        raise
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError) as e:
        raise ModelFormatError(f"'{path}': truncated or corrupt Keras file ({type(e).__name__}: {e})") from e
    if not isinstance(config, dict) or "class_name" not in config or not isinstance(config.get("config"), dict):
        raise ModelFormatError(f"'{path}': the model config is not a Keras model (no class_name/config)")
    return config, weights, by_class


# ------------------------------------------------------------------------------------------- config walk


@dataclass
class _Call:
    """One call of a layer: its config, the tensors it reads ((layer, node, index) references) and the
    node index of its outputs."""

    name: str
    cls: str
    config: dict
    inputs: List[Tuple[str, int, int]]
    node: int = 0

    @property
    def id(self) -> str:
        return self.name if self.node == 0 else f"{self.name}_{self.node}"


def _tensor_refs(obj) -> List[Tuple[str, int, int]]:
    """The Keras tensors referenced by a Keras 3 call's args, in order."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            h = obj["config"]["keras_history"]
            return [(str(h[0]), int(h[1]), int(h[2]))]
        return [r for v in obj.values() for r in _tensor_refs(v)]
    if isinstance(obj, (list, tuple)):
        return [r for v in obj for r in _tensor_refs(v)]
    return []


def _inbound(node) -> List[Tuple[str, int, int]]:
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        return _tensor_refs(node.get("args", []))
    # Keras 2: [[layer, node_index, tensor_index, kwargs], ...]
    return [(str(r[0]), int(r[1]), int(r[2])) for r in node]


def _refs(v) -> List[Tuple[str, int, int]]:
    if v and isinstance(v[0], str):
        v = [v]
    return [(str(r[0]), int(r[1]), int(r[2])) for r in v]


def _layer_class(layer: dict) -> str:
    module = str(layer.get("module") or "")
    cls = str(layer.get("class_name", "?"))
    return f"{module}.{cls}" if ".ops." in module else cls


def _input_shape(config: dict) -> Optional[list]:
    return config.get("batch_shape") or config.get("batch_input_shape")


def _walk(model: dict) -> Tuple[List[_Call], List[Tuple[str, int, int]], List[Tuple[str, int, int]]]:
    """The layer calls of a Sequential or functional model in execution order, and its input and output
    tensor references."""
    cls, cfg = model["class_name"], model["config"]
    layers = cfg.get("layers")
    if not isinstance(layers, list):
        raise ModelFormatError(f"the {cls} model config has no layer list")
    if cls == "Sequential":
        calls: List[_Call] = []
        prev: Optional[str] = None
        for i, layer in enumerate(layers):
            lc = layer.get("config", {})
            name = str(lc.get("name") or layer.get("name") or f"layer_{i}")
            if _layer_class(layer) == "InputLayer":
                calls.append(_Call(name, "InputLayer", lc, []))
            else:
                if prev is None:  # Keras 2 Sequential: the input shape is on the first layer
                    shape = _input_shape(lc) or cfg.get("build_input_shape")
                    if shape is None:
                        raise ModelFormatError(f"the Sequential model declares no input shape (layer '{name}')")
                    calls.append(_Call("input", "InputLayer", {"batch_shape": list(shape), "name": "input"}, []))
                    prev = "input"
                calls.append(_Call(name, _layer_class(layer), lc, [(prev, 0, 0)]))
            prev = name
        if prev is None or len(calls) < 2:
            raise ModelFormatError("the Sequential model has no layers")
        return calls, [(calls[0].name, 0, 0)], [(prev, 0, 0)]
    if cls not in ("Functional", "Model"):
        raise UnsupportedError(f"Keras model class '{cls}' (only Sequential and functional models)")
    pending: List[_Call] = []
    for layer in layers:
        lc = layer.get("config", {})
        name = str(layer.get("name") or lc.get("name"))
        nodes = layer.get("inbound_nodes") or []
        if _layer_class(layer) == "InputLayer" or not nodes:
            pending.append(_Call(name, _layer_class(layer), lc, []))
        for k, node in enumerate(nodes):
            pending.append(_Call(name, _layer_class(layer), lc, _inbound(node), k))
    done: set = set()
    calls = []
    while pending:  # the config lists layers in order, but a shared layer's later calls may come earlier
        ready = [c for c in pending if all((r[0], r[1]) in done for r in c.inputs)]
        if not ready:
            missing = sorted({r[0] for c in pending for r in c.inputs if (r[0], r[1]) not in done})
            raise ModelFormatError(f"the model config reads layers it never computes: {', '.join(missing)}")
        for c in ready:
            pending.remove(c)
            calls.append(c)
            done.add((c.name, c.node))
    return calls, _refs(cfg.get("input_layers") or []), _refs(cfg.get("output_layers") or [])


# ---------------------------------------------------------------------------------------------- checking


def _activation_name(act) -> str:
    if act is None:
        return "linear"
    if isinstance(act, dict):  # a serialized activation: {"class_name": "function", "config": "relu"} and kin
        c = act.get("config")
        return str(c if isinstance(c, str) else (c or {}).get("name", act.get("class_name")))
    return str(act)


def _activation_problem(c: _Call) -> Optional[str]:
    act = _activation_name(c.config.get("activation"))
    if act in FUSED_ACTIVATIONS or act in NODE_ACTIVATIONS:
        return None
    return f"activation '{act}'"


def _problem(c: _Call) -> Optional[str]:
    """Why xnn cannot convert this call, or None."""
    cfg = c.config
    if c.cls not in CONVERTERS:
        return "layer type"
    if cfg.get("data_format", "channels_last") != "channels_last":
        return f"data_format '{cfg['data_format']}'"
    if c.cls == "LSTM":
        return _lstm_problem(cfg)
    if c.cls == "Bidirectional":
        inner = cfg.get("layer") or {}
        if inner.get("class_name") != "LSTM":
            return f"wraps a {inner.get('class_name')} (xnn: LSTM only)"
        if cfg.get("merge_mode", "concat") not in MERGE_MODES:
            return f"merge_mode {cfg.get('merge_mode')!r}"
        backward = (cfg.get("backward_layer") or {}).get("config", {})
        return _lstm_problem(inner.get("config") or {}) or _lstm_problem(backward)
    if c.cls == "Embedding" and cfg.get("mask_zero"):
        return "mask_zero=True (xnn has no masks)"
    if c.cls in ("Dense", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Activation"):
        return _activation_problem(c)
    if c.cls == "ReLU" and float(cfg.get("threshold") or 0.0) != 0.0:
        return f"threshold={cfg['threshold']} (only 0)"
    if c.cls == "BatchNormalization" and isinstance(cfg.get("axis"), list) and len(cfg["axis"]) != 1:
        return f"axis {cfg['axis']}"
    return None


def _lstm_problem(cfg: dict) -> Optional[str]:
    for key, want in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
        if _activation_name(cfg.get(key, want)) != want:
            return f"{key} '{_activation_name(cfg.get(key))}' (only {want})"
    for key in ("return_state", "stateful"):
        if cfg.get(key):
            return f"{key}=True"
    return None


def _check_supported(calls: Sequence[_Call]) -> None:
    bad = []
    for c in calls:
        why = _problem(c)
        if why is not None and c.node == 0:
            bad.append(f"'{c.name}' ({c.cls})" + ("" if why == "layer type" else f": {why}"))
    if bad:
        raise UnsupportedError(f"{len(bad)} Keras layer(s) xnn cannot convert: " + "; ".join(bad))


# -------------------------------------------------------------------------------------------- converting


@dataclass
class _T:
    """A Keras tensor: its Keras shape (batch first, None unknown) and the xnn tensors holding it.

    ``forms``: 'native' (Keras' own layout), one of :data:`FORMS` (a 4-D tensor channels-first, a 3-D
    one time-major) or 'flat' (a Flatten of the NCHW form: Keras feature ``row_perm[j]`` at position j).
    ``flat_of`` is the 4-D tensor a Flatten read (to flatten its native form on demand); ``pad`` the zeros
    a ZeroPadding2D adds around ``padded``, left for the convolution that reads it.
    """

    shape: Shape
    forms: Dict[str, int] = field(default_factory=dict)
    row_perm: Optional[np.ndarray] = None
    flat_of: Optional["_T"] = None
    padded: Optional["_T"] = None
    pad: Tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def rank(self) -> int:
        return len(self.shape)


class _Converter:
    def __init__(self, weights: Dict[str, List[np.ndarray]]) -> None:
        self.g = Graph()
        self.weights = weights
        self.call: Optional[_Call] = None
        #: Whether the graph is exact only for the declared image size (see _fix_image_sizes).
        self.size_dependent = False

    # -- graph building

    def error(self, what: str) -> UnsupportedError:
        c = self.call
        return UnsupportedError(f"Keras layer '{c.name}' ({c.cls}): {what}" if c else what)

    def add(self, op: str, inputs: Sequence[int], name: str = "", attrs: Optional[dict] = None,
            weights: Sequence[np.ndarray] = (), outputs: int = 1, base: Optional[str] = None) -> List[int]:
        """Appends a node of the current layer (named ``<layer>/<name>``, or ``<base>/<name>``); returns its
        output tensor ids."""
        c = self.call
        layer_type = c.cls if c and base is None else op  # a layout change is no layer's
        base = base or (c.id if c else "input")
        name = f"{base}/{name}" if name else base
        outs = [self.g.add_tensor(name if i == 0 else f"{name}:{i}") for i in range(outputs)]
        self.g.nodes.append(Node(name=name, op=op, inputs=list(inputs), outputs=outs, attrs=dict(attrs or {}),
                                 weights=[np.ascontiguousarray(w, dtype=np.float32) for w in weights],
                                 type=layer_type))
        return outs

    def add1(self, op: str, inputs: Sequence[int], name: str = "", attrs: Optional[dict] = None,
             weights: Sequence[np.ndarray] = ()) -> int:
        return self.add(op, inputs, name, attrs, weights)[0]

    def form(self, t: _T, form: str) -> int:
        """The xnn tensor holding ``t`` in ``form`` ('native' or one of :data:`FORMS`), made now if needed."""
        if t.padded is not None:
            raise self.error("reads the output of a ZeroPadding2D, which xnn can only fold into a convolution")
        if form in t.forms:
            return t.forms[form]
        # A layout change is named after the tensor it reads.
        held = [f for f in FORMS if f in t.forms and len(FORMS[f]) == t.rank]
        if form in FORMS and "native" in t.forms and len(FORMS[form]) == t.rank:
            src = t.forms["native"]
            t.forms[form] = self.add("Permute", [src], form, {"order": FORMS[form]}, base=self.g.tensors[src])[0]
        elif form == "native" and held:
            src, order = t.forms[held[0]], FORMS[held[0]]
            back = [order.index(i) for i in range(t.rank)]
            t.forms[form] = self.add("Permute", [src], "nhwc" if t.rank == 4 else "batch_major", {"order": back},
                                     base=self.g.tensors[src])[0]
        elif form == "native" and t.flat_of is not None:
            src = self.form(t.flat_of, "native")
            t.forms[form] = self.add("Flatten", [src], "flatten", {"axis": [1]}, base=self.g.tensors[src])[0]
        else:
            raise self.error(f"no {form} form of a {t.rank}-D tensor")  # an internal inconsistency
        return t.forms[form]

    def spatial(self, t: _T) -> int:
        """The NCHW form of a 4-D input."""
        if t.rank != 4:
            raise self.error(f"expects a 4-D input, got shape {list(t.shape)}")
        return self.form(t, "nchw")

    def any_form(self, t: _T) -> Tuple[str, int]:
        """A layout-free op's input: ``t`` in a layout it is held in, its NCHW one if it has several."""
        f = next((f for f in ("nchw", "time_major", "native") if f in t.forms), "native")
        return f, self.form(t, f)

    def weights_of(self, count: Sequence[int]) -> List[np.ndarray]:
        """The current layer's weights, checking there are as many as one of ``count``."""
        c = self.call
        w = self.weights.get(c.name, [])
        if len(w) not in count:
            raise ModelFormatError(f"Keras layer '{c.name}' ({c.cls}): {len(w)} weight arrays in the file, "
                                   f"expected {' or '.join(str(n) for n in count)}")
        return w

    def check_shape(self, what: str, w: np.ndarray, shape: Sequence[int]) -> None:
        if tuple(w.shape) != tuple(shape):
            raise ModelFormatError(f"Keras layer '{self.call.name}' ({self.call.cls}): {what} has shape "
                                   f"{list(w.shape)}, expected {list(shape)}")

    def activation(self, t: _T, form: str, tid: int, act=None) -> _T:
        """``t`` with ``tid`` as its ``form``, after the layer's activation when it is a node of its own."""
        name = _activation_name(self.call.config.get("activation") if act is None else act)
        if name in NODE_ACTIVATIONS:
            attrs = {"axis": [self.axis(t, -1, form)]} if name == "softmax" else {}
            tid = self.add1(NODE_ACTIVATIONS[name], [tid], name, attrs)
        t.forms[form] = tid
        return t

    def axis(self, t: _T, axis: int, form: str) -> int:
        """Keras axis ``axis`` of ``t`` as an axis of its ``form``."""
        a = axis + t.rank if axis < 0 else axis
        if not 0 < a < t.rank:
            raise self.error(f"axis {axis} of a {t.rank}-D tensor")
        return FORMS[form].index(a) if form in FORMS else a


def _pair(v, name: str) -> Tuple[int, int]:
    v = list(v) if isinstance(v, (list, tuple)) else [v, v]
    if len(v) != 2:
        raise ModelFormatError(f"'{name}' is {v}, expected two values")
    return int(v[0]), int(v[1])


def _same_pads(cv: _Converter, t: _T, kernel, stride, dilation=(1, 1)) -> List[int]:
    """Keras' 'same' padding, [top, left, bottom, right]: the extra row/column goes at the bottom/right."""
    pads = []
    for i in range(2):
        k = (kernel[i] - 1) * dilation[i] + 1
        size = t.shape[1 + i]
        if stride[i] == 1:
            total = k - 1
        elif size is None:
            raise cv.error("'same' padding with a stride > 1 needs the input's spatial size declared")
        else:
            total = max((-(-size // stride[i]) - 1) * stride[i] + k - size, 0)
            cv.size_dependent = True
        pads.append((total // 2, total - total // 2))
    return [pads[0][0], pads[1][0], pads[0][1], pads[1][1]]


def _out_size(size: Optional[int], k: int, s: int, total_pad: int) -> Optional[int]:
    return None if size is None else (size + total_pad - k) // s + 1


def _window(cv: _Converter, t: _T, kernel, stride, dilation=(1, 1), extra=(0, 0, 0, 0)) -> Tuple[List[int], Shape]:
    """Pads and output spatial size of a convolution or pooling window over ``t``."""
    cfg = cv.call.config
    padding = str(cfg.get("padding", "valid")).lower()
    if padding == "same":
        pads = _same_pads(cv, t, kernel, stride, dilation)
    elif padding == "valid":
        pads = [0, 0, 0, 0]
    else:
        raise cv.error(f"padding '{padding}'")
    pads = [p + e for p, e in zip(pads, extra)]
    hw = tuple(_out_size(t.shape[1 + i], (kernel[i] - 1) * dilation[i] + 1, stride[i], pads[i] + pads[i + 2])
               for i in range(2))
    for i, s in enumerate(hw):
        if s is not None and s < 1:
            raise cv.error(f"the {kernel[0]}x{kernel[1]} window does not fit the input {list(t.shape)}")
    return pads, hw


def _conv(cv: _Converter, t: _T, kernel4: np.ndarray, bias: Optional[np.ndarray], group: int, stride, dilation,
          act_name: str = "", name: str = "") -> Tuple[_T, int]:
    """A Convolution over ``t`` (folding a ZeroPadding2D before it); ``kernel4`` is [out, in/group, kh, kw]."""
    extra = (0, 0, 0, 0)
    if t.padded is not None:
        t, extra = t.padded, t.pad
    x = cv.spatial(t)
    kernel = kernel4.shape[2:]
    if t.shape[3] is not None and kernel4.shape[1] * group != t.shape[3]:
        raise ModelFormatError(f"Keras layer '{cv.call.name}' ({cv.call.cls}): the kernel takes "
                               f"{kernel4.shape[1] * group} channels, the input has {t.shape[3]}")
    if bias is not None:
        cv.check_shape("bias", bias, kernel4.shape[:1])
    pads, hw = _window(cv, t, kernel, stride, dilation, extra)
    attrs = {"num_output": [kernel4.shape[0]], "group": [group], "kernel": list(kernel), "stride": list(stride),
             "dilation": list(dilation), "pad": pads, "bias": [int(bias is not None)]}
    act = FUSED_ACTIVATIONS.get(act_name)
    if act is not None:
        attrs["activation"] = act
    weights = [kernel4] + ([bias] if bias is not None else [])
    out = _T((t.shape[0],) + hw + (kernel4.shape[0],))
    return out, cv.add1("Convolution", [x], name, attrs, weights)


def _conv_args(cv: _Converter):
    cfg = cv.call.config
    return (_pair(cfg.get("strides", 1), "strides"), _pair(cfg.get("dilation_rate", 1), "dilation_rate"),
            _activation_name(cfg.get("activation")), bool(cfg.get("use_bias", True)))


# ---- converters: one per Keras layer class; each takes the inputs and returns the outputs


def convert_conv2d(cv: _Converter, ins: List[_T]) -> List[_T]:
    stride, dilation, act, use_bias = _conv_args(cv)
    w = cv.weights_of([2] if use_bias else [1])
    group = int(cv.call.config.get("groups", 1) or 1)
    out, tid = _conv(cv, ins[0], w[0].transpose(3, 2, 0, 1), w[1] if use_bias else None, group, stride, dilation,
                     act)
    return [cv.activation(out, "nchw", tid)]


def _depthwise_kernel(w: np.ndarray) -> np.ndarray:
    """Keras' [kh, kw, C, mult] depthwise kernel as [C * mult, 1, kh, kw]: Keras' output channel
    c * mult + m is input channel c's m-th filter."""
    kh, kw, cin, mult = w.shape
    return w.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None]


def convert_depthwise(cv: _Converter, ins: List[_T]) -> List[_T]:
    stride, dilation, act, use_bias = _conv_args(cv)
    w = cv.weights_of([2] if use_bias else [1])
    out, tid = _conv(cv, ins[0], _depthwise_kernel(w[0]), w[1] if use_bias else None, w[0].shape[2], stride,
                     dilation, act)
    return [cv.activation(out, "nchw", tid)]


def convert_separable(cv: _Converter, ins: List[_T]) -> List[_T]:
    stride, dilation, act, use_bias = _conv_args(cv)
    w = cv.weights_of([3] if use_bias else [2])
    depth, dtid = _conv(cv, ins[0], _depthwise_kernel(w[0]), None, w[0].shape[2], stride, dilation,
                        name="depthwise")
    depth.forms["nchw"] = dtid
    point = w[1]
    cv.check_shape("pointwise_kernel", point, (1, 1, w[0].shape[2] * w[0].shape[3], point.shape[3]))
    out, tid = _conv(cv, depth, point.transpose(3, 2, 0, 1), w[2] if use_bias else None, 1, (1, 1), (1, 1), act)
    return [cv.activation(out, "nchw", tid)]


def convert_dense(cv: _Converter, ins: List[_T]) -> List[_T]:
    t = ins[0]
    use_bias = bool(cv.call.config.get("use_bias", True))
    w = cv.weights_of([2] if use_bias else [1])
    kernel = w[0]
    if t.shape[-1] is not None:
        cv.check_shape("kernel", kernel, (t.shape[-1], kernel.shape[1]))
    form = "native"
    if t.rank == 2 and "flat" in t.forms and "native" not in t.forms:
        x, kernel = t.forms["flat"], kernel[t.row_perm]  # the Flatten before kept NCHW order
    elif "time_major" in t.forms and "native" not in t.forms:  # an LSTM's sequence: time-major on
        x, form = t.forms["time_major"], "time_major"
    else:
        x = cv.form(t, "native")
    attrs = {"num_output": [kernel.shape[1]], "axis": [t.rank - 1], "bias": [int(use_bias)]}
    act_name = _activation_name(cv.call.config.get("activation"))
    if FUSED_ACTIVATIONS.get(act_name) is not None:
        attrs["activation"] = FUSED_ACTIVATIONS[act_name]
    tid = cv.add1("InnerProduct", [x], "", attrs, [kernel.T] + ([w[1]] if use_bias else []))
    return [cv.activation(_T(t.shape[:-1] + (kernel.shape[1],)), form, tid)]


def convert_batchnorm(cv: _Converter, ins: List[_T]) -> List[_T]:
    t, cfg = ins[0], cv.call.config
    axis = cfg.get("axis", -1)
    axis = int(axis[0] if isinstance(axis, list) else axis)
    a = axis + t.rank if axis < 0 else axis
    if t.rank == 4 and a == 3:
        form = "nchw"
    elif a == 1 and t.rank != 4:
        form = "native"
    else:
        raise cv.error(f"normalizes axis {axis} of a {t.rank}-D tensor (xnn: the channel axis only)")
    names = ["gamma"] * bool(cfg.get("scale", True)) + ["beta"] * bool(cfg.get("center", True))
    names += ["moving_mean", "moving_variance"]
    w = dict(zip(names, cv.weights_of([len(names)])))
    for name, v in w.items():
        cv.check_shape(name, v, (t.shape[a] if t.shape[a] is not None else len(w["moving_mean"]),))
    scale = w.get("gamma", 1.0) / np.sqrt(w["moving_variance"] + float(cfg.get("epsilon", 1e-3)))
    shift = w.get("beta", 0.0) - w["moving_mean"] * scale
    tid = cv.add1("Affine", [cv.form(t, form)], "", {}, [scale, shift])
    cv.g.nodes[-1].num_params = sum(v.size for v in w.values())  # as Keras counts them
    return [_T(t.shape, {form: tid})]


def _relu_node(cv: _Converter, t: _T, act: List[float]) -> List[_T]:
    form, x = cv.any_form(t)
    return [_T(t.shape, {form: cv.add1("ReLU", [x], "", {"activation": act})})]


def convert_relu(cv: _Converter, ins: List[_T]) -> List[_T]:
    cfg = cv.call.config
    top = cfg.get("max_value")
    return _relu_node(cv, ins[0], [float(cfg.get("negative_slope") or 0.0), -INF, INF if top is None else float(top)])


def convert_leaky_relu(cv: _Converter, ins: List[_T]) -> List[_T]:
    cfg = cv.call.config
    slope = cfg.get("negative_slope", cfg.get("alpha", 0.3))
    return _relu_node(cv, ins[0], [float(slope), -INF, INF])


def convert_activation(cv: _Converter, ins: List[_T]) -> List[_T]:
    t = ins[0]
    name = _activation_name(cv.call.config.get("activation"))
    if name == "linear":
        return [t]
    if FUSED_ACTIVATIONS.get(name) is not None:
        return _relu_node(cv, t, FUSED_ACTIVATIONS[name])
    form, x = cv.any_form(t)
    return [cv.activation(_T(t.shape), form, x)]


def convert_softmax(cv: _Converter, ins: List[_T]) -> List[_T]:
    t = ins[0]
    axis = cv.call.config.get("axis", -1)
    if isinstance(axis, list):
        if len(axis) != 1:
            raise cv.error(f"softmax over axes {axis} (xnn: one axis)")
        axis = axis[0]
    form, x = cv.any_form(t)
    return [_T(t.shape, {form: cv.add1("Softmax", [x], "", {"axis": [cv.axis(t, int(axis), form)]})})]


def convert_prelu(cv: _Converter, ins: List[_T]) -> List[_T]:
    t = ins[0]
    alpha = cv.weights_of([1])[0]
    c = alpha.shape[-1]
    per_channel = alpha.reshape(-1, c)
    if np.all(alpha == alpha.flat[0]):
        form, slopes, shared = cv.any_form(t)[0], alpha.reshape(-1)[:1], 1
    elif np.all(per_channel == per_channel[:1]) and (t.rank == 4 or t.rank == 2):
        form, slopes, shared = ("nchw" if t.rank == 4 else "native"), per_channel[0], 0
    else:
        raise cv.error("slopes that vary along other axes than the channels (use shared_axes)")
    tid = cv.add1("PReLU", [cv.form(t, form)], "", {"channel_shared": [shared]}, [slopes])
    return [_T(t.shape, {form: tid})]


def _pool_args(cv: _Converter) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    cfg = cv.call.config
    k = _pair(cfg.get("pool_size", 2), "pool_size")
    s = cfg.get("strides")
    return k, (k if s is None else _pair(s, "strides"))


def convert_pooling(cv: _Converter, ins: List[_T]) -> List[_T]:
    t = ins[0]
    kernel, stride = _pool_args(cv)
    x = cv.spatial(t)
    pads, hw = _window(cv, t, kernel, stride)
    average = cv.call.cls.startswith("Average")
    attrs = {"method": [int(average)], "kernel": list(kernel), "stride": list(stride), "pad": pads,
             "ceil_mode": [0]}
    tid = cv.add1("Pooling", [x], "", attrs)
    if average and any(pads):
        tid = _exclude_padding(cv, tid, t, kernel, stride, pads, hw)
    return [_T((t.shape[0],) + hw + (t.shape[3],), {"nchw": tid})]


def _exclude_padding(cv: _Converter, tid: int, t: _T, kernel, stride, pads, hw) -> int:
    """xnn's average (Caffe's) divides by the whole window, padding included, Keras' by the input pixels
    in it only: scale each output position by the ratio, viewing the [N, C, OH, OW] result as rows of
    OH*OW values to use Affine's per-'channel' scale."""
    cv.size_dependent = True
    if None in hw:
        raise cv.error("average pooling with 'same' padding needs the input's spatial size declared")
    counts = []
    for i in range(2):
        starts = np.arange(hw[i]) * stride[i] - pads[i]
        counts.append(np.minimum(starts + kernel[i], t.shape[1 + i]) - np.maximum(starts, 0))
    ratio = (kernel[0] * kernel[1]) / np.outer(counts[0], counts[1]).astype(np.float64)
    rows = cv.add1("Reshape", [tid], "rows", {"shape": [-1, hw[0] * hw[1]]})
    scaled = cv.add1("Affine", [rows], "exclude_padding", {}, [ratio.reshape(-1), np.zeros(ratio.size)])
    return cv.add1("Reshape", [scaled], "planes", {"shape": [-1, t.shape[3], hw[0], hw[1]]})


def convert_global_pooling(cv: _Converter, ins: List[_T]) -> List[_T]:
    t = ins[0]
    method = int(cv.call.cls.startswith("GlobalAverage"))
    tid = cv.add1("Pooling", [cv.spatial(t)], "", {"method": [method], "global": [1]})
    if cv.call.config.get("keepdims"):
        return [_T((t.shape[0], 1, 1, t.shape[3]), {"nchw": tid})]
    return [_T((t.shape[0], t.shape[3]), {"native": cv.add1("Flatten", [tid], "flatten", {"axis": [1]})})]


def _elementwise(cv: _Converter, ins: List[_T], attrs: dict) -> List[_T]:
    form, first = cv.any_form(ins[0])
    if any(i.shape[1:] != ins[0].shape[1:] for i in ins):
        raise cv.error(f"inputs of shapes {[list(i.shape) for i in ins]} (xnn: equal shapes, no broadcasting)")
    xs = [first] + [cv.form(i, form) for i in ins[1:]]
    return [_T(ins[0].shape, {form: cv.add1("Eltwise", xs, "", attrs)})]


def convert_merge(cv: _Converter, ins: List[_T]) -> List[_T]:
    cls, n = cv.call.cls, len(ins)
    if cls == "Subtract" and n != 2:
        raise cv.error(f"{n} inputs")
    attrs = {
        "Add": {"operation": [1]},
        "Subtract": {"operation": [1], "coeffs": [1.0, -1.0]},
        "Average": {"operation": [1], "coeffs": [1.0 / n] * n},
        "Multiply": {"operation": [0]},
        "Maximum": {"operation": [2]},
    }[cls]
    return _elementwise(cv, ins, attrs)


def convert_concatenate(cv: _Converter, ins: List[_T]) -> List[_T]:
    t = ins[0]
    form, first = cv.any_form(t)
    axis = cv.axis(t, int(cv.call.config.get("axis", -1)), form)
    xs = [first] + [cv.form(i, form) for i in ins[1:]]
    a = cv.axis(t, int(cv.call.config.get("axis", -1)), "native")
    sizes = [i.shape[a] for i in ins]
    total = None if None in sizes else sum(sizes)
    shape = t.shape[:a] + (total,) + t.shape[a + 1:]
    return [_T(shape, {form: cv.add1("Concat", xs, "", {"axis": [axis]})})]


def convert_flatten(cv: _Converter, ins: List[_T]) -> List[_T]:
    t = ins[0]
    known = None not in t.shape[1:]
    size = int(np.prod(t.shape[1:])) if known else None
    if t.rank == 4 and "nchw" in t.forms and "native" not in t.forms and known:
        h, w, c = t.shape[1:]
        tid = cv.add1("Flatten", [t.forms["nchw"]], "", {"axis": [1]})
        perm = np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).reshape(-1)
        return [_T((t.shape[0], size), {"flat": tid}, row_perm=perm, flat_of=t)]
    return [_T((t.shape[0], size), {"native": cv.add1("Flatten", [cv.form(t, "native")], "", {"axis": [1]})})]


def convert_reshape(cv: _Converter, ins: List[_T]) -> List[_T]:
    t = ins[0]
    target = [int(d) for d in cv.call.config["target_shape"]]
    shape: List[Optional[int]] = [None if d == -1 else d for d in target]
    if target.count(-1) == 1 and None not in t.shape[1:]:
        shape[target.index(-1)] = int(np.prod(t.shape[1:])) // max(1, -int(np.prod(target)))
    tid = cv.add1("Reshape", [cv.form(t, "native")], "", {"shape": [0] + target})
    return [_T((t.shape[0],) + tuple(shape), {"native": tid})]


def convert_identity(cv: _Converter, ins: List[_T]) -> List[_T]:
    return [ins[0]]


def convert_zero_padding(cv: _Converter, ins: List[_T]) -> List[_T]:
    t, p = ins[0], cv.call.config.get("padding", 1)
    if isinstance(p, int):
        p = ((p, p), (p, p))
    (top, bottom), (left, right) = [(v, v) if isinstance(v, int) else tuple(v) for v in p]
    if t.rank != 4:
        raise cv.error(f"expects a 4-D input, got shape {list(t.shape)}")
    if t.padded is not None:
        t, (top, left, bottom, right) = t.padded, [a + b for a, b in zip(t.pad, (top, left, bottom, right))]
    hw = tuple(None if s is None else s + a + b for s, a, b in zip(t.shape[1:3], (top, left), (bottom, right)))
    return [_T((t.shape[0],) + hw + (t.shape[3],), padded=t, pad=(top, left, bottom, right))]


def _lstm_weights(cv: _Converter, t: _T, cfg: dict, w: Sequence[np.ndarray]) -> List[np.ndarray]:
    """W [4H, I], R [4H, H] and B [4H] of one Keras LSTM, its gates reordered from Keras' i, f, c, o to
    xnn's i, f, o, g (g: the cell candidate)."""
    units = int(cfg["units"])
    n_in = t.shape[2] if t.shape[2] is not None else w[0].shape[0]
    cv.check_shape("kernel", w[0], (n_in, 4 * units))
    cv.check_shape("recurrent_kernel", w[1], (units, 4 * units))
    order = np.concatenate([np.arange(units) + g * units for g in (0, 1, 3, 2)])
    bias = w[2] if len(w) > 2 else np.zeros(4 * units, np.float32)
    cv.check_shape("bias", bias, (4 * units,))
    return [w[0].T[order], w[1].T[order], bias[order]]


def _lstm(cv: _Converter, t: _T, units: int, direction: int, weights: List[np.ndarray]) -> List[int]:
    """An LSTM node over ``t`` (kept time-major); returns Y [T, D, N, H] and Y_h [D, N, H]."""
    if t.rank != 3:
        raise cv.error(f"expects a 3-D [batch, time, features] input, got shape {list(t.shape)}")
    attrs = {"hidden_size": [units], "direction": [direction]}
    return cv.add("LSTM", [cv.form(t, "time_major")], "", attrs, weights, outputs=2)


def _lstm_config(cfg: dict) -> Tuple[int, int]:
    """Units and the number of weight arrays of a Keras LSTM."""
    return int(cfg["units"]), 3 if cfg.get("use_bias", True) else 2


def convert_lstm(cv: _Converter, ins: List[_T]) -> List[_T]:
    t, cfg = ins[0], cv.call.config
    units, count = _lstm_config(cfg)
    backwards = bool(cfg.get("go_backwards"))
    sequences = bool(cfg.get("return_sequences"))
    steps = t.shape[1]
    if backwards and sequences and steps is None:
        raise cv.error("go_backwards with return_sequences needs the number of time steps declared")
    weights = [w[None] for w in _lstm_weights(cv, t, cfg, cv.weights_of([count]))]
    y, y_h = _lstm(cv, t, units, int(backwards), weights)
    if not sequences:
        return [_T((t.shape[0], units), {"native": cv.add1("Reshape", [y_h], "last", {"shape": [-1, units]})})]
    # Y is [T, 1, N, H]; Keras gives [N, T, H] (kept time-major for the layers after), in processing
    # order (reversed time when go_backwards).
    y = cv.add1("Reshape", [y], "steps", {"shape": [0, -1, units]})
    if backwards and steps > 1:
        y = cv.add1("Concat", cv.add("Slice", [y], "split", {"axis": [0]}, outputs=steps)[::-1], "reverse",
                    {"axis": [0]})
    return [_T((t.shape[0], steps, units), {"time_major": y})]


#: Bidirectional's merge modes other than concat, as Eltwise attributes.
MERGE_MODES = {"concat": None, "sum": {"operation": [1]}, "ave": {"operation": [1], "coeffs": [0.5, 0.5]},
               "mul": {"operation": [0]}}


def convert_bidirectional(cv: _Converter, ins: List[_T]) -> List[_T]:
    """A bidirectional LSTM: one node with direction 2 (its reverse half is already in time order, as
    Keras' backward output once Bidirectional has reversed it)."""
    t, cfg = ins[0], cv.call.config
    forward = cfg["layer"]["config"]
    backward = (cfg.get("backward_layer") or {}).get("config") or forward
    units, count = _lstm_config(forward)
    if (units, count) != _lstm_config(backward) or forward.get("go_backwards") \
            or bool(forward.get("return_sequences")) != bool(backward.get("return_sequences")):
        raise cv.error("forward and backward layers that differ in units, use_bias or return_sequences")
    w = cv.weights_of([2 * count])
    halves = [_lstm_weights(cv, t, forward, w[:count]), _lstm_weights(cv, t, backward, w[count:])]
    y, y_h = _lstm(cv, t, units, 2, [np.stack(pair) for pair in zip(*halves)])
    mode = MERGE_MODES[cfg.get("merge_mode", "concat")]
    sequences = bool(forward.get("return_sequences"))
    out, axis = (y, 1) if sequences else (y_h, 0)
    if mode is None:  # concat: the directions next to each other on the last axis
        order = [0, 2, 1, 3] if sequences else [1, 0, 2]
        out = cv.add1("Permute", [out], "directions_last", {"order": order})
    else:
        out = cv.add1("Eltwise", cv.add("Slice", [out], "directions", {"axis": [axis]}, outputs=2), "merge", mode)
    width = 2 * units if mode is None else units
    if sequences:
        y = cv.add1("Reshape", [out], "steps", {"shape": [0, -1, width]})
        return [_T((t.shape[0], t.shape[1], width), {"time_major": y})]
    return [_T((t.shape[0], width), {"native": cv.add1("Reshape", [out], "last", {"shape": [-1, width]})})]


def convert_embedding(cv: _Converter, ins: List[_T]) -> List[_T]:
    t, cfg = ins[0], cv.call.config
    table = cv.weights_of([1])[0]
    cv.check_shape("embeddings", table, (int(cfg["input_dim"]), int(cfg["output_dim"])))
    attrs = {"num_output": [table.shape[1]], "input_dim": [table.shape[0]], "bias": [0]}
    return [_T(t.shape + (table.shape[1],), {"native": cv.add1("Embed", [cv.form(t, "native")], "", attrs, [table])})]


CONVERTERS: Dict[str, Callable[[_Converter, List[_T]], List[_T]]] = {
    "InputLayer": convert_identity,
    "Dense": convert_dense,
    "Conv2D": convert_conv2d,
    "Convolution2D": convert_conv2d,
    "DepthwiseConv2D": convert_depthwise,
    "SeparableConv2D": convert_separable,
    "SeparableConvolution2D": convert_separable,
    "BatchNormalization": convert_batchnorm,
    "MaxPooling2D": convert_pooling,
    "MaxPool2D": convert_pooling,
    "AveragePooling2D": convert_pooling,
    "AvgPool2D": convert_pooling,
    "GlobalAveragePooling2D": convert_global_pooling,
    "GlobalAvgPool2D": convert_global_pooling,
    "GlobalMaxPooling2D": convert_global_pooling,
    "GlobalMaxPool2D": convert_global_pooling,
    "Activation": convert_activation,
    "ReLU": convert_relu,
    "LeakyReLU": convert_leaky_relu,
    "PReLU": convert_prelu,
    "Softmax": convert_softmax,
    "Add": convert_merge,
    "Subtract": convert_merge,
    "Average": convert_merge,
    "Multiply": convert_merge,
    "Maximum": convert_merge,
    "Concatenate": convert_concatenate,
    "LSTM": convert_lstm,
    "Bidirectional": convert_bidirectional,
    "Embedding": convert_embedding,
    "Flatten": convert_flatten,
    "Reshape": convert_reshape,
    "Dropout": convert_identity,
    "SpatialDropout2D": convert_identity,
    "GaussianNoise": convert_identity,
    "GaussianDropout": convert_identity,
    "ZeroPadding2D": convert_zero_padding,
}


def _build(calls: List[_Call], inputs, outputs, weights: Dict[str, List[np.ndarray]]) -> Graph:
    cv = _Converter(weights)
    values: Dict[Tuple[str, int], List[_T]] = {}
    for c in calls:
        cv.call = c
        if c.cls == "InputLayer":
            shape = _input_shape(c.config)
            if not shape:
                raise ModelFormatError(f"Keras input '{c.name}' declares no shape")
            if len(shape) == 4 and None in shape[1:]:
                raise cv.error(f"input shape {shape}: an image input needs its height, width and channels declared")
            tid = cv.g.add_tensor(c.name)
            cv.g.inputs.append((tid, tuple(1 if d is None else int(d) for d in shape)))
            values[(c.name, 0)] = [_T(tuple(None if d is None else int(d) for d in shape), {"native": tid})]
            continue
        ins = []
        for r in c.inputs:
            outs = values[(r[0], r[1])]
            if r[2] >= len(outs):
                raise ModelFormatError(f"Keras layer '{c.name}' reads output {r[2]} of '{r[0]}', which has {len(outs)}")
            ins.append(outs[r[2]])
        if not ins:
            raise ModelFormatError(f"Keras layer '{c.name}' ({c.cls}) has no input")
        with _malformed(f"Keras layer '{c.name}' ({c.cls}): malformed config or weights"):
            values[(c.name, c.node)] = CONVERTERS[c.cls](cv, ins)
    cv.call = None
    declared = [t for t, _ in cv.g.inputs]
    cv.g.inputs = [cv.g.inputs[declared.index(values[(r[0], r[1])][r[2]].forms["native"])] for r in inputs]
    for r in outputs:
        t = values[(r[0], r[1])][r[2]]
        tid = cv.form(t, "native")
        if tid in declared:  # an output that is an input (Dropout, Activation('linear')): give it a node
            tid = cv.add1("Identity", [tid], r[0])
        _rename(cv.g, tid, r[0] if r[1] == 0 else f"{r[0]}_{r[1]}")
        cv.g.outputs.append(tid)
    if cv.size_dependent:
        _fix_image_sizes(cv.g)
    return cv.g


def _fix_image_sizes(g: Graph) -> None:
    """Keras' 'same' padding with a stride, and the averages that leave the padding out, depend on the
    input size, which xnn's padding does not follow: a Reshape to the declared size after each image input
    makes another size a ShapeError instead of a silently different result."""
    for tid, shape in g.inputs:
        if len(shape) != 4:
            continue
        fixed = g.add_tensor(f"{g.tensors[tid]}/declared_size")
        for n in g.nodes:
            n.inputs = [fixed if i == tid else i for i in n.inputs]
        g.nodes.insert(0, Node(name=g.tensors[fixed], op="Reshape", inputs=[tid], outputs=[fixed],
                               attrs={"shape": [0] + list(shape[1:])}, type="InputLayer"))


@contextlib.contextmanager
def _malformed(what: str):
    """Turns what a malformed config or weight array makes Python raise into a ModelFormatError."""
    try:
        yield
    except XnnError:
        raise
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as e:
        raise ModelFormatError(f"{what} ({type(e).__name__}: {e})") from e


def _rename(g: Graph, tid: int, name: str) -> None:
    """Names the output tensor ``tid`` after its Keras layer; a tensor that had the name gets a suffix."""
    for i, n in enumerate(g.tensors):
        if n == name and i != tid:
            g.tensors[i] = f"{name}/internal"
    g.tensors[tid] = name


def from_keras(path: PathLike) -> Graph:
    """Reads a Keras model file (``.keras`` or legacy ``.h5``) into a :class:`xnn.graph.Graph` that takes
    and gives the same tensors as the Keras model's ``predict`` (channels-last images, batch-major
    sequences).

    Raises:
        XnnIOError: the file cannot be read. ModelFormatError: not a Keras model, truncated, or weights that
        do not match the config. UnsupportedError: layers or settings xnn cannot convert (all of them named
        in one message).
    """
    p = Path(path)
    if not p.exists():
        raise XnnIOError(f"cannot open '{p}': no such file")
    config, weights, by_class = _read(p)
    with _malformed(f"'{p}': malformed Keras model config"):
        if by_class:
            weights = _by_layer_name(config, weights)
        calls, inputs, outputs = _walk(config)
        _check_supported(calls)
    with _malformed(f"'{p}': inconsistent Keras model"):
        graph = _build(calls, inputs, outputs, weights)
    graph.metadata["source"] = p.name
    graph.metadata["layout"] = "NHWC"  # Keras images (channels_last, the only data_format read)
    return graph

"""The Python face of the C engine: load a model once, predict on numpy arrays or images."""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _xnn
from .errors import ModelFormatError, ShapeError, XnnIOError
from .image import preprocess_image

ArrayDict = Dict[str, np.ndarray]
Prediction = Union[np.ndarray, ArrayDict]

#: Plans kept per model for distinct input shapes (least recently used dropped first).
MAX_CACHED_PLANS = 8


@dataclass(frozen=True)
class TensorInfo:
    """Name and shape of a model input or output (shape as declared in the model file)."""

    name: str
    shape: Tuple[int, ...]


@dataclass(frozen=True)
class LayerInfo:
    """One layer of a loaded model."""

    name: str
    type: str
    params: int


@dataclass(frozen=True)
class LayerProfile:
    """Per-layer figures of a plan: output shape, multiply-accumulates and measured time.

    ``with_previous``: the layer runs as one with the layer before it (a pointwise convolution and the
    depthwise one that reads its output, or a network's first convolution and its max pool, where the map
    between them is too large for L2), and its time is counted in that layer's (its own ``time_ms`` is 0)."""

    name: str
    type: str
    shape: Tuple[int, ...]
    macs: int
    time_ms: float
    with_previous: bool = False


def _resolve_caffe_paths(path: Path, weights: Optional[Union[str, os.PathLike]]) -> Tuple[Path, Optional[Path]]:
    if path.suffix == ".caffemodel" and weights is not None and str(weights).endswith(".prototxt"):
        path, weights = Path(weights), path
    if weights is not None:
        return path, Path(weights)
    sibling = path.with_suffix(".caffemodel")
    if sibling.exists():
        return path, sibling
    candidates = sorted(path.parent.glob("*.caffemodel"))
    if len(candidates) == 1:
        return path, candidates[0]
    return path, None


def _is_xnn_file(path: Path) -> bool:
    if path.suffix == ".xnn":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"XNNM"
    except OSError:
        return False


class Model:
    """A loaded network. Create with :meth:`Model.load`.

    The model is loaded, shape-checked and its weights packed once. Each distinct input shape gets its
    own plan (shapes, memory arena) the first time it is seen; later calls with that shape reuse it.
    A Model is not safe to call from several threads at once; load one per thread instead.
    """

    def __init__(self, handle: "_xnn.Model", num_threads: Optional[int] = None, source: str = "") -> None:
        self._handle = handle
        self._num_threads = 0 if num_threads is None else int(num_threads)
        if self._num_threads < 0:
            raise ValueError("num_threads must be >= 0 (0 or None: one per core)")
        self._sessions: "OrderedDict[Tuple[Tuple[int, ...], ...], _xnn.Session]" = OrderedDict()
        self.source = source
        self.inputs: List[TensorInfo] = [TensorInfo(n, tuple(s)) for n, s in handle.inputs]
        self.outputs: List[TensorInfo] = [TensorInfo(n, tuple(s)) for n, s in handle.outputs]
        self.layers: List[LayerInfo] = [LayerInfo(n, t, p) for n, t, p in handle.layers]
        #: How 4-D inputs hold an image: "NCHW" (Caffe, ONNX) or "NHWC" (Keras models).
        self.input_layout: str = str(handle.input_layout)
        self._session_for(tuple(i.shape for i in self.inputs))

    @classmethod
    def load(
        cls,
        path: Union[str, os.PathLike],
        weights: Optional[Union[str, os.PathLike]] = None,
        num_threads: Optional[int] = None,
    ) -> "Model":
        """Loads a model.

        Args:
            path: a ``.xnn`` file (written by ``xnn convert`` / ``xnn compress``), a Caffe
                ``deploy.prototxt``, or an ``.onnx`` / ``.keras`` / ``.h5`` file (converted in memory, see
                :func:`xnn.convert.convert`).
            weights: the ``.caffemodel``; by default the file next to ``path`` with the same stem, or the
                only ``.caffemodel`` in its folder.
            num_threads: threads for inference; ``None`` uses one per core.

        Raises:
            XnnIOError: a file cannot be read. ModelFormatError: a malformed or inconsistent model (the
            message names the layer and field, or the prototxt line). UnsupportedError: a layer type or
            parameter xnn does not implement.
        """
        p = Path(path)
        if not p.exists():
            raise XnnIOError(f"cannot open '{p}': no such file")
        if _is_xnn_file(p):
            return cls(_xnn.load_xnn(str(p)), num_threads, source=str(p))
        if p.suffix in (".prototxt", ".pbtxt", ".txt") or p.suffix == ".caffemodel":
            proto, caffemodel = _resolve_caffe_paths(p, weights)
            if caffemodel is None:
                raise ModelFormatError(
                    f"no weights for '{proto}': pass weights='model.caffemodel' (none found next to it)"
                )
            handle = _xnn.load_caffe(str(proto), str(caffemodel))
            return cls(handle, num_threads, source=str(proto))
        from .convert import SUFFIXES, convert

        if p.suffix.lower() in SUFFIXES:  # converted in memory
            from .format.writer import encode

            return cls(_xnn.load_xnn_memory(encode(convert(p))), num_threads, source=str(p))
        raise ModelFormatError(f"'{p}': unknown model format (expected a .xnn file, a Caffe .prototxt, "
                               f"or one of {', '.join(SUFFIXES)})")

    @classmethod
    def from_bytes(cls, data: bytes, num_threads: Optional[int] = None) -> "Model":
        """Loads a .xnn model from memory."""
        return cls(_xnn.load_xnn_memory(bytes(data)), num_threads, source="<memory>")

    @classmethod
    def from_caffe_bytes(cls, prototxt: bytes, caffemodel: bytes, num_threads: Optional[int] = None) -> "Model":
        """Loads a Caffe model from memory (prototxt text and caffemodel bytes)."""
        return cls(_xnn.load_caffe_memory(bytes(prototxt), bytes(caffemodel)), num_threads, source="<memory>")

    # ------------------------------------------------------------------ plans

    @property
    def isa(self) -> str:
        """The kernel set chosen at load: "avx512", "avx2" or "ref" (capped by the XNN_ISA variable)."""
        return str(self._handle.isa)

    @property
    def num_threads(self) -> int:
        """Threads used by inference."""
        return next(iter(self._sessions.values())).num_threads

    def _session_for(self, shapes: Tuple[Tuple[int, ...], ...]) -> "_xnn.Session":
        session = self._sessions.get(shapes)
        if session is not None:
            self._sessions.move_to_end(shapes)
            return session
        session = _xnn.Session(self._handle, self._num_threads)
        if any(tuple(session.input_shape(i)) != shape for i, shape in enumerate(shapes)):
            session.reshape([list(s) for s in shapes])
        self._sessions[shapes] = session
        while len(self._sessions) > MAX_CACHED_PLANS:
            self._sessions.popitem(last=False)
        return session

    # ------------------------------------------------------------------ inference

    def _as_input(self, index: int, x: np.ndarray, image_kwargs: Mapping[str, object]) -> np.ndarray:
        info = self.inputs[index]
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        if x.dtype == np.uint8 and x.ndim in (2, 3):
            return preprocess_image(x, info.shape, layout=self.input_layout, **image_kwargs)  # type: ignore[arg-type]
        if image_kwargs:
            raise TypeError("mean/scale/channel_order/resize apply only to HxWxC uint8 images")
        if x.dtype.kind != "f":
            raise ShapeError(
                f"input '{info.name}': dtype {x.dtype} is not supported; pass float32 "
                f"data shaped like {info.shape} or an HxWxC uint8 image"
            )
        if x.ndim == len(info.shape) - 1:
            x = x[np.newaxis]
        if x.ndim != len(info.shape):
            raise ShapeError(
                f"input '{info.name}': got a {x.ndim}-D array {tuple(x.shape)}, the model expects "
                f"{len(info.shape)}-D like {info.shape}"
            )
        return np.ascontiguousarray(x, dtype=np.float32)

    def run(self, inputs: Mapping[str, np.ndarray]) -> ArrayDict:
        """Runs the network on named float inputs; returns every output by name."""
        names = [i.name for i in self.inputs]
        unknown = set(inputs) - set(names)
        if unknown:
            raise ShapeError(f"unknown input(s) {sorted(unknown)}; the model's inputs are {names}")
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ShapeError(f"missing input(s) {missing}")
        arrays = [self._as_input(i, inputs[n], {}) for i, n in enumerate(names)]
        return self._run_arrays(arrays)

    def _run_arrays(self, arrays: Sequence[np.ndarray]) -> ArrayDict:
        session = self._session_for(tuple(tuple(int(d) for d in a.shape) for a in arrays))
        for i, a in enumerate(arrays):
            session.set_input(i, a)
        session.run()
        return {o.name: session.output(i) for i, o in enumerate(self.outputs)}

    def predict(
        self,
        x: Union[np.ndarray, Mapping[str, np.ndarray]],
        *,
        mean: Union[float, Sequence[float], None] = None,
        scale: Optional[float] = None,
        channel_order: Optional[str] = None,
        resize: Optional[bool] = None,
    ) -> Prediction:
        """Runs the network.

        ``x`` is either float data in the network's layout (``(N, C, H, W)``, or ``(C, H, W)`` for one item;
        ``(N, H, W, C)`` for a Keras model, see :attr:`input_layout`; any batch size, and any spatial size
        a fully convolutional net accepts), or an image as an
        ``HxWxC`` (or ``HxW``) ``uint8`` array in RGB order, which is preprocessed first:

        1. resized (bilinear) to the input's declared height and width, unless ``resize=False``;
        2. reordered to ``channel_order`` (default ``"BGR"``, what Caffe models are trained on; ``"RGB"`` for
           a Keras model);
        3. converted to float, ``mean`` (a scalar or one value per channel, in ``channel_order``)
           subtracted, then multiplied by ``scale``;
        4. transposed to ``(1, C, H, W)`` (kept ``(1, H, W, C)`` for an NHWC model).

        For a model with several inputs pass a dict of name to array.

        Returns:
            The output array for a single-output model, else a dict of output name to array.
        """
        image_kwargs = {
            k: v
            for k, v in dict(mean=mean, scale=scale, channel_order=channel_order, resize=resize).items()
            if v is not None
        }
        if isinstance(x, Mapping):
            if image_kwargs:
                raise TypeError("image preprocessing options need a single image input")
            out = self.run(x)
        else:
            if len(self.inputs) != 1:
                raise ShapeError(
                    f"the model has {len(self.inputs)} inputs {[i.name for i in self.inputs]}: pass a dict"
                )
            out = self._run_arrays([self._as_input(0, x, image_kwargs)])
        return next(iter(out.values())) if len(out) == 1 else out

    def profile(self, x: Optional[np.ndarray] = None, runs: int = 10) -> List[LayerProfile]:
        """Times every layer over ``runs`` runs (median per layer) on ``x`` (random data if None)."""
        arrays = [self._as_input(0, x, {})] if x is not None else [
            np.random.default_rng(0).standard_normal(i.shape).astype(np.float32) for i in self.inputs
        ]
        session = self._session_for(tuple(tuple(int(d) for d in a.shape) for a in arrays))
        for i, a in enumerate(arrays):
            session.set_input(i, a)
        session.set_profiling(True)
        try:
            session.run()  # warm-up
            samples = []
            for _ in range(max(1, runs)):
                session.run()
                samples.append([s["time_ms"] for s in session.layer_stats()])
        finally:
            session.set_profiling(False)
        med = np.median(np.asarray(samples), axis=0)
        return [
            LayerProfile(s["name"], s["type"], tuple(s["shape"]), int(s["macs"]), float(t), bool(s["with_previous"]))
            for s, t in zip(session.layer_stats(), med)
        ]

    def layer_shapes(self, *shapes: Sequence[int]) -> List[LayerProfile]:
        """Output shape and MACs of every layer for the given input shapes (default: declared)."""
        key = tuple(tuple(int(d) for d in s) for s in shapes) or tuple(i.shape for i in self.inputs)
        session = self._session_for(key)
        return [
            LayerProfile(s["name"], s["type"], tuple(s["shape"]), int(s["macs"]), 0.0, bool(s["with_previous"]))
            for s in session.layer_stats()
        ]

    def arena_bytes(self, *shapes: Sequence[int]) -> int:
        """Bytes of the activation arena of the plan for the given input shapes (default: declared)."""
        key = tuple(tuple(int(d) for d in s) for s in shapes) or tuple(i.shape for i in self.inputs)
        return int(self._session_for(key).arena_bytes)

    def __repr__(self) -> str:
        ins = ", ".join(f"{i.name}{list(i.shape)}" for i in self.inputs)
        outs = ", ".join(f"{o.name}{list(o.shape)}" for o in self.outputs)
        return f"<xnn.Model {self.source!r}: {len(self.layers)} layers, inputs {ins} -> {outs}>"

"""xnn: a small CPU inference engine for mobile, with a C core that runs Caffe models natively.

    >>> import xnn
    >>> model = xnn.Model.load("deploy.prototxt", "weights.caffemodel")
    >>> probs = model.predict(image)          # HxWx3 uint8 RGB, or float (N, C, H, W)
"""

from ._xnn import cpu_features, version
from ._xnn import available_isas as _available_isas
from .errors import ModelFormatError, ShapeError, UnsupportedError, XnnError, XnnIOError, XnnMemoryError
from .model import LayerInfo, LayerProfile, Model, TensorInfo
from . import detection  # noqa: E402  (SSD detections: detection.detections, detection.draw)

__version__ = version()


def available_isas() -> list:
    """Kernel sets usable on this CPU, best last (e.g. ["ref", "avx2", "avx512"]); set the XNN_ISA
    environment variable to one of them before loading a model to cap its kernels."""
    return _available_isas().split()


__all__ = [
    "Model",
    "TensorInfo",
    "LayerInfo",
    "LayerProfile",
    "XnnError",
    "XnnIOError",
    "ModelFormatError",
    "UnsupportedError",
    "ShapeError",
    "XnnMemoryError",
    "cpu_features",
    "available_isas",
    "version",
    "detection",
]

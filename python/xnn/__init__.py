"""xnn: a small CPU inference engine for mobile, with a C core that runs Caffe models natively.

    >>> import xnn
    >>> model = xnn.Model.load("deploy.prototxt", "weights.caffemodel")
    >>> probs = model.predict(image)          # HxWx3 uint8 RGB, or float (N, C, H, W)
"""

from ._xnn import cpu_features, version
from .errors import ModelFormatError, ShapeError, UnsupportedError, XnnError, XnnIOError, XnnMemoryError
from .model import LayerInfo, LayerProfile, Model, TensorInfo

__version__ = version()

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
    "version",
]

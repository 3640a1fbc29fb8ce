"""Converters from other frameworks' model files to xnn's graph IR (:class:`xnn.graph.Graph`), which
``Graph.save`` writes as a ``.xnn`` file and :meth:`xnn.Model.load` runs in memory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from ..errors import ModelFormatError
from ..graph import Graph

#: File suffixes :func:`convert` accepts.
SUFFIXES = (".onnx", ".keras", ".h5")


def convert(path: Union[str, os.PathLike], **options) -> Graph:
    """Converts a model file to a :class:`~xnn.graph.Graph`, by its suffix: ``.onnx``
    (:func:`xnn.convert.onnx.from_onnx`, which takes the ``options``), ``.keras`` / ``.h5``
    (``xnn.convert.keras.from_keras``)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        from .onnx import from_onnx

        return from_onnx(p, **options)
    if suffix in (".keras", ".h5"):
        from . import keras  # type: ignore[attr-defined]

        return keras.from_keras(p, **options)
    raise ModelFormatError(f"'{p}': cannot convert a '{suffix}' file (expected one of {', '.join(SUFFIXES)})")

"""Converters from other frameworks' model files into the graph IR (:class:`xnn.graph.Graph`), chosen by
the file's suffix: ``.keras`` and ``.h5`` (Keras)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, Union

from ..errors import ModelFormatError
from ..graph import Graph


def _keras(path: Union[str, os.PathLike], **options) -> Graph:
    from .keras import from_keras

    return from_keras(path, **options)


#: File suffix -> converter.
CONVERTERS: Dict[str, Callable[..., Graph]] = {".keras": _keras, ".h5": _keras}


def convert(path: Union[str, os.PathLike], **options) -> Graph:
    """The model at ``path`` as a graph, by its suffix (see :data:`CONVERTERS`)."""
    suffix = Path(path).suffix.lower()
    if suffix not in CONVERTERS:
        raise ModelFormatError(f"'{path}': no converter for '{suffix}' files (known: {', '.join(sorted(CONVERTERS))})")
    return CONVERTERS[suffix](path, **options)


__all__ = ["CONVERTERS", "convert"]

"""Exceptions raised by xnn. Every message names the layer and field at fault where there is one."""


class XnnError(Exception):
    """Base class of every xnn error."""


class XnnIOError(XnnError, OSError):
    """A model file could not be opened or read."""


class ModelFormatError(XnnError, ValueError):
    """A model file is malformed or inconsistent (syntax, truncation, missing or mis-sized blob)."""


class UnsupportedError(XnnError, NotImplementedError):
    """A layer type or parameter that xnn does not implement."""


class ShapeError(XnnError, ValueError):
    """An input whose shape or dtype the network cannot accept."""


class XnnMemoryError(XnnError, MemoryError):
    """The engine ran out of memory."""

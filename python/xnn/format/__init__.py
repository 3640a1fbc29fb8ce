"""Writing .xnn model files (docs/FORMAT.md): ``write(graph, path)`` for a :class:`xnn.graph.Graph`, whose
weights are float32 arrays or :class:`CodedWeight` (float16, codebook or int8 values, dense or sparse); the
symbol streams are bit-packed or Huffman-coded, whichever is smaller (``coding``)."""

from .writer import CodedWeight, encode, encode_weight, write

__all__ = ["CodedWeight", "encode", "encode_weight", "write"]

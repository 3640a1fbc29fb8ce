"""xqueeze: compression of trained models into small, fast .xnn files.

Neuron pruning, synapse pruning, quantization (k-means weight sharing or int8), lossless network transforms
and Huffman coding, with fine-tuning in between (PyTorch: ``pip install 'xnn[xqueeze]'``)::

    from xnn.graph import Graph
    from xnn import xqueeze

    graph = Graph.from_caffe("lenet.prototxt", "lenet.caffemodel")
    result = xqueeze.compress(graph, "lenet.json", data=xqueeze.data.mnist())
    result.save("lenet.xnn")
    print(result.report.table())
"""

from . import data
from .pipeline import Compressed, compress, finetune, load_config
from .report import Report

__all__ = ["Compressed", "Report", "compress", "data", "finetune", "load_config"]

"""The onnx package's node tests (onnx/backend/test/data/node/test_*) for the operators xnn converts:
finding them, binding the inputs the converter needs as constants, and running one."""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

#: Operators whose node tests run through the converter (the README's list).
OPS = {"Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "Tanh",
       "HardSigmoid", "HardSwish", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Add", "Sub",
       "Mul", "Div", "Pow", "Max", "Min", "Concat", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze",
       "Softmax", "Dropout", "Identity", "LRN", "Sum", "Resize", "Upsample", "ReduceMean", "Cast", "Slice",
       "Gather", "Pad", "Sqrt", "LSTM"}
#: Nodes that only produce constants (folded at conversion).
CONSTANT_OPS = {"Constant"}
#: Inputs (by position) that xnn needs as constants: weights, shapes, scales, axes.
CONSTANT_INPUTS = {"Conv": (1, 2), "Gemm": (1, 2), "MatMul": (1,), "BatchNormalization": (1, 2, 3, 4),
                   "PRelu": (1,), "Clip": (1, 2), "Reshape": (1,), "Squeeze": (1,), "Unsqueeze": (1,),
                   "Resize": (1, 2, 3), "Upsample": (1,), "ReduceMean": (1,), "Dropout": (1, 2),
                   "Gather": (0,), "LSTM": (1, 2, 3), "Slice": (1, 2, 3, 4), "Pad": (1, 2, 3)}


_ALL = None


def all_cases():
    """The onnx package's node test cases (generated in memory by its ``onnx.backend.test.case.node``
    scripts, as ``backend-test-tools generate-data`` would write them), by name."""
    global _ALL
    if _ALL is None:
        import warnings

        from onnx.backend.test.case.node import collect_testcases

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            _ALL = {c.name: c for c in collect_testcases(None) if c.kind == "node"}
    return _ALL


def cases(ops=OPS) -> List[str]:
    """Names of the node tests all of whose nodes are in ``ops`` (Constant nodes aside)."""
    out = []
    for name, c in sorted(all_cases().items()):
        types = {n.op_type for n in c.model.graph.node} - CONSTANT_OPS
        if types and types <= set(ops):
            out.append(name)
    return out


def load_case(name: str):
    """(model, [(inputs by name, expected outputs by name)])."""
    c = all_cases()[name]
    m = c.model
    sets = []
    for ins, outs in c.data_sets:
        sets.append(({vi.name: np.asarray(v) for vi, v in zip(m.graph.input, ins)},
                     {vi.name: np.asarray(v) for vi, v in zip(m.graph.output, outs)}))
    return m, sets


def split_inputs(model, inputs: Dict[str, np.ndarray]) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    """(constants, dynamic inputs): an input is a constant when a node reads it at a CONSTANT_INPUTS position."""
    const_names = set()
    for n in model.graph.node:
        for pos in CONSTANT_INPUTS.get(n.op_type, ()):
            if pos < len(n.input) and n.input[pos]:
                const_names.add(n.input[pos])
    consts = {k: v for k, v in inputs.items() if k in const_names}
    return consts, {k: v for k, v in inputs.items() if k not in consts}

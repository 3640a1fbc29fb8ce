"""What compression did, per layer and per step: kept weights, bits, bytes by part, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..format import CodedWeight
from ..format.coding import encode_gaps, encode_stream
from ..graph import Graph


@dataclass
class LayerSize:
    """One layer of a compressed graph. Bytes are those of the coded fields (without the few bytes of
    protobuf framing per field)."""

    name: str
    params: int          # weights of the layer before compression (dense, source model)
    kept: int            # nonzero weights stored
    bits: Optional[int]  # index bits of a codebook, None for float storage
    form: str            # "f32", "f16", "codebook", "int8"
    value_bytes: int     # floats, codebook indices or int8 values
    gap_bytes: int       # sparse positions
    codebook_bytes: int
    bias_bytes: int

    @property
    def total(self) -> int:
        return self.value_bytes + self.gap_bytes + self.codebook_bytes + self.bias_bytes


@dataclass
class StepResult:
    step: str
    error: Optional[float]  # test error (fraction) of the .xnn file after the step, by the C runtime
    size: int               # bytes of the .xnn file after the step
    note: str = ""


@dataclass
class Report:
    source_bytes: int                      # the fp32 source model (e.g. the caffemodel)
    baseline_error: Optional[float] = None
    steps: List[StepResult] = field(default_factory=list)
    layers: List[LayerSize] = field(default_factory=list)

    def table(self, markdown: bool = False) -> str:
        """The per-layer table and the per-step table."""
        head = ["layer", "weights", "kept %", "bits", "form", "values B", "gaps B", "codebook B", "bias B", "total B",
                "ratio"]
        rows = []
        for l in self.layers:
            rows.append([l.name, f"{l.params:,}", f"{100 * l.kept / max(l.params, 1):.1f}",
                         str(l.bits) if l.bits else "-", l.form, f"{l.value_bytes:,}", f"{l.gap_bytes:,}",
                         f"{l.codebook_bytes:,}", f"{l.bias_bytes:,}", f"{l.total:,}",
                         f"{4 * l.params / max(l.total, 1):.1f}x"])
        p = sum(l.params for l in self.layers)
        k = sum(l.kept for l in self.layers)
        t = sum(l.total for l in self.layers)
        rows.append(["total", f"{p:,}", f"{100 * k / max(p, 1):.1f}", "", "", "", "", "", "", f"{t:,}",
                     f"{4 * p / max(t, 1):.1f}x"])
        steps_head = ["step", "test error %", ".xnn bytes", "ratio vs fp32", "note"]
        steps = [["fp32 source", _pct(self.baseline_error), f"{self.source_bytes:,}", "1.0x", ""]]
        steps += [[s.step, _pct(s.error), f"{s.size:,}", f"{self.source_bytes / s.size:.1f}x", s.note]
                  for s in self.steps]
        return _render(head, rows, markdown) + "\n\n" + _render(steps_head, steps, markdown)


def _pct(e: Optional[float]) -> str:
    return "-" if e is None else f"{100 * e:.2f}"


def _render(head: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([fmt(head)] + [fmt(r) for r in rows])


def _float_bytes(w, half: bool = False) -> int:
    return int(np.size(w)) * (2 if half else 4)


def layer_sizes(graph: Graph, original_params: Dict[str, int]) -> List[LayerSize]:
    """Bytes by part of every weighted layer of a graph about to be written."""
    out = []
    for n in graph.nodes:
        if not n.weights:
            continue
        w = n.weights[0]
        bias = n.weights[1:]
        bias_bytes = sum(b.nnz * (2 if b.half else 4) if isinstance(b, CodedWeight) else _float_bytes(b) for b in bias)
        numel = int(np.prod(w.shape))
        params = original_params.get(n.name, numel)
        if isinstance(w, CodedWeight):
            gaps = encode_gaps(w.positions, numel).encoded_size if w.positions is not None else 0
            if w.centroids is not None:
                k = len(w.centroids)
                bits = max(1, (k - 1).bit_length())
                vals = encode_stream(np.asarray(w.indices), bits).encoded_size
                out.append(LayerSize(n.name, params, w.nnz, bits, "codebook", vals, gaps, k * (2 if w.half else 4),
                                     bias_bytes))
            elif w.int8 is not None:
                scales = int(np.size(w.scale)) * 4
                out.append(LayerSize(n.name, params, w.nnz, 8, "int8", w.nnz, gaps, scales, bias_bytes))
            else:
                out.append(LayerSize(n.name, params, w.nnz, None, "f16" if w.half else "f32",
                                     w.nnz * (2 if w.half else 4), gaps, 0, bias_bytes))
        else:
            a = np.asarray(w)
            nz = np.flatnonzero(a)
            gaps = encode_gaps(nz, a.size).encoded_size if nz.size < a.size else 0
            out.append(LayerSize(n.name, params, int(nz.size), None, "f32", 4 * int(nz.size), gaps, 0, bias_bytes))
    return out

"""Timing helpers shared by the bench scripts: the shared machines are noisy, so variants are timed
side by side in one process, in interleaved rounds, in rotated order, and compared by medians."""
from __future__ import annotations

import time
from typing import Callable, List, Sequence

import numpy as np


def median_timer(call: Callable[[], object], runs: int) -> Callable[[], float]:
    """A timer: each call of it runs `call` once untimed, then `runs` times, and returns the median ms."""
    def run() -> float:
        call()
        ts = []
        for _ in range(runs):
            t0 = time.perf_counter()
            call()
            ts.append((time.perf_counter() - t0) * 1e3)
        return float(np.median(ts))
    return run


def interleaved(fns: Sequence[Callable[[], float]], rounds: int) -> List[float]:
    """Median over `rounds` rounds of each fn's time (fn() -> ms), the fns called in rotated order."""
    times: List[List[float]] = [[] for _ in fns]
    for r in range(rounds):
        for i in [(r + j) % len(fns) for j in range(len(fns))]:
            times[i].append(fns[i]())
    return [float(np.median(t)) for t in times]
